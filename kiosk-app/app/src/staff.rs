//! Performs staff mode's effects: dashboard figures from the outbox, the
//! printer and the reader; the actions (sync now, test page, catalogue
//! update, dead letters); the audit log; and out-of-service kept across
//! restarts.

use std::path::PathBuf;

use kiosk_config::KioskConfig;
use kiosk_printer::service::{Observation, PrinterService};
use kiosk_printer::{PrintJob, PrinterError, PrinterProfile};
use kiosk_staff::{
    ActionOutcome, AuditAction, AuditEntry, AuditLog, DeadLetterInfo, PrinterState, ReaderState,
    StaffAction, StaffEffect, StaffEvent, StaffStatus,
};
use offline_cache::Outbox;

use crate::ops::Operations;

/// Everything staff mode's effects need.
pub struct StaffPerformer {
    outbox: Outbox,
    printer: Option<PrinterService<PrinterError>>,
    profile: PrinterProfile,
    reader: ReaderCheck,
    audit: Option<AuditLog>,
    ops: Operations,
    kiosk_id: String,
    catalogue_version: String,
    out_of_service_flag: PathBuf,
    catalogue_updates: Option<kiosk_config::CatalogueUpdates>,
    /// AusweisApp's state, when eID login is configured.
    eid: Option<tokio::sync::watch::Receiver<kiosk_eid::EidStatus>>,
}

/// How the dashboard learns the reader's state.
#[derive(Debug, Clone)]
pub enum ReaderCheck {
    /// The kiosk has no reader.
    NotConfigured,
    /// Look for a PC/SC reader whose name contains this (or any reader).
    Pcsc(Option<String>),
    /// The demo's in-process reader, which is always there.
    InProcess(kiosk_virtual_cards::InProcessReader),
}

impl StaffPerformer {
    /// Staff effects for a kiosk configured by `config`; the audit log is
    /// opened (and created) in the data folder.
    pub fn new(
        config: &KioskConfig,
        outbox: Outbox,
        printer: Option<PrinterService<PrinterError>>,
        reader: ReaderCheck,
        ops: Operations,
        catalogue_version: String,
    ) -> Self {
        let audit = match AuditLog::open(config.audit_log_path()) {
            Ok(log) => Some(log),
            Err(error) => {
                // Staff mode still works; the journal keeps the audit lines.
                tracing::error!(%error, "cannot open the audit log; staff actions go to the journal only");
                None
            }
        };
        Self {
            outbox,
            printer,
            profile: crate::printer_link::profile(config.printer.model),
            reader,
            audit,
            ops,
            kiosk_id: format!("{}-{}", config.kiosk.town_prefix, config.kiosk.id),
            catalogue_version,
            out_of_service_flag: out_of_service_flag(config),
            catalogue_updates: config.services.updates.clone(),
            eid: None,
        }
    }

    /// Shows AusweisApp's state on the dashboard.
    pub fn with_eid_status(
        mut self,
        status: tokio::sync::watch::Receiver<kiosk_eid::EidStatus>,
    ) -> Self {
        self.eid = Some(status);
        self
    }

    /// Performs `effect`; the event to send back to staff mode, if any.
    pub async fn perform(&mut self, effect: StaffEffect) -> Option<StaffEvent> {
        match effect {
            StaffEffect::Show(_) | StaffEffect::Close => None,
            StaffEffect::Audit(entry) => {
                self.audit(&entry);
                None
            }
            StaffEffect::SetInService(in_service) => {
                self.ops.health.set_in_service(in_service);
                let result = if in_service {
                    std::fs::remove_file(&self.out_of_service_flag).or_else(|error| {
                        if error.kind() == std::io::ErrorKind::NotFound {
                            Ok(())
                        } else {
                            Err(error)
                        }
                    })
                } else {
                    std::fs::write(&self.out_of_service_flag, b"out of service\n")
                };
                if let Err(error) = result {
                    tracing::error!(%error, path = %self.out_of_service_flag.display(), "cannot keep the service state across restarts");
                }
                None
            }
            StaffEffect::RefreshStatus => Some(StaffEvent::StatusUpdated(self.status().await)),
            StaffEffect::Perform(action) => {
                let outcome = self.act(action).await;
                Some(StaffEvent::ActionFinished { action, outcome })
            }
        }
    }

    fn audit(&mut self, entry: &AuditEntry) {
        tracing::info!(target: "audit", line = %entry.to_json_line(), "staff");
        if let Some(action) = metric_action(entry) {
            self.ops.metrics.staff_action(action);
        }
        // The append fsyncs: let the runtime move other tasks off this worker.
        if let Some(log) = &mut self.audit
            && let Err(error) = tokio::task::block_in_place(|| log.append(entry))
        {
            tracing::error!(%error, "cannot write the audit log");
        }
    }

