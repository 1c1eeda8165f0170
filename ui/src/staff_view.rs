//! The staff screens and the citizens' out-of-service screen: the
//! `StaffAdapter` written from kiosk-staff's [`StaffMode`], and its callbacks
//! turned into [`StaffEvent`]s.
//!
//! Staff screens are German or English only: staff work in German, the
//! vendor's technicians read English, and operational terms (dead letters,
//! synchronisation) in Turkish, Arabic or Ukrainian would be texts nobody at
//! the town hall reads or can sign off. The out-of-service screen is for
//! citizens and speaks every language.

use std::time::Duration;

use kiosk_catalogue::{Catalogue, Language};
use kiosk_journey::Journey;
use kiosk_staff::{
    ActionOutcome, EidClientState, PinDigit, PinPadNotice, StaffAction, StaffEvent, StaffMode,
    StaffScreen,
};
use slint::{ComponentHandle, Model};

use crate::KioskUi;
use crate::generated::{DeadLetterItem, MainWindow, StaffAdapter, WelcomeLine};
use crate::present::{UiEvent, UiSink, model, sync};

impl KioskUi {
    /// Connects the staff adapter's callbacks.
    pub(crate) fn connect_staff(&self, sink: UiSink) {
        let adapter = self.window.global::<StaffAdapter<'_>>();
        let staff = |sink: &UiSink, event: StaffEvent| {
            let sink = sink.clone();
            move || sink(UiEvent::Staff(event.clone()))
        };
        {
            let sink = sink.clone();
            adapter.on_corner_tap(move || sink(UiEvent::CornerTap));
        }
        {
            let sink = sink.clone();
            adapter.on_pin_key(move |text| {
                // One digit per key; anything else is not a PIN key.
                let mut chars = text.chars();
                if let (Some(c), None) = (chars.next(), chars.next())
                    && let Some(digit) = PinDigit::from_char(c)
                {
                    sink(UiEvent::Staff(StaffEvent::PinDigit(digit)));
                }
            });
        }
        adapter.on_pin_backspace(staff(&sink, StaffEvent::PinBackspace));
        adapter.on_pin_submit(staff(&sink, StaffEvent::PinSubmit));
        adapter.on_confirm(staff(&sink, StaffEvent::Confirm));
        adapter.on_cancel(staff(&sink, StaffEvent::Cancel));
        adapter.on_exit(staff(&sink, StaffEvent::Exit));
        adapter.on_activity(staff(&sink, StaffEvent::Activity));
        {
            let sink = sink.clone();
            adapter.on_action(move |name, target| {
                let target = uuid::Uuid::parse_str(&target).ok();
                match StaffAction::from_name(&name, target) {
                    Some(action) => sink(UiEvent::Staff(StaffEvent::ActionRequested(action))),
                    None => tracing::warn!(action = %name, "unknown staff action button; ignored"),
                }
            });
        }
        {
            let local = self.local.clone();
            adapter.on_toggle_language(move || {
                {
                    let mut local = local.borrow_mut();
                    local.staff_english = !local.staff_english;
                }
                // Activity keeps staff mode open and redraws in the new language.
                sink(UiEvent::Staff(StaffEvent::Activity));
            });
        }
    }

