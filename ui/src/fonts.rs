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

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The environment variable fontconfig reads its configuration file from.
pub const FONTCONFIG_FILE: &str = "FONTCONFIG_FILE";

/// Where the Debian package installs the fonts and their `fonts.conf`.
pub const INSTALLED_FONTS_DIR: &str = "/usr/share/buergerkiosk/fonts";

/// Where an operator puts fonts for a catalogue language in another script
/// (`fonts.conf` lists it after the shipped fonts).
pub const OPERATOR_FONTS_DIR: &str = "/etc/kiosk/fonts";

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

/// The directories the kiosk draws from: the shipped fonts' (next to the
/// `fonts.conf` in use) and [`OPERATOR_FONTS_DIR`]. `None` when fontconfig
/// is not limited to them (`FONTCONFIG_FILE` names another configuration,
/// or no `fonts.conf` is found): the system's fonts are in use then, and
/// what they can draw is not known here.
pub fn font_dirs() -> Option<Vec<PathBuf>> {
    let named = std::env::var_os(FONTCONFIG_FILE).map(PathBuf::from);
    font_dirs_for(named.or_else(shipped_fontconfig).as_deref())
}

fn font_dirs_for(fontconfig: Option<&Path>) -> Option<Vec<PathBuf>> {
    let conf = fontconfig?;
    // The kiosk's own configuration lists the folder it sits in; anything
    // else (e.g. /etc/fonts/fonts.conf) is the system's.
    let text = std::fs::read_to_string(conf).ok()?;
    if !text.contains(r#"<dir prefix="relative">.</dir>"#) {
        return None;
    }
    Some(vec![
        conf.parent()?.to_path_buf(),
        PathBuf::from(OPERATOR_FONTS_DIR),
    ])
}

/// A font file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "font file {path}: {reason}; replace it with a TrueType or OpenType font (.ttf, .otf, .ttc) or remove it"
)]
pub struct FontFileError {
    /// The file.
    pub path: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

/// The characters a set of font files can draw.
#[derive(Clone, Debug, Default)]
pub struct FontSet {
    covered: HashSet<char>,
    files: usize,
}

impl FontSet {
    /// The fonts in `dirs` (`.ttf`, `.otf`, `.ttc`; a missing directory is
    /// empty). Files that are not fonts are skipped and reported.
    pub fn load(dirs: &[PathBuf]) -> (Self, Vec<FontFileError>) {
        let mut set = Self::default();
        let mut problems = Vec::new();
        for path in dirs.iter().flat_map(|dir| font_files(dir)) {
            match std::fs::read(&path) {
                Ok(data) => match set.add(&data) {
                    Ok(()) => set.files += 1,
                    Err(reason) => problems.push(FontFileError { path, reason }),
                },
                Err(error) => problems.push(FontFileError {
                    path,
                    reason: format!("cannot be read ({error})"),
                }),
            }
        }
        (set, problems)
    }

    /// The fonts the kiosk draws with ([`font_dirs`]); `None` when those
    /// are the system's.
    pub fn kiosk() -> Option<(Self, Vec<FontFileError>)> {
        font_dirs().map(|dirs| Self::load(&dirs))
    }

    fn add(&mut self, data: &[u8]) -> Result<(), String> {
        let faces = ttf_parser::fonts_in_collection(data).unwrap_or(1);
        for index in 0..faces {
            let face = ttf_parser::Face::parse(data, index).map_err(|e| e.to_string())?;
            let cmap = face
                .tables()
                .cmap
                .ok_or("it has no character map (cmap table)")?;
            for subtable in cmap.subtables.into_iter().filter(|t| t.is_unicode()) {
                subtable.codepoints(|codepoint| {
                    if subtable.glyph_index(codepoint).is_some_and(|g| g.0 != 0) {
                        self.covered.extend(char::from_u32(codepoint));
                    }
                });
            }
        }
        Ok(())
    }

    /// How many font files were read.
    pub fn file_count(&self) -> usize {
        self.files
    }

