//! The receipt reference as a QR code image, for when the printer cannot print.

use qrcode::{Color, EcLevel, QrCode};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

use crate::UiError;

/// Pixels per module: big enough to stay sharp when scaled to ~400 px.
const MODULE: usize = 8;
/// The quiet zone around the code, in modules (the standard asks for 4).
const QUIET: usize = 4;

/// A black-on-white QR code of `text`.
pub(crate) fn image(text: &str) -> Result<Image, UiError> {
    let pixels = pixels(text)?;
    Ok(Image::from_rgb8(pixels))
}

fn pixels(text: &str) -> Result<SharedPixelBuffer<Rgb8Pixel>, UiError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| UiError::QrCode(e.to_string()))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * MODULE;
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let white = Rgb8Pixel::new(255, 255, 255);
    let black = Rgb8Pixel::new(0, 0, 0);
    let data = buffer.make_mut_slice();
    for (i, pixel) in data.iter_mut().enumerate() {
        let (x, y) = (i % side / MODULE, i / side / MODULE);
        let dark = x >= QUIET
            && y >= QUIET
            && x - QUIET < modules
            && y - QUIET < modules
            && colors[(y - QUIET) * modules + (x - QUIET)] == Color::Dark;
        *pixel = if dark { black } else { white };
    }
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_code_has_a_white_quiet_zone_and_dark_finder_pattern() {
        let buffer = pixels("K-2026-ABCD-1234").unwrap();
        let side = buffer.width() as usize;
        assert_eq!(side % MODULE, 0);
        let at = |x: usize, y: usize| buffer.as_slice()[y * side + x];
        // Quiet zone is white; the top-left finder pattern starts dark right after it.
        assert_eq!(at(0, 0), Rgb8Pixel::new(255, 255, 255));
        let start = QUIET * MODULE;
        assert_eq!(at(start, start), Rgb8Pixel::new(0, 0, 0));
        assert_eq!(
            at(start + MODULE, start + MODULE),
            Rgb8Pixel::new(255, 255, 255)
        );
    }
}
