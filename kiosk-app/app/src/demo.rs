//! `kiosk-app demo`: the whole kiosk on virtual hardware, without a display.
//!
//! Three citizens use the kiosk while the portal is offline: a German dog-tax
//! registration with a (virtual) passport that pre-fills the form, an Arabic lost-property report and a Ukrainian bulky-waste
//! pick-up, the last one with the printer out of paper (so the receipt is
//! shown as a QR code). Then the portal (a local reference receiver) comes
//! online and the queued applications are delivered exactly once. Receipts
//! are rendered by the virtual printer to PNG files; a transcript goes to the
//! terminal and to `summary.txt`.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kiosk_catalogue::{Catalogue, Language};
use kiosk_journey::{Event, IdentifyChoice, Step};
use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
use kiosk_printer::{PrinterProfile, Timeouts};
use offline_cache::{
    HttpTransport, HttpTransportConfig, Outbox, OutboxConfig, RecipientKey, ReferenceFormat,
    SyncConfig, SyncEngine,
};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, test_keys};
use slint::ComponentHandle;

use crate::identity::{ChipReader, DocumentReader};
use crate::kiosk::{Happened, Kiosk, Performer};
use crate::printer_link::ConnectingPrinter;
use kiosk_card::CscaStore;
use kiosk_catalogue::IdentityMethod;
use kiosk_config::PrinterConnection;
use kiosk_journey::JourneyConfig;
use kiosk_printer::service::PrinterService;
use kiosk_virtual_cards::{InProcessReader, TestPki, VirtualPassport};

/// One scripted visit.
struct Visit {
    language: &'static str,
    /// Taps the (virtual) passport instead of typing the name in.
    passport: bool,
    service: &'static str,
    /// Answers typed by the citizen, by field id; other fields get sample values.
    answers: &'static [(&'static str, &'static str)],
    paper_out: bool,
}

const VISITS: [Visit; 3] = [
    Visit {
        language: "de",
        passport: true,
        service: "dog-tax",
        answers: &[],
        paper_out: false,
    },
    Visit {
        language: "ar",
        passport: false,
        service: "lost-property",
        answers: &[],
        paper_out: false,
    },
    Visit {
        language: "uk",
        passport: false,
        service: "bulky-waste",
        answers: &[],
        paper_out: true,
    },
];

