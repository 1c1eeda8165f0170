//! Harness for tests against the real AusweisApp (Debian `ausweisapp2`), headless.
//!
//! Each test takes the private pcscd with vpcd (whose lock also serialises these tests
//! with each other and with the card tests, since AusweisApp talks to every PC/SC
//! reader), then starts AusweisApp through the [`Supervisor`] on a port AusweisApp picks
//! itself (`--port 0`), so no two instances ever share a port. Tests run on a
//! current-thread runtime with an overall time limit.

// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use kiosk_eid::{ClientConfig, EidStatus, Launch, Supervisor, SupervisorConfig, find_binary};
use kiosk_virtual_cards::TestPcscd;

/// The whole of one test may take this long.
pub const TEST_LIMIT: Duration = Duration::from_secs(90);

/// A running private pcscd and the AusweisApp binary to start.
pub struct Env {
    pub pcscd: TestPcscd,
    pub binary: PathBuf,
    pub home: PathBuf,
}

impl Env {
    /// Starts pcscd; returns `None` (after a loud notice) when AusweisApp is not
    /// installed (or pcscd/vpcd are not, as the card tests do).
    pub fn start(test: &str) -> Option<Self> {
        let Some(binary) = find_binary() else {
            eprintln!(
                "\n!!!!!!!!!! SKIPPING {test}: AusweisApp is not installed (neither AusweisApp nor \
                 AusweisApp2 on PATH). Install with `apt-get install -y ausweisapp2` !!!!!!!!!!\n"
            );
            return None;
        };
        let pcscd = TestPcscd::start_or_skip(test).expect("pcscd harness")?;
        let home =
            std::env::temp_dir().join(format!("kiosk-eid-test-home-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&home).expect("AusweisApp home");
        Some(Self {
            pcscd,
            binary,
            home,
        })
    }

    /// A supervisor config that starts this AusweisApp on a port of its choosing.
    pub fn config(&self) -> SupervisorConfig {
        SupervisorConfig {
            port: 0,
            launch: Launch::Binary(self.binary.clone()),
            client: ClientConfig {
                connect_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(10),
                heartbeat: Duration::from_secs(5),
            },
            startup_timeout: Duration::from_secs(20),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            home: Some(self.home.clone()),
            // For debugging a failing test: KIOSK_AUSWEISAPP_LOG=/tmp/ausweisapp.log
            log_file: std::env::var_os("KIOSK_AUSWEISAPP_LOG").map(PathBuf::from),
            ..SupervisorConfig::default()
        }
    }

    /// Runs `body` on a current-thread runtime, within [`TEST_LIMIT`].
    pub fn run<F: Future<Output = ()>>(&self, body: F) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            tokio::time::timeout(TEST_LIMIT, body)
                .await
                .expect("the test did not finish within its time limit");
        });
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Starts a supervisor and waits until it is connected.
pub async fn connected(config: SupervisorConfig) -> (Supervisor, EidStatus) {
    let supervisor = Supervisor::start(config);
    let status = supervisor
        .wait_for_status(Duration::from_secs(30), EidStatus::is_connected)
        .await
        .unwrap_or_else(|| panic!("AusweisApp not connected: {:?}", supervisor.status()));
    (supervisor, status)
}
