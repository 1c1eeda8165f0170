//! End-to-end tests on the real PC/SC stack: a private `pcscd -f` with the vpcd driver and
//! virtual cards speaking the vpcd protocol.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use kiosk_card::ndef::{self, Content, Record, Tnf};
use kiosk_card::phone::{self, CredentialClaims, Subject};
use kiosk_card::{
    CardKind, ErrorKind, ReaderEvent, ReaderManager, TrustedIssuers, WatchConfig, identify,
    read_ndef, read_phone_token, read_uid,
};
use kiosk_virtual_cards::{
    GarbageTlvTag, MuteCard, PhoneBehaviour, PhoneHce, RemovedMidRead, Type2Tag, Type4Tag, UidCard,
    VpcdCard, WrongLengthCard,
};

fn long_message() -> Vec<u8> {
    ndef::encode_message(&[
        Record::uri("https://www.gelsenkirchen.de/de/buergerservice/"),
        Record::text("de", &"Bitte ziehen Sie eine Wartenummer. ".repeat(20)),
        Record::new(Tnf::External, b"gelsenkirchen.de:queue", vec![0x2A; 40]),
    ])
}

#[test]
fn library_card_is_uid_only() {
    let Some(pcscd) = common::pcscd("library_card_is_uid_only") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let uid = [0x04, 0xA2, 0x3B, 0x19, 0x6E, 0x51, 0x80];
    let _card = VpcdCard::insert(pcscd.port(0), UidCard::new(&uid)).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(0));
    let kind = identify(&mut card).unwrap();
    let CardKind::UidOnly { uid: read } = kind else {
        panic!("expected a UID-only card, got {kind:?}");
    };
    assert_eq!(read.as_bytes(), uid);
    assert_eq!(read_uid(&mut card).unwrap().to_hex(), "04A23B196E5180");
    assert!(
        !format!("{read:?}").contains("A23B"),
        "UID must not show in Debug"
    );
}

#[test]
fn type4_tag_ndef_is_read_in_chunks() {
    let Some(pcscd) = common::pcscd("type4_tag_ndef_is_read_in_chunks") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let message = long_message();
    assert!(message.len() > 3 * 59, "needs several READ BINARY rounds");
    let tag = Type4Tag::new(&[1, 2, 3, 4, 5, 6, 7], &message, 59);
    let virtual_card = VpcdCard::insert(pcscd.port(0), tag).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(0));
    assert_eq!(identify(&mut card).unwrap(), CardKind::Type4Tag);
    let records = read_ndef(&mut card).unwrap();
    assert_eq!(records, ndef::parse_message(&message).unwrap());
    assert_eq!(
        records[0].content().unwrap(),
        Content::Uri("https://www.gelsenkirchen.de/de/buergerservice/".into())
    );
    assert!(virtual_card.commands_received() >= 8);
}

#[test]
fn type2_tag_ndef_is_read() {
    let Some(pcscd) = common::pcscd("type2_tag_ndef_is_read") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let message = ndef::encode_message(&[Record::uri("https://bibliothek.gelsenkirchen.de")]);
    let tag = Type2Tag::new(&[0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66], &message);
    let _card = VpcdCard::insert(pcscd.port(0), tag).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(0));
    assert_eq!(identify(&mut card).unwrap(), CardKind::Type2Tag);
    let records = read_ndef(&mut card).unwrap();
    assert_eq!(
        records[0].content().unwrap(),
        Content::Uri("https://bibliothek.gelsenkirchen.de".into())
    );
}

