//! eID login on the kiosk: the supervised AusweisApp, the portal's eID session
//! API, and a pump that forwards AusweisApp's messages to the journey.
//!
//! The journey runs the login flow ([`kiosk_journey::EidPhase`]); this module
//! performs its effects: `StartEidSession` asks AusweisApp to be idle and the
//! portal for a tcTokenURL, `EidCommand` goes to AusweisApp, and
//! `CompleteEidLogin` hands the result URL to the portal, which answers with
//! the verified attributes. AusweisApp's messages arrive on their own, so they
//! come out of a channel ([`EidService::new`]'s receiver) that the window's
//! effect task and the headless kiosk both drain into the journey.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kiosk_catalogue::{IdentityAttribute, IdentityMethod};
use kiosk_eid::protocol::{Command, Message};
use kiosk_eid::{ClientError, EidClient, EidStatus, Failure, Supervisor};
use kiosk_journey::{Event, IdentityData};
use offline_cache::eid_login::{EidLoginClient, EidLoginError, EidSession};
use tokio::sync::mpsc;
use tokio::time::Instant;
use zeroize::Zeroizing;

/// How long AusweisApp may stay silent while the login waits on it: reading the
/// card and talking to the eID server take seconds, a minute means it hangs.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);

/// How long to wait for AusweisApp's connection when a citizen chooses eID.
const CLIENT_WAIT: Duration = Duration::from_secs(5);

/// The kiosk's eID side. One login at a time, as AusweisApp serves one.
pub struct EidService {
    supervisor: Supervisor,
    portal: EidLoginClient,
    kiosk_id: String,
    events: mpsc::UnboundedSender<(u64, Event)>,
    /// The number of the current login; events of earlier ones are dropped.
    generation: Arc<AtomicU64>,
    session: Option<EidSession>,
    login: Option<ActiveLogin>,
    silence_limit: Duration,
    /// Set while a login may use the card (from the start until AusweisApp's
    /// final answer), so the kiosk's card watcher leaves the card alone.
    card_in_use: Arc<std::sync::atomic::AtomicBool>,
}

/// The connection a running login uses, and the task forwarding its messages.
struct ActiveLogin {
    client: EidClient,
    pump: tokio::task::JoinHandle<()>,
    /// Re-armed on every command sent: from then on AusweisApp must answer in time.
    armed: tokio::sync::watch::Sender<Option<Instant>>,
}

impl Drop for ActiveLogin {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

impl EidService {
    /// The service, and the receiver of the events AusweisApp's messages become.
    pub fn new(
        supervisor: Supervisor,
        portal: EidLoginClient,
        kiosk_id: String,
    ) -> (Self, EidEvents) {
        let (events, receiver) = mpsc::unbounded_channel();
        let generation = Arc::new(AtomicU64::new(0));
        (
            Self {
                supervisor,
                portal,
                kiosk_id,
                events,
                generation: generation.clone(),
                session: None,
                login: None,
                silence_limit: SILENCE_LIMIT,
                card_in_use: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            },
            EidEvents {
                receiver,
                current: generation,
            },
        )
    }

    /// Shares the flag that tells the card watcher the card is in use.
    pub fn with_card_in_use(mut self, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.card_in_use = flag;
        self
    }

    /// Shortens the silence limit (tests of a hanging AusweisApp).
    pub fn with_silence_limit(mut self, limit: Duration) -> Self {
        self.silence_limit = limit;
        self
    }

    /// AusweisApp's state for staff mode and `/metrics`.
    pub fn status(&self) -> EidStatus {
        self.supervisor.status()
    }

    /// A copy of the supervisor's status feed.
    pub fn watch_status(&self) -> tokio::sync::watch::Receiver<EidStatus> {
        self.supervisor.watch_status()
    }

