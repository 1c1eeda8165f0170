//! The state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kiosk_catalogue::{
    Answers, Catalogue, Field, FieldKind, FieldProblem, FieldValue, GroupItem, IdentityAttribute,
    IdentityMethod, IdentityRequirement, Invalid, Language, Service, ValidationContext,
    validate_field,
};
use kiosk_eid::{
    Conditions, FlowConfig, LoginEffect, LoginEvent, LoginFlow, LoginState, NotOffered, Outcome,
};
use zeroize::Zeroizing;

use crate::io::{
    Appointment, AppointmentTiming, Capabilities, CardAccessNumber, Effect, Event, IdentifyChoice,
    IdentityData, IdentityFailure, Now, Origin, SessionOutcome, wipe,
};
use crate::output;

/// Time-outs of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JourneyConfig {
    /// Inactivity before the idle warning appears.
    pub idle_after: Duration,
    /// How long the warning counts down before the session is wiped.
    /// WCAG 2.2.1 asks for at least 20 seconds to react.
    pub warning_for: Duration,
    /// How long the receipt screen stays before saying goodbye.
    pub receipt_for: Duration,
    /// How long the goodbye screen stays before the attract screen.
    pub goodbye_for: Duration,
    /// AusweisApp's developer mode for eID logins (plain-http tcTokenURLs, test
    /// certificates). Tests and the demo only; never on a citizen's kiosk.
    pub eid_developer_mode: bool,
}

impl Default for JourneyConfig {
    fn default() -> Self {
        Self {
            idle_after: Duration::from_secs(90),
            warning_for: Duration::from_secs(30),
            receipt_for: Duration::from_secs(60),
            goodbye_for: Duration::from_secs(8),
            eid_developer_mode: false,
        }
    }
}

/// The screen the journey is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Welcome in all languages; one tap starts.
    Attract,
    /// Language choice.
    Language,
    /// Service tiles.
    Service,
    /// Identification.
    Identify(IdentifyStep),
    /// A form page (index into the service's pages).
    Form {
        /// Page index.
        page: usize,
    },
    /// All answers, each page with "Ändern".
    Review,
    /// Consent boxes and "Absenden".
    Consent,
    /// Waiting for the outbox to commit.
    Submitting,
    /// The receipt.
    Receipt(ReceiptStep),
    /// Thank you; returns to the attract screen by itself.
    Goodbye,
    /// A phone showed an appointment that cannot be checked in now.
    AppointmentNotDue(AppointmentNotDue),
}

/// Why an appointment was not checked in, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentNotDue {
    /// The service (catalogue title in the citizen's language, or the issuer's text).
    pub service_title: String,
    /// When the appointment starts (local time).
    pub starts_at: String,
    /// Too early, missed, or another day.
    pub timing: AppointmentTiming,
}

impl Step {
    /// The step's name without its data (`"form"`, `"receipt"`), for logs and the UI.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Attract => "attract",
            Step::Language => "language",
            Step::Service => "service",
            Step::Identify(_) => "identify",
            Step::Form { .. } => "form",
            Step::Review => "review",
            Step::Consent => "consent",
            Step::Submitting => "submitting",
            Step::Receipt(_) => "receipt",
            Step::Goodbye => "goodbye",
            Step::AppointmentNotDue(_) => "appointment-not-due",
        }
    }
}

/// The identify screen's sub-state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentifyStep {
    /// Choose a route.
    Choosing,
    /// Type the CAN before placing the passport or ID card.
    EnterCan {
        /// The previous CAN was not six digits.
        invalid: bool,
    },
    /// "Place your card / phone here".
    Waiting(IdentityMethod),
    /// The route failed; try again or choose another.
    Failed {
        /// Route that failed.
        method: IdentityMethod,
        /// Why.
        reason: IdentityFailure,
    },
    /// Logging in with the online ID function through AusweisApp.
    Eid(EidPhase),
}

/// Where an eID login is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EidPhase {
    /// The portal is opening a login session.
    Preparing,
    /// AusweisApp runs the login; [`Journey::eid_login`] has the screen's state
    /// (consent, card, PIN, CAN).
    Login,
    /// Logged in; the portal hands over the verified attributes.
    Completing,
    /// It did not work (or was not possible): the outcome with its advice.
    Ended(Outcome),
}

/// The receipt screen's sub-state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptStep {
    /// Receipt reference.
    pub reference: String,
    /// The submission waits for the network.
    pub queued_offline: bool,
    /// Printing state.
    pub print: PrintState,
}

/// Whether the receipt is on paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintState {
    /// Printing.
    Printing,
    /// On paper.
    Printed,
    /// Not printed: the screen shows the reference as a QR code.
    ShowQrCode,
}

/// One answer with where it came from. The value is zeroised when dropped.
#[derive(Debug)]
pub struct Answer {
    /// The value (personal; `Debug` redacts it).
    pub value: Zeroizing<FieldValue>,
    /// Typed or from an identity document.
    pub origin: Origin,
}

