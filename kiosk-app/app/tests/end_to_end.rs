//! The whole kiosk on real parts: a private pcscd with the vpcd virtual reader
//! and a virtual passport on it, the virtual ESC/POS printer on 127.0.0.1, an
//! SQLite outbox file, the reference receiver as the portal (down at first),
//! and the app's own wiring (`Station`, `WindowEffects`) under the UI, which
//! the test drives through the Slint testing backend like a citizen's finger.

mod common;

use common::CapturedLog;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use kiosk_app::run::{Station, document_reader, runtime};
use kiosk_app::staff::{ReaderCheck, StaffPerformer};
use kiosk_app::window::WindowEffects;
use kiosk_card::phone::{self, CredentialClaims, IdentityAttributes, Subject};
use kiosk_catalogue::{FieldValue, Language};
use kiosk_config::KioskConfig;
use kiosk_journey::samples::{OptionPick, sample_value};
use kiosk_journey::{Event, IdentifyStep, Journey, Step};
use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
use kiosk_ui::{Clock, Kiosk, ManualClock, TICK_EVERY};
use kiosk_virtual_cards::{
    PhoneBehaviour, PhoneHce, TestPcscd, TestPki, VirtualPassport, VpcdCard,
};
use offline_cache::ReceiptState;
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, test_keys};
use slint::{ComponentHandle, LogicalSize};
use std::time::{SystemTime, UNIX_EPOCH};

/// ICAO 9303 Part 3's specimen passport (Anna Maria Eriksson of Utopia).
const MRZ: &str = concat!(
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
);
const CAN: &str = "123456";

/// Everything one test runs on.
struct Rig {
    _pcscd: TestPcscd,
    _card: VpcdCard,
    runtime: tokio::runtime::Runtime,
    printer: VirtualPrinter,
    portal: std::net::SocketAddr,
    config: KioskConfig,
    outbox: offline_cache::Outbox,
    kiosk: Kiosk,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

/// What lies on the virtual reader.
enum OnReader {
    Passport,
    /// A phone with the kiosk app and an identity credential.
    Phone,
}

/// The phone credential issuer's key (the town's citizen app).
fn phone_issuer() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32])
}

