//! "Read aloud": the whole screen as one text in the citizen's language, for
//! the headset.
//!
//! The text is built in Rust from the same data [`crate::KioskUi::present`]
//! writes to the adapters (the journey's state and the UI's local state), in
//! reading order: the header's title, the screen's heading and instructions,
//! every field with its label, help, current value and message, then the
//! buttons. The UI's own sentences are looked up in the same `.po` files the
//! Slint screens are translated with (German is the source), so the spoken
//! and the shown words are the same; the eID crate's message codes are
//! translated by `EidTexts` (`ui/pages/eid.slint`), the one place for them.
//!
//! What is never spoken: the digits of a PIN or CAN (only how many are typed).
//! Everything else on the screen is spoken as shown: the citizen wears the
//! headset, and a blind citizen must be able to check what was typed.

use std::collections::HashMap;
use std::sync::OnceLock;

use kiosk_catalogue::{FieldKind, FieldValue, IdentityMethod, Language};
use kiosk_journey::eid::protocol::AccessRight;
use kiosk_journey::eid::{CanReason, LoginState, Outcome};
use kiosk_journey::{
    AppointmentTiming, EidPhase, IdentifyStep, IdentityFailure, Journey, Now, PrintState, Step,
};
use zeroize::Zeroizing;

use crate::form::{self, RowRole};
use crate::welcome;

/// The translations of the UI's sentences, as bundled into the Slint screens.
const PO_FILES: [(&str, &str); 4] = [
    (
        "en",
        include_str!("../translations/en/LC_MESSAGES/kiosk-ui.po"),
    ),
    (
        "tr",
        include_str!("../translations/tr/LC_MESSAGES/kiosk-ui.po"),
    ),
    (
        "ar",
        include_str!("../translations/ar/LC_MESSAGES/kiosk-ui.po"),
    ),
    (
        "uk",
        include_str!("../translations/uk/LC_MESSAGES/kiosk-ui.po"),
    ),
];

/// How many digits a PIN or CAN has (the pads and the dots say so too).
const SECRET_DIGITS: usize = 6;

/// `msgid` to `msgstr` of one `.po` file. Entries without a translation are
/// left out (the German source is shown for them, and spoken).
pub(crate) fn parse_po(text: &str) -> HashMap<String, String> {
    enum Part {
        None,
        Id,
        Str,
    }
    let mut entries = HashMap::new();
    let (mut id, mut string, mut part) = (String::new(), String::new(), Part::None);
    let mut commit = |id: &mut String, string: &mut String| {
        if !id.is_empty() && !string.is_empty() {
            entries.insert(std::mem::take(id), std::mem::take(string));
        }
        id.clear();
        string.clear();
    };
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("msgid ") {
            commit(&mut id, &mut string);
            id.push_str(&unquote(rest));
            part = Part::Id;
        } else if let Some(rest) = line.strip_prefix("msgstr ") {
            string.push_str(&unquote(rest));
            part = Part::Str;
        } else if line.starts_with('"') {
            match part {
                Part::Id => id.push_str(&unquote(line)),
                Part::Str => string.push_str(&unquote(line)),
                Part::None => {}
            }
        } else if line.is_empty() || line.starts_with('#') {
            commit(&mut id, &mut string);
            part = Part::None;
        }
    }
    commit(&mut id, &mut string);
    entries
}