fn phone_setup(
    behaviour: impl FnOnce(&SigningKey, &[u8]) -> PhoneBehaviour,
) -> (PhoneHce, TrustedIssuers) {
    let issuer = SigningKey::from_bytes(&[0x11; 32]);
    let device = SigningKey::from_bytes(&[0x22; 32]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let kid = phone::key_id(&issuer.verifying_key());
    let credential = phone::issue_credential(
        &issuer,
        &kid,
        &CredentialClaims {
            issuer: "https://termine.gelsenkirchen.de".into(),
            not_before: now - 60,
            expires: now + 3600,
            device_key: device.verifying_key(),
            subject: Subject::Appointment {
                service: "meldebescheinigung".into(),
                starts_at: now + 600,
            },
        },
    );
    let mut trusted = TrustedIssuers::new();
    trusted.add(&kid, "Terminvergabe Gelsenkirchen", issuer.verifying_key());
    let behaviour = behaviour(&device, &credential);
    (PhoneHce::new(device, credential, behaviour), trusted)
}

#[test]
fn phone_token_is_verified_and_replay_rejected() {
    let Some(pcscd) = common::pcscd("phone_token_is_verified_and_replay_rejected") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let (phone, trusted) = phone_setup(|_, _| PhoneBehaviour::Honest);
    let virtual_phone = VpcdCard::insert(pcscd.port(0), phone).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(0));
    assert_eq!(identify(&mut card).unwrap(), CardKind::Phone);
    let token = read_phone_token(&mut card, &trusted, SystemTime::now()).unwrap();
    assert_eq!(token.issuer, "Terminvergabe Gelsenkirchen");
    assert!(
        matches!(token.subject, Subject::Appointment { ref service, .. } if service == "meldebescheinigung")
    );
    drop(card);
    virtual_phone.remove();
    common::wait_until_empty(&manager, &pcscd.reader_name(0));

    // An attacker recorded a genuine answer to an earlier challenge and replays it.
    let (replaying, trusted) = phone_setup(|device, credential| {
        PhoneBehaviour::Replay(phone::answer_challenge(device, credential, &[0u8; 32]))
    });
    let _replayer = VpcdCard::insert(pcscd.port(0), replaying).unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(0));
    let error = read_phone_token(&mut card, &trusted, SystemTime::now()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthenticationFailed, "{error}");
}

#[test]
fn misbehaving_cards_give_clean_errors() {
    let Some(pcscd) = common::pcscd("misbehaving_cards_give_clean_errors") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let reader = pcscd.reader_name(0);

    let mute = VpcdCard::insert(pcscd.port(0), MuteCard).unwrap();
    let mut card = common::connect(&manager, &reader);
    card.set_apdu_timeout(Duration::from_millis(300));
    let error = identify(&mut card).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    drop(card);
    mute.remove();
    common::wait_until_empty(&manager, &reader);

    let wrong = VpcdCard::insert(pcscd.port(0), WrongLengthCard).unwrap();
    let mut card = common::connect(&manager, &reader);
    match identify(&mut card) {
        Ok(CardKind::Unknown { reason }) => assert!(!reason.is_empty()),
        Err(error) => assert_eq!(error.kind(), ErrorKind::CardRemoved, "{error}"),
        Ok(other) => panic!("a card with impossible lengths was taken for {other:?}"),
    }
    drop(card);
    wrong.remove();
    common::wait_until_empty(&manager, &reader);

    let garbage = VpcdCard::insert(
        pcscd.port(0),
        GarbageTlvTag::new(&[0xD1, 0x01, 0xF0, 0x55, 3]),
    )
    .unwrap();
    let mut card = common::connect(&manager, &reader);
    let error = read_ndef(&mut card).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidResponse, "{error}");
    drop(card);
    garbage.remove();
    common::wait_until_empty(&manager, &reader);
}

#[test]
fn card_removed_mid_read_then_next_card_works() {
    let Some(pcscd) = common::pcscd("card_removed_mid_read_then_next_card_works") else {
        return;
    };
    let manager = ReaderManager::new().unwrap();
    let reader = pcscd.reader_name(0);
    let message = long_message();
    // SELECT app, SELECT CC, READ CC, SELECT file, READ length, READ, then gone.
    let leaving = RemovedMidRead::new(Type4Tag::new(&[9; 7], &message, 59), 7);
    let virtual_card = VpcdCard::insert(pcscd.port(0), leaving).unwrap();
    let mut card = common::connect(&manager, &reader);
    let error = ndef::read_type4_message(&mut card).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CardRemoved, "{error}");
    drop(card);
    virtual_card.remove();
    common::wait_until_empty(&manager, &reader);

    let _next = VpcdCard::insert(pcscd.port(0), Type4Tag::new(&[8; 7], &message, 59)).unwrap();
    let mut card = common::connect(&manager, &reader);
    assert_eq!(ndef::read_type4_message(&mut card).unwrap(), message);
}

