//! PC/SC readers: listing, connecting, and a hot-plug event stream that survives pcscd
//! restarts.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};
use tokio::sync::mpsc;

use crate::card::{Card, CardReader};
use crate::error::{Error, ErrorKind, Result};

/// Something that happened on the readers, in the order it happened.
#[derive(Clone, PartialEq, Eq)]
pub enum ReaderEvent {
    /// A reader appeared (also sent for every reader present when watching starts).
    ReaderAdded {
        /// The reader's PC/SC name.
        reader: String,
    },
    /// A reader disappeared (unplugged, or pcscd went away).
    ReaderRemoved {
        /// The reader's PC/SC name.
        reader: String,
    },
    /// A card was put on a reader (also sent for cards present when watching starts).
    CardInserted {
        /// The reader's PC/SC name.
        reader: String,
        /// The card's ATR as the reader reports it.
        atr: Vec<u8>,
    },
    /// The card left the reader.
    CardRemoved {
        /// The reader's PC/SC name.
        reader: String,
    },
    /// pcscd stopped answering; the watcher keeps trying to reconnect.
    ServiceLost,
    /// pcscd answers again after [`ReaderEvent::ServiceLost`].
    ServiceRestored,
}

impl fmt::Debug for ReaderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReaderAdded { reader } => write!(f, "ReaderAdded({reader})"),
            Self::ReaderRemoved { reader } => write!(f, "ReaderRemoved({reader})"),
            Self::CardInserted { reader, atr } => {
                write!(f, "CardInserted({reader}, ATR {})", hex(atr))
            }
            Self::CardRemoved { reader } => write!(f, "CardRemoved({reader})"),
            Self::ServiceLost => f.write_str("ServiceLost"),
            Self::ServiceRestored => f.write_str("ServiceRestored"),
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// How the watcher waits for changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// Longest single wait in `SCardGetStatusChange`. With hot-plug notification this only
    /// bounds how fast a stop request or a dead pcscd is noticed; without it, it is the
    /// polling period for new readers.
    pub wait: Duration,
    /// Delay between attempts to reach pcscd after it went away.
    pub reconnect_delay: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            wait: Duration::from_millis(500),
            reconnect_delay: Duration::from_millis(250),
        }
    }
}

/// Access to the PC/SC readers of this machine.
///
/// Keeps one PC/SC context and re-establishes it when pcscd was restarted.
pub struct ReaderManager {
    context: Mutex<Option<Context>>,
}

impl fmt::Debug for ReaderManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderManager").finish_non_exhaustive()
    }
}

impl ReaderManager {
    /// Connects to pcscd.
    ///
    /// Fails with [`ErrorKind::ServiceUnavailable`] when pcscd is not running.
    pub fn new() -> Result<Self> {
        let context = establish()?;
        Ok(Self {
            context: Mutex::new(Some(context)),
        })
    }

    /// Runs `operation` with a valid context, re-establishing it once if pcscd restarted.
    fn with_context<T>(&self, operation: impl Fn(&Context) -> Result<T>) -> Result<T> {
        let mut slot = self
            .context
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let context = match slot.take() {
            Some(context) => context,
            None => establish()?,
        };
        match operation(&context) {
            Err(error) if error.kind() == ErrorKind::ServiceUnavailable => {
                tracing::info!("pcscd context lost, establishing a new one");
                let fresh = establish()?;
                let result = operation(&fresh);
                *slot = Some(fresh);
                result
            }
            result => {
                *slot = Some(context);
                result
            }
        }
    }

    /// The names of the connected readers (empty when there are none).
    pub fn readers(&self) -> Result<Vec<String>> {
        self.with_context(list_readers)
    }

    /// Connects to the card on `reader` (shared mode, T=0 or T=1).
    pub fn connect(&self, reader: &str) -> Result<PcscCard> {
        let name = reader_name(reader)?;
        self.with_context(|context| {
            let card = context.connect(&name, ShareMode::Shared, Protocols::ANY)?;
            PcscCard::new(card, reader.to_owned())
        })
    }

    /// A handle for one reader, implementing [`CardReader`].
    pub fn reader(self: &Arc<Self>, name: &str) -> PcscReader {
        PcscReader {
            manager: Arc::clone(self),
            name: name.to_owned(),
        }
    }

    /// Starts watching readers and cards on a background thread.
    ///
    /// The first events describe the current state (readers, then cards on them).
    pub fn watch(config: WatchConfig) -> ReaderWatcher {
        ReaderWatcher::start(config)
    }
}

