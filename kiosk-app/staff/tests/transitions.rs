//! Staff mode's transitions, lock-outs, confirmations and audit entries.

mod support;

use std::time::Duration;

use kiosk_staff::{
    ActionOutcome, AuditAction, AuditOutcome, CardUid, LockoutPolicy, PinDigit, PinPadNotice,
    PresentedToken, StaffAction, StaffConfig, StaffEffect, StaffEvent, StaffIdentity, StaffScreen,
    StaffState, sign_token,
};
use support::{DEAD, Harness, PIN, SEED, STAFF_UID, audits};
use uuid::Uuid;

const MINUTE: Duration = Duration::from_secs(60);

fn performs(effects: &[StaffEffect]) -> Vec<StaffAction> {
    effects
        .iter()
        .filter_map(|e| match e {
            StaffEffect::Perform(a) => Some(*a),
            _ => None,
        })
        .collect()
}

#[test]
fn the_gesture_and_the_right_pin_open_the_dashboard() {
    let mut h = Harness::new();
    assert_eq!(h.staff.state(), StaffState::Closed);
    assert!(!h.staff.blocks_citizens());
    let effects = h.send(StaffEvent::OpenRequested);
    assert_eq!(effects, vec![StaffEffect::Show(StaffScreen::PinPad)]);
    assert_eq!(h.staff.state(), StaffState::PinPad);
    assert!(h.staff.blocks_citizens());
    for c in PIN.chars() {
        h.send(StaffEvent::PinDigit(PinDigit::from_char(c).unwrap()));
    }
    assert_eq!(h.staff.pin_len(), PIN.len());
    h.send(StaffEvent::PinBackspace);
    assert_eq!(h.staff.pin_len(), PIN.len() - 1);
    h.send(StaffEvent::PinClear);
    assert_eq!(h.staff.pin_len(), 0);
    let effects = h.type_pin(PIN);
    assert_eq!(h.staff.state(), StaffState::Dashboard);
    assert_eq!(h.staff.staff(), Some(&StaffIdentity::Pin));
    assert_eq!(h.staff.pin_len(), 0, "the PIN leaves the pad");
    assert!(effects.contains(&StaffEffect::Show(StaffScreen::Dashboard)));
    assert!(effects.contains(&StaffEffect::RefreshStatus));
    let audit = audits(&effects);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].staff, StaffIdentity::Pin);
    assert_eq!(audit[0].action, AuditAction::Login);
    assert_eq!(audit[0].outcome, AuditOutcome::Ok);
    assert_eq!(audit[0].at, h.now().wall);

    let effects = h.send(StaffEvent::Exit);
    assert_eq!(h.staff.state(), StaffState::Closed);
    assert!(effects.contains(&StaffEffect::Close));
    let audit = audits(&effects);
    assert_eq!(audit[0].action, AuditAction::Logout);
    assert_eq!(audit[0].outcome, AuditOutcome::Ok);
}

#[test]
fn three_wrong_pins_lock_the_pad_for_a_minute_and_then_longer() {
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    h.type_pin("111111");
    assert_eq!(
        h.staff.notice(),
        Some(PinPadNotice::WrongPin { attempts_left: 2 })
    );
    h.type_pin("222222");
    assert_eq!(
        h.staff.notice(),
        Some(PinPadNotice::WrongPin { attempts_left: 1 })
    );
    let effects = h.type_pin("333333");
    assert_eq!(h.staff.notice(), Some(PinPadNotice::LockedOut));
    assert_eq!(h.staff.locked_for(h.elapsed), Some(MINUTE));
    let audit = audits(&effects);
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].outcome, AuditOutcome::Failed);
    assert_eq!(audit[1].action, AuditAction::PinLockOut);
    assert_eq!(audit[1].reason.as_deref(), Some("locked for 60 s"));

    // While locked even the right PIN does not open, and digits are not taken.
    h.elapsed += Duration::from_secs(30);
    let effects = h.type_pin(PIN);
    assert_eq!(h.staff.state(), StaffState::PinPad);
    assert!(audits(&effects).is_empty(), "a locked pad checks nothing");
    assert_eq!(h.staff.locked_for(h.elapsed), Some(Duration::from_secs(30)));

    // After the minute: three more wrong PINs lock for 5 minutes.
    h.elapsed += Duration::from_secs(31);
    h.send(StaffEvent::Activity);
    assert_eq!(h.staff.locked_for(h.elapsed), None);
    assert_eq!(h.staff.notice(), None);
    for pin in ["444444", "555555", "666666"] {
        h.type_pin(pin);
    }
    assert_eq!(h.staff.locked_for(h.elapsed), Some(5 * MINUTE));
    h.elapsed += 5 * MINUTE;
    h.type_pin(PIN);
    assert_eq!(h.staff.state(), StaffState::Dashboard);

    // A login resets the escalation: the next lock is one minute again.
    h.send(StaffEvent::Exit);
    h.send(StaffEvent::OpenRequested);
    for pin in ["111111", "222222", "333333"] {
        h.type_pin(pin);
    }
    assert_eq!(h.staff.locked_for(h.elapsed), Some(MINUTE));
}