fn virtual_phone() -> PhoneHce {
    let issuer = phone_issuer();
    let device = SigningKey::from_bytes(&[0x22; 32]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let credential = phone::issue_credential(
        &issuer,
        &phone::key_id(&issuer.verifying_key()),
        &CredentialClaims {
            issuer: "https://buerger-app.gelsenkirchen.de".into(),
            not_before: now - 60,
            expires: now + 3600,
            device_key: device.verifying_key(),
            subject: Subject::Identity(IdentityAttributes {
                given_names: "Aylin".into(),
                family_name: "Yılmaz".into(),
                date_of_birth: "1991-03-07".into(),
            }),
        },
    );
    PhoneHce::new(device, credential, PhoneBehaviour::Honest)
}

fn rig(test: &str, on_reader: OnReader) -> Option<Rig> {
    let pcscd = TestPcscd::start_or_skip(test).expect("pcscd harness")?;
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = TestPki::generate("Utopia");
    std::fs::create_dir_all(dir.path().join("csca")).unwrap();
    std::fs::write(dir.path().join("csca/utopia.der"), pki.csca_certificate()).unwrap();
    std::fs::write(dir.path().join("recipient.pem"), test_keys::PUBLIC_KEY_PEM).unwrap();
    let card = match on_reader {
        OnReader::Passport => VpcdCard::insert(
            pcscd.port(0),
            VirtualPassport::with_pace(MRZ, CAN, &pki).expect("virtual passport"),
        ),
        OnReader::Phone => VpcdCard::insert(pcscd.port(0), virtual_phone()),
    }
    .expect("a card on the virtual reader");
    let issuer_key: String = phone_issuer()
        .verifying_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let runtime = runtime().expect("runtime");
    let printer = runtime
        .block_on(VirtualPrinter::start(VirtualState::Ready))
        .expect("virtual printer");
    let portal = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = KioskConfig::parse(
        &format!(
            r#"
[kiosk]
id = "K27"
town_prefix = "GE"
office = ["Stadt Gelsenkirchen"]
data_dir = "{data}"

[reader]
name = "{reader}"
csca_dir = "{csca}"

[[reader.phone_issuers]]
name = "Bürger-App Gelsenkirchen"
public_key = "{issuer_key}"

[printer]
connection = "tcp://{printer}"

[portal]
url = "http://{portal}"
recipient_key = "{recipient}"

[eid]
# This test is not about eID: no AusweisApp is started.
enabled = false

[metrics]
listen = "127.0.0.1:0"

[staff]
pin_hash = "{pin_hash}"

[logging]
format = "pretty"
"#,
            data = dir.path().join("data").display(),
            reader = pcscd.reader_name(0),
            csca = dir.path().join("csca").display(),
            printer = printer.addr(),
            recipient = dir.path().join("recipient.pem").display(),
            pin_hash = KioskConfig::demo().staff.pin_hash.unwrap(),
        ),
        "end-to-end test configuration",
    )
    .expect("valid configuration");

    let station = runtime.block_on(Station::start(&config)).expect("station");
    let outbox = station.outbox.clone();
    let documents = document_reader(&config).expect("reader");
    assert!(documents.is_some(), "pcscd runs, so the kiosk has a reader");
    let performer = station.performer(documents);
    let staff = StaffPerformer::new(
        &config,
        station.outbox.clone(),
        None,
        ReaderCheck::Pcsc(Some(pcscd.reader_name(0))),
        station.ops.clone(),
        station.catalogue.version.clone(),
    );
    let (effects, _task) =
        WindowEffects::spawn(runtime.handle(), performer, staff, Arc::new(|_| {}));
    // The station's background tasks keep running on the runtime.
    std::mem::forget(station);

    i_slint_backend_testing::init_no_event_loop();
    let clock = ManualClock::new(time::macros::date!(2026 - 11 - 24));
    let catalogue = Arc::new(kiosk_app::setup::catalogue(&config).expect("catalogue"));
    let journey = Journey::new(
        catalogue,
        kiosk_app::setup::journey_config(&config),
        clock.now(),
    );
    let staff_mode = kiosk_staff::StaffMode::new(
        kiosk_staff::StaffConfig::default(),
        kiosk_app::setup::staff_credentials(&config).expect("staff credentials"),
    );
    let kiosk = Kiosk::new(
        journey,
        staff_mode,
        Box::new(clock.clone()),
        Box::new(effects),
    )
    .expect("ui");
    let window = kiosk.ui().component();
    window.window().set_size(LogicalSize::new(1920.0, 1080.0));
    window.show().unwrap();
    Some(Rig {
        _pcscd: pcscd,
        _card: card,
        runtime,
        printer,
        portal,
        config,
        outbox,
        kiosk,
        clock,
        dir,
    })
}

/// Lets Slint build the elements that the last change made appear.
fn settle() {
    i_slint_backend_testing::mock_elapsed_time(Duration::ZERO);
}

impl Rig {
    fn elements(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(self.kiosk.ui().component(), label)
            .filter(|e| e.accessible_role() != Some(AccessibleRole::Text))
            .collect()
    }

    /// Taps the one element with this accessible label, scrolling like a
    /// finger would if it is not on screen yet.
    fn tap(&self, label: &str) {
        for _ in 0..30 {
            if !self.elements(label).is_empty() {
                break;
            }
            let flickable = ElementQuery::from_root(self.kiosk.ui().component())
                .match_type_name("Flickable")
                .find_first();
            let Some(flickable) = flickable else { break };
            flickable.scroll(0.0, -150.0);
            settle();
        }
        let found = self.elements(label);
        assert_eq!(found.len(), 1, "one element labelled {label:?}");
        found[0].invoke_accessible_default_action();
        self.clock.advance(Duration::from_millis(50));
        settle();
    }

    fn step(&self) -> Step {
        self.kiosk.with_journey(|j| j.step().clone())
    }

    /// Picks up events the effect task sent (the UI's poll timer does this
    /// in the real event loop) until `done` holds, for at most `limit`.
    fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Rig) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {limit:?}; the kiosk is on {:?}",
                self.step()
            );
            std::thread::sleep(Duration::from_millis(20));
            self.kiosk.drain();
            settle();
        }
    }

    fn text_answer(&self, field: &str) -> Option<String> {
        self.kiosk
            .with_journey(|j| match j.answer(field).map(|a| (*a.value).clone()) {
                Some(FieldValue::Text(text)) => Some(text),
                _ => None,
            })
    }

    /// Moves journey time and Slint's mocked time together.
    fn advance(&self, by: Duration) {
        let mut left = by;
        while !left.is_zero() {
            let step = left.min(TICK_EVERY);
            self.clock.advance(step);
            i_slint_backend_testing::mock_elapsed_time(step);
            left -= step;
        }
    }

    fn german_title(&self, service: &str) -> String {
        self.kiosk.with_journey(|j| {
            j.catalogue()
                .service(service)
                .unwrap()
                .title
                .get(&Language::german())
                .to_owned()
        })
    }

    /// The value of the dashboard figure labelled `label`.
    fn figure(&self, label: &str) -> String {
        ElementHandle::find_by_accessible_label(self.kiosk.ui().component(), label)
            .filter_map(|e| e.accessible_value())
            .map(|v| v.to_string())
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    /// Five quick taps in the hidden corner, then the demo's PIN.
    fn open_staff_mode(&self) {
        for _ in 0..5 {
            let corner = ElementHandle::find_by_element_id(
                self.kiosk.ui().component(),
                "MainWindow::staff-corner",
            )
            .next()
            .expect("the hidden corner on the attract screen");
            corner.mock_single_click(slint::platform::PointerEventButton::Left);
            self.clock.advance(Duration::from_millis(250));
            settle();
        }
        for digit in "246810".chars() {
            self.tap(&digit.to_string());
        }
        self.tap("Anmelden");
        assert!(
            self.kiosk.with_staff(|staff| staff.state()) == kiosk_staff::StaffState::Dashboard,
            "the PIN opens the dashboard"
        );
    }

    /// Starts the dog-tax form and identifies with the passport on the reader.
    fn identify_with_passport(&self) {
        self.tap("Berühren Sie den Bildschirm, um zu beginnen");
        self.tap("Deutsch");
        self.tap(&self.german_title("dog-tax"));
        assert!(
            matches!(self.step(), Step::Identify(_)),
            "{:?}",
            self.step()
        );
        self.tap("Reisepass oder Ausweis mit Zugangsnummer");
        assert!(matches!(
            self.step(),
            Step::Identify(IdentifyStep::EnterCan { .. })
        ));
        for digit in CAN.chars() {
            self.tap(&digit.to_string());
        }
        self.tap("Weiter");
        self.wait_for("the chip read", Duration::from_secs(30), |rig| {
            matches!(rig.step(), Step::Form { .. })
        });
    }
}

