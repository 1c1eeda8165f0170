//! On-screen keyboard layouts and what a key does to the text being typed.
//!
//! Kiosks have no physical keyboard, so the UI brings its own: German QWERTZ
//! with umlauts and ß first, then Turkish (Q layout with ğ ü ş ı ö ç),
//! Ukrainian (ЙЦУКЕН with ї є ґ), Arabic and English; each with shift and a
//! digits-and-symbols layer.

/// A keyboard layout the citizen can switch to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// German QWERTZ with ä ö ü ß.
    German,
    /// Turkish Q.
    Turkish,
    /// Ukrainian ЙЦУКЕН.
    Ukrainian,
    /// Arabic (PC layout).
    Arabic,
    /// English QWERTY.
    English,
}

impl Layout {
    /// The order the layout key cycles through.
    pub const ALL: [Layout; 5] = [
        Layout::German,
        Layout::Turkish,
        Layout::Ukrainian,
        Layout::Arabic,
        Layout::English,
    ];

    /// The layout that fits a UI language (German for languages without one).
    pub fn for_language(code: &str) -> Self {
        match code {
            "tr" => Self::Turkish,
            "uk" => Self::Ukrainian,
            "ar" => Self::Arabic,
            "en" => Self::English,
            _ => Self::German,
        }
    }

    /// The next layout on the layout key.
    pub fn next(self) -> Self {
        let index = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        Self::ALL[(index + 1) % Self::ALL.len()]
    }

    /// The name on the layout key, in the layout's own language.
    pub fn name(self) -> &'static str {
        match self {
            Self::German => "Deutsch",
            Self::Turkish => "Türkçe",
            Self::Ukrainian => "Українська",
            Self::Arabic => "العربية",
            Self::English => "English",
        }
    }

    /// The three letter rows, lower case.
    fn letter_rows(self) -> [&'static str; 3] {
        match self {
            Self::German => ["qwertzuiopü", "asdfghjklöä", "yxcvbnmß"],
            Self::Turkish => ["qwertyuıopğü", "asdfghjklşi", "zxcvbnmöç"],
            Self::Ukrainian => ["йцукенгшщзхї", "фівапролджє", "ґячсмитьбю"],
            Self::Arabic => ["ضصثقفغعهخحجد", "شسيبلاتنمكط", "ئءؤرىةوزظذ"],
            Self::English => ["qwertyuiop", "asdfghjkl", "zxcvbnm"],
        }
    }

    /// Whether the script has capital letters (and so a shift key).
    fn has_case(self) -> bool {
        self != Self::Arabic
    }

    /// The upper-case form of a key's letter in this layout.
    pub fn upper(self, c: char) -> String {
        match (self, c) {
            // Turkish dotted and dotless i.
            (Self::Turkish, 'i') => "İ".to_owned(),
            (Self::Turkish, 'ı') => "I".to_owned(),
            // "ß" stays "ß" on a key: its capital is rare and confusing.
            (_, 'ß') => "ß".to_owned(),
            _ => c.to_uppercase().collect(),
        }
    }
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// Types its text.
    Char,
    /// Upper case for the next letter.
    Shift,
    /// Deletes the last character.
    Backspace,
    /// Types a space.
    Space,
    /// A new line (multi-line fields only).
    Enter,
    /// Switches between letters and digits/symbols.
    Symbols,
    /// Switches to the next layout.
    Layout,
    /// Closes the keyboard.
    Done,
}

impl KeyAction {
    /// The name the Slint side uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Char => "char",
            Self::Shift => "shift",
            Self::Backspace => "backspace",
            Self::Space => "space",
            Self::Enter => "enter",
            Self::Symbols => "symbols",
            Self::Layout => "layout",
            Self::Done => "done",
        }
    }

    /// Parses the Slint side's name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Char,
            Self::Shift,
            Self::Backspace,
            Self::Space,
            Self::Enter,
            Self::Symbols,
            Self::Layout,
            Self::Done,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// One key as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct KeySpec {
    /// What the key shows (and its accessible label).
    pub label: String,
    /// What it does.
    pub action: KeyAction,
    /// The text it types.
    pub text: String,
    /// Relative width in its row.
    pub width: f32,
}

impl KeySpec {
    fn char(text: String) -> Self {
        Self {
            label: text.clone(),
            action: KeyAction::Char,
            text,
            width: 1.0,
        }
    }

    fn special(label: &str, action: KeyAction, width: f32) -> Self {
        Self {
            label: label.to_owned(),
            action,
            text: String::new(),
            width,
        }
    }
}

/// The state of the alphabetic keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyboardState {
    /// The layout shown.
    pub layout: Layout,
    /// Next letter upper case.
    pub shift: bool,
    /// Digits and symbols instead of letters.
    pub symbols: bool,
}