/// Everything personal about one citizen's session. Dropped (and so
/// zeroised) as a whole on wipe.
#[derive(Debug, Default)]
struct Session {
    service_id: Option<String>,
    identity: Option<(IdentityMethod, bool)>,
    answers: BTreeMap<String, Answer>,
    consents: BTreeSet<String>,
    problems: Vec<FieldProblem>,
    consent_missing: Vec<String>,
    return_to_review: bool,
    submit_failed: bool,
    receipt: Option<crate::ReceiptContent>,
    /// The eID login in progress (it never holds the PIN).
    eid: Option<LoginFlow>,
    /// The appointment being checked in.
    appointment: Option<Appointment>,
}

/// The citizen journey. Feed it events with [`Journey::handle`], perform the
/// returned effects, and read its state for the screens.
#[derive(Debug)]
pub struct Journey {
    config: JourneyConfig,
    catalogue: Arc<Catalogue>,
    pending_catalogue: Option<Arc<Catalogue>>,
    capabilities: Capabilities,
    step: Step,
    language: Language,
    session: Session,
    last_activity: Duration,
    entered_step_at: Duration,
    idle_warning_until: Option<Duration>,
    staff_called: bool,
    today: time::Date,
    /// Results still to come of eID portal requests the journey walked away
    /// from (Back, Cancel, time-out while preparing or completing): the kiosk
    /// performs effects in order, so the next results of that kind are theirs.
    stale_eid_results: u32,
}

impl Journey {
    /// A journey on the attract screen.
    pub fn new(catalogue: Arc<Catalogue>, config: JourneyConfig, now: Now) -> Self {
        let language = catalogue
            .languages
            .first()
            .cloned()
            .unwrap_or_else(Language::german);
        Self {
            config,
            catalogue,
            pending_catalogue: None,
            capabilities: Capabilities::default(),
            step: Step::Attract,
            language,
            session: Session::default(),
            last_activity: now.elapsed,
            entered_step_at: now.elapsed,
            idle_warning_until: None,
            staff_called: false,
            today: now.today,
            stale_eid_results: 0,
        }
    }

    /// The current screen.
    pub fn step(&self) -> &Step {
        &self.step
    }

    /// The citizen's language.
    pub fn language(&self) -> &Language {
        &self.language
    }

    /// The catalogue in use.
    pub fn catalogue(&self) -> &Arc<Catalogue> {
        &self.catalogue
    }

    /// The chosen service.
    pub fn service(&self) -> Option<&Service> {
        self.session
            .service_id
            .as_deref()
            .and_then(|id| self.catalogue.service(id))
    }

    /// The answer to a top-level field.
    pub fn answer(&self, field: &str) -> Option<&Answer> {
        self.session.answers.get(field)
    }

    /// Problems of the last "Weiter" on this page (empty when none).
    pub fn problems(&self) -> &[FieldProblem] {
        &self.session.problems
    }

    /// Consents still missing after the last "Absenden".
    pub fn missing_consents(&self) -> &[String] {
        &self.session.consent_missing
    }

    /// Whether a consent is ticked.
    pub fn consent_given(&self, id: &str) -> bool {
        self.session.consents.contains(id)
    }

    /// What the receipt shows, once the submission is saved (not personal).
    pub fn receipt(&self) -> Option<&crate::ReceiptContent> {
        self.session.receipt.as_ref()
    }

    /// The last submission could not be saved.
    pub fn submit_failed(&self) -> bool {
        self.session.submit_failed
    }

    /// Seconds left on the idle warning, when it is shown.
    pub fn idle_warning(&self, now: Duration) -> Option<Duration> {
        self.idle_warning_until
            .map(|until| until.saturating_sub(now))
    }

    /// Whether the citizen asked for staff.
    pub fn staff_called(&self) -> bool {
        self.staff_called
    }

    /// Capabilities last reported.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// Routes the identify screen offers now (eID only while online, card
    /// routes only with a reader), and whether "type it in" is offered.
    pub fn identification_offer(&self) -> (Vec<IdentityMethod>, bool) {
        let Some(service) = self.service() else {
            return (Vec::new(), false);
        };
        let methods = service
            .identity_methods
            .iter()
            .copied()
            .filter(|m| match m {
                IdentityMethod::Eid => self.eid_conditions().not_offered().is_none(),
                IdentityMethod::Passport | IdentityMethod::Phone => self.capabilities.card_reader,
            })
            .collect();
        (methods, service.identity == IdentityRequirement::Optional)
    }

    /// Why the chosen service's eID login is not offered right now (the identify
    /// screen says so), or `None` when it is offered or the service has none.
    pub fn eid_not_offered(&self) -> Option<NotOffered> {
        let service = self.service()?;
        if !service.identity_methods.contains(&IdentityMethod::Eid) {
            return None;
        }
        self.eid_conditions().not_offered()
    }

    /// The eID login's state while one runs (what the eID screens show).
    pub fn eid_login(&self) -> Option<&LoginState> {
        self.session.eid.as_ref().map(LoginFlow::state)
    }

    /// Whom the eID login waits on ([`kiosk_eid::Awaiting::Nothing`] when none runs);
    /// the kiosk reports AusweisApp's long silence only while it waits on AusweisApp.
    pub fn eid_awaiting(&self) -> kiosk_eid::Awaiting {
        self.session
            .eid
            .as_ref()
            .map_or(kiosk_eid::Awaiting::Nothing, LoginFlow::awaiting)
    }

    fn eid_conditions(&self) -> Conditions {
        Conditions {
            online: self.capabilities.online,
            eid_client: self.capabilities.eid_client,
            card_reader: self.capabilities.card_reader,
        }
    }