/// Runs the demo and writes receipts and the summary into `out`; with
/// `portal_offline` the portal never comes up and the applications stay queued.
pub async fn run(out: &Path, portal_offline: bool) -> Result<()> {
    std::fs::create_dir_all(out.join("receipts"))
        .with_context(|| format!("cannot create the output folder {}", out.display()))?;
    let mut transcript = Transcript::default();
    let catalogue = Arc::new(Catalogue::embedded_default());
    transcript.line(format!(
        "Bürgerkiosk demo: built-in catalogue {} with {} services in {} languages",
        catalogue.version,
        catalogue.services.len(),
        catalogue.languages.len()
    ));

    // The portal's address is fixed now; it comes online later.
    let portal = free_local_port()?;
    let printer = VirtualPrinter::start(VirtualState::Ready)
        .await
        .context("cannot start the virtual printer on 127.0.0.1")?;
    transcript.line(format!(
        "virtual receipt printer listening on {}",
        printer.addr()
    ));

    let database = out.join("outbox.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    let outbox = Outbox::open(
        &database,
        OutboxConfig::new(
            RecipientKey::from_public_key_pem(test_keys::PUBLIC_KEY_PEM, None)
                .context("the demo's recipient key is invalid")?,
            ReferenceFormat::new("GE", "K27").context("the demo's reference format is invalid")?,
        ),
    )
    .with_context(|| format!("cannot open the outbox {}", database.display()))?;
    let online = Arc::new(AtomicBool::new(false));
    let cards = DemoCards::new();
    cards.place_passport()?;
    let (documents, reader_name) = (cards.document_reader()?, cards.name());
    transcript.line(format!(
        "{reader_name} with a virtual passport (ICAO 9303 specimen, CAN {DEMO_CAN}) on it"
    ));
    let printer_service = PrinterService::spawn(
        ConnectingPrinter::new(
            PrinterConnection::Tcp(printer.addr().to_string()),
            Timeouts::default(),
        ),
        crate::setup::PRINTER_POLL,
    );
    let performer = Performer::new(
        outbox.clone(),
        Some(printer_service),
        PrinterProfile::generic_80mm(),
        vec!["Stadt Gelsenkirchen".into(), "Bürgerkiosk (Demo)".into()],
        online.clone(),
    )
    .with_document_reader(documents);
    let mut kiosk = Kiosk::new(catalogue.clone(), JourneyConfig::default(), performer);
    transcript.line(format!(
        "portal (reference receiver) will listen on http://{portal}, offline for now"
    ));

    let mut screens = Screens::new(out.join("screens"))?;
    for visit in &VISITS {
        printer.set_state(if visit.paper_out {
            VirtualState::PaperOut
        } else {
            VirtualState::Ready
        });
        walk(&mut kiosk, visit, &mut transcript, &mut screens).await?;
    }
    transcript.line(format!(
        "{} screenshots of what the citizens saw: {}",
        screens.taken,
        screens.dir.display()
    ));

    let printed = printer.wait_for_receipts(2, Duration::from_secs(10)).await;
    for (index, receipt) in printed.iter().enumerate() {
        let path = out
            .join("receipts")
            .join(format!("receipt-{}.png", index + 1));
        std::fs::write(&path, receipt.to_png(576))
            .with_context(|| format!("cannot write {}", path.display()))?;
        transcript.line(format!("receipt image: {}", path.display()));
    }

    let status = outbox.status().context("cannot read the outbox status")?;
    transcript.line(format!(
        "outbox: {} application(s) waiting for the portal",
        status.undelivered()
    ));

    if portal_offline {
        transcript.line(format!(
            "portal stays offline: the applications wait in {}",
            database.display()
        ));
        return write_summary(out, &transcript);
    }
    let mut receiver_config = ReceiverConfig::with_test_key();
    receiver_config.bind = portal;
    let receiver = ReferenceReceiver::start(receiver_config)
        .await
        .context("cannot start the reference receiver")?;
    online.store(true, Ordering::Relaxed);
    transcript.line(format!("portal online at {}", receiver.base_url()));

    let transport = HttpTransport::new(HttpTransportConfig::new(receiver.base_url()))
        .context("cannot create the HTTP transport")?;
    let engine = SyncEngine::new(outbox.clone(), transport, SyncConfig::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sync = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));
    outbox.sync_now();
    let delivered = wait_until_delivered(&outbox, Duration::from_secs(30)).await?;
    let _ = stop.send(());
    let _ = sync.await;
    transcript.line(format!(
        "sync: {delivered} application(s) delivered; the portal received {} (each exactly once)",
        receiver.received_count()
    ));
    for received in receiver.received() {
        transcript.line(format!(
            "  portal has {} v{} with reference {} (server reference {})",
            received.service_id,
            received.service_version,
            received.reference,
            received.server_reference
        ));
    }
    receiver.shutdown().await;
    write_summary(out, &transcript)
}

fn write_summary(out: &Path, transcript: &Transcript) -> Result<()> {
    let summary = out.join("summary.txt");
    std::fs::write(&summary, &transcript.text)
        .with_context(|| format!("cannot write {}", summary.display()))?;
    println!("summary: {}", summary.display());
    Ok(())
}

