//! Which fonts the UI may draw with: the ones shipped in `ui/fonts/`, and no
//! others.
//!
//! The `.slint` files embed Noto Sans and Noto Sans Arabic, but Slint also
//! loads the system's font collection through fontconfig at start, and
//! falls back to it for any character the first font lacks (Arabic inside a
//! Latin line, Latin digits inside an Arabic one). Left alone, the same
//! screen then looks different on every machine, a host without fonts makes
//! Slint panic at start, and indexing hundreds of system fonts costs more
//! start-up time than drawing the first frame. `fonts/fonts.conf` limits
//! fontconfig to the shipped fonts (and `/etc/kiosk/fonts`, where an
//! operator puts fonts for a catalogue language in another script);
//! [`shipped_fontconfig`] finds it and the binary sets [`FONTCONFIG_FILE`]
//! to it before anything starts.

use std::path::{Path, PathBuf};

/// The environment variable fontconfig reads its configuration file from.
pub const FONTCONFIG_FILE: &str = "FONTCONFIG_FILE";

/// Where the Debian package installs the fonts and their `fonts.conf`.
pub const INSTALLED_FONTS_DIR: &str = "/usr/share/buergerkiosk/fonts";

/// The fonts' directory in the source tree (what `cargo run`, `cargo test`
/// and the demo use: `.cargo/config.toml` points `FONTCONFIG_FILE` there).
pub const SOURCE_FONTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fonts");

/// The `fonts.conf` that limits fontconfig to the shipped fonts: the
/// installed one, else the source tree's (a binary run from `target/`);
/// `None` when neither exists (a binary copied elsewhere: the UI then falls
/// back to the system's fonts for characters its embedded fonts lack).
pub fn shipped_fontconfig() -> Option<PathBuf> {
    [INSTALLED_FONTS_DIR, SOURCE_FONTS_DIR]
        .into_iter()
        .map(|dir| Path::new(dir).join("fonts.conf"))
        .find(|conf| conf.is_file())
}

/// The font files (`.ttf`) in `dir`, sorted by name; empty when `dir`
/// cannot be read.
pub fn font_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "ttf"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_tree_fontconfig_lists_only_the_shipped_and_the_operators_directory() {
        let text = std::fs::read_to_string(Path::new(SOURCE_FONTS_DIR).join("fonts.conf"))
            .expect("ui/fonts/fonts.conf");
        let dirs: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("<dir"))
            .collect();
        assert_eq!(
            dirs,
            [
                "<dir prefix=\"relative\">.</dir>",
                "<dir>/etc/kiosk/fonts</dir>"
            ]
        );
        assert!(
            !text.contains("<include"),
            "no system configuration may be pulled in"
        );
    }

    #[test]
    fn a_fontconfig_is_found_when_the_source_tree_is_there() {
        assert!(shipped_fontconfig().is_some_and(|conf| conf.is_file()));
    }

    #[test]
    fn the_shipped_fonts_are_the_four_noto_files() {
        let names: Vec<String> = font_files(Path::new(SOURCE_FONTS_DIR))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "NotoSans-Bold.ttf",
                "NotoSans-Regular.ttf",
                "NotoSansArabic-Bold.ttf",
                "NotoSansArabic-Regular.ttf"
            ]
        );
    }
}
