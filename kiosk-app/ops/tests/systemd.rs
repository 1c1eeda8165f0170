//! sd_notify against a real Unix datagram socket, as systemd's would receive
//! it. The socket path goes to the notifier's constructor, so no test changes
//! the process environment.

use std::os::unix::net::UnixDatagram as StdDatagram;
use std::time::Duration;

use kiosk_ops::{Heartbeat, Notifier, NotifyState, Watchdog};
use tokio::net::UnixDatagram;

const WAIT: Duration = Duration::from_secs(10);

fn receive(socket: &StdDatagram) -> String {
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut buffer = [0u8; 4096];
    let read = socket
        .recv(&mut buffer)
        .expect("a message within the time-out");
    String::from_utf8(buffer[..read].to_vec()).unwrap()
}

#[test]
fn ready_status_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let systemd = StdDatagram::bind(&path).unwrap();
    let notifier = Notifier::to_socket(&path).unwrap();
    assert!(notifier.is_enabled());

    notifier.ready().unwrap();
    assert_eq!(receive(&systemd), "READY=1\n");
    notifier.status("3 submissions queued\nREADY=1").unwrap();
    assert_eq!(receive(&systemd), "STATUS=3 submissions queued READY=1\n");
    notifier
        .notify(&[
            NotifyState::Stopping,
            NotifyState::ExtendTimeout(Duration::from_secs(20)),
        ])
        .unwrap();
    assert_eq!(
        receive(&systemd),
        "STOPPING=1\nEXTEND_TIMEOUT_USEC=20000000\n"
    );
    notifier.stopping().unwrap();
    assert_eq!(receive(&systemd), "STOPPING=1\n");
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_notify_sockets_work_too() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    let name = format!("kiosk-ops-test-{}", std::process::id());
    let systemd =
        StdDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    let notifier = Notifier::to_socket(format!("@{name}")).unwrap();
    notifier.watchdog().unwrap();
    assert_eq!(receive(&systemd), "WATCHDOG=1\n");
}

#[test]
fn a_missing_socket_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone");
    let error = Notifier::to_socket(&path)
        .unwrap()
        .ready()
        .unwrap_err()
        .to_string();
    assert!(error.contains("READY=1"), "{error}");
    assert!(error.contains("gone"), "{error}");
}

#[test]
fn without_a_socket_nothing_is_sent_and_nothing_fails() {
    let notifier = Notifier::disabled();
    assert!(!notifier.is_enabled());
    notifier.ready().unwrap();
    notifier.watchdog().unwrap();
    notifier.stopping().unwrap();
}

async fn next_ping(socket: &UnixDatagram, within: Duration) -> Option<String> {
    let mut buffer = [0u8; 256];
    match tokio::time::timeout(within, socket.recv(&mut buffer)).await {
        Ok(read) => Some(String::from_utf8(buffer[..read.unwrap()].to_vec()).unwrap()),
        Err(_) => None,
    }
}

// Paused time: the runtime jumps from one watchdog tick to the next, so "no ping
// during ten intervals" is exact and the test takes milliseconds.
#[tokio::test(start_paused = true)]
async fn the_watchdog_pings_only_while_the_heartbeat_moves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let systemd = UnixDatagram::bind(&path).unwrap();
    let interval = Duration::from_secs(15);
    let watchdog = Watchdog::new(Notifier::to_socket(&path).unwrap(), interval);
    assert_eq!(watchdog.interval(), interval);
    let heartbeat = Heartbeat::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = watchdog.spawn(heartbeat.monitor(), async move {
        let _ = stopped.await;
    });

    // The UI beats: one ping per interval.
    for _ in 0..3 {
        heartbeat.beat();
        assert_eq!(
            next_ping(&systemd, interval * 2).await.as_deref(),
            Some("WATCHDOG=1\n")
        );
    }

    // The UI hangs: no ping for ten intervals, so systemd's WatchdogSec runs out.
    assert_eq!(next_ping(&systemd, interval * 10).await, None);

    // It recovers before systemd acted: pings resume.
    heartbeat.beat();
    assert_eq!(
        next_ping(&systemd, interval * 2).await.as_deref(),
        Some("WATCHDOG=1\n")
    );

    let _ = stop.send(());
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}

#[test]
fn a_heartbeat_from_a_real_ui_thread_is_seen() {
    let heartbeat = Heartbeat::new();
    let mut alive = heartbeat.monitor();
    assert!(!alive(), "no beat yet");
    let ui = {
        let heartbeat = heartbeat.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                heartbeat.beat();
            }
        })
    };
    ui.join().unwrap();
    assert_eq!(heartbeat.count(), 3);
    assert!(alive());
    assert!(!alive(), "the thread stopped beating");
}