/// One citizen's visit, from the attract screen to goodbye.
async fn walk(
    kiosk: &mut Kiosk,
    visit: &Visit,
    transcript: &mut Transcript,
    screens: &mut Screens,
) -> Result<()> {
    let prefix = format!("{}-{}", visit.language, visit.service);
    let mut shoot =
        |kiosk: &Kiosk, what: &str| screens.shoot(kiosk.journey(), &format!("{prefix}-{what}"));
    let language = Language::new(visit.language).map_err(anyhow::Error::msg)?;
    let catalogue = kiosk.journey().catalogue().clone();
    let service = catalogue
        .service(visit.service)
        .with_context(|| format!("the catalogue has no service '{}'", visit.service))?
        .clone();
    transcript.line(String::new());
    transcript.line(format!(
        "citizen taps the screen, chooses {} and \"{}\"",
        language.native_name(),
        service.title.get(&language)
    ));
    kiosk.dispatch(Event::Start).await;
    kiosk
        .dispatch(Event::ChooseLanguage(language.clone()))
        .await;
    kiosk
        .dispatch(Event::ChooseService(service.id.clone()))
        .await;
    if matches!(kiosk.journey().step(), Step::Identify(_)) {
        shoot(kiosk, "identify")?;
        if visit.passport {
            transcript.line(format!(
                "  identify: chooses the passport, types the CAN {DEMO_CAN}, places the passport on the reader"
            ));
            kiosk
                .dispatch(Event::ChooseIdentification(IdentifyChoice::Method(
                    IdentityMethod::Passport,
                )))
                .await;
            for happened in kiosk.dispatch(Event::EnterCan(DEMO_CAN.into())).await {
                if let Happened::Identified { verified } = happened {
                    transcript.line(format!(
                        "  chip read: names and date of birth pre-filled ({})",
                        if verified {
                            "passive authentication: verified"
                        } else {
                            "NOT verified"
                        }
                    ));
                }
            }
            if !matches!(kiosk.journey().step(), Step::Form { .. }) {
                bail!(
                    "the passport could not be read: {:?}",
                    kiosk.journey().step()
                );
            }
        } else {
            transcript.line("  identify: chooses \"type it in\"".to_owned());
            kiosk
                .dispatch(Event::ChooseIdentification(IdentifyChoice::TypeItIn))
                .await;
        }
    }
    let mut pages = 0;
    while let Step::Form { page } = kiosk.journey().step().clone() {
        pages += 1;
        if pages > service.pages.len() * 2 {
            bail!("the demo got stuck on page '{}'", service.pages[page].id);
        }
        kiosk.answer_page_with_samples(visit.answers).await;
        shoot(kiosk, &format!("page-{}", service.pages[page].id))?;
        transcript.line(format!(
            "  page \"{}\": answered, taps \"Next\"",
            service.pages[page].title.get(&language)
        ));
        kiosk.dispatch(Event::Next).await;
        let problems = kiosk.journey().problems();
        if !problems.is_empty() {
            let named: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
            bail!("the demo's answers were refused on fields {named:?}");
        }
    }
    shoot(kiosk, "review")?;
    transcript.line("  review: checks the answers, taps \"Next\"".to_owned());
    kiosk.dispatch(Event::Next).await;
    for consent in &service.consents {
        kiosk
            .dispatch(Event::SetConsent {
                id: consent.id.clone(),
                given: true,
            })
            .await;
    }
    shoot(kiosk, "consent")?;
    transcript.line(format!(
        "  consent: ticks {} box(es), taps \"Submit\"",
        service.consents.len()
    ));
    for happened in kiosk.dispatch(Event::Next).await {
        match happened {
            Happened::Saved {
                reference,
                queued_offline,
                ..
            } => transcript.line(format!(
                "  saved in the encrypted outbox: reference {reference}{}",
                if queued_offline {
                    " (portal offline: queued)"
                } else {
                    ""
                }
            )),
            Happened::Printed => transcript.line("  receipt printed".to_owned()),
            Happened::NotPrinted(problem) => transcript.line(format!(
                "  receipt NOT printed ({problem}): the screen shows the reference as a QR code; a warning is logged for staff"
            )),
            Happened::SaveFailed(problem) => bail!("the application was not saved: {problem}"),
            other => transcript.line(format!("  {other:?}")),
        }
    }
    shoot(kiosk, "receipt")?;
    kiosk.dispatch(Event::Finish).await;
    for happened in kiosk.dispatch(Event::Finish).await {
        if let Happened::SessionEnded(outcome) = happened {
            transcript.line(format!(
                "  goodbye: session ended ({outcome:?}); nothing personal is left in memory"
            ));
        }
    }
    Ok(())
}

async fn wait_until_delivered(outbox: &Outbox, limit: Duration) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let status = outbox.status().context("cannot read the outbox status")?;
        if status.undelivered() == 0 {
            return Ok(status.delivered);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "{} application(s) still undelivered after {limit:?}",
                status.undelivered()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The CAN printed on the demo passport.
const DEMO_CAN: &str = "123456";

/// ICAO 9303 Part 3's specimen passport (Anna Maria Eriksson of Utopia).
const SPECIMEN_MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);

/// The demo's virtual reader and the cards that can be put on it: the ICAO
/// specimen passport (chip signed by a generated test CSCA, which the reader
/// trusts), a phone with the town's citizen app holding an identity
/// credential, and a staff card.
struct DemoCards {
    reader: InProcessReader,
    pki: TestPki,
    /// The window demo's virtual AusweisApp, whose reader takes the ID card.
    ausweisapp: Option<Arc<kiosk_eid::VirtualAusweisApp>>,
}

