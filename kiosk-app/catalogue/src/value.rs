//! What a citizen entered into a field.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The value of one field: personal data.
///
/// `Debug` never shows the content (only its shape), and there is no `Display`,
/// so a value cannot end up in a log line, a panic message or a metric by
/// accident. Holders zeroise it on wipe (`Zeroize`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    /// Text, multi-line text, numbers, dates (ISO `YYYY-MM-DD`), e-mail,
    /// phone, postal code and IBAN, as typed or as normalised by validation.
    Text(String),
    /// The `value` of the chosen option of a single-choice field.
    Choice(String),
    /// The `value`s of the chosen options of a multiple-choice field.
    Choices(Vec<String>),
    /// A checkbox.
    Checked(bool),
    /// Street and house number, entered separately.
    Address {
        /// Street name.
        street: String,
        /// House number with optional letter or range, e.g. `12a` or `3-5`.
        number: String,
    },
    /// The items of a repeating group, each a list of `(field id, value)`.
    Group(Vec<GroupItem>),
}

/// One item of a repeating group (for example one dog).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupItem {
    /// The values of the group's fields, by field id.
    pub values: Vec<(String, FieldValue)>,
}

impl GroupItem {
    /// The value of the group field `id`.
    pub fn get(&self, id: &str) -> Option<&FieldValue> {
        self.values.iter().find(|(k, _)| k == id).map(|(_, v)| v)
    }

    /// Sets the group field `id`, replacing (and zeroising) an earlier value.
    pub fn set(&mut self, id: &str, value: FieldValue) {
        match self.values.iter_mut().find(|(k, _)| k == id) {
            Some((_, old)) => {
                old.zeroize();
                *old = value;
            }
            None => self.values.push((id.to_owned(), value)),
        }
    }
}

impl FieldValue {
    /// Whether the value counts as empty for `required` and `is_empty(...)`:
    /// blank text, no choice, an unchecked box, a blank address or no group items.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Text(t) | Self::Choice(t) => t.trim().is_empty(),
            Self::Choices(c) => c.is_empty(),
            Self::Checked(c) => !c,
            Self::Address { street, number } => {
                street.trim().is_empty() && number.trim().is_empty()
            }
            Self::Group(items) => items.is_empty(),
        }
    }

    /// The kind of value, for error messages that must not show the content.
    pub fn shape(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Choice(_) => "choice",
            Self::Choices(_) => "choices",
            Self::Checked(_) => "checkbox",
            Self::Address { .. } => "address",
            Self::Group(_) => "group",
        }
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldValue::{}(<redacted>)", self.shape())
    }
}

impl fmt::Debug for GroupItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupItem(<{} redacted values>)", self.values.len())
    }
}

impl Zeroize for FieldValue {
    fn zeroize(&mut self) {
        match self {
            Self::Text(t) | Self::Choice(t) => t.zeroize(),
            Self::Choices(c) => c.zeroize(),
            Self::Checked(c) => c.zeroize(),
            Self::Address { street, number } => {
                street.zeroize();
                number.zeroize();
            }
            Self::Group(items) => items.zeroize(),
        }
    }
}

impl Zeroize for GroupItem {
    fn zeroize(&mut self) {
        for (id, value) in &mut self.values {
            id.zeroize();
            value.zeroize();
        }
        self.values.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_value() {
        let value = FieldValue::Group(vec![GroupItem {
            values: vec![
                ("name".into(), FieldValue::Text("Bello Geheimname".into())),
                (
                    "address".into(),
                    FieldValue::Address {
                        street: "Ahstraße".into(),
                        number: "17".into(),
                    },
                ),
            ],
        }]);
        let shown = format!("{value:?} {:#?}", value);
        assert!(!shown.contains("Bello"), "{shown}");
        assert!(!shown.contains("Ahstraße"), "{shown}");
        assert!(!shown.contains("name"), "{shown}");
    }

    #[test]
    fn zeroize_clears_text_and_group_items() {
        let mut value = FieldValue::Text("Erika".into());
        value.zeroize();
        assert_eq!(value, FieldValue::Text(String::new()));
        let mut item = GroupItem::default();
        item.set("name", FieldValue::Text("Bello".into()));
        item.set("name", FieldValue::Text("Rex".into()));
        assert_eq!(item.values.len(), 1);
        item.zeroize();
        assert!(item.values.is_empty());
    }
}
