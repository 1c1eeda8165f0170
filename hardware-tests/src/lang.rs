//! The output language (German first, English second) and number formatting per language.

use std::fmt;
use std::time::Duration;

/// The language of everything the tool prints and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Deutsch (the default: the kiosks stand in German town halls).
    #[default]
    De,
    /// English.
    En,
}

impl Lang {
    /// `de` or `en`, as used by `--lang` and in the JSON report.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// Parses `de` / `en` (also `de_DE.UTF-8`-style locale names); `None` for anything else.
    pub fn parse(value: &str) -> Option<Lang> {
        let lower = value.trim().to_ascii_lowercase();
        let primary = lower.split(['_', '-', '.', '@']).next().unwrap_or_default();
        match primary {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language from the environment as POSIX locales order it (`LC_ALL`, then
    /// `LC_MESSAGES`, then `LANG`): English only when the locale says English, German for
    /// everything else (including `C` and unset).
    pub fn from_env() -> Lang {
        Self::from_env_values(|name| std::env::var(name).ok())
    }

    /// [`Lang::from_env`] with a custom variable lookup (for tests).
    pub fn from_env_values(lookup: impl Fn(&str) -> Option<String>) -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| lookup(name))
            .find(|value| !value.trim().is_empty())
            .and_then(|value| Lang::parse(&value))
            .unwrap_or(Lang::De)
    }

    /// Picks the German or the English text.
    pub fn pick<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }

    /// A duration for people: `1,5 s` / `1.5 s`, `2 min 5 s`.
    pub fn duration(self, duration: Duration) -> String {
        let millis = duration.as_millis();
        if millis < 60_000 {
            let tenths = (millis + 50) / 100;
            let (whole, fraction) = (tenths / 10, tenths % 10);
            if fraction == 0 {
                format!("{whole} s")
            } else {
                let separator = self.pick(",", ".");
                format!("{whole}{separator}{fraction} s")
            }
        } else {
            let seconds = duration.as_secs();
            let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
            let hour_word = self.pick("h", "h");
            match (hours, seconds) {
                (0, 0) => format!("{minutes} min"),
                (0, _) => format!("{minutes} min {seconds} s"),
                (_, _) => format!("{hours} {hour_word} {minutes} min"),
            }
        }
    }

    /// A yes/no word.
    pub fn yes_no(self, value: bool) -> &'static str {
        match (self, value) {
            (Lang::De, true) => "ja",
            (Lang::De, false) => "nein",
            (Lang::En, true) => "yes",
            (Lang::En, false) => "no",
        }
    }

    /// Joins a list for a sentence (`a, b und c` / `a, b and c`).
    pub fn list(self, items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} {} {last}", rest.join(", "), self.pick("und", "and")),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}
