//! Plausible, valid answers for every field type, to walk a form to its end
//! for screenshots and tests (Erika Mustermann, the German sample citizen).

use kiosk_catalogue::{Field, FieldKind, FieldValue, GroupItem};
use time::{Date, Duration};

/// A valid answer for `field` on `today`, or `None` for optional fields left empty.
pub(crate) fn answer(field: &Field, today: Date) -> Option<FieldValue> {
    let text = |s: &str| Some(FieldValue::Text(s.to_owned()));
    match &field.kind {
        FieldKind::Text {
            min_length,
            max_length,
        }
        | FieldKind::Multiline {
            min_length,
            max_length,
        } => {
            let base = if matches!(field.kind, FieldKind::Multiline { .. }) {
                "Schwarzer Regenschirm mit Holzgriff, gefunden im Bus 383."
            } else if field.id.contains("given") {
                "Erika"
            } else if field.id.contains("surname") || field.id.contains("name") {
                "Mustermann"
            } else if field.id.contains("city") || field.id.contains("place") {
                "Gelsenkirchen"
            } else {
                "Musterangabe"
            };
            let mut value = base.to_owned();
            while value.chars().count() < min_length.unwrap_or(0) as usize {
                value.push_str(" Text");
            }
            Some(FieldValue::Text(
                value.chars().take(*max_length as usize).collect(),
            ))
        }
        FieldKind::Integer { min, max } => {
            let value = min.unwrap_or(1).max(1).min(max.unwrap_or(i64::MAX));
            Some(FieldValue::Text(value.to_string()))
        }
        FieldKind::Decimal { min, max, .. } => {
            let value = min.unwrap_or(1.0).max(1.0).min(max.unwrap_or(f64::MAX));
            Some(FieldValue::Text(format!("{value:.0}")))
        }
        FieldKind::Date {
            min_age,
            max_age,
            earliest_days,
            latest_days,
        } => {
            let date = if min_age.is_some() || max_age.is_some() {
                let age = min_age.map_or(40, |a| a + 1).min(
                    max_age
                        .map_or(u32::MAX, |a| a.saturating_sub(1))
                        .max(min_age.unwrap_or(0)),
                );
                Date::from_calendar_date(today.year() - age as i32, time::Month::January, 15)
                    .ok()?
            } else {
                let days = match (earliest_days, latest_days) {
                    (Some(e), _) => *e as i64 + 1,
                    (None, Some(l)) => (*l as i64 - 1).min(0),
                    (None, None) => 0,
                };
                let days = latest_days.map_or(days, |l| days.min(l as i64));
                today.checked_add(Duration::days(days))?
            };
            text(&format!(
                "{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ))
        }
        FieldKind::Choice { options } => Some(FieldValue::Choice(options.first()?.value.clone())),
        FieldKind::MultiChoice {
            options,
            min_choices,
            ..
        } => Some(FieldValue::Choices(
            options
                .iter()
                .take(min_choices.unwrap_or(1).max(1) as usize)
                .map(|o| o.value.clone())
                .collect(),
        )),
        FieldKind::Checkbox => field.required.then_some(FieldValue::Checked(true)),
        FieldKind::Email => text("erika.mustermann@example.org"),
        FieldKind::Phone => text("0209 1234567"),
        FieldKind::PostalCode => text("45879"),
        FieldKind::Iban => text("DE89370400440532013000"),
        FieldKind::StreetAddress => Some(FieldValue::Address {
            street: "Ahstraße".to_owned(),
            number: "17".to_owned(),
        }),
        FieldKind::Group {
            fields, min_items, ..
        } => {
            let items = (0..(*min_items).max(1))
                .map(|_| {
                    let mut item = GroupItem::default();
                    for inner in fields {
                        if let Some(value) = answer(inner, today) {
                            item.set(&inner.id, value);
                        }
                    }
                    item
                })
                .collect();
            Some(FieldValue::Group(items))
        }
    }
}