    /// Whether the page is shown with the current answers.
    pub fn page_visible(&self, page: usize) -> bool {
        self.service()
            .and_then(|s| s.pages.get(page))
            .is_some_and(|p| {
                p.visible_if
                    .as_ref()
                    .is_none_or(|c| c.holds(&self.visible_answers()))
            })
    }

    /// Whether the field is shown with the current answers.
    pub fn field_visible(&self, field: &Field) -> bool {
        field
            .visible_if
            .as_ref()
            .is_none_or(|c| c.holds(&self.visible_answers()))
    }

    /// The indices of the pages shown with the current answers.
    pub fn visible_pages(&self) -> Vec<usize> {
        let count = self.service().map_or(0, |s| s.pages.len());
        (0..count).filter(|&p| self.page_visible(p)).collect()
    }

    /// The validation message for a problem, in the citizen's language.
    pub fn message(&self, invalid: &Invalid) -> String {
        self.catalogue.message(invalid, &self.language)
    }

    /// Replaces the catalogue. A session in progress keeps the catalogue it
    /// started with; the new one applies from the next attract screen.
    pub fn replace_catalogue(&mut self, catalogue: Arc<Catalogue>) {
        if self.step == Step::Attract {
            self.catalogue = catalogue;
        } else {
            self.pending_catalogue = Some(catalogue);
        }
    }

    /// Handles one event and returns the effects to perform, in order.
    pub fn handle(&mut self, event: Event, now: Now) -> Vec<Effect> {
        self.today = now.today;
        let mut effects = Vec::new();
        if event.is_citizen_activity() {
            self.last_activity = now.elapsed;
            if !matches!(event, Event::MoreTime) {
                self.idle_warning_until = None;
            }
        }
        if self.stale_eid_results > 0 && is_eid_portal_result(&event) {
            self.stale_eid_results -= 1;
            tracing::debug!("the result of an abandoned eID request dropped");
            return effects;
        }
        match event {
            Event::Tick => self.tick(now, &mut effects),
            Event::Capabilities(c) => self.capabilities = c,
            Event::MoreTime => self.idle_warning_until = None,
            Event::Activity => {}
            Event::CallStaff => {
                if !self.staff_called {
                    self.staff_called = true;
                    effects.push(Effect::CallStaff);
                }
            }
            Event::StaffCallEnded => self.staff_called = false,
            Event::Cancel => {
                if self.cancellable() {
                    self.end_session(SessionOutcome::Cancelled, now, &mut effects);
                }
            }
            Event::ChooseLanguage(language) if self.catalogue.languages.contains(&language) => {
                self.language = language;
                if self.step == Step::Attract {
                    effects.push(Effect::SessionStarted);
                }
                if matches!(self.step, Step::Attract | Step::Language) {
                    self.go(Step::Service, now);
                }
            }
            other => self.on_step_event(other, now, &mut effects),
        }
        effects
    }

    fn cancellable(&self) -> bool {
        !matches!(
            self.step,
            Step::Attract | Step::Submitting | Step::Receipt(_) | Step::Goodbye
        )
    }

    fn go(&mut self, step: Step, now: Now) {
        self.step = step;
        self.entered_step_at = now.elapsed;
        self.session.problems.clear();
    }

    fn tick(&mut self, now: Now, effects: &mut Vec<Effect>) {
        let in_step = now.elapsed.saturating_sub(self.entered_step_at);
        match &self.step {
            Step::Attract | Step::Submitting => return,
            Step::Receipt(receipt) => {
                // Printing may take a moment; the screen stays until it is done.
                if receipt.print != PrintState::Printing && in_step >= self.config.receipt_for {
                    self.go(Step::Goodbye, now);
                }
                return;
            }
            Step::Goodbye => {
                if in_step >= self.config.goodbye_for {
                    self.end_session(SessionOutcome::Completed, now, effects);
                }
                return;
            }
            Step::AppointmentNotDue(_) => {
                // Nothing personal to protect: the screen simply goes back to the start.
                if in_step >= self.config.receipt_for {
                    self.end_session(SessionOutcome::Completed, now, effects);
                }
                return;
            }
            _ => {}
        }
        match self.idle_warning_until {
            Some(until) if now.elapsed >= until => {
                self.end_session(SessionOutcome::TimedOut, now, effects)
            }
            Some(_) => {}
            None => {
                if now.elapsed.saturating_sub(self.last_activity) >= self.config.idle_after {
                    self.idle_warning_until = Some(now.elapsed + self.config.warning_for);
                }
            }
        }
    }

    /// Wipes every personal value and returns to the attract screen.
    fn end_session(&mut self, outcome: SessionOutcome, now: Now, effects: &mut Vec<Effect>) {
        if matches!(self.step, Step::Identify(IdentifyStep::Waiting(_))) {
            effects.push(Effect::StopIdentification);
        }
        // A running eID login is cancelled in AusweisApp too (it would otherwise
        // wait for a PIN the next citizen knows nothing about).
        let eid_event = match outcome {
            SessionOutcome::TimedOut => LoginEvent::IdleTimeout,
            SessionOutcome::Cancelled | SessionOutcome::Completed => LoginEvent::Cancel,
        };
        self.abandon_eid_request();
        self.stop_eid(eid_event, effects);
        // Dropping the session zeroises every answer (`Zeroizing`).
        self.session = Session::default();
        self.staff_called = false;
        self.idle_warning_until = None;
        self.language = self
            .catalogue
            .languages
            .first()
            .cloned()
            .unwrap_or_else(Language::german);
        if let Some(catalogue) = self.pending_catalogue.take() {
            self.catalogue = catalogue;
        }
        self.go(Step::Attract, now);
        self.last_activity = now.elapsed;
        tracing::info!(outcome = ?outcome, "journey session ended");
        effects.push(Effect::SessionEnded(outcome));
    }

