//! The touch and display screens on Slint's software renderer (no display here): taps and
//! keys go in as window events, pixels come out of a memory buffer.

use std::rc::Rc;
use std::time::{Duration, Instant};

use kiosk_hwtest::screens::{DisplayScreen, TouchScreen};
use kiosk_hwtest::text::{EndCause, Fact, Reason};
use kiosk_hwtest::{Lang, Verdict};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, PointerEventButton, WindowAdapter, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, PhysicalSize, PlatformError, Rgb8Pixel};

const WIDTH: u32 = 800;
const HEIGHT: u32 = 480;

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    start: Instant,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Installs the software renderer as this test thread's Slint platform.
fn headless() -> Rc<MinimalSoftwareWindow> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
        start: Instant::now(),
    }))
    .expect("a fresh test thread has no Slint platform yet");
    window
}

fn render(window: &MinimalSoftwareWindow) -> Vec<Rgb8Pixel> {
    let mut buffer = vec![Rgb8Pixel::new(0, 0, 0); (WIDTH * HEIGHT) as usize];
    slint::platform::update_timers_and_animations();
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut buffer, WIDTH as usize);
    });
    buffer
}

fn pixel(buffer: &[Rgb8Pixel], x: u32, y: u32) -> (u8, u8, u8) {
    let p = buffer[(y * WIDTH + x) as usize];
    (p.r, p.g, p.b)
}

fn tap(window: &slint::Window, x: f32, y: f32) {
    let position = LogicalPosition::new(x, y);
    window.dispatch_event(WindowEvent::PointerPressed {
        position,
        button: PointerEventButton::Left,
    });
    window.dispatch_event(WindowEvent::PointerReleased {
        position,
        button: PointerEventButton::Left,
    });
}

fn escape(window: &slint::Window) {
    let key: slint::SharedString = slint::platform::Key::Escape.into();
    window.dispatch_event(WindowEvent::KeyPressed { text: key.clone() });
    window.dispatch_event(WindowEvent::KeyReleased { text: key });
}

const GREEN: (u8, u8, u8) = (0x1e, 0x8a, 0x3c);
const GREY: (u8, u8, u8) = (0x2a, 0x30, 0x38);

#[test]
fn touch_grid_finds_the_cells_that_never_reacted() {
    let window = headless();
    window.set_size(PhysicalSize::new(WIDTH, HEIGHT));
    let screen = TouchScreen::new(4, 3, Lang::En).unwrap();
    screen.component().show().unwrap();
    let slint_window = screen.component().window();
    let (cell_w, cell_h) = (WIDTH as f32 / 4.0, HEIGHT as f32 / 3.0);
    // Every cell but the two top-right ones: a dead strip along the right edge.
    for row in 0..3 {
        for column in 0..4 {
            if column == 3 && row < 2 {
                continue;
            }
            tap(
                slint_window,
                (column as f32 + 0.3) * cell_w,
                (row as f32 + 0.3) * cell_h,
            );
        }
    }
    let frame = render(&window);
    // A corner of each cell, away from the centred hint text and the borders.
    let probe = |column: u32, row: u32| pixel(&frame, column * 200 + 20, row * 160 + 20);
    assert_eq!(probe(0, 0), GREEN, "touched cells turn green");
    assert_eq!(probe(3, 2), GREEN);
    assert_eq!(probe(3, 0), GREY, "untouched cells stay grey");
    assert_eq!(probe(3, 1), GREY);
    assert_eq!(screen.grid().untouched(), 2);

    let outcome = screen.outcome(Duration::from_secs(90));
    assert_eq!(outcome.verdict, Verdict::Fail);
    assert_eq!(
        outcome.reason,
        Reason::TouchIncomplete {
            untapped: 2,
            total: 12,
            zones: 1,
            end: EndCause::Timeout(Duration::from_secs(90)),
        }
    );
    let zone = outcome
        .facts
        .iter()
        .find_map(|fact| match fact {
            Fact::DeadZone(zone) => Some(*zone),
            _ => None,
        })
        .expect("a dead zone fact");
    assert_eq!(
        zone.text(Lang::En),
        "2 cells top right (column 4, rows 1–2; x 75–100 %, y 0–66 %)"
    );
    assert_eq!(
        zone.text(Lang::De),
        "2 Felder oben rechts (Spalte 4, Zeilen 1–2; x 75–100 %, y 0–66 %)"
    );
    assert_eq!(
        outcome.reason.text(Lang::De),
        "2 von 12 Feldern haben nicht reagiert (1 Totzone(n); Zeit abgelaufen (1 min 30 s)). \
         Sind die Bereiche verschmutzt oder ist der Touch-Rahmen defekt?"
    );

    // The technician taps the rest: the test passes and further input is ignored.
    tap(slint_window, 3.5 * cell_w, 0.5 * cell_h);
    tap(slint_window, 3.5 * cell_w, 1.5 * cell_h);
    let outcome = screen.outcome(Duration::from_secs(90));
    assert_eq!(outcome.verdict, Verdict::Pass);
    assert_eq!(outcome.reason, Reason::AllCellsTapped { cells: 12 });
    assert_eq!(
        outcome.reason.text(Lang::En),
        "All 12 cells reacted to touch."
    );
    let frame = render(&window);
    assert_eq!(pixel(&frame, 3 * 200 + 20, 20), GREEN);
}

