//! The wiring: performs the journey's effects on the outbox and the printer and
//! feeds what happened back into the journey as events.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use kiosk_catalogue::{Catalogue, IdentityMethod};
use kiosk_journey::{
    Capabilities, Effect, Event, IdentityFailure, Journey, JourneyConfig, Now, SessionOutcome, Step,
};
use kiosk_printer::service::PrinterService;
use kiosk_printer::{PrintJob, PrinterError, PrinterProfile};
use offline_cache::{NewSubmission, Outbox};

use crate::eid::{EidEvents, EidService};
use crate::identity::DocumentReader;
use crate::receipt::printer_receipt;

/// What the kiosk did in answer to one event, for the demo transcript and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// The outbox committed an application.
    Saved {
        /// Receipt reference.
        reference: String,
        /// Service id.
        service_id: String,
        /// Whether the kiosk was offline.
        queued_offline: bool,
    },
    /// The outbox refused (disk full, database error); the citizen was told.
    SaveFailed(String),
    /// The receipt was printed.
    Printed,
    /// The receipt could not be printed, with the printer's problem.
    NotPrinted(String),
    /// A document was read; `verified` tells whether passive authentication succeeded.
    Identified {
        /// The chip's data is signed by a trusted country.
        verified: bool,
    },
    /// A citizen asked for staff.
    StaffCalled,
    /// A citizen started a session.
    SessionStarted,
    /// A session ended.
    SessionEnded(SessionOutcome),
}

/// The parts of the kiosk that perform the journey's effects: the outbox, the
/// receipt printer and the document reader. Each effect becomes at most one
/// event for the journey.
pub struct Performer {
    outbox: Outbox,
    printer: Option<PrinterService<PrinterError>>,
    profile: PrinterProfile,
    office: Vec<String>,
    online: Arc<AtomicBool>,
    /// The chip reader; `None` while a read is in progress or when the kiosk has none.
    documents: Option<Box<dyn DocumentReader>>,
    has_document_reader: bool,
    /// Set while a document is read, so nothing else talks to the card meanwhile.
    identifying: Arc<AtomicBool>,
    /// eID login through AusweisApp, when configured.
    eid: Option<EidService>,
    /// AusweisApp's messages during a login, as journey events; taken by the
    /// window's effect task, drained by [`Kiosk::next_eid_event`] otherwise.
    eid_events: Option<EidEvents>,
}

impl Performer {
    /// Effects go to `outbox` and `printer` (`None`: the kiosk has no printer,
    /// receipts are shown as QR codes); `office` heads every receipt.
    pub fn new(
        outbox: Outbox,
        printer: Option<PrinterService<PrinterError>>,
        profile: PrinterProfile,
        office: Vec<String>,
        online: Arc<AtomicBool>,
    ) -> Self {
        Self {
            outbox,
            printer,
            profile,
            office,
            online,
            documents: None,
            has_document_reader: false,
            identifying: Arc::new(AtomicBool::new(false)),
            eid: None,
            eid_events: None,
        }
    }

    /// Adds eID login; `events` is the receiver [`EidService::new`] returned.
    pub fn with_eid(mut self, eid: EidService, events: EidEvents) -> Self {
        // One flag for "the card is in use": a document read or an eID login.
        self.eid = Some(eid.with_card_in_use(self.identifying.clone()));
        self.eid_events = Some(events);
        self
    }

    /// Set while an identification reads the card or an eID login may use it
    /// (the card watcher then leaves the card alone).
    pub fn identifying(&self) -> Arc<AtomicBool> {
        self.identifying.clone()
    }

    /// The eID service, for staff mode and `/metrics`.
    pub fn eid(&self) -> Option<&EidService> {
        self.eid.as_ref()
    }

    /// Takes the receiver of AusweisApp's events (the window's effect task
    /// forwards them to the UI).
    pub fn take_eid_events(&mut self) -> Option<EidEvents> {
        self.eid_events.take()
    }

    /// Adds a chip reader for passports and ID cards.
    pub fn with_document_reader(mut self, reader: Box<dyn DocumentReader>) -> Self {
        self.documents = Some(reader);
        self.has_document_reader = true;
        self
    }

    /// What the kiosk can do right now, for the journey.
    pub fn capabilities(&self) -> Capabilities {
        self.capability_source().capabilities()
    }

