//! The eID login as a pure state machine: events in, effects out, no I/O, no clock.
//!
//! [`LoginFlow`] drives one `RUN_AUTH` through AusweisApp: it shows who asks for which
//! data ([`Consent`]), waits for the citizen's "accept", asks for the card, the PIN (or
//! the CAN after two wrong PINs), and ends with an [`Outcome`]: the result URL that
//! completes the portal login, a failure with [`Advice`], a cancellation, or "not
//! offered" with a reason. Every state is plain data the UI can show; texts are message
//! codes ([`Outcome::code`], [`Advice::code`], [`AccessRight::code`]) that the UI
//! translates.
//!
//! The caller performs the effects ([`LoginEffect::Send`] goes to AusweisApp) and reports
//! what happened as [`LoginEvent`]s: AusweisApp's messages, the citizen's taps, the
//! journey's idle time-out, and AusweisApp going silent or away. [`LoginFlow::awaiting`]
//! says whom the flow waits on, so the caller knows when silence is a failure.
//!
//! The flow never keeps a PIN or CAN: a [`Secret`] in [`LoginEvent::Pin`] moves straight
//! into the `SET_PIN` command of the effect.

use serde::Serialize;

use crate::protocol::{
    AccessRight, AccessRights, Auth, AuthResult, Certificate, Command, EnterNumber, Message,
    Reader, RunAuth,
};
use crate::secret::{Secret, SecretKind};

/// Settings of the login flow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowConfig {
    /// AusweisApp's developer mode (plain `http` tcTokenURLs, test certificates).
    /// Tests only: a citizen's login never runs in developer mode.
    pub developer_mode: bool,
}

/// What the kiosk can offer right now; eID login needs all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Conditions {
    /// The portal (and so the eID server) is reachable.
    pub online: bool,
    /// AusweisApp is running and connected.
    pub eid_client: bool,
    /// A card reader is attached (AusweisApp's `Simulator` does not count).
    pub card_reader: bool,
}

/// What happened: AusweisApp's messages, the citizen's taps, time.
// Events live only while handled; boxing the message would cost every caller for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum LoginEvent {
    /// The citizen chose eID login; `tc_token_url` comes from the portal's login page.
    Start {
        /// The provider's TcToken URL.
        tc_token_url: String,
        /// What the kiosk can offer right now.
        conditions: Conditions,
    },
    /// A message from AusweisApp.
    Sdk(Message),
    /// "Zustimmen": the citizen accepts the provider and the rights.
    Accept,
    /// The citizen switched optional rights on or off: the optional rights to keep.
    ChooseOptionalRights(Vec<AccessRight>),
    /// The PIN from the on-screen PIN pad.
    Pin(Secret),
    /// The CAN from the on-screen pad.
    Can(Secret),
    /// "Abbrechen".
    Cancel,
    /// The journey's idle time-out.
    IdleTimeout,
    /// AusweisApp did not say anything for too long while the flow waited on it.
    SdkSilent,
    /// The connection to AusweisApp was lost.
    Disconnected,
}

/// What the caller must do.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginEffect {
    /// Send this command to AusweisApp.
    Send(Command),
    /// The flow ended (sent once, when [`LoginState::Ended`] is reached).
    Finished(Outcome),
}

/// Whom the flow is waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaiting {
    /// Nobody: not started, or ended.
    Nothing,
    /// AusweisApp (silence for long is a failure: send [`LoginEvent::SdkSilent`]).
    EidClient,
    /// The citizen (the journey's idle time-out applies).
    Citizen,
}

/// Where the login is; each state is what the UI shows.
// One state exists per login; keeping it unboxed keeps it plain data for the UI.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginState {
    /// Not started.
    Idle,
    /// `RUN_AUTH` sent; AusweisApp fetches the provider's request.
    Starting {
        /// Percent done, if AusweisApp said.
        progress: Option<u32>,
    },
    /// The requested rights arrived; the provider's certificate is being fetched.
    LoadingProvider,
    /// Who asks for which data; waits for "accept" or "cancel".
    Consent(Consent),
    /// Waits for the card on the reader.
    InsertCard {
        /// Why the card on the reader cannot be used, if there is one.
        problem: Option<CardProblem>,
    },
    /// The card and the eID server are talking.
    Working {
        /// Percent done, if AusweisApp said.
        progress: Option<u32>,
    },
    /// The PIN is needed.
    EnterPin(PinRequest),
    /// The CAN is needed.
    EnterCan(CanRequest),
    /// The outcome is decided; `CANCEL` was sent and AusweisApp is finishing.
    /// The UI already shows the outcome.
    Ending(Outcome),
    /// Finished.
    Ended(Outcome),
}

