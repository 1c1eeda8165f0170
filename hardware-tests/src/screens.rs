//! The two full-screen Slint tests: a touch grid that records taps, and display test
//! patterns (colour bars, gradients, black, white) with an on-screen question.
//!
//! The screens only show state and report input; which cells are dead is decided in
//! [`crate::touch`]. They run on whatever Slint platform the thread has: the kiosk's
//! windowing system for technicians, the software renderer into memory in the tests.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use slint::{ComponentHandle, Model, ModelRc, PlatformError, VecModel};

use crate::check::Outcome;
use crate::lang::Lang;
use crate::text::{EndCause, Fact, Reason};
use crate::touch::TouchGrid;

/// The Rust side of the Slint components (generated).
#[allow(
    missing_docs,
    clippy::all,
    clippy::todo,
    clippy::pedantic,
    unused_qualifications
)]
pub mod generated {
    slint::slint! {
        export component TouchWindow inherits Window {
            in property <int> columns: 8;
            in property <int> rows: 5;
            in property <[bool]> touched;
            in property <string> hint;
            callback tapped(float, float, float, float);
            callback cancel();
            title: "kiosk-hwtest touch";
            no-frame: true;
            background: #101418;
            forward-focus: keys;

            keys := FocusScope {
                key-pressed(event) => {
                    if (event.text == Key.Escape) {
                        root.cancel();
                        return accept;
                    }
                    reject
                }
            }
            for cell[index] in root.touched: Rectangle {
                x: Math.mod(index, root.columns) * root.width / root.columns;
                y: Math.floor(index / root.columns) * root.height / root.rows;
                width: root.width / root.columns;
                height: root.height / root.rows;
                background: cell ? #1e8a3c : #2a3038;
                border-width: 2px;
                border-color: #6c7682;
            }
            Text {
                width: root.width;
                height: root.height;
                text: root.hint;
                color: #ffffff;
                font-size: 28px;
                wrap: word-wrap;
                horizontal-alignment: center;
                vertical-alignment: center;
            }
            TouchArea {
                width: root.width;
                height: root.height;
                pointer-event(event) => {
                    if (event.kind == PointerEventKind.down) {
                        root.tapped(self.mouse-x / 1px, self.mouse-y / 1px,
                            self.width / 1px, self.height / 1px);
                    }
                }
            }
        }

        export component DisplayWindow inherits Window {
            // 0 colour bars, 1 grey ramp, 2 red/green/blue ramps, 3 black, 4 white,
            // 5 the question.
            in property <int> pattern: 0;
            in property <string> hint;
            in property <string> question;
            in property <string> ok-label;
            in property <string> fault-label;
            callback advance();
            callback answered(bool);
            callback cancel();
            title: "kiosk-hwtest display";
            no-frame: true;
            background: #000000;
            forward-focus: keys;

            keys := FocusScope {
                key-pressed(event) => {
                    if (event.text == Key.Escape) {
                        root.cancel();
                        return accept;
                    }
                    if (root.pattern < 5 && (event.text == " " || event.text == Key.RightArrow
                            || event.text == Key.Return)) {
                        root.advance();
                        return accept;
                    }
                    reject
                }
            }
            if root.pattern == 0: HorizontalLayout {
                spacing: 0;
                for colour in [#ffffff, #ffff00, #00ffff, #00ff00, #ff00ff, #ff0000, #0000ff,
                        #000000]: Rectangle {
                    background: colour;
                }
            }
            if root.pattern == 1: Rectangle {
                background: @linear-gradient(90deg, #000000 0%, #ffffff 100%);
            }
            if root.pattern == 2: VerticalLayout {
                spacing: 0;
                Rectangle { background: @linear-gradient(90deg, #000000 0%, #ff0000 100%); }
                Rectangle { background: @linear-gradient(90deg, #000000 0%, #00ff00 100%); }
                Rectangle { background: @linear-gradient(90deg, #000000 0%, #0000ff 100%); }
            }
            if root.pattern == 3: Rectangle { background: #000000; }
            if root.pattern == 4: Rectangle { background: #ffffff; }
            if root.pattern == 0: Rectangle {
                x: root.width * 10%;
                y: root.height * 80%;
                width: root.width * 80%;
                height: root.height * 12%;
                background: #000000c0;
                Text {
                    width: parent.width;
                    height: parent.height;
                    text: root.hint;
                    color: #ffffff;
                    font-size: 22px;
                    wrap: word-wrap;
                    horizontal-alignment: center;
                    vertical-alignment: center;
                }
            }
            if root.pattern < 5: TouchArea {
                width: root.width;
                height: root.height;
                clicked => { root.advance(); }
            }
            if root.pattern == 5: Rectangle {
                width: root.width;
                height: root.height;
                background: #202428;
                Text {
                    x: root.width * 5%;
                    y: root.height * 8%;
                    width: root.width * 90%;
                    height: root.height * 36%;
                    text: root.question;
                    color: #ffffff;
                    font-size: 28px;
                    wrap: word-wrap;
                    horizontal-alignment: center;
                    vertical-alignment: center;
                }
                Rectangle {
                    x: root.width * 5%;
                    y: root.height * 50%;
                    width: root.width * 40%;
                    height: root.height * 40%;
                    background: #1e8a3c;
                    border-radius: 12px;
                    Text {
                        width: parent.width;
                        height: parent.height;
                        text: root.ok-label;
                        color: #ffffff;
                        font-size: 32px;
                        wrap: word-wrap;
                        horizontal-alignment: center;
                        vertical-alignment: center;
                    }
                    TouchArea { clicked => { root.answered(true); } }
                }
                Rectangle {
                    x: root.width * 55%;
                    y: root.height * 50%;
                    width: root.width * 40%;
                    height: root.height * 40%;
                    background: #b3261e;
                    border-radius: 12px;
                    Text {
                        width: parent.width;
                        height: parent.height;
                        text: root.fault-label;
                        color: #ffffff;
                        font-size: 32px;
                        wrap: word-wrap;
                        horizontal-alignment: center;
                        vertical-alignment: center;
                    }
                    TouchArea { clicked => { root.answered(false); } }
                }
            }
        }
    }
}

pub use generated::{DisplayWindow, TouchWindow};

/// How a screen test stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Running,
    Done,
    Cancelled,
}

fn touch_hint(lang: Lang, remaining: usize) -> String {
    match lang {
        Lang::De => format!(
            "Tippen Sie auf jedes Feld, bis alle grün sind (noch {remaining}).\nEsc bricht ab."
        ),
        Lang::En => {
            format!("Tap every cell until all of them are green ({remaining} left).\nEsc cancels.")
        }
    }
}

/// The touch test screen and its grid.
pub struct TouchScreen {
    window: TouchWindow,
    grid: Rc<RefCell<TouchGrid>>,
    progress: Rc<Cell<Progress>>,
}

impl TouchScreen {
    /// Creates the screen on the thread's Slint platform.
    pub fn new(columns: usize, rows: usize, lang: Lang) -> Result<Self, PlatformError> {
        let grid = TouchGrid::new(columns, rows)
            .map_err(|error| PlatformError::Other(error.to_string()))?;
        let window = TouchWindow::new()?;
        let cells = Rc::new(VecModel::from(vec![false; grid.cells()]));
        window.set_columns(columns as i32);
        window.set_rows(rows as i32);
        window.set_touched(ModelRc::from(cells.clone()));
        window.set_hint(touch_hint(lang, grid.cells()).into());
        let grid = Rc::new(RefCell::new(grid));
        let progress = Rc::new(Cell::new(Progress::Running));
        {
            let grid = Rc::clone(&grid);
            let progress = Rc::clone(&progress);
            let handle = window.as_weak();
            window.on_tapped(move |x, y, width, height| {
                if progress.get() != Progress::Running {
                    return;
                }
                let mut grid = grid.borrow_mut();
                if let Some(cell) = grid.tap(x, y, width, height)
                    && cells.row_data(cell) == Some(false)
                {
                    cells.set_row_data(cell, true);
                }
                if let Some(window) = handle.upgrade() {
                    window.set_hint(touch_hint(lang, grid.untouched()).into());
                }
                if grid.complete() {
                    progress.set(Progress::Done);
                    // Without an event loop (tests) there is nothing to quit.
                    let _ = slint::quit_event_loop();
                }
            });
        }
        {
            let progress = Rc::clone(&progress);
            window.on_cancel(move || {
                if progress.get() == Progress::Running {
                    progress.set(Progress::Cancelled);
                }
                let _ = slint::quit_event_loop();
            });
        }
        Ok(Self {
            window,
            grid,
            progress,
        })
    }

    /// The Slint component (to show it, or to send it events in tests).
    pub fn component(&self) -> &TouchWindow {
        &self.window
    }

    /// The grid as it stands.
    pub fn grid(&self) -> TouchGrid {
        self.grid.borrow().clone()
    }

    /// The verdict; a test that is still running when asked ran out of `timeout`.
    pub fn outcome(&self, timeout: Duration) -> Outcome {
        let grid = self.grid.borrow();
        let facts = [
            Fact::Grid {
                columns: grid.columns(),
                rows: grid.rows(),
            },
            Fact::Taps(grid.taps()),
        ];
        if grid.complete() {
            return Outcome::pass(Reason::AllCellsTapped {
                cells: grid.cells(),
            })
            .with_facts(facts);
        }
        let zones = grid.dead_zones();
        let end = match self.progress.get() {
            Progress::Cancelled => EndCause::Cancelled,
            _ => EndCause::Timeout(timeout),
        };
        Outcome::fail(Reason::TouchIncomplete {
            untapped: grid.untouched(),
            total: grid.cells(),
            zones: zones.len(),
            end,
        })
        .with_facts(facts)
        .with_facts(zones.into_iter().map(Fact::DeadZone))
    }
}

/// Number of test patterns before the question.
pub const PATTERNS: i32 = 5;

/// The display test screen.
pub struct DisplayScreen {
    window: DisplayWindow,
    answer: Rc<Cell<Option<bool>>>,
    progress: Rc<Cell<Progress>>,
}

impl DisplayScreen {
    /// Creates the screen on the thread's Slint platform.
    pub fn new(lang: Lang) -> Result<Self, PlatformError> {
        let window = DisplayWindow::new()?;
        window.set_hint(
            lang.pick(
                "Farbbalken, Verläufe, Schwarz, Weiß: auf jedem Bild auf Farbfehler, Streifen \
                 und Pixelfehler achten. Tippen für das nächste Bild, Esc bricht ab.",
                "Colour bars, gradients, black, white: look for wrong colours, stripes and \
                 dead pixels on each. Tap for the next pattern, Esc cancels.",
            )
            .into(),
        );
        window.set_question(
            lang.pick(
                "Waren alle Bilder fehlerfrei? Farben richtig, Verläufe gleichmäßig ohne \
                 Stufen, keine hellen oder dunklen Punkte auf Schwarz und Weiß?",
                "Were all patterns flawless? Colours right, gradients smooth without steps, \
                 no bright or dark dots on black and white?",
            )
            .into(),
        );
        window.set_ok_label(lang.pick("Alles in Ordnung", "All fine").into());
        window.set_fault_label(lang.pick("Fehler gesehen", "Fault seen").into());
        let answer = Rc::new(Cell::new(None));
        let progress = Rc::new(Cell::new(Progress::Running));
        {
            let handle = window.as_weak();
            window.on_advance(move || {
                if let Some(window) = handle.upgrade() {
                    let next = (window.get_pattern() + 1).min(PATTERNS);
                    window.set_pattern(next);
                }
            });
        }
        {
            let answer = Rc::clone(&answer);
            let progress = Rc::clone(&progress);
            window.on_answered(move |fine| {
                if progress.get() == Progress::Running {
                    answer.set(Some(fine));
                    progress.set(Progress::Done);
                }
                let _ = slint::quit_event_loop();
            });
        }
        {
            let progress = Rc::clone(&progress);
            window.on_cancel(move || {
                if progress.get() == Progress::Running {
                    progress.set(Progress::Cancelled);
                }
                let _ = slint::quit_event_loop();
            });
        }
        Ok(Self {
            window,
            answer,
            progress,
        })
    }

    /// The Slint component (to show it, or to send it events in tests).
    pub fn component(&self) -> &DisplayWindow {
        &self.window
    }

    /// The verdict; no answer when asked means the `timeout` ran out.
    pub fn outcome(&self, timeout: Duration) -> Outcome {
        match (self.progress.get(), self.answer.get()) {
            (_, Some(true)) => Outcome::pass(Reason::DisplayConfirmed),
            (_, Some(false)) => Outcome::fail(Reason::DisplayFaultReported),
            (Progress::Cancelled, None) => Outcome::fail(Reason::Cancelled),
            _ => Outcome::fail(Reason::NoAnswer { timeout }),
        }
    }
}

/// Shows a screen full size and runs the event loop until it is done or `timeout` passes.
fn show_until_done(window: &slint::Window, timeout: Duration) -> Result<(), PlatformError> {
    window.set_fullscreen(true);
    window.show()?;
    let timer = slint::Timer::default();
    timer.start(slint::TimerMode::SingleShot, timeout, || {
        let _ = slint::quit_event_loop();
    });
    let result = slint::run_event_loop();
    timer.stop();
    let _ = window.hide();
    result
}

/// The failure for a screen that cannot be opened (the backend's message on one line).
fn no_display(error: &PlatformError) -> Outcome {
    Outcome::fail(Reason::NoDisplay {
        message: error
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    })
}

/// Runs the touch test on the kiosk's screen.
pub fn run_touch(columns: usize, rows: usize, timeout: Duration, lang: Lang) -> Outcome {
    let screen = match TouchScreen::new(columns, rows, lang) {
        Ok(screen) => screen,
        Err(error) => {
            return no_display(&error);
        }
    };
    if let Err(error) = show_until_done(screen.component().window(), timeout) {
        return no_display(&error);
    }
    screen.outcome(timeout)
}

/// Runs the display test on the kiosk's screen.
pub fn run_display(timeout: Duration, lang: Lang) -> Outcome {
    let screen = match DisplayScreen::new(lang) {
        Ok(screen) => screen,
        Err(error) => {
            return no_display(&error);
        }
    };
    if let Err(error) = show_until_done(screen.component().window(), timeout) {
        return no_display(&error);
    }
    screen.outcome(timeout)
}
