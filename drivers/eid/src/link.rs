//! [`EidLink`]: performs a [`LoginFlow`](crate::LoginFlow)'s effects on an [`EidClient`]
//! and turns what AusweisApp says into [`LoginEvent`]s.
//!
//! The kiosk's wiring holds one link per login next to the journey: it hands
//! [`LoginEffect::Send`] to [`EidLink::perform`], and `select!`s
//! [`EidLink::next_event`] against the citizen's taps and the journey's clock.

use std::time::Duration;

use crate::client::{ClientError, EidClient, Messages};
use crate::flow::{Awaiting, LoginEffect, LoginEvent};

/// How long AusweisApp may be silent while the flow waits on it. Reading the card and
/// talking to the eID server takes seconds; a minute of silence means something hangs.
pub const DEFAULT_SILENCE_LIMIT: Duration = Duration::from_secs(60);

/// One login's connection to AusweisApp.
#[derive(Debug)]
pub struct EidLink {
    client: EidClient,
    messages: Messages,
    silence_limit: Duration,
}

impl EidLink {
    /// Subscribes to `client`'s messages; create it before starting the flow so no
    /// message is missed.
    pub fn new(client: &EidClient, silence_limit: Duration) -> Self {
        Self {
            client: client.clone(),
            messages: client.subscribe(),
            silence_limit,
        }
    }

    /// Performs one effect. Returns an event when performing it failed (the connection
    /// is gone), which the caller feeds back into the flow. `Finished` is for the
    /// journey, not for AusweisApp, and is ignored here.
    pub async fn perform(&mut self, effect: LoginEffect) -> Option<LoginEvent> {
        let LoginEffect::Send(command) = effect else {
            return None;
        };
        let name = command.name();
        match self.client.send(command).await {
            Ok(()) => None,
            Err(error) => {
                tracing::warn!(command = name, %error, "could not send to AusweisApp");
                Some(LoginEvent::Disconnected)
            }
        }
    }

    /// The next event from AusweisApp. While the flow waits on AusweisApp, silence
    /// longer than the limit becomes [`LoginEvent::SdkSilent`]; otherwise `None` means
    /// "nothing within `wait`" (the caller checks its other sources and calls again).
    pub async fn next_event(&mut self, awaiting: Awaiting, wait: Duration) -> Option<LoginEvent> {
        let limit = match awaiting {
            Awaiting::EidClient => self.silence_limit,
            Awaiting::Citizen | Awaiting::Nothing => wait,
        };
        match self.messages.next(limit).await {
            Ok(message) => Some(LoginEvent::Sdk(message)),
            Err(ClientError::Timeout { .. }) if awaiting == Awaiting::EidClient => {
                Some(LoginEvent::SdkSilent)
            }
            Err(ClientError::Timeout { .. }) => None,
            Err(ClientError::Missed(missed)) => {
                // The flow cannot know what it missed: treat it like a lost connection.
                tracing::error!(missed, "login missed messages from AusweisApp");
                Some(LoginEvent::Disconnected)
            }
            Err(_) => Some(LoginEvent::Disconnected),
        }
    }
}