    /// What the capabilities are computed from, for a task that tells the
    /// journey when they change (the performer itself moves to the effect task).
    pub fn capability_source(&self) -> CapabilitySource {
        CapabilitySource {
            online: self.online.clone(),
            card_reader: self.has_document_reader,
            eid: self.eid.as_ref().map(EidService::watch_status),
        }
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Performs `effect`; what happened is added to `happened`, and the event
    /// that reports the outcome to the journey is returned.
    pub async fn perform(&mut self, effect: Effect, happened: &mut Vec<Happened>) -> Option<Event> {
        match effect {
            Effect::Submit(draft) => {
                let service_id = draft.service_id.clone();
                let outbox = self.outbox.clone();
                let submission = NewSubmission {
                    service_id: draft.service_id.clone(),
                    service_version: draft.service_version,
                    payload: draft.payload,
                };
                // SQLite commits with fsync: keep it off the async workers.
                let result = tokio::task::spawn_blocking(move || outbox.enqueue(submission)).await;
                match result {
                    Ok(Ok(saved)) => {
                        let queued_offline = !self.online.load(Ordering::Relaxed);
                        let reference = saved.reference.to_string();
                        tracing::info!(service = %service_id, reference = %reference, queued_offline, "application saved");
                        self.outbox.sync_now();
                        happened.push(Happened::Saved {
                            reference: reference.clone(),
                            service_id,
                            queued_offline,
                        });
                        Some(Event::Submitted {
                            reference,
                            queued_offline,
                        })
                    }
                    Ok(Err(error)) => {
                        tracing::error!(service = %service_id, %error, "application not saved");
                        happened.push(Happened::SaveFailed(error.to_string()));
                        Some(Event::SubmissionFailed)
                    }
                    Err(join) => {
                        tracing::error!(service = %service_id, error = %join, "saving task failed");
                        happened.push(Happened::SaveFailed(join.to_string()));
                        Some(Event::SubmissionFailed)
                    }
                }
            }
            Effect::PrintReceipt(content) => {
                let issued = jiff::ZonedDateTime::now()
                    .strftime("%d.%m.%Y %H:%M")
                    .to_string();
                let receipt = printer_receipt(&content, &self.office, &issued);
                match Self::print(self.printer.clone(), &self.profile.clone(), &receipt).await {
                    Ok(()) => {
                        happened.push(Happened::Printed);
                        Some(Event::ReceiptPrinted)
                    }
                    Err(problem) => {
                        tracing::warn!(%problem, "receipt not printed; showing it as a QR code");
                        happened.push(Happened::NotPrinted(problem));
                        Some(Event::ReceiptNotPrinted)
                    }
                }
            }
            Effect::StartIdentification {
                method: method @ (IdentityMethod::Passport | IdentityMethod::Phone),
                can,
            } => {
                let Some(mut reader) = self.documents.take() else {
                    return Some(Event::IdentityFailed(IdentityFailure::Unavailable));
                };
                // A chip read takes a second or two on real hardware and waits
                // for the document: keep it off the async workers.
                self.identifying.store(true, Ordering::Release);
                let identifying = self.identifying.clone();
                let (reader, result) = tokio::task::spawn_blocking(move || {
                    // Cleared however the read ends, a panic included.
                    struct Done(Arc<AtomicBool>);
                    impl Drop for Done {
                        fn drop(&mut self) {
                            self.0.store(false, Ordering::Release);
                        }
                    }
                    let _done = Done(identifying);
                    let result = match (method, can) {
                        (IdentityMethod::Passport, Some(can)) => reader.read_passport(&can),
                        (IdentityMethod::Passport, None) => Err(IdentityFailure::WrongCode),
                        _ => reader.read_phone(),
                    };
                    (reader, result)
                })
                .await
                .ok()?;
                self.documents = Some(reader);
                match result {
                    Ok(identity) => {
                        happened.push(Happened::Identified {
                            verified: identity.verified,
                        });
                        Some(Event::IdentityRead(identity))
                    }
                    Err(failure) => Some(Event::IdentityFailed(failure)),
                }
            }
            Effect::StartIdentification { method, .. } => {
                tracing::warn!(
                    method = method.name(),
                    "this identification route is not wired in this build"
                );
                Some(Event::IdentityFailed(IdentityFailure::Unavailable))
            }
            Effect::StopIdentification => None,
            Effect::CallStaff => {
                tracing::warn!("a citizen asked for staff");
                happened.push(Happened::StaffCalled);
                None
            }
            Effect::SessionStarted => {
                happened.push(Happened::SessionStarted);
                None
            }
            Effect::SessionEnded(outcome) => {
                happened.push(Happened::SessionEnded(outcome));
                None
            }
            Effect::StartEidSession {
                service_id,
                attributes,
            } => Some(match self.eid.as_mut() {
                Some(eid) => eid.start_session(&service_id, &attributes).await,
                None => Event::EidSessionFailed(kiosk_eid::Failure::EidClientNotResponding),
            }),
            Effect::EidCommand(command) => match self.eid.as_mut() {
                Some(eid) => eid.command(command).await,
                None => Some(Event::EidClientLost),
            },
            Effect::CompleteEidLogin { result_url } => Some(match self.eid.as_mut() {
                Some(eid) => {
                    let event = eid.complete(&result_url).await;
                    if let Event::IdentityRead(identity) = &event {
                        happened.push(Happened::Identified {
                            verified: identity.verified,
                        });
                    }
                    event
                }
                None => Event::EidSessionFailed(kiosk_eid::Failure::Other),
            }),
        }
    }

    /// Prints one receipt; the error says what is wrong with the printer.
    // Takes the parts, not `&self`: the future must be `Send` and the
    // document reader is not `Sync`.
    async fn print(
        printer: Option<PrinterService<PrinterError>>,
        profile: &PrinterProfile,
        receipt: &kiosk_printer::Receipt,
    ) -> Result<(), String> {
        let Some(printer) = printer else {
            return Err("this kiosk has no receipt printer".to_owned());
        };
        let job = PrintJob::build(receipt, profile).map_err(|e| e.to_string())?;
        let report = printer.print(job).await.map_err(|e| e.to_string())?;
        if let Some(alert) = report.alert {
            tracing::warn!(?alert, "printer needs staff attention");
        }
        Ok(())
    }
}

/// The parts [`Performer::capabilities`] reads, shareable with another task.
#[derive(Clone)]
pub struct CapabilitySource {
    online: Arc<AtomicBool>,
    card_reader: bool,
    eid: Option<tokio::sync::watch::Receiver<kiosk_eid::EidStatus>>,
}

impl CapabilitySource {
    /// What the kiosk can do right now.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            online: self.online.load(Ordering::Relaxed),
            card_reader: self.card_reader,
            eid_client: self.eid.as_ref().is_some_and(|status| {
                let status = status.borrow();
                status.is_connected() && status.has_card_reader()
            }),
        }
    }
}

