//! What goes into the journey (events) and what comes out (effects), plus the
//! plain data both carry.

use std::fmt;
use std::time::Duration;

use kiosk_catalogue::{FieldValue, IdentityAttribute, IdentityMethod, Language};
use kiosk_eid::protocol::{AccessRight, Command, Message};
use kiosk_eid::{Failure, Secret};
use serde::Serialize;
use time::Date;
use zeroize::{Zeroize, Zeroizing};

/// The time as the journey sees it. The journey never reads a clock itself,
/// so tests drive time explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time since the kiosk started.
    pub elapsed: Duration,
    /// Today's date, for age and date-window rules.
    pub today: Date,
}

/// How the citizen chose to identify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentifyChoice {
    /// With a card or phone.
    Method(IdentityMethod),
    /// Without identification: type everything in.
    TypeItIn,
}

/// Where a pre-filled or typed answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "source")]
pub enum Origin {
    /// Typed (or changed) by the citizen.
    Typed,
    /// Read from an identity document or token.
    Identity {
        /// Which route it came through.
        #[serde(serialize_with = "method_name")]
        method: IdentityMethod,
        /// Whether the data's signature was verified (passive authentication,
        /// eID server, or the phone token's issuer signature).
        verified: bool,
    },
}

fn method_name<S: serde::Serializer>(m: &IdentityMethod, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.name())
}

/// Identity attributes read from a document, a token or the eID server.
/// Personal data: `Debug` shows only which attributes are present.
#[derive(Clone)]
pub struct IdentityData {
    /// The route.
    pub method: IdentityMethod,
    /// Whether the data is cryptographically verified.
    pub verified: bool,
    /// The attributes, each zeroised on drop.
    pub attributes: Vec<(IdentityAttribute, Zeroizing<String>)>,
}

impl IdentityData {
    /// The value of `attribute`, if present.
    pub fn get(&self, attribute: IdentityAttribute) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(a, _)| *a == attribute)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for IdentityData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.attributes.iter().map(|(a, _)| a.name()).collect();
        f.debug_struct("IdentityData")
            .field("method", &self.method)
            .field("verified", &self.verified)
            .field("attributes", &names)
            .finish()
    }
}

/// Why identification did not work; the UI explains each in the citizen's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityFailure {
    /// The card was removed before reading finished.
    CardRemoved,
    /// The CAN or PIN was wrong.
    WrongCode,
    /// The card is not one this route can read.
    UnsupportedCard,
    /// The document has expired.
    DocumentExpired,
    /// The signature of the data could not be verified and the service requires it.
    NotVerified,
    /// The phone's token is expired, replayed or from an unknown issuer.
    InvalidToken,
    /// The reader or the eID service is not available.
    Unavailable,
    /// Nothing happened within the time the reader allows.
    Timeout,
}

/// A CAN (card access number) typed by the citizen; zeroised on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct CardAccessNumber(Zeroizing<String>);

impl CardAccessNumber {
    /// Accepts exactly six digits, as printed on German ID cards and passports.
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(Zeroizing::new(digits)))
    }

    /// The digits, for the card reader.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardAccessNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardAccessNumber(<redacted>)")
    }
}

/// An appointment a citizen's phone showed (signed by a trusted issuer), as the
/// kiosk checked it against its clock. The journey never reads a clock itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Appointment {
    /// The appointment's service: a catalogue service id, or the issuer's own text.
    pub service: String,
    /// When it starts, as the citizen reads it (local time, e.g. `10:30`).
    pub starts_at: String,
    /// Whether it is time to check in.
    pub timing: AppointmentTiming,
    /// The issuer-signed credential (base64url), forwarded so the appointment
    /// system knows which appointment arrived. Never shown.
    pub credential: String,
}

impl fmt::Debug for Appointment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Appointment")
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

