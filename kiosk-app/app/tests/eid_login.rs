//! eID login through the whole kiosk: the station's supervisor connects to a
//! virtual AusweisApp (the SDK protocol with a virtual ID card: the chip and the
//! federal eID server cannot run here), the reference receiver plays the
//! portal's eID session API, and the headless kiosk drives the journey.

mod common;

use common::CapturedLog;

use std::time::Duration;

use kiosk_app::identity::{ChipReader, DocumentReader};
use kiosk_app::kiosk::{Happened, Kiosk};
use kiosk_app::run::Station;
use kiosk_card::CscaStore;
use kiosk_catalogue::{IdentityMethod, Language};
use kiosk_config::KioskConfig;
use kiosk_eid::{Secret, VirtualAppConfig, VirtualAusweisApp, VirtualIdCard};
use kiosk_journey::eid::{Advice, Failure, LoginState, NotOffered, Outcome};
use kiosk_journey::{EidPhase, Event, IdentifyChoice, IdentifyStep, Origin, Step};
use kiosk_printer::virtual_printer::{VirtualPrinter, VirtualState};
use kiosk_virtual_cards::InProcessReader;
use offline_cache::{HttpTransport, HttpTransportConfig};
use offline_cache_receiver::{ReceiverConfig, ReferenceReceiver, test_keys};

/// A PIN that appears nowhere else in the test's data.
const PIN: &str = "271828";

struct Rig {
    kiosk: Kiosk,
    app: VirtualAusweisApp,
    receiver: offline_cache_receiver::ReceiverHandle,
    dir: tempfile::TempDir,
    _printer: VirtualPrinter,
    _station_outbox: offline_cache::Outbox,
}

fn card() -> VirtualIdCard {
    let mut card = VirtualIdCard::erika_mustermann();
    card.pin = Secret::pin(PIN).unwrap();
    card
}

