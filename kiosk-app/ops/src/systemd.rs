//! systemd integration: `sd_notify` messages and a watchdog that pings only
//! while the UI proves it is alive.
//!
//! The protocol is one datagram per message to the Unix socket named in
//! `NOTIFY_SOCKET`, with `KEY=VALUE` lines (`sd_notify(3)`). [`Notifier`] reads
//! that variable once ([`Notifier::from_env`]) or takes a socket path directly
//! ([`Notifier::to_socket`]), so the app and the tests never have to change the
//! process environment. Without `NOTIFY_SOCKET` (not started by systemd with
//! `Type=notify`) every message is skipped with a debug log line.
//!
//! The watchdog sends `WATCHDOG=1` every `WATCHDOG_USEC / 2`, but only while the
//! app's liveness check passes. The kiosk's check is a [`Heartbeat`] that the UI
//! thread bumps from a timer: if the event loop hangs, the count stops moving,
//! the pings stop, and systemd restarts the service after `WatchdogSec`.

use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// One `sd_notify` assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState<'a> {
    /// `READY=1`: start-up finished, the kiosk serves citizens.
    Ready,
    /// `STOPPING=1`: shutdown began.
    Stopping,
    /// `STATUS=...`: one line shown by `systemctl status`. Never put personal data here.
    /// Line breaks are replaced by spaces (they would start a new assignment).
    Status(&'a str),
    /// `WATCHDOG=1`: the service is alive.
    Watchdog,
    /// `EXTEND_TIMEOUT_USEC=...`: ask for more time for start-up or shutdown.
    ExtendTimeout(Duration),
}

impl fmt::Display for NotifyState<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready => f.write_str("READY=1"),
            Self::Stopping => f.write_str("STOPPING=1"),
            Self::Status(text) => {
                f.write_str("STATUS=")?;
                for c in text.chars() {
                    f.write_char(if c.is_control() { ' ' } else { c })?;
                }
                Ok(())
            }
            Self::Watchdog => f.write_str("WATCHDOG=1"),
            Self::ExtendTimeout(time) => write!(f, "EXTEND_TIMEOUT_USEC={}", time.as_micros()),
        }
    }
}

/// A notification socket address that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "NOTIFY_SOCKET {shown:?} is not a usable Unix socket address: {source} (systemd sets it; \
     unset it when not running under systemd)"
)]
pub struct NotifySocketError {
    shown: String,
    source: io::Error,
}

/// Sending a notification failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot send {message:?} to systemd's notification socket {socket:?}: {source}")]
pub struct NotifyError {
    message: String,
    socket: String,
    source: io::Error,
}

#[derive(Debug)]
struct Target {
    address: SocketAddr,
    shown: String,
}

/// Sends `sd_notify` messages to systemd: cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    target: Option<Arc<Target>>,
}

impl Notifier {
    /// Uses the socket named in `NOTIFY_SOCKET`, read now; without it (or with an
    /// unusable value, logged as a warning) notifications are skipped.
    pub fn from_env() -> Self {
        match std::env::var_os("NOTIFY_SOCKET") {
            None => {
                tracing::debug!(
                    "NOTIFY_SOCKET is not set (not started by systemd with Type=notify): \
                     sd_notify messages are skipped"
                );
                Self::disabled()
            }
            Some(path) => Self::to_socket(&path).unwrap_or_else(|error| {
                tracing::warn!(%error, "sd_notify messages are skipped");
                Self::disabled()
            }),
        }
    }

    /// Uses the given socket: a path, or `@name` for an abstract socket (as in `NOTIFY_SOCKET`).
    pub fn to_socket(path: impl AsRef<OsStr>) -> Result<Self, NotifySocketError> {
        let path = path.as_ref();
        let shown = path.to_string_lossy().into_owned();
        let address = socket_address(path).map_err(|source| NotifySocketError {
            shown: shown.clone(),
            source,
        })?;
        Ok(Self {
            target: Some(Arc::new(Target { address, shown })),
        })
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self { target: None }
    }

    /// Whether messages are sent at all.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message with the given assignments.
    pub fn notify(&self, states: &[NotifyState<'_>]) -> Result<(), NotifyError> {
        let mut message = String::new();
        for state in states {
            let _ = writeln!(message, "{state}");
        }
        let Some(target) = &self.target else {
            tracing::debug!(message = message.trim_end(), "no NOTIFY_SOCKET: not sent");
            return Ok(());
        };
        let send = || -> io::Result<()> {
            // A fresh socket per message: systemd re-creates its socket on
            // daemon-reexec, which would break a long-lived connected socket.
            let socket = UnixDatagram::unbound()?;
            // Never block the runtime if systemd's queue is full: report it instead.
            socket.set_nonblocking(true)?;
            socket.send_to_addr(message.as_bytes(), &target.address)?;
            Ok(())
        };
        send().map_err(|source| NotifyError {
            message: message.trim_end().to_owned(),
            socket: target.shown.clone(),
            source,
        })
    }

    /// `READY=1`.
    pub fn ready(&self) -> Result<(), NotifyError> {
        self.notify(&[NotifyState::Ready])
    }

    /// `STATUS=...` (no personal data).
    pub fn status(&self, status: &str) -> Result<(), NotifyError> {
        self.notify(&[NotifyState::Status(status)])
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) -> Result<(), NotifyError> {
        self.notify(&[NotifyState::Stopping])
    }

    /// `WATCHDOG=1`.
    pub fn watchdog(&self) -> Result<(), NotifyError> {
        self.notify(&[NotifyState::Watchdog])
    }
}

fn socket_address(path: &OsStr) -> io::Result<SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    match bytes.split_first() {
        None => Err(io::Error::new(io::ErrorKind::InvalidInput, "it is empty")),
        Some((b'@', name)) => abstract_address(name),
        Some((b'/', _)) => SocketAddr::from_pathname(path),
        Some(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it must be an absolute path or start with '@'",
        )),
    }
}

