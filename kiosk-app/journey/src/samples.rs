//! Valid sample answers for any field, for the demo and for tests that walk
//! every shipped service. Values are fictitious (Erika Musterfrau, the
//! Bundesbank's documented test IBAN) and never real personal data.

use kiosk_catalogue::{Field, FieldKind, FieldValue, GroupItem};
use time::{Date, Duration};

/// Which option to choose, so conditional branches can be walked both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionPick {
    /// The first option of every choice.
    First,
    /// The last option of every choice (often "other", revealing follow-up fields).
    Last,
}

/// A value that passes `field`'s validation on `today`.
pub fn sample_value(field: &Field, pick: OptionPick, today: Date) -> FieldValue {
    match &field.kind {
        FieldKind::Text {
            min_length,
            max_length,
        }
        | FieldKind::Multiline {
            min_length,
            max_length,
        } => {
            let base = sample_text(&field.id);
            let needed = min_length.unwrap_or(0) as usize;
            let text = base.repeat(needed / base.chars().count() + 1);
            let text = if needed <= base.chars().count() {
                base.to_owned()
            } else {
                text
            };
            FieldValue::Text(text.chars().take(*max_length as usize).collect())
        }
        FieldKind::Integer { min, max } => {
            let value = min.unwrap_or(1).max(1);
            FieldValue::Text(max.map_or(value, |m| value.min(m)).to_string())
        }
        FieldKind::Decimal { min, max, .. } => {
            let value = min.unwrap_or(1.0).max(1.0);
            let value = max.map_or(value, |m| value.min(m));
            FieldValue::Text(format!("{value}").replace('.', ","))
        }
        FieldKind::Date {
            min_age,
            max_age,
            earliest_days,
            latest_days,
        } => {
            let date = if let Some(age) = min_age {
                today - Duration::days(365 * i64::from(age + 2))
            } else if max_age.is_some() {
                today - Duration::days(365 * 30)
            } else if let Some(days) = earliest_days {
                today + Duration::days(i64::from(*days))
            } else if let Some(days) = latest_days {
                today + Duration::days(i64::from((*days).min(0)))
            } else {
                today - Duration::days(400)
            };
            FieldValue::Text(date.to_string())
        }
        FieldKind::Choice { options } => FieldValue::Choice(match pick {
            OptionPick::First => options[0].value.clone(),
            OptionPick::Last => options[options.len() - 1].value.clone(),
        }),
        FieldKind::MultiChoice {
            options,
            min_choices,
            ..
        } => {
            let n = min_choices.unwrap_or(1).max(1) as usize;
            let chosen = match pick {
                OptionPick::First => options.iter().take(n).map(|o| o.value.clone()).collect(),
                OptionPick::Last => options
                    .iter()
                    .rev()
                    .take(n)
                    .map(|o| o.value.clone())
                    .collect(),
            };
            FieldValue::Choices(chosen)
        }
        FieldKind::Checkbox => FieldValue::Checked(true),
        FieldKind::Email => FieldValue::Text("erika.musterfrau@example.de".into()),
        FieldKind::Phone => FieldValue::Text("0209 169-0".into()),
        FieldKind::PostalCode => FieldValue::Text("45879".into()),
        // The Bundesbank's published example IBAN.
        FieldKind::Iban => FieldValue::Text("DE89 3704 0044 0532 0130 00".into()),
        FieldKind::StreetAddress => FieldValue::Address {
            street: "Musterstraße".into(),
            number: "11".into(),
        },
        FieldKind::Group {
            fields, min_items, ..
        } => {
            let items = (0..(*min_items).max(1))
                .map(|_| {
                    let mut item = GroupItem::default();
                    for sub in fields {
                        item.set(&sub.id, sample_value(sub, pick, today));
                    }
                    item
                })
                .collect();
            FieldValue::Group(items)
        }
    }
}

/// Plausible text for well-known field ids, so demo receipts and screenshots read naturally.
fn sample_text(id: &str) -> &'static str {
    match id {
        i if i.contains("given") || i.contains("first_name") => "Erika",
        i if i.contains("surname") || i.contains("family_name") || i.contains("last_name") => {
            "Musterfrau"
        }
        i if i.contains("holder") || i.contains("guardian_name") || i.contains("contact_name") => {
            "Erika Musterfrau"
        }
        i if i.contains("city") || i.contains("place") => "Gelsenkirchen",
        i if i == "name" || i.ends_with("_name") => "Bello",
        i if i.contains("chip") => "276098100123456",
        i if i.contains("location") || i.contains("where") => "Bahnhofsvorplatz",
        _ => "Beispielangabe",
    }
}
