//! "Read aloud": the screen's texts spoken through a headset (espeak-ng).

use std::process::{Child, Command, Stdio};

use kiosk_catalogue::Language;

/// Speaks a text. Answers are never passed here: only headings, questions,
/// messages and the catalogue's texts.
pub trait Speaker {
    /// Speaks `text` in `language`, cutting off whatever is still being said.
    fn speak(&mut self, text: &str, language: &Language);
}

/// Speaks with the `espeak-ng` program (Debian package `espeak-ng`), which
/// plays on the default audio device (the headset on a kiosk).
#[derive(Debug, Default)]
pub struct EspeakSpeaker {
    speaking: Option<Child>,
}

impl EspeakSpeaker {
    /// A speaker that has said nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The espeak-ng voice for a language.
    pub fn voice(language: &Language) -> &str {
        match language.code() {
            // espeak-ng names most voices by their ISO 639-1 code.
            code @ ("de" | "en" | "tr" | "ar" | "uk" | "ru" | "pl" | "fr" | "fa") => code,
            _ => "de",
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.speaking.take() {
            // Our own child: stop it and reap it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Speaker for EspeakSpeaker {
    fn speak(&mut self, text: &str, language: &Language) {
        self.stop();
        let spawned = Command::new("espeak-ng")
            .args(["-v", Self::voice(language), "-s", "150", "--"])
            .arg(text)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => self.speaking = Some(child),
            Err(e) => tracing::warn!(
                error = %e,
                "read aloud is not available: install espeak-ng (apt-get install espeak-ng)"
            ),
        }
    }
}

impl Drop for EspeakSpeaker {
    fn drop(&mut self) {
        self.stop();
    }
}