/// One PC/SC reader, handing out [`PcscCard`]s.
#[derive(Debug, Clone)]
pub struct PcscReader {
    manager: Arc<ReaderManager>,
    name: String,
}

impl CardReader for PcscReader {
    type Card = PcscCard;

    fn name(&self) -> &str {
        &self.name
    }

    fn connect(&self) -> Result<PcscCard> {
        self.manager.connect(&self.name)
    }
}

/// How long one APDU may take before the card counts as mute.
///
/// Real readers time out by themselves (the card's frame waiting time); vpcd and some
/// drivers block forever, so the card layer enforces its own limit.
pub const DEFAULT_APDU_TIMEOUT: Duration = Duration::from_secs(5);

/// One APDU for the card's worker thread, with the channel for its answer.
type Exchange = (Vec<u8>, std::sync::mpsc::Sender<Result<Vec<u8>>>);

/// A card connected through pcscd.
///
/// APDUs run on a worker thread that owns the PC/SC handle, so a card that never answers
/// gives [`ErrorKind::Timeout`] instead of blocking the caller forever. After a timeout the
/// card is unusable (further APDUs fail at once); the worker ends when pcscd gives up.
pub struct PcscCard {
    reader: String,
    atr: Vec<u8>,
    requests: Option<std::sync::mpsc::Sender<Exchange>>,
    timeout: Duration,
}

impl fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("atr", &hex(&self.atr))
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    fn new(card: pcsc::Card, reader: String) -> Result<Self> {
        // The ATR comes from SCardStatus: vpcd and some contactless readers do not
        // support SCardGetAttrib.
        let status = card.status2_owned()?;
        let atr = status.atr().to_vec();
        let (requests, inbox) = std::sync::mpsc::channel::<Exchange>();
        std::thread::Builder::new()
            .name("pcsc-card".into())
            .spawn(move || {
                let mut buffer = vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED];
                for (command, reply) in inbox {
                    let result = card
                        .transmit(&command, &mut buffer)
                        .map(<[u8]>::to_vec)
                        .map_err(Error::from);
                    if reply.send(result).is_err() {
                        // The caller timed out and gave the card up.
                        break;
                    }
                }
                // Leave the card as it is: dropping a `pcsc::Card` resets it,
                // and a reset that overlaps the next connection (the kiosk's
                // staff-card check, the diagnostics tool) makes pcscd refuse
                // that connection's commands with a protocol mismatch.
                if let Err((_, error)) = card.disconnect(pcsc::Disposition::LeaveCard) {
                    tracing::debug!(%error, "disconnecting from the card failed");
                }
            })
            .map_err(|error| {
                Error::new(
                    ErrorKind::Other,
                    format!("cannot start card thread: {error}"),
                )
            })?;
        Ok(Self {
            reader,
            atr,
            requests: Some(requests),
            timeout: DEFAULT_APDU_TIMEOUT,
        })
    }

    /// The reader this card sits on.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Sets how long one APDU may take (default [`DEFAULT_APDU_TIMEOUT`]).
    pub fn set_apdu_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }
}

impl Card for PcscCard {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        let gone = || Error::new(ErrorKind::CardRemoved, "the card stopped answering earlier");
        let requests = self.requests.as_ref().ok_or_else(gone)?;
        let (reply, answer) = std::sync::mpsc::channel();
        requests
            .send((command.to_vec(), reply))
            .map_err(|_| gone())?;
        match answer.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                self.requests = None;
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the card did not answer within {:?}; take it off the reader and \
                         put it back",
                        self.timeout
                    ),
                ))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }
}

fn establish() -> Result<Context> {
    Context::establish(Scope::User).map_err(|error| {
        Error::new(
            ErrorKind::ServiceUnavailable,
            format!("cannot reach pcscd ({error}); start it with `systemctl start pcscd`"),
        )
    })
}

fn reader_name(reader: &str) -> Result<CString> {
    CString::new(reader)
        .map_err(|_| Error::new(ErrorKind::NoReader, "reader names cannot contain NUL bytes"))
}

fn list_readers(context: &Context) -> Result<Vec<String>> {
    match context.list_readers_owned() {
        Ok(names) => Ok(names
            .into_iter()
            .map(|name| name.to_string_lossy().into_owned())
            .collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(error) => Err(error.into()),
    }
}

/// A stream of [`ReaderEvent`]s fed by a background thread; stop it with
/// [`ReaderWatcher::stop`] or by dropping it.
pub struct ReaderWatcher {
    events: mpsc::UnboundedReceiver<ReaderEvent>,
    shared: Arc<WatchShared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for ReaderWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderWatcher").finish_non_exhaustive()
    }
}

