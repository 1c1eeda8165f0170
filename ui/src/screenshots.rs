//! Every screen in every language, theme and orientation as PNG files.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kiosk_catalogue::{
    Catalogue, FieldKind, IdentityAttribute, IdentityMethod, IdentityRequirement, Language,
};
use kiosk_journey::eid::protocol::Message;
use kiosk_journey::{
    Appointment, AppointmentTiming, Capabilities, Effect, Event, IdentifyChoice, IdentityData,
    IdentityFailure, Journey, JourneyConfig, Now, PrintState, Step,
};
use kiosk_staff::{
    DeadLetterInfo, PrinterState, ReaderState, StaffAction, StaffConfig, StaffCredentials,
    StaffEffect, StaffEvent, StaffMode, StaffStatus, TokenKey,
};
use slint::{ComponentHandle, Model};
use zeroize::Zeroizing;

use crate::driver::{Clock, EffectHandler, EventSender, Kiosk};
use crate::generated::{EidAdapter, FormAdapter, IdentifyAdapter, Key, KeyboardAdapter};
use crate::{Accessibility, HeadlessPlatform, HeadlessWindow, UiError, sample};

/// A clock that only moves when told to (screenshots, tests).
#[derive(Clone, Debug)]
pub struct ManualClock {
    elapsed: Rc<Cell<Duration>>,
    today: time::Date,
    /// Wall-clock time at zero: `today` at 08:00 UTC.
    wall_start: SystemTime,
}