/// The consent screen: the provider and what it wants to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consent {
    /// Who asks.
    pub provider: Provider,
    /// What it asks for.
    pub rights: Rights,
}

/// The service provider, from its authorisation certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// The provider's name (certificate subject).
    pub name: String,
    /// The provider's web address.
    pub url: String,
    /// Who issued the certificate.
    pub issuer: String,
    /// The issuer's web address.
    pub issuer_url: String,
    /// Why the provider reads (as registered, usually German).
    pub purpose: String,
    /// The registered terms of usage (address, data protection authority).
    pub terms_of_usage: String,
    /// Certificate valid from.
    pub valid_from: String,
    /// Certificate valid until.
    pub valid_until: String,
}

/// The requested access rights, in the consent screen's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Rights {
    /// Rights the provider needs.
    pub required: Vec<AccessRight>,
    /// Rights the citizen may switch off.
    pub optional: Vec<AccessRight>,
    /// The optional rights currently switched on.
    pub enabled_optional: Vec<AccessRight>,
    /// The provider's transaction information, if any.
    pub transaction_info: Option<String>,
    /// The age an age check asks for, if any.
    pub required_age: Option<String>,
    /// The community a place check compares against, if any.
    pub community_id: Option<String>,
    /// AusweisApp refused the last change of optional rights.
    pub change_refused: bool,
}

impl Rights {
    fn from_message(rights: &AccessRights) -> Self {
        let sorted = |list: &[AccessRight]| {
            let mut list = list.to_vec();
            list.sort_by_key(AccessRight::display_order);
            list.dedup();
            list
        };
        let optional = sorted(&rights.chat.optional);
        let enabled_optional = sorted(&rights.chat.effective)
            .into_iter()
            .filter(|right| optional.contains(right))
            .collect();
        let aux = rights.aux.as_ref();
        Self {
            required: sorted(&rights.chat.required),
            optional,
            enabled_optional,
            transaction_info: rights.transaction_info.clone(),
            required_age: aux.and_then(|aux| aux.required_age.clone()),
            community_id: aux.and_then(|aux| aux.community_id.clone()),
            change_refused: rights.error.is_some(),
        }
    }
}

/// Why the card on the reader cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardProblem {
    /// Not a German ID card (or eID card) with the online function.
    NotAnEidCard,
    /// The card's online function is switched off (the Bürgerbüro can switch it on).
    EidDeactivated,
}

impl CardProblem {
    /// The message code the UI translates.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotAnEidCard => "eid.card.not_an_eid_card",
            Self::EidDeactivated => "eid.card.eid_deactivated",
        }
    }

    /// What the citizen can do.
    pub fn advice(self) -> Advice {
        match self {
            Self::NotAnEidCard => Advice::TryAgain,
            Self::EidDeactivated => Advice::VisitBuergerbuero,
        }
    }
}

/// The PIN screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PinRequest {
    /// Attempts left before the CAN (after 2) or the PUK (after 3) is needed.
    pub attempts_left: Option<u8>,
    /// The reader has a keypad: the citizen types the PIN there, not on the screen.
    pub keypad: bool,
    /// The previous PIN was wrong.
    pub last_was_wrong: bool,
}

impl PinRequest {
    /// Whether a wrong PIN now blocks the card (show a warning).
    pub fn last_attempt(&self) -> bool {
        self.attempts_left == Some(1)
    }
}

/// The CAN screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CanRequest {
    /// Why the CAN is needed.
    pub reason: CanReason,
    /// The reader has a keypad: the citizen types the CAN there.
    pub keypad: bool,
    /// The previous CAN was wrong.
    pub last_was_wrong: bool,
}

/// Why the CAN is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CanReason {
    /// Two wrong PINs: the CAN unlocks the last attempt.
    PinSuspended,
    /// The provider may read with the CAN instead of the PIN (on-site check).
    CanAllowed,
}

/// How the login ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Logged in: the kiosk opens `result_url` to complete the portal login.
    Succeeded {
        /// The provider's refresh URL.
        result_url: String,
    },
    /// It did not work.
    Failed {
        /// Why.
        failure: Failure,
        /// The provider's error address, if AusweisApp gave one.
        result_url: Option<String>,
    },
    /// The citizen cancelled, or the journey timed out.
    Cancelled {
        /// Who or what cancelled.
        reason: CancelReason,
        /// The provider's error address, if AusweisApp gave one.
        result_url: Option<String>,
    },
    /// eID login is not possible right now; the journey offers the other routes.
    NotOffered {
        /// Why.
        reason: NotOffered,
    },
}

