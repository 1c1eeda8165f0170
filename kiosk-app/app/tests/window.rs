//! The README's first command with a display: `kiosk-app demo` opens the
//! real kiosk in a window (winit on a real X server, Xvfb), says it is ready,
//! and shuts down cleanly on SIGTERM as systemd would stop it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A private X server on a free display number; killed on drop.
struct Xvfb {
    child: std::process::Child,
    display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether an X server runs on display `number`: its lock file names a live
/// process. A lock or socket left by a killed server does not count (Xvfb
/// replaces stale ones itself).
fn display_in_use(number: u32) -> bool {
    let Ok(lock) = std::fs::read_to_string(format!("/tmp/.X{number}-lock")) else {
        return false;
    };
    lock.trim()
        .parse::<u32>()
        .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

fn xvfb() -> Option<Xvfb> {
    if Command::new("Xvfb").arg("-help").output().is_err() {
        eprintln!("SKIPPED: Xvfb is not installed (apt-get install -y xvfb)");
        return None;
    }
    for number in 90..110 {
        if display_in_use(number) {
            continue;
        }
        // Left by a killed server: gone before ours starts, so the socket seen
        // below is ours.
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{number}"));
        let _ = std::fs::remove_file(format!("/tmp/.X{number}-lock"));
        let display = format!(":{number}");
        let mut child = Command::new("Xvfb")
            .args([&display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                return Some(Xvfb { child, display });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("Xvfb {display} did not come up within 10 s");
    }
    panic!("no free X display number between :90 and :109");
}

/// The window demo, started on the private X server, once it says it is ready.
struct Demo {
    child: std::process::Child,
    seen: mpsc::Receiver<String>,
    log: Vec<String>,
}

/// One window demo at a time: each is a whole kiosk with its ports.
static ONE_DEMO: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start_demo(x: &Xvfb, out: &std::path::Path) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["demo", "--out"])
        .arg(out)
        .env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    let mut demo = Demo {
        child,
        seen,
        log: Vec::new(),
    };
    demo.wait_for("kiosk ready", Duration::from_secs(60));
    demo
}

impl Demo {
    /// Waits until a line contains `text`; panics with the log after `limit`.
    fn wait_for(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.log.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no '{text}' within {limit:?}:\n{}", self.log.join("\n"));
                }
            }
        }
    }

    /// Types a key on the demo panel.
    fn panel(&mut self, key: &str) {
        use std::io::Write;
        let panel = self.child.stdin.as_mut().unwrap();
        writeln!(panel, "{key}").unwrap();
        panel.flush().unwrap();
    }

    /// Stops it like systemd does; returns the whole log.
    fn terminate(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the demo did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(line) = self.seen.recv_timeout(Duration::from_millis(200)) {
            self.log.push(line);
        }
        assert!(
            status.success(),
            "exit {status:?}:\n{}",
            self.log.join("\n")
        );
        self.log
    }
}

#[test]
fn the_demo_opens_a_window_and_stops_cleanly_on_sigterm() {
    let _one = ONE_DEMO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(x) = xvfb() else { return };
    let out = tempfile::tempdir().unwrap();
    let mut demo = start_demo(&x, out.path());
    assert!(
        demo.log.iter().any(|l| l.contains("Staff PIN")),
        "the demo explains itself: {:?}",
        demo.log
    );
    assert!(
        demo.log.iter().any(|l| l.contains("demo panel")),
        "the demo panel explains its keys: {:?}",
        demo.log
    );
    // The demo panel puts the staff card on the reader: staff mode opens and
    // the login is audited (without the card's UID).
    demo.panel("3");
    let audit = out.path().join("audit.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if text.contains("\"login\"") {
            assert!(text.contains("card:"), "{text}");
            assert!(
                !text.to_ascii_lowercase().contains("045a172b6c8001"),
                "{text}"
            );
            break;
        }
        if Instant::now() > deadline {
            let _ = demo.child.kill();
            panic!("the staff card did not open staff mode within 20 s: {text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the window draw for a moment, then stop it like systemd does.
    std::thread::sleep(Duration::from_millis(500));
    let log = demo.terminate();
    assert!(
        log.iter().any(|l| l.contains("sync engine stopped")),
        "{}",
        log.join("\n")
    );
    assert!(out.path().join("outbox.sqlite").exists());
}

#[test]
fn a_phone_with_an_appointment_checks_the_citizen_in_from_the_start_screen() {
    let _one = ONE_DEMO
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(x) = xvfb() else { return };
    let out = tempfile::tempdir().unwrap();
    let mut demo = start_demo(&x, out.path());
    demo.panel("4");
    // Saved in the outbox (the demo's portal is still offline) and printed.
    demo.wait_for("application saved: GE-", Duration::from_secs(30));
    demo.wait_for("receipt printed:", Duration::from_secs(30));
    assert!(out.path().join("receipts").join("receipt-1.png").exists());
    let log = demo.terminate();
    assert!(
        log.iter()
            .any(|l| l.contains("a phone showed an appointment")),
        "{}",
        log.join("\n")
    );
}
