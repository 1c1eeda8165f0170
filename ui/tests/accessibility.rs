//! Colour contrast of both themes (WCAG 2.1 AA, computed) and complete translations.

use kiosk_ui::{Accessibility, KioskUi, contrast_ratio, theme_pairs};

#[test]
fn every_theme_colour_pair_meets_wcag_aa() {
    i_slint_backend_testing::init_no_event_loop();
    let ui = KioskUi::new(|_| {}).unwrap();
    for high_contrast in [false, true] {
        ui.set_accessibility(Accessibility {
            large_text: false,
            high_contrast,
        });
        let pairs = theme_pairs(ui.component());
        assert!(pairs.len() >= 15);
        for (name, fg, bg) in pairs {
            let ratio = contrast_ratio(fg, bg);
            // Lines and focus rings are non-text (WCAG 1.4.11: 3:1); every
            // other pair carries text (1.4.3: 4.5:1). High contrast aims for AAA.
            let needed = if name.starts_with("border") || name.starts_with("focus") {
                3.0
            } else if high_contrast {
                7.0
            } else {
                4.5
            };
            assert!(
                ratio >= needed,
                "{name} in {} theme: {ratio:.2}:1 < {needed}:1",
                if high_contrast {
                    "high-contrast"
                } else {
                    "default"
                }
            );
        }
    }
}

/// Every `@tr` text of the `.slint` files has a non-empty translation in
/// every bundled language, and the `{}` placeholders match. Staff screens
/// (`ui/staff/`) are German and English only: staff never see them in
/// another language (`KioskUi::present_staff`).
#[test]
fn every_ui_text_is_translated_into_every_language() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    let mut stack = vec![root.join("ui")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "slint") {
                let staff = path.parent().is_some_and(|p| p.ends_with("staff"));
                sources.push((staff, std::fs::read_to_string(path).unwrap()));
            }
        }
    }
    let texts = |staff_only: bool| {
        let mut texts: Vec<String> = sources
            .iter()
            .filter(|(staff, _)| *staff == staff_only)
            .flat_map(|(_, s)| {
                s.split("@tr(\"")
                    .skip(1)
                    .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            })
            .collect();
        texts.sort();
        texts.dedup();
        texts
    };
    let (citizen_texts, staff_texts) = (texts(false), texts(true));
    assert!(
        citizen_texts.len() > 60,
        "found only {} texts",
        citizen_texts.len()
    );
    assert!(
        staff_texts.len() > 40,
        "found only {} staff texts",
        staff_texts.len()
    );
    for language in ["en", "tr", "ar", "uk"] {
        let po = std::fs::read_to_string(
            root.join(format!("translations/{language}/LC_MESSAGES/kiosk-ui.po")),
        )
        .unwrap();
        let mut needed = citizen_texts.clone();
        if language == "en" {
            needed.extend(staff_texts.iter().cloned());
        }
        for text in &needed {
            let key = format!("msgid \"{text}\"\nmsgstr \"");
            let at = po
                .find(&key)
                .unwrap_or_else(|| panic!("{language}: no translation for {text:?}"));
            let rest = &po[at + key.len()..];
            let translated = &rest[..rest.find("\"\n").unwrap()];
            assert!(
                !translated.is_empty(),
                "{language}: empty translation for {text:?}"
            );
            assert_eq!(
                translated.matches("{}").count(),
                text.matches("{}").count(),
                "{language}: placeholders differ in {text:?}"
            );
        }
    }
}
