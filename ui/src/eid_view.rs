//! The eID login screens (online ID card through AusweisApp): the
//! `EidAdapter` written from the journey's [`LoginState`], and its callbacks
//! turned into journey events.
//!
//! Texts are the eID crate's message codes ([`kiosk_eid::message_codes`]);
//! `EidTexts` in `ui/pages/eid.slint` turns them into sentences in the
//! citizen's language.
//!
//! The PIN and the CAN are typed on an on-screen pad into a [`DigitBuffer`]
//! kept here in the UI's local state: a fixed, zeroised buffer that is wiped
//! when the screen changes. Slint only ever sees how many digits were typed;
//! the digits leave the buffer once, as the [`Secret`] of
//! [`Event::EidPin`] or [`Event::EidCan`].
//!
//! [`Secret`]: kiosk_journey::eid::Secret

use kiosk_catalogue::IdentityMethod;
use kiosk_journey::eid::protocol::AccessRight;
use kiosk_journey::eid::{
    Advice, CanReason, Consent, DigitBuffer, LoginState, Outcome, SecretKind,
};
use kiosk_journey::{EidPhase, Event, IdentifyChoice, Journey};
use slint::ComponentHandle;

use crate::KioskUi;
use crate::generated::{EidAdapter, EidRight};
use crate::present::{Local, sync};

/// The eID screens' own state between two `present` calls.
#[derive(Debug, Default)]
pub(crate) struct EidLocal {
    /// The PIN or CAN being typed on the on-screen pad; `None` when no pad
    /// shows. Dropping it wipes the digits.
    pad: Option<DigitBuffer>,
    /// "Bestätigen" was tapped with fewer digits than needed.
    incomplete: bool,
    /// The optional rights switched on, as last shown (the switches change this list).
    optional_enabled: Vec<AccessRight>,
}

impl EidLocal {
    /// Makes the pad match the screen: a fresh, empty buffer when a PIN or
    /// CAN pad appears, none otherwise. A buffer is never carried from one
    /// screen to another, so digits typed for one request never reach the next.
    fn want_pad(&mut self, kind: Option<SecretKind>) {
        if self.pad.as_ref().map(DigitBuffer::kind) != kind {
            // Dropping the old buffer zeroises it.
            self.pad = kind.map(DigitBuffer::new);
            self.incomplete = false;
        }
    }

    /// Digits typed so far (what the dots show).
    pub(crate) fn typed(&self) -> usize {
        self.pad.as_ref().map_or(0, DigitBuffer::len)
    }

    /// "Bestätigen" was tapped with fewer digits than needed.
    pub(crate) fn incomplete(&self) -> bool {
        self.incomplete
    }
}

/// The pad the login's state asks for: the PIN or CAN when typed on the
/// screen (not on the reader's keypad).
fn pad_kind(journey: &Journey) -> Option<SecretKind> {
    if !matches!(
        journey.step(),
        kiosk_journey::Step::Identify(kiosk_journey::IdentifyStep::Eid(EidPhase::Login))
    ) {
        return None;
    }
    match journey.eid_login()? {
        LoginState::EnterPin(request) if !request.keypad => Some(SecretKind::Pin),
        LoginState::EnterCan(request) if !request.keypad => Some(SecretKind::Can),
        _ => None,
    }
}

/// The screen name `EidAdapter.screen` takes for a login state.
pub(crate) fn screen_name(state: &LoginState) -> &'static str {
    match state {
        LoginState::Idle => "preparing",
        LoginState::Starting { .. } => "starting",
        LoginState::LoadingProvider => "loading-provider",
        LoginState::Consent(_) => "consent",
        LoginState::InsertCard { .. } => "insert-card",
        LoginState::Working { .. } => "working",
        LoginState::EnterPin(_) => "enter-pin",
        LoginState::EnterCan(_) => "enter-can",
        LoginState::Ending(_) => "ending",
        LoginState::Ended(_) => "ended",
    }
}

/// What kind of ending an outcome is, for the ended screen's heading.
pub(crate) fn outcome_kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded { .. } => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::NotOffered { .. } => "not-offered",
    }
}

/// Whether "Erneut versuchen" makes sense: the failure may pass (the card was
/// moved, the service was busy), or the citizen cancelled on the reader.
pub(crate) fn can_retry(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Cancelled { .. })
        || matches!(outcome.advice(), Some(Advice::TryAgain | Advice::TryLater))
}

/// A certificate date (`2026-12-31`) as the citizen reads it (`31.12.2026`);
/// anything else unchanged.
pub(crate) fn display_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.trim().split('-').collect();
    match parts.as_slice() {
        [year, month, day]
            if year.len() == 4
                && month.len() == 2
                && day.len() == 2
                && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            format!("{day}.{month}.{year}")
        }
        _ => iso.to_owned(),
    }
}