struct WatchShared {
    stop: AtomicBool,
    /// The context the thread blocks in, so `stop` can cancel the wait.
    context: Mutex<Option<Context>>,
}

impl ReaderWatcher {
    fn start(config: WatchConfig) -> Self {
        let (sender, events) = mpsc::unbounded_channel();
        let shared = Arc::new(WatchShared {
            stop: AtomicBool::new(false),
            context: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("pcsc-watch".into())
            .spawn(move || watch_loop(config, &thread_shared, &sender))
            .ok();
        Self {
            events,
            shared,
            thread,
        }
    }

    /// A watcher fed by another event source (in-process virtual readers for the demo and
    /// tests), so the app handles one stream type whatever the readers are.
    pub fn from_events(events: mpsc::UnboundedReceiver<ReaderEvent>) -> Self {
        Self {
            events,
            shared: Arc::new(WatchShared {
                stop: AtomicBool::new(false),
                context: Mutex::new(None),
            }),
            thread: None,
        }
    }

    /// The next event; `None` once the watcher stopped.
    pub async fn next(&mut self) -> Option<ReaderEvent> {
        self.events.recv().await
    }

    /// The next event if one is already waiting.
    pub fn try_next(&mut self) -> Option<ReaderEvent> {
        self.events.try_recv().ok()
    }

    /// Stops the background thread (cancelling its blocking wait) and waits for it; no new
    /// events are produced afterwards (already queued ones can still be received).
    pub fn stop(&mut self) {
        self.events.close();
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(context) = self
            .shared
            .context
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .as_ref()
        {
            // Errors only mean there is no wait in progress.
            let _ = context.cancel();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The watcher is also a [`futures_core::Stream`] of events, for `select!`/combinators.
impl futures_core::Stream for ReaderWatcher {
    type Item = ReaderEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ReaderEvent>> {
        self.events.poll_recv(context)
    }
}

impl Drop for ReaderWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the watcher knows about one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    card_present: bool,
    event_count: u32,
}

fn watch_loop(
    config: WatchConfig,
    shared: &WatchShared,
    sender: &mpsc::UnboundedSender<ReaderEvent>,
) {
    let mut service_lost = false;
    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let context = match Context::establish(Scope::User) {
            Ok(context) => context,
            Err(_) => {
                if !service_lost {
                    service_lost = true;
                    tracing::warn!("pcscd is not reachable, retrying");
                    let _ = sender.send(ReaderEvent::ServiceLost);
                }
                std::thread::sleep(config.reconnect_delay);
                continue;
            }
        };
        if service_lost {
            service_lost = false;
            tracing::info!("pcscd reachable again");
            let _ = sender.send(ReaderEvent::ServiceRestored);
        }
        *shared
            .context
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(context.clone());
        // A stop request may have come before the context was published.
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let outcome = watch_with_context(&context, config, shared, sender, &mut known);
        *shared
            .context
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
        if outcome.is_err() && !shared.stop.load(Ordering::SeqCst) {
            // pcscd went away: everything we knew is gone with it.
            for (reader, entry) in std::mem::take(&mut known) {
                if entry.card_present {
                    let _ = sender.send(ReaderEvent::CardRemoved {
                        reader: reader.clone(),
                    });
                }
                let _ = sender.send(ReaderEvent::ReaderRemoved { reader });
            }
            service_lost = true;
            tracing::warn!("lost pcscd, reconnecting");
            let _ = sender.send(ReaderEvent::ServiceLost);
            std::thread::sleep(config.reconnect_delay);
        }
    }
}

/// Watches until stopped (`Ok`) or until pcscd fails (`Err`).
fn watch_with_context(
    context: &Context,
    config: WatchConfig,
    shared: &WatchShared,
    sender: &mpsc::UnboundedSender<ReaderEvent>,
    known: &mut BTreeMap<String, Known>,
) -> Result<()> {
    let pnp_name: &CStr = pcsc::PNP_NOTIFICATION();
    // Index 0 is the hot-plug pseudo reader while it is supported; the others are readers.
    // The states are kept between waits so pcscd sees our last known state and event count.
    let mut states = vec![ReaderState::new(pnp_name, State::UNAWARE)];
    let mut pnp_supported = true;
    sync_readers(context, sender, known, &mut states, pnp_supported)?;
    while !shared.stop.load(Ordering::SeqCst) {
        match context.get_status_change(Some(config.wait), &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => {
                // Without hot-plug notification, polling the reader list is the fallback.
                if !pnp_supported {
                    sync_readers(context, sender, known, &mut states, pnp_supported)?;
                }
                continue;
            }
            Err(pcsc::Error::Cancelled) => continue,
            Err(pcsc::Error::UnknownReader) => {
                sync_readers(context, sender, known, &mut states, pnp_supported)?;
                continue;
            }
            Err(error) => return Err(error.into()),
        }
        let mut relist = false;
        if pnp_supported {
            let pnp = &mut states[0];
            if pnp.event_state().contains(State::UNKNOWN) {
                pnp_supported = false;
                states.remove(0);
                tracing::info!("no hot-plug notification, polling for readers");
            } else {
                relist |= pnp.event_state().contains(State::CHANGED);
                pnp.sync_current_state();
            }
        }
        relist |= apply_states(&mut states, pnp_supported, sender, known);
        if relist {
            sync_readers(context, sender, known, &mut states, pnp_supported)?;
        }
    }
    Ok(())
}

/// Turns changed reader states into events; returns whether a reader went away.
fn apply_states(
    states: &mut [ReaderState],
    pnp_supported: bool,
    sender: &mpsc::UnboundedSender<ReaderEvent>,
    known: &mut BTreeMap<String, Known>,
) -> bool {
    let mut reader_gone = false;
    let first_reader = usize::from(pnp_supported);
    for state in states.iter_mut().skip(first_reader) {
        let event = state.event_state();
        if event.intersects(State::UNKNOWN | State::UNAVAILABLE) {
            reader_gone = true;
            continue;
        }
        let name = state.name().to_string_lossy().into_owned();
        if let Some(entry) = known.get_mut(&name) {
            apply_card_state(&name, entry, state, sender);
        }
        state.sync_current_state();
    }
    reader_gone
}

fn apply_card_state(
    name: &str,
    entry: &mut Known,
    state: &ReaderState,
    sender: &mpsc::UnboundedSender<ReaderEvent>,
) {
    let event = state.event_state();
    let present = event.contains(State::PRESENT) && !event.contains(State::MUTE);
    // Two or more insert/remove events while still present means the card was swapped
    // between two waits: report the removal so the app drops the old card's session.
    let swapped = present && entry.card_present && state.event_count() >= entry.event_count + 2;
    if entry.card_present && (!present || swapped) {
        let _ = sender.send(ReaderEvent::CardRemoved {
            reader: name.to_owned(),
        });
    }
    if present && (!entry.card_present || swapped) {
        let _ = sender.send(ReaderEvent::CardInserted {
            reader: name.to_owned(),
            atr: state.atr().to_vec(),
        });
    }
    entry.card_present = present;
    entry.event_count = state.event_count();
}

/// Brings `known` and `states` in line with pcscd's reader list, sending added/removed
/// events, and reports cards already present on new readers.
fn sync_readers(
    context: &Context,
    sender: &mpsc::UnboundedSender<ReaderEvent>,
    known: &mut BTreeMap<String, Known>,
    states: &mut Vec<ReaderState>,
    pnp_supported: bool,
) -> Result<()> {
    let current = list_readers(context)?;
    let gone: Vec<String> = known
        .keys()
        .filter(|name| !current.contains(name))
        .cloned()
        .collect();
    for name in gone {
        if let Some(entry) = known.remove(&name)
            && entry.card_present
        {
            let _ = sender.send(ReaderEvent::CardRemoved {
                reader: name.clone(),
            });
        }
        let _ = sender.send(ReaderEvent::ReaderRemoved { reader: name });
    }
    let first_reader = usize::from(pnp_supported);
    let mut index = first_reader;
    while index < states.len() {
        if known.contains_key(states[index].name().to_string_lossy().as_ref()) {
            index += 1;
        } else {
            states.remove(index);
        }
    }
    let mut added = false;
    for name in current {
        if known.contains_key(&name) {
            continue;
        }
        let Ok(cname) = CString::new(name.as_str()) else {
            continue;
        };
        let _ = sender.send(ReaderEvent::ReaderAdded {
            reader: name.clone(),
        });
        known.insert(
            name,
            Known {
                card_present: false,
                event_count: 0,
            },
        );
        states.push(ReaderState::new(cname, State::UNAWARE));
        added = true;
    }
    if !added {
        return Ok(());
    }
    // A zero-timeout query fills in the initial state of the new readers (UNAWARE makes
    // pcscd answer at once); changes on the other readers are applied as well.
    match context.get_status_change(Some(Duration::ZERO), &mut states[first_reader..]) {
        Ok(()) | Err(pcsc::Error::Timeout) | Err(pcsc::Error::UnknownReader) => {}
        Err(error) => return Err(error.into()),
    }
    apply_states(&mut states[first_reader..], false, sender, known);
    Ok(())
}