    fn on_step_event(&mut self, event: Event, now: Now, effects: &mut Vec<Effect>) {
        let step = self.step.clone();
        match (step, event) {
            (Step::Attract, Event::Start) => {
                effects.push(Effect::SessionStarted);
                self.go(Step::Language, now)
            }
            (
                Step::Attract | Step::Language | Step::Service,
                Event::AppointmentShown(appointment),
            ) => self.check_in(appointment, now, effects),
            (Step::AppointmentNotDue(_), Event::Finish | Event::Back) => {
                self.end_session(SessionOutcome::Completed, now, effects)
            }
            // Leaving the first screen ends the visit like "Abbrechen" does.
            (Step::Language, Event::Back) => {
                self.end_session(SessionOutcome::Cancelled, now, effects)
            }
            (Step::Service, Event::Back) => self.go(Step::Language, now),
            (Step::Service, Event::ChooseService(id)) => {
                let Some(service) = self.catalogue.service(&id) else {
                    tracing::warn!(service = %id, "unknown service chosen; ignored");
                    return;
                };
                let skip_identify = service.identity == IdentityRequirement::NotOffered;
                // Coming back to the same service keeps the answers; another
                // service starts afresh (and drops the old answers).
                if self.session.service_id.as_deref() != Some(id.as_str()) {
                    self.session = Session {
                        service_id: Some(id),
                        ..Session::default()
                    };
                }
                if skip_identify {
                    self.enter_form(now);
                } else {
                    self.go(Step::Identify(IdentifyStep::Choosing), now);
                }
            }
            (Step::Identify(sub), event) => self.on_identify(sub, event, now, effects),
            (Step::Form { page }, event) => self.on_form(page, event, now),
            (Step::Review, Event::Back) => self.go_to_last_page(now),
            (Step::Review, Event::Next) => self.go(Step::Consent, now),
            (Step::Review, Event::EditPage(page)) if self.page_visible(page) => {
                self.session.return_to_review = true;
                self.go(Step::Form { page }, now);
            }
            (Step::Consent, Event::Back) => self.go(Step::Review, now),
            (Step::Consent, Event::SetConsent { id, given }) => {
                if given {
                    self.session.consents.insert(id.clone());
                    self.session.consent_missing.retain(|c| *c != id);
                } else {
                    self.session.consents.remove(&id);
                }
            }
            (Step::Consent, Event::Next) => self.submit(now, effects),
            (
                Step::Submitting,
                Event::Submitted {
                    reference,
                    queued_offline,
                },
            ) => {
                let receipt = self.receipt_content(&reference, queued_offline);
                // The application is in the outbox now: nothing personal
                // needs to stay in memory for the rest of the visit.
                let service_id = self.session.service_id.take();
                self.session = Session {
                    service_id,
                    receipt: Some(receipt.clone()),
                    ..Session::default()
                };
                self.go(
                    Step::Receipt(ReceiptStep {
                        reference,
                        queued_offline,
                        print: PrintState::Printing,
                    }),
                    now,
                );
                effects.push(Effect::PrintReceipt(receipt));
            }
            (Step::Submitting, Event::SubmissionFailed) if self.session.appointment.is_some() => {
                let appointment = self.session.appointment.take();
                let (service_title, starts_at) = appointment
                    .map(|a| {
                        let title = self
                            .catalogue
                            .service(&a.service)
                            .map(|s| s.title.get(&self.language).to_owned())
                            .unwrap_or(a.service);
                        (title, a.starts_at)
                    })
                    .unwrap_or_default();
                self.go(
                    Step::AppointmentNotDue(AppointmentNotDue {
                        service_title,
                        starts_at,
                        timing: AppointmentTiming::NotSaved,
                    }),
                    now,
                );
            }
            (Step::Submitting, Event::SubmissionFailed) => {
                self.session.submit_failed = true;
                self.go(Step::Consent, now);
            }
            (Step::Receipt(mut receipt), Event::ReceiptPrinted) => {
                receipt.print = PrintState::Printed;
                // The citizen gets the full time to take the receipt.
                self.go(Step::Receipt(receipt), now);
            }
            (Step::Receipt(mut receipt), Event::ReceiptNotPrinted) => {
                receipt.print = PrintState::ShowQrCode;
                // ... or to photograph the QR code.
                self.go(Step::Receipt(receipt), now);
            }
            (Step::Receipt(receipt), Event::Finish) if receipt.print != PrintState::Printing => {
                self.go(Step::Goodbye, now)
            }
            (Step::Goodbye, Event::Finish | Event::Start) => {
                self.end_session(SessionOutcome::Completed, now, effects)
            }
            (step, event) => {
                tracing::debug!(
                    step = step.name(),
                    event = event_name(&event),
                    "event does not apply here; ignored"
                );
            }
        }
    }

