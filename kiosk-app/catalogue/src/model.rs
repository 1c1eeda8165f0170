//! The checked catalogue: what the journey, the UI and the receipt read.
//!
//! Values of these types exist only after [`crate::Catalogue::load_dir`] (or one
//! of its siblings) accepted the files, so code that reads them may rely on the
//! invariants the checker enforces: every text in every language, every
//! condition refers to an existing field, options are non-empty, and so on.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Condition;
use crate::lang::{Language, LocalizedText};

/// The whole service catalogue a kiosk offers.
#[derive(Clone, Debug, Serialize)]
pub struct Catalogue {
    /// The catalogue's own version, shown to staff (e.g. `2026.11.24`).
    pub version: String,
    /// Languages every text is given in; the first is the default.
    pub languages: Vec<Language>,
    /// Validation message templates, by error code.
    pub messages: BTreeMap<String, LocalizedText>,
    /// The services, in the order the service screen shows them.
    pub services: Vec<Service>,
}

impl Catalogue {
    /// The service with `id`.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }
}

/// Whether a service asks who the citizen is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityRequirement {
    /// The citizen must identify with one of the allowed methods.
    Required,
    /// The citizen may identify (to pre-fill the form) or type everything in.
    Optional,
    /// The service does not ask; the identify step is skipped.
    NotOffered,
}

/// A way a citizen can identify at the kiosk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMethod {
    /// German ID card or Smart-eID through AusweisApp (online only).
    Eid,
    /// Passport or ID card chip read with the CAN (eMRTD).
    Passport,
    /// A signed token from a phone app over NFC.
    Phone,
}

impl IdentityMethod {
    /// Every method, in the order the identify screen shows them.
    pub const ALL: [IdentityMethod; 3] = [Self::Eid, Self::Passport, Self::Phone];

    /// The name used in catalogue files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Eid => "eid",
            Self::Passport => "passport",
            Self::Phone => "phone",
        }
    }
}

/// An identity attribute that an identification can provide for pre-filling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityAttribute {
    /// Given names.
    GivenNames,
    /// Family name.
    Surname,
    /// Name at birth (eID only).
    BirthName,
    /// Date of birth, ISO `YYYY-MM-DD`.
    DateOfBirth,
    /// Place of birth (eID only).
    PlaceOfBirth,
    /// Nationality, ISO 3166-1 alpha-3 as on travel documents (`D` for Germany).
    Nationality,
    /// Street of the registered address (eID only).
    Street,
    /// House number of the registered address (eID only).
    HouseNumber,
    /// Postal code of the registered address (eID only).
    PostalCode,
    /// City of the registered address (eID only).
    City,
}

impl IdentityAttribute {
    /// Every attribute.
    pub const ALL: [IdentityAttribute; 10] = [
        Self::GivenNames,
        Self::Surname,
        Self::BirthName,
        Self::DateOfBirth,
        Self::PlaceOfBirth,
        Self::Nationality,
        Self::Street,
        Self::HouseNumber,
        Self::PostalCode,
        Self::City,
    ];

    /// The name used in catalogue files.
    pub fn name(self) -> &'static str {
        match self {
            Self::GivenNames => "given_names",
            Self::Surname => "surname",
            Self::BirthName => "birth_name",
            Self::DateOfBirth => "date_of_birth",
            Self::PlaceOfBirth => "place_of_birth",
            Self::Nationality => "nationality",
            Self::Street => "street",
            Self::HouseNumber => "house_number",
            Self::PostalCode => "postal_code",
            Self::City => "city",
        }
    }

    /// Parses the catalogue name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// One service (one OZG application form).
#[derive(Clone, Debug, Serialize)]
pub struct Service {
    /// Stable id, e.g. `dog-tax`.
    pub id: String,
    /// Version of this service's form; goes with every submission.
    pub version: u32,
    /// Icon name the UI maps to a shipped icon.
    pub icon: String,
    /// Tile title.
    pub title: LocalizedText,
    /// One or two sentences under the title.
    pub description: LocalizedText,
    /// Whether the citizen is asked to identify.
    pub identity: IdentityRequirement,
    /// Allowed identification methods (empty when not offered).
    pub identity_methods: Vec<IdentityMethod>,
    /// The form pages, in order.
    pub pages: Vec<Page>,
    /// Consents the citizen must give before submitting.
    pub consents: Vec<Consent>,
    /// Text on the receipt saying what happens next.
    pub next_steps: LocalizedText,
}

impl Service {
    /// Every top-level field of every page, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.pages.iter().flat_map(|p| p.fields.iter())
    }

    /// The top-level field `id`.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().find(|f| f.id == id)
    }

    /// Number of fields including those inside groups.
    pub fn field_count(&self) -> usize {
        fn count(fields: &[Field]) -> usize {
            fields
                .iter()
                .map(|f| match &f.kind {
                    FieldKind::Group { fields, .. } => 1 + count(fields),
                    _ => 1,
                })
                .sum()
        }
        self.pages.iter().map(|p| count(&p.fields)).sum()
    }
}