    /// Gets AusweisApp ready and asks the portal for a login session.
    pub async fn start_session(
        &mut self,
        service_id: &str,
        attributes: &[IdentityAttribute],
    ) -> Event {
        self.login = None;
        self.session = None;
        // What the previous login's pump already queued (e.g. AusweisApp's answer
        // to its CANCEL) must not reach this one.
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.card_in_use.store(true, Ordering::Release);
        let Some(client) = self.supervisor.client(CLIENT_WAIT).await else {
            self.card_in_use.store(false, Ordering::Release);
            tracing::warn!("eID login chosen but AusweisApp is not connected");
            return Event::EidSessionFailed(Failure::EidClientNotResponding);
        };
        // A workflow left over from an earlier citizen is cancelled first.
        if let Err(error) = client.ensure_idle(CLIENT_WAIT).await {
            self.card_in_use.store(false, Ordering::Release);
            tracing::warn!(%error, "AusweisApp is not idle");
            return Event::EidSessionFailed(match error {
                ClientError::Disconnected => Failure::EidClientLost,
                _ => Failure::EidClientBusy,
            });
        }
        let session = match self
            .portal
            .start(service_id, &self.kiosk_id, attributes)
            .await
        {
            Ok(session) => session,
            Err(error) => {
                self.card_in_use.store(false, Ordering::Release);
                tracing::warn!(%error, "the portal did not open an eID session");
                return Event::EidSessionFailed(portal_failure(&error));
            }
        };
        // Subscribe before RUN_AUTH is sent, so no message is missed.
        let (armed, armed_rx) = tokio::sync::watch::channel(None);
        let pump = tokio::spawn(pump(
            client.subscribe(),
            Tagged {
                events: self.events.clone(),
                generation,
                card_in_use: self.card_in_use.clone(),
            },
            armed_rx,
            self.silence_limit,
        ));
        let tc_token_url = session.tc_token_url.clone();
        self.session = Some(session);
        self.login = Some(ActiveLogin {
            client,
            pump,
            armed,
        });
        Event::EidSessionReady { tc_token_url }
    }

    /// Sends a command of the running login to AusweisApp.
    pub async fn command(&mut self, command: Command) -> Option<Event> {
        let Some(login) = &self.login else {
            // The login was abandoned (a new one started, or it completed): a late
            // CANCEL has nothing left to cancel.
            tracing::debug!(command = command.name(), "no eID login runs; not sent");
            return None;
        };
        let name = command.name();
        login.armed.send_replace(Some(Instant::now()));
        match login.client.send(command).await {
            Ok(()) => None,
            Err(error) => {
                tracing::warn!(command = name, %error, "could not send to AusweisApp");
                Some(Event::EidClientLost)
            }
        }
    }

    /// Hands AusweisApp's result URL to the portal and returns the verified identity.
    pub async fn complete(&mut self, result_url: &str) -> Event {
        self.login = None;
        self.card_in_use.store(false, Ordering::Release);
        let Some(session) = self.session.take() else {
            tracing::warn!("an eID login completed without a portal session");
            return Event::EidSessionFailed(Failure::Other);
        };
        match self.portal.complete(&session, result_url).await {
            Ok(attributes) => {
                let mut data = IdentityData {
                    method: IdentityMethod::Eid,
                    // The eID server read the chip with the provider's certificate.
                    verified: true,
                    attributes: Vec::new(),
                };
                for (attribute, value) in attributes.iter() {
                    data.attributes
                        .push((attribute, Zeroizing::new(value.trim().to_owned())));
                }
                tracing::info!(
                    attributes = data.attributes.len(),
                    "eID login completed at the portal"
                );
                Event::IdentityRead(data)
            }
            Err(error) => {
                tracing::warn!(%error, "the portal did not complete the eID login");
                Event::EidSessionFailed(portal_failure(&error))
            }
        }
    }
}

/// What the citizen is told when the portal's side of the login fails.
fn portal_failure(error: &EidLoginError) -> Failure {
    match error {
        EidLoginError::Offline { .. } => Failure::ServiceUnreachable,
        // The portal refusing the kiosk is a configuration problem: staff.
        EidLoginError::Rejected { .. } => Failure::InvalidServiceAddress,
        EidLoginError::LoginFailed => Failure::ServiceRejected,
        // The login took longer than the portal keeps its session.
        EidLoginError::SessionExpired => Failure::CardTimeout,
        _ => Failure::Other,
    }
}

/// Messages that hand the turn to the citizen (or end the workflow): after
/// them, AusweisApp's silence is expected.
fn hands_over(message: &Message) -> bool {
    match message {
        Message::Certificate(_)
        | Message::InsertCard(_)
        | Message::EnterPin(_)
        | Message::EnterCan(_)
        | Message::EnterPuk(_)
        | Message::EnterNewPin(_) => true,
        Message::Auth(auth) => auth.is_final(),
        _ => false,
    }
}

/// AusweisApp's messages as journey events, for the current login only.
#[derive(Debug)]
pub struct EidEvents {
    receiver: mpsc::UnboundedReceiver<(u64, Event)>,
    current: Arc<AtomicU64>,
}

impl EidEvents {
    /// The next event of the current login; `None` when the service is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            let (generation, event) = self.receiver.recv().await?;
            if generation == self.current.load(Ordering::Acquire) {
                return Some(event);
            }
            tracing::debug!("a message of an earlier eID login dropped");
        }
    }
}