    fn on_identify(
        &mut self,
        sub: IdentifyStep,
        event: Event,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        match (sub, event) {
            (IdentifyStep::Waiting(_), Event::Back) => {
                effects.push(Effect::StopIdentification);
                self.go(Step::Identify(IdentifyStep::Choosing), now);
            }
            (IdentifyStep::Eid(_), Event::Back) => {
                self.abandon_eid_request();
                self.stop_eid(LoginEvent::Cancel, effects);
                self.go(Step::Identify(IdentifyStep::Choosing), now);
            }
            (IdentifyStep::Eid(phase), event) if is_eid_event(&event) => {
                self.on_eid(phase, event, now, effects)
            }
            (IdentifyStep::Choosing, Event::Back) => self.go(Step::Service, now),
            (_, Event::Back) => self.go(Step::Identify(IdentifyStep::Choosing), now),
            (
                IdentifyStep::Choosing
                | IdentifyStep::Failed { .. }
                | IdentifyStep::Eid(EidPhase::Ended(_)),
                Event::ChooseIdentification(choice),
            ) => {
                let (methods, type_it_in) = self.identification_offer();
                match choice {
                    IdentifyChoice::TypeItIn if type_it_in => self.enter_form(now),
                    IdentifyChoice::Method(IdentityMethod::Passport)
                        if methods.contains(&IdentityMethod::Passport) =>
                    {
                        self.go(
                            Step::Identify(IdentifyStep::EnterCan { invalid: false }),
                            now,
                        )
                    }
                    IdentifyChoice::Method(IdentityMethod::Eid)
                        if methods.contains(&IdentityMethod::Eid) =>
                    {
                        self.start_eid(now, effects)
                    }
                    IdentifyChoice::Method(method) if methods.contains(&method) => {
                        self.go(Step::Identify(IdentifyStep::Waiting(method)), now);
                        effects.push(Effect::StartIdentification { method, can: None });
                    }
                    _ => tracing::debug!("identification route not offered now; ignored"),
                }
            }
            (IdentifyStep::EnterCan { .. }, Event::EnterCan(input)) => {
                let input = Zeroizing::new(input);
                match CardAccessNumber::parse(&input) {
                    Some(can) => {
                        self.go(
                            Step::Identify(IdentifyStep::Waiting(IdentityMethod::Passport)),
                            now,
                        );
                        effects.push(Effect::StartIdentification {
                            method: IdentityMethod::Passport,
                            can: Some(can),
                        });
                    }
                    None => self.step = Step::Identify(IdentifyStep::EnterCan { invalid: true }),
                }
            }
            (IdentifyStep::Waiting(method), Event::IdentityRead(data)) if data.method == method => {
                effects.push(Effect::StopIdentification);
                self.prefill(&data);
                self.session.identity = Some((data.method, data.verified));
                self.enter_form(now);
            }
            (IdentifyStep::Waiting(method), Event::IdentityFailed(reason)) => {
                effects.push(Effect::StopIdentification);
                self.go(Step::Identify(IdentifyStep::Failed { method, reason }), now);
            }
            (_, event) => {
                tracing::debug!(
                    event = event_name(&event),
                    "event does not apply to identify; ignored"
                )
            }
        }
    }

    fn start_eid(&mut self, now: Now, effects: &mut Vec<Effect>) {
        let Some(service) = self.service() else {
            return;
        };
        let mut attributes: Vec<IdentityAttribute> =
            service.fields().filter_map(|f| f.prefill).collect();
        if attributes.contains(&IdentityAttribute::Street) {
            // The address field takes street and house number together.
            attributes.push(IdentityAttribute::HouseNumber);
        }
        attributes.sort_by_key(|a| a.name());
        attributes.dedup();
        effects.push(Effect::StartEidSession {
            service_id: service.id.clone(),
            attributes,
        });
        self.session.eid = None;
        self.go(Step::Identify(IdentifyStep::Eid(EidPhase::Preparing)), now);
    }