impl Outcome {
    /// The message code the UI translates.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Succeeded { .. } => "eid.succeeded",
            Self::Failed { failure, .. } => failure.code(),
            Self::Cancelled { reason, .. } => reason.code(),
            Self::NotOffered { reason } => reason.code(),
        }
    }

    /// What the citizen can do next, if anything.
    pub fn advice(&self) -> Option<Advice> {
        match self {
            Self::Succeeded { .. } | Self::Cancelled { .. } => None,
            Self::Failed { failure, .. } => Some(failure.advice()),
            Self::NotOffered { .. } => Some(Advice::UseAnotherRoute),
        }
    }

    /// The URL to open: the result URL on success, the provider's error address
    /// otherwise.
    pub fn result_url(&self) -> Option<&str> {
        match self {
            Self::Succeeded { result_url } => Some(result_url),
            Self::Failed { result_url, .. } | Self::Cancelled { result_url, .. } => {
                result_url.as_deref()
            }
            Self::NotOffered { .. } => None,
        }
    }

    fn with_url(mut self, url: Option<String>) -> Self {
        let url = url.filter(|url| !url.is_empty());
        match &mut self {
            Self::Failed { result_url, .. } | Self::Cancelled { result_url, .. } => {
                if result_url.is_none() {
                    *result_url = url;
                }
            }
            Self::Succeeded { .. } | Self::NotOffered { .. } => {}
        }
        self
    }
}

/// Why a login failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Failure {
    /// Three wrong PINs: the PIN is blocked (the PUK from the PIN letter unblocks it,
    /// the Bürgerbüro helps).
    PinBlocked,
    /// The PUK is used up: the PIN cannot be unblocked any more.
    PukInoperative,
    /// The card was taken off the reader too early.
    CardRemoved,
    /// The card is expired or otherwise not valid.
    DocumentNotValid,
    /// The card or reader did not answer in time.
    CardTimeout,
    /// The provider's eID server could not be reached.
    ServiceUnreachable,
    /// The provider's request was not acceptable (certificate, TcToken).
    ServiceRejected,
    /// The portal gave an unusable tcTokenURL (a configuration problem).
    InvalidServiceAddress,
    /// AusweisApp is busy with another workflow.
    EidClientBusy,
    /// The connection to AusweisApp was lost.
    EidClientLost,
    /// AusweisApp stopped answering.
    EidClientNotResponding,
    /// AusweisApp reported an internal error, or the kiosk and AusweisApp disagreed.
    EidClientError,
    /// Another error.
    Other,
}

impl Failure {
    /// Every failure (for translation completeness checks).
    pub const ALL: [Failure; 13] = [
        Self::PinBlocked,
        Self::PukInoperative,
        Self::CardRemoved,
        Self::DocumentNotValid,
        Self::CardTimeout,
        Self::ServiceUnreachable,
        Self::ServiceRejected,
        Self::InvalidServiceAddress,
        Self::EidClientBusy,
        Self::EidClientLost,
        Self::EidClientNotResponding,
        Self::EidClientError,
        Self::Other,
    ];

    /// The message code the UI translates.
    pub fn code(self) -> &'static str {
        match self {
            Self::PinBlocked => "eid.failed.pin_blocked",
            Self::PukInoperative => "eid.failed.puk_inoperative",
            Self::CardRemoved => "eid.failed.card_removed",
            Self::DocumentNotValid => "eid.failed.document_not_valid",
            Self::CardTimeout => "eid.failed.card_timeout",
            Self::ServiceUnreachable => "eid.failed.service_unreachable",
            Self::ServiceRejected => "eid.failed.service_rejected",
            Self::InvalidServiceAddress => "eid.failed.invalid_service_address",
            Self::EidClientBusy => "eid.failed.eid_client_busy",
            Self::EidClientLost => "eid.failed.eid_client_lost",
            Self::EidClientNotResponding => "eid.failed.eid_client_not_responding",
            Self::EidClientError => "eid.failed.eid_client_error",
            Self::Other => "eid.failed.other",
        }
    }

    /// What the citizen can do.
    pub fn advice(self) -> Advice {
        match self {
            Self::PinBlocked | Self::PukInoperative | Self::DocumentNotValid => {
                Advice::VisitBuergerbuero
            }
            Self::CardRemoved | Self::CardTimeout | Self::EidClientBusy | Self::EidClientLost => {
                Advice::TryAgain
            }
            Self::ServiceUnreachable | Self::ServiceRejected | Self::Other => Advice::TryLater,
            Self::InvalidServiceAddress | Self::EidClientNotResponding | Self::EidClientError => {
                Advice::CallStaff
            }
        }
    }
}

