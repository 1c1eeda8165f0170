//! The running kiosk's operations surface, fed from its parts: `/metrics`
//! and `/healthz` (`kiosk-ops`), the figures read from the outbox and the
//! printer service, the sync engine's reports, and systemd readiness and
//! watchdog.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use kiosk_config::KioskConfig;
use kiosk_journey::SessionOutcome;
use kiosk_ops::{
    AbandonReason, CatalogueHealth, CatalogueVersion, FailureClass, Health, HealthConfig,
    Heartbeat, KioskId, Metrics, Notifier, OpsServer, OpsServerConfig, PrinterState, Watchdog,
};
use kiosk_printer::service::{Observation, PrinterService};
use kiosk_printer::{ErrorKind, PaperLevel, PrinterError};
use offline_cache::{Outbox, SyncObserver, SyncReport};
use tokio::sync::watch;

use crate::kiosk::Happened;

/// How often the outbox's figures are read for metrics and health.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// Metrics, health and systemd, shared by the kiosk's tasks.
#[derive(Clone)]
pub struct Operations {
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// `/healthz` components.
    pub health: Health,
    /// Beaten by the UI thread; the watchdog pings only while it moves.
    pub heartbeat: Heartbeat,
    /// systemd's notification socket (disabled outside systemd).
    pub notifier: Arc<Notifier>,
}

impl Operations {
    /// Metrics and health for this kiosk; nothing runs yet.
    pub fn new(config: &KioskConfig, catalogue_version: &str) -> Result<Self> {
        let metrics =
            Metrics::new(KioskId::new(&config.kiosk.id).context("kiosk.id cannot label metrics")?);
        let health = Health::new(HealthConfig::default());
        match CatalogueVersion::new(catalogue_version) {
            Ok(version) => {
                metrics.set_catalogue_version(version.clone());
                health.set_catalogue(CatalogueHealth::Current(version));
            }
            Err(error) => tracing::warn!(%error, "the catalogue version cannot label metrics"),
        }
        if !config.printer.enabled {
            metrics.set_printer_not_installed();
            health.set_printer_not_installed();
        }
        if !config.reader.enabled {
            metrics.set_reader_not_installed();
            health.set_reader_not_installed();
        }
        health.set_in_service(true);
        Ok(Self {
            metrics,
            health,
            heartbeat: Heartbeat::new(),
            notifier: Arc::new(Notifier::from_env()),
        })
    }

    /// Binds `/metrics` and `/healthz` and starts the tasks that keep them
    /// current; everything stops when `stopped` turns true.
    pub async fn start(
        &self,
        config: &KioskConfig,
        outbox: Outbox,
        printer: Option<PrinterService<PrinterError>>,
        stopped: watch::Receiver<bool>,
    ) -> Result<(Vec<tokio::task::JoinHandle<()>>, std::net::SocketAddr)> {
        let server = OpsServer::bind(
            &OpsServerConfig {
                listen: config.metrics.listen,
                allow_remote: config.metrics.allow_remote,
            },
            self.metrics.clone(),
            self.health.clone(),
        )
        .await
        .with_context(|| format!("metrics.listen: cannot serve on {}", config.metrics.listen))?;
        let address = server.local_addr();
        tracing::info!(%address, "serving /metrics and /healthz");
        let mut tasks = vec![tokio::spawn(server.serve(until(stopped.clone())))];
        tasks.push(tokio::spawn(watch_outbox(
            self.clone(),
            outbox,
            stopped.clone(),
        )));
        if let Some(printer) = printer {
            tasks.push(tokio::spawn(watch_printer(
                self.clone(),
                printer,
                stopped.clone(),
            )));
        }
        if let Some(watchdog) = Watchdog::from_env((*self.notifier).clone()) {
            tracing::info!(interval = ?watchdog.interval(), "systemd watchdog on");
            tasks.push(watchdog.spawn(self.heartbeat.monitor(), until(stopped)));
        }
        Ok((tasks, address))
    }

