//! The kiosk's touchscreen UI, written in Slint and driven by the journey.
//!
//! The screens live in `ui/` (one file per screen in `ui/pages/`, one per
//! control in `ui/widgets/`, a `Theme` global and `XxxAdapter` globals in
//! `ui/adapters.slint`). Rust never touches widgets: [`KioskUi::present`]
//! writes the adapters from the [`kiosk_journey::Journey`]'s state, and the
//! adapters' callbacks come back as [`kiosk_journey::Event`]s.
//!
//! - [`Kiosk`] joins a journey, staff mode ([`kiosk_staff::StaffMode`]), the
//!   UI, a [`Clock`] and an [`EffectHandler`]; [`run_window`] shows it
//!   full-screen with the winit backend. Staff screens (PIN pad, dashboard,
//!   confirmation; German or English) replace the journey's while open; five
//!   quick taps in the attract screen's top corner open the PIN pad, and the
//!   app sends staff card and token reads as [`kiosk_staff::StaffEvent`]s
//!   through [`EventSender::send_staff`]. While the kiosk is out of service,
//!   citizens see a notice in every language and cannot start.
//! - The eID login (online ID card through AusweisApp) has its own screens
//!   inside the identify step (`ui/pages/eid.slint`, written by
//!   `src/eid_view.rs`); the eID crate's message codes are translated there.
//!   The PIN and CAN are typed into a zeroised `DigitBuffer` on the Rust side:
//!   Slint only ever sees how many digits there are.
//! - [`HeadlessPlatform`] renders with the software renderer into memory;
//!   [`render_screenshots`] writes every screen in every language, theme and
//!   orientation as PNG files.
//! - UI chrome texts are Slint bundled translations (`translations/<lang>/
//!   LC_MESSAGES/kiosk-ui.po`, German is the source); form texts come from
//!   the catalogue. Arabic mirrors every layout (`Theme.rtl`).
//! - Fonts (Noto Sans, Noto Sans Arabic; OFL) ship in `fonts/`, embedded
//!   in the binary and, through `fonts/fonts.conf`, the only fonts
//!   fontconfig offers Slint's fallback ([`fonts`]): every kiosk draws the
//!   same glyphs, and start-up does not index the system's fonts.
//! - "Read aloud" speaks the whole screen (heading, instructions, fields with
//!   their values, messages, buttons; never a PIN or CAN digit) in the
//!   citizen's language through a [`Speaker`], by default `espeak-ng`
//!   ([`EspeakSpeaker`]). The text is built in Rust from the journey's state,
//!   with the same translations as the screens.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kiosk_catalogue::Catalogue;
//!
//! let catalogue = Arc::new(Catalogue::embedded_default());
//! let files = kiosk_ui::render_screenshots(catalogue, std::path::Path::new("shots"))?;
//! println!("{} screenshots", files.len());
//! # Ok::<(), kiosk_ui::UiError>(())
//! ```

#![deny(missing_docs)]

mod contrast;
mod driver;
mod eid_view;
pub mod fonts;
mod form;
mod gesture;
mod headless;
pub mod keyboard;
mod present;
mod qr;
mod read_aloud;
mod sample;
mod screenshots;
mod speech;
mod staff_view;
mod welcome;

/// The Rust side of the `.slint` files (generated).
#[allow(
    missing_docs,
    clippy::all,
    clippy::todo,
    clippy::pedantic,
    unused_qualifications
)]
pub mod generated {
    slint::include_modules!();
}

use std::path::PathBuf;

pub use contrast::{contrast_ratio, relative_luminance, theme_pairs};
pub use driver::{
    Clock, EffectHandler, EventSender, Kiosk, KioskEvent, POLL_EVERY, SystemClock, TICK_EVERY,
    run_window,
};
pub use generated::MainWindow;
pub use headless::{HeadlessPlatform, HeadlessWindow};
pub use present::{Accessibility, KioskUi};
pub use screenshots::{
    ManualClock, ORIENTATIONS, SCREENS, ScreenshotSet, THEMES, render_screenshots, render_set,
    stage, theme_name,
};
pub use slint::platform::software_renderer::{RepaintBufferType, Rgb565Pixel};
pub use speech::{EspeakSpeaker, Speaker};

/// What can go wrong in the UI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    /// No Slint platform (no display, or a platform was already set on this thread).
    #[error(
        "the UI could not start: {0}. On a kiosk, check that the display (Wayland/X11 or DRM) is reachable."
    )]
    Platform(String),
    /// A file could not be written.
    #[error("could not write {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// The receipt reference does not fit in a QR code.
    #[error("the QR code could not be made: {0}")]
    QrCode(String),
    /// A screenshot scenario does not fit the catalogue.
    #[error("screenshot scenario: {0}")]
    Screenshot(String),
}
