//! Every screen in every language, theme and orientation as PNG files.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use kiosk_catalogue::{
    Catalogue, FieldKind, IdentityAttribute, IdentityMethod, IdentityRequirement, Language,
};
use kiosk_journey::{
    Capabilities, Effect, Event, IdentifyChoice, IdentityData, IdentityFailure, Journey,
    JourneyConfig, Now, Step,
};
use slint::{ComponentHandle, Model};
use zeroize::Zeroizing;

use crate::driver::{Clock, EffectHandler, EventSender, Kiosk};
use crate::generated::{FormAdapter, IdentifyAdapter, Key, KeyboardAdapter};
use crate::{Accessibility, HeadlessPlatform, HeadlessWindow, UiError, sample};

/// A clock that only moves when told to (screenshots, tests).
#[derive(Clone, Debug)]
pub struct ManualClock {
    elapsed: Rc<Cell<Duration>>,
    today: time::Date,
}

impl ManualClock {
    /// Starts at zero on `today`.
    pub fn new(today: time::Date) -> Self {
        Self {
            elapsed: Rc::new(Cell::new(Duration::ZERO)),
            today,
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
}

/// Effects are not performed for screenshots; the scenario sends the answers.
struct Ignore;

impl EffectHandler for Ignore {
    fn perform(&mut self, _effect: Effect, _events: &EventSender) {}
}

/// The screens [`render_screenshots`] renders, in order.
pub const SCREENS: [&str; 21] = [
    "attract",
    "language",
    "service",
    "identify",
    "identify-can",
    "identify-waiting",
    "identify-failed",
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
    "idle-warning",
    "staff-called",
    "language-menu",
];

/// A landscape and a portrait kiosk.
pub const ORIENTATIONS: [(&str, u32, u32); 2] =
    [("landscape", 1920, 1080), ("portrait", 1080, 1920)];

/// Which screenshots to render.
#[derive(Clone, Debug)]
pub struct ScreenshotSet {
    /// Screen names from [`SCREENS`].
    pub screens: Vec<&'static str>,
    /// Languages (all of the catalogue's when empty).
    pub languages: Vec<Language>,
    /// High contrast off, on, or both.
    pub themes: Vec<bool>,
    /// From [`ORIENTATIONS`].
    pub orientations: Vec<(&'static str, u32, u32)>,
}

impl ScreenshotSet {
    /// Everything: every screen, language, theme and orientation.
    pub fn all() -> Self {
        Self {
            screens: SCREENS.to_vec(),
            languages: Vec::new(),
            themes: vec![false, true],
            orientations: ORIENTATIONS.to_vec(),
        }
    }
}

/// Renders every screen in every language, both themes and both orientations
/// into `out_dir/<orientation>/<theme>/<language>/<NN>-<screen>.png`, headless
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
    let kiosk = Kiosk::new(journey, Box::new(clock.clone()), Box::new(Ignore))?;
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
            for &high_contrast in &set.themes {
                let theme = if high_contrast {
                    "high-contrast"
                } else {
                    "default"
                };
                let dir = out_dir.join(orientation).join(theme).join(language.code());
                std::fs::create_dir_all(&dir).map_err(|e| UiError::Io(dir.clone(), e))?;
                for screen in &set.screens {
                    let number = SCREENS.iter().position(|s| s == screen).unwrap_or(99);
                    stage(&kiosk, &clock, &catalogue, language, screen)?;
                    kiosk.ui().set_accessibility(Accessibility {
                        large_text: false,
                        high_contrast,
                    });
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
/// benchmarks; `clock` must be the kiosk's clock.
pub fn stage(
    kiosk: &Kiosk,
    clock: &ManualClock,
    catalogue: &Catalogue,
    language: &Language,
    screen: &str,
) -> Result<(), UiError> {
    let go = |event: Event| kiosk.dispatch(event);
    // A fresh session every time.
    go(Event::Cancel);
    if kiosk.with_journey(|j| *j.step() == Step::Goodbye) {
        go(Event::Finish);
    }
    go(Event::StaffCallEnded);
    go(Event::Capabilities(Capabilities {
        online: true,
        card_reader: true,
    }));
    if screen == "attract" {
        return Ok(());
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
        _ => {}
    }
    if screen.starts_with("identify") {
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
            "identify-waiting" => go(Event::ChooseIdentification(IdentifyChoice::Method(
                IdentityMethod::Eid,
            ))),
            "identify-failed" => {
                go(Event::ChooseIdentification(IdentifyChoice::Method(
                    IdentityMethod::Eid,
                )));
                go(Event::IdentityFailed(IdentityFailure::WrongCode));
            }
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
