//! A form page as flat rows, and how typing and tapping change answers.

use kiosk_catalogue::{Field, FieldKind, FieldProblem, FieldValue, GroupItem};
use kiosk_journey::Journey;
use zeroize::Zeroizing;

use crate::keyboard::{self, KeyAction};

/// Where a row's answer lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A top-level field.
    Field(String),
    /// A field inside group item `index`.
    GroupField {
        group: String,
        index: usize,
        field: String,
    },
}

/// What a row is.
#[derive(Clone, Debug)]
pub(crate) enum RowRole {
    /// A question with an answer.
    Input { target: Target, field: Box<Field> },
    /// The group's own label, help and group-level problems.
    GroupTitle,
    /// "Hund 1" with its remove button.
    GroupItem { group: String, index: usize },
    /// "Hund hinzufügen".
    GroupAdd { group: String },
}

/// A row with its current answer (personal: zeroised on drop, never logged).
pub(crate) struct Row {
    pub role: RowRole,
    pub kind: &'static str,
    pub label: String,
    pub help: String,
    pub error: String,
    pub required: bool,
    pub in_group: bool,
    pub enabled: bool,
    pub value: Option<Zeroizing<FieldValue>>,
}

/// The keyboard a field needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyboardKind {
    /// Letters (with "@" for e-mail, new line for multi-line text).
    Alpha { email: bool, multiline: bool },
    /// Digits, with an extra key ("+" for phones, "," for decimals).
    Numeric { extra: &'static str },
}

/// The keyboard for typing into `field` (part 1 of an address is the house number).
pub(crate) fn keyboard_for(field: &Field) -> Option<KeyboardKind> {
    Some(match &field.kind {
        FieldKind::Text { .. } | FieldKind::Iban | FieldKind::StreetAddress => {
            KeyboardKind::Alpha {
                email: false,
                multiline: false,
            }
        }
        FieldKind::Email => KeyboardKind::Alpha {
            email: true,
            multiline: false,
        },
        FieldKind::Multiline { .. } => KeyboardKind::Alpha {
            email: false,
            multiline: true,
        },
        FieldKind::Integer { .. } | FieldKind::PostalCode | FieldKind::Date { .. } => {
            KeyboardKind::Numeric { extra: "" }
        }
        FieldKind::Phone => KeyboardKind::Numeric { extra: "+" },
        FieldKind::Decimal { .. } => KeyboardKind::Numeric { extra: "," },
        FieldKind::Choice { .. }
        | FieldKind::MultiChoice { .. }
        | FieldKind::Checkbox
        | FieldKind::Group { .. } => return None,
    })
}

/// The Slint row kind of a field.
fn row_kind(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Multiline { .. } => "multiline",
        FieldKind::Date { .. } => "date",
        FieldKind::Choice { .. } => "choice",
        FieldKind::MultiChoice { .. } => "multi-choice",
        FieldKind::Checkbox => "checkbox",
        FieldKind::StreetAddress => "address",
        FieldKind::Group { .. } => "group",
        FieldKind::Integer { .. }
        | FieldKind::Decimal { .. }
        | FieldKind::PostalCode
        | FieldKind::Phone => "number",
        FieldKind::Text { .. } | FieldKind::Email | FieldKind::Iban => "text",
    }
}

