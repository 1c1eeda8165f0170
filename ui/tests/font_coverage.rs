//! Every character the UI can put on screen has a glyph in a shipped font.
//!
//! The kiosk draws only with `ui/fonts/` (see `kiosk_ui::fonts`): a character
//! missing from those files would show as an empty box on every kiosk. This
//! test reads what the screens can show (the translated chrome, the `.slint`
//! sources, the catalogue in all its languages, every keyboard layout, the
//! language names, the Rust-side texts of the eID and staff screens) and looks
//! each character up in the fonts' character maps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiosk_catalogue::{Catalogue, Language};
use kiosk_ui::fonts::FontSet;
use kiosk_ui::keyboard::{KeyboardState, Layout, rows};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The contents of the string literals in `source` (`"..."`, on lines that
/// are not comments). Escapes are dropped: they are ASCII in our sources.
fn string_literals(source: &str) -> Vec<String> {
    let mut literals = Vec::new();
    for line in source.lines() {
        let code = line.trim_start();
        if code.starts_with("//") || code.starts_with("///") || code.starts_with("//!") {
            continue;
        }
        let mut current: Option<String> = None;
        let mut chars = code.chars();
        while let Some(c) = chars.next() {
            match (&mut current, c) {
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(text), '"') => {
                    literals.push(std::mem::take(text));
                    current = None;
                }
                (Some(text), c) => text.push(c),
                (None, '"') => current = Some(String::new()),
                (None, _) => {}
            }
        }
    }
    literals
}

/// `msgstr` texts of a gettext catalogue (single and continued lines).
fn po_translations(po: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut in_msgstr = false;
    for line in po.lines() {
        let line = line.trim();
        if line.starts_with("msgstr") {
            in_msgstr = true;
            texts.extend(string_literals(line));
        } else if in_msgstr && line.starts_with('"') {
            texts.extend(string_literals(line));
        } else {
            in_msgstr = false;
        }
    }
    texts
}

/// Every text the UI can show, keyed by where it comes from.
fn shown_texts() -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let root = manifest_dir();
    for po in files_under(&root.join("translations"), "po") {
        let source = std::fs::read_to_string(&po).unwrap();
        for text in po_translations(&source) {
            texts.push((po.display().to_string(), text));
        }
    }
    for slint in files_under(&root.join("ui"), "slint") {
        let source = std::fs::read_to_string(&slint).unwrap();
        for text in string_literals(&source) {
            texts.push((slint.display().to_string(), text));
        }
    }
    for rust in [
        "eid_view.rs",
        "staff_view.rs",
        "present.rs",
        "form.rs",
        "welcome.rs",
    ] {
        let path = root.join("src").join(rust);
        let source = std::fs::read_to_string(&path).unwrap();
        for text in string_literals(&source) {
            texts.push((path.display().to_string(), text));
        }
    }
    for (name, contents) in Catalogue::embedded_default_files() {
        for line in contents
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
        {
            texts.push((format!("catalogue {name}"), line.to_owned()));
        }
    }
    for code in ["de", "en", "tr", "ar", "uk", "ru", "pl", "fr", "fa"] {
        let language = Language::new(code).unwrap();
        texts.push(("language names".into(), language.native_name().to_owned()));
    }
    for layout in Layout::ALL {
        texts.push(("keyboard layout names".into(), layout.name().to_owned()));
        for shift in [false, true] {
            for symbols in [false, true] {
                let state = KeyboardState {
                    layout,
                    shift,
                    symbols,
                };
                for key in rows(state, true, true).into_iter().flatten() {
                    texts.push((format!("{layout:?} keyboard"), key.label));
                    texts.push((format!("{layout:?} keyboard"), key.text));
                }
            }
        }
    }
    texts
}

#[test]
fn every_character_the_ui_shows_is_in_a_shipped_font() {
    let (fonts, problems) = FontSet::load(&[PathBuf::from(kiosk_ui::fonts::SOURCE_FONTS_DIR)]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(fonts.file_count(), 4, "the four shipped Noto files");
    // The lookup can fail: an emoji is in none of them.
    assert!(!fonts.can_draw('\u{1F600}'));

    let texts = shown_texts();
    assert!(
        texts.len() > 1000,
        "found only {} texts: the sources moved?",
        texts.len()
    );
    let mut checked = 0;
    let mut missing: BTreeMap<char, String> = BTreeMap::new();
    for (origin, text) in &texts {
        for c in text.chars() {
            checked += 1;
            if !fonts.can_draw(c) {
                missing
                    .entry(c)
                    .or_insert_with(|| format!("{origin}: {text:?}"));
            }
        }
    }
    assert!(checked > 10_000, "checked only {checked} characters");
    assert!(
        missing.is_empty(),
        "characters without a glyph in ui/fonts (add a font or change the text):\n{}",
        missing
            .iter()
            .map(|(c, origin)| format!("  U+{:04X} {c:?} in {origin}", *c as u32))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_literal_reader_finds_texts_and_skips_comments() {
    let source = "// \"not shown\"\ntext: @tr(\"Schritt {} von {}\", a); x: \"a\\\"b\";";
    assert_eq!(string_literals(source), ["Schritt {} von {}", "ab"]);
    let po = "msgid \"Ja\"\nmsgstr \"\"\n\"Evet\"\n\nmsgid \"x\"";
    assert_eq!(po_translations(po), ["", "Evet"]);
}