#[test]
fn escape_cancels_the_touch_test() {
    let window = headless();
    window.set_size(PhysicalSize::new(WIDTH, HEIGHT));
    let screen = TouchScreen::new(8, 5, Lang::De).unwrap();
    screen.component().show().unwrap();
    tap(screen.component().window(), 10.0, 10.0);
    escape(screen.component().window());
    let outcome = screen.outcome(Duration::from_secs(90));
    assert_eq!(outcome.verdict, Verdict::Fail);
    let Reason::TouchIncomplete { untapped, end, .. } = outcome.reason else {
        panic!("{outcome:?}");
    };
    assert_eq!((untapped, end), (39, EndCause::Cancelled));
    // Taps after cancelling do not count.
    tap(screen.component().window(), 790.0, 470.0);
    assert_eq!(screen.grid().untouched(), 39);
}

#[test]
fn display_shows_each_pattern_and_takes_the_answer_on_screen() {
    let window = headless();
    window.set_size(PhysicalSize::new(WIDTH, HEIGHT));
    let screen = DisplayScreen::new(Lang::En).unwrap();
    screen.component().show().unwrap();
    let slint_window = screen.component().window();

    // Colour bars: white, yellow, cyan, green, magenta, red, blue, black.
    let frame = render(&window);
    let bars = [
        (255, 255, 255),
        (255, 255, 0),
        (0, 255, 255),
        (0, 255, 0),
        (255, 0, 255),
        (255, 0, 0),
        (0, 0, 255),
        (0, 0, 0),
    ];
    for (index, colour) in bars.into_iter().enumerate() {
        assert_eq!(
            pixel(&frame, index as u32 * 100 + 50, 100),
            colour,
            "bar {index}"
        );
    }

    tap(slint_window, 400.0, 100.0);
    let frame = render(&window);
    let (left, middle, right) = (
        pixel(&frame, 2, 240).0,
        pixel(&frame, 400, 240).0,
        pixel(&frame, 797, 240).0,
    );
    assert!(
        left < 10 && right > 245 && (100..156).contains(&middle),
        "grey ramp {left} {middle} {right}"
    );

    tap(slint_window, 400.0, 100.0);
    let frame = render(&window);
    let red = pixel(&frame, 797, 80);
    let green = pixel(&frame, 797, 240);
    let blue = pixel(&frame, 797, 400);
    assert!(red.0 > 245 && red.1 < 10 && red.2 < 10, "red ramp {red:?}");
    assert!(green.1 > 245 && green.0 < 10, "green ramp {green:?}");
    assert!(blue.2 > 245 && blue.0 < 10, "blue ramp {blue:?}");
    assert!(pixel(&frame, 2, 80).0 < 10, "ramps start black");

    tap(slint_window, 400.0, 100.0);
    let frame = render(&window);
    assert!(
        frame.iter().all(|p| (p.r, p.g, p.b) == (0, 0, 0)),
        "all black"
    );

    tap(slint_window, 400.0, 100.0);
    let frame = render(&window);
    assert!(
        frame.iter().all(|p| (p.r, p.g, p.b) == (255, 255, 255)),
        "all white"
    );

    // The question: nothing answered yet is "no answer" when the time is up.
    tap(slint_window, 400.0, 100.0);
    assert_eq!(
        screen.outcome(Duration::from_secs(120)).reason,
        Reason::NoAnswer {
            timeout: Duration::from_secs(120)
        }
    );
    // Tapping the question's background does not answer it.
    tap(slint_window, 400.0, 20.0);
    assert_eq!(
        screen.outcome(Duration::from_secs(120)).verdict,
        Verdict::Fail
    );
    tap(slint_window, 0.25 * WIDTH as f32, 0.7 * HEIGHT as f32);
    let outcome = screen.outcome(Duration::from_secs(120));
    assert_eq!(outcome.verdict, Verdict::Pass);
    assert_eq!(outcome.reason, Reason::DisplayConfirmed);
    assert_eq!(
        outcome.reason.text(Lang::En),
        "The technician confirmed colour bars, gradients, black and white as flawless."
    );
}

#[test]
fn a_reported_display_fault_and_escape_fail() {
    let window = headless();
    window.set_size(PhysicalSize::new(WIDTH, HEIGHT));
    let screen = DisplayScreen::new(Lang::De).unwrap();
    screen.component().show().unwrap();
    for _ in 0..5 {
        tap(screen.component().window(), 400.0, 100.0);
    }
    tap(
        screen.component().window(),
        0.75 * WIDTH as f32,
        0.7 * HEIGHT as f32,
    );
    let outcome = screen.outcome(Duration::from_secs(120));
    assert_eq!(outcome.reason, Reason::DisplayFaultReported);
    assert!(
        outcome
            .reason
            .text(Lang::De)
            .contains("Anzeigefehler gemeldet")
    );
    drop(screen);

    let cancelled = DisplayScreen::new(Lang::De).unwrap();
    cancelled.component().show().unwrap();
    escape(cancelled.component().window());
    assert_eq!(
        cancelled.outcome(Duration::from_secs(120)).reason,
        Reason::Cancelled
    );
}