/// The text of a quoted `.po` string, escapes resolved.
fn unquote(quoted: &str) -> String {
    let inner = quoted
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The translation of `msgid` into `language`; the German source when there
/// is none (as on the screen).
pub(crate) fn translate(language: &str, msgid: &str) -> String {
    catalogues()
        .get(language)
        .and_then(|entries| entries.get(msgid))
        .cloned()
        .unwrap_or_else(|| msgid.to_owned())
}

/// Whether `language` has its own text for `msgid` (German is the source).
#[cfg(test)]
pub(crate) fn has_translation(language: &str, msgid: &str) -> bool {
    language == "de"
        || catalogues()
            .get(language)
            .is_some_and(|e| e.contains_key(msgid))
}

fn catalogues() -> &'static HashMap<&'static str, HashMap<String, String>> {
    static CATALOGUES: OnceLock<HashMap<&'static str, HashMap<String, String>>> = OnceLock::new();
    CATALOGUES.get_or_init(|| {
        PO_FILES
            .iter()
            .map(|(code, text)| (*code, parse_po(text)))
            .collect()
    })
}

/// Fills `{}` (in order) and `{0}`..`{9}` placeholders as Slint's `@tr` does.
pub(crate) fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut next = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut inside = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    inside.push(c);
                }
                let index = if inside.is_empty() {
                    next += 1;
                    Some(next - 1)
                } else {
                    inside.parse::<usize>().ok()
                };
                match index.and_then(|i| args.get(i)).filter(|_| closed) {
                    Some(arg) => out.push_str(arg),
                    None => {
                        out.push('{');
                        out.push_str(&inside);
                        if closed {
                            out.push('}');
                        }
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A reference spelled character by character, its groups apart
/// (`GE-2026-7Q` → `G E, 2 0 2 6, 7 Q`), so the citizen can write it down.
pub(crate) fn spell(reference: &str) -> String {
    reference
        .split(|c: char| c == '-' || c.is_whitespace())
        .filter(|group| !group.is_empty())
        .map(|group| {
            group
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The spoken text, sentence by sentence. Holds answers while it is built, so
/// it is wiped when dropped.
pub(crate) struct Speech {
    language: String,
    text: Zeroizing<String>,
    /// Where the last sentence starts in `text`, to leave out a repeat (a
    /// page title that is also the group's, the service title in the header
    /// and on the receipt).
    last: usize,
}

impl Speech {
    fn new(language: &Language) -> Self {
        Self {
            language: language.code().to_owned(),
            text: Zeroizing::new(String::new()),
            last: 0,
        }
    }

    /// The separator of a spoken list: Arabic and Persian have their own comma.
    fn comma(&self) -> &'static str {
        if matches!(self.language.as_str(), "ar" | "fa") {
            "، "
        } else {
            ", "
        }
    }

    /// "label: value", without doubling the label's own punctuation
    /// ("Sind Sie jünger als 18 Jahre? Ja", "… erhalte: ausgewählt").
    fn labelled(label: &str, value: &str) -> Zeroizing<String> {
        let label = label.trim();
        let (label, separator) = match label.chars().last() {
            Some('?' | '؟' | '!' | ':') => (label, " "),
            Some('.') => (label.trim_end_matches('.'), ": "),
            _ => (label, ": "),
        };
        Zeroizing::new(format!("{label}{separator}{value}"))
    }

    /// The UI sentence `msgid` in the citizen's language, placeholders filled.
    fn tr(&self, msgid: &str, args: &[&str]) -> String {
        fill(&translate(&self.language, msgid), args)
    }

    /// Adds a sentence (nothing when empty); a full stop separates it from
    /// the next one unless it ends in its own punctuation.
    fn say(&mut self, sentence: &str) {
        let sentence = sentence.trim();
        if sentence.is_empty() || self.text[self.last..] == *sentence {
            return;
        }
        if !self.text.is_empty() {
            let ends_sentence = self
                .text
                .chars()
                .last()
                .is_some_and(|c| matches!(c, '.' | '!' | '?' | '…' | ':' | '؟' | '،'));
            self.text.push_str(if ends_sentence { " " } else { ". " });
        }
        self.last = self.text.len();
        self.text.push_str(sentence);
    }

    fn say_tr(&mut self, msgid: &str, args: &[&str]) {
        let sentence = self.tr(msgid, args);
        self.say(&sentence);
    }

    /// "label: value".
    fn say_value(&mut self, label: &str, value: &str) {
        let value = match value.trim() {
            "" => Zeroizing::new(self.tr("leer", &[])),
            // The review's tick for a ticked box.
            "✓" => Zeroizing::new(self.tr("ausgewählt", &[])),
            value => Zeroizing::new(value.to_owned()),
        };
        self.say(&Self::labelled(label, &value));
    }

    /// A switch or option with its state.
    fn say_checked(&mut self, label: &str, checked: bool) {
        let state = self.tr(
            if checked {
                "ausgewählt"
            } else {
                "nicht ausgewählt"
            },
            &[],
        );
        self.say(&Self::labelled(label, &state));
    }

    /// The buttons last, in the order they stand (start side first).
    fn say_buttons(&mut self, buttons: &[String]) {
        let buttons: Vec<&str> = buttons
            .iter()
            .map(|b| b.trim())
            .filter(|b| !b.is_empty())
            .collect();
        if buttons.is_empty() {
            return;
        }
        let sentence = format!(
            "{} {}",
            self.tr("Schaltflächen:", &[]),
            buttons.join(self.comma())
        );
        self.say(&sentence);
    }

    fn finish(self) -> Zeroizing<String> {
        self.text
    }
}

/// What the UI shows beside the journey's state: counts of typed digits and
/// the form's rows with their answers, as last written to the adapters.
pub(crate) struct Shown<'a> {
    /// Digits typed into the passport's CAN (the identify step).
    pub can_digits: usize,
    /// Digits typed on the eID PIN/CAN pad, and whether "Bestätigen" came too early.
    pub pad_digits: usize,
    pub pad_incomplete: bool,
    /// The form page's rows (answers included).
    pub rows: &'a [form::Row],
    /// The sentence of an eID message code (`EidTexts.message`).
    pub eid_text: &'a dyn Fn(&str) -> String,
}

/// Whether "Zurück" shows on a step.
pub(crate) fn can_go_back(step: &Step) -> bool {
    matches!(
        step,
        Step::Service | Step::Identify(_) | Step::Form { .. } | Step::Review | Step::Consent
    )
}

/// Whether "Abbrechen" shows on a step. "Fertig" ends the appointment
/// notice; a second way out would only confuse.
pub(crate) fn can_cancel(step: &Step) -> bool {
    !matches!(
        step,
        Step::Attract
            | Step::Submitting
            | Step::Receipt(_)
            | Step::Goodbye
            | Step::AppointmentNotDue(_)
    )
}

/// The navigation bar's buttons of a step, as `main.slint` shows them.
fn nav_buttons(speech: &Speech, step: &Step) -> Vec<String> {
    if matches!(
        step,
        Step::Attract | Step::Language | Step::Submitting | Step::Goodbye
    ) {
        return Vec::new();
    }
    let mut buttons = Vec::new();
    if can_go_back(step) {
        buttons.push(speech.tr("Zurück", &[]));
    }
    if can_cancel(step) {
        buttons.push(speech.tr("Abbrechen", &[]));
    }
    let next = match step {
        Step::Consent => Some("Absenden"),
        Step::Receipt(receipt) if receipt.print != PrintState::Printing => Some("Fertig"),
        Step::AppointmentNotDue(_) => Some("Fertig"),
        Step::Form { .. } | Step::Review | Step::Identify(IdentifyStep::EnterCan { .. }) => {
            Some("Weiter")
        }
        _ => None,
    };
    buttons.extend(next.map(|msgid| speech.tr(msgid, &[])));
    buttons
}

/// What "read aloud" says for the screen the journey shows now.
pub(crate) fn screen_text(journey: &Journey, now: Now, shown: &Shown<'_>) -> Zeroizing<String> {
    let language = journey.language();
    let step = journey.step();
    let mut speech = Speech::new(language);

    // The idle warning covers the screen: it is all there is to hear.
    if let Some(left) = journey.idle_warning(now.elapsed) {
        let seconds = left.as_millis().div_ceil(1000).to_string();
        speech.say_tr("Sind Sie noch da?", &[]);
        speech.say_tr(
            "In {} Sekunden beenden wir den Vorgang und löschen alle Ihre Eingaben.",
            &[&seconds],
        );
        let more = speech.tr("Mehr Zeit", &[]);
        speech.say_buttons(&[more]);
        return speech.finish();
    }

    // The header's title.
    let service_title = journey
        .service()
        .filter(|_| !matches!(step, Step::Attract | Step::Language | Step::Service))
        .map(|s| s.title.get(language).to_owned());
    match &service_title {
        Some(title) => speech.say(title),
        None => speech.say_tr("Bürgerservice", &[]),
    }
    if journey.staff_called() {
        speech.say_tr(
            "Eine Mitarbeiterin oder ein Mitarbeiter ist informiert und kommt gleich zu Ihnen.",
            &[],
        );
    }

    let mut buttons = Vec::new();
    match step {
        Step::Attract => {
            let (greeting, _) = welcome::lines(language);
            speech.say(greeting);
            speech.say_tr("Berühren Sie den Bildschirm, um zu beginnen", &[]);
        }
        Step::Language => {
            speech.say_tr("Sprache wählen", &[]);
            buttons.extend(
                journey
                    .catalogue()
                    .languages
                    .iter()
                    .map(|l| l.native_name().to_owned()),
            );
        }
        Step::Service => {
            speech.say_tr("Was möchten Sie erledigen?", &[]);
            for service in &journey.catalogue().services {
                speech.say(service.title.get(language));
                speech.say(service.description.get(language));
            }
        }
        Step::Identify(sub) => identify(&mut speech, &mut buttons, journey, sub, shown),
        Step::Form { page } => form_page(&mut speech, journey, *page, shown),
        Step::Review => review(&mut speech, journey),
        Step::Consent => {
            speech.say_tr("Zustimmung", &[]);
            speech.say_tr(
                "Bitte lesen Sie die Texte und tippen Sie auf jedes Kästchen, dem Sie zustimmen.",
                &[],
            );
            if let Some(service) = journey.service() {
                for consent in &service.consents {
                    speech.say_checked(
                        consent.text.get(language),
                        journey.consent_given(&consent.id),
                    );
                    if journey.missing_consents().contains(&consent.id) {
                        speech.say_tr(
                            "Ohne diese Zustimmung können wir den Antrag nicht annehmen.",
                            &[],
                        );
                    }
                }
            }
            if journey.submit_failed() {
                speech.say_tr("Der Antrag konnte nicht gespeichert werden. Bitte versuchen Sie es noch einmal oder rufen Sie das Personal.", &[]);
            }
        }
        Step::Submitting => {
            speech.say_tr("Ihr Antrag wird gespeichert …", &[]);
            speech.say_tr("Bitte warten Sie einen Moment.", &[]);
        }
        Step::Receipt(receipt) => {
            let content = journey.receipt();
            let appointment_at = content.and_then(|c| c.appointment_at.as_deref());
            let title = content.map_or("", |c| c.service_title.as_str());
            match appointment_at {
                Some(at) => {
                    speech.say_tr("Sie sind angemeldet", &[]);
                    speech.say_tr("Ihr Termin um {}: {}", &[at, title]);
                    speech.say_tr(
                        "Bitte nehmen Sie im Wartebereich Platz, Sie werden aufgerufen.",
                        &[],
                    );
                }
                None => {
                    speech.say_tr("Ihr Antrag ist eingegangen", &[]);
                    speech.say(title);
                }
            }
            let label = speech.tr("Ihre Vorgangsnummer", &[]);
            speech.say_value(&label, &spell(&receipt.reference));
            speech.say_tr(
                match receipt.print {
                    PrintState::Printing => "Ihr Beleg wird gedruckt …",
                    PrintState::Printed => "Bitte nehmen Sie Ihren Beleg aus dem Drucker.",
                    PrintState::ShowQrCode => "Der Beleg kann gerade nicht gedruckt werden. Fotografieren Sie bitte den Code oder notieren Sie die Vorgangsnummer.",
                },
                &[],
            );
            if let Some(content) = content {
                for (label, value) in &content.lines {
                    speech.say_value(label, value);
                }
                speech.say(&content.next_steps);
            }
            if receipt.queued_offline {
                speech.say_tr(
                    if appointment_at.is_some() {
                        "Die Verbindung ist gerade unterbrochen. Ihre Anmeldung ist gespeichert und wird automatisch weitergegeben."
                    } else {
                        "Die Verbindung ist gerade unterbrochen. Ihr Antrag ist sicher gespeichert und wird automatisch gesendet."
                    },
                    &[],
                );
            }
            if receipt.print == PrintState::ShowQrCode {
                speech.say_tr("QR-Code mit der Vorgangsnummer", &[]);
            }
        }
        Step::Goodbye => {
            speech.say_tr("Vielen Dank und auf Wiedersehen!", &[]);
            speech.say_tr("Ihre Eingaben wurden von diesem Gerät gelöscht.", &[]);
        }
        Step::AppointmentNotDue(notice) => {
            let (heading, advice) = match &notice.timing {
                AppointmentTiming::TooEarly { .. } => (
                    "Für Ihren Termin ist es noch zu früh",
                    "Die Anmeldung ist ab {} möglich. Bitte halten Sie Ihr Smartphone dann noch einmal an das Lesegerät.",
                ),
                AppointmentTiming::Missed => (
                    "Ihr Termin ist leider vorbei",
                    "Die Zeit zum Anmelden ist leider vorbei. Bitte gehen Sie zum Empfang im Bürgerbüro, dort hilft man Ihnen weiter.",
                ),
                AppointmentTiming::OtherDay { .. } => (
                    "Ihr Termin ist an einem anderen Tag",
                    "Bitte kommen Sie an diesem Tag wieder und melden Sie sich dann hier an.",
                ),
                AppointmentTiming::NotSaved | AppointmentTiming::Due => (
                    "Die Anmeldung hat nicht geklappt",
                    "Ihre Anmeldung konnte gerade nicht gespeichert werden. Bitte melden Sie sich am Empfang im Bürgerbüro an.",
                ),
            };
            speech.say_tr(heading, &[]);
            let (starts, title) = (notice.starts_at.as_str(), notice.service_title.as_str());
            match &notice.timing {
                AppointmentTiming::OtherDay { date } => {
                    speech.say_tr("Ihr Termin am {} um {}: {}", &[date, starts, title]);
                }
                _ => speech.say_tr("Ihr Termin um {}: {}", &[starts, title]),
            }
            let opens_at = match &notice.timing {
                AppointmentTiming::TooEarly { opens_at } => opens_at.as_str(),
                _ => "",
            };
            speech.say_tr(advice, &[opens_at]);
        }
    }
    buttons.extend(nav_buttons(&speech, step));
    speech.say_buttons(&buttons);
    speech.finish()
}

/// The language menu over any screen: its heading and the languages.
pub(crate) fn language_menu_text(language: &Language, languages: &[String]) -> Zeroizing<String> {
    let mut speech = Speech::new(language);
    speech.say_tr("Sprache wählen", &[]);
    speech.say_buttons(languages);
    speech.finish()
}

fn route_texts(route: Option<IdentityMethod>) -> (&'static str, &'static str) {
    match route {
        Some(IdentityMethod::Eid) => (
            "Personalausweis (Online-Ausweis)",
            "Ausweis auflegen und die 6-stellige PIN eingeben.",
        ),
        Some(IdentityMethod::Passport) => (
            "Reisepass oder Ausweis mit Zugangsnummer",
            "Sie tippen die 6-stellige Zugangsnummer (CAN) ein und legen das Dokument auf.",
        ),
        Some(IdentityMethod::Phone) => (
            "Smartphone",
            "Halten Sie Ihr Smartphone mit der Bürger-App an das Lesegerät.",
        ),
        None => (
            "Ohne Ausweis: selbst eintippen",
            "Sie füllen alle Angaben selbst aus.",
        ),
    }
}

fn failure_text(reason: IdentityFailure) -> &'static str {
    match reason {
        IdentityFailure::CardRemoved => {
            "Der Ausweis wurde zu früh entfernt. Bitte lassen Sie ihn liegen, bis wir fertig sind."
        }
        IdentityFailure::WrongCode => {
            "Die Nummer oder PIN war nicht richtig. Bitte prüfen Sie sie und versuchen Sie es noch einmal."
        }
        IdentityFailure::UnsupportedCard => {
            "Diese Karte können wir hier nicht lesen. Bitte wählen Sie einen anderen Weg."
        }
        IdentityFailure::DocumentExpired => {
            "Das Dokument ist abgelaufen. Bitte wählen Sie einen anderen Weg."
        }
        IdentityFailure::NotVerified => {
            "Die Echtheit der Daten konnte nicht geprüft werden. Bitte wählen Sie einen anderen Weg."
        }
        IdentityFailure::InvalidToken => {
            "Der Code auf dem Smartphone ist abgelaufen. Bitte öffnen Sie die App neu."
        }
        IdentityFailure::Timeout => {
            "Wir haben nichts erkannt. Bitte legen Sie das Dokument flach auf das Lesegerät."
        }
        IdentityFailure::Unavailable => {
            "Das Lesegerät oder der Dienst ist gerade nicht erreichbar. Bitte wählen Sie einen anderen Weg oder rufen Sie das Personal."
        }
    }
}

/// "PIN: 3 von 6 Ziffern eingegeben": the count, never the digits.
fn say_digits(speech: &mut Speech, label: &str, typed: usize) {
    let label = speech.tr(label, &[]);
    let count = speech.tr(
        "{} von {} Ziffern eingegeben",
        &[&typed.to_string(), &SECRET_DIGITS.to_string()],
    );
    speech.say(&Speech::labelled(&label, &count));
}

fn identify(
    speech: &mut Speech,
    buttons: &mut Vec<String>,
    journey: &Journey,
    sub: &IdentifyStep,
    shown: &Shown<'_>,
) {
    match sub {
        IdentifyStep::Choosing => {
            let (methods, type_it_in) = journey.identification_offer();
            speech.say_tr("Wie möchten Sie sich ausweisen?", &[]);
            speech.say_tr(
                if type_it_in {
                    "Mit einem Ausweis füllen wir Name und Anschrift für Sie aus."
                } else {
                    "Für diesen Antrag müssen Sie sich ausweisen."
                },
                &[],
            );
            if let Some(reason) = journey.eid_not_offered() {
                speech.say(&(shown.eid_text)(reason.code()));
                speech.say_tr(
                    if methods.is_empty() && !type_it_in {
                        "Bitte rufen Sie das Personal."
                    } else {
                        "Bitte wählen Sie einen anderen Weg."
                    },
                    &[],
                );
            } else if methods.is_empty() && !type_it_in {
                speech.say_tr("Gerade kann sich niemand ausweisen: das Lesegerät oder die Verbindung fehlt. Bitte rufen Sie das Personal.", &[]);
            }
            let routes = methods
                .iter()
                .map(|m| Some(*m))
                .chain(type_it_in.then_some(None));
            for route in routes {
                let (title, description) = route_texts(route);
                speech.say_tr(title, &[]);
                speech.say_tr(description, &[]);
            }
        }
        IdentifyStep::EnterCan { invalid } => {
            speech.say_tr("Bitte geben Sie die Zugangsnummer ein", &[]);
            speech.say_tr("Die 6-stellige Zugangsnummer (CAN) steht auf dem Personalausweis vorne rechts unten, im Reisepass auf der Datenseite.", &[]);
            say_digits(speech, "Zugangsnummer", shown.can_digits);
            if *invalid {
                speech.say_tr(
                    "Die Zugangsnummer hat genau 6 Ziffern. Bitte prüfen Sie die Eingabe.",
                    &[],
                );
            }
            buttons.push(speech.tr("Bestätigen", &[]));
        }
        IdentifyStep::Waiting(method) => {
            if *method == IdentityMethod::Phone {
                speech.say_tr("Halten Sie Ihr Smartphone an das Lesegerät", &[]);
            } else {
                speech.say_tr("Legen Sie Ihren Ausweis auf das Lesegerät", &[]);
            }
            speech.say_tr(
                if *method == IdentityMethod::Eid {
                    "Lassen Sie den Ausweis auf dem Lesegerät liegen. Geben Sie Ihre 6-stellige PIN ein, wenn Sie dazu aufgefordert werden."
                } else {
                    "Lassen Sie das Dokument auf dem Lesegerät liegen, bis wir fertig sind."
                },
                &[],
            );
        }
        IdentifyStep::Failed { reason, .. } => {
            speech.say_tr("Das hat leider nicht geklappt", &[]);
            speech.say_tr(failure_text(*reason), &[]);
            buttons.push(speech.tr("Noch einmal versuchen", &[]));
            buttons.push(speech.tr("Anderen Weg wählen", &[]));
        }
        IdentifyStep::Eid(phase) => eid(speech, buttons, journey, phase, shown),
    }
}

/// An eID access right's name, as `EidTexts.right-name` shows it.
fn right_name(
    speech: &Speech,
    right: &AccessRight,
    required_age: Option<&str>,
    shown: &Shown<'_>,
) -> String {
    match (right.code(), required_age) {
        ("eid.right.other", _) if !right.sdk_name().is_empty() => {
            speech.tr("Weitere Angabe: {}", &[right.sdk_name()])
        }
        ("eid.right.age_verification", Some(age)) if !age.is_empty() => {
            speech.tr("Altersbestätigung (mindestens {} Jahre)", &[age])
        }
        (code, _) => (shown.eid_text)(code),
    }
}

fn eid(
    speech: &mut Speech,
    buttons: &mut Vec<String>,
    journey: &Journey,
    phase: &EidPhase,
    shown: &Shown<'_>,
) {
    let login = journey.eid_login();
    let screen = match (phase, login) {
        (EidPhase::Preparing, _) | (EidPhase::Login, None) => "preparing",
        (EidPhase::Completing, _) => "completing",
        (EidPhase::Ended(_), _) => "ended",
        (EidPhase::Login, Some(state)) => crate::eid_view::screen_name(state),
    };
    let outcome: Option<(&Outcome, bool)> = match (phase, login) {
        (EidPhase::Ended(outcome), _) => Some((outcome, true)),
        (_, Some(LoginState::Ending(outcome))) => Some((outcome, false)),
        (_, Some(LoginState::Ended(outcome))) => Some((outcome, true)),
        _ => None,
    };
    // The on-screen pad or the reader's keypad.
    let keypad = match login {
        Some(LoginState::EnterPin(request)) => request.keypad,
        Some(LoginState::EnterCan(request)) => request.keypad,
        _ => false,
    };
    let heading = match screen {
        "preparing" => "Die Anmeldung wird vorbereitet …",
        "starting" => "Verbindung zum Anmeldedienst wird aufgebaut …",
        "loading-provider" => "Die Angaben des Anbieters werden geladen …",
        "consent" => "Anmelden mit dem Online-Ausweis",
        "insert-card" => "Legen Sie Ihren Personalausweis auf das Lesegerät",
        "working" => "Ihr Ausweis wird gelesen …",
        "enter-pin" if keypad => "Geben Sie die PIN am Lesegerät ein",
        "enter-pin" => "Bitte geben Sie Ihre PIN ein",
        "enter-can" if keypad => "Geben Sie die Zugangsnummer am Lesegerät ein",
        "enter-can" => "Bitte geben Sie die Zugangsnummer ein",
        "completing" => "Anmeldung erfolgreich",
        _ => match outcome.map(|(o, _)| crate::eid_view::outcome_kind(o)) {
            Some("cancelled") => "Die Anmeldung wurde abgebrochen",
            Some("not-offered") => "Online-Ausweis gerade nicht möglich",
            _ => "Das hat leider nicht geklappt",
        },
    };
    speech.say_tr(heading, &[]);

    match (screen, login) {
        ("preparing" | "starting" | "loading-provider" | "working" | "completing", _) => {
            speech.say_tr(
                match screen {
                    "working" => "Bitte lassen Sie den Ausweis auf dem Lesegerät liegen.",
                    "completing" => "Ihre Angaben werden übernommen …",
                    _ => "Bitte warten Sie einen Moment.",
                },
                &[],
            );
            let progress = match login {
                Some(LoginState::Starting { progress } | LoginState::Working { progress })
                    if screen != "completing" =>
                {
                    *progress
                }
                _ => None,
            };
            if let Some(percent) = progress {
                let label = speech.tr("Fortschritt", &[]);
                speech.say_value(&label, &format!("{} %", percent.min(100)));
            }
        }
        ("consent", Some(LoginState::Consent(consent))) => {
            let provider = &consent.provider;
            let rights = &consent.rights;
            let line = |speech: &mut Speech, label: &str, value: &str| {
                let label = speech.tr(label, &[]);
                speech.say_value(&label, value);
            };
            line(speech, "Anbieter", &provider.name);
            line(speech, "Internetseite", &provider.url);
            line(speech, "Zweck", &provider.purpose);
            if let Some(info) = rights.transaction_info.as_deref().filter(|i| !i.is_empty()) {
                line(speech, "Vorgang", info);
            }
            line(speech, "Berechtigung ausgestellt von", &provider.issuer);
            let validity = speech.tr(
                "{} bis {}",
                &[
                    &crate::eid_view::display_date(&provider.valid_from),
                    &crate::eid_view::display_date(&provider.valid_until),
                ],
            );
            line(speech, "Berechtigung gültig", &validity);
            let age = rights.required_age.as_deref();
            speech.say_tr("Diese Daten werden aus Ihrem Ausweis gelesen:", &[]);
            let required: Vec<String> = rights
                .required
                .iter()
                .map(|r| right_name(speech, r, age, shown))
                .collect();
            speech.say(&required.join(speech.comma()));
            if !rights.optional.is_empty() {
                speech.say_tr(
                    "Freiwillige Angaben: Tippen Sie an, was nicht übermittelt werden soll.",
                    &[],
                );
            }
            for right in &rights.optional {
                let name = right_name(speech, right, age, shown);
                speech.say_checked(&name, rights.enabled_optional.contains(right));
            }
            if rights.change_refused {
                speech.say_tr("Ihre Auswahl konnte nicht übernommen werden. Bitte versuchen Sie es noch einmal.", &[]);
            }
            buttons.push(speech.tr("Zustimmen", &[]));
            buttons.push(speech.tr("Nicht zustimmen", &[]));
        }
        ("insert-card", Some(LoginState::InsertCard { problem })) => {
            speech.say_tr(
                "Lassen Sie ihn dort liegen, bis die Anmeldung fertig ist.",
                &[],
            );
            if let Some(problem) = problem {
                speech.say(&(shown.eid_text)(problem.code()));
            }
        }
        ("enter-pin", Some(LoginState::EnterPin(request))) => {
            speech.say_tr(
                if keypad {
                    "Tippen Sie Ihre 6-stellige PIN auf der Tastatur des Lesegeräts ein und bestätigen Sie sie dort."
                } else {
                    "Das ist die 6-stellige PIN, die Sie für Ihren Online-Ausweis selbst festgelegt haben. Die Ziffern werden nicht angezeigt."
                },
                &[],
            );
            if !keypad {
                say_digits(speech, "PIN", shown.pad_digits);
            }
            if request.last_was_wrong {
                speech.say_tr(
                    "Die PIN war nicht richtig. Bitte versuchen Sie es noch einmal.",
                    &[],
                );
            }
            if shown.pad_incomplete {
                speech.say_tr(
                    "Die PIN hat 6 Ziffern. Bitte geben Sie alle 6 Ziffern ein.",
                    &[],
                );
            }
            match request.attempts_left {
                Some(1) => speech.say_tr("Achtung, letzter Versuch: Ist die PIN wieder falsch, wird sie gesperrt. Entsperren lässt sie sich dann nur mit der PUK aus Ihrem PIN-Brief.", &[]),
                Some(left) if left > 1 => speech.say_tr("Verbleibende Versuche: {}", &[&left.to_string()]),
                _ => {}
            }
            if !keypad {
                buttons.push(speech.tr("Bestätigen", &[]));
            }
        }
        ("enter-can", Some(LoginState::EnterCan(request))) => {
            speech.say_tr(
                match request.reason {
                    CanReason::PinSuspended => "Die PIN wurde zweimal falsch eingegeben. Mit der Zugangsnummer (CAN) geben Sie den dritten und letzten Versuch frei.",
                    CanReason::CanAllowed => "Der Anbieter darf Ihren Ausweis mit der Zugangsnummer (CAN) statt mit der PIN lesen.",
                },
                &[],
            );
            speech.say_tr(
                if keypad {
                    "Die 6-stellige Zugangsnummer steht auf der Vorderseite Ihres Ausweises rechts unten. Tippen Sie sie auf der Tastatur des Lesegeräts ein und bestätigen Sie sie dort."
                } else {
                    "Die 6-stellige Zugangsnummer steht auf der Vorderseite Ihres Ausweises rechts unten."
                },
                &[],
            );
            if !keypad {
                say_digits(speech, "Zugangsnummer", shown.pad_digits);
            }
            if request.last_was_wrong {
                speech.say_tr("Die Zugangsnummer war nicht richtig. Bitte prüfen Sie sie und geben Sie sie noch einmal ein.", &[]);
            }
            if shown.pad_incomplete {
                speech.say_tr(
                    "Die Zugangsnummer hat genau 6 Ziffern. Bitte prüfen Sie die Eingabe.",
                    &[],
                );
            }
            if !keypad {
                buttons.push(speech.tr("Bestätigen", &[]));
            }
        }
        _ => {}
    }

    if let Some((outcome, ended)) = outcome {
        speech.say(&(shown.eid_text)(outcome.code()));
        if outcome.code() == "eid.failed.pin_blocked" {
            speech.say_tr("Gehen Sie mit Ihrem Ausweis und Ihrem PIN-Brief mit der PUK zum Bürgerbüro. Dort wird die PIN entsperrt. Ohne PIN-Brief kann das Bürgerbüro Ihnen eine neue PIN setzen.", &[]);
        }
        if let Some(advice) = outcome.advice() {
            speech.say(&(shown.eid_text)(advice.code()));
        }
        if !ended {
            speech.say_tr("Die Anmeldung wird beendet …", &[]);
        }
        if ended && crate::eid_view::can_retry(outcome) {
            buttons.push(speech.tr("Erneut versuchen", &[]));
        }
        buttons.push(speech.tr("Anders ausweisen", &[]));
    }
}

fn form_page(speech: &mut Speech, journey: &Journey, page: usize, shown: &Shown<'_>) {
    let language = journey.language();
    let visible = journey.visible_pages();
    let number = visible.iter().position(|&p| p == page).map_or(1, |i| i + 1);
    speech.say_tr(
        "Schritt {} von {}",
        &[&number.to_string(), &visible.len().to_string()],
    );
    if let Some(title) = journey
        .service()
        .and_then(|s| s.pages.get(page))
        .map(|p| p.title.get(language))
    {
        speech.say(title);
    }
    if !journey.problems().is_empty() {
        speech.say_tr("Bitte prüfen Sie die rot markierten Angaben.", &[]);
    }
    for row in shown.rows {
        let label = if row.required || matches!(row.kind, "group-header" | "group-add") {
            row.label.clone()
        } else {
            speech.tr("{} (freiwillig)", &[&row.label])
        };
        let value = row.value.as_deref();
        match &row.role {
            RowRole::Input { field, .. } => match &field.kind {
                FieldKind::Choice { .. } | FieldKind::MultiChoice { .. } => {
                    speech.say(&label);
                    speech.say(&row.help);
                    for (i, option) in field.kind.options().unwrap_or_default().iter().enumerate() {
                        speech.say_checked(
                            option.label.get(language),
                            form::is_chosen(value, &field.kind, i),
                        );
                    }
                }
                FieldKind::Checkbox => {
                    speech.say_checked(&label, matches!(value, Some(FieldValue::Checked(true))));
                    speech.say(&row.help);
                }
                FieldKind::StreetAddress => {
                    speech.say(&label);
                    speech.say(&row.help);
                    let street = form::part_text(value, &field.kind, 0);
                    let number = form::part_text(value, &field.kind, 1);
                    let street_label = speech.tr("Straße", &[]);
                    speech.say_value(&street_label, &street);
                    let number_label = speech.tr("Hausnummer", &[]);
                    speech.say_value(&number_label, &number);
                }
                FieldKind::Date { .. } => {
                    speech.say(&label);
                    speech.say(&row.help);
                    for (part, name) in ["Tag", "Monat", "Jahr"].into_iter().enumerate() {
                        let text = form::part_text(value, &field.kind, part);
                        let name = speech.tr(name, &[]);
                        speech.say_value(&name, &text);
                    }
                }
                kind => {
                    let text = Zeroizing::new(form::part_text(value, kind, 0));
                    speech.say_value(&label, &text);
                    speech.say(&row.help);
                }
            },
            RowRole::GroupTitle => {
                speech.say(&label);
                speech.say(&row.help);
            }
            RowRole::GroupItem { .. } => {
                speech.say(&row.label);
                if row.enabled {
                    let remove = speech.tr("{} entfernen", &[&row.label]);
                    speech.say_buttons(&[remove]);
                }
            }
            RowRole::GroupAdd { .. } => {
                if row.enabled {
                    let add = speech.tr("{} hinzufügen", &[&row.label]);
                    speech.say_buttons(&[add]);
                }
            }
        }
        speech.say(&row.error);
    }
}

fn review(speech: &mut Speech, journey: &Journey) {
    speech.say_tr("Bitte prüfen Sie Ihre Angaben", &[]);
    for page in crate::present::review_pages(journey) {
        speech.say(&page.title);
        if page.lines.is_empty() {
            speech.say_tr("Keine Angaben", &[]);
        }
        for (label, value) in &page.lines {
            speech.say_value(label, value);
        }
        let edit = speech.tr("{} ändern", &[&page.title]);
        speech.say_buttons(&[edit]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn po_files_parse_with_continuations_and_escapes() {
        let po = "msgid \"\"\nmsgstr \"\"\n\"Language: tr\\n\"\n\n# comment\nmsgid \"Weiter\"\nmsgstr \"İleri\"\n\nmsgid \"\"\n\"Sag \\\"Hallo\\\" \"\n\"bitte\"\nmsgstr \"Say \\\"hello\\\" please\"\n\nmsgid \"Leer\"\nmsgstr \"\"\n";
        let entries = parse_po(po);
        assert_eq!(entries.get("Weiter").map(String::as_str), Some("İleri"));
        assert_eq!(
            entries.get("Sag \"Hallo\" bitte").map(String::as_str),
            Some("Say \"hello\" please")
        );
        assert!(
            !entries.contains_key("Leer"),
            "untranslated entries fall back to German"
        );
        assert!(!entries.contains_key(""), "the header is no entry");
    }

    #[test]
    fn sentences_come_from_the_bundled_translations() {
        assert_eq!(translate("de", "Weiter"), "Weiter");
        assert_eq!(translate("en", "Weiter"), "Next");
        assert_eq!(
            fill(&translate("uk", "Schritt {} von {}"), &["1", "3"]),
            "Крок 1 з 3"
        );
        assert_eq!(translate("tr", "kein solcher Satz"), "kein solcher Satz");
    }

    #[test]
    fn placeholders_fill_in_order_and_by_position() {
        assert_eq!(fill("{} bis {}", &["1.1.", "31.12."]), "1.1. bis 31.12.");
        assert_eq!(fill("{1} vor {0}", &["a", "b"]), "b vor a");
        assert_eq!(fill("{{}} und {}", &["x"]), "{} und x");
        assert_eq!(fill("{} und {}", &["x"]), "x und {}");
    }

    #[test]
    fn sentences_join_without_doubled_punctuation_or_repeats() {
        let mut speech = Speech::new(&Language::german());
        speech.say("Ihre Hunde");
        speech.say("Ihre Hunde");
        speech.say_value("Sind Sie jünger als 18 Jahre?", "Ja");
        speech.say_value("Ich bin einverstanden.", "✓");
        speech.say_value("Familienname", " ");
        speech.say_checked("Doktorgrad", false);
        assert_eq!(
            *speech.finish(),
            "Ihre Hunde. Sind Sie jünger als 18 Jahre? Ja. Ich bin einverstanden: ausgewählt. \
             Familienname: leer. Doktorgrad: nicht ausgewählt"
        );
        let mut speech = Speech::new(&Language::new("ar").unwrap());
        speech.say_buttons(&["رجوع".into(), "إلغاء".into()]);
        assert_eq!(*speech.finish(), "الأزرار: رجوع، إلغاء");
    }

    #[test]
    fn references_are_spelled_character_by_character() {
        assert_eq!(spell("GE-2026-7Q4M-K2"), "G E, 2 0 2 6, 7 Q 4 M, K 2");
        assert_eq!(spell("AB12"), "A B 1 2");
        assert_eq!(spell(""), "");
    }

    /// Every sentence "read aloud" looks up (a string literal of this file
    /// that starts like a German sentence) is one the screens show with
    /// `@tr` or one of its own, and has a translation in every language: a
    /// typo would otherwise be spoken in German.
    #[test]
    fn every_spoken_sentence_is_translated_in_every_language() {
        let source = include_str!("read_aloud.rs");
        let code = source
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let slint: String = [
            include_str!("../ui/main.slint"),
            include_str!("../ui/widgets/chrome.slint"),
            include_str!("../ui/widgets/field.slint"),
            include_str!("../ui/pages/attract.slint"),
            include_str!("../ui/pages/language.slint"),
            include_str!("../ui/pages/service.slint"),
            include_str!("../ui/pages/identify.slint"),
            include_str!("../ui/pages/eid.slint"),
            include_str!("../ui/pages/form.slint"),
            include_str!("../ui/pages/review.slint"),
            include_str!("../ui/pages/consent.slint"),
            include_str!("../ui/pages/receipt.slint"),
            include_str!("../ui/pages/status.slint"),
            include_str!("../ui/pages/appointment.slint"),
        ]
        .concat();
        let own = [
            "leer",
            "ausgewählt",
            "nicht ausgewählt",
            "Schaltflächen:",
            "{} von {} Ziffern eingegeben",
        ];
        let literals = string_literals(code);
        let sentences: Vec<&String> = literals
            .iter()
            .filter(|s| {
                let mut chars = s.chars();
                chars.next().is_some_and(char::is_uppercase)
                    || (s.starts_with("{} ") && s.chars().nth(3).is_some_and(char::is_alphabetic))
                    || own.contains(&s.as_str())
            })
            .collect();
        assert!(
            sentences.len() > 100,
            "only {} sentences found",
            sentences.len()
        );
        for msgid in &sentences {
            assert!(
                own.contains(&msgid.as_str()) || slint.contains(&format!("@tr(\"{msgid}\"")),
                "{msgid:?} is no sentence of the screens (a typo?)"
            );
            for (language, _) in PO_FILES {
                assert!(
                    has_translation(language, msgid),
                    "no {language} translation of {msgid:?} in translations/{language}"
                );
            }
        }
        for msgid in own {
            assert!(
                literals.iter().any(|s| s == msgid),
                "{msgid:?} is never said"
            );
        }
    }

    /// The string literals of Rust source: comments and char literals skipped,
    /// escapes resolved.
    fn string_literals(code: &str) -> Vec<String> {
        let chars: Vec<char> = code.chars().collect();
        let mut literals = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '/' if chars.get(i + 1) == Some(&'/') => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '\'' if chars.get(i + 2) == Some(&'\'') => i += 3,
                '\'' if chars.get(i + 1) == Some(&'\\') && chars.get(i + 3) == Some(&'\'') => {
                    i += 4
                }
                '"' => {
                    let mut literal = String::new();
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        if let Some(&c) = chars.get(i) {
                            literal.push(c);
                        }
                        i += 1;
                    }
                    literals.push(literal);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        literals
    }
}