/// The pump's sender, tagging each event with its login's number.
struct Tagged {
    events: mpsc::UnboundedSender<(u64, Event)>,
    generation: u64,
    card_in_use: Arc<std::sync::atomic::AtomicBool>,
}

impl Tagged {
    fn send(&self, event: Event) -> Result<(), ()> {
        self.events.send((self.generation, event)).map_err(|_| ())
    }
}

/// Forwards AusweisApp's messages as journey events until the connection ends
/// or the kiosk stops listening. After a command is sent AusweisApp has the
/// turn: silence longer than `limit` then becomes [`Event::EidClientSilent`].
async fn pump(
    mut messages: kiosk_eid::Messages,
    events: Tagged,
    mut sent: tokio::sync::watch::Receiver<Option<Instant>>,
    limit: Duration,
) {
    const IDLE_POLL: Duration = Duration::from_secs(1);
    // When AusweisApp must have answered by; `None` while the citizen has the turn.
    let mut deadline: Option<Instant> = None;
    loop {
        let wait = deadline.map_or(IDLE_POLL, |d| d.saturating_duration_since(Instant::now()));
        let event = tokio::select! {
            // A command sent before an answer arrived must arm the deadline first.
            biased;
            changed = sent.changed() => {
                if changed.is_err() {
                    return;
                }
                deadline = (*sent.borrow_and_update()).map(|at| at + limit);
                continue;
            }
            next = messages.next(wait) => match next {
                Ok(message) => {
                    if matches!(&message, Message::Auth(auth) if auth.is_final()) {
                        // The workflow is over: the card is free again.
                        events.card_in_use.store(false, Ordering::Release);
                    }
                    if hands_over(&message) {
                        deadline = None;
                    } else if deadline.is_some() {
                        // Progress: AusweisApp is working, give it the full limit again.
                        deadline = Some(Instant::now() + limit);
                    }
                    Event::EidMessage(message)
                }
                Err(ClientError::Timeout { .. }) => match deadline {
                    Some(at) if Instant::now() >= at => {
                        tracing::warn!(?limit, "AusweisApp went silent during a login");
                        deadline = None;
                        Event::EidClientSilent
                    }
                    _ => continue,
                },
                Err(error) => {
                    tracing::warn!(%error, "lost AusweisApp during a login");
                    events.card_in_use.store(false, Ordering::Release);
                    let _ = events.send(Event::EidClientLost);
                    return;
                }
            },
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// Keeps `/metrics` and `/healthz` up to date with AusweisApp's state: whether
/// it is connected, its version, its readers and how often it was restarted.
pub async fn report_status(
    mut status: tokio::sync::watch::Receiver<EidStatus>,
    ops: crate::ops::Operations,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let current = status.borrow_and_update().clone();
        ops.metrics.set_eid_client(kiosk_ops::EidClientState {
            connected: current.is_connected(),
            version: current.version.clone(),
            readers: current.readers.len() as u64,
            card_readers: current.card_readers() as u64,
            restarts: u64::from(current.restarts),
        });
        tokio::select! {
            changed = status.changed() => if changed.is_err() { return },
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}
