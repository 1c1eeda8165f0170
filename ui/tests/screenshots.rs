//! Headless screenshots of every screen (software renderer, shipped catalogue).

use std::path::PathBuf;
use std::sync::Arc;

use kiosk_catalogue::{Catalogue, Language};
use kiosk_ui::{Accessibility, ORIENTATIONS, SCREENS, ScreenshotSet, THEMES, render_set};

/// A fresh directory of this test process (two test runs at once on a shared
/// target directory must not delete each other's pictures), removed when the
/// test ends unless `KIOSK_UI_KEEP_SCREENSHOTS` is set (to look at them).
struct OutDir(PathBuf);

impl Drop for OutDir {
    fn drop(&mut self) {
        if std::env::var_os("KIOSK_UI_KEEP_SCREENSHOTS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            eprintln!("screenshots kept in {}", self.0.display());
        }
    }
}

fn out_dir(name: &str) -> OutDir {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    OutDir(dir)
}

fn distinct_colours(image: &image::RgbImage) -> usize {
    let mut colours: Vec<[u8; 3]> = image.pixels().step_by(97).map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

/// Every screen in German (both orientations and themes) and in Arabic
/// (landscape); the full set, `render_screenshots`, is the same code with
/// every language and takes a few minutes in a debug build.
#[test]
fn every_screen_renders_in_both_orientations_and_themes() {
    let catalogue = Arc::new(Catalogue::embedded_default());
    let out = out_dir("screenshots");
    let dir = &out.0;
    let german = ScreenshotSet {
        screens: SCREENS.to_vec(),
        languages: vec![Language::german()],
        themes: THEMES[..2].to_vec(),
        orientations: ORIENTATIONS.to_vec(),
    };
    // Staff screens are German or English only, and the out-of-service
    // screen shows every language at once: German covers them.
    let citizens: Vec<&str> = SCREENS
        .iter()
        .copied()
        .filter(|s| !s.starts_with("staff-") || *s == "staff-called")
        .filter(|s| *s != "out-of-service")
        .collect();
    let arabic = ScreenshotSet {
        screens: citizens.clone(),
        languages: vec![Language::new("ar").unwrap()],
        themes: vec![THEMES[0]],
        orientations: vec![ORIENTATIONS[0]],
    };
    // Ukrainian has the longest language name: the portrait header must fit.
    let ukrainian = ScreenshotSet {
        screens: citizens.clone(),
        languages: vec![Language::new("uk").unwrap()],
        themes: vec![THEMES[1]],
        orientations: vec![ORIENTATIONS[1]],
    };
    let mut files = render_set(catalogue.clone(), dir, german).unwrap();
    files.extend(render_set(catalogue.clone(), dir, arabic).unwrap());
    files.extend(render_set(catalogue, dir, ukrainian).unwrap());
    assert_eq!(files.len(), SCREENS.len() * 4 + citizens.len() * 2);
    assert_eq!(citizens.len(), SCREENS.len() - 4);
    for file in &files {
        let image = image::open(file).unwrap().to_rgb8();
        assert!(file.starts_with(dir));
        let (w, h) = image.dimensions();
        assert!((w, h) == (1920, 1080) || (w, h) == (1080, 1920), "{file:?}");
        // Not blank: a real screen has many colours (anti-aliased text).
        assert!(distinct_colours(&image) > 8, "{file:?} looks empty");
    }
    // High contrast really changes the picture: mostly black instead of light.
    let dark = |path: PathBuf| {
        let image = image::open(path).unwrap().to_luma8();
        image.pixels().filter(|p| p.0[0] < 40).count() as f64 / image.pixels().len() as f64
    };
    // Files are numbered by their place in SCREENS.
    let file = |screen: &str| {
        let number = SCREENS.iter().position(|s| *s == screen).unwrap();
        format!("{number:02}-{screen}.png")
    };
    let normal = dark(dir.join("landscape/default/de").join(file("service")));
    let contrast = dark(dir.join("landscape/high-contrast/de").join(file("service")));
    assert!(contrast > 0.5 && normal < 0.3, "{normal} {contrast}");

    // Arabic is mirrored: the primary "next" button (blue) sits at the left
    // of the bottom bar, in German at the right.
    let blue_at = |path: PathBuf| {
        let image = image::open(path).unwrap().to_rgb8();
        let y = image.height() - 60;
        let blue: Vec<u32> = (0..image.width())
            .filter(|&x| image.get_pixel(x, y).0 == [0x0a, 0x57, 0xa8])
            .collect();
        blue.iter().sum::<u32>() as f64 / blue.len().max(1) as f64
    };
    let de = blue_at(dir.join("landscape/default/de").join(file("form-text")));
    let ar = blue_at(dir.join("landscape/default/ar").join(file("form-text")));
    assert!(
        de > 1400.0 && ar < 500.0,
        "next button centre: de {de}, ar {ar}"
    );
}

/// Large text in German and Arabic, both orientations: every citizen screen
/// renders, into `large-text/`. The pictures were checked by eye for
/// clipped or overlapping text (ui/README.md, "Large text").
#[test]
fn large_text_renders_in_german_and_arabic_in_both_orientations() {
    let catalogue = Arc::new(Catalogue::embedded_default());
    let out = out_dir("screenshots-large-text");
    let dir = &out.0;
    let citizens: Vec<&str> = SCREENS
        .iter()
        .copied()
        .filter(|s| !s.starts_with("staff-") && *s != "out-of-service")
        .collect();
    let large = Accessibility {
        large_text: true,
        high_contrast: false,
    };
    let set = ScreenshotSet {
        screens: citizens.clone(),
        languages: vec![Language::german(), Language::new("ar").unwrap()],
        themes: vec![large],
        orientations: ORIENTATIONS.to_vec(),
    };
    let files = render_set(catalogue, dir, set).unwrap();
    assert_eq!(files.len(), citizens.len() * 2 * 2);
    for file in &files {
        assert!(file.to_string_lossy().contains("/large-text/"), "{file:?}");
        let image = image::open(file).unwrap().to_rgb8();
        assert!(distinct_colours(&image) > 8, "{file:?} looks empty");
    }

    // The date being typed (its focus frame) is whole on screen: the page
    // scrolled it into view although large text pushed it below the fold.
    let date = dir.join("landscape/large-text/de/15-form-date.png");
    let image = image::open(&date).unwrap().to_rgb8();
    let focus = image::Rgb([0x0a, 0x57, 0xa8]);
    // The form column only: the numeric pad (its "Fertig" is the same blue)
    // stands at the end side, the bottom bar's "Weiter" further right.
    let rows: Vec<u32> = (120..image.height())
        .filter(|&y| (0..1300).any(|x| *image.get_pixel(x, y) == focus))
        .collect();
    let (top, bottom) = (rows.first().copied(), rows.last().copied());
    let frame_height = bottom.zip(top).map_or(0, |(bottom, top)| bottom - top);
    assert!(
        frame_height >= 90,
        "the focused date field is cut off ({frame_height} px of its frame show, rows {top:?}..{bottom:?})"
    );
}