impl ManualClock {
    /// Starts at zero on `today`, at 08:00 UTC on the wall clock.
    pub fn new(today: time::Date) -> Self {
        let morning = today
            .with_hms(8, 0, 0)
            .map(|t| SystemTime::from(t.assume_utc()))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Self {
            elapsed: Rc::new(Cell::new(Duration::ZERO)),
            today,
            wall_start: morning,
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        self.elapsed.set(self.elapsed.get() + by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Now {
        Now {
            elapsed: self.elapsed.get(),
            today: self.today,
        }
    }

    fn wall(&self) -> SystemTime {
        self.wall_start + self.elapsed.get()
    }
}

/// Effects are not performed for screenshots; the scenario sends the answers.
struct Ignore;

impl EffectHandler for Ignore {
    fn perform(&mut self, _effect: Effect, _events: &EventSender) {}
    fn perform_staff(&mut self, _effect: StaffEffect, _events: &EventSender) {}
}

/// The signing key of the throwaway staff token the screenshots log in with.
/// Only the screenshot kiosk trusts it.
const SCREENSHOT_STAFF_SEED: [u8; 32] = *b"kiosk-ui screenshots, not a key!";

/// Staff mode for screenshots: a PIN (random, never typed; the pad only
/// shows dots) and the screenshot token key.
fn screenshot_staff() -> Result<StaffMode, UiError> {
    let pin = (0..8).map(|_| random_digit()).collect::<String>();
    let hash = kiosk_staff::Pin::parse(&pin)
        .ok()
        .and_then(|pin| kiosk_staff::hash_pin(&pin).ok())
        .and_then(|phc| kiosk_staff::PinHash::parse(&phc).ok());
    Ok(StaffMode::new(
        StaffConfig::default(),
        StaffCredentials::new(
            hash,
            Vec::new(),
            vec![TokenKey::from_seed(&SCREENSHOT_STAFF_SEED)],
        ),
    ))
}

/// A digit from the standard library's randomly seeded hasher (no PIN anyone
/// could know, without a dependency for it).
fn random_digit() -> char {
    use std::hash::{BuildHasher, RandomState};
    let value = RandomState::new().hash_one(0u8) % 10;
    char::from(b'0' + value as u8)
}

/// The staff dashboard's sample figures: some queue, two dead letters, paper low.
fn sample_status(catalogue: &Catalogue, wall: SystemTime) -> StaffStatus {
    let service = |i: usize| {
        catalogue
            .services
            .get(i % catalogue.services.len().max(1))
            .map(|s| s.id.clone())
            .unwrap_or_default()
    };
    let ago = |seconds: u64| wall - Duration::from_secs(seconds);
    StaffStatus {
        kiosk_id: "ge-rathaus-01".into(),
        eid: kiosk_staff::EidClientState::Connected {
            version: "1.26.2".into(),
            readers: 1,
        },
        queue_depth: 3,
        oldest_undelivered_at: Some(ago(2 * 3600 + 14 * 60)),
        dead_letters: vec![
            DeadLetterInfo {
                id: uuid::Uuid::from_u128(0x6f1c_1d2e_3a4b_4c5d_8e6f_7a8b_9c0d_1e2f),
                reference: "GE-2026-7Q4M-K2".into(),
                service_id: service(3),
                created_at: ago(3 * 86400 + 3600),
                attempts: 4,
                last_error_class: "HTTP 422 (schema)".into(),
            },
            DeadLetterInfo {
                id: uuid::Uuid::from_u128(0x0b5e_6a7c_8d9e_4f01_9234_5678_9abc_def0),
                reference: "GE-2026-3HX9-PD".into(),
                service_id: service(1),
                created_at: ago(26 * 3600),
                attempts: 2,
                last_error_class: "HTTP 409 (conflict)".into(),
            },
        ],
        last_sync_at: Some(ago(4 * 60)),
        last_sync_attempt_at: Some(ago(30)),
        printer: PrinterState::PaperNearEnd,
        reader: ReaderState::Ready,
        catalogue_version: "2026.11.2".into(),
    }
}

/// The screens [`render_screenshots`] renders, in order.
pub const SCREENS: [&str; 34] = [
    "attract",
    "language",
    "service",
    "identify",
    "identify-eid-offline",
    "identify-can",
    "identify-waiting",
    "identify-failed",
    "eid-consent",
    "eid-insert-card",
    "eid-pin",
    "eid-can",
    "eid-pin-blocked",
    "form-text",
    "form-errors",
    "form-date",
    "form-choice",
    "form-group",
    "review",
    "consent",
    "submitting",
    "receipt-qr-code",
    "receipt-printed",
    "goodbye",
    "check-in-receipt",
    "appointment-too-early",
    "appointment-missed",
    "idle-warning",
    "staff-called",
    "language-menu",
    "staff-pin-pad",
    "staff-dashboard",
    "staff-confirm",
    "out-of-service",
];

/// A landscape and a portrait kiosk.
pub const ORIENTATIONS: [(&str, u32, u32); 2] =
    [("landscape", 1920, 1080), ("portrait", 1080, 1920)];

/// The themes [`ScreenshotSet::all`] renders: default, high contrast, large text.
pub const THEMES: [Accessibility; 3] = [
    Accessibility {
        large_text: false,
        high_contrast: false,
    },
    Accessibility {
        large_text: false,
        high_contrast: true,
    },
    Accessibility {
        large_text: true,
        high_contrast: false,
    },
];

/// The directory name of a theme: `default`, `high-contrast`, `large-text`
/// or `large-text-high-contrast`.
pub fn theme_name(theme: Accessibility) -> &'static str {
    match (theme.large_text, theme.high_contrast) {
        (false, false) => "default",
        (false, true) => "high-contrast",
        (true, false) => "large-text",
        (true, true) => "large-text-high-contrast",
    }
}

/// Which screenshots to render.
#[derive(Clone, Debug)]
pub struct ScreenshotSet {
    /// Screen names from [`SCREENS`].
    pub screens: Vec<&'static str>,
    /// Languages (all of the catalogue's when empty).
    pub languages: Vec<Language>,
    /// Themes: the accessibility switches each screen is rendered with
    /// (default, high contrast, large text, or both).
    pub themes: Vec<Accessibility>,
    /// From [`ORIENTATIONS`].
    pub orientations: Vec<(&'static str, u32, u32)>,
}

impl ScreenshotSet {
    /// Everything: every screen, language, theme (default, high contrast,
    /// large text) and orientation.
    pub fn all() -> Self {
        Self {
            screens: SCREENS.to_vec(),
            languages: Vec::new(),
            themes: THEMES.to_vec(),
            orientations: ORIENTATIONS.to_vec(),
        }
    }
}

/// Renders every screen in every language, every theme of [`THEMES`] and both
/// orientations into `out_dir/<orientation>/<theme>/<language>/<NN>-<screen>.png`
/// (`<theme>` from [`theme_name`]), headless
/// with the software renderer. Runs on its own thread (Slint platforms are
/// per thread), so it works from any program.
pub fn render_screenshots(
    catalogue: Arc<Catalogue>,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, UiError> {
    render_set(catalogue, out_dir, ScreenshotSet::all())
}

/// Like [`render_screenshots`], for a chosen subset.
pub fn render_set(
    catalogue: Arc<Catalogue>,
    out_dir: &Path,
    set: ScreenshotSet,
) -> Result<Vec<PathBuf>, UiError> {
    let out_dir = out_dir.to_owned();
    std::thread::Builder::new()
        .name("screenshots".into())
        .spawn(move || render_on_this_thread(catalogue, &out_dir, set))
        .map_err(|e| UiError::Platform(e.to_string()))?
        .join()
        .map_err(|_| UiError::Platform("the screenshot thread panicked".into()))?
}

fn render_on_this_thread(
    catalogue: Arc<Catalogue>,
    out_dir: &Path,
    set: ScreenshotSet,
) -> Result<Vec<PathBuf>, UiError> {
    let window = HeadlessPlatform::install()?;
    let today = time::macros::date!(2026 - 11 - 24);
    let clock = ManualClock::new(today);
    let config = JourneyConfig::default();
    let journey = Journey::new(catalogue.clone(), config, clock.now());
    let kiosk = Kiosk::new(
        journey,
        screenshot_staff()?,
        Box::new(clock.clone()),
        Box::new(Ignore),
    )?;
    kiosk
        .ui()
        .component()
        .show()
        .map_err(|e| UiError::Platform(e.to_string()))?;
    let languages = if set.languages.is_empty() {
        catalogue.languages.clone()
    } else {
        set.languages.clone()
    };
    let mut written = Vec::new();
    for &(orientation, width, height) in &set.orientations {
        window.set_size(width, height);
        for language in &languages {
            for &theme in &set.themes {
                let dir = out_dir
                    .join(orientation)
                    .join(theme_name(theme))
                    .join(language.code());
                std::fs::create_dir_all(&dir).map_err(|e| UiError::Io(dir.clone(), e))?;
                for screen in &set.screens {
                    let number = SCREENS.iter().position(|s| s == screen).unwrap_or(99);
                    stage(&kiosk, &clock, &catalogue, language, screen)?;
                    kiosk.ui().set_accessibility(theme);
                    let path = dir.join(format!("{number:02}-{screen}.png"));
                    save(&window, &path)?;
                    written.push(path);
                }
            }
        }
    }
    // Leave nothing personal behind, even sample data.
    kiosk.dispatch(Event::Cancel);
    Ok(written)
}

fn save(window: &HeadlessWindow, path: &Path) -> Result<(), UiError> {
    window
        .render()
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| UiError::Io(path.to_owned(), std::io::Error::other(e)))
}

/// Sample identity data as an ID card would give it.
fn sample_identity(method: IdentityMethod) -> IdentityData {
    let values = [
        (IdentityAttribute::GivenNames, "Erika"),
        (IdentityAttribute::Surname, "Mustermann"),
        (IdentityAttribute::BirthName, "Gabler"),
        (IdentityAttribute::DateOfBirth, "1964-08-12"),
        (IdentityAttribute::PlaceOfBirth, "Berlin"),
        (IdentityAttribute::Nationality, "D"),
        (IdentityAttribute::Street, "Heidestraße"),
        (IdentityAttribute::HouseNumber, "17"),
        (IdentityAttribute::PostalCode, "51147"),
        (IdentityAttribute::City, "Köln"),
    ];
    IdentityData {
        method,
        verified: true,
        attributes: values
            .into_iter()
            .map(|(a, v)| (a, Zeroizing::new(v.to_owned())))
            .collect(),
    }
}

/// Puts the kiosk on `screen` (one of [`SCREENS`]) in `language`, starting
/// from a fresh session and walking the journey with sample answers (Erika
/// Mustermann) where the screen needs them. For screenshots, demos and
/// benchmarks; `clock` must be the kiosk's clock. The staff screens need the
/// kiosk [`render_set`] builds (its staff mode trusts the screenshot token).
pub fn stage(
    kiosk: &Kiosk,
    clock: &ManualClock,
    catalogue: &Catalogue,
    language: &Language,
    screen: &str,
) -> Result<(), UiError> {
    let go = |event: Event| kiosk.dispatch(event);
    // Staff mode closed and the kiosk in service.
    kiosk.dispatch_staff(StaffEvent::Exit);
    if kiosk.with_staff(|s| s.is_out_of_service()) {
        staff_login(kiosk, clock)?;
        kiosk.dispatch_staff(StaffEvent::ActionRequested(StaffAction::BackInService));
        kiosk.dispatch_staff(StaffEvent::Exit);
    }
    // A fresh session every time: end the last one the way its screen allows
    // (a receipt or a notice finishes, a form cancels). Bounded: each round
    // moves at least one step towards the attract screen.
    for _ in 0..6 {
        let event = match kiosk.with_journey(|j| j.step().clone()) {
            Step::Attract => break,
            Step::Receipt(receipt) if receipt.print == PrintState::Printing => {
                Event::ReceiptPrinted
            }
            Step::Receipt(_) | Step::Goodbye | Step::AppointmentNotDue(_) => Event::Finish,
            Step::Submitting => Event::SubmissionFailed,
            _ => Event::Cancel,
        };
        go(event);
    }
    go(Event::StaffCallEnded);
    go(Event::Capabilities(Capabilities {
        online: true,
        card_reader: true,
        eid_client: true,
    }));
    if screen == "attract" {
        return Ok(());
    }
    if matches!(
        screen,
        "staff-pin-pad" | "staff-dashboard" | "staff-confirm" | "out-of-service"
    ) {
        return stage_staff(kiosk, clock, catalogue, language, screen);
    }
    go(Event::Start);
    if screen == "language" {
        return Ok(());
    }
    go(Event::ChooseLanguage(language.clone()));
    match screen {
        "service" => return Ok(()),
        "staff-called" => {
            go(Event::CallStaff);
            return Ok(());
        }
        "check-in-receipt" | "appointment-too-early" | "appointment-missed" => {
            return stage_appointment(kiosk, catalogue, screen);
        }
        _ => {}
    }
    if screen.starts_with("identify") || screen.starts_with("eid-") {
        let service = catalogue
            .services
            .iter()
            .find(|s| s.identity == IdentityRequirement::Optional)
            .or_else(|| {
                catalogue
                    .services
                    .iter()
                    .find(|s| !s.identity_methods.is_empty())
            })
            .ok_or_else(|| UiError::Screenshot("no service asks for identification".into()))?;
        go(Event::ChooseService(service.id.clone()));
        match screen {
            "identify-can" => {
                go(Event::ChooseIdentification(IdentifyChoice::Method(
                    IdentityMethod::Passport,
                )));
                let identify = kiosk.ui().component().global::<IdentifyAdapter<'_>>();
                for digit in ["3", "1", "9"] {
                    identify.invoke_can_key(digit.into());
                }
            }
            "identify-eid-offline" => go(Event::Capabilities(Capabilities {
                online: false,
                card_reader: true,
                eid_client: true,
            })),
            "identify-waiting" => go(Event::ChooseIdentification(IdentifyChoice::Method(
                IdentityMethod::Phone,
            ))),
            "identify-failed" => {
                go(Event::ChooseIdentification(IdentifyChoice::Method(
                    IdentityMethod::Passport,
                )));
                go(Event::EnterCan("319274".into()));
                go(Event::IdentityFailed(IdentityFailure::WrongCode));
            }
            eid if eid.starts_with("eid-") => stage_eid(kiosk, eid)?,
            _ => {}
        }
        return Ok(());
    }
    // Form screens: find a page with what the screen shows.
    type PagePredicate = dyn Fn(&kiosk_catalogue::Page) -> bool;
    let any: &PagePredicate = &|_| true;
    let with_date: &PagePredicate = &|p| {
        p.fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::Date { .. }))
    };
    let with_choice: &PagePredicate = &|p| {
        p.fields.iter().any(|f| {
            matches!(
                f.kind,
                FieldKind::Choice { .. } | FieldKind::MultiChoice { .. }
            )
        })
    };
    let with_group: &PagePredicate = &|p| {
        p.fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::Group { .. }))
    };
    let (predicate, to_end) = match screen {
        "form-text" | "form-errors" | "language-menu" | "idle-warning" => (any, false),
        "form-date" => (with_date, false),
        "form-choice" => (with_choice, false),
        "form-group" => (with_group, false),
        _ => (any, true),
    };
    let service = catalogue
        .services
        .iter()
        .find(|s| to_end || s.pages.iter().any(predicate))
        .ok_or_else(|| UiError::Screenshot(format!("no service has a page for {screen}")))?;
    go(Event::ChooseService(service.id.clone()));
    if matches!(kiosk.with_journey(|j| j.step().clone()), Step::Identify(_)) {
        let (methods, type_it_in) = kiosk.with_journey(|j| j.identification_offer());
        if type_it_in {
            go(Event::ChooseIdentification(IdentifyChoice::TypeItIn));
        } else if let Some(&method) = methods.iter().find(|m| **m != IdentityMethod::Passport) {
            go(Event::ChooseIdentification(IdentifyChoice::Method(method)));
            go(Event::IdentityRead(sample_identity(method)));
        }
    }
    // Walk the pages with valid answers until the wanted one (bounded).
    for _ in 0..32 {
        let Step::Form { page } = kiosk.with_journey(|j| j.step().clone()) else {
            break;
        };
        if !to_end && predicate(&service.pages[page]) {
            break;
        }
        fill_page(kiosk, clock.now().today, page);
        go(Event::Next);
    }
    let form = kiosk.ui().component().global::<FormAdapter<'_>>();
    match screen {
        "form-errors" => go(Event::Next),
        "form-date" | "form-choice" | "form-group" => {
            let kind = match screen {
                "form-date" => "date",
                "form-choice" => "choice",
                _ => "group",
            };
            if kind == "group" {
                let rows = form.get_rows();
                if let Some(add) = (0..rows.row_count())
                    .find(|&i| rows.row_data(i).is_some_and(|r| r.kind == "group-add"))
                {
                    form.invoke_add_item(add as i32);
                }
            }
            let rows = form.get_rows();
            if let Some(index) = (0..rows.row_count()).find(|&i| {
                rows.row_data(i).is_some_and(|r| {
                    r.kind == kind || (kind == "group" && r.in_group && r.kind == "text")
                })
            }) {
                if kind == "choice" {
                    form.invoke_choose(index as i32, 0);
                    kiosk
                        .ui()
                        .component()
                        .global::<KeyboardAdapter<'_>>()
                        .invoke_key(Key {
                            action: "done".into(),
                            ..Key::default()
                        });
                } else {
                    form.invoke_focus(index as i32, 0);
                }
            }
            if kind == "date" {
                let keyboard = kiosk.ui().component().global::<KeyboardAdapter<'_>>();
                for digit in ["1", "2", "0", "8", "1", "9", "6"] {
                    keyboard.invoke_key(Key {
                        label: digit.into(),
                        action: "char".into(),
                        text: digit.into(),
                        width: 1.0,
                    });
                }
            }
        }
        "form-text" => {
            let keyboard = kiosk.ui().component().global::<KeyboardAdapter<'_>>();
            let sample = match language.code() {
                "tr" => "Ayşe",
                "uk" => "Олена",
                "ar" => "Ali",
                _ => "Jürgen",
            };
            for c in sample.chars() {
                keyboard.invoke_key(Key {
                    label: c.to_string().into(),
                    action: "char".into(),
                    text: c.to_string().into(),
                    width: 1.0,
                });
            }
        }
        "language-menu" => {
            kiosk
                .ui()
                .component()
                .global::<crate::generated::AppAdapter<'_>>()
                .set_language_menu_open(true);
        }
        "idle-warning" => {
            let config = JourneyConfig::default();
            clock.advance(config.idle_after + Duration::from_secs(1));
            go(Event::Tick);
            clock.advance(Duration::from_secs(4));
            go(Event::Tick);
        }
        _ => {}
    }
    if !to_end {
        return Ok(());
    }
    if screen == "review" {
        return Ok(());
    }
    go(Event::Next);
    if screen == "consent" {
        return Ok(());
    }
    let consents: Vec<String> = service.consents.iter().map(|c| c.id.clone()).collect();
    for id in consents {
        go(Event::SetConsent { id, given: true });
    }
    go(Event::Next);
    if screen == "submitting" {
        return Ok(());
    }
    go(Event::Submitted {
        reference: "GE-2026-7Q4M-K2".into(),
        queued_offline: screen == "receipt-qr-code",
    });
    match screen {
        "receipt-qr-code" => go(Event::ReceiptNotPrinted),
        "receipt-printed" => go(Event::ReceiptPrinted),
        "goodbye" => {
            go(Event::ReceiptPrinted);
            go(Event::Finish);
        }
        _ => {}
    }
    Ok(())
}

