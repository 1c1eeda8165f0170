//! `kiosk-app`: the citizen kiosk's binary.
//!
//! Subcommands:
//! - `kiosk-app catalogue check [DIR]`: checks a service catalogue folder (or,
//!   without DIR, the catalogue built into this binary) and lists its services.
//! - `kiosk-app demo`: the whole kiosk on virtual hardware (see `demo.rs`).
//! - `kiosk-app receipt-preview --out DIR`: sample receipts in every language
//!   for every paper width, as PNG.
//! - `kiosk-app screenshots --out DIR`: every screen in every language, theme
//!   and orientation, rendered headless with the software renderer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod catalogue_check;
mod demo;
mod identity;
mod kiosk;
mod receipt;

/// The citizen self-service kiosk.
#[derive(Parser)]
#[command(name = "kiosk-app", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk on virtual hardware: a virtual printer, a local portal and
    /// the built-in catalogue; three citizens use it, then the portal comes online.
    Demo {
        /// Run without a window (the only mode of this build).
        #[arg(long)]
        headless: bool,
        /// Where receipt images, the outbox and summary.txt go.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render every screen in every language, both themes and both orientations to PNG
    /// (headless, software renderer).
    Screenshots {
        /// Folder for the PNG files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write PNG previews of a sample receipt in every language for 58 mm and 80 mm paper.
    ReceiptPreview {
        /// Folder for the PNG files.
        #[arg(long)]
        out: PathBuf,
    },
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
        Command::Demo { headless: _, out } => {
            init_logging();
            let out = out.unwrap_or_else(demo::default_out_dir);
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("error: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(demo::run(&out)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Screenshots { out } => {
            let catalogue = std::sync::Arc::new(kiosk_catalogue::Catalogue::embedded_default());
            match kiosk_ui::render_screenshots(catalogue, &out) {
                Ok(files) => {
                    println!("{} screenshots in {}", files.len(), out.display());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::ReceiptPreview { out } => match kiosk_printer::render_previews(&out) {
            Ok(files) => {
                for file in files {
                    println!("{}", file.display());
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Catalogue {
            command: CatalogueCommand::Check { dir },
        } => catalogue_check::run(dir.as_deref()),
    }
}

/// Structured logs to stderr; `RUST_LOG` overrides the level (default: warnings).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