fn files_contain(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                for needle in needles {
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        found.push(format!("{} in {}", needle, path.display()));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn passport_form_offline_receipt_then_delivered_exactly_once() {
    let log = CapturedLog::install();
    let Some(rig) = rig(
        "passport_form_offline_receipt_then_delivered_exactly_once",
        OnReader::Passport,
    ) else {
        return;
    };
    rig.identify_with_passport();
    assert_eq!(rig.text_answer("surname").as_deref(), Some("Eriksson"));
    assert_eq!(
        rig.text_answer("given_names").as_deref(),
        Some("Anna Maria")
    );

    // The rest of the form: what the citizen would type, page by page.
    let service = rig.kiosk.with_journey(|j| j.service().unwrap().clone());
    for _ in 0..service.pages.len() {
        let Step::Form { page } = rig.step() else {
            break;
        };
        for _ in 0..=service.pages[page].fields.len() {
            let open: Vec<_> = rig.kiosk.with_journey(|j| {
                service.pages[page]
                    .fields
                    .iter()
                    .filter(|f| j.field_visible(f) && j.answer(&f.id).is_none())
                    .cloned()
                    .collect()
            });
            if open.is_empty() {
                break;
            }
            for field in open {
                let value = sample_value(&field, OptionPick::First, kiosk_app::kiosk::today());
                rig.kiosk.dispatch(Event::SetAnswer {
                    field: field.id.clone(),
                    value,
                });
            }
        }
        rig.tap("Weiter");
    }
    assert_eq!(rig.step(), Step::Review);
    rig.tap("Weiter");
    assert_eq!(rig.step(), Step::Consent);
    for consent in &service.consents {
        rig.tap(consent.text.get(&Language::german()));
    }
    rig.tap("Absenden");
    rig.wait_for("the receipt", Duration::from_secs(30), |rig| {
        matches!(rig.step(), Step::Receipt(_))
            && rig.printer.receipts().iter().any(|r| r.is_complete())
    });
    let reference = rig
        .kiosk
        .with_journey(|j| j.receipt().unwrap().reference.clone());
    assert!(reference.starts_with("GE-K27-"), "{reference}");
    assert!(
        rig.kiosk
            .with_journey(|j| j.receipt().unwrap().queued_offline),
        "the portal is down: the receipt says the application is queued"
    );

    // The printed receipt carries the reference as text and as a QR code.
    let printed = rig
        .printer
        .receipts()
        .into_iter()
        .find(|r| r.is_complete())
        .unwrap();
    assert!(
        printed
            .text_lines()
            .iter()
            .any(|line| line.contains(&reference)),
        "{:?}",
        printed.text_lines()
    );
    let text = printed.text_lines().join(" ");
    assert!(
        text.contains("automatisch"),
        "the receipt says the application will be sent when the kiosk is online: {text}"
    );
    let png = printed.to_png(576);
    std::fs::write(rig.dir.path().join("receipt.png"), &png).unwrap();
    let image = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the receipt");
    let (_, decoded) = grids[0].decode().expect("the QR code decodes");
    assert_eq!(decoded, reference);

    assert_eq!(rig.outbox.status().unwrap().queued, 1);
    assert!(matches!(
        rig.outbox
            .receipt(&offline_cache::Reference::parse(&reference).unwrap()),
        Ok(Some(ReceiptState::Pending))
    ));

    // The citizen leaves; staff see the queued application on the dashboard.
    rig.tap("Fertig");
    rig.advance(Duration::from_secs(10));
    assert_eq!(rig.step(), Step::Attract);
    rig.open_staff_mode();
    rig.wait_for("the dashboard's figures", Duration::from_secs(10), |rig| {
        rig.figure("Warteschlange") == "1"
    });
    rig.tap("Beenden");
    let audit = std::fs::read_to_string(rig.config.audit_log_path()).unwrap();
    assert!(audit.contains("\"login\""), "{audit}");
    assert!(audit.contains("\"logout\""), "{audit}");

    // Then the portal comes up.
    let receiver = rig.runtime.block_on(async {
        let mut config = ReceiverConfig::with_test_key();
        config.bind = rig.portal;
        ReferenceReceiver::start(config).await.expect("receiver")
    });
    rig.outbox.sync_now();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rig.outbox.status().unwrap().delivered < 1 {
        assert!(Instant::now() < deadline, "not delivered within 60 s");
        std::thread::sleep(Duration::from_millis(50));
        rig.outbox.sync_now();
    }
    // Give a duplicate delivery, if the engine made one, time to arrive.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.received_count(), 1, "delivered exactly once");
    let received = receiver.received();
    assert_eq!(received[0].reference, reference);
    assert_eq!(received[0].service_id, "dog-tax");
    let status = rig.outbox.status().unwrap();
    assert_eq!((status.queued, status.sending, status.delivered), (0, 0, 1));
    assert!(matches!(
        rig.outbox
            .receipt(&offline_cache::Reference::parse(&reference).unwrap()),
        Ok(Some(ReceiptState::Delivered { .. }))
    ));
    rig.runtime.block_on(receiver.shutdown());

    // Nothing personal in the kiosk's files (the payload was encrypted and is
    // purged after delivery) or in the log.
    let personal = [
        "Eriksson",
        "ERIKSSON",
        "Anna Maria",
        "ANNA",
        "L898902C3",
        "1974-08-12",
    ];
    let leaks = files_contain(&rig.config.kiosk.data_dir, &personal);
    assert!(leaks.is_empty(), "{leaks:?}");
    let text = log.text();
    for needle in personal {
        assert!(!text.contains(needle), "{needle} in the log");
    }
}

#[test]
fn idle_time_out_mid_form_leaves_no_personal_data() {
    let log = CapturedLog::install();
    let Some(rig) = rig(
        "idle_time_out_mid_form_leaves_no_personal_data",
        OnReader::Passport,
    ) else {
        return;
    };
    rig.identify_with_passport();
    assert_eq!(rig.text_answer("surname").as_deref(), Some("Eriksson"));
    let config = kiosk_app::setup::journey_config(&rig.config);
    rig.advance(config.idle_after + config.warning_for + Duration::from_secs(1));
    assert_eq!(rig.step(), Step::Attract);
    assert!(rig.text_answer("surname").is_none());
    rig.wait_for("nothing", Duration::from_millis(200), |_| true);

    assert_eq!(rig.outbox.status().unwrap().queued, 0, "nothing was saved");
    assert!(rig.printer.receipts().is_empty(), "nothing was printed");
    let personal = [
        "Eriksson",
        "ERIKSSON",
        "Anna Maria",
        "ANNA",
        "L898902C3",
        "1974-08-12",
    ];
    let leaks = files_contain(&rig.config.kiosk.data_dir, &personal);
    assert!(leaks.is_empty(), "{leaks:?}");
    let text = log.text();
    for needle in personal {
        assert!(!text.contains(needle), "{needle} in the log");
    }
}

#[test]
fn a_phone_credential_prefills_the_form() {
    let log = CapturedLog::install();
    let Some(rig) = rig("a_phone_credential_prefills_the_form", OnReader::Phone) else {
        return;
    };
    rig.tap("Berühren Sie den Bildschirm, um zu beginnen");
    rig.tap("Deutsch");
    rig.tap(&rig.german_title("dog-tax"));
    rig.tap("Smartphone");
    rig.wait_for("the phone read", Duration::from_secs(30), |rig| {
        matches!(rig.step(), Step::Form { .. })
    });
    assert_eq!(rig.text_answer("given_names").as_deref(), Some("Aylin"));
    assert_eq!(rig.text_answer("surname").as_deref(), Some("Yılmaz"));
    rig.tap("Abbrechen");
    assert!(rig.text_answer("surname").is_none());
    let text = log.text();
    for needle in ["Aylin", "Yılmaz", "1991-03-07"] {
        assert!(!text.contains(needle), "{needle} in the log");
    }
}
