//! `kiosk-app`: the citizen kiosk's binary.
//!
//! Subcommands:
//! - `kiosk-app catalogue check [DIR]`: checks a service catalogue folder (or,
//!   without DIR, the catalogue built into this binary) and lists its services.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod catalogue_check;

/// The citizen self-service kiosk.
#[derive(Parser)]
#[command(name = "kiosk-app", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with service catalogues.
    Catalogue {
        #[command(subcommand)]
        command: CatalogueCommand,
    },
}

#[derive(Subcommand)]
enum CatalogueCommand {
    /// Check a catalogue folder (catalogue.toml + services/*.toml) and list its services.
    ///
    /// Without DIR, checks the default catalogue built into this binary.
    /// Exits 0 only when everything is valid; otherwise prints every problem.
    Check {
        /// The catalogue folder.
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalogue {
            command: CatalogueCommand::Check { dir },
        } => catalogue_check::run(dir.as_deref()),
    }
}