/// The journey with its [`Performer`], driven without a window: the headless
/// demo and tests dispatch events and await every effect in turn.
pub struct Kiosk {
    journey: Journey,
    performer: Performer,
    started: Instant,
}

impl Kiosk {
    /// A kiosk on the attract screen.
    pub fn new(catalogue: Arc<Catalogue>, config: JourneyConfig, performer: Performer) -> Self {
        let started = Instant::now();
        let journey = Journey::new(catalogue, config, now_since(started));
        Self {
            journey,
            performer,
            started,
        }
    }

    /// The journey, for reading its state.
    pub fn journey(&self) -> &Journey {
        &self.journey
    }

    /// Answers every visible, unanswered field of the current form page: with
    /// the text in `typed` for its field id, otherwise with a sample value
    /// (the demo's and the tests' citizen). Answering can reveal more fields,
    /// so it repeats, at most once per field of the page.
    pub async fn answer_page_with_samples(&mut self, typed: &[(&str, &str)]) {
        let Step::Form { page } = self.journey.step().clone() else {
            return;
        };
        let Some(fields) = self
            .journey
            .service()
            .and_then(|service| service.pages.get(page))
            .map(|page| page.fields.clone())
        else {
            return;
        };
        for _ in 0..=fields.len() {
            let open: Vec<_> = fields
                .iter()
                .filter(|f| self.journey.field_visible(f) && self.journey.answer(&f.id).is_none())
                .cloned()
                .collect();
            if open.is_empty() {
                break;
            }
            for field in open {
                let value = match typed.iter().find(|(id, _)| *id == field.id) {
                    Some((_, text)) => kiosk_catalogue::FieldValue::Text((*text).to_owned()),
                    None => kiosk_journey::samples::sample_value(
                        &field,
                        kiosk_journey::samples::OptionPick::First,
                        today(),
                    ),
                };
                self.dispatch(Event::SetAnswer {
                    field: field.id.clone(),
                    value,
                })
                .await;
            }
        }
    }

    /// Replaces the eID service (tests that swap the virtual AusweisApp for the real one).
    pub fn replace_eid(&mut self, eid: EidService, events: EidEvents) {
        self.performer.eid = Some(eid.with_card_in_use(self.performer.identifying.clone()));
        self.performer.eid_events = Some(events);
    }

    /// Waits up to `wait` for AusweisApp's next message during an eID login and
    /// handles it; `None` when nothing came (or the kiosk has no eID).
    pub async fn next_eid_event(&mut self, wait: std::time::Duration) -> Option<Vec<Happened>> {
        let events = self.performer.eid_events.as_mut()?;
        let event = tokio::time::timeout(wait, events.recv()).await.ok()??;
        Some(self.dispatch(event).await)
    }

    /// Handles an event and every event that performing its effects causes.
    pub async fn dispatch(&mut self, event: Event) -> Vec<Happened> {
        let mut happened = Vec::new();
        let mut queue = VecDeque::from([Event::Capabilities(self.performer.capabilities()), event]);
        while let Some(event) = queue.pop_front() {
            let effects = self.journey.handle(event, now_since(self.started));
            for effect in effects {
                if let Some(next) = self.performer.perform(effect, &mut happened).await {
                    queue.push_back(next);
                }
            }
        }
        happened
    }
}

/// The journey's time: monotonic since `started`, and today's local date.
pub fn now_since(started: Instant) -> Now {
    Now {
        elapsed: started.elapsed(),
        today: today(),
    }
}

/// Today's date in the kiosk's time zone.
pub fn today() -> time::Date {
    let today = jiff::ZonedDateTime::now().date();
    time::Date::from_calendar_date(
        i32::from(today.year()),
        time::Month::try_from(today.month() as u8).unwrap_or(time::Month::January),
        today.day() as u8,
    )
    .unwrap_or(time::Date::MIN)
}