#[test]
fn the_lock_out_survives_leaving_the_pin_pad() {
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    for pin in ["111111", "222222", "333333"] {
        h.type_pin(pin);
    }
    h.send(StaffEvent::Exit);
    assert_eq!(h.staff.state(), StaffState::Closed);
    h.elapsed += Duration::from_secs(10);
    h.send(StaffEvent::OpenRequested);
    assert_eq!(h.staff.notice(), Some(PinPadNotice::LockedOut));
    assert_eq!(h.staff.locked_for(h.elapsed), Some(Duration::from_secs(50)));
    h.type_pin(PIN);
    assert_eq!(h.staff.state(), StaffState::PinPad);

    // Wrong PINs before a lock count across visits too.
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    h.type_pin("111111");
    h.type_pin("222222");
    h.send(StaffEvent::Exit);
    h.send(StaffEvent::OpenRequested);
    h.type_pin("333333");
    assert_eq!(h.staff.notice(), Some(PinPadNotice::LockedOut));
}

#[test]
fn the_lock_out_policy_escalates_and_then_repeats_its_last_length() {
    let policy = LockoutPolicy::default();
    let minutes: Vec<u64> = (1..=6).map(|n| policy.duration(n).as_secs() / 60).collect();
    assert_eq!(minutes, [1, 5, 15, 60, 60, 60]);
}

#[test]
fn a_staff_card_opens_staff_mode_even_while_the_pin_pad_is_locked() {
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    for pin in ["111111", "222222", "333333"] {
        h.type_pin(pin);
    }
    let effects = h.send(StaffEvent::CardPresented(CardUid::new(STAFF_UID.to_vec())));
    assert_eq!(h.staff.state(), StaffState::Dashboard);
    let login = &audits(&effects)[0];
    let StaffIdentity::Card(prefix) = &login.staff else {
        panic!("{login:?}")
    };
    assert_eq!(prefix.len(), 8);
    assert_eq!(
        h.staff.locked_for(h.elapsed),
        None,
        "a login lifts the lock"
    );
}

#[test]
fn a_staff_card_opens_from_the_attract_screen_and_other_cards_do_nothing() {
    let mut h = Harness::new();
    let effects = h.send(StaffEvent::CardPresented(CardUid::new(vec![1, 2, 3, 4])));
    assert!(
        effects.is_empty(),
        "a citizen's card between citizens is none of staff mode's business"
    );
    assert_eq!(h.staff.state(), StaffState::Closed);

    h.send(StaffEvent::OpenRequested);
    let effects = h.send(StaffEvent::CardPresented(CardUid::new(vec![1, 2, 3, 4])));
    assert_eq!(h.staff.notice(), Some(PinPadNotice::UnknownCard));
    let audit = audits(&effects);
    assert_eq!(audit[0].staff, StaffIdentity::UnknownCard);
    assert_eq!(audit[0].outcome, AuditOutcome::Failed);
    h.send(StaffEvent::Exit);

    h.send(StaffEvent::CardPresented(CardUid::new(STAFF_UID.to_vec())));
    assert_eq!(h.staff.state(), StaffState::Dashboard);
}

