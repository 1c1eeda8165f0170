//! One-bit images: text the printer cannot print as characters, logos, raster QR codes.
//!
//! Text is shaped and laid out by `cosmic-text` (HarfBuzz-compatible shaping through
//! `harfrust`, Unicode bidi and line breaking, font fallback) with only the fonts shipped in
//! `fonts/`, so Arabic is joined and right-to-left and nothing depends on the kiosk's
//! installed fonts. Logos are scaled with `image` and dithered with Floyd–Steinberg.

use cosmic_text::{
    Align as CosmicAlign, Attrs, Buffer, Family, FontSystem, Metrics, Shaping, SwashCache, Weight,
    Wrap,
};

use crate::model::TextDirection;

/// Noto Sans (Latin, Greek, Cyrillic) for raster text.
pub const NOTO_SANS_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
/// Noto Sans bold.
pub const NOTO_SANS_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");
/// Noto Sans Arabic for Arabic raster lines.
pub const NOTO_SANS_ARABIC_REGULAR: &[u8] = include_bytes!("../fonts/NotoSansArabic-Regular.ttf");
/// Noto Sans Arabic bold.
pub const NOTO_SANS_ARABIC_BOLD: &[u8] = include_bytes!("../fonts/NotoSansArabic-Bold.ttf");
/// DejaVu Sans Mono: the virtual printer's device font.
pub const DEJAVU_SANS_MONO: &[u8] = include_bytes!("../fonts/DejaVuSansMono.ttf");
/// DejaVu Sans Mono bold.
pub const DEJAVU_SANS_MONO_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSansMono-Bold.ttf");

/// A black-and-white image, one `bool` per dot (`true` = black).
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    dots: Vec<bool>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Bitmap({}x{}, {} black)",
            self.width,
            self.height,
            self.black_dots()
        )
    }
}

