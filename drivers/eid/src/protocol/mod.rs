//! The AusweisApp SDK protocol (API level 2, as spoken by AusweisApp 1.26 and later):
//! JSON commands to AusweisApp and messages back, one per WebSocket text frame.

mod commands;
mod messages;
mod rights;

pub use commands::{
    Command, DialogMessages, Reply, RunAuth, RunChangePin, SetCard, SimulatorCard, SimulatorFile,
    SimulatorKey,
};
pub use messages::{
    AccessRights, ApiLevel, Auth, AuthResult, Aux, Card, Certificate, CertificateDescription,
    ChangePin, Chat, EnterNumber, ErrorMessage, Info, InsertCard, Message, ParseError, Reader,
    ReaderList, Status, UnknownFields, UnknownMessage, Validity, VersionInfo,
};
pub use rights::AccessRight;
pub(crate) use rights::RIGHT_CODES;

/// The API level this crate speaks (`SET_CARD` and `GET_STATUS` need it).
pub const API_LEVEL: u32 = 2;

/// The port AusweisApp listens on by default.
pub const DEFAULT_PORT: u16 = 24727;

/// The WebSocket path of the SDK.
pub const PATH: &str = "/eID-Kernel";
