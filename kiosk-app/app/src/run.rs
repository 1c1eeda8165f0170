//! `kiosk-app run`: the kiosk as a town hall runs it, from `kiosk.toml`.
//!
//! The UI's event loop owns the main thread; tokio runs the outbox's sync
//! engine, the printer service, the reachability probe and the effects on two
//! worker threads. SIGTERM (systemd stopping the service) closes the window,
//! lets an in-flight submission finish and stops the sync engine, which
//! requeues whatever it was sending.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use kiosk_card::CscaStore;
use kiosk_catalogue::Catalogue;
use kiosk_config::KioskConfig;
use kiosk_journey::{Journey, JourneyConfig};
use kiosk_printer::Timeouts;
use kiosk_printer::service::PrinterService;
use offline_cache::{Outbox, SyncConfig, SyncEngine, Transport};
use slint::ComponentHandle;
use tokio::sync::watch;

use crate::eid::{EidEvents, EidService};
use crate::identity::{ChipReader, ConfiguredReader, DocumentReader};
use crate::kiosk::Performer;
use crate::ops::Operations;
use crate::printer_link::{ConnectingPrinter, profile};
use crate::setup;
use crate::staff::{self, ReaderCheck, StaffPerformer};
use crate::window::{LocalClock, Observer, WindowEffects};
use kiosk_staff::{StaffConfig, StaffMode};

/// Runs the kiosk with the configuration at `path` until SIGTERM or the window closes.
pub fn run(path: &Path) -> ExitCode {
    let config = match KioskConfig::load(path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    crate::init_logging(config.logging.format);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let station = match runtime.block_on(Station::start(&config)) {
        Ok(station) => station,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let documents = match document_reader(&config) {
        Ok(documents) => documents,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let reader = if documents.is_some() {
        ReaderCheck::Pcsc(config.reader.name.clone())
    } else {
        ReaderCheck::NotConfigured
    };
    let performer = station.performer(documents);
    let outcome = station.show(&runtime, performer, reader, Arc::new(|_| {}));
    runtime.shutdown_timeout(Duration::from_secs(5));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Two workers: the machine has few cores and the UI thread needs one.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The passport reader from `[reader]`, or `None` when the kiosk has none.
pub fn document_reader(config: &KioskConfig) -> Result<Option<Box<dyn DocumentReader>>> {
    if !config.reader.enabled {
        return Ok(None);
    }
    let cscas = match &config.reader.csca_dir {
        Some(dir) => load_cscas(dir)?,
        None => CscaStore::new(),
    };
    match kiosk_card::ReaderManager::new() {
        Ok(manager) => {
            let reader = ConfiguredReader::new(Arc::new(manager), config.reader.name.clone());
            Ok(Some(Box::new(
                ChipReader::new(reader, cscas).with_phone_issuers(phone_issuers(config)?),
            )))
        }
        Err(error) => {
            // The kiosk still works without a reader: citizens type their data in.
            tracing::error!(%error, "no PC/SC service: identification by card is not offered");
            Ok(None)
        }
    }
}

/// The phone credential issuers of `[[reader.phone_issuers]]`.
fn phone_issuers(config: &KioskConfig) -> Result<kiosk_card::TrustedIssuers> {
    let mut issuers = kiosk_card::TrustedIssuers::new();
    for issuer in &config.reader.phone_issuers {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&issuer.public_key).map_err(|_| {
            anyhow::anyhow!(
                "reader.phone_issuers.public_key: the key of '{}' is not a valid Ed25519 point",
                issuer.name
            )
        })?;
        issuers.add(&kiosk_card::phone::key_id(&key), &issuer.name, key);
    }
    Ok(issuers)
}

/// Every certificate file (`.der`, `.cer`, `.crt`) and CSCA master list (`.ml`, ICAO Doc
/// 9303-12, e.g. the German one from the BSI) in `dir`.
///
/// Single certificates load first, whatever the file names are: a master list is only
/// accepted when its signer was issued by one of them (a list cannot vouch for itself),
/// e.g. the German list together with the German CSCA certificate from the BSI.
fn load_cscas(dir: &Path) -> Result<CscaStore> {
    let mut store = CscaStore::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reader.csca_dir: cannot read {}", dir.display()))?;
    let extension = |path: &Path| {
        path.extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase)
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            extension(path).is_some_and(|ext| matches!(ext.as_str(), "der" | "cer" | "crt" | "ml"))
        })
        .collect();
    files.sort_by_key(|path| (extension(path).as_deref() == Some("ml"), path.clone()));
    for file in files {
        let der = std::fs::read(&file)
            .with_context(|| format!("reader.csca_dir: cannot read {}", file.display()))?;
        if extension(&file).as_deref() == Some("ml") {
            let added = store.add_master_list(&der).with_context(|| {
                format!(
                    "reader.csca_dir: {} is not a usable CSCA master list",
                    file.display()
                )
            })?;
            tracing::info!(file = %file.display(), added, "CSCA master list loaded");
        } else {
            store.add_der(&der).with_context(|| {
                format!(
                    "reader.csca_dir: {} is not a DER certificate",
                    file.display()
                )
            })?;
        }
    }
    Ok(store)
}

/// Where the catalogue in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogueSource {
    /// Built in, or `services.catalogue_dir`.
    Local,
    /// Just fetched from the catalogue server.
    Fetched,
    /// The server was unreachable or sent something unusable: the last good
    /// signed catalogue stored in the kiosk's database.
    LastGood,
}

