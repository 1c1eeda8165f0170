//! "Read aloud": the screen's text spoken through a headset (espeak-ng).

use std::ffi::OsString;
use std::io::Write;
use std::process::{Child, Command, Stdio};

use kiosk_catalogue::Language;

/// Speaks a text. The text is the whole screen (`src/read_aloud.rs`): it may
/// hold the citizen's answers, never the digits of a PIN or CAN. Implementors
/// must not log it.
pub trait Speaker {
    /// Speaks `text` in `language`, cutting off whatever is still being said.
    fn speak(&mut self, text: &str, language: &Language);
}

/// Speaks with the `espeak-ng` program (Debian package `espeak-ng`), which
/// plays on the default audio device (the headset on a kiosk).
///
/// The text goes to the program's standard input, not its command line:
/// a command line can be read by every local user (`/proc/<pid>/cmdline`),
/// and the text may hold the citizen's answers.
#[derive(Debug)]
pub struct EspeakSpeaker {
    program: OsString,
    speaking: Option<Child>,
}

impl Default for EspeakSpeaker {
    fn default() -> Self {
        Self::with_program("espeak-ng")
    }
}

/// Words per minute: a little slower than espeak-ng's 175, for elderly
/// citizens and for people listening in their second language.
const WORDS_PER_MINUTE: &str = "150";

impl EspeakSpeaker {
    /// A speaker that runs `espeak-ng` from `PATH`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A speaker that runs another program with espeak-ng's arguments (a
    /// build installed elsewhere, or a stand-in in tests).
    pub fn with_program(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            speaking: None,
        }
    }

    /// The espeak-ng voice for a language: espeak-ng 1.51 names its voices
    /// by ISO 639-1 code, English as `en-gb`. A language without a voice
    /// here is spoken with the German one (the UI then shows German too).
    pub fn voice(language: &Language) -> &str {
        match language.code() {
            "en" => "en-gb",
            code @ ("de" | "tr" | "ar" | "uk" | "ru" | "pl" | "fr" | "fa") => code,
            _ => "de",
        }
    }

    /// The command that speaks in `language`; the text comes on its stdin.
    pub fn command(&self, language: &Language) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args([
                "-v",
                Self::voice(language),
                "-s",
                WORDS_PER_MINUTE,
                "--stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Waits until the text being spoken is finished (tests, and a clean
    /// shutdown that lets the last sentence end).
    pub fn wait(&mut self) {
        if let Some(mut child) = self.speaking.take() {
            let _ = child.wait();
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
        let mut child = match self.command(language).spawn() {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "read aloud is not available: install espeak-ng (apt-get install espeak-ng)"
                );
                return;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A screen's text is a few KiB, far below a pipe's buffer, so
            // this does not wait for the speech; closing stdin ends the text.
            if let Err(e) = stdin.write_all(text.as_bytes()) {
                tracing::warn!(error = %e, "read aloud: espeak-ng did not take the text");
            }
        }
        self.speaking = Some(child);
    }
}

impl Drop for EspeakSpeaker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn language(code: &str) -> Language {
        Language::new(code).unwrap()
    }

    #[test]
    fn every_kiosk_language_gets_its_own_voice() {
        let speaker = EspeakSpeaker::new();
        for (code, voice) in [
            ("de", "de"),
            ("en", "en-gb"),
            ("tr", "tr"),
            ("ar", "ar"),
            ("uk", "uk"),
        ] {
            let command = speaker.command(&language(code));
            assert_eq!(command.get_program(), "espeak-ng");
            let args: Vec<_> = command.get_args().collect();
            assert_eq!(args, ["-v", voice, "-s", "150", "--stdin"], "{code}");
        }
        assert_eq!(EspeakSpeaker::voice(&language("xx")), "de");
    }

    /// A stand-in for espeak-ng writes its arguments and stdin to a file: the
    /// text arrives on stdin, the command line holds only the voice.
    #[cfg(unix)]
    #[test]
    fn the_text_goes_to_stdin_not_the_command_line() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("kiosk-ui-speech-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("heard.txt");
        let program = dir.join("fake-espeak");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\necho \"$@\" > '{out}'\ncat >> '{out}'\n",
                out = out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();

        let mut speaker = EspeakSpeaker::with_program(&program);
        speaker.speak("Vorname: Erika. Schaltflächen: Weiter", &language("ar"));
        speaker.wait();
        let heard = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let (args, text) = heard.split_once('\n').unwrap();
        assert_eq!(args, "-v ar -s 150 --stdin");
        assert_eq!(text, "Vorname: Erika. Schaltflächen: Weiter");
    }
}
