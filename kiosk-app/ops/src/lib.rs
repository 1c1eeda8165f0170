//! The kiosk's operations surface: what a technician, a monitoring system and
//! systemd see of a running kiosk.
//!
//! - [`Metrics`]: Prometheus metrics with typed methods; label values come only
//!   from closed enums ([`labels`]) and the configured [`KioskId`] and
//!   [`CatalogueVersion`], so personal data has no way in.
//! - [`Health`]: component states the app reports, judged into `ok`, `degraded`
//!   or `failing` ([`health`] has the rules).
//! - [`OpsServer`]: `GET /metrics` and `GET /healthz` over HTTP, on
//!   `127.0.0.1:9464` by default; a non-loopback address needs `allow_remote`.
//! - [`Notifier`] and [`Watchdog`]: systemd's `READY=1`, `STATUS=`, `STOPPING=1`
//!   and a watchdog that pings only while the UI's [`Heartbeat`] moves.
//! - [`Shutdown`] and [`shutdown_signal`]: SIGTERM/SIGINT start a shutdown that
//!   waits, for a bounded time, for in-flight work holding a [`HoldGuard`].
//! - [`init_logging`]: JSON or readable logs on stdout; `dmrtd` capped at `warn`
//!   whatever `RUST_LOG` says; audit lines under target `audit`.
//!
//! The crate knows nothing about journeys, devices or the outbox: the app tells
//! it what happened through these handles.
//!
//! # Wiring
//!
//! ```no_run
//! use std::time::Duration;
//! use kiosk_ops::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! init_logging(LogFormat::Json)?;
//! let metrics = Metrics::new(KioskId::new("K27")?);
//! let health = Health::new(HealthConfig::default());
//! let shutdown = Shutdown::new();
//! shutdown.trigger_on_signals()?;
//!
//! let server = OpsServer::bind(&OpsServerConfig::default(), metrics.clone(), health.clone()).await?;
//! let http = tokio::spawn(server.serve(shutdown.triggered()));
//!
//! let notifier = Notifier::from_env();
//! let heartbeat = Heartbeat::new(); // the UI thread calls heartbeat.beat() every second
//! let (watchdog_stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
//! if let Some(watchdog) = Watchdog::from_env(notifier.clone()) {
//!     watchdog.spawn(heartbeat.monitor(), async move { let _ = stop_rx.await; });
//! }
//! notifier.ready()?;
//!
//! // ... in the submission path:
//! if let Ok(_hold) = shutdown.hold("outbox submission") {
//!     // commit the submission; the hold ends when `_hold` is dropped
//! }
//!
//! shutdown.triggered().await;
//! notifier.stopping()?;
//! shutdown.finish(Duration::from_secs(20)).await;
//! let _ = watchdog_stop.send(());
//! let _ = http.await;
//! # Ok(())
//! # }
//! ```

pub mod health;
pub mod labels;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod shutdown;
pub mod systemd;

pub use health::{CatalogueHealth, Check, Health, HealthConfig, HealthReport, Status};
pub use labels::{
    AbandonReason, CatalogueVersion, FailureClass, KioskId, LabelError, PrinterState, ReaderState,
    StaffAction,
};
pub use logging::{
    AUDIT_TARGET, AuditOutcome, LogFormat, LoggingError, audit_staff_action, init_logging,
};
pub use metrics::{
    EidClientState, Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE,
};
pub use server::{OpsServer, OpsServerConfig, OpsServerError};
pub use shutdown::{Drained, HoldGuard, Shutdown, ShuttingDown, Signal, shutdown_signal};
pub use systemd::{Heartbeat, Notifier, NotifyError, NotifySocketError, NotifyState, Watchdog};
