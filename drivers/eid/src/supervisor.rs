//! [`Supervisor`]: keeps one AusweisApp running and connected.
//!
//! It connects to an AusweisApp already listening on the port, or starts one headless
//! (`QT_QPA_PLATFORM=offscreen AusweisApp2 --ui websocket --port … --address …`), sets
//! the API level, asks for the version and the readers, and publishes an [`EidStatus`]
//! and the connected [`EidClient`]. When the connection drops or the process dies it
//! reconnects (restarting the process if it started it) with a back-off that doubles
//! up to a cap. Reader changes (`READER` messages) keep the status current.
//!
//! AusweisApp's own output is discarded unless [`SupervisorConfig::log_file`] is set (it
//! does not log PINs, but it does log every message it sends).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command as Process};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::{ClientConfig, ClientError, EidClient, Messages};
use crate::protocol::{API_LEVEL, DEFAULT_PORT, Message};
use crate::status::{Connection, EidStatus, StatusProblem};

/// The names AusweisApp's binary has had (Debian 12 ships `AusweisApp2`).
pub const BINARY_NAMES: [&str; 2] = ["AusweisApp", "AusweisApp2"];

/// Whether and how the supervisor may start AusweisApp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    /// Only connect to an AusweisApp that runs already.
    Never,
    /// Start the first of [`BINARY_NAMES`] found on `PATH` when none runs.
    Find,
    /// Start this binary when none runs.
    Binary(PathBuf),
}

/// Settings of the supervisor.
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    /// Address AusweisApp listens on: loopback only (the SDK must not be reachable from
    /// the network).
    pub host: String,
    /// Port AusweisApp listens on; `0` lets a started AusweisApp choose a free port
    /// (for tests; it then never connects to one that runs already).
    pub port: u16,
    /// Whether to start AusweisApp.
    pub launch: Launch,
    /// Time limits of the connection.
    pub client: ClientConfig,
    /// How long a started AusweisApp may take until it accepts connections.
    pub startup_timeout: Duration,
    /// The first wait before reconnecting.
    pub backoff_initial: Duration,
    /// The longest wait before reconnecting.
    pub backoff_max: Duration,
    /// `HOME` for a started AusweisApp (its settings live there); `None` inherits.
    pub home: Option<PathBuf>,
    /// Append a started AusweisApp's output to this file (for technicians).
    pub log_file: Option<PathBuf>,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
            launch: Launch::Find,
            client: ClientConfig::default(),
            startup_timeout: Duration::from_secs(15),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            home: None,
            log_file: None,
        }
    }
}

/// The first AusweisApp binary on `PATH` (or in `/usr/bin`), if any.
pub fn find_binary() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    BINARY_NAMES
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Keeps AusweisApp running and connected; stops a started AusweisApp when stopped or
/// dropped.
#[derive(Debug)]
pub struct Supervisor {
    status: watch::Receiver<EidStatus>,
    client: watch::Receiver<Option<EidClient>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Starts supervising (in a task on the current tokio runtime) and returns at once;
    /// [`status`](Self::status) tells how it goes.
    pub fn start(config: SupervisorConfig) -> Self {
        let (status_tx, status) = watch::channel(EidStatus::default());
        let (client_tx, client) = watch::channel(None);
        let (stop, stop_rx) = watch::channel(false);
        let task = Task {
            config,
            status: status_tx,
            client: client_tx,
            stop: stop_rx,
            child: None,
            runtime_dir: None,
            started: 0,
            connections: 0,
        };
        Self {
            status,
            client,
            stop,
            task: Some(tokio::spawn(task.run())),
        }
    }

    /// AusweisApp's status now.
    pub fn status(&self) -> EidStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change (for staff mode and metrics).
    pub fn watch_status(&self) -> watch::Receiver<EidStatus> {
        self.status.clone()
    }

    /// The connected client, waiting up to `wait` for a connection.
    pub async fn client(&self, wait: Duration) -> Option<EidClient> {
        let mut client = self.client.clone();
        let connected = client.wait_for(|client| client.as_ref().is_some_and(|c| !c.is_closed()));
        match tokio::time::timeout(wait, connected).await {
            Ok(Ok(client)) => client.clone(),
            _ => None,
        }
    }

    /// Waits until the status satisfies `condition`, at most `wait`; returns the status.
    pub async fn wait_for_status(
        &self,
        wait: Duration,
        condition: impl FnMut(&EidStatus) -> bool,
    ) -> Option<EidStatus> {
        let mut status = self.status.clone();
        match tokio::time::timeout(wait, status.wait_for(condition)).await {
            Ok(Ok(status)) => Some(status.clone()),
            _ => None,
        }
    }

