//! `kiosk-app catalogue check` as a staff member runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn kiosk_app() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kiosk-app"))
}

fn shipped_catalogue() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalogue/default")
}

#[test]
fn the_shipped_catalogue_lists_five_services_in_five_languages() {
    for args in [
        vec!["catalogue", "check"],
        vec!["catalogue", "check", shipped_catalogue().to_str().unwrap()],
    ] {
        let output = kiosk_app().args(&args).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 6, "{stdout}");
        for (line, id) in lines.iter().zip([
            "library-card",
            "residence-certificate",
            "bulky-waste",
            "dog-tax",
            "lost-property",
        ]) {
            assert!(line.starts_with(id), "{line}");
            assert!(line.contains("de,en,tr,ar,uk"), "{line}");
            assert!(line.contains(" fields"), "{line}");
        }
        assert!(lines[5].starts_with("ok: "), "{stdout}");
        assert!(lines[5].contains("5 services in 5 languages"), "{stdout}");
    }
}

#[test]
fn a_broken_catalogue_is_rejected_with_the_precise_error() {
    let dir = copy_of_shipped_catalogue("check");
    std::fs::rename(
        dir.join("services/dog-tax.toml"),
        dir.join("services/hundesteuer.toml"),
    )
    .unwrap();
    // Empty the breed list and set the version, as an editor might by mistake.
    let path = dir.join("services/hundesteuer.toml");
    let mut service: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    service.insert("version".into(), toml::Value::Integer(3));
    let breed = find_field(&mut service, "breed").expect("the dog-tax form has a breed field");
    breed.insert("options".into(), toml::Value::Array(Vec::new()));
    std::fs::write(&path, toml::to_string(&service).unwrap()).unwrap();

    let output = kiosk_app()
        .args(["catalogue", "check"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("services/hundesteuer.toml: service dog-tax v3: field 'dogs.breed': option list is empty")
            || stderr.contains("services/hundesteuer.toml: service dog-tax v3: field 'breed': option list is empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the catalogue was not accepted"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_folder_is_reported_not_panicked() {
    let output = kiosk_app()
        .args(["catalogue", "check", "/nonexistent/kiosk/catalogue"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr
            .starts_with("catalogue.toml: cannot read /nonexistent/kiosk/catalogue/catalogue.toml"),
        "{stderr}"
    );
}

/// The field table with `id` anywhere in a service's pages (also inside groups).
fn find_field<'a>(table: &'a mut toml::Table, id: &str) -> Option<&'a mut toml::Table> {
    let key = if table.contains_key("pages") {
        "pages"
    } else {
        "fields"
    };
    for item in table.get_mut(key)?.as_array_mut()? {
        let item = item.as_table_mut()?;
        if key == "fields" && item.get("id").and_then(toml::Value::as_str) == Some(id) {
            return Some(item);
        }
        if item.contains_key("fields")
            && let Some(found) = find_field(item, id)
        {
            return Some(found);
        }
    }
    None
}

/// A copy of the shipped catalogue in a fresh folder.
fn copy_of_shipped_catalogue(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiosk-app-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("services")).unwrap();
    let shipped = shipped_catalogue();
    std::fs::copy(shipped.join("catalogue.toml"), dir.join("catalogue.toml")).unwrap();
    for entry in std::fs::read_dir(shipped.join("services")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("services").join(entry.file_name())).unwrap();
    }
    dir
}

/// A fontconfig folder with the shipped fonts and `extra` font files, as an
/// operator's `/etc/kiosk/fonts` adds them.
fn fonts_folder(name: &str, extra: &[PathBuf]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiosk-app-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = Path::new(kiosk_ui::fonts::SOURCE_FONTS_DIR);
    for entry in std::fs::read_dir(shipped).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    for font in extra {
        std::fs::copy(font, dir.join(font.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn a_text_the_fonts_cannot_draw_is_named_until_a_font_for_it_is_added() {
    let catalogue = copy_of_shipped_catalogue("glyphs");
    let path = catalogue.join("services/library-card.toml");
    let service = std::fs::read_to_string(&path).unwrap();
    let edited = service.replace(
        "title.tr = \"Kütüphane kartı başvurusu\"",
        "title.tr = \"Kütüphane kartı ╬ başvurusu\"",
    );
    assert_ne!(edited, service, "the Turkish title is where it was");
    std::fs::write(&path, edited).unwrap();

    let shipped_only = fonts_folder("fonts-shipped", &[]);
    let output = kiosk_app()
        .env("FONTCONFIG_FILE", shipped_only.join("fonts.conf"))
        .args(["catalogue", "check"])
        .arg(&catalogue)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "a warning, not a rejection: {stderr}"
    );
    assert_eq!(
        stderr.trim_end(),
        "warning: U+256C '╬' in services[library-card].title (tr) is in none of the kiosk's \
         fonts: citizens see an empty box. Put a font for this script into /etc/kiosk/fonts and \
         restart the kiosk (operations.md, \"Configure\"), or change the text"
    );

    // The printer's device font has box-drawing characters.
    let dejavu = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../drivers/printer/fonts/DejaVuSansMono.ttf");
    let with_dejavu = fonts_folder("fonts-dejavu", &[dejavu]);
    let output = kiosk_app()
        .env("FONTCONFIG_FILE", with_dejavu.join("fonts.conf"))
        .args(["catalogue", "check"])
        .arg(&catalogue)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "", "the added font draws it");

    for dir in [catalogue, shipped_only, with_dejavu] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
