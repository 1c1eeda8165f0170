//! `kiosk-app catalogue check`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use kiosk_catalogue::Catalogue;
use kiosk_ui::fonts::FontSet;

/// Checks the catalogue in `dir` (or the embedded one) and prints the result.
pub fn run(dir: Option<&Path>) -> ExitCode {
    let (source, result) = match dir {
        Some(dir) => (dir.display().to_string(), Catalogue::load_dir(dir)),
        None => (
            "built-in default catalogue".to_owned(),
            Catalogue::from_files(&Catalogue::embedded_default_files()),
        ),
    };
    let mut out = std::io::stdout().lock();
    match result {
        Ok(catalogue) => {
            let _ = writeln!(out, "{}", summary(&catalogue));
            let _ = writeln!(
                out,
                "ok: {source}: catalogue {} with {} services in {} languages",
                catalogue.version,
                catalogue.services.len(),
                catalogue.languages.len()
            );
            for warning in font_warnings(&catalogue, usize::MAX) {
                eprintln!("warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{errors}");
            let _ = writeln!(
                err,
                "error: {source}: {} problem(s); the catalogue was not accepted",
                errors.0.len()
            );
            ExitCode::FAILURE
        }
    }
}

/// One line per service: id, version, languages, field count, German title.
pub fn summary(catalogue: &Catalogue) -> String {
    let languages: Vec<&str> = catalogue.languages.iter().map(|l| l.code()).collect();
    let width = catalogue
        .services
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0);
    catalogue
        .services
        .iter()
        .map(|s| {
            format!(
                "{:<width$}  v{:<3} {}  {:>3} fields  {}",
                s.id,
                s.version,
                languages.join(","),
                s.field_count(),
                s.title.get(&kiosk_catalogue::Language::german())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A character of a catalogue text that none of the kiosk's fonts can draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undrawable {
    /// The character.
    pub character: char,
    /// Where it is first used, e.g. `services[dog-tax].title (ti)`.
    pub place: String,
    /// In how many texts it is used.
    pub uses: usize,
}

impl std::fmt::Display for Undrawable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "U+{:04X} '{}' in {}{} is in none of the kiosk's fonts: citizens see an empty box. \
             Put a font for this script into {} and restart the kiosk (operations.md, \
             \"Configure\"), or change the text",
            self.character as u32,
            self.character,
            self.place,
            match self.uses {
                1 => String::new(),
                n => format!(" and {} more text(s)", n - 1),
            },
            kiosk_ui::fonts::OPERATOR_FONTS_DIR
        )
    }
}

/// The characters of the catalogue's texts (every translation of every
/// title, label, help, option, consent and message) that `fonts` cannot draw,
/// in order of first use.
pub fn undrawable_characters(
    catalogue: &Catalogue,
    fonts: &FontSet,
) -> Result<Vec<Undrawable>, serde_json::Error> {
    let languages: Vec<&str> = catalogue.languages.iter().map(|l| l.code()).collect();
    // The catalogue's serialised form reaches every text without a list of
    // fields to keep in step with the model.
    let tree = serde_json::to_value(catalogue)?;
    let mut found: Vec<Undrawable> = Vec::new();
    let mut texts = Vec::new();
    localized_texts(&tree, String::new(), &languages, &mut texts);
    for (place, text) in texts {
        let mut seen_here = Vec::new();
        for c in text.chars().filter(|c| !fonts.can_draw(*c)) {
            if seen_here.contains(&c) {
                continue;
            }
            seen_here.push(c);
            match found.iter_mut().find(|u| u.character == c) {
                Some(known) => known.uses += 1,
                None => found.push(Undrawable {
                    character: c,
                    place: place.clone(),
                    uses: 1,
                }),
            }
        }
    }
    Ok(found)
}

/// Collects `(place, text)` for every translated text: objects whose keys
/// are all catalogue languages and whose values are strings.
fn localized_texts<'a>(
    value: &'a serde_json::Value,
    place: String,
    languages: &[&str],
    out: &mut Vec<(String, &'a str)>,
) {
    match value {
        serde_json::Value::Object(map)
            if !map.is_empty()
                && map
                    .iter()
                    .all(|(k, v)| languages.contains(&k.as_str()) && v.is_string()) =>
        {
            for (language, text) in map {
                out.extend(text.as_str().map(|t| (format!("{place} ({language})"), t)));
            }
        }
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let place = if place.is_empty() {
                    key.clone()
                } else {
                    format!("{place}.{key}")
                };
                localized_texts(child, place, languages, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let label = child
                    .get("id")
                    .and_then(|id| id.as_str())
                    .map_or_else(|| index.to_string(), str::to_owned);
                localized_texts(child, format!("{place}[{label}]"), languages, out);
            }
        }
        _ => {}
    }
}