/// Whether an appointment can be checked in now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "timing")]
pub enum AppointmentTiming {
    /// Within the check-in window: check in.
    Due,
    /// Too early today; check-in opens at `opens_at` (local time).
    TooEarly {
        /// When check-in opens, e.g. `10:00`.
        opens_at: String,
    },
    /// The check-in window has passed.
    Missed,
    /// The appointment is on another day (`date` as TT.MM.JJJJ).
    OtherDay {
        /// The appointment's date.
        date: String,
    },
    /// Due, but the check-in could not be saved: the citizen goes to the counter.
    NotSaved,
}

/// What happened in the world, or what the citizen did.
#[derive(Clone, Debug)]
pub enum Event {
    /// The attract screen was touched.
    Start,
    /// A phone showed an appointment (on the attract, language or service screen).
    AppointmentShown(Appointment),
    /// A language was chosen (on the language screen, or switched anywhere).
    ChooseLanguage(Language),
    /// A service tile was tapped.
    ChooseService(String),
    /// An identification route was chosen.
    ChooseIdentification(IdentifyChoice),
    /// The CAN for a passport or ID card chip was typed.
    EnterCan(String),
    /// The identification succeeded.
    IdentityRead(IdentityData),
    /// The identification failed.
    IdentityFailed(IdentityFailure),
    /// A top-level field was answered or changed.
    SetAnswer {
        /// Field id.
        field: String,
        /// The new value (personal).
        value: FieldValue,
    },
    /// A field inside a group item was answered or changed.
    SetGroupAnswer {
        /// Group field id.
        group: String,
        /// Item index from 0.
        index: usize,
        /// Field id inside the group.
        field: String,
        /// The new value (personal).
        value: FieldValue,
    },
    /// A new empty item was added to a group.
    AddGroupItem {
        /// Group field id.
        group: String,
    },
    /// A group item was removed.
    RemoveGroupItem {
        /// Group field id.
        group: String,
        /// Item index from 0.
        index: usize,
    },
    /// "Weiter".
    Next,
    /// "Zurück".
    Back,
    /// "Abbrechen": wipe and return to the start.
    Cancel,
    /// "Ändern" on the review screen, for a form page (index into the service's pages).
    EditPage(usize),
    /// A consent box was ticked or unticked.
    SetConsent {
        /// Consent id.
        id: String,
        /// Ticked.
        given: bool,
    },
    /// The outbox committed the submission.
    Submitted {
        /// The receipt reference.
        reference: String,
        /// Whether the kiosk is offline, so the submission waits in the queue.
        queued_offline: bool,
    },
    /// The outbox could not save the submission.
    SubmissionFailed,
    /// The receipt was printed.
    ReceiptPrinted,
    /// The receipt could not be printed; the UI shows it as a QR code instead.
    ReceiptNotPrinted,
    /// "Fertig" on the receipt screen.
    Finish,
    /// "Personal rufen".
    CallStaff,
    /// Staff answered the call (or the citizen withdrew it).
    StaffCallEnded,
    /// "Mehr Zeit" on the idle warning.
    MoreTime,
    /// Any touch that is not one of the events above (scrolling, typing).
    Activity,
    /// Time passed.
    Tick,
    /// Whether the kiosk is online and a card reader is present.
    Capabilities(Capabilities),
    /// The portal opened an eID login session: AusweisApp can start with this URL.
    EidSessionReady {
        /// The portal's tcTokenURL.
        tc_token_url: String,
    },
    /// The portal could not open or complete the eID login session.
    EidSessionFailed(Failure),
    /// A message from AusweisApp.
    EidMessage(Message),
    /// "Zustimmen" on the eID consent screen.
    EidAccept,
    /// The citizen switched optional eID rights: the optional rights to keep.
    EidOptionalRights(Vec<AccessRight>),
    /// The eID PIN from the on-screen PIN pad (zeroised, redacted).
    EidPin(Secret),
    /// The CAN for the eID login from the on-screen pad (zeroised, redacted).
    EidCan(Secret),
    /// AusweisApp said nothing for too long while the login waited on it.
    EidClientSilent,
    /// The connection to AusweisApp was lost.
    EidClientLost,
}

