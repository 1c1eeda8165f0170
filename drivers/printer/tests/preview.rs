//! The preview entry point writes one readable PNG per language and paper width.

use kiosk_printer::render_previews;

#[test]
fn previews_are_written_for_every_language_and_width() {
    let out_dir =
        std::env::temp_dir().join(format!("kiosk-printer-previews-{}", std::process::id()));
    let files = render_previews(&out_dir).unwrap();
    assert_eq!(files.len(), 10);
    for language in ["de", "en", "tr", "ar", "uk"] {
        for (width, dots) in [("58mm", 384), ("80mm", 576)] {
            let path = out_dir.join(format!("receipt-{language}-{width}.png"));
            assert!(files.contains(&path), "{}", path.display());
            let image = image::open(&path).unwrap();
            // Paper width plus the 16-dot grey frame on each side.
            assert_eq!(image.width(), dots + 32, "{}", path.display());
            assert!(image.height() > 600, "{}", path.display());
        }
    }
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn previews_report_an_unwritable_directory() {
    let file = std::env::temp_dir().join(format!("kiosk-printer-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let error = render_previews(&file.join("sub")).unwrap_err();
    assert!(error.to_string().contains("writable"), "{error}");
    std::fs::remove_file(&file).unwrap();
}