/// The rows of `page` with the journey's answers and problems.
pub(crate) fn rows(journey: &Journey, page: usize) -> Vec<Row> {
    let Some(service) = journey.service() else {
        return Vec::new();
    };
    let Some(page) = service.pages.get(page) else {
        return Vec::new();
    };
    let language = journey.language();
    let problems = journey.problems();
    let message_for = |path: &str| -> String {
        problems
            .iter()
            .filter(|p: &&FieldProblem| p.path == path)
            .map(|p| journey.message(&p.invalid))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut rows = Vec::new();
    for field in page.fields.iter().filter(|f| journey.field_visible(f)) {
        let answer = journey.answer(&field.id).map(|a| &*a.value);
        let mut row = Row {
            role: RowRole::Input {
                target: Target::Field(field.id.clone()),
                field: Box::new(field.clone()),
            },
            kind: row_kind(&field.kind),
            label: field.label.get(language).to_owned(),
            help: field
                .help
                .as_ref()
                .map(|h| h.get(language).to_owned())
                .unwrap_or_default(),
            error: message_for(&field.id),
            required: field.required,
            in_group: false,
            enabled: true,
            value: answer.cloned().map(Zeroizing::new),
        };
        let FieldKind::Group {
            fields,
            min_items,
            max_items,
            item_label,
        } = &field.kind
        else {
            rows.push(row);
            continue;
        };
        row.role = RowRole::GroupTitle;
        row.value = None;
        rows.push(row);
        let items: &[GroupItem] = match answer {
            Some(FieldValue::Group(items)) => items,
            _ => &[],
        };
        let item_label = item_label.get(language);
        for (index, item) in items.iter().enumerate() {
            rows.push(Row {
                role: RowRole::GroupItem {
                    group: field.id.clone(),
                    index,
                },
                kind: "group-header",
                label: format!("{item_label} {}", index + 1),
                help: String::new(),
                error: String::new(),
                required: true,
                in_group: true,
                enabled: items.len() > *min_items as usize,
                value: None,
            });
            for inner in fields {
                if inner.visible_if.as_ref().is_some_and(|c| !c.holds(item)) {
                    continue;
                }
                rows.push(Row {
                    role: RowRole::Input {
                        target: Target::GroupField {
                            group: field.id.clone(),
                            index,
                            field: inner.id.clone(),
                        },
                        field: Box::new(inner.clone()),
                    },
                    kind: row_kind(&inner.kind),
                    label: inner.label.get(language).to_owned(),
                    help: inner
                        .help
                        .as_ref()
                        .map(|h| h.get(language).to_owned())
                        .unwrap_or_default(),
                    error: message_for(&format!("{}[{index}].{}", field.id, inner.id)),
                    required: inner.required,
                    in_group: true,
                    enabled: true,
                    value: item.get(&inner.id).cloned().map(Zeroizing::new),
                });
            }
        }
        rows.push(Row {
            role: RowRole::GroupAdd {
                group: field.id.clone(),
            },
            kind: "group-add",
            label: item_label.to_owned(),
            help: String::new(),
            error: String::new(),
            required: true,
            in_group: false,
            enabled: items.len() < *max_items as usize,
            value: None,
        });
    }
    rows
}

/// The text shown in part `part` of an answer (address: street, number;
/// date: day, month, year).
pub(crate) fn part_text(value: Option<&FieldValue>, kind: &FieldKind, part: usize) -> String {
    match (value, kind) {
        (Some(FieldValue::Text(t)), FieldKind::Date { .. }) => date_parts(t)[part.min(2)].clone(),
        (Some(FieldValue::Text(t)), FieldKind::Decimal { .. }) if part == 0 => t.replace('.', ","),
        (Some(FieldValue::Text(t)), _) if part == 0 => t.clone(),
        (Some(FieldValue::Address { street, number }), _) => {
            if part == 0 {
                street.clone()
            } else {
                number.clone()
            }
        }
        _ => String::new(),
    }
}

/// Day, month and year of a date answer, ISO (`1964-08-12`) or as typed (`12.8.1964`).
pub(crate) fn date_parts(text: &str) -> [String; 3] {
    let text = text.trim();
    if let Some((year, rest)) = text.split_once('-')
        && let Some((month, day)) = rest.split_once('-')
    {
        let strip = |s: &str| s.trim_start_matches('0').to_owned();
        return [strip(day), strip(month), year.to_owned()];
    }
    let mut parts = text.splitn(3, '.').map(str::to_owned);
    [
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    ]
}

/// How many characters part `part` of a field takes at most.
fn max_chars(kind: &FieldKind, part: usize) -> usize {
    match kind {
        FieldKind::Text { max_length, .. } | FieldKind::Multiline { max_length, .. } => {
            *max_length as usize
        }
        FieldKind::Date { .. } => [2, 2, 4][part.min(2)],
        FieldKind::PostalCode => 5,
        FieldKind::Phone => 20,
        FieldKind::Integer { .. } | FieldKind::Decimal { .. } => 12,
        FieldKind::Iban => 42,
        FieldKind::StreetAddress => {
            if part == 0 {
                80
            } else {
                10
            }
        }
        _ => 200,
    }
}

/// The new answer after a key on part `part`, and whether the part is now full
/// (so the next part takes the input). `None` when nothing changed.
pub(crate) fn type_key(
    current: Option<&FieldValue>,
    kind: &FieldKind,
    part: usize,
    action: KeyAction,
    typed: &str,
) -> Option<(FieldValue, bool)> {
    let limit = max_chars(kind, part);
    let mut text = Zeroizing::new(part_text(current, kind, part));
    if !keyboard::apply(&mut text, action, typed, limit) {
        return None;
    }
    let full = text.chars().count() >= limit;
    let value = match kind {
        FieldKind::Date { .. } => {
            let mut parts = current
                .and_then(|v| match v {
                    FieldValue::Text(t) => Some(date_parts(t)),
                    _ => None,
                })
                .unwrap_or_default();
            parts[part.min(2)] = text.to_string();
            if parts.iter().all(|p| p.is_empty()) {
                FieldValue::Text(String::new())
            } else {
                FieldValue::Text(format!("{}.{}.{}", parts[0], parts[1], parts[2]))
            }
        }
        FieldKind::StreetAddress => {
            let (mut street, mut number) = match current {
                Some(FieldValue::Address { street, number }) => (street.clone(), number.clone()),
                _ => (String::new(), String::new()),
            };
            if part == 0 {
                street = text.to_string();
            } else {
                number = text.to_string();
            }
            FieldValue::Address { street, number }
        }
        _ => FieldValue::Text(text.to_string()),
    };
    Some((value, full))
}

/// The answer after tapping option `option` of a choice field.
pub(crate) fn choose(
    current: Option<&FieldValue>,
    kind: &FieldKind,
    option: usize,
) -> Option<FieldValue> {
    match kind {
        FieldKind::Choice { options } => {
            Some(FieldValue::Choice(options.get(option)?.value.clone()))
        }
        FieldKind::MultiChoice { options, .. } => {
            let value = &options.get(option)?.value;
            let mut chosen = match current {
                Some(FieldValue::Choices(c)) => c.clone(),
                _ => Vec::new(),
            };
            if let Some(at) = chosen.iter().position(|c| c == value) {
                chosen.remove(at);
            } else {
                // Keep the catalogue's order, whatever the order of taps.
                chosen.push(value.clone());
                chosen.sort_by_key(|c| options.iter().position(|o| &o.value == c));
            }
            Some(FieldValue::Choices(chosen))
        }
        _ => None,
    }
}

/// Whether option `option` is chosen.
pub(crate) fn is_chosen(current: Option<&FieldValue>, kind: &FieldKind, option: usize) -> bool {
    let Some(value) = kind.options().and_then(|o| o.get(option)).map(|o| &o.value) else {
        return false;
    };
    match current {
        Some(FieldValue::Choice(c)) => c == value,
        Some(FieldValue::Choices(c)) => c.contains(value),
        _ => false,
    }
}

/// How many parts a field has for typing.
pub(crate) fn part_count(kind: &FieldKind) -> usize {
    match kind {
        FieldKind::Date { .. } => 3,
        FieldKind::StreetAddress => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> FieldKind {
        FieldKind::Date {
            min_age: None,
            max_age: None,
            earliest_days: None,
            latest_days: None,
        }
    }

    #[test]
    fn date_parts_read_iso_and_typed_forms() {
        assert_eq!(date_parts("1964-08-02"), ["2", "8", "1964"]);
        assert_eq!(date_parts("12.8."), ["12", "8", ""]);
        assert_eq!(date_parts(""), ["", "", ""]);
    }

    #[test]
    fn typing_a_date_fills_day_month_year_and_reports_full_parts() {
        let kind = date();
        let (v, full) = type_key(None, &kind, 0, KeyAction::Char, "1").unwrap();
        assert!(!full);
        let (v, full) = type_key(Some(&v), &kind, 0, KeyAction::Char, "2").unwrap();
        assert!(full, "two digits fill the day");
        let (v, _) = type_key(Some(&v), &kind, 1, KeyAction::Char, "8").unwrap();
        let mut v = v;
        for d in ["1", "9", "6", "4"] {
            v = type_key(Some(&v), &kind, 2, KeyAction::Char, d).unwrap().0;
        }
        assert_eq!(v, FieldValue::Text("12.8.1964".into()));
        assert_eq!(
            kiosk_catalogue::parse_date("12.8.1964").map(kiosk_catalogue::format_date),
            Some("12.08.1964".into())
        );
        assert!(
            type_key(Some(&v), &kind, 2, KeyAction::Char, "1").is_none(),
            "year is full"
        );
    }

    #[test]
    fn address_parts_are_typed_separately() {
        let kind = FieldKind::StreetAddress;
        let (v, _) = type_key(None, &kind, 0, KeyAction::Char, "A").unwrap();
        let (v, _) = type_key(Some(&v), &kind, 1, KeyAction::Char, "7").unwrap();
        assert_eq!(
            v,
            FieldValue::Address {
                street: "A".into(),
                number: "7".into()
            }
        );
    }

    #[test]
    fn multi_choice_toggles_and_keeps_catalogue_order() {
        let option = |v: &str| kiosk_catalogue::ChoiceOption {
            value: v.into(),
            label: kiosk_catalogue::LocalizedText::from_pairs([("de", v)]),
        };
        let kind = FieldKind::MultiChoice {
            options: vec![option("a"), option("b"), option("c")],
            min_choices: None,
            max_choices: None,
        };
        let v = choose(None, &kind, 2).unwrap();
        let v = choose(Some(&v), &kind, 0).unwrap();
        assert_eq!(v, FieldValue::Choices(vec!["a".into(), "c".into()]));
        assert!(is_chosen(Some(&v), &kind, 0) && !is_chosen(Some(&v), &kind, 1));
        let v = choose(Some(&v), &kind, 0).unwrap();
        assert_eq!(v, FieldValue::Choices(vec!["c".into()]));
    }
}
