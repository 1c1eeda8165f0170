//! What the UI tests share: the kiosk's real window on the Slint testing
//! backend, and finding and tapping its elements by accessible label.

// Each test binary uses part of this.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_catalogue::Catalogue;
use kiosk_journey::{Journey, JourneyConfig};
use kiosk_ui::{Clock, EffectHandler, Kiosk, ManualClock};
use slint::{ComponentHandle, LogicalSize};

/// Staff mode without credentials: it never opens.
pub fn staff_without_credentials() -> kiosk_staff::StaffMode {
    kiosk_staff::StaffMode::new(
        kiosk_staff::StaffConfig::default(),
        kiosk_staff::StaffCredentials::default(),
    )
}

/// The kiosk on the shipped catalogue, its window shown at `width` x `height`,
/// its journey and timers on `clock`.
pub fn open_kiosk(
    clock: &ManualClock,
    staff: kiosk_staff::StaffMode,
    effects: Box<dyn EffectHandler>,
    width: f32,
    height: f32,
) -> Kiosk {
    i_slint_backend_testing::init_no_event_loop();
    let catalogue = Arc::new(Catalogue::embedded_default());
    let journey = Journey::new(catalogue, JourneyConfig::default(), clock.now());
    let kiosk = Kiosk::new(journey, staff, Box::new(clock.clone()), effects).unwrap();
    let window = kiosk.ui().component();
    window.window().set_size(LogicalSize::new(width, height));
    window.show().unwrap();
    kiosk
}

/// Lets Slint build the elements that the last change made appear.
pub fn settle() {
    i_slint_backend_testing::mock_elapsed_time(Duration::ZERO);
}

/// The one interactive element with this accessible label (text labels
/// inside buttons are skipped).
pub fn find(kiosk: &Kiosk, label: &str) -> ElementHandle {
    let all: Vec<ElementHandle> =
        ElementHandle::find_by_accessible_label(kiosk.ui().component(), label)
            .filter(|e| e.accessible_role() != Some(AccessibleRole::Text))
            .collect();
    assert_eq!(
        all.len(),
        1,
        "expected one element labelled {label:?}, found {}",
        all.len()
    );
    all.into_iter().next().unwrap()
}

/// Whether anything carries this accessible label.
pub fn exists(kiosk: &Kiosk, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(kiosk.ui().component(), label)
        .next()
        .is_some()
}

/// A real tap in the middle of the element (press, 50 ms, release); the
/// 50 ms pass on the kiosk's clock too.
pub fn tap(kiosk: &Kiosk, clock: &ManualClock, label: &str) {
    find(kiosk, label).mock_single_click(slint::platform::PointerEventButton::Left);
    clock.advance(Duration::from_millis(50));
    settle();
}