/// An AusweisApp message for the eID screens (SDK JSON, as AusweisApp sends it).
fn eid_message(json: &str) -> Result<Event, UiError> {
    Message::parse(json)
        .map(Event::EidMessage)
        .map_err(|e| UiError::Screenshot(format!("eID sample message: {e}")))
}

/// The fields of the reader and card AusweisApp reports with `READER` (and,
/// as an object, with `ENTER_PIN`, `ENTER_CAN`, `ENTER_PUK`).
fn eid_reader(retry_counter: i32, deactivated: bool) -> String {
    format!(
        r#""name":"REINER SCT cyberJack RFID basis","insertable":false,"attached":true,"keypad":false,
            "card":{{"inoperative":false,"deactivated":{deactivated},"retryCounter":{retry_counter}}}"#
    )
}

/// Types a PIN or CAN on the on-screen pad: random digits (nobody's PIN) and,
/// with `confirm`, "Bestätigen".
fn type_on_eid_pad(kiosk: &Kiosk, digits: usize, confirm: bool) {
    let eid = kiosk.ui().component().global::<EidAdapter<'_>>();
    for _ in 0..digits {
        eid.invoke_key(random_digit().to_string().into());
    }
    if confirm {
        eid.invoke_confirm();
    }
}

/// The eID login's screens, from the route choice: the portal's session, then
/// AusweisApp's messages as the SDK documents them.
fn stage_eid(kiosk: &Kiosk, screen: &str) -> Result<(), UiError> {
    let go = |event: Event| kiosk.dispatch(event);
    go(Event::ChooseIdentification(IdentifyChoice::Method(
        IdentityMethod::Eid,
    )));
    go(Event::EidSessionReady {
        tc_token_url: "https://eid.example/tc".into(),
    });
    go(eid_message(
        r#"{"msg":"ACCESS_RIGHTS","chat":{
            "effective":["FamilyName","GivenNames","DateOfBirth","Address","DoctoralDegree"],
            "optional":["DoctoralDegree","PlaceOfBirth"],
            "required":["FamilyName","GivenNames","DateOfBirth","Address"]}}"#,
    )?);
    go(eid_message(
        r#"{"msg":"CERTIFICATE","description":{
            "issuerName":"D-Trust GmbH","issuerUrl":"https://www.d-trust.net",
            "subjectName":"Stadtverwaltung Musterstadt – Bürgerportal",
            "subjectUrl":"https://buergerportal.musterstadt.example",
            "termsOfUsage":"Anschrift: Rathausplatz 1, 12345 Musterstadt",
            "purpose":"Anmeldung im Bürgerportal für Online-Anträge"},
            "validity":{"effectiveDate":"2026-01-01","expirationDate":"2026-12-31"}}"#,
    )?);
    if screen == "eid-consent" {
        return Ok(());
    }
    go(Event::EidAccept);
    go(eid_message(r#"{"msg":"INSERT_CARD"}"#)?);
    if screen == "eid-insert-card" {
        // A card whose online function is switched off: the screen says why.
        go(eid_message(&format!(
            r#"{{"msg":"READER",{}}}"#,
            eid_reader(3, true)
        ))?);
        return Ok(());
    }
    let enter = |kind: &str, retry_counter: i32| {
        eid_message(&format!(
            r#"{{"msg":"{kind}","reader":{{{}}}}}"#,
            eid_reader(retry_counter, false)
        ))
    };
    go(enter("ENTER_PIN", 3)?);
    type_on_eid_pad(kiosk, 6, true);
    // The first PIN was wrong: two attempts left, half of the next one typed.
    go(enter("ENTER_PIN", 2)?);
    if screen == "eid-pin" {
        type_on_eid_pad(kiosk, 3, false);
        return Ok(());
    }
    type_on_eid_pad(kiosk, 6, true);
    go(enter("ENTER_CAN", 1)?);
    if screen == "eid-can" {
        type_on_eid_pad(kiosk, 2, false);
        return Ok(());
    }
    type_on_eid_pad(kiosk, 6, true);
    go(enter("ENTER_PIN", 1)?);
    type_on_eid_pad(kiosk, 6, true);
    // Three wrong PINs: AusweisApp asks for the PUK; the kiosk cancels, and
    // AusweisApp confirms the end of the workflow.
    go(enter("ENTER_PUK", 0)?);
    go(eid_message(
        r#"{"msg":"AUTH","result":{
            "major":"http://www.bsi.bund.de/ecard/api/1.1/resultmajor#error",
            "minor":"http://www.bsi.bund.de/ecard/api/1.1/resultminor/sal#cancellationByUser"},
            "url":"https://buergerportal.musterstadt.example/eid/error"}"#,
    )?);
    match screen {
        "eid-pin-blocked" => Ok(()),
        other => Err(UiError::Screenshot(format!("no eID screen {other}"))),
    }
}