    /// Stops supervising: closes the connection and stops an AusweisApp it started.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            // The task stops the process within its own time limits; this is a guard.
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // The task stops the process; if the runtime is gone, `kill_on_drop` does.
        let _ = self.stop.send(true);
    }
}

/// A private directory for a started AusweisApp's temporary files (its port file).
#[derive(Debug)]
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn create() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "kiosk-eid-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&path)?;
        Ok(Self(path))
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Task {
    config: SupervisorConfig,
    status: watch::Sender<EidStatus>,
    client: watch::Sender<Option<EidClient>>,
    stop: watch::Receiver<bool>,
    /// The AusweisApp this supervisor started, with the port it listens on.
    child: Option<(Child, u16)>,
    runtime_dir: Option<RuntimeDir>,
    /// Processes started so far.
    started: u32,
    /// Connections made so far.
    connections: u32,
}

/// Why serving a connection ended.
enum Ended {
    Stop,
    Lost,
}

/// How long an empty reader list may wait for a first `READER` message.
const READER_SETTLE: Duration = Duration::from_millis(1000);

/// How often an empty reader list leads to a new connection.
const RESCANS: u32 = 2;

/// Failed connection attempts in a row after which a started AusweisApp counts as hung.
const HUNG_AFTER: u32 = 3;

/// A connection this long is "stable": the back-off starts over after it.
const STABLE: Duration = Duration::from_secs(30);