#[cfg(target_os = "linux")]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_address(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

/// How often to ping systemd's watchdog: half of `WATCHDOG_USEC`, or `None`
/// when the watchdog is off (no `WatchdogSec=`) or meant for another process
/// (`WATCHDOG_PID`).
pub fn watchdog_ping_interval_from_env() -> Option<Duration> {
    let usec = std::env::var_os("WATCHDOG_USEC");
    let pid = std::env::var_os("WATCHDOG_PID");
    let interval = ping_interval(usec.as_deref(), pid.as_deref(), std::process::id());
    if interval.is_none() {
        tracing::debug!("systemd's watchdog is not enabled for this process");
    }
    interval
}

fn ping_interval(usec: Option<&OsStr>, pid: Option<&OsStr>, own_pid: u32) -> Option<Duration> {
    let parse = |value: &OsStr| value.to_str()?.trim().parse::<u64>().ok();
    let usec = parse(usec?).filter(|usec| *usec > 0)?;
    if let Some(pid) = pid
        && parse(pid) != Some(u64::from(own_pid))
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

/// A counter the UI thread bumps to prove its event loop runs: cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    count: Arc<AtomicU64>,
}

impl Heartbeat {
    /// A heartbeat at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one beat. Call it from the UI event loop (e.g. a 1-second timer),
    /// at least twice per watchdog ping interval.
    pub fn beat(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Beats so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// A liveness check for [`Watchdog::spawn`]: true when the heartbeat moved
    /// since the previous call (or since this call, for the first one).
    pub fn monitor(&self) -> impl FnMut() -> bool + Send + 'static {
        let heartbeat = self.clone();
        let mut seen = heartbeat.count();
        move || {
            let now = heartbeat.count();
            let moved = now != seen;
            seen = now;
            moved
        }
    }
}

/// Pings systemd's watchdog while a liveness check passes.
#[derive(Debug, Clone)]
pub struct Watchdog {
    notifier: Notifier,
    interval: Duration,
}

impl Watchdog {
    /// The watchdog systemd asked for (`WATCHDOG_USEC`), or `None` when it is off.
    pub fn from_env(notifier: Notifier) -> Option<Self> {
        watchdog_ping_interval_from_env().map(|interval| Self::new(notifier, interval))
    }

    /// Pings through `notifier` every `interval` (at least 1 ms).
    pub fn new(notifier: Notifier, interval: Duration) -> Self {
        Self {
            notifier,
            interval: interval.max(Duration::from_millis(1)),
        }
    }

    /// The ping interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Starts pinging on the current tokio runtime until `stop` resolves.
    ///
    /// Every interval `alive` is asked first; when it says no, no ping is sent
    /// (logged once as an error), so systemd restarts the kiosk when `WatchdogSec`
    /// runs out. If it says yes again before that, pinging resumes. Let `stop`
    /// resolve only after shutdown finished, so a slow drain is not killed.
    pub fn spawn(
        self,
        mut alive: impl FnMut() -> bool + Send + 'static,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker =
                tokio::time::interval_at(Instant::now() + self.interval, self.interval);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            tokio::pin!(stop);
            let mut stalled = false;
            loop {
                tokio::select! {
                    biased;
                    () = &mut stop => break,
                    _ = ticker.tick() => {}
                }
                if alive() {
                    if stalled {
                        tracing::warn!("the UI heartbeat moves again: watchdog pings resume");
                        stalled = false;
                    }
                    if let Err(error) = self.notifier.watchdog() {
                        tracing::warn!(%error, "watchdog ping failed");
                    }
                } else if !stalled {
                    tracing::error!(
                        interval_ms = self.interval.as_millis() as u64,
                        "the UI heartbeat stopped: no more watchdog pings, systemd will restart the kiosk"
                    );
                    stalled = true;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn ping_interval_is_half_of_watchdog_usec() {
        assert_eq!(
            ping_interval(Some(os("30000000")), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            ping_interval(Some(os("30000000")), Some(os("7")), 7),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn no_watchdog_when_unset_zero_garbled_or_for_another_process() {
        assert_eq!(ping_interval(None, None, 7), None);
        assert_eq!(ping_interval(Some(os("0")), None, 7), None);
        assert_eq!(ping_interval(Some(os("soon")), None, 7), None);
        assert_eq!(ping_interval(Some(os("30000000")), Some(os("8")), 7), None);
    }

    #[test]
    fn status_lines_cannot_inject_assignments() {
        assert_eq!(
            NotifyState::Status("3 queued\nREADY=1").to_string(),
            "STATUS=3 queued READY=1"
        );
        assert_eq!(
            NotifyState::ExtendTimeout(Duration::from_secs(2)).to_string(),
            "EXTEND_TIMEOUT_USEC=2000000"
        );
    }

    #[test]
    fn socket_addresses_must_be_absolute_or_abstract() {
        assert!(Notifier::to_socket("relative/notify").is_err());
        assert!(Notifier::to_socket("").is_err());
        assert!(Notifier::to_socket("/run/systemd/notify").is_ok());
        let error = Notifier::to_socket("notify").unwrap_err().to_string();
        assert!(error.contains("absolute path"), "{error}");
    }

    #[test]
    fn the_heartbeat_monitor_sees_movement_once() {
        let heartbeat = Heartbeat::new();
        let mut alive = heartbeat.monitor();
        assert!(!alive());
        heartbeat.beat();
        assert!(alive());
        assert!(!alive());
    }
}
