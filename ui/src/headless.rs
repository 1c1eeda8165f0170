//! Rendering without a display: the software renderer into a pixel buffer,
//! for screenshots, benchmarks and tests.

use std::rc::Rc;
use std::time::{Duration, Instant};

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType, Rgb565Pixel};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, PlatformError, Rgb8Pixel};

use crate::UiError;

/// A Slint platform with one window that draws into memory.
///
/// Install it with [`HeadlessPlatform::install`] on the thread that creates
/// the UI; it is per thread, like every Slint platform.
pub struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
    start: Instant,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.start.elapsed()
    }
}

/// The headless window, to size and render.
#[derive(Clone)]
pub struct HeadlessWindow {
    window: Rc<MinimalSoftwareWindow>,
}

impl HeadlessPlatform {
    /// Makes the headless platform this thread's Slint platform; every
    /// render draws the whole frame.
    pub fn install() -> Result<HeadlessWindow, UiError> {
        Self::install_with(RepaintBufferType::NewBuffer)
    }

    /// Like [`HeadlessPlatform::install`]; with [`RepaintBufferType::ReusedBuffer`]
    /// a render only redraws what changed since the last one, as a kiosk's
    /// framebuffer does.
    pub fn install_with(repaint: RepaintBufferType) -> Result<HeadlessWindow, UiError> {
        let window = MinimalSoftwareWindow::new(repaint);
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
            start: Instant::now(),
        }))
        .map_err(|e| UiError::Platform(e.to_string()))?;
        Ok(HeadlessWindow { window })
    }
}

impl HeadlessWindow {
    /// Resizes the window (landscape 1920x1080, portrait 1080x1920).
    pub fn set_size(&self, width: u32, height: u32) {
        self.window.set_size(PhysicalSize::new(width, height));
    }

    /// Redraws everything and returns the frame as RGB pixels.
    pub fn render(&self) -> image::RgbImage {
        let size = self.window.size();
        let (width, height) = (size.width as usize, size.height as usize);
        // Drawn straight into the image's bytes: one 6 MB frame, zeroed by the
        // kernel, no second buffer and no copy.
        let mut bytes = vec![0u8; width * height * 3];
        self.draw(bytemuck::cast_slice_mut::<u8, Rgb8Pixel>(&mut bytes), width);
        image::RgbImage::from_raw(width as u32, height as u32, bytes)
            .unwrap_or_else(|| image::RgbImage::new(width as u32, height as u32))
    }

    /// Redraws into a 16-bit buffer as a kiosk framebuffer would (benchmarks).
    /// Keep passing the same buffer: with a reused-buffer platform only the
    /// changed region is drawn.
    pub fn render_rgb565(&self, buffer: &mut Vec<Rgb565Pixel>) {
        let size = self.window.size();
        let (width, height) = (size.width as usize, size.height as usize);
        buffer.resize(width * height, Rgb565Pixel::default());
        self.draw(buffer, width);
    }

    fn draw<P: slint::platform::software_renderer::TargetPixel>(
        &self,
        buffer: &mut [P],
        stride: usize,
    ) {
        slint::platform::update_timers_and_animations();
        self.window.request_redraw();
        self.window.draw_if_needed(|renderer| {
            renderer.render(buffer, stride);
        });
    }
}
