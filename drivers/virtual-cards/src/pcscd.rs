//! A test harness that runs its own `pcscd -f` with the vpcd virtual reader driver.
//!
//! Only one harness runs at a time on a machine (they share pcscd's socket and the vpcd
//! ports): [`TestPcscd::start`] takes an exclusive file lock that is held until the
//! harness is dropped, so tests in parallel threads and other test binaries queue up.
//!
//! pcscd runs with its own reader configuration (`--config`, vpcd only) but on the default
//! client socket: pointing libpcsclite elsewhere needs `PCSCLITE_CSOCK_NAME` in the test
//! process' environment, and setting that at run time is `unsafe` in edition 2024. A system
//! pcscd that is already running is reported as [`HarnessError::ForeignPcscd`].

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The vpcd port of the first virtual reader slot (the second slot is `+ 1`).
pub const VPCD_PORT: u16 = 35963;

const LOCK_PATH: &str = "/tmp/kiosk-card-pcscd.lock";
const PCSCD_CANDIDATES: [&str; 2] = ["/usr/sbin/pcscd", "/sbin/pcscd"];
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// A running `pcscd -f` with two vpcd reader slots; stopped on drop.
#[derive(Debug)]
pub struct TestPcscd {
    child: Option<Child>,
    config_dir: PathBuf,
    pcscd: PathBuf,
    // Held for the harness' lifetime: the lock is what serialises harnesses.
    _lock: File,
}

/// Why the harness could not start.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// pcscd or the vpcd driver is not installed: the caller should skip loudly.
    #[error(
        "pcscd or vpcd is not installed ({0}); install with \
         `apt-get install -y pcscd vsmartcard-vpcd libpcsclite-dev`"
    )]
    NotInstalled(String),
    /// A pcscd not started by this harness is running and owns the socket.
    #[error(
        "another pcscd is already running (pid file {0}); stop it \
         (`systemctl stop pcscd.socket pcscd`) so the tests can run their own"
    )]
    ForeignPcscd(String),
    /// Starting or reaching pcscd failed.
    #[error("could not run pcscd: {0}")]
    Io(#[from] io::Error),
    /// pcscd started but its vpcd readers did not show up in time.
    #[error("pcscd started but listed no vpcd readers within {0:?}")]
    NoReaders(Duration),
}

impl TestPcscd {
    /// Starts pcscd, or returns `Ok(None)` after printing a loud notice when pcscd or vpcd
    /// is not installed (the only case in which tests may skip).
    pub fn start_or_skip(test: &str) -> Result<Option<Self>, HarnessError> {
        match Self::start() {
            Ok(pcscd) => Ok(Some(pcscd)),
            Err(HarnessError::NotInstalled(what)) => {
                eprintln!(
                    "\n!!!!!!!!!! SKIPPING {test}: {what} is not installed. Install with \
                     `apt-get install -y pcscd vsmartcard-vpcd libpcsclite-dev` !!!!!!!!!!\n"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Starts pcscd with vpcd on [`VPCD_PORT`] and waits until its readers are listed.
    pub fn start() -> Result<Self, HarnessError> {
        let pcscd = PCSCD_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .ok_or_else(|| HarnessError::NotInstalled("pcscd".into()))?;
        if !Path::new(VPCD_DRIVER).exists() {
            return Err(HarnessError::NotInstalled("vsmartcard-vpcd".into()));
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_PATH)?;
        lock.lock()?;
        let config_dir =
            std::env::temp_dir().join(format!("kiosk-card-pcscd-{}", std::process::id()));
        std::fs::create_dir_all(&config_dir)?;
        std::fs::write(
            config_dir.join("vpcd"),
            format!(
                "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:0x{VPCD_PORT:X}\n\
                 LIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{VPCD_PORT:X}\n"
            ),
        )?;
        let mut harness = Self {
            child: None,
            config_dir,
            pcscd,
            _lock: lock,
        };
        harness.spawn()?;
        Ok(harness)
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        for pid_file in ["/run/pcscd/pcscd.pid", "/var/run/pcscd/pcscd.pid"] {
            if let Ok(pid) = std::fs::read_to_string(pid_file) {
                let alive = Path::new(&format!("/proc/{}", pid.trim())).exists();
                if alive {
                    return Err(HarnessError::ForeignPcscd(pid_file.into()));
                }
            }
        }
        let mut command = Command::new(&self.pcscd);
        command
            .arg("--foreground")
            .arg("--config")
            .arg(&self.config_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // For debugging a failing test: KIOSK_PCSCD_LOG=/tmp/pcscd.log cargo test ...
        if let Some(log) = std::env::var_os("KIOSK_PCSCD_LOG") {
            let log = File::options().create(true).append(true).open(log)?;
            command.arg("--debug").arg("--apdu").stdout(log);
        }
        let child = command.spawn()?;
        self.child = Some(child);
        let limit = Duration::from_secs(10);
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(context) = pcsc::Context::establish(pcsc::Scope::User)
                && context
                    .list_readers_owned()
                    .is_ok_and(|readers| !readers.is_empty())
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::NoReaders(limit))
    }

    /// The PC/SC name of vpcd slot `slot` (0 or 1) as pcscd lists it.
    pub fn reader_name(&self, slot: u8) -> String {
        format!("Virtual PCD 00 {slot:02}")
    }

    /// The vpcd TCP port of slot `slot` (0 or 1).
    pub fn port(&self, slot: u8) -> u16 {
        VPCD_PORT + u16::from(slot)
    }

    /// Stops pcscd (SIGTERM, then SIGKILL) and waits for it to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills pcscd and starts it again (for recovery tests).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        self.spawn()
    }
}

impl Drop for TestPcscd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.config_dir);
    }
}