    async fn act(&mut self, action: StaffAction) -> ActionOutcome {
        match action {
            StaffAction::SyncNow => {
                self.outbox.sync_now();
                ActionOutcome::Ok
            }
            StaffAction::PrintTestPage => self.print_test_page().await,
            StaffAction::ReloadCatalogue => self.reload_catalogue().await,
            // The machine does these itself and reports them as
            // `SetInService`; never asked to perform them.
            StaffAction::OutOfService | StaffAction::BackInService => ActionOutcome::Ok,
            StaffAction::RetryDeadLetter(id) => {
                let outbox = self.outbox.clone();
                blocking(move || outbox.retry_dead_letter(id)).await
            }
            StaffAction::DiscardDeadLetter(id) => {
                let outbox = self.outbox.clone();
                blocking(move || outbox.discard_dead_letter(id)).await
            }
        }
    }

    async fn print_test_page(&self) -> ActionOutcome {
        let Some(printer) = &self.printer else {
            return ActionOutcome::Failed("no printer configured".into());
        };
        let receipt = kiosk_printer::samples::SampleLanguage::German.receipt();
        let job = match PrintJob::build(&receipt, &self.profile) {
            Ok(job) => job,
            Err(error) => return ActionOutcome::Failed(format!("test page: {error}")),
        };
        match printer.print(job).await {
            Ok(_) => ActionOutcome::Ok,
            Err(error) => {
                use kiosk_printer::Error as _;
                ActionOutcome::Failed(format!("printer: {:?}", error.kind()))
            }
        }
    }

    async fn reload_catalogue(&self) -> ActionOutcome {
        let Some(updates) = &self.catalogue_updates else {
            return ActionOutcome::Failed(
                "no catalogue server configured (services.catalogue_url)".into(),
            );
        };
        let cache = match offline_cache::CatalogueCache::new(
            &self.outbox,
            offline_cache::CatalogueCacheConfig {
                url: updates.url.clone(),
                publisher_key: updates.publisher_key,
                request_timeout: std::time::Duration::from_secs(10),
            },
        ) {
            Ok(cache) => cache,
            Err(error) => return ActionOutcome::Failed(format!("catalogue settings: {error}")),
        };
        match cache.refresh().await {
            Ok(offline_cache::FetchOutcome::Updated { version, .. }) => {
                // The journey is built around one catalogue; a new one takes
                // effect with a restart (the service restarts at once,
                // `Restart=always`), which is safe now: staff mode is open,
                // so no citizen is using the kiosk.
                tracing::info!(%version, "new catalogue stored; restarting the kiosk to use it");
                let _ = slint::invoke_from_event_loop(|| {
                    let _ = slint::quit_event_loop();
                });
                ActionOutcome::Ok
            }
            Ok(_) => ActionOutcome::Ok,
            Err(error) => ActionOutcome::Failed(short(&error.to_string())),
        }
    }

    async fn status(&self) -> StaffStatus {
        let outbox = self.outbox.clone();
        let read = tokio::task::spawn_blocking(move || {
            Ok::<_, offline_cache::StorageError>((outbox.status()?, outbox.dead_letters()?))
        })
        .await;
        let (status, dead_letters) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the outbox for the staff screen");
                Default::default()
            }
            Err(_) => Default::default(),
        };
        let reader = self.reader.clone();
        let reader = tokio::task::spawn_blocking(move || reader_state(&reader))
            .await
            .unwrap_or(ReaderState::Unknown);
        StaffStatus {
            kiosk_id: self.kiosk_id.clone(),
            queue_depth: status.queued + status.sending,
            oldest_undelivered_at: status.oldest_undelivered_at,
            dead_letters: dead_letters
                .into_iter()
                .map(|letter| DeadLetterInfo {
                    id: letter.id,
                    reference: letter.reference.to_string(),
                    service_id: letter.service_id,
                    created_at: letter.created_at,
                    attempts: letter.attempts,
                    // Recorded with the error since the engine classifies failures;
                    // older records say "unknown".
                    last_error_class: letter
                        .failure_class
                        .map_or("unknown", offline_cache::FailureClass::as_str)
                        .to_owned(),
                })
                .collect(),
            last_sync_at: status.last_delivery_at,
            last_sync_attempt_at: status.last_attempt_at,
            printer: match &self.printer {
                None => PrinterState::NotConfigured,
                Some(printer) => staff_printer_state(printer.latest()),
            },
            reader,
            catalogue_version: self.catalogue_version.clone(),
            eid: match &self.eid {
                None => kiosk_staff::EidClientState::NotConfigured,
                Some(status) => eid_client_state(&status.borrow()),
            },
        }
    }
}

