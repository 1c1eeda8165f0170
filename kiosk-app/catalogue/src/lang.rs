//! Languages and texts in several languages.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A UI language, named by its ISO 639-1 code (`de`, `ar`, ...).
///
/// Only lower-case two-letter codes are accepted so that a typo such as `"DE"`
/// or `"ger"` in a catalogue file is caught by the checker instead of silently
/// creating a language no screen offers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    /// German, the first language of every kiosk.
    pub fn german() -> Self {
        Self("de".to_owned())
    }

    /// Parses an ISO 639-1 code.
    pub fn new(code: &str) -> Result<Self, String> {
        let valid = code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase());
        if valid {
            Ok(Self(code.to_owned()))
        } else {
            Err(format!(
                "'{code}' is not a language code: use two lower-case letters as in ISO 639-1, e.g. 'de' or 'uk'"
            ))
        }
    }

    /// The ISO 639-1 code.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// Whether the script runs right to left, so screens must be mirrored.
    pub fn is_right_to_left(&self) -> bool {
        matches!(self.0.as_str(), "ar" | "fa" | "he" | "ur")
    }

    /// The language's own name, as a citizen looks for it on the language screen.
    pub fn native_name(&self) -> &str {
        match self.0.as_str() {
            "de" => "Deutsch",
            "en" => "English",
            "tr" => "Türkçe",
            "ar" => "العربية",
            "uk" => "Українська",
            "ru" => "Русский",
            "pl" => "Polski",
            "fr" => "Français",
            "fa" => "فارسی",
            other => other,
        }
    }
}

impl TryFrom<String> for Language {
    type Error = String;
    fn try_from(code: String) -> Result<Self, String> {
        Self::new(&code)
    }
}

impl From<Language> for String {
    fn from(language: Language) -> String {
        language.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A text given in every language of the catalogue.
///
/// Completeness is enforced when the catalogue is checked, so [`LocalizedText::get`]
/// only falls back to German for languages the catalogue does not offer at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(BTreeMap<Language, String>);

impl LocalizedText {
    /// The text in `language`, or in German when the catalogue does not offer it.
    pub fn get(&self, language: &Language) -> &str {
        self.0
            .get(language)
            .or_else(|| self.0.get(&Language::german()))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The languages this text is given in.
    pub fn languages(&self) -> impl Iterator<Item = &Language> {
        self.0.keys()
    }

    /// All translations.
    pub fn iter(&self) -> impl Iterator<Item = (&Language, &str)> {
        self.0.iter().map(|(l, t)| (l, t.as_str()))
    }

    /// Builds a text from `(language, text)` pairs; for tests and generated texts.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(l, t)| (Language::new(l).expect("valid language code"), t.to_owned()))
                .collect(),
        )
    }

    /// The languages of `expected` this text lacks or leaves blank, and the
    /// languages it has that `expected` does not list.
    pub(crate) fn coverage(&self, expected: &[Language]) -> (Vec<Language>, Vec<Language>) {
        let missing = expected
            .iter()
            .filter(|l| self.0.get(l).is_none_or(|t| t.trim().is_empty()))
            .cloned()
            .collect();
        let unexpected = self
            .0
            .keys()
            .filter(|l| !expected.contains(l))
            .cloned()
            .collect();
        (missing, unexpected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_two_lower_case_letters() {
        assert!(Language::new("de").is_ok());
        assert!(Language::new("DE").is_err());
        assert!(Language::new("ger").is_err());
        assert!(Language::new("").is_err());
    }

    #[test]
    fn only_arabic_script_languages_are_right_to_left() {
        assert!(Language::new("ar").unwrap().is_right_to_left());
        assert!(!Language::new("uk").unwrap().is_right_to_left());
        assert!(!Language::german().is_right_to_left());
    }

    #[test]
    fn missing_translation_falls_back_to_german_only_outside_the_catalogue() {
        let text = LocalizedText::from_pairs([("de", "Hallo"), ("en", "Hello")]);
        assert_eq!(text.get(&Language::new("en").unwrap()), "Hello");
        assert_eq!(text.get(&Language::new("pl").unwrap()), "Hallo");
        let de = Language::german();
        let en = Language::new("en").unwrap();
        let tr = Language::new("tr").unwrap();
        let (missing, unexpected) = text.coverage(&[de, tr.clone()]);
        assert_eq!(missing, vec![tr]);
        assert_eq!(unexpected, vec![en]);
    }
}