/// The catalogue to start with: with `services.catalogue_url`, the newest
/// signed catalogue from the server, or the last good one stored when the
/// server is down; otherwise (or before the first successful fetch) the
/// local one. Narrowed to the configured languages and services.
pub async fn current_catalogue(
    config: &KioskConfig,
    outbox: &Outbox,
) -> Result<(Catalogue, CatalogueSource)> {
    let Some(updates) = &config.services.updates else {
        return Ok((setup::catalogue(config)?, CatalogueSource::Local));
    };
    let cache = offline_cache::CatalogueCache::new(
        outbox,
        offline_cache::CatalogueCacheConfig {
            url: updates.url.clone(),
            publisher_key: updates.publisher_key,
            request_timeout: Duration::from_secs(10),
        },
    )
    .context("services.catalogue_url")?;
    let source = match cache.refresh().await {
        Ok(outcome) => {
            tracing::info!(?outcome, "catalogue server answered");
            CatalogueSource::Fetched
        }
        Err(error) => {
            tracing::warn!(%error, "catalogue update failed");
            CatalogueSource::LastGood
        }
    };
    match cache.current() {
        Ok(Some(fetched)) => {
            let narrowed =
                setup::narrow(fetched, &config.languages.enabled, &config.services.enabled);
            match narrowed {
                Ok(catalogue) => return Ok((catalogue, source)),
                Err(problems) => {
                    for problem in problems {
                        tracing::error!(%problem, "the fetched catalogue does not fit the configuration; using the local one");
                    }
                }
            }
        }
        Ok(None) => tracing::warn!("no catalogue fetched yet; using the local one"),
        Err(error) => {
            tracing::error!(%error, "the stored catalogue is unusable; using the local one")
        }
    }
    Ok((setup::catalogue(config)?, CatalogueSource::Local))
}