fn right_item(right: &AccessRight, optional: bool, enabled: bool) -> EidRight {
    EidRight {
        code: right.code().into(),
        sdk: right.sdk_name().into(),
        optional,
        enabled,
    }
}

impl KioskUi {
    /// Connects the eID adapter's callbacks.
    pub(crate) fn connect_eid(&self, sink: &crate::present::Sink) {
        let adapter = self.window.global::<EidAdapter<'_>>();
        {
            let sink = sink.clone();
            adapter.on_accept(move || sink(Event::EidAccept));
        }
        {
            let sink = sink.clone();
            adapter.on_retry(move || {
                sink(Event::ChooseIdentification(IdentifyChoice::Method(
                    IdentityMethod::Eid,
                )))
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            adapter.on_set_optional(move |sdk_name, on| {
                let chosen = {
                    let local = local.borrow();
                    let right = AccessRight::from_sdk_name(&sdk_name);
                    let mut chosen: Vec<AccessRight> = local
                        .eid
                        .optional_enabled
                        .iter()
                        .filter(|r| **r != right)
                        .cloned()
                        .collect();
                    if on {
                        chosen.push(right);
                    }
                    chosen.sort_by_key(AccessRight::display_order);
                    chosen
                };
                sink(Event::EidOptionalRights(chosen));
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            adapter.on_key(move |text| {
                {
                    let mut local = local.borrow_mut();
                    let eid = &mut local.eid;
                    if let Some(pad) = eid.pad.as_mut() {
                        // One digit per key; the buffer refuses anything else.
                        let mut chars = text.chars();
                        if let (Some(c), None) = (chars.next(), chars.next())
                            && pad.push(c)
                        {
                            eid.incomplete = false;
                        }
                    }
                }
                sink(Event::Activity);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            adapter.on_backspace(move || {
                if let Some(pad) = local.borrow_mut().eid.pad.as_mut() {
                    pad.pop();
                }
                sink(Event::Activity);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            adapter.on_confirm(move || {
                let event = {
                    let mut local = local.borrow_mut();
                    let eid = &mut local.eid;
                    match eid.pad.as_mut() {
                        Some(pad) if pad.is_complete() => {
                            let kind = pad.kind();
                            match pad.take() {
                                Ok(secret) if kind == SecretKind::Can => Some(Event::EidCan(secret)),
                                Ok(secret) => Some(Event::EidPin(secret)),
                                Err(e) => {
                                    // The error names the kind and length only.
                                    tracing::warn!(error = %e, "the on-screen pad held no valid secret");
                                    None
                                }
                            }
                        }
                        Some(_) => {
                            eid.incomplete = true;
                            None
                        }
                        None => None,
                    }
                };
                sink(event.unwrap_or(Event::Activity));
            });
        }
    }

    /// Wipes the PIN pad unless the login shows it now, and shows how many
    /// digits it holds. Called on every `present`, whatever the screen, so the
    /// digits never outlive their screen.
    pub(crate) fn forget_eid_pad(&self, journey: &Journey, local: &mut Local) {
        local.eid.want_pad(pad_kind(journey));
        let adapter = self.window.global::<EidAdapter<'_>>();
        adapter.set_digits(local.eid.typed() as i32);
        adapter.set_incomplete(local.eid.incomplete);
    }

    /// Writes the eID adapter for the identify step's eID phase ("read
    /// aloud" builds its text from the same state: `src/read_aloud.rs`).
    pub(crate) fn present_eid(&self, journey: &Journey, phase: &EidPhase, local: &mut Local) {
        let adapter = self.window.global::<EidAdapter<'_>>();

        let login = journey.eid_login();
        let (screen, progress) = match (phase, login) {
            (EidPhase::Preparing, _) | (EidPhase::Login, None) => ("preparing", None),
            (EidPhase::Completing, _) => ("completing", None),
            (EidPhase::Ended(_), _) => ("ended", None),
            (EidPhase::Login, Some(state)) => {
                let progress = match state {
                    LoginState::Starting { progress } | LoginState::Working { progress } => {
                        *progress
                    }
                    _ => None,
                };
                (screen_name(state), progress)
            }
        };
        adapter.set_screen(screen.into());
        adapter.set_progress(progress.map_or(-1, |p| p.min(100) as i32));

        let outcome = match (phase, login) {
            (EidPhase::Ended(outcome), _) => Some((outcome, true)),
            (_, Some(LoginState::Ending(outcome))) => Some((outcome, false)),
            (_, Some(LoginState::Ended(outcome))) => Some((outcome, true)),
            _ => None,
        };
        if let Some((outcome, ended)) = outcome {
            adapter.set_outcome_kind(outcome_kind(outcome).into());
            adapter.set_outcome(outcome.code().into());
            let advice = outcome.advice().map(Advice::code).unwrap_or_default();
            adapter.set_advice(advice.into());
            adapter.set_can_retry(ended && can_retry(outcome));
        }

        match login {
            Some(LoginState::Consent(consent)) if *phase == EidPhase::Login => {
                self.present_consent_request(consent, local);
            }
            Some(LoginState::InsertCard { problem }) => {
                let code = problem.map(|p| p.code()).unwrap_or_default();
                adapter.set_card_problem(code.into());
            }
            Some(LoginState::EnterPin(request)) => {
                adapter.set_keypad(request.keypad);
                adapter.set_last_was_wrong(request.last_was_wrong);
                adapter.set_attempts_left(request.attempts_left.map_or(-1, i32::from));
            }
            Some(LoginState::EnterCan(request)) => {
                adapter.set_keypad(request.keypad);
                adapter.set_last_was_wrong(request.last_was_wrong);
                adapter.set_attempts_left(-1);
                adapter.set_can_reason(
                    match request.reason {
                        CanReason::PinSuspended => "pin-suspended",
                        CanReason::CanAllowed => "can-allowed",
                    }
                    .into(),
                );
            }
            _ => {}
        }
    }

    fn present_consent_request(&self, consent: &Consent, local: &mut Local) {
        let adapter = self.window.global::<EidAdapter<'_>>();
        let provider = &consent.provider;
        adapter.set_provider_name(provider.name.as_str().into());
        adapter.set_provider_url(provider.url.as_str().into());
        adapter.set_issuer(provider.issuer.as_str().into());
        adapter.set_issuer_url(provider.issuer_url.as_str().into());
        adapter.set_purpose(provider.purpose.as_str().into());
        adapter.set_valid_from(display_date(&provider.valid_from).into());
        adapter.set_valid_until(display_date(&provider.valid_until).into());
        let rights = &consent.rights;
        adapter.set_transaction_info(rights.transaction_info.clone().unwrap_or_default().into());
        adapter.set_required_age(rights.required_age.clone().unwrap_or_default().into());
        adapter.set_rights_change_refused(rights.change_refused);
        sync(
            adapter.get_required_rights(),
            rights
                .required
                .iter()
                .map(|right| right_item(right, false, true))
                .collect(),
            |m| adapter.set_required_rights(m),
        );
        sync(
            adapter.get_optional_rights(),
            rights
                .optional
                .iter()
                .map(|right| right_item(right, true, rights.enabled_optional.contains(right)))
                .collect(),
            |m| adapter.set_optional_rights(m),
        );
        local.eid.optional_enabled = rights.enabled_optional.clone();
    }

    /// Writes why the chosen service's eID login is not possible now ("" when
    /// it is, or the service has none): the route choice says so.
    pub(crate) fn present_eid_not_offered(&self, journey: &Journey) {
        let code = journey.eid_not_offered().map(|reason| reason.code());
        self.window
            .global::<EidAdapter<'_>>()
            .set_not_offered(code.unwrap_or_default().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_dates_read_as_day_month_year() {
        assert_eq!(display_date("2026-12-31"), "31.12.2026");
        assert_eq!(display_date(" 2026-01-05 "), "05.01.2026");
        assert_eq!(display_date("31.12.2026"), "31.12.2026");
        assert_eq!(display_date("2026-1-5"), "2026-1-5");
        assert_eq!(display_date(""), "");
    }

    #[test]
    fn the_pad_is_wiped_when_the_request_changes() {
        let mut eid = EidLocal::default();
        eid.want_pad(Some(SecretKind::Pin));
        for digit in "1234".chars() {
            eid.pad.as_mut().unwrap().push(digit);
        }
        assert_eq!(eid.typed(), 4);
        assert!(!format!("{eid:?}").contains("1234"), "Debug shows no digit");
        eid.want_pad(Some(SecretKind::Pin));
        assert_eq!(eid.typed(), 4, "the same request keeps what was typed");
        eid.want_pad(Some(SecretKind::Can));
        assert_eq!(eid.typed(), 0, "a CAN never starts with PIN digits");
        eid.pad.as_mut().unwrap().push('9');
        eid.incomplete = true;
        eid.want_pad(None);
        assert!(eid.pad.is_none());
        assert!(!eid.incomplete);
    }

    #[test]
    fn retry_is_offered_when_trying_again_can_help() {
        use kiosk_journey::eid::{CancelReason, Failure, NotOffered};
        let failed = |failure| Outcome::Failed {
            failure,
            result_url: None,
        };
        assert!(can_retry(&failed(Failure::CardRemoved)));
        assert!(can_retry(&failed(Failure::ServiceUnreachable)));
        assert!(!can_retry(&failed(Failure::PinBlocked)));
        assert!(!can_retry(&failed(Failure::EidClientError)));
        assert!(can_retry(&Outcome::Cancelled {
            reason: CancelReason::Citizen,
            result_url: None
        }));
        assert!(!can_retry(&Outcome::NotOffered {
            reason: NotOffered::Offline
        }));
    }
}