/// The demo citizen app's issuer key (a fixed test key, never a real one).
const DEMO_PHONE_ISSUER_SEED: [u8; 32] = [0x5A; 32];
/// The demo staff card's UID.
const DEMO_STAFF_CARD_UID: [u8; 7] = [0x04, 0x5A, 0x17, 0x2B, 0x6C, 0x80, 0x01];

impl DemoCards {
    fn new() -> Self {
        Self {
            reader: InProcessReader::new("Virtual contactless reader"),
            pki: TestPki::generate("kiosk-demo"),
            ausweisapp: None,
        }
    }

    /// Puts the BSI's test ID card (ERIKA MUSTERMANN, PIN 123456) on the virtual
    /// AusweisApp's reader.
    fn place_id_card(&self) -> bool {
        match &self.ausweisapp {
            Some(app) => {
                app.insert_card(kiosk_eid::VirtualIdCard::erika_mustermann());
                true
            }
            None => false,
        }
    }

    /// A phone with the town's appointment app: an appointment for the
    /// residence certificate that starts in ten minutes.
    fn place_phone_with_appointment(&self) {
        use kiosk_card::phone::Subject;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.place_phone_showing(Subject::Appointment {
            service: "residence-certificate".into(),
            starts_at: now + 600,
        });
    }

    fn place_passport(&self) -> Result<()> {
        let passport = VirtualPassport::with_pace(SPECIMEN_MRZ, DEMO_CAN, &self.pki)
            .map_err(|e| anyhow::anyhow!("the demo passport is invalid: {e}"))?;
        self.reader.insert(passport);
        Ok(())
    }

    fn place_phone(&self) {
        use kiosk_card::phone::{IdentityAttributes, Subject};
        self.place_phone_showing(Subject::Identity(IdentityAttributes {
            given_names: "Aylin".into(),
            family_name: "Yılmaz".into(),
            date_of_birth: "1991-03-07".into(),
        }));
    }

    fn place_phone_showing(&self, subject: kiosk_card::phone::Subject) {
        use kiosk_card::phone::{self, CredentialClaims};
        let issuer = ed25519_dalek::SigningKey::from_bytes(&DEMO_PHONE_ISSUER_SEED);
        let device = ed25519_dalek::SigningKey::from_bytes(&[0x6B; 32]);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let credential = phone::issue_credential(
            &issuer,
            &phone::key_id(&issuer.verifying_key()),
            &CredentialClaims {
                issuer: "Bürger-App (Demo)".into(),
                not_before: now.saturating_sub(60),
                expires: now + 3600,
                device_key: device.verifying_key(),
                subject,
            },
        );
        self.reader.insert(kiosk_virtual_cards::PhoneHce::new(
            device,
            credential,
            kiosk_virtual_cards::PhoneBehaviour::Honest,
        ));
    }

    fn place_staff_card(&self) {
        self.reader
            .insert(kiosk_virtual_cards::UidCard::new(&DEMO_STAFF_CARD_UID));
    }

    /// The document reader over this reader, trusting the demo's CSCA and phone issuer.
    fn document_reader(&self) -> Result<Box<dyn DocumentReader>> {
        let mut cscas = CscaStore::new();
        cscas
            .add_der(self.pki.csca_certificate())
            .context("the demo CSCA certificate is invalid")?;
        let issuer = ed25519_dalek::SigningKey::from_bytes(&DEMO_PHONE_ISSUER_SEED).verifying_key();
        let mut issuers = kiosk_card::TrustedIssuers::new();
        issuers.add(
            &kiosk_card::phone::key_id(&issuer),
            "Bürger-App (Demo)",
            issuer,
        );
        Ok(Box::new(
            ChipReader::new(self.reader.clone(), cscas).with_phone_issuers(issuers),
        ))
    }

    fn name(&self) -> String {
        kiosk_card::CardReader::name(&self.reader).to_owned()
    }
}

