//! `kiosk-app`: the citizen kiosk's binary.
//!
//! Subcommands:
//! - `kiosk-app run [--config FILE]`: the kiosk, configured by `kiosk.toml`.
//! - `kiosk-app config check [--config FILE]`: checks a configuration.
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

use kiosk_app::{catalogue_check, demo, init_logging, run, setup};

/// The citizen self-service kiosk.
#[derive(Parser)]
#[command(name = "kiosk-app", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk as configured in kiosk.toml (full-screen window).
    Run {
        /// The configuration file.
        #[arg(long, default_value = kiosk_config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Staff mode tools.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Work with the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run the kiosk on virtual hardware: a virtual passport on a virtual reader,
    /// a virtual printer writing receipt PNGs, a local portal and the built-in catalogue.
    /// Opens a window when a display is available; otherwise (or with --headless)
    /// three scripted citizens use it and the portal comes online afterwards.
    Demo {
        /// Walk the scripted journey without a window, writing screenshots,
        /// receipts and a summary.
        #[arg(long)]
        headless: bool,
        /// Headless only: keep the portal offline, so the applications stay
        /// queued in OUT/outbox.sqlite (for update and recovery tests).
        #[arg(long, requires = "headless")]
        portal_offline: bool,
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
enum StaffCommand {
    /// Read a staff PIN from standard input and print the hash to put into
    /// `staff.pin_hash`. The PIN itself is never stored.
    HashPin,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file: every key, the catalogue it selects, the key
    /// and secret files it names. Exits 0 only when the kiosk could start with it.
    Check {
        /// The configuration file.
        #[arg(long, default_value = kiosk_config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Print the built-in demo configuration, a commented example of every key.
    Example,
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
    use_shipped_fonts();
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run::run(&config),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => config_check(&config),
        Command::Staff {
            command: StaffCommand::HashPin,
        } => hash_pin(),
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", kiosk_config::DEMO_TOML);
            ExitCode::SUCCESS
        }
        Command::Demo {
            headless,
            portal_offline,
            out,
        } => {
            init_logging(kiosk_config::LogFormat::Pretty);
            let out = out.unwrap_or_else(demo::default_out_dir);
            if !headless && kiosk_app::has_display() {
                return demo::run_window(&out);
            }
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("error: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(demo::run(&out, portal_offline)) {
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

/// `kiosk-app staff hash-pin`.
fn hash_pin() -> ExitCode {
    use std::io::BufRead;
    eprintln!("Type the staff PIN and press Enter:");
    let mut line = zeroize::Zeroizing::new(String::new());
    if let Err(error) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("error: cannot read the PIN: {error}");
        return ExitCode::FAILURE;
    }
    let pin = match kiosk_staff::Pin::parse(line.trim()) {
        Ok(pin) => pin,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match kiosk_staff::hash_pin(&pin) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `kiosk-app config check`.
fn config_check(path: &std::path::Path) -> ExitCode {
    let config = match kiosk_config::KioskConfig::load(path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match setup::check(&config) {
        Ok(catalogue) => {
            println!(
                "{}: valid. Kiosk {}-{}, catalogue {} with {} service(s) in {} language(s), printer {}, portal {}",
                path.display(),
                config.kiosk.town_prefix,
                config.kiosk.id,
                catalogue.version,
                catalogue.services.len(),
                catalogue.languages.len(),
                if config.printer.enabled {
                    config.printer.connection.to_string()
                } else {
                    "none".to_owned()
                },
                config.portal.url
            );
            for warning in catalogue_check::font_warnings(&catalogue, 10) {
                eprintln!("warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("error: {}: {problems}", path.display());
            ExitCode::from(2)
        }
    }
}

/// Limits fontconfig to the kiosk's shipped fonts (see `kiosk_ui::fonts`)
/// unless the environment already names a configuration.
#[allow(unsafe_code)] // `set_var` is unsafe since Rust 2024; see SAFETY.
fn use_shipped_fonts() {
    if std::env::var_os(kiosk_ui::fonts::FONTCONFIG_FILE).is_some() {
        return;
    }
    if let Some(conf) = kiosk_ui::fonts::shipped_fontconfig() {
        // SAFETY: runs first thing in `main`, before any other thread
        // exists, so nothing can read the environment while it changes.
        unsafe { std::env::set_var(kiosk_ui::fonts::FONTCONFIG_FILE, conf) };
    }
}