/// What an operator should hear about the kiosk's fonts and this catalogue:
/// unreadable font files, and characters no font can draw (the first
/// `limit` of them, then how many more: a catalogue in a script without a
/// font would otherwise fill the journal at every start).
pub fn font_warnings(catalogue: &Catalogue, limit: usize) -> Vec<String> {
    let Some((fonts, problems)) = FontSet::kiosk() else {
        // The system's fonts draw (FONTCONFIG_FILE names another
        // configuration): nothing to check against.
        return Vec::new();
    };
    let mut warnings: Vec<String> = problems.iter().map(ToString::to_string).collect();
    match undrawable_characters(catalogue, &fonts) {
        Ok(undrawable) => {
            warnings.extend(undrawable.iter().take(limit).map(ToString::to_string));
            if undrawable.len() > limit {
                warnings.push(format!(
                    "{} more characters are in none of the kiosk's fonts; `kiosk-app catalogue check` lists them all",
                    undrawable.len() - limit
                ));
            }
        }
        Err(error) => warnings.push(format!(
            "the catalogue's texts could not be checked against the kiosk's fonts ({error}); \
             check the screens in every language by eye"
        )),
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_catalogue::LocalizedText;
    use std::path::PathBuf;

    fn shipped_fonts() -> FontSet {
        let (fonts, problems) = FontSet::load(&[PathBuf::from(kiosk_ui::fonts::SOURCE_FONTS_DIR)]);
        assert!(problems.is_empty(), "{problems:?}");
        fonts
    }

    #[test]
    fn the_shipped_catalogue_draws_with_the_shipped_fonts() {
        let catalogue = Catalogue::embedded_default();
        assert_eq!(
            undrawable_characters(&catalogue, &shipped_fonts()).unwrap(),
            Vec::new()
        );
    }

    #[test]
    fn a_text_in_a_script_without_a_font_is_named_with_its_place() {
        let mut catalogue = Catalogue::embedded_default();
        let service = &mut catalogue.services[0];
        let id = service.id.clone();
        // The Turkish title in Tigrinya, the same letters twice.
        let title = LocalizedText::from_pairs(service.title.iter().map(|(language, text)| {
            match language.code() {
                "tr" => ("tr", "ሰላም ሰላም"),
                code => (code, text),
            }
        }));
        service.title = title;
        catalogue.services[1].pages[0].title = LocalizedText::from_pairs([("de", "ሰ")]);

        let found = undrawable_characters(&catalogue, &shipped_fonts()).unwrap();
        let characters: Vec<char> = found.iter().map(|u| u.character).collect();
        assert_eq!(characters, ['ሰ', 'ላ', 'ም']);
        assert_eq!(found[0].place, format!("services[{id}].title (tr)"));
        assert_eq!(found[0].uses, 2, "the title and the other service's page");
        let message = found[0].to_string();
        assert!(message.starts_with("U+1230 'ሰ' in services["), "{message}");
        assert!(message.contains("and 1 more text(s)"), "{message}");
        assert!(message.contains("/etc/kiosk/fonts"), "{message}");
    }

    #[test]
    fn a_script_without_a_font_is_summed_up_after_ten_characters() {
        // cargo runs the tests with the kiosk's fontconfig (.cargo/config.toml).
        let mut catalogue = Catalogue::embedded_default();
        catalogue.services[0].title =
            LocalizedText::from_pairs([("de", "借书证申请表格请在这里填写您的姓名")]);
        let warnings = font_warnings(&catalogue, 10);
        assert_eq!(warnings.len(), 11, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("U+501F '借' in services["),
            "{}",
            warnings[0]
        );
        assert_eq!(
            warnings[10],
            "6 more characters are in none of the kiosk's fonts; `kiosk-app catalogue check` lists them all"
        );
        assert_eq!(
            font_warnings(&catalogue, usize::MAX).len(),
            16,
            "16 distinct characters"
        );
    }
}