/// The parts of a running kiosk that live on the tokio runtime.
pub struct Station {
    /// The catalogue as configured.
    pub catalogue: Arc<Catalogue>,
    /// Time-outs.
    pub journey_config: JourneyConfig,
    /// The outbox.
    pub outbox: Outbox,
    /// Whether the portal is reachable.
    pub online: Arc<AtomicBool>,
    printer: Option<PrinterService<kiosk_printer::PrinterError>>,
    /// Metrics, health and systemd.
    pub ops: Operations,
    ops_address: std::net::SocketAddr,
    config: KioskConfig,
    /// eID login, until [`Station::performer`] hands it to the performer.
    eid: std::sync::Mutex<Option<(EidService, EidEvents)>>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// AusweisApp's supervisor and the portal's eID session client from `[eid]`,
/// or `None` when eID login is switched off.
fn start_eid(config: &KioskConfig) -> Result<Option<(EidService, EidEvents)>> {
    if !config.eid.enabled {
        return Ok(None);
    }
    if config.eid.developer_mode {
        tracing::warn!(
            "eid.developer_mode is on: AusweisApp accepts test certificates and plain http; never on a citizen's kiosk"
        );
    }
    let portal = setup::eid_login_client(&config.portal)?;
    let launch = match &config.eid.launch {
        kiosk_config::AusweisAppLaunch::Start(None) => kiosk_eid::Launch::Find,
        kiosk_config::AusweisAppLaunch::Start(Some(binary)) => {
            kiosk_eid::Launch::Binary(binary.clone())
        }
        kiosk_config::AusweisAppLaunch::Connect => kiosk_eid::Launch::Never,
    };
    let supervisor = kiosk_eid::Supervisor::start(kiosk_eid::SupervisorConfig {
        port: config.eid.port,
        launch,
        // AusweisApp keeps its settings under the kiosk's data folder.
        home: Some(config.kiosk.data_dir.join("ausweisapp")),
        ..kiosk_eid::SupervisorConfig::default()
    });
    Ok(Some(EidService::new(
        supervisor,
        portal,
        config.kiosk.id.clone(),
    )))
}

impl Station {
    /// Opens the outbox and starts the sync engine (to the portal, and to
    /// FIT-Connect for the routed services), the printer service and the
    /// reachability probe. Must run on the tokio runtime.
    pub async fn start(config: &KioskConfig) -> Result<Self> {
        let portal = setup::transport(&config.portal)?;
        let fit_connect = setup::fit_connect_config(config)?;
        let mut refresh = None;
        let station = Self::start_building(config, |outbox| {
            let Some(settings) = fit_connect else {
                return Ok(KioskTransport {
                    portal,
                    fit_connect: None,
                    routed: Default::default(),
                });
            };
            let routed = settings.routes.keys().cloned().collect();
            // Registers the FIT-Connect sealers: from now on the outbox
            // encrypts routed services to their destination's key.
            let fit = Arc::new(
                kiosk_fit_connect::FitConnectTransport::new(settings, outbox.clone())
                    .map_err(|error| anyhow::anyhow!("fit_connect: {error}"))?,
            );
            refresh = Some(fit.clone());
            Ok(KioskTransport {
                portal,
                fit_connect: Some(fit),
                routed,
            })
        })
        .await?;
        if let Some(fit) = refresh {
            tokio::spawn(refresh_fit_connect_keys(fit, station.stop.subscribe()));
        }
        Ok(station)
    }

    /// Like [`Station::start`] with a given transport (the demo's, tests').
    pub async fn start_with<T: Transport>(config: &KioskConfig, transport: T) -> Result<Self> {
        Self::start_building(config, |_| Ok(transport)).await
    }