/// Receives events until one matches `wanted` (bounded to 10 s), returning all seen.
async fn until(
    watcher: &mut kiosk_card::ReaderWatcher,
    what: &str,
    wanted: impl Fn(&ReaderEvent) -> bool,
) -> Vec<ReaderEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, watcher.next()).await {
        let done = wanted(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
    panic!("{what} not seen within 10 s; saw {seen:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn events_follow_cards_and_survive_pcscd_restart() {
    let Some(mut pcscd) = common::pcscd("events_follow_cards_and_survive_pcscd_restart") else {
        return;
    };
    let reader = pcscd.reader_name(0);
    let manager = ReaderManager::new().unwrap();
    let mut watcher = ReaderManager::watch(WatchConfig::default());
    let added = |event: &ReaderEvent| matches!(event, ReaderEvent::ReaderAdded { reader: r } if *r == reader);
    let inserted = |event: &ReaderEvent| matches!(event, ReaderEvent::CardInserted { reader: r, atr } if *r == reader && atr.starts_with(&[0x3B, 0x8F]));
    let removed = |event: &ReaderEvent| matches!(event, ReaderEvent::CardRemoved { reader: r } if *r == reader);
    until(&mut watcher, "reader added", added).await;

    let card = VpcdCard::insert(pcscd.port(0), UidCard::new(&[1, 2, 3, 4])).unwrap();
    until(&mut watcher, "card inserted", inserted).await;
    card.remove();
    until(&mut watcher, "card removed", removed).await;

    pcscd.restart().unwrap();
    until(&mut watcher, "service lost", |event| {
        *event == ReaderEvent::ServiceLost
    })
    .await;
    until(&mut watcher, "service restored", |event| {
        *event == ReaderEvent::ServiceRestored
    })
    .await;
    until(&mut watcher, "reader added again", added).await;
    let _card = VpcdCard::insert(pcscd.port(0), UidCard::new(&[5, 6, 7, 8])).unwrap();
    until(&mut watcher, "card inserted after restart", inserted).await;

    // The manager created before the restart recovers by itself.
    let mut card = common::connect(&manager, &reader);
    assert_eq!(read_uid(&mut card).unwrap().as_bytes(), [5, 6, 7, 8]);

    let started = std::time::Instant::now();
    watcher.stop();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        started.elapsed()
    );
    assert_eq!(watcher.next().await, None);
    // The same through the `Stream` interface.
    let polled = std::future::poll_fn(|context| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut watcher), context)
    })
    .await;
    assert_eq!(polled, None);
}

/// Debian's vicc (python3-virtualsmartcard) serving a plain ISO 7816 card on slot 1.
struct Vicc(std::process::Child);

impl Drop for Vicc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn debian_vicc_card_is_unknown_not_a_crash() {
    let Some(pcscd) = common::pcscd("debian_vicc_card_is_unknown_not_a_crash") else {
        return;
    };
    if !std::path::Path::new("/usr/bin/vicc").exists() {
        eprintln!(
            "\n!!!!!!!!!! SKIPPING debian_vicc_card_is_unknown_not_a_crash: vicc is not \
             installed; `apt-get install -y python3-virtualsmartcard` !!!!!!!!!!\n"
        );
        return;
    }
    // Debian installs the module one directory too deep for the vicc script, and vicc
    // imports PyCryptodome as `Crypto` while Debian ships it as `Cryptodome`.
    let shim = std::env::temp_dir().join(format!("kiosk-vicc-shim-{}", std::process::id()));
    std::fs::create_dir_all(&shim).unwrap();
    let crypto = shim.join("Crypto");
    if !crypto.exists() {
        std::os::unix::fs::symlink("/usr/lib/python3/dist-packages/Cryptodome", &crypto).unwrap();
    }
    let vicc = std::process::Command::new("/usr/bin/vicc")
        .args(["-t", "iso7816", "-H", "127.0.0.1", "-P"])
        .arg(pcscd.port(1).to_string())
        .env(
            "PYTHONPATH",
            format!(
                "/usr/lib/python3/site-packages/virtualsmartcard:{}",
                shim.display()
            ),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Vicc)
        .expect("vicc starts");
    let manager = ReaderManager::new().unwrap();
    let mut card = common::connect(&manager, &pcscd.reader_name(1));
    card.set_apdu_timeout(Duration::from_secs(2));
    let kind = identify(&mut card).unwrap();
    let CardKind::Unknown { reason } = kind else {
        panic!("vicc's ISO 7816 card was taken for {kind:?}");
    };
    assert!(reason.contains("no known application"), "{reason}");
    let error = read_ndef(&mut card).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    drop(vicc);
    let _ = std::fs::remove_dir_all(&shim);
}