impl Task {
    async fn run(mut self) {
        let mut backoff = self.config.backoff_initial;
        // Failed attempts in a row (a started AusweisApp that keeps failing is restarted).
        let mut failures = 0;
        // A separate receiver, so a stop also interrupts a slow start.
        let mut stop = self.stop.clone();
        while !*self.stop.borrow() {
            let established = tokio::select! {
                established = self.establish() => established,
                _ = stop.changed() => break,
            };
            match established {
                Ok((client, messages)) => {
                    let since = Instant::now();
                    failures = 0;
                    let ended = self.serve(&client, messages).await;
                    self.client.send_replace(None);
                    // Close for every clone (a login may still hold one).
                    client.close().await;
                    if matches!(ended, Ended::Stop) {
                        break;
                    }
                    if since.elapsed() >= STABLE {
                        backoff = self.config.backoff_initial;
                    }
                    self.status.send_modify(|status| {
                        status.connection = Connection::Reconnecting;
                        status.readers.clear();
                    });
                }
                Err(problem) => {
                    failures += 1;
                    if failures >= HUNG_AFTER && self.child.is_some() {
                        tracing::error!(
                            failures,
                            "the started AusweisApp does not answer; restarting it"
                        );
                        self.stop_child().await;
                        failures = 0;
                    }
                    // Warn once per problem, not on every retry.
                    if self.status.borrow().problem != Some(problem) {
                        tracing::warn!(problem = problem.code(), "AusweisApp not available");
                    } else {
                        tracing::debug!(problem = problem.code(), "AusweisApp still not available");
                    }
                    self.status.send_modify(|status| {
                        status.problem = Some(problem);
                        status.readers.clear();
                        if status.connection == Connection::Connected {
                            status.connection = Connection::Reconnecting;
                        }
                    });
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.stop.changed() => break,
            }
            backoff = (backoff * 2).min(self.config.backoff_max);
        }
        self.client.send_replace(None);
        self.stop_child().await;
        self.status.send_modify(|status| {
            status.connection = Connection::Stopped;
            status.pid = None;
            status.readers.clear();
        });
    }

    /// Connects to a running AusweisApp or starts one, then greets it.
    async fn establish(&mut self) -> Result<(EidClient, Messages), StatusProblem> {
        self.reap_child();
        let config = &self.config;
        if self.child.is_none() {
            if config.port != 0 {
                match EidClient::connect(&config.host, config.port, config.client).await {
                    Ok(client) => return self.greet(client, config.port, false).await,
                    Err(ClientError::NotListening { .. }) => {}
                    Err(ClientError::Busy { .. }) => return Err(StatusProblem::Busy),
                    Err(error) => {
                        tracing::warn!(%error, "connecting to AusweisApp failed");
                        return Err(StatusProblem::ConnectFailed);
                    }
                }
            }
            self.spawn()?;
        }
        let Some((_, port)) = self.child else {
            return Err(StatusProblem::StartFailed);
        };
        let port = if port == 0 {
            self.wait_for_port_file().await?
        } else {
            port
        };
        if let Some((_, known)) = &mut self.child {
            *known = port;
        }
        let deadline = Instant::now() + self.config.startup_timeout;
        loop {
            match EidClient::connect(&self.config.host, port, self.config.client).await {
                Ok(client) => return self.greet(client, port, true).await,
                Err(ClientError::NotListening { .. } | ClientError::Timeout { .. })
                    if Instant::now() < deadline => {}
                Err(ClientError::NotListening { .. } | ClientError::Timeout { .. }) => {
                    tracing::error!("AusweisApp did not accept connections in time; stopping it");
                    self.stop_child().await;
                    return Err(StatusProblem::StartTimeout);
                }
                Err(ClientError::Busy { .. }) => return Err(StatusProblem::Busy),
                Err(error) => {
                    tracing::warn!(%error, "connecting to the started AusweisApp failed");
                    return Err(StatusProblem::ConnectFailed);
                }
            }
            if self.reap_child() {
                return Err(StatusProblem::StartFailed);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sets the API level and reads version and readers; publishes the connection.
    ///
    /// AusweisApp 1.26 starts its reader scan when a client connects; a client that
    /// connects while its reader plugins are still loading gets no scan at all: no reader
    /// (not even its `Simulator`) ever appears. So an empty reader list gets a short wait
    /// for `READER` messages and then a new connection, which starts the scan (bounded).
    async fn greet(
        &mut self,
        mut client: EidClient,
        port: u16,
        managed: bool,
    ) -> Result<(EidClient, Messages), StatusProblem> {
        let failed = |error: ClientError| {
            tracing::warn!(%error, "AusweisApp did not answer the greeting");
            StatusProblem::ConnectFailed
        };
        let mut attempt = 0;
        let (messages, level, info, readers) = loop {
            let mut messages = client.subscribe();
            let level = client.set_api_level(API_LEVEL).await.map_err(failed)?;
            let info = client.get_info().await.map_err(failed)?;
            let mut readers = client.get_reader_list().await.map_err(failed)?;
            if readers.is_empty()
                && let Ok(Message::Reader(reader)) = messages.next(READER_SETTLE).await
            {
                readers.push(reader);
            }
            if !readers.is_empty() || attempt == RESCANS {
                break (messages, level, info, readers);
            }
            attempt += 1;
            tracing::info!("AusweisApp lists no reader; reconnecting so that it scans for readers");
            client.close().await;
            client = EidClient::connect(&self.config.host, port, self.config.client)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "reconnecting to AusweisApp failed");
                    StatusProblem::ConnectFailed
                })?;
        };
        self.connections += 1;
        let version = info.version_info.implementation_version;
        tracing::info!(
            version = version.as_deref().unwrap_or("unknown"),
            managed,
            readers = readers.len(),
            "connected to AusweisApp"
        );
        let pid = self.child.as_ref().and_then(|(child, _)| child.id());
        let reconnects = self.connections.saturating_sub(1);
        let restarts = self.started.saturating_sub(1);
        self.status.send_modify(|status| {
            status.connection = Connection::Connected;
            status.problem = None;
            status.version = version;
            status.api_level = level.current;
            status.set_readers(&readers);
            status.managed = managed;
            status.pid = if managed { pid } else { None };
            status.reconnects = reconnects;
            status.restarts = restarts;
        });
        self.client.send_replace(Some(client.clone()));
        Ok((client, messages))
    }

    /// Follows reader changes until the connection or the process ends, or stop.
    async fn serve(&mut self, client: &EidClient, mut messages: Messages) -> Ended {
        let Self {
            child,
            status,
            stop,
            ..
        } = self;
        let exited = async {
            match child.as_mut() {
                Some((process, _)) => process.wait().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::pin!(exited);
        loop {
            tokio::select! {
                _ = stop.changed() => return Ended::Stop,
                exit = &mut exited => {
                    tracing::warn!(status = ?exit, "AusweisApp exited");
                    return Ended::Lost;
                }
                message = messages.next(Duration::from_secs(3600)) => match message {
                    Ok(Message::Reader(reader)) => status.send_modify(|s| s.update_reader(&reader)),
                    Ok(Message::ReaderList(list)) => status.send_modify(|s| s.set_readers(&list.readers)),
                    Ok(_) | Err(ClientError::Timeout { .. }) => {}
                    Err(ClientError::Missed(_)) => {
                        if let Ok(readers) = client.get_reader_list().await {
                            status.send_modify(|s| s.set_readers(&readers));
                        }
                    }
                    Err(_) => {
                        tracing::warn!("connection to AusweisApp lost");
                        return Ended::Lost;
                    }
                },
            }
        }
    }

    /// Starts AusweisApp headless on the configured port.
    fn spawn(&mut self) -> Result<(), StatusProblem> {
        let binary = match &self.config.launch {
            Launch::Never => return Err(StatusProblem::NotRunning),
            Launch::Binary(path) => path.clone(),
            Launch::Find => find_binary().ok_or(StatusProblem::BinaryMissing)?,
        };
        if !is_executable(&binary) {
            return Err(StatusProblem::BinaryMissing);
        }
        if self.runtime_dir.is_none() {
            let dir = RuntimeDir::create().map_err(|error| {
                tracing::error!(%error, "cannot create a runtime directory for AusweisApp");
                StatusProblem::StartFailed
            })?;
            self.runtime_dir = Some(dir);
        }
        let runtime = self
            .runtime_dir
            .as_ref()
            .map(|dir| dir.0.clone())
            .unwrap_or_default();
        let port = self.config.port;
        let mut process = Process::new(&binary);
        process
            .arg("--ui")
            .arg("websocket")
            .arg("--port")
            .arg(port.to_string())
            .arg("--address")
            .arg(&self.config.host)
            .arg("--no-logfile")
            .env("QT_QPA_PLATFORM", "offscreen")
            // AusweisApp writes its port file (for port 0) to TMPDIR; Qt wants a private
            // XDG_RUNTIME_DIR.
            .env("TMPDIR", &runtime)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(home) = &self.config.home {
            process.env("HOME", home);
        }
        match &self.config.log_file {
            Some(path) => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path);
                let log = log.and_then(|file| Ok((file.try_clone()?, file)));
                match log {
                    Ok((out, err)) => {
                        process.stdout(out).stderr(err);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot open AusweisApp's log file; discarding its output");
                        process.stdout(Stdio::null()).stderr(Stdio::null());
                    }
                }
            }
            None => {
                process.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = process.spawn().map_err(|error| {
            tracing::error!(%error, binary = %binary.display(), "cannot start AusweisApp");
            StatusProblem::StartFailed
        })?;
        self.started += 1;
        tracing::info!(pid = child.id(), binary = %binary.display(), port, "started AusweisApp");
        self.child = Some((child, port));
        Ok(())
    }

    /// Waits for the port file a started AusweisApp writes when given port 0.
    async fn wait_for_port_file(&mut self) -> Result<u16, StatusProblem> {
        let pid = self.child.as_ref().and_then(|(child, _)| child.id());
        let (Some(pid), Some(dir)) = (pid, &self.runtime_dir) else {
            return Err(StatusProblem::StartFailed);
        };
        let names = BINARY_NAMES.map(|name| dir.0.join(format!("{name}.{pid}.port")));
        let deadline = Instant::now() + self.config.startup_timeout;
        while Instant::now() < deadline {
            for name in &names {
                if let Ok(text) = std::fs::read_to_string(name)
                    && let Ok(port) = text.trim().parse::<u16>()
                    && port != 0
                {
                    return Ok(port);
                }
            }
            if self.reap_child() {
                return Err(StatusProblem::StartFailed);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::error!("AusweisApp wrote no port file in time; stopping it");
        self.stop_child().await;
        Err(StatusProblem::StartTimeout)
    }

    /// Forgets a started AusweisApp that has exited; returns whether it had.
    fn reap_child(&mut self) -> bool {
        let exited = match &mut self.child {
            Some((child, _)) => !matches!(child.try_wait(), Ok(None)),
            None => false,
        };
        if exited {
            tracing::warn!("AusweisApp is no longer running");
            self.child = None;
            self.status.send_modify(|status| status.pid = None);
        }
        exited
    }

    /// Stops a started AusweisApp: SIGTERM, then SIGKILL after three seconds.
    async fn stop_child(&mut self) {
        let Some((mut child, _)) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                // A stopped (hung by SIGSTOP) process handles SIGTERM only once continued.
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::CONT);
            }
            if tokio::time::timeout(Duration::from_secs(3), child.wait())
                .await
                .is_ok()
            {
                tracing::info!("AusweisApp stopped");
                return;
            }
            tracing::warn!("AusweisApp ignored SIGTERM; killing it");
        }
        let _ = child.kill().await;
    }
}