    /// Whether `c` can be drawn: a glyph in one of the fonts, or a control
    /// character that steers layout and has no glyph of its own.
    pub fn can_draw(&self, c: char) -> bool {
        is_layout_control(c) || self.covered.contains(&c)
    }
}

/// Characters that steer layout (line breaks, bidi marks) and draw nothing.
fn is_layout_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The font files (`.ttf`, `.otf`, `.ttc`, `.otc`) in `dir` and its
/// sub-folders, as fontconfig finds them, sorted; empty when `dir` cannot
/// be read.
pub fn font_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    // Bounded: a link loop cannot make the walk endless.
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = pending.pop() {
        for path in std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        {
            if path.is_dir() {
                if depth < 8 {
                    pending.push((path, depth + 1));
                }
            } else if path
                .extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| {
                    ["ttf", "otf", "ttc", "otc"].contains(&ext.to_ascii_lowercase().as_str())
                })
            {
                files.push(path);
            }
        }
    }
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
    fn only_the_kiosks_own_fontconfig_names_the_font_folders() {
        let shipped = Path::new(SOURCE_FONTS_DIR).join("fonts.conf");
        assert_eq!(
            font_dirs_for(Some(&shipped)),
            Some(vec![
                PathBuf::from(SOURCE_FONTS_DIR),
                PathBuf::from(OPERATOR_FONTS_DIR)
            ])
        );
        let dir = std::env::temp_dir().join(format!("kiosk-fontconf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let system_like = dir.join("fonts.conf");
        std::fs::write(
            &system_like,
            "<fontconfig><dir>/usr/share/fonts</dir></fontconfig>",
        )
        .unwrap();
        assert_eq!(
            font_dirs_for(Some(&system_like)),
            None,
            "the system's fonts"
        );
        assert_eq!(font_dirs_for(Some(&dir.join("missing.conf"))), None);
        assert_eq!(font_dirs_for(None), None);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn fonts_in_sub_folders_are_found_as_fontconfig_finds_them() {
        let dir = std::env::temp_dir().join(format!("kiosk-fontdirs-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("noto/ethiopic")).unwrap();
        for name in [
            "a.TTF",
            "noto/b.otf",
            "noto/ethiopic/c.otc",
            "noto/readme.txt",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let names: Vec<String> = font_files(&dir)
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(names, ["a.TTF", "noto/b.otf", "noto/ethiopic/c.otc"]);
    }

    #[test]
    fn a_fontconfig_is_found_when_the_source_tree_is_there() {
        assert!(shipped_fontconfig().is_some_and(|conf| conf.is_file()));
    }

    #[test]
    fn the_shipped_fonts_draw_the_shipped_scripts_and_nothing_else() {
        let (fonts, problems) = FontSet::load(&[PathBuf::from(SOURCE_FONTS_DIR)]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(fonts.file_count(), 4);
        for c in [
            'ß', 'İ', 'ğ', 'ї', 'ґ', 'ع', 'ۀ', '€', '–', '\u{a0}', '\n', '\u{200f}',
        ] {
            assert!(fonts.can_draw(c), "{c:?}");
        }
        // Ethiopic (Tigrinya), Devanagari, CJK, emoji: not shipped.
        for c in ['ሰ', 'न', '中', '\u{1F600}'] {
            assert!(!fonts.can_draw(c), "{c:?}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_font_is_reported_and_the_rest_still_load() {
        let dir = std::env::temp_dir().join(format!("kiosk-fonts-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("broken.ttf"), b"this is not a font").unwrap();
        let (fonts, problems) = FontSet::load(&[
            PathBuf::from(SOURCE_FONTS_DIR),
            dir.clone(),
            dir.join("missing"),
        ]);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(fonts.file_count(), 4);
        assert!(fonts.can_draw('ß'));
        assert_eq!(problems.len(), 1);
        let message = problems[0].to_string();
        assert!(message.contains("broken.ttf"), "{message}");
        assert!(
            message.contains("replace it with a TrueType or OpenType font"),
            "{message}"
        );
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