    fn on_eid(&mut self, phase: EidPhase, event: Event, now: Now, effects: &mut Vec<Effect>) {
        match (phase, event) {
            (EidPhase::Preparing, Event::EidSessionReady { tc_token_url }) => {
                let mut flow = LoginFlow::new(FlowConfig {
                    developer_mode: self.config.eid_developer_mode,
                });
                let out = flow.handle(LoginEvent::Start {
                    tc_token_url,
                    conditions: self.eid_conditions(),
                });
                self.session.eid = Some(flow);
                self.go(Step::Identify(IdentifyStep::Eid(EidPhase::Login)), now);
                self.eid_effects(out, now, effects);
            }
            (EidPhase::Preparing | EidPhase::Completing, Event::EidSessionFailed(failure)) => {
                self.session.eid = None;
                let outcome = Outcome::Failed {
                    failure,
                    result_url: None,
                };
                self.go(
                    Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))),
                    now,
                );
            }
            (EidPhase::Completing, Event::IdentityRead(data))
                if data.method == IdentityMethod::Eid =>
            {
                self.session.eid = None;
                self.prefill(&data);
                self.session.identity = Some((data.method, data.verified));
                self.enter_form(now);
            }
            (EidPhase::Login, event) => {
                let login_event = match event {
                    Event::EidMessage(message) => LoginEvent::Sdk(message),
                    Event::EidAccept => LoginEvent::Accept,
                    Event::EidOptionalRights(rights) => LoginEvent::ChooseOptionalRights(rights),
                    Event::EidPin(pin) => LoginEvent::Pin(pin),
                    Event::EidCan(can) => LoginEvent::Can(can),
                    // Silence counts only while AusweisApp has the turn; the pump
                    // cannot always tell (an answer may come while the citizen reads).
                    Event::EidClientSilent
                        if self.eid_awaiting() != kiosk_eid::Awaiting::EidClient =>
                    {
                        return;
                    }
                    Event::EidClientSilent => LoginEvent::SdkSilent,
                    Event::EidClientLost => LoginEvent::Disconnected,
                    other => {
                        tracing::debug!(
                            event = event_name(&other),
                            "event does not apply to the eID login; ignored"
                        );
                        return;
                    }
                };
                let Some(flow) = self.session.eid.as_mut() else {
                    return;
                };
                let out = flow.handle(login_event);
                self.eid_effects(out, now, effects);
            }
            (_, event) => tracing::debug!(
                event = event_name(&event),
                "event does not apply to this eID phase; ignored"
            ),
        }
    }

    fn eid_effects(&mut self, out: Vec<LoginEffect>, now: Now, effects: &mut Vec<Effect>) {
        for effect in out {
            match effect {
                LoginEffect::Send(command) => effects.push(Effect::EidCommand(command)),
                LoginEffect::Finished(Outcome::Succeeded { result_url }) => {
                    self.go(Step::Identify(IdentifyStep::Eid(EidPhase::Completing)), now);
                    effects.push(Effect::CompleteEidLogin { result_url });
                }
                LoginEffect::Finished(outcome) => {
                    self.session.eid = None;
                    self.go(
                        Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))),
                        now,
                    );
                }
            }
        }
    }

    /// Leaving an eID phase that waits for the portal's answer: that answer
    /// will still come and must not be taken for a later login's.
    fn abandon_eid_request(&mut self) {
        if matches!(
            self.step,
            Step::Identify(IdentifyStep::Eid(
                EidPhase::Preparing | EidPhase::Completing
            ))
        ) {
            self.stale_eid_results += 1;
        }
    }

    /// Cancels a running eID login (AusweisApp gets `CANCEL`) and forgets it.
    fn stop_eid(&mut self, event: LoginEvent, effects: &mut Vec<Effect>) {
        if let Some(mut flow) = self.session.eid.take() {
            for effect in flow.handle(event) {
                if let LoginEffect::Send(command) = effect {
                    effects.push(Effect::EidCommand(command));
                }
            }
        }
    }

    /// A phone showed an appointment: check in when it is due, else say why not.
    fn check_in(&mut self, appointment: Appointment, now: Now, effects: &mut Vec<Effect>) {
        if self.step == Step::Attract {
            effects.push(Effect::SessionStarted);
        }
        let service_title = self
            .catalogue
            .service(&appointment.service)
            .map(|s| s.title.get(&self.language).to_owned())
            .unwrap_or_else(|| appointment.service.clone());
        if appointment.timing != AppointmentTiming::Due {
            self.session = Session::default();
            self.go(
                Step::AppointmentNotDue(AppointmentNotDue {
                    service_title,
                    starts_at: appointment.starts_at,
                    timing: appointment.timing,
                }),
                now,
            );
            return;
        }
        let draft = output::check_in(&appointment, self.language.code());
        self.session = Session {
            appointment: Some(appointment),
            ..Session::default()
        };
        self.go(Step::Submitting, now);
        effects.push(Effect::Submit(draft));
    }

    /// Copies identity attributes into the fields that allow them.
    fn prefill(&mut self, data: &IdentityData) {
        let Some(service) = self.service().cloned() else {
            return;
        };
        let origin = Origin::Identity {
            method: data.method,
            verified: data.verified,
        };
        for field in service.fields() {
            let Some(attribute) = field.prefill else {
                continue;
            };
            let value = match (&field.kind, attribute) {
                (
                    FieldKind::StreetAddress,
                    IdentityAttribute::Street | IdentityAttribute::HouseNumber,
                ) => {
                    let (Some(street), Some(number)) = (
                        data.get(IdentityAttribute::Street),
                        data.get(IdentityAttribute::HouseNumber),
                    ) else {
                        continue;
                    };
                    FieldValue::Address {
                        street: street.to_owned(),
                        number: number.to_owned(),
                    }
                }
                _ => match data.get(attribute) {
                    Some(v) => FieldValue::Text(v.to_owned()),
                    None => continue,
                },
            };
            self.set_answer(&field.id, value, origin);
        }
    }

    fn enter_form(&mut self, now: Now) {
        match self.visible_pages().first() {
            Some(&page) => self.go(Step::Form { page }, now),
            None => self.go(Step::Review, now),
        }
    }

    fn go_to_last_page(&mut self, now: Now) {
        match self.visible_pages().last() {
            Some(&page) => self.go(Step::Form { page }, now),
            None => self.go(Step::Service, now),
        }
    }

    fn on_form(&mut self, page: usize, event: Event, now: Now) {
        match event {
            Event::SetAnswer { field, value } => {
                if self.field_on_page(page, &field).is_some() {
                    self.set_answer(&field, value, Origin::Typed);
                }
            }
            Event::SetGroupAnswer {
                group,
                index,
                field,
                value,
            } => {
                if self.group_field_on_page(page, &group, &field) {
                    self.set_group_answer(&group, index, &field, value);
                }
            }
            Event::AddGroupItem { group } => self.add_group_item(page, &group),
            Event::RemoveGroupItem { group, index } => {
                if let Some(answer) = self.session.answers.get_mut(&group)
                    && let FieldValue::Group(items) = &mut *answer.value
                    && index < items.len()
                {
                    let mut removed = items.remove(index);
                    zeroize::Zeroize::zeroize(&mut removed);
                    answer.origin = Origin::Typed;
                }
            }
            Event::Next => {
                let problems = self.validate_page(page);
                if !problems.is_empty() {
                    self.session.problems = problems;
                    return;
                }
                if self.session.return_to_review {
                    // Changing an answer can show pages that still need answers.
                    let first_invalid = self
                        .visible_pages()
                        .into_iter()
                        .find(|&p| !self.validate_page(p).is_empty());
                    match first_invalid {
                        Some(p) => {
                            self.go(Step::Form { page: p }, now);
                            self.session.problems = self.validate_page(p);
                        }
                        None => {
                            self.session.return_to_review = false;
                            self.go(Step::Review, now);
                        }
                    }
                    return;
                }
                let next = self.visible_pages().into_iter().find(|&p| p > page);
                match next {
                    Some(p) => self.go(Step::Form { page: p }, now),
                    None => self.go(Step::Review, now),
                }
            }
            Event::Back => {
                let previous = self.visible_pages().into_iter().rev().find(|&p| p < page);
                match previous {
                    Some(p) => self.go(Step::Form { page: p }, now),
                    None if self
                        .service()
                        .is_some_and(|s| s.identity != IdentityRequirement::NotOffered) =>
                    {
                        self.go(Step::Identify(IdentifyStep::Choosing), now)
                    }
                    None => self.go(Step::Service, now),
                }
            }
            other => tracing::debug!(
                event = event_name(&other),
                "event does not apply to a form page; ignored"
            ),
        }
    }

    fn field_on_page(&self, page: usize, id: &str) -> Option<Field> {
        self.service()?
            .pages
            .get(page)?
            .fields
            .iter()
            .find(|f| f.id == id)
            .cloned()
    }

    fn group_field_on_page(&self, page: usize, group: &str, field: &str) -> bool {
        matches!(
            self.field_on_page(page, group),
            Some(Field { kind: FieldKind::Group { fields, .. }, .. }) if fields.iter().any(|f| f.id == field)
        )
    }

    fn set_answer(&mut self, field: &str, value: FieldValue, origin: Origin) {
        if let Some(mut old) = self.session.answers.remove(field) {
            wipe(&mut old.value);
        }
        self.session.answers.insert(
            field.to_owned(),
            Answer {
                value: Zeroizing::new(value),
                origin,
            },
        );
    }

    fn set_group_answer(&mut self, group: &str, index: usize, field: &str, value: FieldValue) {
        let Some(answer) = self.session.answers.get_mut(group) else {
            return;
        };
        if let FieldValue::Group(items) = &mut *answer.value
            && let Some(item) = items.get_mut(index)
        {
            item.set(field, value);
            answer.origin = Origin::Typed;
        }
    }

    fn add_group_item(&mut self, page: usize, group: &str) {
        let Some(Field {
            kind: FieldKind::Group { max_items, .. },
            ..
        }) = self.field_on_page(page, group)
        else {
            return;
        };
        let answer = self
            .session
            .answers
            .entry(group.to_owned())
            .or_insert_with(|| Answer {
                value: Zeroizing::new(FieldValue::Group(Vec::new())),
                origin: Origin::Typed,
            });
        if let FieldValue::Group(items) = &mut *answer.value
            && (items.len() as u32) < max_items
        {
            items.push(GroupItem::default());
        }
    }

    /// Validates the visible fields of a page and stores normalised values.
    fn validate_page(&mut self, page: usize) -> Vec<FieldProblem> {
        let Some(service) = self.service().cloned() else {
            return Vec::new();
        };
        let Some(page) = service.pages.get(page) else {
            return Vec::new();
        };
        let context = ValidationContext { today: self.today };
        let mut problems = Vec::new();
        for field in &page.fields {
            if !self.field_visible(field) {
                continue;
            }
            let current = self.session.answers.get(&field.id).map(|a| &*a.value);
            match validate_field(field, current, &context) {
                Ok(Some(normalised)) => {
                    if let Some(answer) = self.session.answers.get_mut(&field.id)
                        && *answer.value != normalised
                    {
                        wipe(&mut answer.value);
                        *answer.value = normalised;
                    }
                }
                Ok(None) => {}
                Err(p) => problems.extend(p),
            }
        }
        problems
    }

    fn submit(&mut self, now: Now, effects: &mut Vec<Effect>) {
        let Some(service) = self.service().cloned() else {
            return;
        };
        let missing: Vec<String> = service
            .consents
            .iter()
            .filter(|c| !self.session.consents.contains(&c.id))
            .map(|c| c.id.clone())
            .collect();
        if !missing.is_empty() {
            self.session.consent_missing = missing;
            return;
        }
        // Defence in depth: the pages were validated on "Weiter", but an
        // answer may have changed a condition since.
        if let Some(p) = self
            .visible_pages()
            .into_iter()
            .find(|&p| !self.validate_page(p).is_empty())
        {
            self.session.return_to_review = true;
            self.go(Step::Form { page: p }, now);
            self.session.problems = self.validate_page(p);
            return;
        }
        self.session.submit_failed = false;
        let draft = output::submission(self, &service);
        self.go(Step::Submitting, now);
        effects.push(Effect::Submit(draft));
    }

    fn receipt_content(&self, reference: &str, queued_offline: bool) -> crate::ReceiptContent {
        if let Some(appointment) = &self.session.appointment {
            let title = self
                .catalogue
                .service(&appointment.service)
                .map(|s| s.title.get(&self.language).to_owned())
                .unwrap_or_else(|| appointment.service.clone());
            return crate::ReceiptContent {
                language: self.language.clone(),
                service_title: title,
                reference: reference.to_owned(),
                lines: Vec::new(),
                next_steps: String::new(),
                queued_offline,
                appointment_at: Some(appointment.starts_at.clone()),
            };
        }
        let service = self.service().cloned();
        output::receipt(self, service.as_ref(), reference, queued_offline)
    }

    /// The answers that currently count: only visible fields on visible pages.
    pub(crate) fn visible_answers(&self) -> VisibleAnswers<'_> {
        VisibleAnswers { journey: self }
    }

    pub(crate) fn session_identity(&self) -> Option<(IdentityMethod, bool)> {
        self.session.identity
    }

    pub(crate) fn session_consents(&self) -> &BTreeSet<String> {
        &self.session.consents
    }
}