impl Bitmap {
    /// An all-white bitmap.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            dots: vec![false; (width as usize) * (height as usize)],
        }
    }

    /// Index of (x, y) in `dots`, computed in `usize` so large images cannot overflow.
    fn index(&self, x: u32, y: u32) -> usize {
        y as usize * self.width as usize + x as usize
    }

    /// Width in dots.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in dots.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether the dot at (x, y) is black; outside the bitmap is white.
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[self.index(x, y)]
    }

    /// Sets the dot at (x, y); outside the bitmap is ignored.
    pub fn set(&mut self, x: u32, y: u32, black: bool) {
        if x < self.width && y < self.height {
            let index = self.index(x, y);
            self.dots[index] = black;
        }
    }

    /// Blackens the rectangle at (x, y) of `width` x `height` dots (clipped).
    pub fn fill(&mut self, x: u32, y: u32, width: u32, height: u32) {
        let x_end = (x + width).min(self.width);
        for row in y..(y + height).min(self.height) {
            let start = self.index(0, row);
            if x < x_end {
                self.dots[start + x as usize..start + x_end as usize].fill(true);
            }
        }
    }

    /// Number of black dots.
    pub fn black_dots(&self) -> usize {
        self.dots.iter().filter(|dot| **dot).count()
    }

    /// Copies `other` onto this bitmap with its top-left corner at (x, y) (black dots only).
    pub fn draw(&mut self, other: &Bitmap, x: u32, y: u32) {
        let columns = other.width.min(self.width.saturating_sub(x)) as usize;
        let rows = other.height.min(self.height.saturating_sub(y));
        if columns == 0 {
            return;
        }
        for oy in 0..rows {
            let source = other.index(0, oy);
            let target = self.index(x, y + oy);
            for (dot, &black) in self.dots[target..target + columns]
                .iter_mut()
                .zip(&other.dots[source..source + columns])
            {
                *dot |= black;
            }
        }
    }

    /// Bytes per row in ESC/POS raster format (width rounded up to 8 dots).
    pub fn bytes_per_row(&self) -> u32 {
        self.width.div_ceil(8)
    }

    /// Rows packed as `GS v 0` expects: MSB is the leftmost dot, rows top to bottom.
    pub fn to_raster_bytes(&self) -> Vec<u8> {
        let row_bytes = self.bytes_per_row() as usize;
        let mut out = vec![0u8; row_bytes * self.height as usize];
        if self.width == 0 {
            return out;
        }
        for (row, target) in self
            .dots
            .chunks(self.width as usize)
            .zip(out.chunks_mut(row_bytes))
        {
            for (eight, byte) in row.chunks(8).zip(target.iter_mut()) {
                for (bit, &black) in eight.iter().enumerate() {
                    if black {
                        *byte |= 0x80 >> bit;
                    }
                }
            }
        }
        out
    }

    /// The inverse of [`Bitmap::to_raster_bytes`]; `None` if `bytes` is too short.
    pub fn from_raster_bytes(bytes_per_row: u32, height: u32, bytes: &[u8]) -> Option<Self> {
        let needed = (bytes_per_row as usize).checked_mul(height as usize)?;
        if bytes.len() < needed {
            return None;
        }
        let mut bitmap = Bitmap::new(bytes_per_row * 8, height);
        for y in 0..height {
            for x in 0..bytes_per_row * 8 {
                let byte = bytes[y as usize * bytes_per_row as usize + (x / 8) as usize];
                bitmap.set(x, y, byte & (0x80 >> (x % 8)) != 0);
            }
        }
        Some(bitmap)
    }

    /// The rows `from..from + rows` as a new bitmap (clipped to the bitmap).
    pub fn rows(&self, from: u32, rows: u32) -> Bitmap {
        let end = (from + rows).min(self.height);
        let start = from.min(end);
        Bitmap {
            width: self.width,
            height: end - start,
            dots: self.dots[self.index(0, start)..self.index(0, end)].to_vec(),
        }
    }

    /// Scales by whole factors (nearest neighbour), e.g. for double-size device text.
    pub fn scaled(&self, x_factor: u32, y_factor: u32) -> Bitmap {
        let mut out = Bitmap::new(self.width * x_factor, self.height * y_factor);
        for y in 0..out.height {
            for x in 0..out.width {
                out.set(x, y, self.get(x / x_factor, y / y_factor));
            }
        }
        out
    }

    /// Leftmost and rightmost black column, if any dot is black.
    pub fn ink_columns(&self) -> Option<(u32, u32)> {
        let columns = (0..self.width).filter(|&x| (0..self.height).any(|y| self.get(x, y)));
        let mut first_last = None;
        for x in columns {
            first_last = Some(match first_last {
                None => (x, x),
                Some((first, _)) => (first, x),
            });
        }
        first_last
    }

    /// A white-background greyscale image (black dots are 0).
    pub fn to_gray_image(&self) -> image::GrayImage {
        image::GrayImage::from_fn(self.width, self.height, |x, y| {
            image::Luma([if self.get(x, y) { 0 } else { 255 }])
        })
    }
}

/// Floyd–Steinberg error diffusion of a greyscale image to black and white.
pub fn dither_floyd_steinberg(gray: &image::GrayImage) -> Bitmap {
    let (width, height) = gray.dimensions();
    let mut levels: Vec<f32> = gray.pixels().map(|pixel| f32::from(pixel.0[0])).collect();
    let mut bitmap = Bitmap::new(width, height);
    let index = |x: u32, y: u32| y as usize * width as usize + x as usize;
    for y in 0..height {
        for x in 0..width {
            let old = levels[index(x, y)];
            let black = old < 128.0;
            bitmap.set(x, y, black);
            let error = old - if black { 0.0 } else { 255.0 };
            let mut spread = |dx: i64, dy: i64, share: f32| {
                let (nx, ny) = (i64::from(x) + dx, i64::from(y) + dy);
                if nx >= 0 && ny >= 0 && nx < i64::from(width) && ny < i64::from(height) {
                    levels[(ny as usize) * (width as usize) + nx as usize] += error * share;
                }
            };
            spread(1, 0, 7.0 / 16.0);
            spread(-1, 1, 3.0 / 16.0);
            spread(0, 1, 5.0 / 16.0);
            spread(1, 1, 1.0 / 16.0);
        }
    }
    bitmap
}

