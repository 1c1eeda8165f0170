//! Messages AusweisApp sends to the kiosk (`{"msg": ...}`).
//!
//! Parsing is tolerant in the way the SDK asks clients to be: unknown fields are kept by
//! name (never by value) in [`UnknownFields`], unknown message types become
//! [`Message::Unknown`], and optional fields that a version leaves out are `Option`s.
//! Parse errors name the message type and the position, never a value.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rights::AccessRight;

/// A message from AusweisApp.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// `ACCESS_RIGHTS`: what the provider asks to read; the workflow waits for
    /// `ACCEPT` or `CANCEL`.
    AccessRights(AccessRights),
    /// `API_LEVEL`: available and current API levels.
    ApiLevel(ApiLevel),
    /// `AUTH`: an authentication started, failed to start, or ended (with `result`).
    Auth(Auth),
    /// `BAD_STATE`: the named command is not allowed now.
    BadState(ErrorMessage),
    /// `CERTIFICATE`: the provider's certificate.
    Certificate(Certificate),
    /// `CHANGE_PIN`: the change-PIN workflow started or ended (with `success`).
    ChangePin(ChangePin),
    /// `ENTER_CAN`: the CAN is needed.
    EnterCan(EnterNumber),
    /// `ENTER_NEW_PIN`: the new PIN is needed (change-PIN workflow).
    EnterNewPin(EnterNumber),
    /// `ENTER_PIN`: the PIN is needed.
    EnterPin(EnterNumber),
    /// `ENTER_PUK`: the PIN is blocked; the PUK is needed.
    EnterPuk(EnterNumber),
    /// `INFO`: version information.
    Info(Info),
    /// `INSERT_CARD`: a card is needed.
    InsertCard(InsertCard),
    /// `INTERNAL_ERROR`: a bug in AusweisApp.
    InternalError(ErrorMessage),
    /// `INVALID`: the last command was not valid JSON.
    Invalid(ErrorMessage),
    /// `READER`: a reader or its card changed.
    Reader(Reader),
    /// `READER_LIST`: every reader.
    ReaderList(ReaderList),
    /// `STATUS`: workflow progress.
    Status(Status),
    /// `UNKNOWN_COMMAND`: the named command does not exist (at this API level).
    UnknownCommand(ErrorMessage),
    /// A message type this crate does not know (a newer AusweisApp).
    Unknown(UnknownMessage),
}

/// Field names a message had that this crate does not know (values are dropped unread).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownFields(pub Vec<String>);

impl UnknownFields {
    /// Whether there were none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for UnknownFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = UnknownFields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    names.push(name);
                }
                Ok(UnknownFields(names))
            }
        }
        deserializer.deserialize_map(Names)
    }
}

/// A message type this crate does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMessage {
    /// Its `msg` value.
    pub msg: String,
    /// Its field names (not their values).
    pub fields: Vec<String>,
}

