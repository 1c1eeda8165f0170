//! Graceful shutdown: SIGTERM/SIGINT, a broadcast to every task, and holds that
//! keep the process alive until in-flight work (a submission being committed)
//! is done, for at most a bounded time.
//!
//! ```text
//! SIGTERM ─► shutdown.trigger() ─► tasks see triggered() and stop taking work
//!                                  new hold() calls are refused
//!            shutdown.finish(max) ─► waits until every HoldGuard is dropped,
//!                                    or max passes (then names what was left)
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// The signal that asked the kiosk to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM (systemd's stop).
    Terminate,
    /// SIGINT (Ctrl+C in a terminal).
    Interrupt,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Terminate => "SIGTERM",
            Self::Interrupt => "SIGINT",
        })
    }
}

/// Starts listening for SIGTERM and SIGINT now; the future resolves on the first.
///
/// Call it inside a tokio runtime. Listening starts before the future is
/// polled, so a signal that arrives in between is not lost; an error here means
/// the handlers could not be installed.
pub fn shutdown_signal() -> io::Result<impl Future<Output = Signal> + Send + 'static> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => Signal::Terminate,
            _ = interrupt.recv() => Signal::Interrupt,
        }
    })
}

#[derive(Debug, Default)]
struct State {
    triggered: bool,
    next_hold: u64,
    holds: BTreeMap<u64, &'static str>,
}

/// The shutdown coordinator: cheap to clone, one per process.
#[derive(Clone)]
pub struct Shutdown {
    // Trigger and holds live behind one lock, so a hold cannot slip in after
    // `finish` saw none.
    state: Arc<watch::Sender<State>>,
}

/// Shutdown already began: no new work may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the kiosk is shutting down: {0} cannot start now")]
pub struct ShuttingDown(pub &'static str);

/// How [`Shutdown::finish`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// Every hold was released.
    Complete,
    /// The maximum wait passed with these holds still taken.
    TimedOut {
        /// What each remaining hold was for.
        outstanding: Vec<&'static str>,
    },
}

/// Delays the end of shutdown while it lives; drop it when the work is done.
#[must_use = "the hold ends as soon as the guard is dropped"]
pub struct HoldGuard {
    state: Arc<watch::Sender<State>>,
    id: u64,
    what: &'static str,
}

impl fmt::Debug for HoldGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HoldGuard")
            .field("what", &self.what)
            .finish()
    }
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        self.state.send_modify(|state| {
            state.holds.remove(&self.id);
        });
    }
}

impl Shutdown {
    /// A coordinator that has not been triggered.
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(State::default())),
        }
    }

    /// Begins shutdown (again is harmless).
    pub fn trigger(&self) {
        let first = self.state.send_if_modified(|state| {
            let first = !state.triggered;
            state.triggered = true;
            first
        });
        if first {
            tracing::info!(in_flight = self.in_flight(), "shutdown began");
        }
    }

    /// Triggers shutdown on the first SIGTERM or SIGINT (logged with its name).
    /// Call it inside a tokio runtime.
    pub fn trigger_on_signals(&self) -> io::Result<()> {
        let signal = shutdown_signal()?;
        let shutdown = self.clone();
        tokio::spawn(async move {
            let signal = signal.await;
            tracing::info!(%signal, "stop requested");
            shutdown.trigger();
        });
        Ok(())
    }

    /// Whether shutdown began.
    pub fn is_triggered(&self) -> bool {
        self.state.borrow().triggered
    }

    /// Resolves once shutdown began: use it in `select!` and as the HTTP
    /// endpoint's shutdown future.
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut receiver = self.state.subscribe();
        async move {
            // The sender lives in `self` and its clones; if all are gone, nobody
            // can trigger any more and waiting ends as well.
            let _ = receiver.wait_for(|state| state.triggered).await;
        }
    }

    /// Takes a hold for `what` (a fixed description such as `"outbox submission"`,
    /// logged if shutdown has to give up on it). Refused once shutdown began.
    pub fn hold(&self, what: &'static str) -> Result<HoldGuard, ShuttingDown> {
        let mut id = None;
        self.state.send_if_modified(|state| {
            if state.triggered {
                return false;
            }
            let next = state.next_hold;
            state.next_hold += 1;
            state.holds.insert(next, what);
            id = Some(next);
            true
        });
        match id {
            Some(id) => Ok(HoldGuard {
                state: Arc::clone(&self.state),
                id,
                what,
            }),
            None => Err(ShuttingDown(what)),
        }
    }

    /// How many holds are taken.
    pub fn in_flight(&self) -> usize {
        self.state.borrow().holds.len()
    }

    /// Triggers shutdown (if not yet) and waits until every hold is released,
    /// for at most `max_wait`. Keep `max_wait` below systemd's `TimeoutStopSec`.
    pub async fn finish(&self, max_wait: Duration) -> Drained {
        self.trigger();
        let mut receiver = self.state.subscribe();
        let waited = tokio::time::timeout(max_wait, async {
            let _ = receiver.wait_for(|state| state.holds.is_empty()).await;
        })
        .await;
        if waited.is_ok() {
            tracing::info!("in-flight work finished");
            return Drained::Complete;
        }
        let outstanding: Vec<&'static str> = self.state.borrow().holds.values().copied().collect();
        tracing::warn!(
            max_wait_ms = max_wait.as_millis() as u64,
            ?outstanding,
            "shutdown stopped waiting for in-flight work"
        );
        Drained::TimedOut { outstanding }
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Shutdown")
            .field("triggered", &state.triggered)
            .field("holds", &state.holds.values().collect::<Vec<_>>())
            .finish()
    }
}