/// The rows of keys for `state`. `email` adds "@"; `multiline` adds a new-line key.
/// Special keys carry no label: the Slint side shows them translated.
pub fn rows(state: KeyboardState, email: bool, multiline: bool) -> Vec<Vec<KeySpec>> {
    let mut rows: Vec<Vec<KeySpec>> = Vec::new();
    if state.symbols {
        for line in ["1234567890", "-/:;()&@\"'", ".,?!+*#%_="] {
            rows.push(line.chars().map(|c| KeySpec::char(c.to_string())).collect());
        }
    } else {
        let letters = state.layout.letter_rows();
        rows.push(
            "1234567890"
                .chars()
                .map(|c| KeySpec::char(c.to_string()))
                .collect(),
        );
        for line in letters {
            rows.push(
                line.chars()
                    .map(|c| {
                        KeySpec::char(if state.shift {
                            state.layout.upper(c)
                        } else {
                            c.to_string()
                        })
                    })
                    .collect(),
            );
        }
    }
    // Shift and delete frame the last letter row, as on a real keyboard.
    if let Some(last) = rows.last_mut() {
        if !state.symbols && state.layout.has_case() {
            last.insert(0, KeySpec::special("", KeyAction::Shift, 1.5));
        }
        last.push(KeySpec::special("", KeyAction::Backspace, 1.5));
    }
    let mut bottom = vec![
        KeySpec::special(
            if state.symbols { "abc" } else { "?123" },
            KeyAction::Symbols,
            1.5,
        ),
        KeySpec::special(state.layout.next().name(), KeyAction::Layout, 2.2),
    ];
    if email {
        bottom.push(KeySpec::char("@".to_owned()));
    }
    bottom.push(KeySpec::char("-".to_owned()));
    bottom.push(KeySpec::special("", KeyAction::Space, 5.0));
    bottom.push(KeySpec::char(".".to_owned()));
    if multiline {
        bottom.push(KeySpec::special("", KeyAction::Enter, 1.5));
    }
    bottom.push(KeySpec::special("", KeyAction::Done, 2.0));
    rows.push(bottom);
    rows
}

/// Applies a typing key to `text`, keeping at most `max_chars` characters.
/// Returns whether the text changed.
pub fn apply(text: &mut String, action: KeyAction, typed: &str, max_chars: usize) -> bool {
    let insert = match action {
        KeyAction::Char => typed,
        KeyAction::Space => " ",
        KeyAction::Enter => "\n",
        KeyAction::Backspace => return text.pop().is_some(),
        _ => return false,
    };
    if text.chars().count() + insert.chars().count() > max_chars {
        return false;
    }
    text.push_str(insert);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_text(rows: &[Vec<KeySpec>]) -> String {
        rows.iter().flatten().map(|k| k.text.as_str()).collect()
    }

    #[test]
    fn german_layout_is_qwertz_with_umlauts_and_sharp_s() {
        let state = KeyboardState {
            layout: Layout::German,
            shift: false,
            symbols: false,
        };
        let rows = rows(state, false, false);
        let second: String = rows[1].iter().map(|k| k.text.as_str()).collect();
        assert!(second.starts_with("qwertz"), "{second}");
        for c in ["ä", "ö", "ü", "ß"] {
            assert!(all_text(&rows).contains(c), "missing {c}");
        }
        assert!(!all_text(&rows).contains('@'), "@ only for e-mail fields");
    }

    #[test]
    fn turkish_shift_gives_dotted_capital_i() {
        let state = KeyboardState {
            layout: Layout::Turkish,
            shift: true,
            symbols: false,
        };
        let text = all_text(&rows(state, false, false));
        assert!(text.contains('İ') && text.contains('I') && text.contains('Ğ'));
        assert!(
            !text.contains('i'),
            "lower-case i must not appear with shift"
        );
    }

    #[test]
    fn ukrainian_and_arabic_layouts_have_their_letters() {
        let uk = KeyboardState {
            layout: Layout::Ukrainian,
            shift: false,
            symbols: false,
        };
        let text = all_text(&rows(uk, false, false));
        for c in ['ї', 'є', 'ґ', 'і'] {
            assert!(text.contains(c), "missing {c}");
        }
        let ar = KeyboardState {
            layout: Layout::Arabic,
            ..uk
        };
        let rows_ar = rows(ar, true, false);
        assert!(all_text(&rows_ar).contains('ش'));
        assert!(
            rows_ar
                .iter()
                .flatten()
                .all(|k| k.action != KeyAction::Shift),
            "Arabic has no case"
        );
        assert!(all_text(&rows_ar).contains('@'));
    }

    #[test]
    fn layout_key_cycles_through_every_layout() {
        let mut layout = Layout::German;
        let mut seen = Vec::new();
        for _ in 0..Layout::ALL.len() {
            seen.push(layout);
            layout = layout.next();
        }
        assert_eq!(layout, Layout::German);
        assert_eq!(seen, Layout::ALL);
    }

    #[test]
    fn typing_respects_the_maximum_length_and_deletes_whole_characters() {
        let mut text = String::from("Gül");
        assert!(apply(&mut text, KeyAction::Backspace, "", 5));
        assert_eq!(text, "Gü");
        assert!(apply(&mut text, KeyAction::Char, "ş", 3));
        assert!(!apply(&mut text, KeyAction::Char, "x", 3));
        assert_eq!(text, "Güş");
        assert!(!apply(&mut text, KeyAction::Shift, "", 10));
    }
}