/// The demo panel: keys typed in the terminal put cards on the virtual reader.
fn demo_panel(cards: DemoCards) {
    let help = "demo panel: type 1 + Enter to put the passport on the reader, 2 for a phone \
                with the citizen app, 3 for the staff card, 4 for a phone with an appointment \
                (check-in on the start screen), 5 for an ID card with the online function \
                (PIN 123456), 0 to clear the readers";
    println!("{help}");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            match line.trim() {
                "1" => match cards.place_passport() {
                    Ok(()) => println!("the passport lies on the reader (CAN {DEMO_CAN})"),
                    Err(error) => eprintln!("{error:#}"),
                },
                "2" => {
                    cards.place_phone();
                    println!("a phone with the citizen app is held to the reader");
                }
                "3" => {
                    cards.place_staff_card();
                    println!(
                        "the staff card lies on the reader (on the start screen it opens staff mode)"
                    );
                }
                "4" => {
                    cards.place_phone_with_appointment();
                    println!(
                        "a phone with an appointment in 10 minutes is held to the reader (on the start screen it checks the citizen in)"
                    );
                }
                "5" => {
                    if cards.place_id_card() {
                        println!(
                            "an ID card (ERIKA MUSTERMANN, PIN 123456, CAN 123456) lies on AusweisApp's reader"
                        );
                    } else {
                        println!("this demo has no AusweisApp");
                    }
                }
                "0" => {
                    cards.reader.remove();
                    if let Some(app) = &cards.ausweisapp {
                        app.remove_card();
                    }
                    println!("the readers are empty");
                }
                "" => {}
                _ => println!("{help}"),
            }
        }
    });
}

fn free_local_port() -> Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a local port")?;
    listener.local_addr().context("cannot read the local port")
}

/// Screenshots of the headless demo: the real UI drawn by the software
/// renderer from the journey's state after each step.
struct Screens {
    window: kiosk_ui::HeadlessWindow,
    ui: kiosk_ui::KioskUi,
    dir: PathBuf,
    taken: usize,
}

impl Screens {
    /// Installs the headless Slint platform on this thread.
    fn new(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let window = kiosk_ui::HeadlessPlatform::install()
            .map_err(|e| anyhow::anyhow!("cannot start the headless renderer: {e}"))?;
        window.set_size(1920, 1080);
        let ui = kiosk_ui::KioskUi::new(|_| {})
            .map_err(|e| anyhow::anyhow!("cannot build the user interface: {e}"))?;
        ui.component()
            .show()
            .map_err(|e| anyhow::anyhow!("cannot show the headless window: {e}"))?;
        Ok(Self {
            window,
            ui,
            dir,
            taken: 0,
        })
    }

