//! Shared helpers: run the built binary with a time limit, the virtual printer on its own
//! runtime, the private pcscd.

// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiosk_printer::virtual_printer::{PrintedReceipt, VirtualPrinter, VirtualState};

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both streams when `needle` is not in standard output.
    pub fn expect_stdout(&self, needle: &str) {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
    }

    /// The line of the human report about check `title`.
    pub fn line_of(&self, title: &str) -> String {
        self.stdout
            .lines()
            .find(|line| line.contains(title))
            .unwrap_or_else(|| panic!("no line with {title:?} in\n{}", self.stdout))
            .to_owned()
    }
}

/// Runs `kiosk-hwtest` with `args` (no terminal, no locale from the test environment),
/// killing it after 60 s.
pub fn hwtest(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiosk-hwtest"));
    command
        .args(args)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("KIOSK_HWTEST_CAN")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the kiosk-hwtest binary starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kiosk-hwtest") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kiosk-hwtest {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The virtual ESC/POS printer on 127.0.0.1, served by its own runtime while the test
/// thread waits for the binary.
pub struct Printer {
    printer: VirtualPrinter,
    runtime: tokio::runtime::Runtime,
}

impl Printer {
    pub fn start(state: VirtualState) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let printer = runtime
            .block_on(VirtualPrinter::start(state))
            .expect("virtual printer");
        Self { printer, runtime }
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn connection(&self) -> String {
        format!("tcp://{}", self.printer.addr())
    }

    pub fn set_state(&self, state: VirtualState) {
        self.printer.set_state(state);
    }

    /// Waits (at most 5 s) until `count` receipts were printed.
    pub fn receipts(&self, count: usize) -> Vec<PrintedReceipt> {
        self.runtime.block_on(
            self.printer
                .wait_for_receipts(count, Duration::from_secs(5)),
        )
    }
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

/// Reads a JSON report.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the JSON report was written");
    serde_json::from_str(&text).expect("the JSON report parses")
}

/// The check entry with `id` (and `subject`, if given) in a JSON report.
pub fn check<'a>(
    report: &'a serde_json::Value,
    id: &str,
    subject: Option<&str>,
) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|check| {
            check["id"] == id
                && subject.is_none_or(|subject| check["subject"].as_str() == Some(subject))
        })
        .unwrap_or_else(|| panic!("no check {id} ({subject:?}) in {report:#}"))
}

/// Starts the private pcscd with vpcd, or returns `None` after a loud notice when pcscd or
/// vpcd is not installed (the card tests of `drivers/card` skip the same way). The harness
/// holds a lock that serialises every pcscd test on this machine.
pub fn pcscd(test: &str) -> Option<kiosk_virtual_cards::TestPcscd> {
    kiosk_virtual_cards::TestPcscd::start_or_skip(test).expect("pcscd harness")
}

/// Puts `emulation` on vpcd slot `slot` and waits (at most 5 s) until pcscd reports it.
///
/// Waits through the reader watcher, not by connecting: a test's connection closed just
/// before the binary connects can race with it inside pcscd.
pub fn insert(
    pcscd: &kiosk_virtual_cards::TestPcscd,
    slot: u8,
    emulation: impl kiosk_virtual_cards::Emulation + 'static,
) -> kiosk_virtual_cards::VpcdCard {
    use kiosk_card::{ReaderEvent, ReaderManager, WatchConfig};
    let card = kiosk_virtual_cards::VpcdCard::insert(pcscd.port(slot), emulation)
        .expect("virtual card connects to vpcd");
    let reader = pcscd.reader_name(slot);
    let mut watcher = ReaderManager::watch(WatchConfig::default());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match watcher.try_next() {
            Some(ReaderEvent::CardInserted { reader: name, .. }) if name == reader => {
                watcher.stop();
                return card;
            }
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("pcscd did not report a card on {reader} within 5 s");
}

/// Asserts that none of `secrets` (nor their lower-case form) appears in `haystack`.
pub fn assert_absent(haystack: &str, secrets: &[&str], what: &str) {
    for secret in secrets {
        assert!(
            !haystack.contains(secret) && !haystack.contains(&secret.to_lowercase()),
            "{what} contains personal data {secret:?}:\n{haystack}"
        );
    }
}

/// Runs `kiosk-hwtest` interactively on a pseudo-terminal (util-linux `script`), typing
/// `input` line by line, killing it after 60 s. Output is the terminal's (prompts, echo and
/// report together).
pub fn hwtest_on_terminal(args: &[&str], input: &str, env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    let binary = env!("CARGO_BIN_EXE_kiosk-hwtest");
    let quoted: Vec<String> = std::iter::once(binary)
        .chain(args.iter().copied())
        .map(|arg| format!("'{}'", arg.replace('\'', "'\\''")))
        .collect();
    let mut command = Command::new("script");
    command
        .args([
            "--quiet",
            "--return",
            "--command",
            &quoted.join(" "),
            "/dev/null",
        ])
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("KIOSK_HWTEST_CAN")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("util-linux script starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let typed = input.to_owned();
    // Typing in a thread: the terminal only takes input while the program runs.
    let typist = std::thread::spawn(move || {
        let _ = stdin.write_all(typed.as_bytes());
        let _ = stdin.flush();
        // Keep the terminal's input open until the program is done with it.
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for script") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kiosk-hwtest {args:?} on a terminal did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(typist);
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default().replace("\r\n", "\n"),
        stderr: String::new(),
    }
}
