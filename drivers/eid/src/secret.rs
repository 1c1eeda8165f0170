//! PIN, CAN and PUK: digits that must never be logged, shown or kept.
//!
//! A [`Secret`] holds its digits in a [`Zeroizing`] buffer that is wiped on drop; its
//! `Debug` shows only the kind, there is no `Display`, and it can be read only by the
//! serialiser that puts it into a `SET_PIN`/`SET_CAN`/`SET_PUK`/`SET_NEW_PIN` command.
//! [`DigitBuffer`] is the PIN pad's input while the citizen types: it shows how many
//! digits there are, never which.

use std::fmt;

use serde::{Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

/// What a [`Secret`] is, which decides how many digits it must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// The six-digit eID PIN the citizen chose.
    Pin,
    /// The five-digit transport PIN from the PIN letter (only to change it to a PIN).
    TransportPin,
    /// The six-digit card access number printed on the card's front.
    Can,
    /// The ten-digit PIN unblocking key from the PIN letter.
    Puk,
}

impl SecretKind {
    /// The number of digits this kind has.
    pub fn digits(self) -> usize {
        match self {
            Self::Pin | Self::Can => 6,
            Self::TransportPin => 5,
            Self::Puk => 10,
        }
    }

    /// A stable name for messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pin => "pin",
            Self::TransportPin => "transport_pin",
            Self::Can => "can",
            Self::Puk => "puk",
        }
    }
}

/// Why typed digits are not a valid [`Secret`]. Carries no digit of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The input has a character that is not an ASCII digit.
    #[error("a {} has digits only; the input had another character", kind.name())]
    NotDigits {
        /// The kind that was expected.
        kind: SecretKind,
    },
    /// The input has the wrong number of digits.
    #[error("a {} has {} digits; the input had {found}", kind.name(), kind.digits())]
    WrongLength {
        /// The kind that was expected.
        kind: SecretKind,
        /// How many characters the input had.
        found: usize,
    },
}

/// A PIN, transport PIN, CAN or PUK. Zeroised on drop, redacted in `Debug`, never
/// displayed; serialises to its digits only inside a command sent to AusweisApp.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    kind: SecretKind,
    digits: Zeroizing<String>,
}

impl Secret {
    /// Checks `input` (ASCII digits only, exactly the kind's length) and wraps it.
    /// The caller's `input` is not wiped: pass a [`Zeroizing`] or a [`DigitBuffer`].
    pub fn new(kind: SecretKind, input: &str) -> Result<Self, SecretError> {
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SecretError::NotDigits { kind });
        }
        let found = input.len();
        if found != kind.digits() {
            return Err(SecretError::WrongLength { kind, found });
        }
        let mut digits = Zeroizing::new(String::with_capacity(found));
        digits.push_str(input);
        Ok(Self { kind, digits })
    }

    /// A six-digit eID PIN.
    pub fn pin(input: &str) -> Result<Self, SecretError> {
        Self::new(SecretKind::Pin, input)
    }

    /// A six-digit card access number.
    pub fn can(input: &str) -> Result<Self, SecretError> {
        Self::new(SecretKind::Can, input)
    }

    /// A ten-digit PUK.
    pub fn puk(input: &str) -> Result<Self, SecretError> {
        Self::new(SecretKind::Puk, input)
    }

    /// What this secret is.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// How many digits it has (always the kind's length).
    pub fn len(&self) -> usize {
        self.digits.len()
    }

    /// Never true: a secret always has its kind's digits. Here for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}, <redacted>)", self.kind.name())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.digits)
    }
}

/// The digits typed so far on the on-screen PIN pad. A fixed array, so typing never
/// reallocates (which would leave copies behind); removed digits are overwritten and the
/// whole buffer is wiped on drop and on [`clear`](Self::clear).
pub struct DigitBuffer {
    kind: SecretKind,
    digits: Zeroizing<[u8; MAX_DIGITS]>,
    len: usize,
}

/// The longest secret (the PUK).
const MAX_DIGITS: usize = 10;

