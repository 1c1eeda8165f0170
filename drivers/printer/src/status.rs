//! Real-time status (`DLE EOT n`) requests and the typed status parsed from the answers.
//!
//! Each answer is one byte whose bits 0 and 7 are 0 and bits 1 and 4 are 1; any other byte
//! is not a status answer (line noise, a printer in another mode, leftover data) and is
//! reported as such, never guessed at.

/// The four real-time status requests (`DLE EOT n`, n = 1..4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusRequest {
    /// n = 1: printer status (online/offline).
    Printer,
    /// n = 2: offline cause (cover, paper end, error).
    OfflineCause,
    /// n = 3: error cause (cutter, unrecoverable, auto-recoverable).
    ErrorCause,
    /// n = 4: roll paper sensors (near end, end).
    RollPaper,
}

impl StatusRequest {
    /// All four, in the order the driver asks them.
    pub const ALL: [StatusRequest; 4] = [
        StatusRequest::Printer,
        StatusRequest::OfflineCause,
        StatusRequest::ErrorCause,
        StatusRequest::RollPaper,
    ];

    /// The `n` of `DLE EOT n`.
    pub fn number(self) -> u8 {
        match self {
            StatusRequest::Printer => 1,
            StatusRequest::OfflineCause => 2,
            StatusRequest::ErrorCause => 3,
            StatusRequest::RollPaper => 4,
        }
    }

    /// The request for `n`, if it is one of the four.
    pub fn from_number(number: u8) -> Option<StatusRequest> {
        StatusRequest::ALL
            .into_iter()
            .find(|request| request.number() == number)
    }

    /// The bytes to send: `10 04 n`.
    pub fn bytes(self) -> [u8; 3] {
        [0x10, 0x04, self.number()]
    }
}

/// An answer byte that is not a valid status answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the printer answered DLE EOT {} with byte {byte:#04x}, which is not a status byte \
     (bits 1 and 4 must be set, bits 0 and 7 clear); check that the device is an ESC/POS \
     printer and that no other program talks to it",
    request.number()
)]
pub struct MalformedStatus {
    /// The request that was answered.
    pub request: StatusRequest,
    /// The byte received.
    pub byte: u8,
}

/// Paper supply according to the roll paper sensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperLevel {
    /// Enough paper.
    #[default]
    Adequate,
    /// The roll is nearly used up: still prints, staff should refill soon.
    NearEnd,
    /// No paper: nothing prints.
    Out,
}

/// The printer's state, combined from the four status answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrinterStatus {
    /// The printer reports itself offline (DLE EOT 1, bit 3).
    pub offline: bool,
    /// The cover is open (DLE EOT 2, bit 2).
    pub cover_open: bool,
    /// Paper supply (DLE EOT 2 bit 5 and DLE EOT 4).
    pub paper: PaperLevel,
    /// The auto-cutter failed (DLE EOT 3, bit 3).
    pub cutter_error: bool,
    /// An error that needs a power cycle or service (DLE EOT 3, bit 5).
    pub unrecoverable_error: bool,
    /// An error that clears by itself, e.g. print head too hot (DLE EOT 3, bit 6).
    pub auto_recoverable_error: bool,
    /// Some error is present (DLE EOT 2, bit 6).
    pub error: bool,
}

/// Something staff must do although printing still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StaffAlert {
    /// Paper near end: refill the roll soon.
    PaperNearEnd,
}

fn check(request: StatusRequest, byte: u8) -> Result<u8, MalformedStatus> {
    if byte & 0b1001_0011 == 0b0001_0010 {
        Ok(byte)
    } else {
        Err(MalformedStatus { request, byte })
    }
}

impl PrinterStatus {
    /// Adds the answer `byte` to `request` to this status.
    pub fn apply(&mut self, request: StatusRequest, byte: u8) -> Result<(), MalformedStatus> {
        let byte = check(request, byte)?;
        let bit = |n: u8| byte & (1 << n) != 0;
        match request {
            StatusRequest::Printer => self.offline = bit(3),
            StatusRequest::OfflineCause => {
                self.cover_open = bit(2);
                if bit(5) {
                    self.paper = PaperLevel::Out;
                }
                self.error = bit(6);
            }
            StatusRequest::ErrorCause => {
                self.cutter_error = bit(3);
                self.unrecoverable_error = bit(5);
                self.auto_recoverable_error = bit(6);
            }
            StatusRequest::RollPaper => {
                // Bits 5-6 (paper end) win over bits 2-3 (near end); paper end from DLE EOT 2
                // is never weakened by a later near-end answer.
                if bit(5) || bit(6) {
                    self.paper = PaperLevel::Out;
                } else if (bit(2) || bit(3)) && self.paper != PaperLevel::Out {
                    self.paper = PaperLevel::NearEnd;
                }
            }
        }
        Ok(())
    }

