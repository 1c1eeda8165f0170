//! Questions to the technician on the terminal, each with a time limit.
//!
//! Prompts go to standard error so the report on standard output stays clean. In a
//! non-interactive run (`--yes`) nothing is asked: actions get their default, and questions
//! only a person can answer come back as [`Answer::NotAsked`].

use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use crate::lang::Lang;

/// What the technician answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Nothing within the time limit (or standard input closed).
    NoAnswer,
    /// Non-interactive run: the question was not asked.
    NotAsked,
}

/// Asks the technician, or answers for them in a non-interactive run.
pub struct Prompter {
    lang: Lang,
    /// Lines typed on standard input, read by one background thread so a question that
    /// timed out does not leave a reader behind that swallows the next answer.
    lines: Option<Mutex<Receiver<String>>>,
}

impl std::fmt::Debug for Prompter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompter")
            .field("lang", &self.lang)
            .field("interactive", &self.interactive())
            .finish()
    }
}

impl Prompter {
    /// An interactive prompter reading standard input, or a silent one.
    pub fn new(interactive: bool, lang: Lang) -> Self {
        let lines = interactive.then(|| {
            let (sender, receiver) = channel();
            let _ = std::thread::Builder::new()
                .name("hwtest-stdin".into())
                .spawn(move || {
                    let stdin = std::io::stdin();
                    for line in stdin.lock().lines() {
                        let Ok(line) = line else { break };
                        if sender.send(line).is_err() {
                            break;
                        }
                    }
                });
            Mutex::new(receiver)
        });
        Self { lang, lines }
    }

    /// The language questions are asked in.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Whether questions are asked.
    pub fn interactive(&self) -> bool {
        self.lines.is_some()
    }

    /// Tells the technician something (progress, instructions).
    pub fn say(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }

    fn read_line(&self, timeout: Duration) -> Option<String> {
        let lines = self.lines.as_ref()?;
        let receiver = lines.lock().unwrap_or_else(|poison| poison.into_inner());
        // A time-out and a closed standard input both mean: no answer.
        receiver.recv_timeout(timeout).ok()
    }

    /// Asks a yes/no question; Enter alone takes `default`.
    pub fn yes_no(&self, question: &str, default: bool, timeout: Duration) -> Answer {
        if !self.interactive() {
            return Answer::NotAsked;
        }
        let choices = match (self.lang, default) {
            (Lang::De, true) => "[J/n]",
            (Lang::De, false) => "[j/N]",
            (Lang::En, true) => "[Y/n]",
            (Lang::En, false) => "[y/N]",
        };
        for _ in 0..3 {
            {
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "{question} {choices} ");
                let _ = stderr.flush();
            }
            let Some(line) = self.read_line(timeout) else {
                self.say("");
                return Answer::NoAnswer;
            };
            match line.trim().to_lowercase().as_str() {
                "" => return if default { Answer::Yes } else { Answer::No },
                "j" | "ja" | "y" | "yes" => return Answer::Yes,
                "n" | "nein" | "no" => return Answer::No,
                _ => self.say(self.lang.pick(
                    "Bitte mit j (ja) oder n (nein) antworten.",
                    "Please answer y (yes) or n (no).",
                )),
            }
        }
        Answer::NoAnswer
    }

    /// Asks for a line of text; `None` without an answer or in a non-interactive run.
    pub fn line(&self, question: &str, timeout: Duration) -> Option<String> {
        if !self.interactive() {
            return None;
        }
        {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "{question} ");
            let _ = stderr.flush();
        }
        self.read_line(timeout)
    }
}