    /// Counts what the kiosk did: journeys when they start and when they end.
    pub fn observe(&self, happened: &Happened) {
        match happened {
            Happened::SessionStarted => self.metrics.journey_started(),
            Happened::SessionEnded(outcome) => match outcome {
                SessionOutcome::Completed => self.metrics.journey_completed(),
                SessionOutcome::Cancelled => self.metrics.journey_abandoned(AbandonReason::Cancel),
                SessionOutcome::TimedOut => self.metrics.journey_abandoned(AbandonReason::Timeout),
            },
            _ => {}
        }
    }

    /// Counts the sync engine's reports: deliveries, failed attempts by class,
    /// and dead letters by class. The service id a delivery reports is not a
    /// label (catalogue ids are not a closed set).
    pub fn sync_observer(&self) -> impl SyncObserver {
        let metrics = self.metrics.clone();
        move |report: &SyncReport| match report {
            SyncReport::Delivered { .. } => metrics.delivery_succeeded(),
            // Neither delivered nor failed: counted when the office decides.
            SyncReport::AwaitingAcceptance { .. } => {}
            SyncReport::Failed { class, will_retry } => {
                let class = failure_class(*class);
                metrics.delivery_failed(class);
                if !will_retry {
                    metrics.dead_lettered(class);
                }
            }
        }
    }

    /// Tells systemd the kiosk is up (the first screen is shown).
    pub fn ready(&self) {
        if let Err(error) = self.notifier.ready() {
            tracing::error!(%error, "cannot tell systemd the kiosk is ready");
        }
    }

    /// Tells systemd the kiosk is stopping.
    pub fn stopping(&self) {
        if let Err(error) = self.notifier.stopping() {
            tracing::warn!(%error, "cannot tell systemd the kiosk is stopping");
        }
    }
}