impl Event {
    /// Whether the event is the citizen doing something (which resets the idle timer).
    pub fn is_citizen_activity(&self) -> bool {
        !matches!(
            self,
            Event::Tick
                | Event::Capabilities(_)
                | Event::Submitted { .. }
                | Event::SubmissionFailed
                | Event::ReceiptPrinted
                | Event::ReceiptNotPrinted
                | Event::IdentityFailed(_)
                | Event::StaffCallEnded
                | Event::EidSessionReady { .. }
                | Event::EidSessionFailed(_)
                | Event::EidMessage(_)
                | Event::EidClientSilent
                | Event::EidClientLost
        )
    }
}

/// What the kiosk can do right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Reachable portal (eID login is online-only).
    pub online: bool,
    /// A card reader is present.
    pub card_reader: bool,
    /// AusweisApp runs, is connected and sees a card reader (eID login).
    pub eid_client: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            online: false,
            card_reader: true,
            eid_client: false,
        }
    }
}

/// What the journey asks the kiosk to do.
#[derive(Debug)]
pub enum Effect {
    /// Start reading with a route (for a passport, with the CAN).
    StartIdentification {
        /// Route.
        method: IdentityMethod,
        /// The CAN for passports and ID card chips.
        can: Option<CardAccessNumber>,
    },
    /// Stop any identification in progress.
    StopIdentification,
    /// Commit this submission to the outbox, then send `Submitted` or `SubmissionFailed`.
    Submit(SubmissionDraft),
    /// Print this receipt, then send `ReceiptPrinted` or `ReceiptNotPrinted`.
    PrintReceipt(ReceiptContent),
    /// Alert staff that a citizen needs help.
    CallStaff,
    /// Ask the portal for an eID login session for this service, then send
    /// `EidSessionReady` or `EidSessionFailed`.
    StartEidSession {
        /// Service id.
        service_id: String,
        /// The attributes the service's form can pre-fill.
        attributes: Vec<IdentityAttribute>,
    },
    /// Send this command to AusweisApp (a `SET_PIN`'s PIN is zeroised on drop).
    EidCommand(Command),
    /// The eID login succeeded: hand the result URL to the portal, then send
    /// `IdentityRead` with the verified attributes, or `EidSessionFailed`.
    CompleteEidLogin {
        /// The result URL from AusweisApp's `AUTH` message.
        result_url: String,
    },
    /// A citizen started using the kiosk (left the attract screen).
    SessionStarted,
    /// The session ended; every personal value has been wiped.
    SessionEnded(SessionOutcome),
}

/// How a session ended, for metrics (journeys completed/abandoned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOutcome {
    /// Submitted and finished.
    Completed,
    /// The citizen cancelled.
    Cancelled,
    /// The idle time-out wiped it.
    TimedOut,
}

/// A finished application, ready for the outbox. The payload is personal
/// data (JSON), zeroised on drop; the rest is not personal.
pub struct SubmissionDraft {
    /// Service id.
    pub service_id: String,
    /// Service (form) version.
    pub service_version: u32,
    /// JSON: language, identity route, answers with their origin, consents.
    pub payload: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SubmissionDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmissionDraft")
            .field("service_id", &self.service_id)
            .field("service_version", &self.service_version)
            .field(
                "payload",
                &format_args!("<{} redacted bytes>", self.payload.len()),
            )
            .finish()
    }
}

/// What the receipt shows: no personal data, only what the catalogue marks
/// as fit for a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptContent {
    /// Language of the texts.
    pub language: Language,
    /// Service title.
    pub service_title: String,
    /// Receipt reference.
    pub reference: String,
    /// `(label, value)` lines of fields marked `receipt = true`.
    pub lines: Vec<(String, String)>,
    /// What happens next.
    pub next_steps: String,
    /// The kiosk was offline: the application is queued and will be sent later.
    pub queued_offline: bool,
    /// This receipt confirms a check-in for the appointment starting at this
    /// (local) time, not an application.
    pub appointment_at: Option<String>,
}

/// Wipes a value in place; used for answers the citizen overwrote.
pub(crate) fn wipe(value: &mut FieldValue) {
    value.zeroize();
}
