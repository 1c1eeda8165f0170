//! The citizen kiosk's application: the wiring of journey, UI, card readers,
//! printer and outbox, as used by the `kiosk-app` binary (`main.rs`) and the
//! end-to-end tests.
//!
//! - [`run`]: `kiosk-app run`, the kiosk from `kiosk.toml` ([`run::Station`]
//!   holds the parts that live on the tokio runtime).
//! - [`setup`]: from a checked configuration to the kiosk's parts, with
//!   problems reported against configuration keys.
//! - [`kiosk`]: the [`kiosk::Performer`] that performs the journey's effects,
//!   and a windowless [`kiosk::Kiosk`] for the headless demo.
//! - [`window`]: the effects performed for the UI's event loop.
//! - [`identity`], [`printer_link`], [`receipt`]: the card reader, the
//!   printer and the receipt's own texts.
//! - [`demo`]: `kiosk-app demo`, windowed or headless, on virtual hardware.

pub mod catalogue_check;
pub mod demo;
pub mod eid;
pub mod identity;
pub mod kiosk;
pub mod ops;
pub mod printer_link;
pub mod receipt;
pub mod run;
pub mod setup;
pub mod staff;
pub mod window;

/// Structured logs to stderr (journald under systemd; stdout stays free for
/// the demo's transcript), through `kiosk-ops`' filter: `dmrtd` is capped at
/// warn whatever `RUST_LOG` says, because its `Debug` output holds personal data.
pub fn init_logging(format: kiosk_config::LogFormat) {
    use tracing_subscriber::util::SubscriberInitExt;
    let format = match format {
        kiosk_config::LogFormat::Json => kiosk_ops::LogFormat::Json,
        kiosk_config::LogFormat::Pretty => kiosk_ops::LogFormat::Pretty,
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    match kiosk_ops::logging::subscriber(format, rust_log.as_deref(), std::io::stderr) {
        Ok(subscriber) => {
            let _ = subscriber.try_init();
        }
        Err(error) => eprintln!("warning: logging is off: {error}"),
    }
}

/// Whether a window can be opened (X11 or Wayland).
pub fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}