    async fn start_building<T: Transport>(
        config: &KioskConfig,
        transport: impl FnOnce(&Outbox) -> Result<T>,
    ) -> Result<Self> {
        let outbox_config = setup::outbox_config(config)?;
        std::fs::create_dir_all(&config.kiosk.data_dir).with_context(|| {
            format!(
                "kiosk.data_dir: cannot create {}",
                config.kiosk.data_dir.display()
            )
        })?;
        let outbox = Outbox::open(config.outbox_path(), outbox_config).with_context(|| {
            format!("cannot open the outbox {}", config.outbox_path().display())
        })?;
        let transport = transport(&outbox)?;
        let (catalogue, catalogue_source) = current_catalogue(config, &outbox).await?;
        // The local catalogue is checked against the fonts by `config
        // check` (the unit's ExecStartPre); only a served one is new here.
        // Catalogue texts, not personal data: safe to log.
        if catalogue_source != CatalogueSource::Local {
            for warning in crate::catalogue_check::font_warnings(&catalogue, 10) {
                tracing::warn!("{warning}");
            }
        }
        let catalogue = Arc::new(catalogue);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        // Built before the engine: it counts the engine's reports in /metrics.
        let ops = Operations::new(config, &catalogue.version)?;
        let engine = SyncEngine::new(outbox.clone(), transport, SyncConfig::default())
            .with_observer(ops.sync_observer());
        let mut until = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let summary = engine
                .run(async move {
                    let _ = until.wait_for(|stop| *stop).await;
                })
                .await;
            tracing::info!(?summary, "sync engine stopped");
        }));
        let online = Arc::new(AtomicBool::new(false));
        tasks.push(tokio::spawn(probe_portal(
            config.portal.url.clone(),
            online.clone(),
            outbox.clone(),
            stopped.clone(),
        )));
        let printer = config.printer.enabled.then(|| {
            let timeouts = Timeouts {
                status_answer: config.printer.status_timeout,
                ..Timeouts::default()
            };
            PrinterService::spawn(
                ConnectingPrinter::new(config.printer.connection.clone(), timeouts),
                setup::PRINTER_POLL,
            )
        });
        if catalogue_source == CatalogueSource::LastGood
            && let Ok(version) = kiosk_ops::CatalogueVersion::new(&catalogue.version)
        {
            ops.health
                .set_catalogue(kiosk_ops::CatalogueHealth::LastGood(version));
        }
        let (ops_tasks, ops_address) = ops
            .start(config, outbox.clone(), printer.clone(), stopped.clone())
            .await?;
        tasks.extend(ops_tasks);
        let eid = start_eid(config)?;
        if let Some((service, _)) = &eid {
            tasks.push(tokio::spawn(crate::eid::report_status(
                service.watch_status(),
                ops.clone(),
                stopped.clone(),
            )));
        }
        Ok(Self {
            catalogue,
            journey_config: setup::journey_config(config),
            outbox,
            online,
            printer,
            ops,
            ops_address,
            config: config.clone(),
            eid: std::sync::Mutex::new(eid),
            stop,
            tasks,
        })
    }

    /// Where `/metrics` and `/healthz` are served.
    pub fn ops_address(&self) -> std::net::SocketAddr {
        self.ops_address
    }

    /// The effect performer over this station's outbox and printer.
    pub fn performer(&self, documents: Option<Box<dyn DocumentReader>>) -> Performer {
        let performer = Performer::new(
            self.outbox.clone(),
            self.printer.clone(),
            profile(self.config.printer.model),
            self.config.kiosk.office.clone(),
            self.online.clone(),
        );
        let performer = match documents {
            Some(reader) => performer.with_document_reader(reader),
            None => performer,
        };
        let eid = self
            .eid
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match eid {
            Some((service, events)) => performer.with_eid(service, events),
            None => performer,
        }
    }

    /// Shows the kiosk full-screen until the window closes or SIGTERM, then
    /// finishes in-flight work and stops the background tasks.
    pub fn show(
        self,
        runtime: &tokio::runtime::Runtime,
        performer: Performer,
        reader: ReaderCheck,
        observer: Observer,
    ) -> Result<()> {
        let staff_mode = StaffMode::new(
            StaffConfig::default(),
            setup::staff_credentials(&self.config)?,
        )
        .starting_out_of_service(staff::starts_out_of_service(&self.config));
        let staff = StaffPerformer::new(
            &self.config,
            self.outbox.clone(),
            self.printer.clone(),
            reader.clone(),
            self.ops.clone(),
            self.catalogue.version.clone(),
        );
        let staff = match performer.eid() {
            Some(eid) => staff.with_eid_status(eid.watch_status()),
            None => staff,
        };
        let ops = self.ops.clone();
        let observer: Observer = Arc::new(move |happened| {
            ops.observe(happened);
            observer(happened);
        });
        let check_in = CheckInReading {
            issuers: phone_issuers(&self.config)?,
            window: self.config.check_in,
            identifying: performer.identifying(),
        };
        let capabilities = performer.capability_source();
        let (effects, performing) =
            WindowEffects::spawn(runtime.handle(), performer, staff, observer);
        let journey = Journey::new(
            self.catalogue.clone(),
            self.journey_config,
            crate::kiosk::now_since(std::time::Instant::now()),
        );
        runtime.spawn(quit_on_signal());
        let shown = (|| -> Result<()> {
            let kiosk = kiosk_ui::Kiosk::new(
                journey,
                staff_mode,
                Box::new(LocalClock::new()),
                Box::new(effects),
            )
            .context("cannot build the user interface")?;
            match &reader {
                ReaderCheck::Pcsc(name) => {
                    runtime.spawn(forward_cards(
                        kiosk_card::ReaderManager::watch(kiosk_card::WatchConfig::default()),
                        name.clone(),
                        |reader: &str| kiosk_card::ReaderManager::new()?.connect(reader),
                        check_in.clone(),
                        kiosk.sender(),
                    ));
                }
                ReaderCheck::InProcess(in_process) => {
                    let slot = in_process.clone();
                    runtime.spawn(forward_cards(
                        in_process.watch(),
                        None,
                        move |_: &str| kiosk_card::CardReader::connect(&slot),
                        check_in.clone(),
                        kiosk.sender(),
                    ));
                }
                ReaderCheck::NotConfigured => {}
            }
            runtime.spawn(report_capabilities(
                capabilities,
                kiosk.sender(),
                self.stop.subscribe(),
            ));
            runtime.spawn(staff::report_reader_state(
                reader.clone(),
                self.ops.clone(),
                self.stop.subscribe(),
            ));
            let window = kiosk.ui().component();
            // Full screen under the kiosk compositor; a window manager-less X
            // display (the demo under Xvfb) ignores that, so start at 1080p.
            window
                .window()
                .set_size(slint::LogicalSize::new(1920.0, 1080.0));
            window.window().set_fullscreen(true);
            // The UI thread proves it is alive; the watchdog pings only then.
            let heartbeat = self.ops.heartbeat.clone();
            let beating = slint::Timer::default();
            beating.start(
                slint::TimerMode::Repeated,
                Duration::from_secs(1),
                move || {
                    heartbeat.beat();
                },
            );
            let ops = self.ops.clone();
            let kiosk_id = self.config.kiosk.id.clone();
            slint::Timer::single_shot(Duration::ZERO, move || {
                tracing::info!(kiosk = %kiosk_id, "kiosk ready");
                ops.ready();
            });
            window.run().context("the window system failed")?;
            self.ops.stopping();
            Ok(())
        })();
        // The UI (and with it the effect sender) is gone: the effect task
        // finishes what it is doing, e.g. committing a submission, and ends.
        let finished = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), performing).await });
        if finished.is_err() {
            tracing::error!("an effect did not finish within 10 s at shutdown");
        }
        self.stop_background(runtime);
        shown
    }

    /// Stops the sync engine (it requeues what it was sending) and the other tasks.
    pub fn stop_background(self, runtime: &tokio::runtime::Runtime) {
        let _ = self.stop.send(true);
        runtime.block_on(async {
            for task in self.tasks {
                let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
            }
        });
    }
}

