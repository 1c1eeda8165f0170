//! [`KioskUi`]: the Slint window, written from the journey's state, sending
//! the citizen's taps back as journey events.

use std::cell::RefCell;
use std::rc::Rc;

use kiosk_catalogue::{FieldKind, FieldValue, IdentityMethod, Language};
use kiosk_journey::{
    AppointmentTiming, Event, IdentifyChoice, IdentifyStep, IdentityFailure, Journey, Now,
    PrintState, Step, display_value,
};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};
use zeroize::Zeroizing;

use crate::form::{self, KeyboardKind, RowRole, Target};
use crate::generated::{
    AppAdapter, AppointmentAdapter, ChoiceItem, ConsentAdapter, ConsentItem, FormAdapter, FormRow,
    IdentifyAdapter, IdentifyItem, Key, KeyRow, KeyboardAdapter, LanguageItem, MainWindow,
    ReceiptAdapter, ReviewAdapter, ReviewLine, ReviewPage, ServiceAdapter, ServiceItem, Theme,
    WelcomeLine,
};
use crate::keyboard::{self, KeyAction, KeyboardState, Layout};
use crate::{UiError, qr, welcome};

/// Large text and high contrast: the citizen's accessibility switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accessibility {
    /// Larger text everywhere.
    pub large_text: bool,
    /// Yellow and white on black.
    pub high_contrast: bool,
}

/// What the UI reports: a journey event, a staff mode event, a tap in the
/// hidden corner (counted by the [`crate::Kiosk`], which has the clock), or
/// "read aloud" (the [`crate::Kiosk`] has the journey the text is built from).
pub(crate) enum UiEvent {
    Journey(Event),
    Staff(kiosk_staff::StaffEvent),
    CornerTap,
    ReadAloud,
}

/// What the UI remembers between two `present` calls that is not the
/// journey's business: the field being typed into, the keyboard, the CAN.
#[derive(Default)]
pub(crate) struct Local {
    /// The step (and form page) last shown; local state resets when it changes.
    shown: Option<Step>,
    language: Option<Language>,
    /// The input typed into: row target and part (address, date).
    active: Option<(Target, usize)>,
    keyboard: Option<KeyboardState>,
    /// The CAN while it is typed; zeroised on drop.
    can: Zeroizing<String>,
    /// Rows of the form page as last shown (with their answers).
    rows: Vec<form::Row>,
    /// The failed route, for "try again".
    failed_method: Option<IdentityMethod>,
    /// Reference the QR code image was made for.
    qr_for: Option<String>,
    /// Problems shown on the form page, to notice a new failed "Weiter".
    problems_shown: usize,
    /// The bundled translation selected now (`"de"` for the source).
    translation: Option<String>,
    /// While a staff screen shows: the staff language (`"de"` or `"en"`),
    /// which overrides the citizen's.
    pub(crate) staff_translation: Option<&'static str>,
    /// Staff chose English for the staff screens (until they close).
    pub(crate) staff_english: bool,
    /// The eID login's screens: the PIN pad's digits, the optional rights.
    pub(crate) eid: crate::eid_view::EidLocal,
}

/// The kiosk's touchscreen UI: owns the Slint window.
///
/// Call [`KioskUi::present`] after every event the journey handled; taps come
/// back through the closure given to [`KioskUi::new`] as [`Event`]s.
/// Purely visual changes (typing position, keyboard layout) come back as
/// [`Event::Activity`], which also keeps the idle timer from firing.
pub struct KioskUi {
    pub(crate) window: MainWindow,
    pub(crate) local: Rc<RefCell<Local>>,
    speaker: Rc<RefCell<Box<dyn crate::Speaker>>>,
}

pub(crate) type Sink = Rc<dyn Fn(Event)>;
pub(crate) type UiSink = Rc<dyn Fn(UiEvent)>;

impl KioskUi {
    /// Creates the window (not yet shown). Needs a Slint platform: the
    /// default backend, [`crate::HeadlessPlatform`], or the testing backend.
    /// Staff screens need a [`crate::Kiosk`]; here their taps go nowhere.
    pub fn new(on_event: impl Fn(Event) + 'static) -> Result<Self, UiError> {
        Self::with_sink(Rc::new(move |event| {
            if let UiEvent::Journey(event) = event {
                on_event(event);
            }
        }))
    }