/// A phone shows an appointment on the service screen: checked in (the
/// receipt), or too early, or missed.
fn stage_appointment(kiosk: &Kiosk, catalogue: &Catalogue, screen: &str) -> Result<(), UiError> {
    let go = |event: Event| kiosk.dispatch(event);
    let service = catalogue
        .services
        .iter()
        .find(|s| s.identity == IdentityRequirement::Required)
        .or_else(|| catalogue.services.first())
        .ok_or_else(|| UiError::Screenshot("the catalogue has no service".into()))?;
    let timing = match screen {
        "appointment-too-early" => AppointmentTiming::TooEarly {
            opens_at: "10:15".into(),
        },
        "appointment-missed" => AppointmentTiming::Missed,
        _ => AppointmentTiming::Due,
    };
    go(Event::AppointmentShown(Appointment {
        service: service.id.clone(),
        starts_at: "10:30".into(),
        timing,
        credential: "screenshot-appointment".into(),
    }));
    if screen == "check-in-receipt" {
        go(Event::Submitted {
            reference: "GE-2026-T7K3-W9".into(),
            queued_offline: false,
        });
        go(Event::ReceiptPrinted);
    }
    Ok(())
}

/// Answers every visible field of `page` with a valid sample answer.
pub(crate) fn fill_page(kiosk: &Kiosk, today: time::Date, page: usize) {
    // Twice: an answer can make further fields visible.
    for _ in 0..2 {
        let answers: Vec<(String, kiosk_catalogue::FieldValue)> = kiosk.with_journey(|j| {
            let Some(service) = j.service() else {
                return Vec::new();
            };
            service.pages[page]
                .fields
                .iter()
                .filter(|f| j.field_visible(f))
                .filter(|f| j.answer(&f.id).is_none_or(|a| a.value.is_empty()))
                .filter_map(|f| sample::answer(f, today).map(|v| (f.id.clone(), v)))
                .collect()
        });
        for (field, value) in answers {
            kiosk.dispatch(Event::SetAnswer { field, value });
        }
    }
}