/// AusweisApp's state as the dashboard shows it.
pub fn eid_client_state(status: &kiosk_eid::EidStatus) -> kiosk_staff::EidClientState {
    if !status.is_connected() {
        return kiosk_staff::EidClientState::Disconnected;
    }
    kiosk_staff::EidClientState::Connected {
        version: status.version.clone().unwrap_or_default(),
        readers: u32::try_from(status.card_readers()).unwrap_or(u32::MAX),
    }
}

/// Where "out of service" is remembered across restarts.
pub fn out_of_service_flag(config: &KioskConfig) -> PathBuf {
    config.kiosk.data_dir.join("out-of-service")
}

async fn blocking<E: std::fmt::Display + Send + 'static>(
    work: impl FnOnce() -> Result<(), E> + Send + 'static,
) -> ActionOutcome {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(())) => ActionOutcome::Ok,
        Ok(Err(error)) => ActionOutcome::Failed(short(&error.to_string())),
        Err(_) => ActionOutcome::Failed("the action was interrupted".into()),
    }
}

/// Reasons on the staff screen stay short.
fn short(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text);
    first.chars().take(120).collect()
}

/// A dead letter's error, reduced to its class: the stored error never holds
/// personal data, but staff need the kind, not the server's wording.
fn staff_printer_state(observation: Observation) -> PrinterState {
    match crate::ops::printer_state(observation) {
        None => PrinterState::Unknown,
        Some(kiosk_ops::PrinterState::Ready) => PrinterState::Ready,
        Some(kiosk_ops::PrinterState::PaperLow) => PrinterState::PaperNearEnd,
        Some(kiosk_ops::PrinterState::PaperOut) => PrinterState::PaperOut,
        Some(kiosk_ops::PrinterState::CoverOpen) => PrinterState::CoverOpen,
        Some(kiosk_ops::PrinterState::Offline) => PrinterState::Offline,
        Some(_) => PrinterState::Error,
    }
}

fn reader_state(check: &ReaderCheck) -> ReaderState {
    match check {
        ReaderCheck::NotConfigured => ReaderState::NotConfigured,
        ReaderCheck::InProcess(_) => ReaderState::Ready,
        ReaderCheck::Pcsc(name) => match kiosk_card::ReaderManager::new() {
            Err(_) => ReaderState::ServiceUnavailable,
            Ok(manager) => match manager.readers() {
                Err(_) => ReaderState::ServiceUnavailable,
                Ok(readers) => {
                    let found = readers
                        .iter()
                        .any(|reader| name.as_deref().is_none_or(|part| reader.contains(part)));
                    if found {
                        ReaderState::Ready
                    } else {
                        ReaderState::NoReader
                    }
                }
            },
        },
    }
}

/// Keeps the reader's state in `/metrics` and `/healthz` current (every 10 s).
pub async fn report_reader_state(
    check: ReaderCheck,
    ops: Operations,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let probe = check.clone();
        let state = tokio::task::spawn_blocking(move || reader_state(&probe))
            .await
            .unwrap_or(ReaderState::Unknown);
        let reported = match state {
            ReaderState::NotConfigured => {
                ops.metrics.set_reader_not_installed();
                ops.health.set_reader_not_installed();
                None
            }
            ReaderState::Ready => Some(kiosk_ops::ReaderState::Present),
            ReaderState::NoReader => Some(kiosk_ops::ReaderState::Absent),
            _ => Some(kiosk_ops::ReaderState::Error),
        };
        if let Some(state) = reported {
            ops.metrics.set_reader_state(state);
            ops.health.set_reader(state);
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => {}
        }
    }
}

/// The metrics' name for an audited staff action.
fn metric_action(entry: &AuditEntry) -> Option<kiosk_ops::StaffAction> {
    use kiosk_ops::StaffAction as Metric;
    use kiosk_staff::AuditOutcome;
    Some(match &entry.action {
        AuditAction::Login if entry.outcome == AuditOutcome::Ok => Metric::Enter,
        AuditAction::Login => Metric::EnterRefused,
        AuditAction::Logout => Metric::Exit,
        AuditAction::PinLockOut => Metric::Lockout,
        AuditAction::Action(action) => {
            if entry.outcome == AuditOutcome::Started {
                // Counted once, when it finishes.
                return None;
            }
            match action {
                StaffAction::SyncNow => Metric::SyncNow,
                StaffAction::PrintTestPage => Metric::PrintTestPage,
                StaffAction::ReloadCatalogue => Metric::ReloadCatalogue,
                StaffAction::OutOfService => Metric::OutOfService,
                StaffAction::BackInService => Metric::BackInService,
                StaffAction::RetryDeadLetter(_) => Metric::RetryDeadLetter,
                StaffAction::DiscardDeadLetter(_) => Metric::DiscardDeadLetter,
            }
        }
    })
}

/// Whether staff left the kiosk out of service before the last stop.
pub fn starts_out_of_service(config: &KioskConfig) -> bool {
    out_of_service_flag(config).exists()
}