    /// Creates the window with one sink for every kind of UI event.
    pub(crate) fn with_sink(sink: UiSink) -> Result<Self, UiError> {
        let window = MainWindow::new().map_err(|e| UiError::Platform(e.to_string()))?;
        let ui = Self {
            window,
            local: Rc::new(RefCell::new(Local::default())),
            speaker: Rc::new(RefCell::new(Box::new(crate::EspeakSpeaker::new()))),
        };
        let journey_sink: Sink = {
            let sink = sink.clone();
            Rc::new(move |event| sink(UiEvent::Journey(event)))
        };
        ui.connect(journey_sink);
        {
            let sink = sink.clone();
            ui.window
                .global::<AppAdapter<'_>>()
                .on_read_aloud(move || sink(UiEvent::ReadAloud));
        }
        ui.connect_staff(sink);
        Ok(ui)
    }

    /// Replaces how "read aloud" speaks (default: [`crate::EspeakSpeaker`]).
    pub fn set_speaker(&self, speaker: Box<dyn crate::Speaker>) {
        *self.speaker.borrow_mut() = speaker;
    }

    /// The Slint component, for showing it and for UI tests.
    pub fn component(&self) -> &MainWindow {
        &self.window
    }

    /// Sets the accessibility switches (the citizen flips them in the header).
    pub fn set_accessibility(&self, accessibility: Accessibility) {
        let theme = self.window.global::<Theme<'_>>();
        theme.set_large_text(accessibility.large_text);
        theme.set_high_contrast(accessibility.high_contrast);
    }

    /// The accessibility switches as the citizen left them.
    pub fn accessibility(&self) -> Accessibility {
        let theme = self.window.global::<Theme<'_>>();
        Accessibility {
            large_text: theme.get_large_text(),
            high_contrast: theme.get_high_contrast(),
        }
    }

