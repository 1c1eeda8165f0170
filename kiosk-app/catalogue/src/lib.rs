//! The service catalogue: which services the kiosk offers, and what each form asks.
//!
//! A catalogue is data, not code: a folder with `catalogue.toml` (version,
//! languages, validation messages) and one `services/<id>.toml` per service.
//! The format is documented in `docs/catalogue-format.md`. This crate reads
//! and checks such a folder ([`Catalogue::load_dir`]), evaluates the
//! `visible_if` conditions ([`Condition`]) and validates answers
//! ([`validate_field`]). It does no other I/O and knows nothing about screens.
//!
//! ```
//! use kiosk_catalogue::{Catalogue, Language};
//!
//! let catalogue = Catalogue::embedded_default();
//! let dog_tax = catalogue.service("dog-tax").unwrap();
//! assert_eq!(dog_tax.title.get(&Language::german()), "Hund zur Hundesteuer anmelden");
//! ```
//!
//! Answers are [`FieldValue`]s: personal data whose `Debug` output is redacted.

#![deny(missing_docs)]

mod condition;
mod lang;
mod load;
mod model;
mod validate;
mod value;

pub use condition::{Answers, Condition, ConditionError, Literal};
pub use lang::{Language, LocalizedText};
pub use load::{CatalogueError, CatalogueErrors, FORMAT_VERSION};
pub use model::{
    Catalogue, ChoiceOption, Consent, Field, FieldKind, IdentityAttribute, IdentityMethod,
    IdentityRequirement, Page, Service,
};
pub use validate::{
    DateRules, FieldProblem, Invalid, ValidationContext, age_on, check_date, format_date,
    parse_date, validate_field, validate_value,
};
pub use value::{FieldValue, GroupItem};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/default_catalogue.rs"));
}

impl Catalogue {
    /// The catalogue shipped inside the binary (`kiosk-app/catalogue/default`).
    ///
    /// It is checked by the test suite, so this cannot fail in a released build.
    pub fn embedded_default() -> Self {
        Self::from_files(&Self::embedded_default_files())
            .unwrap_or_else(|e| panic!("the embedded default catalogue is invalid:\n{e}"))
    }

    /// The files of the shipped catalogue, as `(relative path, contents)`.
    pub fn embedded_default_files() -> Vec<(String, String)> {
        embedded::DEFAULT_FILES
            .iter()
            .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
            .collect()
    }
}