/// Why a logo could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LogoError {
    /// The bytes are not a PNG image this crate can read.
    #[error("the logo is not a readable PNG image ({0}); export it again as PNG")]
    NotPng(#[source] image::ImageError),
    /// The image has no pixels.
    #[error("the logo PNG is empty (0 pixels); use an image at least 8 pixels wide")]
    Empty,
}

/// Decodes a PNG logo, flattens transparency onto white, scales it to `width_dots` wide
/// (keeping the aspect ratio) and dithers it.
pub fn logo_bitmap(png: &[u8], width_dots: u32) -> Result<Bitmap, LogoError> {
    let decoded = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(LogoError::NotPng)?;
    if decoded.width() == 0 || decoded.height() == 0 || width_dots == 0 {
        return Err(LogoError::Empty);
    }
    let rgba = decoded.to_rgba8();
    let flattened = image::GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let luma = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
        let alpha = f32::from(a) / 255.0;
        image::Luma([(luma * alpha + 255.0 * (1.0 - alpha))
            .round()
            .clamp(0.0, 255.0) as u8])
    });
    let height = ((u64::from(rgba.height()) * u64::from(width_dots)) / u64::from(rgba.width()))
        .clamp(1, 2000) as u32;
    let scaled = image::imageops::resize(
        &flattened,
        width_dots,
        height,
        image::imageops::FilterType::Triangle,
    );
    Ok(dither_floyd_steinberg(&scaled))
}

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Align {
    /// At the start of the line: left for left-to-right, right for right-to-left text.
    #[default]
    Start,
    /// Centred.
    Center,
    /// At the end of the line.
    End,
}

/// How raster text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RasterTextStyle {
    /// Font size in dots.
    pub size: f32,
    /// Bold weight.
    pub bold: bool,
    /// Placement within the line.
    pub align: Align,
}

impl RasterTextStyle {
    /// Body text, about as tall as the printer's font A (24 dots).
    pub fn body() -> Self {
        Self {
            size: 22.0,
            bold: false,
            align: Align::Start,
        }
    }
}

/// One visual line of raster text and the part of the text it shows (`Debug` omits the text,
/// which may be a citizen's name).
#[derive(Clone, PartialEq, Eq)]
pub struct RasterLine {
    /// The logical text shown on this line.
    pub text: String,
    /// The rendered line, full paper width.
    pub bitmap: Bitmap,
}

/// Blank dots left and right of raster text.
const RASTER_MARGIN_DOTS: u32 = 4;

/// Most entries each render cache keeps; beyond that it starts afresh (bounded memory).
const CACHE_ENTRIES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ParagraphKey {
    text: String,
    width: u32,
    size_bits: u32,
    bold: bool,
    align: Align,
    right_to_left: bool,
}

impl std::fmt::Debug for RasterLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RasterLine")
            .field(
                "text",
                &format_args!("<{} chars>", self.text.chars().count()),
            )
            .field("bitmap", &self.bitmap)
            .finish()
    }
}

/// Shapes and draws text into bitmaps with the shipped fonts, and prepares logos.
///
/// Rendered paragraphs and logos are cached: a kiosk prints the same labels, footers and
/// logo on every receipt, so only the values that change (date, reference) cost shaping time.
pub struct TextRasterizer {
    font_system: FontSystem,
    glyph_cache: SwashCache,
    paragraphs: std::collections::HashMap<ParagraphKey, Vec<RasterLine>>,
    widths: std::collections::HashMap<(String, u32, bool), u32>,
    logos: std::collections::HashMap<(u64, u32), Bitmap>,
}