    /// Writes the staff adapter from staff mode's state. Call before
    /// [`KioskUi::present`], which selects the translation it asks for.
    pub fn present_staff(&self, staff: &StaffMode, catalogue: &Catalogue, now: kiosk_staff::Now) {
        let adapter = self.window.global::<StaffAdapter<'_>>();
        let mut local = self.local.borrow_mut();
        let screen = staff.screen();
        if screen.is_none() {
            // The next staff member starts in German again.
            local.staff_english = false;
        }
        let english = local.staff_english;
        local.staff_translation = screen.map(|_| if english { "en" } else { "de" });
        drop(local);

        adapter.set_screen(
            match screen {
                Some(StaffScreen::PinPad) => "pin-pad",
                Some(StaffScreen::Dashboard) => "dashboard",
                Some(StaffScreen::Confirming(_)) => "confirm",
                None if staff.is_out_of_service() => "out-of-service",
                None => "",
            }
            .into(),
        );
        adapter.set_english(english);
        adapter.set_out_of_service(staff.is_out_of_service());
        if screen.is_none() {
            // Nothing of staff mode lingers in the UI once it closes.
            adapter.set_pin_digits(0);
            adapter.set_notice("".into());
            if adapter.get_dead_letters().row_count() > 0 {
                adapter.set_dead_letters(model(Vec::new()));
            }
            return;
        }

        // PIN pad.
        adapter.set_has_pin(staff.has_pin());
        adapter.set_pin_digits(staff.pin_len() as i32);
        let (notice, attempts_left) = match staff.notice() {
            None => ("", 0),
            Some(PinPadNotice::WrongPin { attempts_left }) => ("wrong-pin", attempts_left),
            Some(PinPadNotice::LockedOut) => ("locked-out", 0),
            Some(PinPadNotice::NoPinConfigured) => ("no-pin", 0),
            Some(PinPadNotice::UnknownCard) => ("unknown-card", 0),
            Some(PinPadNotice::InvalidToken) => ("invalid-token", 0),
            Some(PinPadNotice::ExpiredToken) => ("expired-token", 0),
        };
        adapter.set_notice(notice.into());
        adapter.set_attempts_left(attempts_left as i32);
        adapter.set_locked_seconds(
            staff
                .locked_for(now.elapsed)
                .map_or(0, |left| left.as_millis().div_ceil(1000) as i32),
        );

        // Dashboard.
        let status = staff.status();
        let staff_language =
            Language::new(if english { "en" } else { "de" }).unwrap_or_else(|_| Language::german());
        adapter.set_staff_identity(
            staff
                .staff()
                .map(|s| s.to_string())
                .unwrap_or_default()
                .into(),
        );
        adapter.set_kiosk_id(status.kiosk_id.as_str().into());
        adapter.set_catalogue_version(status.catalogue_version.as_str().into());
        adapter.set_queue_depth(i32::try_from(status.queue_depth).unwrap_or(i32::MAX));
        adapter.set_oldest_age(
            status
                .oldest_undelivered_age(now.wall)
                .map(|age| format_age(age, english))
                .unwrap_or_default()
                .into(),
        );
        adapter.set_last_sync(
            status
                .last_sync_at
                .map(|at| format_age(now.wall.duration_since(at).unwrap_or_default(), english))
                .unwrap_or_default()
                .into(),
        );
        adapter.set_printer(status.printer.name().into());
        adapter.set_reader(status.reader.name().into());
        let (eid_client, eid_version, eid_readers) = match &status.eid {
            EidClientState::NotConfigured => ("not-configured", "", 0),
            EidClientState::Disconnected => ("disconnected", "", 0),
            EidClientState::Connected { version, readers } => (
                "connected",
                version.as_str(),
                i32::try_from(*readers).unwrap_or(i32::MAX),
            ),
        };
        adapter.set_eid_client(eid_client.into());
        adapter.set_eid_version(eid_version.into());
        adapter.set_eid_readers(eid_readers);
        sync(
            adapter.get_dead_letters(),
            status
                .dead_letters
                .iter()
                .map(|d| DeadLetterItem {
                    id: d.id.to_string().into(),
                    reference: d.reference.as_str().into(),
                    service: catalogue
                        .service(&d.service_id)
                        .map(|s| s.title.get(&staff_language).to_owned())
                        .unwrap_or_else(|| d.service_id.clone())
                        .into(),
                    age: format_age(
                        now.wall.duration_since(d.created_at).unwrap_or_default(),
                        english,
                    )
                    .into(),
                    attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
                    error: d.last_error_class.as_str().into(),
                })
                .collect(),
            |m| adapter.set_dead_letters(m),
        );
        adapter.set_actions_enabled(staff.running().is_none());
        adapter.set_running(staff.running().map_or("", |a| a.name()).into());
        match staff.last_result() {
            Some((action, outcome)) => {
                adapter.set_result_action(action.name().into());
                adapter.set_result_ok(*outcome == ActionOutcome::Ok);
                adapter.set_result_reason(match outcome {
                    ActionOutcome::Ok => "".into(),
                    ActionOutcome::Failed(reason) => reason.as_str().into(),
                });
            }
            None => adapter.set_result_action("".into()),
        }
        let (confirm_action, confirm_reference) = match screen {
            Some(StaffScreen::Confirming(action)) => (
                action.name(),
                action
                    .dead_letter()
                    .and_then(|id| status.dead_letter(id))
                    .map(|d| d.reference.clone())
                    .unwrap_or_default(),
            ),
            _ => ("", String::new()),
        };
        adapter.set_confirm_action(confirm_action.into());
        adapter.set_confirm_reference(confirm_reference.into());
    }
}