/// The kiosk, online, with a virtual AusweisApp that has `card` on its reader.
async fn rig(card: Option<VirtualIdCard>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    let app = VirtualAusweisApp::start(VirtualAppConfig {
        card,
        ..VirtualAppConfig::default()
    })
    .await
    .unwrap();
    let printer = VirtualPrinter::start(VirtualState::Ready).await.unwrap();
    std::fs::write(dir.path().join("recipient.pem"), test_keys::PUBLIC_KEY_PEM).unwrap();
    let config = KioskConfig::parse(
        &format!(
            r#"
[kiosk]
id = "K32"
town_prefix = "GE"
data_dir = "{data}"

[printer]
connection = "tcp://{printer}"

[portal]
url = "{portal}"
recipient_key = "{recipient}"

[eid]
launch = "connect"
port = {port}
# The reference receiver's tcTokenURL is plain http on loopback.
developer_mode = true

[metrics]
listen = "127.0.0.1:0"
"#,
            data = dir.path().join("data").display(),
            printer = printer.addr(),
            portal = receiver.base_url(),
            recipient = dir.path().join("recipient.pem").display(),
            port = app.port(),
        ),
        "eID test configuration",
    )
    .unwrap();
    let transport = HttpTransport::new(HttpTransportConfig::new(receiver.base_url())).unwrap();
    let station = Station::start_with(&config, transport).await.unwrap();
    station
        .online
        .store(true, std::sync::atomic::Ordering::Relaxed);
    // The kiosk's own reader (the journey offers card routes only with one).
    let documents: Box<dyn DocumentReader> = Box::new(ChipReader::new(
        InProcessReader::new("Virtual contactless reader"),
        CscaStore::new(),
    ));
    let outbox = station.outbox.clone();
    let performer = station.performer(Some(documents));
    let mut kiosk = Kiosk::new(station.catalogue.clone(), station.journey_config, performer);
    // The supervisor connects within a moment.
    for _ in 0..100 {
        kiosk.dispatch(Event::Tick).await;
        if kiosk.journey().capabilities().eid_client {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        kiosk.journey().capabilities().eid_client,
        "the supervisor did not connect to the virtual AusweisApp"
    );
    Rig {
        kiosk,
        app,
        receiver,
        dir,
        _printer: printer,
        _station_outbox: outbox,
    }
}

impl Rig {
    /// Feeds AusweisApp's messages until `done` holds (at most 10 s).
    async fn until(&mut self, what: &str, done: impl Fn(&kiosk_journey::Journey) -> bool) {
        for _ in 0..100 {
            if done(self.kiosk.journey()) {
                return;
            }
            self.kiosk.next_eid_event(Duration::from_millis(100)).await;
        }
        panic!(
            "not reached: {what}; step {:?}, login {:?}",
            self.kiosk.journey().step(),
            self.kiosk.journey().eid_login()
        );
    }

    async fn open_pin_pad(&mut self, service: &str) {
        self.kiosk.dispatch(Event::Start).await;
        self.kiosk
            .dispatch(Event::ChooseLanguage(Language::german()))
            .await;
        self.kiosk
            .dispatch(Event::ChooseService(service.into()))
            .await;
        let (methods, _) = self.kiosk.journey().identification_offer();
        assert!(methods.contains(&IdentityMethod::Eid), "{methods:?}");
        self.kiosk
            .dispatch(Event::ChooseIdentification(IdentifyChoice::Method(
                IdentityMethod::Eid,
            )))
            .await;
        self.until("the consent screen", |j| {
            matches!(j.eid_login(), Some(LoginState::Consent(_)))
        })
        .await;
        let Some(LoginState::Consent(consent)) = self.kiosk.journey().eid_login().cloned() else {
            unreachable!()
        };
        assert!(!consent.provider.name.is_empty(), "{consent:?}");
        assert!(!consent.rights.required.is_empty(), "{consent:?}");
        self.kiosk.dispatch(Event::EidAccept).await;
        self.until("the PIN pad", |j| {
            matches!(j.eid_login(), Some(LoginState::EnterPin(_)))
        })
        .await;
    }

    async fn pin(&mut self, pin: &str) {
        self.kiosk
            .dispatch(Event::EidPin(Secret::pin(pin).unwrap()))
            .await;
    }

    fn outcome(&self) -> Option<Outcome> {
        match self.kiosk.journey().step() {
            Step::Identify(IdentifyStep::Eid(EidPhase::Ended(outcome))) => Some(outcome.clone()),
            _ => None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eid_login_prefills_the_form_and_the_pin_is_nowhere() {
    let log = CapturedLog::install();
    let mut rig = rig(Some(card())).await;
    rig.open_pin_pad("residence-certificate").await;
    rig.pin(PIN).await;
    rig.until("the form", |j| matches!(j.step(), Step::Form { .. }))
        .await;
    assert_eq!(rig.receiver.eid_sessions_started(), 1);
    assert_eq!(rig.receiver.eid_sessions_completed(), 1);
    let journey = rig.kiosk.journey();
    let service = journey.service().unwrap().clone();
    let prefilled: Vec<_> = service
        .fields()
        .filter(|f| f.prefill.is_some())
        .filter_map(|f| journey.answer(&f.id).map(|a| (f.id.clone(), a.origin)))
        .collect();
    assert!(!prefilled.is_empty(), "nothing was pre-filled");
    for (field, origin) in &prefilled {
        assert_eq!(
            *origin,
            Origin::Identity {
                method: IdentityMethod::Eid,
                verified: true
            },
            "{field}"
        );
    }
    assert!(
        format!("{journey:?}").find(PIN).is_none(),
        "the PIN is in the session's state"
    );

    // Fill the rest, submit, and look for the PIN everywhere it could have gone.
    for _ in 0..10 {
        if !matches!(rig.kiosk.journey().step(), Step::Form { .. }) {
            break;
        }
        rig.kiosk.answer_page_with_samples(&[]).await;
        rig.kiosk.dispatch(Event::Next).await;
    }
    assert_eq!(rig.kiosk.journey().step(), &Step::Review);
    rig.kiosk.dispatch(Event::Next).await;
    let consents: Vec<String> = rig
        .kiosk
        .journey()
        .service()
        .unwrap()
        .consents
        .iter()
        .map(|c| c.id.clone())
        .collect();
    for id in consents {
        rig.kiosk
            .dispatch(Event::SetConsent { id, given: true })
            .await;
    }
    let happened = rig.kiosk.dispatch(Event::Next).await;
    assert!(
        happened.iter().any(|h| matches!(h, Happened::Saved { .. })),
        "{happened:?}"
    );
    let log = log.text();
    assert!(log.contains("eID login completed at the portal"), "{log}");
    assert!(!log.contains(PIN), "the PIN is in the log");
    assert!(!log.contains("MUSTERMANN"), "a name is in the log");
    for entry in walk(rig.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(PIN.len()).any(|w| w == PIN.as_bytes()),
            "the PIN is in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wrong_pins_ask_for_the_can_and_a_third_ends_with_buergerbuero_advice() {
    CapturedLog::install();
    let mut rig = rig(Some(card())).await;
    rig.open_pin_pad("dog-tax").await;
    rig.pin("000000").await;
    rig.until(
        "the PIN pad again",
        |j| matches!(j.eid_login(), Some(LoginState::EnterPin(pin)) if pin.last_was_wrong),
    )
    .await;
    rig.pin("000000").await;
    rig.until("the CAN pad", |j| {
        matches!(j.eid_login(), Some(LoginState::EnterCan(_)))
    })
    .await;
    rig.kiosk
        .dispatch(Event::EidCan(Secret::can("123456").unwrap()))
        .await;
    rig.until(
        "the last PIN attempt",
        |j| matches!(j.eid_login(), Some(LoginState::EnterPin(pin)) if pin.last_attempt()),
    )
    .await;
    rig.pin("000000").await;
    rig.until("the end", |j| {
        matches!(
            j.step(),
            Step::Identify(IdentifyStep::Eid(EidPhase::Ended(_)))
        )
    })
    .await;
    let outcome = rig.outcome().unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                failure: Failure::PinBlocked,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(outcome.advice(), Some(Advice::VisitBuergerbuero));
    assert_eq!(rig.receiver.eid_sessions_completed(), 0);
    assert_eq!(rig.app.card().unwrap().retry_counter, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_on_the_pin_pad_cancels_in_ausweisapp_and_a_new_login_works() {
    CapturedLog::install();
    let mut rig = rig(Some(card())).await;
    rig.open_pin_pad("library-card").await;
    rig.kiosk.dispatch(Event::Cancel).await;
    assert_eq!(rig.kiosk.journey().step(), &Step::Attract);
    // AusweisApp ends the cancelled workflow; the next citizen starts afresh.
    rig.open_pin_pad("library-card").await;
    rig.pin(PIN).await;
    rig.until("the form", |j| matches!(j.step(), Step::Form { .. }))
        .await;
    assert_eq!(rig.receiver.eid_sessions_completed(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_portal_or_ausweisapp_the_journey_says_why() {
    CapturedLog::install();
    let mut rig = rig(Some(card())).await;
    rig.kiosk.dispatch(Event::Start).await;
    rig.kiosk
        .dispatch(Event::ChooseLanguage(Language::german()))
        .await;
    rig.kiosk
        .dispatch(Event::ChooseService("dog-tax".into()))
        .await;
    assert_eq!(rig.kiosk.journey().eid_not_offered(), None);
    // AusweisApp goes away: the supervisor notices and eID is not offered.
    rig.app.shutdown().await;
    for _ in 0..100 {
        rig.kiosk.dispatch(Event::Tick).await;
        if rig.kiosk.journey().eid_not_offered().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rig.kiosk.journey().eid_not_offered(),
        Some(NotOffered::EidClientUnavailable)
    );
    assert!(
        !rig.kiosk
            .journey()
            .identification_offer()
            .0
            .contains(&IdentityMethod::Eid)
    );
}

/// The real AusweisApp (Debian `ausweisapp2`, headless) on a private pcscd with the
/// vpcd readers: the kiosk starts it, gets a session from the portal, and
/// AusweisApp fetches the portal's TcToken. No eID server can answer here, so
/// the login ends with a clear outcome the UI translates, and advice.
#[test]
fn with_the_real_ausweisapp_a_login_without_an_eid_server_ends_with_clear_advice() {
    let test = "with_the_real_ausweisapp_a_login_without_an_eid_server_ends_with_clear_advice";
    let Some(binary) = kiosk_eid::find_binary() else {
        eprintln!(
            "\n!!!!!!!!!! SKIPPING {test}: AusweisApp is not installed. Install with \
             `apt-get install -y ausweisapp2` !!!!!!!!!!\n"
        );
        return;
    };
    let Some(_pcscd) = kiosk_virtual_cards::TestPcscd::start_or_skip(test).expect("pcscd") else {
        return;
    };
    CapturedLog::install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), async {
            let home = tempfile::tempdir().unwrap();
            let mut rig = rig(None).await;
            // Swap the virtual AusweisApp for the real one, started by the supervisor.
            let supervisor = kiosk_eid::Supervisor::start(kiosk_eid::SupervisorConfig {
                port: 0,
                launch: kiosk_eid::Launch::Binary(binary),
                home: Some(home.path().to_owned()),
                startup_timeout: Duration::from_secs(20),
                ..kiosk_eid::SupervisorConfig::default()
            });
            let portal = offline_cache::eid_login::EidLoginClient::new(&HttpTransportConfig::new(
                rig.receiver.base_url(),
            ))
            .unwrap();
            let (service, events) =
                kiosk_app::eid::EidService::new(supervisor, portal, "K32".into());
            rig.kiosk.replace_eid(service, events);
            for _ in 0..300 {
                rig.kiosk.dispatch(Event::Tick).await;
                if rig.kiosk.journey().capabilities().eid_client {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(
                rig.kiosk.journey().capabilities().eid_client,
                "AusweisApp did not come up with the vpcd readers"
            );
            rig.kiosk.dispatch(Event::Start).await;
            rig.kiosk
                .dispatch(Event::ChooseLanguage(Language::german()))
                .await;
            rig.kiosk
                .dispatch(Event::ChooseService("dog-tax".into()))
                .await;
            rig.kiosk
                .dispatch(Event::ChooseIdentification(IdentifyChoice::Method(
                    IdentityMethod::Eid,
                )))
                .await;
            for _ in 0..600 {
                if rig.outcome().is_some() {
                    break;
                }
                rig.kiosk.next_eid_event(Duration::from_millis(100)).await;
            }
            let outcome = rig.outcome().unwrap_or_else(|| {
                panic!(
                    "no outcome: {:?} {:?}",
                    rig.kiosk.journey().step(),
                    rig.kiosk.journey().eid_login()
                )
            });
            assert!(
                matches!(
                    outcome,
                    Outcome::Failed {
                        failure: Failure::ServiceUnreachable | Failure::ServiceRejected,
                        ..
                    }
                ),
                "{outcome:?}"
            );
            assert!(outcome.code().starts_with("eid.failed."));
            assert_eq!(outcome.advice(), Some(Advice::TryLater));
            let stats = rig.receiver.eid_stats();
            assert_eq!(stats.sessions_started, 1);
            assert_eq!(stats.tc_tokens_served, 1, "AusweisApp fetched the TcToken");
            assert_eq!(stats.sessions_completed, 0);
        })
        .await
        .expect("the test did not finish within 120 s");
    });
}
