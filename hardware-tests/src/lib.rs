//! `kiosk-hwtest`: the technicians' diagnostics tool for the citizen kiosk.
//!
//! A technician installs or repairs a kiosk and must know within minutes that every part
//! works, and leave a report. The tool checks the card reader (pcscd, reader, card, NDEF,
//! passport chip, NFC phone), the receipt printer (status in words, test page), the touch
//! screen (a grid that finds dead zones), the display (test patterns) and the network (DNS,
//! TLS to the portal, clock skew). Every check has a time limit and ends as pass, fail or
//! skipped with a reason in German or English; the exit code is 0 only when every
//! required check passed. The report goes to standard output, optionally to a versioned
//! JSON file (`docs/report-schema.md`) and onto the receipt printer.
//!
//! It reuses the drivers and adds no device protocol of its own: cards through
//! `kiosk-card`, the printer through `kiosk-printer`, the portal's TLS settings through
//! `offline-cache`. No personal data from cards reaches any report: UIDs only as a hash with
//! a salt that exists for one run, passports only as document type and expiry, phone
//! credentials only as their kind.
//!
//! ```no_run
//! use kiosk_hwtest::{Lang, Settings, Subcommand, run};
//! use kiosk_hwtest::settings::CommandLine;
//!
//! let settings = Settings::resolve(
//!     CommandLine {
//!         non_interactive: true,
//!         printer: Some("tcp://127.0.0.1:9100".into()),
//!         ..CommandLine::default()
//!     },
//!     Lang::En,
//! )
//! .expect("valid settings");
//! let report = run(Subcommand::Printer, &settings).expect("run");
//! print!("{}", report.render());
//! std::process::exit(report.exit_code());
//! ```
//!
//! Layout: [`cli`] (arguments, localized help), [`settings`] (options and `--config`),
//! [`run()`] (order of the checks), one module per part ([`reader`], [`printer`] with
//! [`testpage`], [`network`], [`touch`] + [`screens`]), [`inventory`] (`list`),
//! [`check`] (verdicts, time limits), [`text`] (every sentence in both languages),
//! [`report`] (human, JSON and paper output), [`privacy`] (UID hashing).
#![deny(missing_docs)]

pub mod check;
pub mod cli;
pub mod inventory;
pub mod lang;
pub mod network;
pub mod printer;
pub mod privacy;
pub mod prompt;
pub mod reader;
pub mod report;
mod run;
pub mod screens;
pub mod settings;
pub mod testpage;
pub mod text;
pub mod touch;

pub use check::{CheckId, CheckResult, Group, Outcome, Verdict};
pub use cli::Subcommand;
pub use lang::Lang;
pub use report::{EXIT_FAIL, EXIT_PASS, EXIT_USAGE, Report, SCHEMA_VERSION};
pub use run::{RunError, run};
pub use settings::Settings;
pub use text::{Fact, Reason};
