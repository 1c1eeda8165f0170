//! WCAG 2.1 contrast ratios of the theme's colour pairs.

use slint::{Color, ComponentHandle};

use crate::generated::{MainWindow, Theme};

/// The relative luminance of an sRGB colour (WCAG 2.1, "relative luminance").
pub fn relative_luminance(color: Color) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(color.red()) + 0.7152 * channel(color.green()) + 0.0722 * channel(color.blue())
}

/// The contrast ratio of two colours, from 1 to 21.
pub fn contrast_ratio(a: Color, b: Color) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

/// Every text-on-surface pair the screens use, by name, with its colours in
/// the theme currently selected on `window`.
pub fn theme_pairs(window: &MainWindow) -> Vec<(&'static str, Color, Color)> {
    let t = window.global::<Theme<'_>>();
    let surfaces = [
        ("background", t.get_background()),
        ("surface", t.get_surface()),
    ];
    let mut pairs = Vec::new();
    for (name, surface) in surfaces {
        for (fg_name, fg) in [
            ("text", t.get_text()),
            ("text-muted", t.get_text_muted()),
            ("error", t.get_error()),
            ("primary", t.get_primary()),
            ("border", t.get_border()),
            ("focus", t.get_focus()),
        ] {
            pairs.push((leak_name(fg_name, name), fg, surface));
        }
    }
    pairs.extend([
        ("on-header/header", t.get_on_header(), t.get_header()),
        ("on-primary/primary", t.get_on_primary(), t.get_primary()),
        (
            "on-primary/primary-pressed",
            t.get_on_primary(),
            t.get_primary_pressed(),
        ),
        (
            "on-selected/selected",
            t.get_on_selected(),
            t.get_selected(),
        ),
        ("text/key", t.get_text(), t.get_key()),
        ("error/error-surface", t.get_error(), t.get_error_surface()),
        ("on-staff/staff", t.get_on_staff(), t.get_staff()),
        (
            "text/selected (pressed tile)",
            t.get_on_selected(),
            t.get_selected(),
        ),
        (
            "on-header/primary (checked toggle)",
            t.get_on_primary(),
            t.get_primary(),
        ),
    ]);
    pairs
}

fn leak_name(fg: &'static str, bg: &'static str) -> &'static str {
    match (fg, bg) {
        ("text", "background") => "text/background",
        ("text", _) => "text/surface",
        ("text-muted", "background") => "text-muted/background",
        ("text-muted", _) => "text-muted/surface",
        ("error", "background") => "error/background",
        ("error", _) => "error/surface",
        ("primary", "background") => "primary/background",
        ("primary", _) => "primary/surface",
        ("border", "background") => "border/background",
        ("border", _) => "border/surface",
        ("focus", "background") => "focus/background",
        _ => "focus/surface",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luminance_and_ratio_match_the_wcag_reference_values() {
        let black = Color::from_rgb_u8(0, 0, 0);
        let white = Color::from_rgb_u8(255, 255, 255);
        assert!((contrast_ratio(black, white) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(white, white) - 1.0).abs() < 1e-9);
        // #767676 on white is the well-known 4.54:1 boundary grey.
        let grey = Color::from_rgb_u8(0x76, 0x76, 0x76);
        assert!((contrast_ratio(grey, white) - 4.54).abs() < 0.01);
    }
}