/// Logs in on the screenshot kiosk with a fresh screenshot token.
fn staff_login(kiosk: &Kiosk, clock: &ManualClock) -> Result<(), UiError> {
    let token = kiosk_staff::sign_token(
        &SCREENSHOT_STAFF_SEED,
        "ka-0815",
        clock.wall() + Duration::from_secs(3600),
    )
    .map_err(|e| UiError::Screenshot(e.to_string()))?;
    kiosk.dispatch_staff(StaffEvent::TokenPresented(
        kiosk_staff::PresentedToken::new(token),
    ));
    if kiosk.with_staff(|s| s.staff().is_none()) {
        return Err(UiError::Screenshot(
            "staff screens need the screenshot kiosk's staff mode".into(),
        ));
    }
    Ok(())
}

/// The staff screens (German, or English for an English set) and the
/// citizens' out-of-service screen, from the attract screen.
fn stage_staff(
    kiosk: &Kiosk,
    clock: &ManualClock,
    catalogue: &Catalogue,
    language: &Language,
    screen: &str,
) -> Result<(), UiError> {
    let staff = |event: StaffEvent| kiosk.dispatch_staff(event);
    let english = || {
        if language.code() == "en" {
            kiosk
                .ui()
                .component()
                .global::<crate::generated::StaffAdapter<'_>>()
                .invoke_toggle_language();
        }
    };
    if screen == "staff-pin-pad" {
        staff(StaffEvent::OpenRequested);
        english();
        for digit in [4, 8, 2, 9] {
            if let Some(digit) = kiosk_staff::PinDigit::new(digit) {
                staff(StaffEvent::PinDigit(digit));
            }
        }
        return Ok(());
    }
    staff_login(kiosk, clock)?;
    staff(StaffEvent::StatusUpdated(sample_status(
        catalogue,
        clock.wall(),
    )));
    english();
    match screen {
        "staff-dashboard" => {
            staff(StaffEvent::ActionRequested(StaffAction::PrintTestPage));
            staff(StaffEvent::ActionFinished {
                action: StaffAction::PrintTestPage,
                outcome: kiosk_staff::ActionOutcome::Ok,
            });
        }
        "staff-confirm" => {
            let first = kiosk.with_staff(|s| s.status().dead_letters.first().map(|d| d.id));
            if let Some(id) = first {
                staff(StaffEvent::ActionRequested(StaffAction::DiscardDeadLetter(
                    id,
                )));
            }
        }
        "out-of-service" => {
            staff(StaffEvent::ActionRequested(StaffAction::OutOfService));
            staff(StaffEvent::Confirm);
            staff(StaffEvent::Exit);
        }
        other => return Err(UiError::Screenshot(format!("no staff screen {other}"))),
    }
    Ok(())
}