/// Answers as conditions see them. Conditions only refer to earlier fields
/// (the catalogue checker enforces it), so a field's own condition is
/// evaluated on values that were themselves visibility-checked.
pub(crate) struct VisibleAnswers<'a> {
    journey: &'a Journey,
}

impl Answers for VisibleAnswers<'_> {
    fn value(&self, id: &str) -> Option<&FieldValue> {
        let service = self.journey.service()?;
        let (page, field) = service
            .pages
            .iter()
            .find_map(|p| p.fields.iter().find(|f| f.id == id).map(|f| (p, f)))?;
        let page_visible = page.visible_if.as_ref().is_none_or(|c| c.holds(self));
        let field_visible = field.visible_if.as_ref().is_none_or(|c| c.holds(self));
        if page_visible && field_visible {
            self.journey.session.answers.get(id).map(|a| &*a.value)
        } else {
            None
        }
    }
}

/// The event's name without its data, for logs.
fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Start => "start",
        Event::ChooseLanguage(_) => "choose-language",
        Event::ChooseService(_) => "choose-service",
        Event::ChooseIdentification(_) => "choose-identification",
        Event::EnterCan(_) => "enter-can",
        Event::IdentityRead(_) => "identity-read",
        Event::IdentityFailed(_) => "identity-failed",
        Event::SetAnswer { .. } => "set-answer",
        Event::SetGroupAnswer { .. } => "set-group-answer",
        Event::AddGroupItem { .. } => "add-group-item",
        Event::RemoveGroupItem { .. } => "remove-group-item",
        Event::Next => "next",
        Event::Back => "back",
        Event::Cancel => "cancel",
        Event::EditPage(_) => "edit-page",
        Event::SetConsent { .. } => "set-consent",
        Event::Submitted { .. } => "submitted",
        Event::SubmissionFailed => "submission-failed",
        Event::ReceiptPrinted => "receipt-printed",
        Event::ReceiptNotPrinted => "receipt-not-printed",
        Event::Finish => "finish",
        Event::CallStaff => "call-staff",
        Event::StaffCallEnded => "staff-call-ended",
        Event::MoreTime => "more-time",
        Event::Activity => "activity",
        Event::Tick => "tick",
        Event::Capabilities(_) => "capabilities",
        Event::AppointmentShown(_) => "appointment-shown",
        Event::EidSessionReady { .. } => "eid-session-ready",
        Event::EidSessionFailed(_) => "eid-session-failed",
        Event::EidMessage(_) => "eid-message",
        Event::EidAccept => "eid-accept",
        Event::EidOptionalRights(_) => "eid-optional-rights",
        Event::EidPin(_) => "eid-pin",
        Event::EidCan(_) => "eid-can",
        Event::EidClientSilent => "eid-client-silent",
        Event::EidClientLost => "eid-client-lost",
    }
}

/// Whether the event answers `StartEidSession` or `CompleteEidLogin`.
fn is_eid_portal_result(event: &Event) -> bool {
    match event {
        Event::EidSessionReady { .. } | Event::EidSessionFailed(_) => true,
        Event::IdentityRead(data) => data.method == IdentityMethod::Eid,
        _ => false,
    }
}

/// Whether the event belongs to the eID login (or completes it).
fn is_eid_event(event: &Event) -> bool {
    matches!(
        event,
        Event::EidSessionReady { .. }
            | Event::EidSessionFailed(_)
            | Event::EidMessage(_)
            | Event::EidAccept
            | Event::EidOptionalRights(_)
            | Event::EidPin(_)
            | Event::EidCan(_)
            | Event::EidClientSilent
            | Event::EidClientLost
            | Event::IdentityRead(_)
    )
}