/// `BAD_STATE`, `INVALID`, `INTERNAL_ERROR` and `UNKNOWN_COMMAND`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorMessage {
    /// For `BAD_STATE`/`UNKNOWN_COMMAND` the command's name, otherwise a description.
    #[serde(default)]
    pub error: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `ACCESS_RIGHTS`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AccessRights {
    /// Set when a `SET_ACCESS_RIGHTS` was invalid.
    #[serde(default)]
    pub error: Option<String>,
    /// The rights.
    #[serde(default)]
    pub chat: Chat,
    /// Optional transaction information from the provider.
    #[serde(default, rename = "transactionInfo")]
    pub transaction_info: Option<String>,
    /// Optional auxiliary data (age and community checks).
    #[serde(default)]
    pub aux: Option<Aux>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// The access rights of an authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Chat {
    /// Enabled rights (required plus the enabled optional ones).
    #[serde(default)]
    pub effective: Vec<AccessRight>,
    /// Rights the citizen may switch off.
    #[serde(default)]
    pub optional: Vec<AccessRight>,
    /// Rights the provider needs.
    #[serde(default)]
    pub required: Vec<AccessRight>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// Auxiliary data of `ACCESS_RIGHTS` (what an age or place check compares against).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Aux {
    /// Date of birth an age check compares against (ISO 8601).
    #[serde(default, rename = "ageVerificationDate")]
    pub age_verification_date: Option<String>,
    /// Age the check asks for.
    #[serde(default, rename = "requiredAge", deserialize_with = "string_or_number")]
    pub required_age: Option<String>,
    /// Validity date the document is checked against (ISO 8601).
    #[serde(default, rename = "validityDate")]
    pub validity_date: Option<String>,
    /// Community a place check compares against.
    #[serde(default, rename = "communityId")]
    pub community_id: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `API_LEVEL`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ApiLevel {
    /// Set when `SET_API_LEVEL` asked for a level that does not exist.
    #[serde(default)]
    pub error: Option<String>,
    /// Levels this AusweisApp supports (only in answers to `GET_API_LEVEL`).
    #[serde(default)]
    pub available: Option<Vec<u32>>,
    /// The level in use.
    #[serde(default)]
    pub current: Option<u32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `AUTH`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Auth {
    /// Set when `RUN_AUTH` was invalid (the workflow did not start).
    #[serde(default)]
    pub error: Option<String>,
    /// Set when the workflow ended.
    #[serde(default)]
    pub result: Option<AuthResult>,
    /// The provider's refresh URL (success) or communication-error address.
    #[serde(default)]
    pub url: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

impl Auth {
    /// Whether this is the final message of a workflow.
    pub fn is_final(&self) -> bool {
        self.result.is_some()
    }
}

/// The eCard-API result of an authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthResult {
    /// `…/resultmajor#ok` or `…/resultmajor#error`.
    #[serde(default)]
    pub major: String,
    /// The error code URI, e.g. `…/resultminor/sal#cancellationByUser`.
    #[serde(default)]
    pub minor: Option<String>,
    /// Language of `description` and `message` (English).
    #[serde(default)]
    pub language: Option<String>,
    /// AusweisApp's description of `minor` (English; not shown to citizens).
    #[serde(default)]
    pub description: Option<String>,
    /// AusweisApp's explanation (English; not shown to citizens).
    #[serde(default)]
    pub message: Option<String>,
    /// AusweisApp's failure code (from 1.26.3), e.g. `Card_Removed`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

impl AuthResult {
    /// Whether the authentication succeeded.
    pub fn is_ok(&self) -> bool {
        self.major.ends_with("#ok")
    }

    /// The part of `minor` after `#`, e.g. `cancellationByUser`.
    pub fn minor_code(&self) -> Option<&str> {
        let minor = self.minor.as_deref()?;
        Some(minor.rsplit_once('#').map_or(minor, |(_, code)| code))
    }
}

/// `CERTIFICATE`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Certificate {
    /// Who the provider is and why it reads.
    #[serde(default)]
    pub description: CertificateDescription,
    /// When the certificate is valid.
    #[serde(default)]
    pub validity: Validity,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// The description part of a provider certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateDescription {
    /// Issuer (the DVCA).
    #[serde(default)]
    pub issuer_name: String,
    /// Issuer's URL.
    #[serde(default)]
    pub issuer_url: String,
    /// The provider.
    #[serde(default)]
    pub subject_name: String,
    /// The provider's URL.
    #[serde(default)]
    pub subject_url: String,
    /// Terms of usage as registered (address, data protection officer, purpose).
    #[serde(default)]
    pub terms_of_usage: String,
    /// The purpose parsed from the terms of usage.
    #[serde(default)]
    pub purpose: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// Validity of a provider certificate (dates as AusweisApp writes them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validity {
    /// Valid from.
    #[serde(default)]
    pub effective_date: String,
    /// Valid until.
    #[serde(default)]
    pub expiration_date: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `CHANGE_PIN`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ChangePin {
    /// Set when the workflow ended.
    #[serde(default)]
    pub success: Option<bool>,
    /// AusweisApp's failure code (from 1.26.4).
    #[serde(default)]
    pub reason: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `ENTER_PIN`, `ENTER_CAN`, `ENTER_PUK` and `ENTER_NEW_PIN`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct EnterNumber {
    /// Set when the previous `SET_*` command was invalid (the card was not asked).
    #[serde(default)]
    pub error: Option<String>,
    /// The reader and card in use.
    #[serde(default)]
    pub reader: Option<Reader>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

impl EnterNumber {
    /// The card's PIN retry counter, if known.
    pub fn retry_counter(&self) -> Option<i32> {
        self.reader.as_ref()?.card.as_ref()?.retry_counter
    }

    /// Whether the reader has a keypad (the citizen types there, not on the screen).
    pub fn keypad(&self) -> bool {
        self.reader
            .as_ref()
            .and_then(|reader| reader.keypad)
            .unwrap_or(false)
    }
}

/// `INFO`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Info {
    /// Version information.
    #[serde(default, rename = "VersionInfo")]
    pub version_info: VersionInfo,
    /// Android only: connection state of the integrated SDK.
    #[serde(default, rename = "AusweisApp")]
    pub ausweis_app: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// Version information of `INFO`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct VersionInfo {
    /// Application name.
    #[serde(default, rename = "Name")]
    pub name: Option<String>,
    /// Implementation title.
    #[serde(default, rename = "Implementation-Title")]
    pub implementation_title: Option<String>,
    /// Implementation vendor.
    #[serde(default, rename = "Implementation-Vendor")]
    pub implementation_vendor: Option<String>,
    /// Implementation version, e.g. `1.26.2`.
    #[serde(default, rename = "Implementation-Version")]
    pub implementation_version: Option<String>,
    /// Specification title (`TR-03124`).
    #[serde(default, rename = "Specification-Title")]
    pub specification_title: Option<String>,
    /// Specification vendor.
    #[serde(default, rename = "Specification-Vendor")]
    pub specification_vendor: Option<String>,
    /// Specification version.
    #[serde(default, rename = "Specification-Version")]
    pub specification_version: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `INSERT_CARD`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct InsertCard {
    /// Set when a `SET_CARD` failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `READER`, and each entry of `READER_LIST`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Reader {
    /// The reader's name (a hardware name, e.g. `REINER SCT cyberJack RFID … 00 00`).
    #[serde(default)]
    pub name: String,
    /// Whether a card can be put in with `SET_CARD` (the `Simulator`).
    #[serde(default)]
    pub insertable: Option<bool>,
    /// Whether the reader is connected.
    #[serde(default)]
    pub attached: bool,
    /// Whether the reader has a keypad (only reported while attached).
    #[serde(default)]
    pub keypad: Option<bool>,
    /// The card on the reader, if any.
    #[serde(default)]
    pub card: Option<Card>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

impl Reader {
    /// Whether this is a reader a citizen puts a card on (not the `Simulator`).
    pub fn is_physical(&self) -> bool {
        !self.insertable.unwrap_or(false)
    }
}

/// The card on a reader. All fields are empty for a card that is not an eID card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Card {
    /// The PUK cannot unblock the PIN any more (known only after a correct PUK).
    #[serde(default)]
    pub inoperative: Option<bool>,
    /// The eID function is switched off.
    #[serde(default)]
    pub deactivated: Option<bool>,
    /// PIN attempts left (3 normally; 1 needs the CAN first; 0 needs the PUK).
    #[serde(default, rename = "retryCounter")]
    pub retry_counter: Option<i32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

impl Card {
    /// Whether AusweisApp recognised an eID card (it reports a retry counter for it).
    pub fn is_eid(&self) -> bool {
        self.retry_counter.is_some()
    }
}

/// `READER_LIST` (`readers` from API level 2, `reader` before).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ReaderList {
    /// Every reader.
    #[serde(default, alias = "reader")]
    pub readers: Vec<Reader>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub unknown: UnknownFields,
}

/// `STATUS`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Status {
    /// `AUTH`, `CHANGE_PIN`, or `None` when idle.
    #[serde(default)]
    pub workflow: Option<String>,
    /// Percent done.
    #[serde(default)]
    pub progress: Option<u32>,
    /// The message the workflow waits on (e.g. `ACCESS_RIGHTS`), if paused.
    #[serde(default)]
    pub state: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten, skip_serializing)]
    pub unknown: UnknownFields,
}

/// Why a text from AusweisApp is not a message. Names the message type and position
/// only: serde's own error text may quote values, so it is never kept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a JSON object.
    #[error("not a JSON object ({category} error at line {line}, column {column})")]
    NotJson {
        /// serde_json's error category (syntax, data, eof, io).
        category: &'static str,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// The object has no string `msg` field.
    #[error("a JSON object without a \"msg\" field")]
    NoType,
    /// A known message type with a field of the wrong type.
    #[error("{msg} message with a field of the wrong type")]
    BadField {
        /// The message type.
        msg: String,
    },
}

fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "eof",
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(de::Error::custom("expected a string or a number")),
    }
}

