//! Structured logs to stdout: JSON lines for journald and log shippers, readable
//! lines for a terminal.
//!
//! # Filter
//!
//! The filter is [`DEFAULT_DIRECTIVES`] followed by `RUST_LOG`, so `RUST_LOG`
//! can raise our crates (`RUST_LOG=kiosk_app=debug`) and lower or raise the
//! capped third-party crates one by one (`RUST_LOG=hyper=debug`). Two rules
//! stand above it:
//!
//! - [`HARD_CAPS`] cannot be lifted: `dmrtd` (the passport chip library) stays at
//!   `warn` whatever `RUST_LOG` says, because its `Debug` output contains the
//!   data read from the chip.
//! - Audit lines (target [`AUDIT_TARGET`]) are always written at `info`, so
//!   `RUST_LOG=warn` cannot silence the record of what staff did.
//!
//! # Audit convention
//!
//! Every staff action is logged once, at `info`, with `target: "audit"`, the
//! fields `action` ([`StaffAction::as_str`]) and `outcome`
//! ([`AuditOutcome::as_str`]), and further fields only from fixed sets of
//! values (e.g. `via = "pin"`). Never a card UID, a PIN, a token, a name or
//! anything a citizen entered. [`audit_staff_action`] writes such a line;
//! `journalctl -u kiosk -o cat | jq 'select(.target == "audit")'` finds them.
//!
//! ```
//! tracing::info!(target: "audit", action = "sync_now", outcome = "done", "staff action");
//! ```

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::Registry;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt as tracing_fmt};

use crate::labels::StaffAction;

/// The target of audit log lines.
pub const AUDIT_TARGET: &str = "audit";

/// Levels no filter can raise: `(target prefix, most verbose level written)`.
pub const HARD_CAPS: &[(&str, LevelFilter)] = &[("dmrtd", LevelFilter::WARN)];

/// The filter before `RUST_LOG`: `info` for our crates, `warn` for chatty
/// third-party crates (HTTP, TLS, async runtime, UI toolkit, windowing).
pub const DEFAULT_DIRECTIVES: &str = "info,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,\
rustls=warn,tokio_rustls=warn,mio=warn,tokio=warn,runtime=warn,tower=warn,i_slint_core=warn,\
i_slint_backend_linuxkms=warn,i_slint_backend_winit=warn,i_slint_renderer_femtovg=warn,\
winit=warn,calloop=warn,zbus=warn,fontdb=warn,rusqlite=warn,dmrtd=warn";

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (journald, log shippers).
    Json,
    /// Readable lines for a terminal (coloured when stdout is one).
    Pretty,
}

impl FromStr for LogFormat {
    type Err = LoggingError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "json" => Ok(Self::Json),
            "pretty" => Ok(Self::Pretty),
            _ => Err(LoggingError::UnknownFormat(value.to_owned())),
        }
    }
}

/// Logging could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` does not parse.
    #[error(
        "RUST_LOG={value:?} is not a valid log filter: {reason}; use comma-separated \
         directives such as RUST_LOG=debug or RUST_LOG=info,kiosk_app=debug, or unset it"
    )]
    BadFilter {
        /// The value given.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// `RUST_LOG` is not UTF-8.
    #[error("RUST_LOG is not valid UTF-8; use directives such as RUST_LOG=info,kiosk_app=debug")]
    NotUtf8,
    /// The format name is unknown.
    #[error("unknown log format {0:?}: use \"json\" or \"pretty\"")]
    UnknownFormat(String),
    /// A global logger was installed before.
    #[error("logging was already set up in this process: call init_logging once, at start-up")]
    AlreadyInitialised,
}

/// Installs the global logger writing to stdout, with `RUST_LOG` from the
/// environment; `log` crate records (e.g. from `dmrtd`) go through the same filter.
pub fn init_logging(format: LogFormat) -> Result<(), LoggingError> {
    let rust_log = match std::env::var("RUST_LOG") {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => return Err(LoggingError::NotUtf8),
    };
    let ansi = format == LogFormat::Pretty && std::io::stdout().is_terminal();
    build(format, rust_log.as_deref(), std::io::stdout, ansi)?
        .try_init()
        .map_err(|_| LoggingError::AlreadyInitialised)
}

/// The subscriber [`init_logging`] installs, writing to `writer` instead of
/// stdout and with `rust_log` in place of the environment's `RUST_LOG` (never coloured).
/// For tests and for tools that log elsewhere.
pub fn subscriber<W>(
    format: LogFormat,
    rust_log: Option<&str>,
    writer: W,
) -> Result<impl Subscriber + Send + Sync + 'static, LoggingError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(format, rust_log, writer, false)
}

fn build<W>(
    format: LogFormat,
    rust_log: Option<&str>,
    writer: W,
    ansi: bool,
) -> Result<impl Subscriber + Send + Sync + 'static, LoggingError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let mut directives = DEFAULT_DIRECTIVES.to_owned();
    if let Some(extra) = rust_log.filter(|value| !value.trim().is_empty()) {
        directives.push(',');
        directives.push_str(extra);
    }
    let configured =
        EnvFilter::builder()
            .parse(&directives)
            .map_err(|error| LoggingError::BadFilter {
                value: rust_log.unwrap_or_default().to_owned(),
                reason: error.to_string(),
            })?;
    let audit = Targets::new().with_target(AUDIT_TARGET, LevelFilter::INFO);
    let caps = HARD_CAPS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |caps, (target, level)| caps.with_target(*target, *level),
    );
    let filter = configured.or(audit).and(caps);

    let layer: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => tracing_fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed(),
    };
    Ok(Registry::default().with(layer.with_filter(filter)))
}

/// How a staff action ended, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Done as asked.
    Done,
    /// Refused (wrong PIN, unknown card, not confirmed, locked out).
    Refused,
    /// Tried and failed (e.g. the test page did not print).
    Failed,
}

impl AuditOutcome {
    /// The `outcome` field's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes the audit line for a staff action (target `audit`, level `info`).
pub fn audit_staff_action(action: StaffAction, outcome: AuditOutcome) {
    tracing::info!(
        target: AUDIT_TARGET,
        action = action.as_str(),
        outcome = outcome.as_str(),
        "staff action"
    );
}
