//! German eID login on the kiosk through AusweisApp's SDK.
//!
//! Citizens log in to the portal with their ID card (or Smart-eID) and PIN the official
//! way: AusweisApp, the BSI TR-03124 eID client, runs headless next to the kiosk and is
//! driven over its WebSocket SDK (`ws://127.0.0.1:24727/eID-Kernel`). This crate is
//! everything the kiosk needs for that:
//!
//! - [`protocol`]: every command and message of the SDK (API level 2) as serde types.
//!   Unknown fields and message types are tolerated and logged by name only.
//! - [`Secret`]: PIN, CAN and PUK, zeroised on drop, redacted in `Debug`, never logged;
//!   [`DigitBuffer`] is the on-screen PIN pad's input.
//! - [`LoginFlow`]: the login as a pure state machine (events in, effects out, no I/O),
//!   in the spirit of the kiosk's journey. Its states are plain data for the UI, with
//!   message codes the UI translates.
//! - With the default `client` feature: [`EidClient`] (tokio-tungstenite; request/reply
//!   matching, a message stream, time-outs on every wait), [`EidLink`] (performs a flow's
//!   effects on a client) and [`Supervisor`] (starts or finds AusweisApp, reconnects
//!   with back-off, reports an [`EidStatus`] for staff mode and `/metrics`).
//!
//! - With the `virtual` feature: [`virtual_app`], a virtual AusweisApp with a virtual ID
//!   card that speaks the same SDK protocol on 127.0.0.1, for tests and the demo.
//!
//! Without the `client` feature the crate does no I/O, so the journey can use the flow
//! and its types.
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn login(tc_token_url: String) {
//! use std::time::Duration;
//! use kiosk_eid::{
//!     EidLink, FlowConfig, LoginEffect, LoginEvent, LoginFlow, Supervisor, SupervisorConfig,
//! };
//!
//! let supervisor = Supervisor::start(SupervisorConfig::default());
//! let client = supervisor.client(Duration::from_secs(15)).await.expect("AusweisApp");
//! let mut link = EidLink::new(&client, kiosk_eid::DEFAULT_SILENCE_LIMIT);
//! let mut flow = LoginFlow::new(FlowConfig::default());
//! let conditions = supervisor.status().conditions(true);
//! let mut events = std::collections::VecDeque::from([LoginEvent::Start { tc_token_url, conditions }]);
//! let outcome = loop {
//!     if let Some(event) = events.pop_front() {
//!         let mut finished = None;
//!         for effect in flow.handle(event) {
//!             match effect {
//!                 LoginEffect::Finished(outcome) => finished = Some(outcome),
//!                 effect => events.extend(link.perform(effect).await),
//!             }
//!         }
//!         if let Some(outcome) = finished {
//!             break outcome;
//!         }
//!         continue;
//!     }
//!     // The kiosk also selects on the citizen's taps (Accept, Pin, Cancel) and the
//!     // journey's idle time-out here.
//!     events.extend(link.next_event(flow.awaiting(), Duration::from_secs(1)).await);
//! };
//! println!("{} {:?}", outcome.code(), outcome.result_url());
//! # }
//! ```
#![deny(missing_docs)]

pub mod flow;
pub mod protocol;
mod secret;
mod status;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod link;
#[cfg(feature = "client")]
mod supervisor;
#[cfg(feature = "virtual")]
pub mod virtual_app;

pub use flow::{
    Advice, Awaiting, CanReason, CanRequest, CancelReason, CardProblem, Conditions, Consent,
    Failure, FlowConfig, LoginEffect, LoginEvent, LoginFlow, LoginState, NotOffered, Outcome,
    PinRequest, Provider, Rights, message_codes,
};
pub use secret::{DigitBuffer, Secret, SecretError, SecretKind};
pub use status::{Connection, EidStatus, ReaderStatus, StatusProblem};

#[cfg(feature = "client")]
pub use client::{ClientConfig, ClientError, EidClient, Messages};
#[cfg(feature = "client")]
pub use link::{DEFAULT_SILENCE_LIMIT, EidLink};
#[cfg(feature = "client")]
pub use supervisor::{BINARY_NAMES, Launch, Supervisor, SupervisorConfig, find_binary};
#[cfg(feature = "virtual")]
pub use virtual_app::{VirtualAppConfig, VirtualAppError, VirtualAusweisApp, VirtualIdCard};