/// Sends the UID of every card put on the reader to staff mode, which opens
/// for a configured staff card and ignores every other card.
async fn forward_cards<C, F>(
    mut watcher: kiosk_card::ReaderWatcher,
    name: Option<String>,
    open: F,
    check_in: CheckInReading,
    events: kiosk_ui::EventSender,
) where
    C: kiosk_card::Card,
    F: Fn(&str) -> kiosk_card::Result<C> + Clone + Send + 'static,
{
    let mut checked_in =
        CheckedIn::new(check_in.window.opens_before + check_in.window.closes_after);
    while let Some(event) = watcher.next().await {
        let kiosk_card::ReaderEvent::CardInserted { reader, .. } = event else {
            continue;
        };
        if name.as_deref().is_some_and(|part| !reader.contains(part)) {
            continue;
        }
        // A passport read or an eID login has the card: no other command may interleave.
        if check_in.identifying.load(Ordering::Acquire) {
            continue;
        }
        let open = open.clone();
        let check_in = check_in.clone();
        let read = tokio::task::spawn_blocking(move || -> kiosk_card::Result<_> {
            let mut card = open(&reader)?;
            // GET DATA for the UID is answered by the reader itself, so it never
            // disturbs a chip session; an identification may run at this moment.
            let uid = kiosk_card::read_uid(&mut card);
            // Selecting the phone app would break a passport read that just started.
            let appointment = (!check_in.identifying.load(Ordering::Acquire))
                .then(|| {
                    crate::identity::read_appointment(
                        &mut card,
                        &check_in.issuers,
                        check_in.window,
                        &jiff::ZonedDateTime::now(),
                    )
                })
                .flatten();
            Ok((uid, appointment))
        })
        .await;
        let (uid, appointment) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                tracing::debug!(kind = ?error.kind(), "could not connect to the card");
                continue;
            }
            Err(error) => {
                // A bug while parsing a card's answer must not end staff cards and check-in.
                tracing::error!(%error, "the card read task failed");
                continue;
            }
        };
        match uid {
            Ok(uid) => {
                let sent = events.send_staff(kiosk_staff::StaffEvent::CardPresented(
                    kiosk_staff::CardUid::new(uid.as_bytes().to_vec()),
                ));
                if !sent {
                    return;
                }
            }
            // Passports and phones often have no fixed UID: not a staff card.
            Err(error) => tracing::debug!(kind = ?error.kind(), "card without a UID"),
        }
        if let Some(appointment) = appointment {
            if !checked_in.first_time(&appointment.credential, std::time::Instant::now()) {
                tracing::debug!("the same appointment again; not checked in twice");
                continue;
            }
            if !events.send(kiosk_journey::Event::AppointmentShown(appointment)) {
                return;
            }
        }
    }
}