/// A page of a form.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    /// Id, unique in the service.
    pub id: String,
    /// Heading.
    pub title: LocalizedText,
    /// Shown only when this holds (always when `None`).
    pub visible_if: Option<Condition>,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

/// A consent the citizen gives by ticking a box.
#[derive(Clone, Debug, Serialize)]
pub struct Consent {
    /// Id, unique in the service.
    pub id: String,
    /// The full text the citizen agrees to.
    pub text: LocalizedText,
}

/// One question on a form.
#[derive(Clone, Debug, Serialize)]
pub struct Field {
    /// Id, unique in the service (in a group: unique in the group).
    pub id: String,
    /// What the field is and how it is validated.
    pub kind: FieldKind,
    /// The question.
    pub label: LocalizedText,
    /// A hint under the field, if any.
    pub help: Option<LocalizedText>,
    /// Whether an answer is needed (only while the field is visible).
    pub required: bool,
    /// Shown only when this holds.
    pub visible_if: Option<Condition>,
    /// Identity attribute that may pre-fill this field.
    pub prefill: Option<IdentityAttribute>,
    /// Whether the answer may be printed on the receipt (never personal data).
    pub on_receipt: bool,
}

/// A selectable option of a choice field.
#[derive(Clone, Debug, Serialize)]
pub struct ChoiceOption {
    /// Stored value, stable across languages.
    pub value: String,
    /// What the citizen sees.
    pub label: LocalizedText,
}

/// The type of a field with its type-specific rules.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text {
        /// Minimum length in characters.
        min_length: Option<u32>,
        /// Maximum length in characters.
        max_length: u32,
    },
    /// Several lines of text.
    Multiline {
        /// Minimum length in characters.
        min_length: Option<u32>,
        /// Maximum length in characters.
        max_length: u32,
    },
    /// A whole number.
    Integer {
        /// Smallest allowed value.
        min: Option<i64>,
        /// Largest allowed value.
        max: Option<i64>,
    },
    /// A decimal number (comma or point).
    Decimal {
        /// Smallest allowed value.
        min: Option<f64>,
        /// Largest allowed value.
        max: Option<f64>,
        /// Digits allowed after the separator.
        decimals: u8,
    },
    /// A calendar date.
    Date {
        /// For birth dates: the person is at least this old today.
        min_age: Option<u32>,
        /// For birth dates: the person is at most this old today.
        max_age: Option<u32>,
        /// The date is at least this many days from today (negative: in the past).
        earliest_days: Option<i32>,
        /// The date is at most this many days from today (negative: in the past).
        latest_days: Option<i32>,
    },
    /// Exactly one of the options.
    Choice {
        /// The options.
        options: Vec<ChoiceOption>,
    },
    /// Any number of the options within bounds.
    MultiChoice {
        /// The options.
        options: Vec<ChoiceOption>,
        /// Least number of chosen options (when answered).
        min_choices: Option<u32>,
        /// Most number of chosen options.
        max_choices: Option<u32>,
    },
    /// A tick box; `required` means it must be ticked.
    Checkbox,
    /// An e-mail address.
    Email,
    /// A phone number, normalised to E.164 (German numbers without +49 accepted).
    Phone,
    /// A German postal code (five digits).
    PostalCode,
    /// An IBAN, checked with mod-97, stored without spaces.
    Iban,
    /// Street and house number.
    StreetAddress,
    /// A repeating group of fields (e.g. several dogs).
    Group {
        /// Fields of one item.
        fields: Vec<Field>,
        /// Least number of items.
        min_items: u32,
        /// Most number of items.
        max_items: u32,
        /// Heading of one item, e.g. "Hund"; the UI adds its number.
        item_label: LocalizedText,
    },
}

impl FieldKind {
    /// The name used in catalogue files.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Multiline { .. } => "multiline",
            Self::Integer { .. } => "integer",
            Self::Decimal { .. } => "decimal",
            Self::Date { .. } => "date",
            Self::Choice { .. } => "choice",
            Self::MultiChoice { .. } => "multi_choice",
            Self::Checkbox => "checkbox",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::PostalCode => "postal_code",
            Self::Iban => "iban",
            Self::StreetAddress => "street_address",
            Self::Group { .. } => "group",
        }
    }

    /// The options of a choice field.
    pub fn options(&self) -> Option<&[ChoiceOption]> {
        match self {
            Self::Choice { options } | Self::MultiChoice { options, .. } => Some(options),
            _ => None,
        }
    }
}