    /// Parses the four answers in [`StatusRequest::ALL`] order.
    pub fn from_answers(answers: [u8; 4]) -> Result<Self, MalformedStatus> {
        let mut status = PrinterStatus::default();
        for (request, byte) in StatusRequest::ALL.into_iter().zip(answers) {
            status.apply(request, byte)?;
        }
        Ok(status)
    }

    /// The answer byte a printer in this state gives to `request` (used by the virtual
    /// printer and tests).
    pub fn answer(&self, request: StatusRequest) -> u8 {
        let mut byte = 0b0001_0010;
        let mut set = |n: u8, on: bool| {
            if on {
                byte |= 1 << n;
            }
        };
        match request {
            StatusRequest::Printer => set(3, self.offline),
            StatusRequest::OfflineCause => {
                set(2, self.cover_open);
                set(5, self.paper == PaperLevel::Out);
                set(6, self.error);
            }
            StatusRequest::ErrorCause => {
                set(3, self.cutter_error);
                set(5, self.unrecoverable_error);
                set(6, self.auto_recoverable_error);
            }
            StatusRequest::RollPaper => {
                let near = self.paper != PaperLevel::Adequate;
                set(2, near);
                set(3, near);
                set(5, self.paper == PaperLevel::Out);
                set(6, self.paper == PaperLevel::Out);
            }
        }
        byte
    }

    /// Why nothing can be printed now, if anything stops it (most specific cause first).
    pub fn blocking_problem(&self) -> Option<crate::error::ErrorKind> {
        use crate::error::ErrorKind;
        if self.paper == PaperLevel::Out {
            Some(ErrorKind::PaperOut)
        } else if self.cover_open {
            Some(ErrorKind::CoverOpen)
        } else if self.cutter_error {
            Some(ErrorKind::CutterError)
        } else if self.unrecoverable_error {
            Some(ErrorKind::HardwareFault)
        } else if self.offline || self.error || self.auto_recoverable_error {
            Some(ErrorKind::Offline)
        } else {
            None
        }
    }

    /// What staff should be told although printing works.
    pub fn staff_alert(&self) -> Option<StaffAlert> {
        (self.paper == PaperLevel::NearEnd).then_some(StaffAlert::PaperNearEnd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn typical_answers_parse() {
        let ok = PrinterStatus::from_answers([0x12, 0x12, 0x12, 0x12]).unwrap();
        assert_eq!(ok, PrinterStatus::default());
        assert_eq!(ok.blocking_problem(), None);

        let near_end = PrinterStatus::from_answers([0x12, 0x12, 0x12, 0x1E]).unwrap();
        assert_eq!(near_end.paper, PaperLevel::NearEnd);
        assert_eq!(near_end.blocking_problem(), None);
        assert_eq!(near_end.staff_alert(), Some(StaffAlert::PaperNearEnd));

        let paper_out = PrinterStatus::from_answers([0x1A, 0x32, 0x12, 0x7E]).unwrap();
        assert_eq!(paper_out.paper, PaperLevel::Out);
        assert_eq!(
            paper_out.blocking_problem(),
            Some(crate::error::ErrorKind::PaperOut)
        );

        let cover = PrinterStatus::from_answers([0x1A, 0x16, 0x12, 0x12]).unwrap();
        assert!(cover.cover_open);
        assert_eq!(
            cover.blocking_problem(),
            Some(crate::error::ErrorKind::CoverOpen)
        );
    }

    #[test]
    fn bytes_with_wrong_fixed_bits_are_rejected_with_a_clear_message() {
        let error = PrinterStatus::from_answers([0x12, 0xFF, 0x12, 0x12]).unwrap_err();
        assert_eq!(error.request, StatusRequest::OfflineCause);
        assert_eq!(error.byte, 0xFF);
        assert!(error.to_string().contains("DLE EOT 2"));
        assert!(error.to_string().contains("0xff"));
    }

    proptest! {
        #[test]
        fn any_answer_bytes_parse_or_fail_cleanly(answers in any::<[u8; 4]>()) {
            let valid = answers.iter().all(|byte| byte & 0x93 == 0x12);
            let parsed = PrinterStatus::from_answers(answers);
            prop_assert_eq!(parsed.is_ok(), valid);
        }

        #[test]
        fn answers_round_trip(
            offline: bool, cover_open: bool, cutter_error: bool, unrecoverable_error: bool,
            auto_recoverable_error: bool, error: bool, paper in 0u8..3,
        ) {
            let paper = [PaperLevel::Adequate, PaperLevel::NearEnd, PaperLevel::Out][usize::from(paper)];
            let status = PrinterStatus {
                offline, cover_open, paper, cutter_error, unrecoverable_error,
                auto_recoverable_error, error,
            };
            let answers = StatusRequest::ALL.map(|request| status.answer(request));
            prop_assert_eq!(PrinterStatus::from_answers(answers), Ok(status));
        }
    }
}