/// The metric label of a failure class (one to one).
pub fn failure_class(class: offline_cache::FailureClass) -> FailureClass {
    use offline_cache::FailureClass as Sync;
    match class {
        Sync::Network => FailureClass::Network,
        Sync::Timeout => FailureClass::Timeout,
        Sync::Tls => FailureClass::Tls,
        Sync::Server => FailureClass::Server,
        Sync::RateLimited => FailureClass::RateLimited,
        Sync::Auth => FailureClass::Auth,
        Sync::InvalidAnswer => FailureClass::InvalidAnswer,
        Sync::Rejected => FailureClass::Rejected,
        Sync::Local => FailureClass::Local,
    }
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Reads the outbox's figures every few seconds (deliveries are counted from
/// the sync engine's reports, see [`Operations::sync_observer`]).
async fn watch_outbox(ops: Operations, outbox: Outbox, mut stopped: watch::Receiver<bool>) {
    loop {
        let reading = {
            let outbox = outbox.clone();
            tokio::task::spawn_blocking(move || outbox.status()).await
        };
        match reading {
            Ok(Ok(status)) => {
                ops.metrics.set_queue_depth(status.queued + status.sending);
                ops.metrics.set_dead_letters(status.dead_letters);
                ops.metrics
                    .set_oldest_undelivered(status.oldest_undelivered_at);
                if let Some(at) = status.last_delivery_at {
                    ops.health.set_last_sync_success(at);
                } else if status.undelivered() == 0 {
                    // Nothing to deliver counts as in sync.
                    ops.health.set_last_sync_success(SystemTime::now());
                }
                ops.health.set_outbox_writable(true);
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the outbox status");
                ops.health.set_outbox_writable(false);
            }
            Err(_) => ops.health.set_outbox_writable(false),
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(STATUS_EVERY) => {}
        }
    }
}

/// Follows the printer service's observations.
async fn watch_printer(
    ops: Operations,
    printer: PrinterService<PrinterError>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut observations = printer.observations();
    loop {
        let state = printer_state(*observations.borrow_and_update());
        if let Some(state) = state {
            ops.metrics.set_printer_state(state);
            ops.health.set_printer(state);
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            changed = observations.changed() => if changed.is_err() { return },
        }
    }
}

/// The metrics' printer state for what the printer service saw.
pub fn printer_state(observation: Observation) -> Option<PrinterState> {
    Some(match observation {
        Observation::Unknown => return None,
        Observation::Status(status) => {
            if status.cover_open {
                PrinterState::CoverOpen
            } else if status.paper == PaperLevel::Out {
                PrinterState::PaperOut
            } else if status.offline {
                PrinterState::Offline
            } else if status.blocking_problem().is_some() {
                PrinterState::Error
            } else if status.paper == PaperLevel::NearEnd {
                PrinterState::PaperLow
            } else {
                PrinterState::Ready
            }
        }
        Observation::Failed(kind) => match kind {
            ErrorKind::PaperOut => PrinterState::PaperOut,
            ErrorKind::CoverOpen => PrinterState::CoverOpen,
            ErrorKind::Offline | ErrorKind::Disconnected => PrinterState::Offline,
            _ => PrinterState::Error,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operations() -> Operations {
        Operations {
            metrics: Metrics::new(KioskId::new("K27").unwrap()),
            health: Health::new(HealthConfig::default()),
            heartbeat: Heartbeat::new(),
            notifier: Arc::new(Notifier::from_env()),
        }
    }

    fn sample(metrics: &str, series: &str) -> String {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} missing:\n{metrics}"))
            .to_owned()
    }

    #[test]
    fn every_sync_failure_class_has_the_metric_label_of_the_same_name() {
        for class in offline_cache::FailureClass::ALL {
            assert_eq!(failure_class(class).as_str(), class.as_str());
        }
        assert_eq!(
            offline_cache::FailureClass::ALL.len(),
            FailureClass::ALL.len()
        );
    }

    #[test]
    fn sync_reports_become_deliveries_failures_and_dead_letters() {
        let ops = operations();
        let observer = ops.sync_observer();
        let reports = [
            SyncReport::Failed {
                class: offline_cache::FailureClass::Network,
                will_retry: true,
            },
            SyncReport::Failed {
                class: offline_cache::FailureClass::Network,
                will_retry: true,
            },
            SyncReport::Delivered {
                service_id: "dog-tax".into(),
            },
            SyncReport::AwaitingAcceptance {
                service_id: "dog-tax".into(),
            },
            SyncReport::Failed {
                class: offline_cache::FailureClass::Rejected,
                will_retry: false,
            },
        ];
        for report in &reports {
            observer.report(report);
        }
        let text = ops.metrics.render();
        assert_eq!(sample(&text, "kiosk_deliveries_total"), "1");
        let failures = |class: &str| {
            sample(
                &text,
                &format!("kiosk_delivery_failures_total{{class=\"{class}\"}}"),
            )
        };
        assert_eq!(failures("network"), "2");
        assert_eq!(failures("rejected"), "1");
        assert_eq!(failures("server"), "0");
        let dead = |class: &str| {
            sample(
                &text,
                &format!("kiosk_dead_letters_total{{class=\"{class}\"}}"),
            )
        };
        assert_eq!(dead("rejected"), "1");
        assert_eq!(dead("network"), "0");
        // The service id is no label.
        assert!(!text.contains("dog-tax"), "{text}");
    }

    #[test]
    fn journeys_are_counted_when_they_start_and_when_they_end() {
        let ops = operations();
        for happened in [
            Happened::SessionStarted,
            Happened::SessionEnded(SessionOutcome::Completed),
            Happened::SessionStarted,
            Happened::SessionEnded(SessionOutcome::Cancelled),
            Happened::SessionStarted,
            Happened::SessionEnded(SessionOutcome::TimedOut),
            // A session still going on is started, not yet ended.
            Happened::SessionStarted,
            Happened::Printed,
        ] {
            ops.observe(&happened);
        }
        let text = ops.metrics.render();
        assert_eq!(sample(&text, "kiosk_journeys_started_total"), "4");
        assert_eq!(sample(&text, "kiosk_journeys_completed_total"), "1");
        let abandoned = |reason: &str| {
            sample(
                &text,
                &format!("kiosk_journeys_abandoned_total{{reason=\"{reason}\"}}"),
            )
        };
        assert_eq!(abandoned("cancel"), "1");
        assert_eq!(abandoned("timeout"), "1");
    }
}