/// Tells the journey whenever what the kiosk can do changes (the portal comes
/// online, AusweisApp connects or loses its reader), checked every second;
/// ends when the UI is gone or the kiosk stops.
async fn report_capabilities(
    source: crate::kiosk::CapabilitySource,
    events: kiosk_ui::EventSender,
    mut stopped: watch::Receiver<bool>,
) {
    let mut last = None;
    loop {
        let now = source.capabilities();
        if last != Some(now) {
            if !events.send(kiosk_journey::Event::Capabilities(now)) {
                return;
            }
            last = Some(now);
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// The appointment credentials seen lately: a phone may be seen again and
/// again while it is held to the reader, and is checked in once per window.
struct CheckedIn {
    remember_for: Duration,
    seen: Vec<(String, std::time::Instant)>,
}

impl CheckedIn {
    fn new(remember_for: Duration) -> Self {
        Self {
            remember_for,
            seen: Vec::new(),
        }
    }

    /// Whether `credential` was not seen within the window before `now`; remembers it.
    fn first_time(&mut self, credential: &str, now: std::time::Instant) -> bool {
        self.seen
            .retain(|(_, at)| now.saturating_duration_since(*at) < self.remember_for);
        if self.seen.iter().any(|(seen, _)| seen == credential) {
            return false;
        }
        self.seen.push((credential.to_owned(), now));
        true
    }
}

/// What the card watcher needs to check citizens in with their phone's appointment.
#[derive(Clone)]
pub struct CheckInReading {
    /// Whose appointment credentials are trusted (`[[reader.phone_issuers]]`).
    pub issuers: kiosk_card::TrustedIssuers,
    /// When appointments can be checked in.
    pub window: crate::identity::CheckInWindow,
    /// Set while an identification reads the card ([`Performer::identifying`]).
    pub identifying: Arc<AtomicBool>,
}

/// The kiosk's way to the offices: FIT-Connect for the services routed there,
/// the municipal portal's sync API for the rest.
pub struct KioskTransport {
    portal: offline_cache::HttpTransport,
    fit_connect: Option<Arc<kiosk_fit_connect::FitConnectTransport>>,
    routed: std::collections::HashSet<String>,
}

impl Transport for KioskTransport {
    async fn deliver(&self, envelope: &offline_cache::Envelope) -> offline_cache::DeliveryOutcome {
        match &self.fit_connect {
            Some(fit) if self.routed.contains(&envelope.service_id) => fit.deliver(envelope).await,
            _ => self.portal.deliver(envelope).await,
        }
    }
}

/// Fetches and validates the FIT-Connect destinations' keys at start and
/// then hourly: the outbox can seal a routed submission only with a cached key.
async fn refresh_fit_connect_keys(
    fit: Arc<kiosk_fit_connect::FitConnectTransport>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        for (destination, result) in fit.refresh_keys().await {
            match result {
                Ok(kid) => tracing::info!(%destination, %kid, "FIT-Connect destination key cached"),
                Err(error) => {
                    tracing::warn!(%destination, %error, "FIT-Connect destination key not refreshed")
                }
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// Closes the window on SIGTERM or SIGINT; the rest of the shutdown follows
/// from the closed event loop.
async fn quit_on_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM; stop the kiosk by closing its window");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    let _ = slint::invoke_from_event_loop(|| {
        let _ = slint::quit_event_loop();
    });
}

/// Keeps `online` true while the portal's host accepts TCP connections
/// (checked every 10 s, and after every change of the outbox's last delivery).
async fn probe_portal(
    url: String,
    online: Arc<AtomicBool>,
    outbox: Outbox,
    mut stopped: watch::Receiver<bool>,
) {
    let Some(address) = host_and_port(&url) else {
        tracing::error!("the portal URL has no host; the kiosk counts as offline");
        return;
    };
    loop {
        let reachable = tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::TcpStream::connect(address.as_str()),
        )
        .await
        .is_ok_and(|connected| connected.is_ok());
        let was = online.swap(reachable, Ordering::Relaxed);
        if was != reachable {
            tracing::info!(online = reachable, "portal reachability changed");
            if reachable {
                outbox.sync_now();
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

/// `host:port` of an `http(s)://` URL (default ports 80 and 443).
fn host_and_port(url: &str) -> Option<String> {
    let (default_port, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (443, rest)
    } else {
        (80, url.strip_prefix("http://")?)
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        && !authority.ends_with(']');
    Some(if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    })
}

#[cfg(test)]
mod tests {
    use super::{CheckedIn, host_and_port, load_cscas};
    use kiosk_virtual_cards::{MasterListFlaw, TestPki};
    use std::time::Duration;

    #[test]
    fn csca_dir_takes_certificates_and_master_lists() {
        let utopia = TestPki::generate("Utopia");
        let foreign = TestPki::generate("Freedonia");
        let dir = tempfile::tempdir().unwrap();
        // The list's signer was issued by the Utopian CSCA, which only the .der file holds;
        // its name sorts after the list's, and still loads first.
        std::fs::write(dir.path().join("z-utopia.der"), utopia.csca_certificate()).unwrap();
        let list = utopia.master_list(&[foreign.csca_certificate()], MasterListFlaw::None);
        std::fs::write(dir.path().join("a-list.ML"), &list).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        assert_eq!(load_cscas(dir.path()).unwrap().len(), 2);

        let broken = utopia.master_list(
            &[foreign.csca_certificate()],
            MasterListFlaw::ContentChangedAfterSigning,
        );
        std::fs::write(dir.path().join("a-list.ML"), &broken).unwrap();
        let error = format!("{:#}", load_cscas(dir.path()).unwrap_err());
        assert!(
            error.contains("a-list.ML is not a usable CSCA master list")
                && error.contains("download the master list again"),
            "{error}"
        );

        // Without the signer's CSCA as a file, even a list that carries it is refused.
        let self_made = utopia.master_list(
            &[utopia.csca_certificate(), foreign.csca_certificate()],
            MasterListFlaw::None,
        );
        std::fs::remove_file(dir.path().join("z-utopia.der")).unwrap();
        std::fs::write(dir.path().join("a-list.ML"), &self_made).unwrap();
        let error = format!("{:#}", load_cscas(dir.path()).unwrap_err());
        assert!(
            error.contains("a-list.ML is not a usable CSCA master list")
                && error.contains("not issued by a CSCA certificate configured")
                && error.contains("into reader.csca_dir"),
            "{error}"
        );
    }

    #[test]
    fn an_appointment_is_checked_in_once_per_window() {
        let start = std::time::Instant::now();
        let mut checked_in = CheckedIn::new(Duration::from_secs(45 * 60));
        assert!(checked_in.first_time("credential-a", start));
        assert!(!checked_in.first_time("credential-a", start + Duration::from_secs(5)));
        assert!(checked_in.first_time("credential-b", start + Duration::from_secs(6)));
        assert!(checked_in.first_time("credential-a", start + Duration::from_secs(45 * 60)));
    }

    #[test]
    fn portal_addresses_get_default_ports() {
        assert_eq!(
            host_and_port("https://portal.example/api").as_deref(),
            Some("portal.example:443")
        );
        assert_eq!(
            host_and_port("http://127.0.0.1:8080/v1").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(host_and_port("http://[::1]").as_deref(), Some("[::1]:80"));
        assert_eq!(host_and_port("ftp://x"), None);
        assert_eq!(host_and_port("https:///path"), None);
    }
}