impl std::fmt::Debug for TextRasterizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextRasterizer")
    }
}

/// A process-wide rasterizer, so fonts are parsed and glyphs cached once.
pub fn shared_rasterizer() -> std::sync::MutexGuard<'static, TextRasterizer> {
    static SHARED: std::sync::OnceLock<std::sync::Mutex<TextRasterizer>> =
        std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| std::sync::Mutex::new(TextRasterizer::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for TextRasterizer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextRasterizer {
    /// A rasterizer that knows only the fonts shipped with this crate.
    pub fn new() -> Self {
        let mut database = cosmic_text::fontdb::Database::new();
        for font in [
            NOTO_SANS_REGULAR,
            NOTO_SANS_BOLD,
            NOTO_SANS_ARABIC_REGULAR,
            NOTO_SANS_ARABIC_BOLD,
            DEJAVU_SANS_MONO,
            DEJAVU_SANS_MONO_BOLD,
        ] {
            database.load_font_data(font.to_vec());
        }
        Self {
            font_system: FontSystem::new_with_locale_and_db("en-US".to_owned(), database),
            glyph_cache: SwashCache::new(),
            paragraphs: std::collections::HashMap::new(),
            widths: std::collections::HashMap::new(),
            logos: std::collections::HashMap::new(),
        }
    }

    /// Lays `text` out in lines at most `width` dots wide (word wrap) and renders each line.
    pub fn paragraph(
        &mut self,
        text: &str,
        width: u32,
        style: RasterTextStyle,
        direction: TextDirection,
    ) -> Vec<RasterLine> {
        let key = ParagraphKey {
            text: text.to_owned(),
            width,
            size_bits: style.size.to_bits(),
            bold: style.bold,
            align: style.align,
            right_to_left: direction == TextDirection::RightToLeft,
        };
        if let Some(lines) = self.paragraphs.get(&key) {
            return lines.clone();
        }
        let lines = self.render(text, width, style, direction, "Noto Sans");
        if self.paragraphs.len() >= CACHE_ENTRIES {
            self.paragraphs.clear();
        }
        self.paragraphs.insert(key, lines.clone());
        lines
    }

    /// [`logo_bitmap`], cached by the PNG's content and the width.
    pub fn logo(&mut self, png: &[u8], width_dots: u32) -> Result<Bitmap, LogoError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        png.hash(&mut hasher);
        let key = (hasher.finish(), width_dots);
        if let Some(bitmap) = self.logos.get(&key) {
            return Ok(bitmap.clone());
        }
        let bitmap = logo_bitmap(png, width_dots)?;
        if self.logos.len() >= 8 {
            self.logos.clear();
        }
        self.logos.insert(key, bitmap.clone());
        Ok(bitmap)
    }

    /// Renders text in the virtual printer's monospaced device font, unwrapped, left-aligned.
    pub fn device_text(&mut self, text: &str, bold: bool) -> Bitmap {
        // DejaVu Sans Mono advances 0.602 em: 19.9 dots gives (just under) the 12-dot cells
        // of font A, so a full 48-column line does not run past the paper edge.
        let style = RasterTextStyle {
            size: 19.9,
            bold,
            align: Align::Start,
        };
        let width = (text.chars().count() as u32 + 1) * 13;
        let lines = self.render_unwrapped(text, width, style, "DejaVu Sans Mono", 24.0);
        let mut line = Bitmap::new((text.chars().count() as u32) * 12, 24);
        if let Some(rendered) = lines.into_iter().next() {
            line.draw(&rendered.bitmap, 0, 0);
        }
        line
    }

    /// The width in dots `text` takes on one line in `style`.
    pub fn measure(&mut self, text: &str, style: RasterTextStyle) -> u32 {
        let key = (text.to_owned(), style.size.to_bits(), style.bold);
        if let Some(width) = self.widths.get(&key) {
            return *width;
        }
        let width = self.measure_uncached(text, style);
        if self.widths.len() >= CACHE_ENTRIES {
            self.widths.clear();
        }
        self.widths.insert(key, width);
        width
    }

    fn measure_uncached(&mut self, text: &str, style: RasterTextStyle) -> u32 {
        let mut buffer = self.buffer(text, None, style, "Noto Sans", style.size * 1.35);
        buffer.set_wrap(&mut self.font_system, Wrap::None);
        buffer
            .layout_runs()
            .map(|run| run.line_w.ceil() as u32)
            .max()
            .unwrap_or(0)
    }

    /// Glyph ids after shaping, in visual order (used to check joining).
    #[cfg(test)]
    pub(crate) fn glyph_ids(&mut self, text: &str, style: RasterTextStyle) -> Vec<u16> {
        let buffer = self.buffer(text, None, style, "Noto Sans", style.size * 1.35);
        buffer
            .layout_runs()
            .flat_map(|run| run.glyphs.iter().map(|glyph| glyph.glyph_id))
            .collect()
    }

    fn render(
        &mut self,
        text: &str,
        width: u32,
        style: RasterTextStyle,
        direction: TextDirection,
        family: &'static str,
    ) -> Vec<RasterLine> {
        let line_height = (style.size * 1.35).ceil();
        let align = match (style.align, direction) {
            (Align::Center, _) => Some(CosmicAlign::Center),
            (Align::Start, TextDirection::LeftToRight)
            | (Align::End, TextDirection::RightToLeft) => Some(CosmicAlign::Left),
            (Align::Start, TextDirection::RightToLeft)
            | (Align::End, TextDirection::LeftToRight) => Some(CosmicAlign::Right),
        };
        // A small margin on both sides: glyphs that overhang their advance (Arabic alef,
        // italic-like forms) stay on the paper.
        let inner = width.saturating_sub(2 * RASTER_MARGIN_DOTS).max(1);
        let buffer =
            self.buffer_aligned(text, Some(inner as f32), style, family, line_height, align);
        self.draw_runs(&buffer, width, line_height as u32, RASTER_MARGIN_DOTS)
    }

    fn render_unwrapped(
        &mut self,
        text: &str,
        width: u32,
        style: RasterTextStyle,
        family: &'static str,
        line_height: f32,
    ) -> Vec<RasterLine> {
        let mut buffer = self.buffer(text, Some(width as f32), style, family, line_height);
        buffer.set_wrap(&mut self.font_system, Wrap::None);
        self.draw_runs(&buffer, width, line_height as u32, 0)
    }

    fn buffer(
        &mut self,
        text: &str,
        width: Option<f32>,
        style: RasterTextStyle,
        family: &'static str,
        line_height: f32,
    ) -> Buffer {
        self.buffer_aligned(
            text,
            width,
            style,
            family,
            line_height,
            Some(CosmicAlign::Left),
        )
    }

    fn buffer_aligned(
        &mut self,
        text: &str,
        width: Option<f32>,
        style: RasterTextStyle,
        family: &'static str,
        line_height: f32,
        align: Option<CosmicAlign>,
    ) -> Buffer {
        let mut buffer = Buffer::new(&mut self.font_system, Metrics::new(style.size, line_height));
        buffer.set_size(&mut self.font_system, width, None);
        buffer.set_wrap(&mut self.font_system, Wrap::WordOrGlyph);
        let attrs = Attrs::new()
            .family(Family::Name(family))
            .weight(if style.bold {
                Weight::BOLD
            } else {
                Weight::NORMAL
            });
        buffer.set_text(
            &mut self.font_system,
            text,
            &attrs,
            Shaping::Advanced,
            align,
        );
        buffer.shape_until_scroll(&mut self.font_system, false);
        buffer
    }

    fn draw_runs(
        &mut self,
        buffer: &Buffer,
        width: u32,
        line_height: u32,
        x_offset: u32,
    ) -> Vec<RasterLine> {
        let mut lines = Vec::new();
        for run in buffer.layout_runs() {
            let mut bitmap = Bitmap::new(width, line_height);
            let (mut first, mut last) = (usize::MAX, 0);
            for glyph in run.glyphs {
                first = first.min(glyph.start);
                last = last.max(glyph.end);
                let physical = glyph.physical((0.0, 0.0), 1.0);
                let top = run.line_y - run.line_top;
                self.glyph_cache.with_pixels(
                    &mut self.font_system,
                    physical.cache_key,
                    cosmic_text::Color::rgb(0, 0, 0),
                    |x, y, color| {
                        let (px, py) = (
                            x_offset as i32 + physical.x + x,
                            top as i32 + physical.y + y,
                        );
                        if color.a() >= 110 && px >= 0 && py >= 0 {
                            bitmap.set(px as u32, py as u32, true);
                        }
                    },
                );
            }
            let text = if first <= last && last <= run.text.len() {
                run.text
                    .get(first..last)
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            } else {
                String::new()
            };
            lines.push(RasterLine { text, bitmap });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_bytes_round_trip() {
        let mut bitmap = Bitmap::new(13, 3);
        bitmap.set(0, 0, true);
        bitmap.set(12, 2, true);
        bitmap.set(7, 1, true);
        let bytes = bitmap.to_raster_bytes();
        assert_eq!(bytes.len(), 6);
        assert_eq!(bytes[0], 0x80);
        let back = Bitmap::from_raster_bytes(2, 3, &bytes).unwrap();
        for (x, y) in [(0, 0), (12, 2), (7, 1)] {
            assert!(back.get(x, y));
        }
        assert_eq!(back.black_dots(), 3);
    }

    #[test]
    fn drawing_outside_the_bitmap_is_clipped() {
        let mut page = Bitmap::new(16, 4);
        let mut stamp = Bitmap::new(8, 8);
        stamp.fill(0, 0, 8, 8);
        page.draw(&stamp, 12, 2);
        page.draw(&stamp, 40, 40);
        page.draw(&stamp, 16, 0);
        assert_eq!(page.black_dots(), 4 * 2);
    }

    #[test]
    fn dithering_keeps_mid_grey_at_about_half_black() {
        let gray = image::GrayImage::from_pixel(64, 64, image::Luma([128]));
        let bitmap = dither_floyd_steinberg(&gray);
        let share = bitmap.black_dots() as f64 / (64.0 * 64.0);
        assert!((0.45..0.55).contains(&share), "black share {share}");
    }

    #[test]
    fn arabic_is_right_aligned_and_joined() {
        let mut rasterizer = TextRasterizer::new();
        let lines = rasterizer.paragraph(
            "شكرا",
            576,
            RasterTextStyle::body(),
            TextDirection::RightToLeft,
        );
        assert_eq!(lines.len(), 1);
        let (left, right) = lines[0].bitmap.ink_columns().expect("ink");
        assert!(right > 540, "right-aligned, ink ends at {right}");
        assert!(left > 400);
        // Shaping picks the medial form of KAF inside the word, not the isolated one.
        let isolated = rasterizer.glyph_ids("ك", RasterTextStyle::body());
        let in_word = rasterizer.glyph_ids("شكرا", RasterTextStyle::body());
        assert_eq!(isolated.len(), 1);
        assert_eq!(in_word.len(), 4);
        assert!(
            !in_word.contains(&isolated[0]),
            "{in_word:?} vs {isolated:?}"
        );
    }

    #[test]
    fn long_text_wraps_on_words() {
        let mut rasterizer = TextRasterizer::new();
        let text = "سيتم إرسال الشهادة إليك بالبريد خلال ثلاثة أيام عمل بعد معالجة الطلب";
        let lines = rasterizer.paragraph(
            text,
            384,
            RasterTextStyle::body(),
            TextDirection::RightToLeft,
        );
        assert!(lines.len() >= 2);
        let rejoined: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(rejoined.join(" "), text);
    }
}
