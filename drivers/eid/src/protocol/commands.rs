//! Commands the kiosk sends to AusweisApp (`{"cmd": ...}`).

use serde::Serialize;
use zeroize::Zeroizing;

use super::rights::AccessRight;
use crate::secret::Secret;

/// A command of the AusweisApp SDK. `Debug` never shows a PIN, CAN or PUK: they are
/// [`Secret`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "cmd", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Command {
    /// Ask for the installed version ([`Message::Info`](super::Message::Info)).
    GetInfo,
    /// Ask for the current workflow and state ([`Message::Status`](super::Message::Status));
    /// API level 2.
    GetStatus,
    /// Ask for the available and current API levels.
    GetApiLevel,
    /// Select the API level this client speaks.
    SetApiLevel {
        /// The level (this crate speaks 2).
        level: u32,
    },
    /// Ask for one reader by name.
    GetReader {
        /// The reader's name as AusweisApp lists it.
        name: String,
    },
    /// Ask for every reader.
    GetReaderList,
    /// Start an authentication (online login) with the provider's tcTokenURL.
    RunAuth(RunAuth),
    /// Start the change-PIN workflow.
    RunChangePin(RunChangePin),
    /// Ask for the requested access rights again.
    GetAccessRights,
    /// Enable only these optional rights (required ones stay).
    SetAccessRights {
        /// The optional rights to keep; empty disables every optional right.
        chat: Vec<AccessRight>,
    },
    /// Ask for the provider's certificate.
    GetCertificate,
    /// Insert a "virtual" card into an insertable reader (the `Simulator`); API level 2.
    SetCard(SetCard),
    /// Accept the requested access rights.
    Accept,
    /// Abort the running workflow.
    Cancel,
    /// Close the iOS NFC dialog (desktop AusweisApp answers `UNKNOWN_COMMAND`).
    Interrupt,
    /// The PIN; `None` when the reader has a keypad (the citizen types it there).
    SetPin {
        /// The PIN, or `None` for a keypad reader.
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<Secret>,
    },
    /// The new PIN in the change-PIN workflow; `None` for a keypad reader.
    SetNewPin {
        /// The new PIN, or `None` for a keypad reader.
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<Secret>,
    },
    /// The CAN; `None` for a keypad reader.
    SetCan {
        /// The CAN, or `None` for a keypad reader.
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<Secret>,
    },
    /// The PUK; `None` for a keypad reader.
    SetPuk {
        /// The PUK, or `None` for a keypad reader.
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<Secret>,
    },
}

/// The parameters of `RUN_AUTH`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunAuth {
    /// The provider's TcToken URL (from the portal's login page).
    #[serde(rename = "tcTokenURL")]
    pub tc_token_url: String,
    /// AusweisApp's developer mode: also accepts plain `http` and test certificates.
    /// Only for tests; never on a citizen's login.
    #[serde(rename = "developerMode", skip_serializing_if = "Option::is_none")]
    pub developer_mode: Option<bool>,
    /// Whether AusweisApp sends `STATUS` progress messages (default: yes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<bool>,
    /// iOS only (API level 1): close the NFC dialog on PIN requests.
    #[serde(rename = "handleInterrupt", skip_serializing_if = "Option::is_none")]
    pub handle_interrupt: Option<bool>,
    /// iOS only: texts of the NFC dialog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<DialogMessages>,
}

impl RunAuth {
    /// A login for `tc_token_url` with AusweisApp's defaults (progress messages on).
    pub fn new(tc_token_url: impl Into<String>) -> Self {
        Self {
            tc_token_url: tc_token_url.into(),
            developer_mode: None,
            status: None,
            handle_interrupt: None,
            messages: None,
        }
    }
}

/// The parameters of `RUN_CHANGE_PIN`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunChangePin {
    /// Whether AusweisApp sends `STATUS` progress messages (default: yes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<bool>,
    /// iOS only (API level 1): close the NFC dialog on PIN requests.
    #[serde(rename = "handleInterrupt", skip_serializing_if = "Option::is_none")]
    pub handle_interrupt: Option<bool>,
    /// iOS only: texts of the NFC dialog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<DialogMessages>,
}

/// Texts of the iOS NFC system dialog (ignored on desktop; here for completeness).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DialogMessages {
    /// Shown when scanning starts.
    pub session_started: String,
    /// Shown when scanning failed.
    pub session_failed: String,
    /// Shown when scanning succeeded.
    pub session_succeeded: String,
    /// Shown while scanning (AusweisApp appends the percentage).
    pub session_in_progress: String,
}