/// The out-of-service notice in every catalogue language except the one the
/// screen's own heading is in.
pub(crate) fn present_out_of_service(window: &MainWindow, journey: &Journey) {
    let adapter = window.global::<StaffAdapter<'_>>();
    sync(
        adapter.get_out_of_service_lines(),
        journey
            .catalogue()
            .languages
            .iter()
            .filter(|l| *l != journey.language())
            .map(|l| {
                let (greeting, hint) = out_of_service_lines(l);
                WelcomeLine {
                    greeting: greeting.into(),
                    hint: hint.into(),
                    rtl: l.is_right_to_left(),
                }
            })
            .collect(),
        |m| adapter.set_out_of_service_lines(m),
    );
}

/// "Temporarily out of service" and "please ask the staff" in `language`
/// (the same texts as the `.po` files give the screen's heading); English
/// for languages without one.
pub(crate) fn out_of_service_lines(language: &Language) -> (&'static str, &'static str) {
    match language.code() {
        "de" => (
            "Vorübergehend außer Betrieb",
            "Bitte wenden Sie sich an das Personal vor Ort.",
        ),
        "tr" => (
            "Geçici olarak hizmet dışı",
            "Lütfen buradaki personele başvurun.",
        ),
        "ar" => ("خارج الخدمة مؤقتًا", "يرجى التوجه إلى الموظفين هنا."),
        "uk" => (
            "Тимчасово не працює",
            "Будь ласка, зверніться до працівників на місці.",
        ),
        "ru" => (
            "Временно не работает",
            "Пожалуйста, обратитесь к сотрудникам на месте.",
        ),
        "pl" => (
            "Chwilowo nieczynne",
            "Prosimy zwrócić się do personelu na miejscu.",
        ),
        "fr" => (
            "Temporairement hors service",
            "Veuillez vous adresser au personnel sur place.",
        ),
        "fa" => ("موقتاً خارج از سرویس", "لطفاً به کارکنان حاضر مراجعه کنید."),
        _ => (
            "Temporarily out of service",
            "Please ask the staff here for help.",
        ),
    }
}

/// An age as staff read it on the dashboard: "3 Min.", "2 Std. 5 Min.",
/// "4 Tg." (English: "3 min", "2 h 5 min", "4 d").
pub(crate) fn format_age(age: Duration, english: bool) -> String {
    let minutes = age.as_secs() / 60;
    let (hours, days) = (minutes / 60, minutes / (60 * 24));
    match (english, minutes) {
        (false, 0) => "unter 1 Min.".to_owned(),
        (true, 0) => "under 1 min".to_owned(),
        (false, 1..60) => format!("{minutes} Min."),
        (true, 1..60) => format!("{minutes} min"),
        (false, _) if hours < 48 => format!("{hours} Std. {} Min.", minutes % 60),
        (true, _) if hours < 48 => format!("{hours} h {} min", minutes % 60),
        (false, _) => format!("{days} Tg."),
        (true, _) => format!("{days} d"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally_in_german_and_english() {
        let s = Duration::from_secs;
        assert_eq!(format_age(s(30), false), "unter 1 Min.");
        assert_eq!(format_age(s(3 * 60 + 59), false), "3 Min.");
        assert_eq!(format_age(s(2 * 3600 + 5 * 60), false), "2 Std. 5 Min.");
        assert_eq!(format_age(s(2 * 3600 + 5 * 60), true), "2 h 5 min");
        assert_eq!(format_age(s(4 * 86400), false), "4 Tg.");
        assert_eq!(format_age(s(4 * 86400), true), "4 d");
    }

    #[test]
    fn the_out_of_service_notice_exists_in_every_shipped_language() {
        let catalogue = Catalogue::embedded_default();
        for language in &catalogue.languages {
            let (greeting, _) = out_of_service_lines(language);
            assert!(
                language.code() == "en" || greeting != "Temporarily out of service",
                "{language}"
            );
        }
    }
}