    fn connect(&self, sink: Sink) {
        let w = &self.window;
        let app = w.global::<AppAdapter<'_>>();
        let send = |sink: &Sink, event: Event| {
            let sink = sink.clone();
            move || sink(event.clone())
        };
        app.on_start(send(&sink, Event::Start));
        app.on_cancel(send(&sink, Event::Cancel));
        app.on_back(send(&sink, Event::Back));
        app.on_call_staff(send(&sink, Event::CallStaff));
        app.on_staff_call_ended(send(&sink, Event::StaffCallEnded));
        app.on_more_time(send(&sink, Event::MoreTime));
        app.on_activity(send(&sink, Event::Activity));
        {
            let (sink, weak) = (sink.clone(), w.as_weak());
            app.on_choose_language(move |code| {
                if let Some(w) = weak.upgrade() {
                    w.global::<AppAdapter<'_>>().set_language_menu_open(false);
                }
                match Language::new(&code) {
                    Ok(language) => sink(Event::ChooseLanguage(language)),
                    Err(_) => tracing::warn!("the language list held an invalid code; ignored"),
                }
            });
        }
        {
            let (sink, local, weak) = (sink.clone(), self.local.clone(), w.as_weak());
            app.on_next(move || {
                let step = weak
                    .upgrade()
                    .map(|w| w.global::<AppAdapter<'_>>().get_step())
                    .unwrap_or_default();
                let entering_can = matches!(
                    local.borrow().shown,
                    Some(Step::Identify(IdentifyStep::EnterCan { .. }))
                );
                let event = match step.as_str() {
                    "receipt" | "goodbye" | "appointment-not-due" => Event::Finish,
                    "identify" if entering_can => Event::EnterCan(local.borrow().can.to_string()),
                    _ => Event::Next,
                };
                sink(event);
            });
        }
        let services = w.global::<ServiceAdapter<'_>>();
        {
            let sink = sink.clone();
            services.on_choose(move |id| sink(Event::ChooseService(id.to_string())));
        }
        self.connect_identify(&sink);
        self.connect_eid(&sink);
        self.connect_form(&sink);
        let review = w.global::<ReviewAdapter<'_>>();
        {
            let sink = sink.clone();
            review.on_edit(move |page| sink(Event::EditPage(page.max(0) as usize)));
        }
        let consent = w.global::<ConsentAdapter<'_>>();
        {
            let sink = sink.clone();
            consent.on_set(move |id, given| {
                sink(Event::SetConsent {
                    id: id.to_string(),
                    given,
                })
            });
        }
        let receipt = w.global::<ReceiptAdapter<'_>>();
        receipt.on_finish(send(&sink, Event::Finish));
    }

    fn connect_identify(&self, sink: &Sink) {
        let identify = self.window.global::<IdentifyAdapter<'_>>();
        {
            let sink = sink.clone();
            identify.on_choose(move |route| {
                let choice = match route.as_str() {
                    "type-it-in" => IdentifyChoice::TypeItIn,
                    other => match IdentityMethod::ALL.into_iter().find(|m| m.name() == other) {
                        Some(method) => IdentifyChoice::Method(method),
                        None => return,
                    },
                };
                sink(Event::ChooseIdentification(choice));
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            identify.on_retry(move || {
                let method = local.borrow().failed_method;
                if let Some(method) = method {
                    sink(Event::ChooseIdentification(IdentifyChoice::Method(method)));
                }
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            identify.on_can_key(move |digit| {
                {
                    let mut local = local.borrow_mut();
                    if local.can.len() < 6 && digit.chars().all(|c| c.is_ascii_digit()) {
                        local.can.push_str(&digit);
                    }
                }
                sink(Event::Activity);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            identify.on_can_backspace(move || {
                local.borrow_mut().can.pop();
                sink(Event::Activity);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            identify.on_can_confirm(move || {
                let can = local.borrow().can.to_string();
                sink(Event::EnterCan(can));
            });
        }
    }

    fn connect_form(&self, sink: &Sink) {
        let form_adapter = self.window.global::<FormAdapter<'_>>();
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            form_adapter.on_focus(move |row, part| {
                {
                    let mut local = local.borrow_mut();
                    let target = match local.rows.get(row.max(0) as usize).map(|r| &r.role) {
                        Some(RowRole::Input { target, .. }) => target.clone(),
                        _ => return,
                    };
                    local.active = Some((target, part.max(0) as usize));
                }
                sink(Event::Activity);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            form_adapter.on_choose(move |row, option| {
                let event = {
                    let local = local.borrow();
                    let Some(form::Row {
                        role: RowRole::Input { target, field },
                        value,
                        ..
                    }) = local.rows.get(row.max(0) as usize)
                    else {
                        return;
                    };
                    let Some(new) =
                        form::choose(value.as_deref(), &field.kind, option.max(0) as usize)
                    else {
                        return;
                    };
                    answer_event(target, new)
                };
                sink(event);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            form_adapter.on_toggle(move |row| {
                let event = {
                    let local = local.borrow();
                    let Some(form::Row {
                        role: RowRole::Input { target, .. },
                        value,
                        ..
                    }) = local.rows.get(row.max(0) as usize)
                    else {
                        return;
                    };
                    let checked = matches!(value.as_deref(), Some(FieldValue::Checked(true)));
                    answer_event(target, FieldValue::Checked(!checked))
                };
                sink(event);
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            form_adapter.on_add_item(move |row| {
                let group = match local
                    .borrow()
                    .rows
                    .get(row.max(0) as usize)
                    .map(|r| &r.role)
                {
                    Some(RowRole::GroupAdd { group }) => group.clone(),
                    _ => return,
                };
                sink(Event::AddGroupItem { group });
            });
        }
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            form_adapter.on_remove_item(move |row| {
                let (group, index) = {
                    let mut local = local.borrow_mut();
                    let (group, index) = match local.rows.get(row.max(0) as usize).map(|r| &r.role)
                    {
                        Some(RowRole::GroupItem { group, index }) => (group.clone(), *index),
                        _ => return,
                    };
                    // The typing position would point into the removed item.
                    if matches!(&local.active, Some((Target::GroupField { group: g, .. }, _)) if *g == group)
                    {
                        local.active = None;
                    }
                    (group, index)
                };
                sink(Event::RemoveGroupItem { group, index });
            });
        }
        let keyboard_adapter = self.window.global::<KeyboardAdapter<'_>>();
        {
            let (sink, local) = (sink.clone(), self.local.clone());
            keyboard_adapter.on_key(move |key| {
                let event = on_key(&mut local.borrow_mut(), &key);
                sink(event);
            });
        }
    }

    /// Speaks what the screen shows now, built from the same data the last
    /// [`Self::present`] gave the adapters: only when asked, so no redraw
    /// holds the citizen's answers in one more string.
    pub(crate) fn read_aloud(&self, journey: &Journey, now: Now) {
        let w = &self.window;
        let app = w.global::<AppAdapter<'_>>();
        let local = self.local.borrow();
        let language = local.language.clone().unwrap_or_else(Language::german);
        let text = if app.get_language_menu_open() {
            // The language list lies over the screen: it is what shows.
            let languages: Vec<String> = app
                .get_languages()
                .iter()
                .map(|l| l.native_name.to_string())
                .collect();
            crate::read_aloud::language_menu_text(&language, &languages)
        } else {
            let texts = w.global::<crate::generated::EidTexts<'_>>();
            let eid_text = |code: &str| texts.invoke_message(code.into()).to_string();
            let rows: &[form::Row] = if matches!(journey.step(), Step::Form { .. }) {
                &local.rows
            } else {
                &[]
            };
            let shown = crate::read_aloud::Shown {
                can_digits: local.can.len(),
                pad_digits: local.eid.typed(),
                pad_incomplete: local.eid.incomplete(),
                rows,
                eid_text: &eid_text,
            };
            crate::read_aloud::screen_text(journey, now, &shown)
        };
        drop(local);
        self.speaker.borrow_mut().speak(&text, &language);
    }

    /// Writes every adapter from the journey's state. Cheap enough to call
    /// after every event (a form page is a few dozen rows).
    pub fn present(&self, journey: &Journey, now: Now) {
        let w = &self.window;
        let step = journey.step().clone();
        let language = journey.language().clone();
        let mut local = self.local.borrow_mut();

        // Staff screens show in the staff language, everything else in the citizen's.
        let wanted = local.staff_translation.unwrap_or(language.code());
        if local.translation.as_deref() != Some(wanted) {
            select_translation(wanted);
            local.translation = Some(wanted.to_owned());
        }
        if local.language.as_ref() != Some(&language) {
            if let Some(keyboard) = &mut local.keyboard {
                keyboard.layout = Layout::for_language(language.code());
            }
            local.language = Some(language.clone());
        }
        let theme = w.global::<Theme<'_>>();
        theme.set_rtl(language.is_right_to_left() && local.staff_translation.is_none());
        crate::staff_view::present_out_of_service(w, journey);

        if local.shown.as_ref() != Some(&step) {
            let same_page = matches!(
                (&local.shown, &step),
                (Some(Step::Form { page: a }), Step::Form { page: b }) if a == b
            );
            if step == Step::Attract && local.shown.is_some() && local.shown != Some(Step::Attract)
            {
                // A new citizen: nothing of the last one stays, not even their switches.
                *local = Local {
                    language: local.language.take(),
                    ..Local::default()
                };
                theme.set_large_text(false);
                theme.set_high_contrast(false);
            }
            if !same_page {
                local.active = None;
                local.rows.clear();
            }
            if !matches!(step, Step::Identify(IdentifyStep::EnterCan { .. })) {
                local.can = Zeroizing::new(String::new());
            }
            w.global::<AppAdapter<'_>>().set_language_menu_open(false);
            local.shown = Some(step.clone());
        }

        let app = w.global::<AppAdapter<'_>>();
        app.set_step(step.name().into());
        app.set_language_name(language.native_name().into());
        sync(
            app.get_languages(),
            journey
                .catalogue()
                .languages
                .iter()
                .map(|l| LanguageItem {
                    code: l.code().into(),
                    native_name: l.native_name().into(),
                    current: *l == language,
                })
                .collect(),
            |m| app.set_languages(m),
        );
        sync(
            app.get_welcome(),
            journey
                .catalogue()
                .languages
                .iter()
                .map(|l| {
                    let (greeting, hint) = welcome::lines(l);
                    WelcomeLine {
                        greeting: greeting.into(),
                        hint: hint.into(),
                        rtl: l.is_right_to_left(),
                    }
                })
                .collect(),
            |m| app.set_welcome(m),
        );
        app.set_service_title(
            journey
                .service()
                .filter(|_| !matches!(step, Step::Attract | Step::Language | Step::Service))
                .map(|s| s.title.get(&language).into())
                .unwrap_or_default(),
        );
        app.set_staff_called(journey.staff_called());
        let warning = journey.idle_warning(now.elapsed);
        app.set_idle_warning(warning.is_some());
        app.set_idle_seconds(
            warning
                .map(|left| left.as_millis().div_ceil(1000) as i32)
                .unwrap_or(0),
        );
        app.set_can_go_back(crate::read_aloud::can_go_back(&step));
        app.set_can_cancel(crate::read_aloud::can_cancel(&step));

        // The PIN pad's digits never outlive the screen that asked for them.
        self.forget_eid_pad(journey, &mut local);
        match &step {
            Step::Service => self.present_services(journey),
            Step::Identify(sub) => self.present_identify(journey, sub, &mut local),
            Step::AppointmentNotDue(notice) => {
                let adapter = w.global::<AppointmentAdapter<'_>>();
                adapter.set_service_title(notice.service_title.as_str().into());
                adapter.set_starts_at(notice.starts_at.as_str().into());
                let (timing, opens_at, date) = match &notice.timing {
                    AppointmentTiming::TooEarly { opens_at } => {
                        ("too-early", opens_at.as_str(), "")
                    }
                    AppointmentTiming::Missed => ("missed", "", ""),
                    AppointmentTiming::OtherDay { date } => ("other-day", "", date.as_str()),
                    // "Due" never comes here; if it did, the counter is the safe advice.
                    AppointmentTiming::NotSaved | AppointmentTiming::Due => ("not-saved", "", ""),
                };
                adapter.set_timing(timing.into());
                adapter.set_opens_at(opens_at.into());
                adapter.set_date(date.into());
            }
            Step::Form { page } => self.present_form(journey, *page, &mut local),
            Step::Review => self.present_review(journey),
            Step::Consent => self.present_consent(journey),
            Step::Receipt(receipt) => {
                let adapter = w.global::<ReceiptAdapter<'_>>();
                if let Some(content) = journey.receipt() {
                    adapter.set_service_title(content.service_title.as_str().into());
                    adapter.set_appointment_at(
                        content.appointment_at.as_deref().unwrap_or_default().into(),
                    );
                    adapter.set_next_steps(content.next_steps.as_str().into());
                    sync(
                        adapter.get_lines(),
                        content
                            .lines
                            .iter()
                            .map(|(label, value)| ReviewLine {
                                label: label.as_str().into(),
                                value: value.as_str().into(),
                            })
                            .collect(),
                        |m| adapter.set_lines(m),
                    );
                }
                adapter.set_reference(receipt.reference.as_str().into());
                adapter.set_queued_offline(receipt.queued_offline);
                adapter.set_print(
                    match receipt.print {
                        PrintState::Printing => "printing",
                        PrintState::Printed => "printed",
                        PrintState::ShowQrCode => "qr-code",
                    }
                    .into(),
                );
                if receipt.print == PrintState::ShowQrCode
                    && local.qr_for.as_deref() != Some(receipt.reference.as_str())
                {
                    match qr::image(&receipt.reference) {
                        Ok(image) => adapter.set_qr_code(image),
                        Err(e) => tracing::warn!(error = %e, "no QR code for the receipt"),
                    }
                    local.qr_for = Some(receipt.reference.clone());
                }
            }
            _ => {}
        }
        // Answers shown on a screen must not outlive it in the UI's memory.
        if !matches!(step, Step::Form { .. }) {
            w.global::<KeyboardAdapter<'_>>().set_kind("none".into());
            let form = w.global::<FormAdapter<'_>>();
            if form.get_rows().row_count() > 0 {
                form.set_rows(ModelRc::default());
            }
        }
        if step != Step::Review {
            let review = w.global::<ReviewAdapter<'_>>();
            if review.get_pages().row_count() > 0 {
                review.set_pages(ModelRc::default());
            }
        }
    }

    fn present_services(&self, journey: &Journey) {
        let language = journey.language();
        sync(
            self.window.global::<ServiceAdapter<'_>>().get_services(),
            journey
                .catalogue()
                .services
                .iter()
                .map(|s| ServiceItem {
                    id: s.id.as_str().into(),
                    icon: s.icon.as_str().into(),
                    title: s.title.get(language).into(),
                    description: s.description.get(language).into(),
                })
                .collect(),
            |m| self.window.global::<ServiceAdapter<'_>>().set_services(m),
        );
    }

    /// Writes the identify adapters.
    fn present_identify(&self, journey: &Journey, sub: &IdentifyStep, local: &mut Local) {
        let adapter = self.window.global::<IdentifyAdapter<'_>>();
        self.present_eid_not_offered(journey);
        let (methods, type_it_in) = journey.identification_offer();
        sync(
            adapter.get_routes(),
            methods
                .iter()
                .map(|m| IdentifyItem {
                    route: m.name().into(),
                })
                .collect(),
            |m| adapter.set_routes(m),
        );
        adapter.set_type_it_in(type_it_in);
        adapter.set_required(!type_it_in);
        adapter.set_can_digits(local.can.len() as i32);
        let (stage, route, failure, invalid) = match sub {
            IdentifyStep::Choosing => ("choosing", "", "", false),
            IdentifyStep::EnterCan { invalid } => ("enter-can", "passport", "", *invalid),
            IdentifyStep::Waiting(method) => ("waiting", method.name(), "", false),
            IdentifyStep::Failed { method, reason } => {
                local.failed_method = Some(*method);
                ("failed", method.name(), failure_name(*reason), false)
            }
            IdentifyStep::Eid(phase) => {
                self.present_eid(journey, phase, local);
                ("eid", "eid", "", false)
            }
        };
        adapter.set_stage(stage.into());
        adapter.set_route(route.into());
        adapter.set_failure(failure.into());
        adapter.set_can_invalid(invalid);
    }

    fn present_form(&self, journey: &Journey, page: usize, local: &mut Local) {
        let language = journey.language();
        let adapter = self.window.global::<FormAdapter<'_>>();
        let Some(service) = journey.service() else {
            return;
        };
        let visible = journey.visible_pages();
        adapter.set_page_title(
            service
                .pages
                .get(page)
                .map(|p| p.title.get(language).into())
                .unwrap_or_default(),
        );
        adapter
            .set_page_number(visible.iter().position(|&p| p == page).map_or(1, |i| i + 1) as i32);
        adapter.set_page_count(visible.len() as i32);
        adapter.set_problem_count(journey.problems().len() as i32);

        let rows = form::rows(journey, page);
        // After a failed "Weiter" the keyboard steps aside so the messages show.
        let problems = journey.problems().len();
        if problems > 0 && problems != local.problems_shown {
            local.active = None;
        }
        local.problems_shown = problems;
        // The first problem is shown until the citizen starts typing somewhere;
        // then the field being typed into has the view to itself.
        adapter.set_first_problem_row(if local.active.is_some() {
            -1
        } else {
            rows.iter()
                .position(|r| !r.error.is_empty())
                .map_or(-1, |i| i as i32)
        });
        // A fresh page starts typing into its first empty input.
        if local.active.is_none() && local.rows.is_empty() {
            local.active = rows.iter().find_map(|r| match &r.role {
                RowRole::Input { target, field }
                    if form::keyboard_for(field).is_some()
                        && r.value.as_deref().is_none_or(FieldValue::is_empty) =>
                {
                    Some((target.clone(), 0))
                }
                _ => None,
            });
        }
        // The active input may have disappeared (hidden by a condition, item removed).
        if let Some((target, _)) = &local.active
            && !rows
                .iter()
                .any(|r| matches!(&r.role, RowRole::Input { target: t, .. } if t == target))
        {
            local.active = None;
        }
        let mut keyboard_kind = None;
        let items: Vec<FormRow> = rows
            .iter()
            .map(|row| {
                let (kind, active_part) = match &row.role {
                    RowRole::Input { target, field } => {
                        let active = local
                            .active
                            .as_ref()
                            .filter(|(t, _)| t == target)
                            .map(|(_, p)| *p);
                        if active.is_some() {
                            keyboard_kind = form::keyboard_for(field);
                        }
                        (Some(&field.kind), active.map_or(-1, |p| p as i32))
                    }
                    _ => (None, -1),
                };
                form_row(row, kind, active_part, language)
            })
            .collect();
        sync_with(adapter.get_rows(), items, merge_form_row, |m| {
            adapter.set_rows(m)
        });
        local.rows = rows;

        let keyboard_adapter = self.window.global::<KeyboardAdapter<'_>>();
        match keyboard_kind {
            None => keyboard_adapter.set_kind("none".into()),
            Some(KeyboardKind::Numeric { extra }) => {
                keyboard_adapter.set_kind("numeric".into());
                keyboard_adapter.set_numeric_extra(extra.into());
            }
            Some(KeyboardKind::Alpha { email, multiline }) => {
                let state = *local.keyboard.get_or_insert(KeyboardState {
                    layout: Layout::for_language(language.code()),
                    shift: false,
                    symbols: false,
                });
                keyboard_adapter.set_kind("alpha".into());
                keyboard_adapter.set_shift(state.shift);
                keyboard_adapter.set_layout_name(state.layout.name().into());
                sync_with(
                    keyboard_adapter.get_rows(),
                    keyboard::rows(state, email, multiline)
                        .into_iter()
                        .map(|keys| KeyRow {
                            keys: model(
                                keys.into_iter()
                                    .map(|k| Key {
                                        label: k.label.into(),
                                        action: k.action.name().into(),
                                        text: k.text.into(),
                                        width: k.width,
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                    merge_key_row,
                    |m| keyboard_adapter.set_rows(m),
                );
            }
        }
    }

    fn present_review(&self, journey: &Journey) {
        let pages = review_pages(journey)
            .into_iter()
            .map(|page| ReviewPage {
                page: page.page as i32,
                title: page.title.into(),
                lines: model(
                    page.lines
                        .iter()
                        .map(|(label, value)| ReviewLine {
                            label: label.as_str().into(),
                            value: value.as_str().into(),
                        })
                        .collect(),
                ),
            })
            .collect();
        let review = self.window.global::<ReviewAdapter<'_>>();
        sync_with(review.get_pages(), pages, merge_review_page, |m| {
            review.set_pages(m)
        });
    }

    fn present_consent(&self, journey: &Journey) {
        let language = journey.language();
        let Some(service) = journey.service() else {
            return;
        };
        let adapter = self.window.global::<ConsentAdapter<'_>>();
        sync(
            adapter.get_consents(),
            service
                .consents
                .iter()
                .map(|c| ConsentItem {
                    id: c.id.as_str().into(),
                    text: c.text.get(language).into(),
                    given: journey.consent_given(&c.id),
                    missing: journey.missing_consents().contains(&c.id),
                })
                .collect(),
            |m| adapter.set_consents(m),
        );
        adapter.set_submit_failed(journey.submit_failed());
    }
}

/// One page of the review screen: its title and `(label, answer)` lines.
pub(crate) struct ReviewPageData {
    pub page: usize,
    pub title: String,
    /// Answers: wiped when dropped.
    pub lines: Vec<(String, Zeroizing<String>)>,
}

/// The review screen's pages: every visible page with the answers given.
pub(crate) fn review_pages(journey: &Journey) -> Vec<ReviewPageData> {
    let language = journey.language();
    let Some(service) = journey.service() else {
        return Vec::new();
    };
    let mut pages = Vec::new();
    for page in journey.visible_pages() {
        let mut lines = Vec::new();
        for field in service.pages[page].fields.iter() {
            if !journey.field_visible(field) {
                continue;
            }
            let Some(answer) = journey.answer(&field.id) else {
                continue;
            };
            match (&field.kind, &*answer.value) {
                (
                    FieldKind::Group {
                        fields, item_label, ..
                    },
                    FieldValue::Group(items),
                ) => {
                    for (index, item) in items.iter().enumerate() {
                        for inner in fields {
                            if let Some(shown) = item
                                .get(&inner.id)
                                .and_then(|v| display_value(inner, v, language))
                            {
                                lines.push((
                                    format!(
                                        "{} {} – {}",
                                        item_label.get(language),
                                        index + 1,
                                        inner.label.get(language)
                                    ),
                                    Zeroizing::new(shown),
                                ));
                            }
                        }
                    }
                }
                (_, value) => {
                    if let Some(shown) = display_value(field, value, language) {
                        lines.push((field.label.get(language).to_owned(), Zeroizing::new(shown)));
                    }
                }
            }
        }
        pages.push(ReviewPageData {
            page,
            title: service.pages[page].title.get(language).to_owned(),
            lines,
        });
    }
    pages
}

fn form_row(
    row: &form::Row,
    kind: Option<&FieldKind>,
    active_part: i32,
    language: &Language,
) -> FormRow {
    let value = row.value.as_deref();
    let part = |p| {
        kind.map(|k| form::part_text(value, k, p))
            .unwrap_or_default()
    };
    let options = kind
        .and_then(|k| k.options().map(|o| (k, o)))
        .map(|(k, options)| {
            options
                .iter()
                .enumerate()
                .map(|(i, o)| ChoiceItem {
                    label: o.label.get(language).into(),
                    selected: form::is_chosen(value, k, i),
                })
                .collect()
        })
        .unwrap_or_default();
    let is_date = matches!(kind, Some(FieldKind::Date { .. }));
    FormRow {
        kind: row.kind.into(),
        label: row.label.as_str().into(),
        help: row.help.as_str().into(),
        error: row.error.as_str().into(),
        required: row.required,
        in_group: row.in_group,
        text: if is_date {
            SharedString::new()
        } else {
            part(0).into()
        },
        second: part(1).into(),
        day: if is_date {
            part(0).into()
        } else {
            SharedString::new()
        },
        month: if is_date {
            part(1).into()
        } else {
            SharedString::new()
        },
        year: if is_date {
            part(2).into()
        } else {
            SharedString::new()
        },
        checked: matches!(value, Some(FieldValue::Checked(true))),
        options: model(options),
        enabled: row.enabled,
        active_part,
    }
}

/// What a key press means: an answer change, or a local change (keyboard
/// state, typing position) reported as activity.
fn on_key(local: &mut Local, key: &Key) -> Event {
    let Some(action) = KeyAction::from_name(&key.action) else {
        return Event::Activity;
    };
    match action {
        KeyAction::Shift => {
            if let Some(k) = &mut local.keyboard {
                k.shift = !k.shift;
            }
            return Event::Activity;
        }
        KeyAction::Symbols => {
            if let Some(k) = &mut local.keyboard {
                k.symbols = !k.symbols;
            }
            return Event::Activity;
        }
        KeyAction::Layout => {
            if let Some(k) = &mut local.keyboard {
                k.layout = k.layout.next();
            }
            return Event::Activity;
        }
        KeyAction::Done => {
            local.active = None;
            return Event::Activity;
        }
        _ => {}
    }
    let Some((target, part)) = local.active.clone() else {
        return Event::Activity;
    };
    let Some(row) = local
        .rows
        .iter_mut()
        .find(|r| matches!(&r.role, RowRole::Input { target: t, .. } if *t == target))
    else {
        return Event::Activity;
    };
    let RowRole::Input { field, .. } = &row.role else {
        return Event::Activity;
    };
    let kind = field.kind.clone();
    let Some((value, full)) = form::type_key(row.value.as_deref(), &kind, part, action, &key.text)
    else {
        return Event::Activity;
    };
    // Remember the new value at once, so fast typing never works on a stale one.
    row.value = Some(Zeroizing::new(value.clone()));
    if full && part + 1 < form::part_count(&kind) && matches!(kind, FieldKind::Date { .. }) {
        local.active = Some((target.clone(), part + 1));
    }
    if action == KeyAction::Char
        && let Some(k) = &mut local.keyboard
    {
        // Shift is for one letter, as on phones.
        k.shift = false;
    }
    answer_event(&target, value)
}

fn answer_event(target: &Target, value: FieldValue) -> Event {
    match target {
        Target::Field(field) => Event::SetAnswer {
            field: field.clone(),
            value,
        },
        Target::GroupField {
            group,
            index,
            field,
        } => Event::SetGroupAnswer {
            group: group.clone(),
            index: *index,
            field: field.clone(),
            value,
        },
    }
}

/// Switches the bundled translation; German is the source language.
fn select_translation(language: &str) {
    let code = if language == "de" { "" } else { language };
    if let Err(e) = slint::select_bundled_translation(code) {
        tracing::warn!(language = %language, error = %e, "no UI translation; showing German");
        // Best effort: fall back to the source language.
        let _ = slint::select_bundled_translation("");
    }
}

pub(crate) fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

/// Updates a shown list in place: unchanged rows keep their elements, so a
/// finger on a button survives the redraw that a clock tick causes.
pub(crate) fn sync<T: Clone + PartialEq + 'static>(
    current: ModelRc<T>,
    new: Vec<T>,
    set: impl FnOnce(ModelRc<T>),
) {
    sync_with(current, new, |old, new| (old != &new).then_some(new), set);
}

/// [`sync`] with a custom comparison: `merge` returns the row to store when
/// it differs from `old` (and may reuse `old`'s nested models).
fn sync_with<T: Clone + 'static>(
    current: ModelRc<T>,
    new: Vec<T>,
    merge: impl Fn(&T, T) -> Option<T>,
    set: impl FnOnce(ModelRc<T>),
) {
    if let Some(rows) = current.as_any().downcast_ref::<VecModel<T>>()
        && rows.row_count() == new.len()
    {
        for (i, item) in new.into_iter().enumerate() {
            match rows.row_data(i) {
                Some(old) => {
                    if let Some(changed) = merge(&old, item) {
                        rows.set_row_data(i, changed);
                    }
                }
                None => rows.set_row_data(i, item),
            }
        }
        return;
    }
    set(model(new));
}

fn merge_form_row(old: &FormRow, mut new: FormRow) -> Option<FormRow> {
    if same_rows(&old.options, &new.options) {
        new.options = old.options.clone();
    }
    (old != &new).then_some(new)
}

fn merge_review_page(old: &ReviewPage, mut new: ReviewPage) -> Option<ReviewPage> {
    if same_rows(&old.lines, &new.lines) {
        new.lines = old.lines.clone();
    }
    (old != &new).then_some(new)
}

fn merge_key_row(old: &KeyRow, mut new: KeyRow) -> Option<KeyRow> {
    if same_rows(&old.keys, &new.keys) {
        new.keys = old.keys.clone();
    }
    (old != &new).then_some(new)
}

/// Whether two lists hold the same rows.
fn same_rows<T: Clone + PartialEq + 'static>(a: &ModelRc<T>, b: &ModelRc<T>) -> bool {
    a.row_count() == b.row_count() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
}

fn failure_name(reason: IdentityFailure) -> &'static str {
    match reason {
        IdentityFailure::CardRemoved => "card-removed",
        IdentityFailure::WrongCode => "wrong-code",
        IdentityFailure::UnsupportedCard => "unsupported-card",
        IdentityFailure::DocumentExpired => "document-expired",
        IdentityFailure::NotVerified => "not-verified",
        IdentityFailure::InvalidToken => "invalid-token",
        IdentityFailure::Unavailable => "unavailable",
        IdentityFailure::Timeout => "timeout",
    }
}