    /// Draws the journey's current screen into `NN-name.png`.
    fn shoot(&mut self, journey: &kiosk_journey::Journey, name: &str) -> Result<PathBuf> {
        self.taken += 1;
        self.ui
            .present(journey, crate::kiosk::now_since(std::time::Instant::now()));
        let path = self.dir.join(format!("{:02}-{name}.png", self.taken));
        self.window
            .render()
            .save_with_format(&path, image::ImageFormat::Png)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// The demo's running commentary, printed and kept for `summary.txt`.
#[derive(Default)]
struct Transcript {
    text: String,
}

impl Transcript {
    fn line(&mut self, line: String) {
        println!("{line}");
        let _ = writeln!(self.text, "{line}");
    }
}

/// Where `kiosk-app demo` writes by default.
pub fn default_out_dir() -> PathBuf {
    std::env::temp_dir().join("kiosk-demo")
}

/// How long the demo's portal stays offline in the window demo, so the
/// first applications visibly queue and then sync.
const WINDOW_DEMO_OFFLINE_FOR: Duration = Duration::from_secs(60);

/// `kiosk-app demo` with a display: the real kiosk in a window on virtual
/// hardware. The virtual passport (CAN 123456) lies on the virtual reader,
/// receipts go to `out/receipts/*.png`, and the portal comes online after a
/// minute.
pub fn run_window(out: &Path) -> std::process::ExitCode {
    match window_demo(out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn window_demo(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out.join("receipts"))
        .with_context(|| format!("cannot create the output folder {}", out.display()))?;
    let runtime = crate::run::runtime()?;
    let portal = free_local_port()?;
    let printer = runtime
        .block_on(VirtualPrinter::start(VirtualState::Ready))
        .context("cannot start the virtual printer on 127.0.0.1")?;
    let recipient = out.join("recipient.pem");
    std::fs::write(&recipient, test_keys::PUBLIC_KEY_PEM)
        .with_context(|| format!("cannot write {}", recipient.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", out.join("outbox.sqlite").display()));
    }
    let mut config = kiosk_config::KioskConfig::demo();
    config.kiosk.data_dir = out.to_owned();
    config.printer.connection = PrinterConnection::Tcp(printer.addr().to_string());
    config.portal.url = format!("http://{portal}");
    config.portal.recipient_key = recipient;
    // The demo's citizen app issues the phones' credentials (identity and appointments).
    config.reader.phone_issuers = vec![kiosk_config::PhoneIssuer {
        name: "Bürger-App (Demo)".into(),
        public_key: ed25519_dalek::SigningKey::from_bytes(&DEMO_PHONE_ISSUER_SEED)
            .verifying_key()
            .to_bytes(),
    }];
    // A kiosk already running on this machine may hold the usual metrics port.
    if TcpListener::bind(config.metrics.listen).is_err() {
        config.metrics.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    }
    config.staff.card_uid_sha256 = vec![
        kiosk_staff::CardHash::of(&kiosk_staff::CardUid::new(DEMO_STAFF_CARD_UID.to_vec()))
            .to_hex(),
    ];
    let transport = HttpTransport::new(HttpTransportConfig::new(config.portal.url.clone()))
        .context("cannot create the HTTP transport")?;
    // A virtual AusweisApp with a virtual ID card reader: eID login works as
    // soon as the portal is online (PIN 123456).
    let ausweisapp = runtime
        .block_on(kiosk_eid::VirtualAusweisApp::start(
            kiosk_eid::VirtualAppConfig::default(),
        ))
        .context("cannot start the virtual AusweisApp on 127.0.0.1")?;
    config.eid.port = ausweisapp.port();
    config.eid.launch = kiosk_config::AusweisAppLaunch::Connect;
    let station = runtime.block_on(crate::run::Station::start_with(&config, transport))?;
    let mut cards = DemoCards::new();
    cards.ausweisapp = Some(Arc::new(ausweisapp));
    cards.place_passport()?;
    let documents = cards.document_reader()?;
    let reader = cards.reader.clone();
    println!(
        "Bürgerkiosk demo in a window. Staff PIN: 246810 (five taps in the top corner of the start screen)."
    );
    println!(
        "  {}: a virtual passport lies on it; its CAN is {DEMO_CAN}.",
        cards.name()
    );
    println!(
        "  virtual AusweisApp on 127.0.0.1:{}: eID login with the test ID card (panel key 5, PIN 123456) once the portal is online",
        config.eid.port
    );
    demo_panel(cards);
    println!(
        "  virtual printer on {}: receipts are written to {}",
        printer.addr(),
        out.join("receipts").display()
    );
    println!(
        "  portal (reference receiver) on http://{portal}: offline for {} s, then online",
        WINDOW_DEMO_OFFLINE_FOR.as_secs()
    );
    let outbox = station.outbox.clone();
    let receipts = out.join("receipts");
    runtime.spawn(async move {
        tokio::time::sleep(WINDOW_DEMO_OFFLINE_FOR).await;
        let mut receiver_config = ReceiverConfig::with_test_key();
        receiver_config.bind = portal;
        match ReferenceReceiver::start(receiver_config).await {
            Ok(receiver) => {
                println!("portal online at {}", receiver.base_url());
                outbox.sync_now();
                // Keep it serving until the demo ends.
                std::future::pending::<()>().await;
                drop(receiver);
            }
            Err(error) => eprintln!("the demo portal could not start: {error}"),
        }
    });
    runtime.spawn(async move {
        let mut written = 0;
        loop {
            let printed = printer.receipts();
            for receipt in printed.iter().skip(written).take_while(|r| r.is_complete()) {
                written += 1;
                let path = receipts.join(format!("receipt-{written}.png"));
                match std::fs::write(&path, receipt.to_png(576)) {
                    Ok(()) => println!("receipt printed: {}", path.display()),
                    Err(error) => eprintln!("cannot write {}: {error}", path.display()),
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let performer = station.performer(Some(documents));
    station.show(
        &runtime,
        performer,
        crate::staff::ReaderCheck::InProcess(reader),
        Arc::new(|happened: &Happened| match happened {
            Happened::Saved {
                reference,
                queued_offline,
                ..
            } => println!(
                "application saved: {reference}{}",
                if *queued_offline {
                    " (portal offline: queued)"
                } else {
                    ""
                }
            ),
            Happened::NotPrinted(problem) => {
                println!("receipt not printed ({problem}): shown as a QR code")
            }
            _ => {}
        }),
    )
}