/// What the citizen can do after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Advice {
    /// Try again now (e.g. keep the card on the reader).
    TryAgain,
    /// Try again later, or use another route now.
    TryLater,
    /// Visit the Bürgerbüro (blocked PIN, switched-off online function, invalid card).
    VisitBuergerbuero,
    /// Ask staff for help (a kiosk problem).
    CallStaff,
    /// Identify another way (passport, phone, typing in).
    UseAnotherRoute,
}

impl Advice {
    /// The message code the UI translates.
    pub fn code(self) -> &'static str {
        match self {
            Self::TryAgain => "eid.advice.try_again",
            Self::TryLater => "eid.advice.try_later",
            Self::VisitBuergerbuero => "eid.advice.visit_buergerbuero",
            Self::CallStaff => "eid.advice.call_staff",
            Self::UseAnotherRoute => "eid.advice.use_another_route",
        }
    }
}

/// Who or what cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The citizen tapped "cancel" (or cancelled on the reader's keypad).
    Citizen,
    /// The journey's idle time-out.
    IdleTimeout,
}

impl CancelReason {
    /// The message code the UI translates.
    pub fn code(self) -> &'static str {
        match self {
            Self::Citizen => "eid.cancelled.citizen",
            Self::IdleTimeout => "eid.cancelled.idle_timeout",
        }
    }
}

/// Why eID login is not offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotOffered {
    /// The kiosk is offline; eID login needs the provider's eID server.
    Offline,
    /// AusweisApp is not running or not reachable.
    EidClientUnavailable,
    /// No card reader is attached.
    NoCardReader,
}

impl NotOffered {
    /// The message code the UI translates.
    pub fn code(self) -> &'static str {
        match self {
            Self::Offline => "eid.not_offered.offline",
            Self::EidClientUnavailable => "eid.not_offered.eid_client_unavailable",
            Self::NoCardReader => "eid.not_offered.no_card_reader",
        }
    }
}

impl Conditions {
    /// Why eID login cannot be offered under these conditions, if it cannot.
    pub fn not_offered(&self) -> Option<NotOffered> {
        if !self.online {
            Some(NotOffered::Offline)
        } else if !self.eid_client {
            Some(NotOffered::EidClientUnavailable)
        } else if !self.card_reader {
            Some(NotOffered::NoCardReader)
        } else {
            None
        }
    }
}

/// Every message code this module can produce, for the UI's translation check.
pub fn message_codes() -> Vec<&'static str> {
    let mut codes = vec!["eid.succeeded", "eid.right.other"];
    codes.extend(Failure::ALL.iter().map(|failure| failure.code()));
    codes.extend(
        [
            Advice::TryAgain,
            Advice::TryLater,
            Advice::VisitBuergerbuero,
            Advice::CallStaff,
            Advice::UseAnotherRoute,
        ]
        .map(Advice::code),
    );
    codes.extend([CancelReason::Citizen, CancelReason::IdleTimeout].map(CancelReason::code));
    codes.extend(
        [
            NotOffered::Offline,
            NotOffered::EidClientUnavailable,
            NotOffered::NoCardReader,
        ]
        .map(NotOffered::code),
    );
    codes.extend([CardProblem::NotAnEidCard, CardProblem::EidDeactivated].map(CardProblem::code));
    codes.extend(crate::protocol::RIGHT_CODES);
    codes
}

/// How many recently sent command names are remembered to recognise our `BAD_STATE`s.
const RECENT_COMMANDS: usize = 8;

/// One eID login. Create one per attempt (or reuse after it ended: `Start` again).
#[derive(Debug)]
pub struct LoginFlow {
    config: FlowConfig,
    state: LoginState,
    /// Rights that arrived before the certificate.
    pending_rights: Option<Rights>,
    /// A PIN was sent and not yet answered (a new `ENTER_PIN` then means "wrong").
    pin_sent: bool,
    /// A CAN was sent and not yet answered.
    can_sent: bool,
    /// The latest card problem seen while waiting for a card.
    card_problem: Option<CardProblem>,
    /// Names of commands sent lately (newest last).
    recent: Vec<&'static str>,
}

impl LoginFlow {
    /// A flow that has not started.
    pub fn new(config: FlowConfig) -> Self {
        Self {
            config,
            state: LoginState::Idle,
            pending_rights: None,
            pin_sent: false,
            can_sent: false,
            card_problem: None,
            recent: Vec::with_capacity(RECENT_COMMANDS),
        }
    }

    /// Where the login is (what the UI shows).
    pub fn state(&self) -> &LoginState {
        &self.state
    }

