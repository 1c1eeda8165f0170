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

fn xvfb() -> Option<Xvfb> {
    if Command::new("Xvfb").arg("-help").output().is_err() {
        eprintln!("SKIPPED: Xvfb is not installed (apt-get install -y xvfb)");
        return None;
    }
    for number in 90..110 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
            continue;
        }
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

#[test]
fn the_demo_opens_a_window_and_stops_cleanly_on_sigterm() {
    let Some(x) = xvfb() else { return };
    let out = tempfile::tempdir().unwrap();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
        .args(["demo", "--out"])
        .arg(out.path())
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
        Box::new(demo.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(demo.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log.iter().any(|l: &String| l.contains("kiosk ready")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match seen.recv_timeout(left) {
            Ok(line) => log.push(line),
            Err(_) => {
                let _ = demo.kill();
                panic!("no 'kiosk ready' within 60 s:\n{}", log.join("\n"));
            }
        }
    }
    assert!(
        log.iter().any(|l| l.contains("Staff PIN")),
        "the demo explains itself: {log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("demo panel")),
        "the demo panel explains its keys: {log:?}"
    );
    // The demo panel puts the staff card on the reader: staff mode opens and
    // the login is audited (without the card's UID).
    {
        use std::io::Write;
        let mut panel = demo.stdin.take().unwrap();
        writeln!(panel, "3").unwrap();
        panel.flush().unwrap();
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
                let _ = demo.kill();
                panic!("the staff card did not open staff mode within 20 s: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Let the window draw for a moment, then stop it like systemd does.
    std::thread::sleep(Duration::from_millis(500));
    let pid = demo.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = demo.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = demo.kill();
            panic!("the demo did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(line) = seen.recv_timeout(Duration::from_millis(200)) {
        log.push(line);
    }
    assert!(status.success(), "exit {status:?}:\n{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains("sync engine stopped")),
        "{}",
        log.join("\n")
    );
    assert!(out.path().join("outbox.sqlite").exists());
}