#[test]
fn phone_tokens_open_staff_mode_when_signed_and_current() {
    let mut h = Harness::new();
    let expired = h.token("ka-0815", Duration::ZERO);
    let effects = h.send(StaffEvent::TokenPresented(expired));
    assert_eq!(h.staff.state(), StaffState::Closed);
    let audit = audits(&effects);
    assert_eq!(audit[0].staff, StaffIdentity::Token("ka-0815".into()));
    assert_eq!(audit[0].outcome, AuditOutcome::Failed);

    h.send(StaffEvent::OpenRequested);
    let forged =
        PresentedToken::new(sign_token(&[1; 32], "ka-0815", h.now().wall + MINUTE).unwrap());
    let effects = h.send(StaffEvent::TokenPresented(forged));
    assert_eq!(h.staff.notice(), Some(PinPadNotice::InvalidToken));
    assert_eq!(audits(&effects)[0].staff, StaffIdentity::UnverifiedToken);

    let too_long = h.token("ka-0815", Duration::from_secs(13 * 3600));
    h.send(StaffEvent::TokenPresented(too_long));
    assert_eq!(h.staff.notice(), Some(PinPadNotice::ExpiredToken));

    let good = h.token("ka-0815", Duration::from_secs(3600));
    let effects = h.send(StaffEvent::TokenPresented(good));
    assert_eq!(h.staff.state(), StaffState::Dashboard);
    assert_eq!(
        audits(&effects)[0].staff,
        StaffIdentity::Token("ka-0815".into())
    );
    let _ = SEED;
}

#[test]
fn discarding_a_dead_letter_asks_for_confirmation() {
    let mut h = Harness::new();
    h.login();
    let discard = StaffAction::DiscardDeadLetter(DEAD);
    assert!(h.staff.can_request(discard));
    let effects = h.send(StaffEvent::ActionRequested(discard));
    assert_eq!(
        effects,
        vec![StaffEffect::Show(StaffScreen::Confirming(discard))]
    );
    assert_eq!(h.staff.state(), StaffState::Confirming(discard));

    let effects = h.send(StaffEvent::Cancel);
    assert!(performs(&effects).is_empty());
    assert_eq!(h.staff.state(), StaffState::Dashboard);
    let audit = audits(&effects);
    assert_eq!(audit[0].outcome, AuditOutcome::Cancelled);
    assert_eq!(audit[0].target.as_deref(), Some(DEAD.to_string().as_str()));

    h.send(StaffEvent::ActionRequested(discard));
    let effects = h.send(StaffEvent::Confirm);
    assert_eq!(performs(&effects), vec![discard]);
    assert_eq!(audits(&effects)[0].outcome, AuditOutcome::Started);
    assert_eq!(h.staff.running(), Some(discard));
    assert!(
        !h.staff.can_request(StaffAction::SyncNow),
        "one action at a time"
    );
    let effects = h.send(StaffEvent::ActionFinished {
        action: discard,
        outcome: ActionOutcome::Ok,
    });
    assert_eq!(audits(&effects)[0].outcome, AuditOutcome::Ok);
    assert!(effects.contains(&StaffEffect::RefreshStatus));
    assert_eq!(h.staff.running(), None);
    assert_eq!(h.staff.last_result(), Some((discard, &ActionOutcome::Ok)));
}

#[test]
fn retrying_needs_no_confirmation_and_unknown_dead_letters_are_ignored() {
    let mut h = Harness::new();
    h.login();
    let effects = h.send(StaffEvent::ActionRequested(StaffAction::RetryDeadLetter(
        DEAD,
    )));
    assert_eq!(performs(&effects), vec![StaffAction::RetryDeadLetter(DEAD)]);
    h.send(StaffEvent::ActionFinished {
        action: StaffAction::RetryDeadLetter(DEAD),
        outcome: ActionOutcome::Failed("not a dead letter any more".into()),
    });
    let unknown = StaffAction::DiscardDeadLetter(Uuid::nil());
    let effects = h.send(StaffEvent::ActionRequested(unknown));
    assert!(effects.is_empty());
    assert_eq!(h.staff.state(), StaffState::Dashboard);
}