    /// The outcome, once the flow is ending or ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.state {
            LoginState::Ending(outcome) | LoginState::Ended(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// Whether the flow has ended.
    pub fn is_ended(&self) -> bool {
        matches!(self.state, LoginState::Ended(_))
    }

    /// Whom the flow waits on.
    pub fn awaiting(&self) -> Awaiting {
        match self.state {
            LoginState::Idle | LoginState::Ended(_) => Awaiting::Nothing,
            LoginState::Starting { .. }
            | LoginState::LoadingProvider
            | LoginState::Working { .. }
            | LoginState::Ending(_) => Awaiting::EidClient,
            LoginState::Consent(_)
            | LoginState::InsertCard { .. }
            | LoginState::EnterPin(_)
            | LoginState::EnterCan(_) => Awaiting::Citizen,
        }
    }

    fn is_active(&self) -> bool {
        !matches!(
            self.state,
            LoginState::Idle | LoginState::Ending(_) | LoginState::Ended(_)
        )
    }

    /// Handles one event and returns what to do.
    pub fn handle(&mut self, event: LoginEvent) -> Vec<LoginEffect> {
        let mut effects = Vec::new();
        match event {
            LoginEvent::Start {
                tc_token_url,
                conditions,
            } => self.start(tc_token_url, conditions, &mut effects),
            LoginEvent::Sdk(message) => self.on_message(message, &mut effects),
            LoginEvent::Accept => {
                if matches!(self.state, LoginState::Consent(_)) {
                    self.send(Command::Accept, &mut effects);
                    self.state = LoginState::Working { progress: None };
                }
            }
            LoginEvent::ChooseOptionalRights(chosen) => {
                if let LoginState::Consent(consent) = &self.state {
                    let chat = chosen
                        .into_iter()
                        .filter(|right| consent.rights.optional.contains(right))
                        .collect();
                    self.send(Command::SetAccessRights { chat }, &mut effects);
                }
            }
            LoginEvent::Pin(secret) => {
                let expected = matches!(
                    self.state,
                    LoginState::EnterPin(PinRequest { keypad: false, .. })
                );
                if expected && secret.kind() == SecretKind::Pin {
                    self.send(
                        Command::SetPin {
                            value: Some(secret),
                        },
                        &mut effects,
                    );
                    self.pin_sent = true;
                    self.state = LoginState::Working { progress: None };
                } else {
                    tracing::warn!(state = self.state_name(), "PIN not expected now; dropped");
                }
            }
            LoginEvent::Can(secret) => {
                let expected = matches!(
                    self.state,
                    LoginState::EnterCan(CanRequest { keypad: false, .. })
                );
                if expected && secret.kind() == SecretKind::Can {
                    self.send(
                        Command::SetCan {
                            value: Some(secret),
                        },
                        &mut effects,
                    );
                    self.can_sent = true;
                    self.state = LoginState::Working { progress: None };
                } else {
                    tracing::warn!(state = self.state_name(), "CAN not expected now; dropped");
                }
            }
            LoginEvent::Cancel => self.cancel(CancelReason::Citizen, &mut effects),
            LoginEvent::IdleTimeout => self.cancel(CancelReason::IdleTimeout, &mut effects),
            LoginEvent::SdkSilent => match &self.state {
                LoginState::Ending(outcome) => {
                    let outcome = outcome.clone();
                    self.finish(outcome, &mut effects);
                }
                _ if self.is_active() => {
                    tracing::warn!(state = self.state_name(), "AusweisApp went silent");
                    self.begin_end(
                        Outcome::Failed {
                            failure: Failure::EidClientNotResponding,
                            result_url: None,
                        },
                        &mut effects,
                    );
                }
                _ => {}
            },
            LoginEvent::Disconnected => match &self.state {
                LoginState::Ending(outcome) => {
                    let outcome = outcome.clone();
                    self.finish(outcome, &mut effects);
                }
                _ if self.is_active() => {
                    tracing::warn!(state = self.state_name(), "AusweisApp connection lost");
                    self.finish(
                        Outcome::Failed {
                            failure: Failure::EidClientLost,
                            result_url: None,
                        },
                        &mut effects,
                    );
                }
                _ => {}
            },
        }
        effects
    }

    fn start(
        &mut self,
        tc_token_url: String,
        conditions: Conditions,
        effects: &mut Vec<LoginEffect>,
    ) {
        if !matches!(self.state, LoginState::Idle | LoginState::Ended(_)) {
            tracing::warn!(
                state = self.state_name(),
                "login already running; start ignored"
            );
            return;
        }
        *self = Self::new(self.config.clone());
        if let Some(reason) = conditions.not_offered() {
            tracing::info!(reason = reason.code(), "eID login not offered");
            self.finish(Outcome::NotOffered { reason }, effects);
            return;
        }
        if !valid_tc_token_url(&tc_token_url, self.config.developer_mode) {
            tracing::warn!("the portal's tcTokenURL is not an https URL with a host");
            self.finish(
                Outcome::Failed {
                    failure: Failure::InvalidServiceAddress,
                    result_url: None,
                },
                effects,
            );
            return;
        }
        let mut run = RunAuth::new(tc_token_url);
        run.status = Some(true);
        if self.config.developer_mode {
            run.developer_mode = Some(true);
        }
        self.send(Command::RunAuth(run), effects);
        self.state = LoginState::Starting { progress: None };
    }

    fn cancel(&mut self, reason: CancelReason, effects: &mut Vec<LoginEffect>) {
        if self.is_active() {
            tracing::info!(
                reason = reason.code(),
                state = self.state_name(),
                "eID login cancelled"
            );
            self.begin_end(
                Outcome::Cancelled {
                    reason,
                    result_url: None,
                },
                effects,
            );
        }
    }

    fn on_message(&mut self, message: Message, effects: &mut Vec<LoginEffect>) {
        if matches!(self.state, LoginState::Idle | LoginState::Ended(_)) {
            tracing::debug!(msg = message.name(), "message outside a login ignored");
            return;
        }
        match message {
            Message::Auth(auth) => self.on_auth(auth, effects),
            Message::AccessRights(rights) => self.on_access_rights(&rights, effects),
            Message::Certificate(certificate) => self.on_certificate(certificate),
            Message::InsertCard(_) => {
                // Only after "accept": the consent screen must not be replaced.
                let after_accept = matches!(
                    self.state,
                    LoginState::Starting { .. }
                        | LoginState::Working { .. }
                        | LoginState::InsertCard { .. }
                        | LoginState::EnterPin(_)
                        | LoginState::EnterCan(_)
                );
                if after_accept {
                    self.state = LoginState::InsertCard {
                        problem: self.card_problem,
                    };
                }
            }
            Message::Reader(reader) => self.on_reader(&reader),
            Message::EnterPin(request) => self.on_enter_pin(&request, effects),
            Message::EnterCan(request) => self.on_enter_can(&request, effects),
            Message::EnterPuk(request) => {
                if self.is_active() {
                    let inoperative = request
                        .reader
                        .as_ref()
                        .and_then(|reader| reader.card.as_ref())
                        .and_then(|card| card.inoperative)
                        .unwrap_or(false);
                    let failure = if inoperative {
                        Failure::PukInoperative
                    } else {
                        Failure::PinBlocked
                    };
                    tracing::info!(failure = failure.code(), "PIN blocked: ending the login");
                    self.begin_end(
                        Outcome::Failed {
                            failure,
                            result_url: None,
                        },
                        effects,
                    );
                }
            }
            Message::Status(status) => match &mut self.state {
                LoginState::Starting { progress } | LoginState::Working { progress } => {
                    *progress = status.progress.map(|p| p.min(100));
                }
                _ => {}
            },
            Message::BadState(error) | Message::UnknownCommand(error) => {
                self.on_rejected(error.error.as_deref(), effects)
            }
            Message::Invalid(_) | Message::InternalError(_) => {
                tracing::error!("AusweisApp reported an error during the login");
                self.fail_protocol(effects);
            }
            Message::EnterNewPin(_) | Message::ChangePin(_) => {
                tracing::warn!("change-PIN message during a login ignored");
            }
            Message::Info(_) | Message::ApiLevel(_) | Message::ReaderList(_) => {}
            Message::Unknown(unknown) => {
                tracing::debug!(msg = %unknown.msg, "unknown message during a login ignored");
            }
        }
    }

    fn on_auth(&mut self, auth: Auth, effects: &mut Vec<LoginEffect>) {
        let Auth {
            error, result, url, ..
        } = auth;
        if let Some(result) = result {
            let outcome = match &self.state {
                LoginState::Ending(planned) => planned.clone().with_url(url),
                _ if result.is_ok() => match url.filter(|url| !url.is_empty()) {
                    Some(result_url) => Outcome::Succeeded { result_url },
                    None => {
                        tracing::error!("AusweisApp reported success without a result URL");
                        Outcome::Failed {
                            failure: Failure::EidClientError,
                            result_url: None,
                        }
                    }
                },
                _ => classify(&result).with_url(url),
            };
            tracing::info!(
                outcome = outcome.code(),
                minor = result.minor_code().unwrap_or(""),
                reason = result.reason.as_deref().unwrap_or(""),
                "eID login ended"
            );
            self.finish(outcome, effects);
        } else if error.is_some() {
            // RUN_AUTH was refused before a workflow started (nothing to cancel).
            tracing::warn!("AusweisApp refused RUN_AUTH");
            self.finish(
                Outcome::Failed {
                    failure: Failure::InvalidServiceAddress,
                    result_url: None,
                },
                effects,
            );
        }
    }

    fn on_access_rights(&mut self, message: &AccessRights, effects: &mut Vec<LoginEffect>) {
        let rights = Rights::from_message(message);
        match &mut self.state {
            LoginState::Starting { .. } => {
                self.pending_rights = Some(rights);
                self.state = LoginState::LoadingProvider;
                self.send(Command::GetCertificate, effects);
            }
            LoginState::LoadingProvider => self.pending_rights = Some(rights),
            LoginState::Consent(consent) => consent.rights = rights,
            _ => tracing::debug!("ACCESS_RIGHTS outside the consent step ignored"),
        }
    }

    fn on_certificate(&mut self, certificate: Certificate) {
        let description = certificate.description;
        let provider = Provider {
            name: description.subject_name,
            url: description.subject_url,
            issuer: description.issuer_name,
            issuer_url: description.issuer_url,
            purpose: description.purpose,
            terms_of_usage: description.terms_of_usage,
            valid_from: certificate.validity.effective_date,
            valid_until: certificate.validity.expiration_date,
        };
        match &mut self.state {
            LoginState::LoadingProvider => {
                let rights = self.pending_rights.take().unwrap_or_default();
                self.state = LoginState::Consent(Consent { provider, rights });
            }
            LoginState::Consent(consent) => consent.provider = provider,
            _ => tracing::debug!("CERTIFICATE outside the consent step ignored"),
        }
    }

    fn on_reader(&mut self, reader: &Reader) {
        self.card_problem = match &reader.card {
            Some(card) if !card.is_eid() => Some(CardProblem::NotAnEidCard),
            Some(card) if card.deactivated == Some(true) => Some(CardProblem::EidDeactivated),
            _ => None,
        };
        if let LoginState::InsertCard { problem } = &mut self.state {
            *problem = self.card_problem;
        }
    }

    fn on_enter_pin(&mut self, request: &EnterNumber, effects: &mut Vec<LoginEffect>) {
        if !self.is_active() {
            return;
        }
        if request.error.is_some() {
            // Our SET_PIN was malformed: a bug here, not the citizen's mistake.
            tracing::error!("AusweisApp refused the form of SET_PIN");
            self.fail_protocol(effects);
            return;
        }
        let keypad = request.keypad();
        let pin = PinRequest {
            attempts_left: request
                .retry_counter()
                .and_then(|count| u8::try_from(count).ok()),
            keypad,
            last_was_wrong: self.pin_sent,
        };
        self.pin_sent = false;
        self.can_sent = false;
        self.state = LoginState::EnterPin(pin);
        if keypad {
            // The citizen types on the reader; SET_PIN without a value starts that.
            self.send(Command::SetPin { value: None }, effects);
            self.pin_sent = true;
        }
    }

    fn on_enter_can(&mut self, request: &EnterNumber, effects: &mut Vec<LoginEffect>) {
        if !self.is_active() {
            return;
        }
        if request.error.is_some() {
            tracing::error!("AusweisApp refused the form of SET_CAN");
            self.fail_protocol(effects);
            return;
        }
        let keypad = request.keypad();
        let reason = if request.retry_counter() == Some(1) {
            CanReason::PinSuspended
        } else {
            CanReason::CanAllowed
        };
        let can = CanRequest {
            reason,
            keypad,
            last_was_wrong: self.can_sent,
        };
        self.pin_sent = false;
        self.can_sent = false;
        self.state = LoginState::EnterCan(can);
        if keypad {
            self.send(Command::SetCan { value: None }, effects);
            self.can_sent = true;
        }
    }

    fn on_rejected(&mut self, command: Option<&str>, effects: &mut Vec<LoginEffect>) {
        let Some(command) = command else {
            return;
        };
        if !self.recent.contains(&command) {
            tracing::debug!(command, "rejection of a command this login did not send");
            return;
        }
        match (&self.state, command) {
            (LoginState::Ending(outcome), "CANCEL") => {
                // The workflow had already ended: nothing left to cancel.
                let outcome = outcome.clone();
                self.finish(outcome, effects);
            }
            (LoginState::Starting { .. }, "RUN_AUTH") => {
                tracing::warn!("AusweisApp is busy with another workflow");
                self.finish(
                    Outcome::Failed {
                        failure: Failure::EidClientBusy,
                        result_url: None,
                    },
                    effects,
                );
            }
            _ if self.is_active() => {
                tracing::error!(
                    command,
                    state = self.state_name(),
                    "AusweisApp refused a command"
                );
                self.fail_protocol(effects);
            }
            _ => {}
        }
    }

    fn fail_protocol(&mut self, effects: &mut Vec<LoginEffect>) {
        if self.is_active() {
            self.begin_end(
                Outcome::Failed {
                    failure: Failure::EidClientError,
                    result_url: None,
                },
                effects,
            );
        }
    }

    fn begin_end(&mut self, outcome: Outcome, effects: &mut Vec<LoginEffect>) {
        self.send(Command::Cancel, effects);
        self.state = LoginState::Ending(outcome);
    }

    fn finish(&mut self, outcome: Outcome, effects: &mut Vec<LoginEffect>) {
        self.state = LoginState::Ended(outcome.clone());
        self.pending_rights = None;
        self.pin_sent = false;
        self.can_sent = false;
        self.card_problem = None;
        effects.push(LoginEffect::Finished(outcome));
    }

    fn send(&mut self, command: Command, effects: &mut Vec<LoginEffect>) {
        if self.recent.len() == RECENT_COMMANDS {
            self.recent.remove(0);
        }
        self.recent.push(command.name());
        effects.push(LoginEffect::Send(command));
    }

    /// The state's name (safe to log).
    pub fn state_name(&self) -> &'static str {
        match self.state {
            LoginState::Idle => "idle",
            LoginState::Starting { .. } => "starting",
            LoginState::LoadingProvider => "loading_provider",
            LoginState::Consent(_) => "consent",
            LoginState::InsertCard { .. } => "insert_card",
            LoginState::Working { .. } => "working",
            LoginState::EnterPin(_) => "enter_pin",
            LoginState::EnterCan(_) => "enter_can",
            LoginState::Ending(_) => "ending",
            LoginState::Ended(_) => "ended",
        }
    }
}