impl DigitBuffer {
    /// An empty buffer for `kind`.
    pub fn new(kind: SecretKind) -> Self {
        Self {
            kind,
            digits: Zeroizing::new([0; MAX_DIGITS]),
            len: 0,
        }
    }

    /// What the buffer collects.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// Adds a digit; ignores anything that is not `0`-`9` and any digit past the kind's
    /// length (the pad stops accepting). Returns whether the digit was taken.
    pub fn push(&mut self, digit: char) -> bool {
        if !digit.is_ascii_digit() || self.len >= self.kind.digits() {
            return false;
        }
        self.digits[self.len] = digit as u8;
        self.len += 1;
        true
    }

    /// Removes the last digit ("⌫").
    pub fn pop(&mut self) {
        if self.len > 0 {
            self.len -= 1;
            self.digits[self.len] = 0;
        }
    }

    /// Wipes every digit.
    pub fn clear(&mut self) {
        self.digits.zeroize();
        self.len = 0;
    }

    /// How many digits were typed (for the dots on the screen).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the kind's length is reached, so "OK" can be enabled.
    pub fn is_complete(&self) -> bool {
        self.len == self.kind.digits()
    }

    /// Turns the typed digits into a [`Secret`] and wipes the buffer.
    pub fn take(&mut self) -> Result<Secret, SecretError> {
        // Only ASCII digits are ever stored, so the slice is always UTF-8.
        let typed = std::str::from_utf8(&self.digits[..self.len]).unwrap_or_default();
        let secret = Secret::new(self.kind, typed);
        self.clear();
        secret
    }
}

impl fmt::Debug for DigitBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DigitBuffer({}, {} of {} digits)",
            self.kind.name(),
            self.len,
            self.kind.digits()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_check_length_and_digits_without_echoing_them() {
        assert!(Secret::pin("123456").is_ok());
        assert_eq!(
            Secret::pin("12345"),
            Err(SecretError::WrongLength {
                kind: SecretKind::Pin,
                found: 5
            })
        );
        let error = Secret::can("12a456").unwrap_err();
        assert_eq!(
            error,
            SecretError::NotDigits {
                kind: SecretKind::Can
            }
        );
        assert!(!error.to_string().contains("12a456"));
        assert!(Secret::puk("1234567890").is_ok());
        assert!(Secret::new(SecretKind::TransportPin, "12345").is_ok());
        let long = Secret::pin("9876543").unwrap_err().to_string();
        assert!(!long.contains("9876543"), "{long}");
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let pin = Secret::pin("492817").unwrap();
        let debug = format!("{pin:?} {pin:#?}");
        assert!(!debug.contains("492817"), "{debug}");
        assert!(debug.contains("redacted"));
        let mut pad = DigitBuffer::new(SecretKind::Pin);
        for digit in "4928".chars() {
            pad.push(digit);
        }
        let debug = format!("{pad:?}");
        assert_eq!(debug, "DigitBuffer(pin, 4 of 6 digits)");
    }

    #[test]
    fn serialises_only_the_digits() {
        let pin = Secret::pin("492817").unwrap();
        assert_eq!(serde_json::to_string(&pin).unwrap(), "\"492817\"");
    }

    #[test]
    fn pin_pad_buffer_accepts_digits_up_to_the_length() {
        let mut pad = DigitBuffer::new(SecretKind::Pin);
        assert!(!pad.push('x'));
        for digit in "1234567".chars() {
            pad.push(digit);
        }
        assert_eq!(pad.len(), 6);
        assert!(pad.is_complete());
        pad.pop();
        assert_eq!(pad.len(), 5);
        assert!(!pad.is_complete());
        assert!(matches!(pad.take(), Err(SecretError::WrongLength { .. })));
        assert!(pad.is_empty());
        for digit in "654321".chars() {
            pad.push(digit);
        }
        let secret = pad.take().unwrap();
        assert_eq!(secret.kind(), SecretKind::Pin);
        assert_eq!(secret.len(), 6);
        assert!(pad.is_empty());
    }
}