#[test]
fn out_of_service_asks_for_confirmation_and_stays_after_staff_leave() {
    let mut h = Harness::new();
    h.login();
    let effects = h.send(StaffEvent::ActionRequested(StaffAction::OutOfService));
    assert_eq!(
        effects,
        vec![StaffEffect::Show(StaffScreen::Confirming(
            StaffAction::OutOfService
        ))]
    );
    assert!(!h.staff.is_out_of_service());
    let effects = h.send(StaffEvent::Confirm);
    assert!(effects.contains(&StaffEffect::SetInService(false)));
    assert!(performs(&effects).is_empty(), "the machine does it itself");
    assert!(h.staff.is_out_of_service());
    assert_eq!(audits(&effects)[0].outcome, AuditOutcome::Ok);
    h.send(StaffEvent::Exit);
    assert_eq!(h.staff.state(), StaffState::OutOfService);
    assert!(h.staff.blocks_citizens());

    // Staff come back through the same gesture; back in service needs no confirmation.
    h.login();
    assert!(!h.staff.can_request(StaffAction::OutOfService));
    let effects = h.send(StaffEvent::ActionRequested(StaffAction::BackInService));
    assert!(effects.contains(&StaffEffect::SetInService(true)));
    h.send(StaffEvent::Exit);
    assert_eq!(h.staff.state(), StaffState::Closed);
    assert!(!h.staff.blocks_citizens());
}

#[test]
fn idle_staff_mode_closes_itself() {
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    h.advance(Duration::from_secs(29));
    assert_eq!(h.staff.state(), StaffState::PinPad);
    let effects = h.advance(Duration::from_secs(1));
    assert_eq!(h.staff.state(), StaffState::Closed);
    assert_eq!(
        effects,
        vec![StaffEffect::Close],
        "no login, nothing to audit"
    );

    h.login();
    h.advance(Duration::from_secs(100));
    h.send(StaffEvent::Activity);
    h.advance(Duration::from_secs(100));
    assert_eq!(
        h.staff.state(),
        StaffState::Dashboard,
        "a touch keeps it open"
    );
    h.send(StaffEvent::ActionRequested(StaffAction::OutOfService));
    let effects = h.advance(Duration::from_secs(120));
    assert_eq!(h.staff.state(), StaffState::Closed);
    let audit = audits(&effects);
    assert_eq!(audit.len(), 2);
    assert_eq!(
        audit[0].outcome,
        AuditOutcome::Cancelled,
        "the open question"
    );
    assert_eq!(audit[1].action, AuditAction::Logout);
    assert_eq!(audit[1].outcome, AuditOutcome::TimedOut);
    assert!(!h.staff.is_out_of_service());
}

#[test]
fn the_dashboard_asks_for_fresh_figures_while_open() {
    let mut h = Harness::new();
    h.login();
    let effects = h.advance(Duration::from_secs(4));
    assert!(!effects.contains(&StaffEffect::RefreshStatus));
    let effects = h.advance(Duration::from_secs(1));
    assert!(effects.contains(&StaffEffect::RefreshStatus));
    h.send(StaffEvent::Exit);
    let effects = h.advance(Duration::from_secs(10));
    assert!(effects.is_empty(), "closed: no refreshes");
}

#[test]
fn an_action_that_ends_after_staff_left_is_still_audited_for_them() {
    let mut h = Harness::new();
    h.send(StaffEvent::TokenPresented(
        h.token("ka-0815", Duration::from_secs(600)),
    ));
    h.send(StaffEvent::ActionRequested(StaffAction::SyncNow));
    h.send(StaffEvent::Exit);
    let effects = h.send(StaffEvent::ActionFinished {
        action: StaffAction::SyncNow,
        outcome: ActionOutcome::Failed("portal unreachable\n(timeout)".into()),
    });
    let audit = audits(&effects);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].staff, StaffIdentity::Token("ka-0815".into()));
    assert_eq!(audit[0].outcome, AuditOutcome::Failed);
    assert_eq!(
        audit[0].reason.as_deref(),
        Some("portal unreachable (timeout)")
    );
    assert!(!effects.contains(&StaffEffect::RefreshStatus));

    // An answer for something never started changes nothing.
    let effects = h.send(StaffEvent::ActionFinished {
        action: StaffAction::PrintTestPage,
        outcome: ActionOutcome::Ok,
    });
    assert!(effects.is_empty());
}