/// Maps a failed eCard-API result to an outcome.
fn classify(result: &AuthResult) -> Outcome {
    let failed = |failure| Outcome::Failed {
        failure,
        result_url: None,
    };
    // AusweisApp's own failure code (1.26.3+) is the most precise where present.
    if let Some(reason) = result.reason.as_deref() {
        if reason.contains("Card_Removed") {
            return failed(Failure::CardRemoved);
        }
        if reason.contains("User_Cancelled") {
            return Outcome::Cancelled {
                reason: CancelReason::Citizen,
                result_url: None,
            };
        }
    }
    let minor = result.minor.as_deref().unwrap_or("");
    match result.minor_code().unwrap_or("") {
        "cancellationByUser" => Outcome::Cancelled {
            reason: CancelReason::Citizen,
            result_url: None,
        },
        "noCard" => failed(Failure::CardRemoved),
        "timeoutError" | "timeout" if minor.contains("/dp#") => failed(Failure::ServiceUnreachable),
        "timeoutError" | "timeout" => failed(Failure::CardTimeout),
        "trustedChannelEstablishmentFailed" | "communicationError" | "nodeNotReachable" => {
            failed(Failure::ServiceUnreachable)
        }
        "DocumentValidityVerificationFailed" => failed(Failure::DocumentNotValid),
        "invalidCertificatePath"
        | "invalidSignature"
        | "invalidKey"
        | "unknownProtocol"
        | "unknownCipherSuite"
        | "unknownWebserviceBinding" => failed(Failure::ServiceRejected),
        _ => failed(Failure::Other),
    }
}

/// Whether `url` is an absolute https URL with a host (http too in developer mode).
fn valid_tc_token_url(url: &str, developer_mode: bool) -> bool {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if developer_mode && lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tc_token_urls_must_be_https_with_a_host() {
        assert!(valid_tc_token_url("https://eid.example/tc?x=1", false));
        assert!(valid_tc_token_url("HTTPS://eid.example", false));
        assert!(!valid_tc_token_url("http://eid.example/tc", false));
        assert!(valid_tc_token_url("http://127.0.0.1:8080/tc", true));
        assert!(!valid_tc_token_url("https:///tc", false));
        assert!(!valid_tc_token_url("https://eid example/tc", false));
        assert!(!valid_tc_token_url("ftp://eid.example", true));
        assert!(!valid_tc_token_url("", false));
    }

    #[test]
    fn message_codes_are_unique_and_namespaced() {
        let codes = message_codes();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert!(codes.iter().all(|code| code.starts_with("eid.")));
    }
}