impl Message {
    /// Parses one text frame from AusweisApp.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut object: serde_json::Map<String, Value> =
            serde_json::from_str(text).map_err(|error| ParseError::NotJson {
                category: category(&error),
                line: error.line(),
                column: error.column(),
            })?;
        let kind = match object.remove("msg") {
            Some(Value::String(kind)) => kind,
            _ => return Err(ParseError::NoType),
        };
        let fields: Vec<String> = object.keys().cloned().collect();
        let value = Value::Object(object);
        fn typed<T: for<'de> Deserialize<'de>>(value: Value, kind: &str) -> Result<T, ParseError> {
            T::deserialize(value).map_err(|_| ParseError::BadField {
                msg: kind.to_owned(),
            })
        }
        let message = match kind.as_str() {
            "ACCESS_RIGHTS" => Self::AccessRights(typed(value, &kind)?),
            "API_LEVEL" => Self::ApiLevel(typed(value, &kind)?),
            "AUTH" => Self::Auth(typed(value, &kind)?),
            "BAD_STATE" => Self::BadState(typed(value, &kind)?),
            "CERTIFICATE" => Self::Certificate(typed(value, &kind)?),
            "CHANGE_PIN" => Self::ChangePin(typed(value, &kind)?),
            "ENTER_CAN" => Self::EnterCan(typed(value, &kind)?),
            "ENTER_NEW_PIN" => Self::EnterNewPin(typed(value, &kind)?),
            "ENTER_PIN" => Self::EnterPin(typed(value, &kind)?),
            "ENTER_PUK" => Self::EnterPuk(typed(value, &kind)?),
            "INFO" => Self::Info(typed(value, &kind)?),
            "INSERT_CARD" => Self::InsertCard(typed(value, &kind)?),
            "INTERNAL_ERROR" => Self::InternalError(typed(value, &kind)?),
            "INVALID" => Self::Invalid(typed(value, &kind)?),
            "READER" => Self::Reader(typed(value, &kind)?),
            "READER_LIST" => Self::ReaderList(typed(value, &kind)?),
            "STATUS" => Self::Status(typed(value, &kind)?),
            "UNKNOWN_COMMAND" => Self::UnknownCommand(typed(value, &kind)?),
            _ => Self::Unknown(UnknownMessage { msg: kind, fields }),
        };
        Ok(message)
    }

    /// The `msg` value, e.g. `"ENTER_PIN"` (safe to log).
    pub fn name(&self) -> &str {
        match self {
            Self::AccessRights(_) => "ACCESS_RIGHTS",
            Self::ApiLevel(_) => "API_LEVEL",
            Self::Auth(_) => "AUTH",
            Self::BadState(_) => "BAD_STATE",
            Self::Certificate(_) => "CERTIFICATE",
            Self::ChangePin(_) => "CHANGE_PIN",
            Self::EnterCan(_) => "ENTER_CAN",
            Self::EnterNewPin(_) => "ENTER_NEW_PIN",
            Self::EnterPin(_) => "ENTER_PIN",
            Self::EnterPuk(_) => "ENTER_PUK",
            Self::Info(_) => "INFO",
            Self::InsertCard(_) => "INSERT_CARD",
            Self::InternalError(_) => "INTERNAL_ERROR",
            Self::Invalid(_) => "INVALID",
            Self::Reader(_) => "READER",
            Self::ReaderList(_) => "READER_LIST",
            Self::Status(_) => "STATUS",
            Self::UnknownCommand(_) => "UNKNOWN_COMMAND",
            Self::Unknown(unknown) => &unknown.msg,
        }
    }

    /// Names of fields this crate did not know, nested ones as `reader.card.x` (for a
    /// log line; values are never kept).
    pub fn unknown_fields(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut add = |prefix: &str, fields: &UnknownFields| {
            names.extend(fields.0.iter().map(|name| format!("{prefix}{name}")));
        };
        fn reader(add: &mut impl FnMut(&str, &UnknownFields), prefix: &str, reader: &Reader) {
            add(prefix, &reader.unknown);
            if let Some(card) = &reader.card {
                add(&format!("{prefix}card."), &card.unknown);
            }
        }
        match self {
            Self::AccessRights(m) => {
                add("", &m.unknown);
                add("chat.", &m.chat.unknown);
                if let Some(aux) = &m.aux {
                    add("aux.", &aux.unknown);
                }
            }
            Self::ApiLevel(m) => add("", &m.unknown),
            Self::Auth(m) => {
                add("", &m.unknown);
                if let Some(result) = &m.result {
                    add("result.", &result.unknown);
                }
            }
            Self::BadState(m)
            | Self::InternalError(m)
            | Self::Invalid(m)
            | Self::UnknownCommand(m) => add("", &m.unknown),
            Self::Certificate(m) => {
                add("", &m.unknown);
                add("description.", &m.description.unknown);
                add("validity.", &m.validity.unknown);
            }
            Self::ChangePin(m) => add("", &m.unknown),
            Self::EnterCan(m) | Self::EnterNewPin(m) | Self::EnterPin(m) | Self::EnterPuk(m) => {
                add("", &m.unknown);
                if let Some(r) = &m.reader {
                    reader(&mut add, "reader.", r);
                }
            }
            Self::Info(m) => {
                add("", &m.unknown);
                add("VersionInfo.", &m.version_info.unknown);
            }
            Self::InsertCard(m) => add("", &m.unknown),
            Self::Reader(m) => reader(&mut add, "", m),
            Self::ReaderList(m) => {
                add("", &m.unknown);
                for r in &m.readers {
                    reader(&mut add, "readers[].", r);
                }
            }
            Self::Status(m) => add("", &m.unknown),
            Self::Unknown(_) => {}
        }
        names.sort();
        names.dedup();
        names
    }

    /// The command name a `BAD_STATE` or `UNKNOWN_COMMAND` refers to.
    pub fn rejected_command(&self) -> Option<&str> {
        match self {
            Self::BadState(m) | Self::UnknownCommand(m) => m.error.as_deref(),
            _ => None,
        }
    }
}