#[test]
fn every_action_is_audited_when_it_starts_and_when_it_ends() {
    let actions = [
        StaffAction::SyncNow,
        StaffAction::PrintTestPage,
        StaffAction::ReloadCatalogue,
        StaffAction::RetryDeadLetter(DEAD),
        StaffAction::DiscardDeadLetter(DEAD),
        StaffAction::OutOfService,
        StaffAction::BackInService,
    ];
    let mut h = Harness::new();
    h.login();
    for action in actions {
        let before = h.audits().len();
        h.send(StaffEvent::ActionRequested(action));
        if action.needs_confirmation() {
            h.send(StaffEvent::Confirm);
        }
        if h.staff.running() == Some(action) {
            h.send(StaffEvent::ActionFinished {
                action,
                outcome: ActionOutcome::Ok,
            });
        }
        let entries: Vec<_> = h.audits()[before..].to_vec();
        assert!(
            entries
                .iter()
                .all(|e| e.action == AuditAction::Action(action) && e.staff == StaffIdentity::Pin),
            "{action:?}: {entries:?}"
        );
        assert_eq!(
            entries.last().map(|e| e.outcome),
            Some(AuditOutcome::Ok),
            "{action:?}"
        );
        let lines: Vec<String> = entries.iter().map(|e| e.to_json_line()).collect();
        assert!(lines.iter().all(|l| l.contains(action.name())), "{lines:?}");
    }
}

#[test]
fn without_a_configured_pin_the_pad_says_so() {
    let mut h = Harness::with_config(StaffConfig::default());
    h.staff = kiosk_staff::StaffMode::new(
        StaffConfig::default(),
        kiosk_staff::StaffCredentials::new(None, Vec::new(), Vec::new()),
    );
    h.send(StaffEvent::OpenRequested);
    assert!(!h.staff.has_pin());
    let effects = h.type_pin("123456");
    assert_eq!(h.staff.notice(), Some(PinPadNotice::NoPinConfigured));
    assert!(audits(&effects).is_empty());
}

#[test]
fn pins_cards_and_tokens_never_appear_in_debug_output_or_the_audit_log() {
    let mut h = Harness::new();
    h.send(StaffEvent::OpenRequested);
    for c in "9876543".chars() {
        h.send(StaffEvent::PinDigit(PinDigit::from_char(c).unwrap()));
    }
    let machine = format!("{:?}", h.staff);
    assert!(!machine.contains("9876543"), "{machine}");
    assert!(!machine.contains("482916"), "{machine}");
    h.send(StaffEvent::PinSubmit);
    let uid_hex = "045a219c338001";
    let token_text = sign_token(&SEED, "ka-0815", h.now().wall + MINUTE).unwrap();
    let events = [
        StaffEvent::PinDigit(PinDigit::from_char('9').unwrap()),
        StaffEvent::CardPresented(CardUid::new(STAFF_UID.to_vec())),
        StaffEvent::TokenPresented(PresentedToken::new(token_text.clone())),
    ];
    for event in &events {
        let shown = format!("{event:?}");
        assert!(
            !shown.contains('9') || shown.contains("redacted"),
            "{shown}"
        );
        assert!(!shown.to_lowercase().contains(uid_hex), "{shown}");
        assert!(!shown.contains(&token_text[20..]), "{shown}");
    }
    for event in events {
        h.send(event);
    }
    h.type_pin(PIN);
    let log: String = h.audits().iter().map(|e| e.to_json_line() + "\n").collect();
    let effects = format!("{:?}", h.log);
    for text in [&log, &effects] {
        assert!(!text.contains("9876543"));
        assert!(!text.contains(PIN));
        assert!(!text.to_lowercase().contains(uid_hex));
        assert!(!text.contains(&token_text[20..]), "the signature stays out");
    }
}