/// The parameters of `SET_CARD`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetCard {
    /// The insertable reader, e.g. `Simulator`.
    pub name: String,
    /// For the `Simulator`: the card's files and keys (default: AusweisApp's test card).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulator: Option<SimulatorCard>,
}

impl SetCard {
    /// AusweisApp's built-in simulated ID card with its default data.
    pub fn simulator() -> Self {
        Self {
            name: "Simulator".into(),
            simulator: None,
        }
    }
}

/// Files and keys of a simulated card (hex strings, as in AusweisApp's SDK docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimulatorCard {
    /// Elementary files.
    pub files: Vec<SimulatorFile>,
    /// Private keys for chip and restricted identification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<SimulatorKey>>,
}

/// One file of a simulated card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulatorFile {
    /// File identifier (hex).
    pub file_id: String,
    /// Short file identifier (hex).
    pub short_file_id: String,
    /// Content (hex).
    pub content: String,
}

/// One key of a simulated card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimulatorKey {
    /// Key reference.
    pub id: u32,
    /// Key (hex).
    pub content: String,
}

/// What AusweisApp answers to a command directly (so the client can match it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A reply message always follows (or `BAD_STATE`/`UNKNOWN_COMMAND`).
    Always,
    /// Nothing follows on success; an error comes as a message of the workflow
    /// (`BAD_STATE`, or the `ENTER_*`/`INSERT_CARD` message again with `error`).
    OnlyOnError,
}

/// Room for the longest command that carries a secret, reserved up front so serialising
/// never reallocates (a reallocation would leave a copy of the digits behind).
const SECRET_JSON_CAPACITY: usize = 128;

impl Command {
    /// The `cmd` value, e.g. `"SET_PIN"` (safe to log).
    pub fn name(&self) -> &'static str {
        match self {
            Self::GetInfo => "GET_INFO",
            Self::GetStatus => "GET_STATUS",
            Self::GetApiLevel => "GET_API_LEVEL",
            Self::SetApiLevel { .. } => "SET_API_LEVEL",
            Self::GetReader { .. } => "GET_READER",
            Self::GetReaderList => "GET_READER_LIST",
            Self::RunAuth(_) => "RUN_AUTH",
            Self::RunChangePin(_) => "RUN_CHANGE_PIN",
            Self::GetAccessRights => "GET_ACCESS_RIGHTS",
            Self::SetAccessRights { .. } => "SET_ACCESS_RIGHTS",
            Self::GetCertificate => "GET_CERTIFICATE",
            Self::SetCard(_) => "SET_CARD",
            Self::Accept => "ACCEPT",
            Self::Cancel => "CANCEL",
            Self::Interrupt => "INTERRUPT",
            Self::SetPin { .. } => "SET_PIN",
            Self::SetNewPin { .. } => "SET_NEW_PIN",
            Self::SetCan { .. } => "SET_CAN",
            Self::SetPuk { .. } => "SET_PUK",
        }
    }

    /// Whether the serialised command contains a PIN, CAN or PUK.
    pub fn carries_secret(&self) -> bool {
        matches!(
            self,
            Self::SetPin { value: Some(_) }
                | Self::SetNewPin { value: Some(_) }
                | Self::SetCan { value: Some(_) }
                | Self::SetPuk { value: Some(_) }
        )
    }

    /// Whether AusweisApp always answers this command directly.
    pub fn reply(&self) -> Reply {
        match self {
            Self::GetInfo
            | Self::GetStatus
            | Self::GetApiLevel
            | Self::SetApiLevel { .. }
            | Self::GetReader { .. }
            | Self::GetReaderList
            | Self::RunAuth(_)
            | Self::RunChangePin(_)
            | Self::GetAccessRights
            | Self::SetAccessRights { .. }
            | Self::GetCertificate
            | Self::Interrupt => Reply::Always,
            Self::SetCard(_)
            | Self::Accept
            | Self::Cancel
            | Self::SetPin { .. }
            | Self::SetNewPin { .. }
            | Self::SetCan { .. }
            | Self::SetPuk { .. } => Reply::OnlyOnError,
        }
    }

    /// The JSON text, in a buffer that is wiped on drop. For commands with a secret the
    /// buffer is reserved large enough up front that it never reallocates.
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
        let mut buffer = Zeroizing::new(Vec::with_capacity(SECRET_JSON_CAPACITY));
        serde_json::to_writer(&mut *buffer, self)?;
        Ok(buffer)
    }
}
