//! The citizen journey: an explicit state machine with no I/O.
//!
//! Attract → Language → Service → Identify → form pages → Review → Consent →
//! Submitting → Receipt → Goodbye, with Back and Cancel, a "call staff"
//! request and an idle time-out that warns before it wipes. Identification
//! reads a passport chip or a phone credential, or logs in with the online ID
//! function (the eID [`kiosk_eid::LoginFlow`] runs inside the identify step).
//! A phone showing an appointment on the first screens checks the citizen in
//! (saved and receipted like an application).
//!
//! Events ([`Event`]: a tap, a card read, a tick of time) go in through
//! [`Journey::handle`]; the journey moves to its next [`Step`] and returns the
//! [`Effect`]s the kiosk must perform (start a card read, commit a submission,
//! print a receipt). It never reads a clock, a card or a file itself, so every
//! transition is tested without hardware.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use kiosk_catalogue::{Catalogue, Language};
//! use kiosk_journey::{Event, Journey, JourneyConfig, Now, Step};
//!
//! let catalogue = Arc::new(Catalogue::embedded_default());
//! let now = Now { elapsed: Duration::ZERO, today: time::macros::date!(2026 - 11 - 24) };
//! let mut journey = Journey::new(catalogue, JourneyConfig::default(), now);
//! journey.handle(Event::Start, now);
//! journey.handle(Event::ChooseLanguage(Language::new("uk").unwrap()), now);
//! assert_eq!(journey.step(), &Step::Service);
//! ```
//!
//! Personal data lives only in the session of a [`Journey`]: answers are
//! [`zeroize::Zeroizing`] [`kiosk_catalogue::FieldValue`]s whose `Debug` is
//! redacted, the session is dropped (and so zeroised) on every wipe, and it
//! leaves the journey only as the [`SubmissionDraft`] payload for the outbox.

#![deny(missing_docs)]

mod io;
mod machine;
mod output;
pub mod samples;

pub use io::{
    Appointment, AppointmentTiming, Capabilities, CardAccessNumber, Effect, Event, IdentifyChoice,
    IdentityData, IdentityFailure, Now, Origin, ReceiptContent, SessionOutcome, SubmissionDraft,
};
/// The eID login's types the journey's states and events carry (pure: no I/O).
pub use kiosk_eid as eid;
pub use machine::{
    Answer, AppointmentNotDue, EidPhase, IdentifyStep, Journey, JourneyConfig, PrintState,
    ReceiptStep, Step,
};
pub use output::{CHECK_IN_SERVICE_ID, display_value};
