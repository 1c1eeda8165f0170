//! Validation and normalisation of field values.
//!
//! Validation never shows the value in its errors: an [`Invalid`] names the
//! rule that failed and the rule's parameters, and the catalogue's message
//! templates turn that into a sentence in the citizen's language.

use std::str::FromStr;

use time::{Date, Month};

use crate::condition::Answers;
use crate::model::{ChoiceOption, Field, FieldKind};
use crate::value::{FieldValue, GroupItem};

/// What validation needs to know about the world.
#[derive(Clone, Copy, Debug)]
pub struct ValidationContext {
    /// Today's date at the kiosk, for age and date-range rules.
    pub today: Date,
}

/// A rule an answer breaks. Carries rule parameters, never the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// A required answer is missing.
    Required,
    /// Text shorter than `min` characters.
    TooShort {
        /// Minimum length.
        min: u32,
    },
    /// Text longer than `max` characters.
    TooLong {
        /// Maximum length.
        max: u32,
    },
    /// Text with characters a form cannot hold (control characters).
    InvalidCharacters,
    /// Not a whole number.
    NotAWholeNumber,
    /// Not a number.
    NotANumber,
    /// Below the minimum.
    BelowMinimum {
        /// The minimum, formatted.
        min: String,
    },
    /// Above the maximum.
    AboveMaximum {
        /// The maximum, formatted.
        max: String,
    },
    /// More digits after the separator than allowed.
    TooManyDecimals {
        /// Allowed digits.
        max: u8,
    },
    /// Not a calendar date.
    InvalidDate,
    /// The person is younger than `min_age`.
    TooYoung {
        /// Minimum age in years.
        min_age: u32,
    },
    /// The person is older than `max_age`.
    TooOld {
        /// Maximum age in years.
        max_age: u32,
    },
    /// The date is before `earliest`.
    DateTooEarly {
        /// Earliest allowed date.
        earliest: Date,
    },
    /// The date is after `latest`.
    DateTooLate {
        /// Latest allowed date.
        latest: Date,
    },
    /// A value that is not one of the options.
    UnknownOption,
    /// Fewer options chosen than `min`.
    TooFewChoices {
        /// Minimum number of choices.
        min: u32,
    },
    /// More options chosen than `max`.
    TooManyChoices {
        /// Maximum number of choices.
        max: u32,
    },
    /// A box that must be ticked is not.
    MustBeChecked,
    /// Not an e-mail address.
    InvalidEmail,
    /// Not a phone number.
    InvalidPhone,
    /// Not a German postal code.
    InvalidPostalCode,
    /// Not a valid IBAN (format or check digits).
    InvalidIban,
    /// The street is missing or not a street name.
    InvalidStreet,
    /// The house number is missing or malformed.
    InvalidHouseNumber,
    /// Fewer group items than `min`.
    TooFewItems {
        /// Minimum number of items.
        min: u32,
    },
    /// More group items than `max`.
    TooManyItems {
        /// Maximum number of items.
        max: u32,
    },
    /// The value has the wrong shape for the field (a programming error in
    /// the UI, reported rather than panicking).
    WrongKind,
}

impl Invalid {
    /// Every message code, for the completeness check of the message templates.
    pub const CODES: [&'static str; 27] = [
        "required",
        "too_short",
        "too_long",
        "invalid_characters",
        "not_a_whole_number",
        "not_a_number",
        "below_minimum",
        "above_maximum",
        "too_many_decimals",
        "invalid_date",
        "too_young",
        "too_old",
        "date_too_early",
        "date_too_late",
        "unknown_option",
        "too_few_choices",
        "too_many_choices",
        "must_be_checked",
        "invalid_email",
        "invalid_phone",
        "invalid_postal_code",
        "invalid_iban",
        "invalid_street",
        "invalid_house_number",
        "too_few_items",
        "too_many_items",
        "wrong_kind",
    ];

    /// The placeholders each template may use, by code.
    pub fn placeholders(code: &str) -> &'static [&'static str] {
        match code {
            "too_short" | "below_minimum" | "too_few_choices" | "too_few_items" => &["min"],
            "too_long" | "above_maximum" | "too_many_decimals" | "too_many_choices"
            | "too_many_items" => &["max"],
            "too_young" => &["min_age"],
            "too_old" => &["max_age"],
            "date_too_early" => &["earliest"],
            "date_too_late" => &["latest"],
            _ => &[],
        }
    }

    /// The message code of the rule.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::InvalidCharacters => "invalid_characters",
            Self::NotAWholeNumber => "not_a_whole_number",
            Self::NotANumber => "not_a_number",
            Self::BelowMinimum { .. } => "below_minimum",
            Self::AboveMaximum { .. } => "above_maximum",
            Self::TooManyDecimals { .. } => "too_many_decimals",
            Self::InvalidDate => "invalid_date",
            Self::TooYoung { .. } => "too_young",
            Self::TooOld { .. } => "too_old",
            Self::DateTooEarly { .. } => "date_too_early",
            Self::DateTooLate { .. } => "date_too_late",
            Self::UnknownOption => "unknown_option",
            Self::TooFewChoices { .. } => "too_few_choices",
            Self::TooManyChoices { .. } => "too_many_choices",
            Self::MustBeChecked => "must_be_checked",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidPhone => "invalid_phone",
            Self::InvalidPostalCode => "invalid_postal_code",
            Self::InvalidIban => "invalid_iban",
            Self::InvalidStreet => "invalid_street",
            Self::InvalidHouseNumber => "invalid_house_number",
            Self::TooFewItems { .. } => "too_few_items",
            Self::TooManyItems { .. } => "too_many_items",
            Self::WrongKind => "wrong_kind",
        }
    }

    /// The rule's parameters, to fill the message template.
    pub fn parameters(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooShort { min } | Self::TooFewChoices { min } | Self::TooFewItems { min } => {
                vec![("min", min.to_string())]
            }
            Self::TooLong { max } | Self::TooManyChoices { max } | Self::TooManyItems { max } => {
                vec![("max", max.to_string())]
            }
            Self::BelowMinimum { min } => vec![("min", min.clone())],
            Self::AboveMaximum { max } => vec![("max", max.clone())],
            Self::TooManyDecimals { max } => vec![("max", max.to_string())],
            Self::TooYoung { min_age } => vec![("min_age", min_age.to_string())],
            Self::TooOld { max_age } => vec![("max_age", max_age.to_string())],
            Self::DateTooEarly { earliest } => vec![("earliest", format_date(*earliest))],
            Self::DateTooLate { latest } => vec![("latest", format_date(*latest))],
            _ => Vec::new(),
        }
    }
}

/// A date as the kiosk shows it: `TT.MM.JJJJ`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:02}.{:02}.{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// Where in a form a problem is: a field, or a field inside a group item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// Field id; for group fields `group[index].field` (index from 0).
    pub path: String,
    /// The rule the answer breaks.
    pub invalid: Invalid,
}

/// Validates the answer to `field` (`None` = unanswered) and returns the
/// normalised value to store (`None` when unanswered and optional).
///
/// The field is assumed visible; hidden fields are not validated at all.
pub fn validate_field(
    field: &Field,
    value: Option<&FieldValue>,
    context: &ValidationContext,
) -> Result<Option<FieldValue>, Vec<FieldProblem>> {
    let problem = |invalid| {
        vec![FieldProblem {
            path: field.id.clone(),
            invalid,
        }]
    };
    if let FieldKind::Group {
        fields,
        min_items,
        max_items,
        ..
    } = &field.kind
    {
        let items: &[GroupItem] = match value {
            None => &[],
            Some(FieldValue::Group(items)) => items,
            Some(_) => return Err(problem(Invalid::WrongKind)),
        };
        return validate_group(field, fields, items, *min_items, *max_items, context);
    }
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return if field.required {
            Err(problem(match field.kind {
                FieldKind::Checkbox => Invalid::MustBeChecked,
                _ => Invalid::Required,
            }))
        } else {
            Ok(None)
        };
    };
    validate_value(&field.kind, value, context)
        .map(Some)
        .map_err(problem)
}

fn validate_group(
    field: &Field,
    fields: &[Field],
    items: &[GroupItem],
    min_items: u32,
    max_items: u32,
    context: &ValidationContext,
) -> Result<Option<FieldValue>, Vec<FieldProblem>> {
    let count = items.len() as u32;
    let needed = if field.required {
        min_items.max(1)
    } else {
        min_items
    };
    // An optional group may stay empty; once started it needs `min_items`.
    if count < needed && (field.required || count != 0) {
        let invalid = if count == 0 {
            Invalid::Required
        } else {
            Invalid::TooFewItems { min: needed }
        };
        return Err(vec![FieldProblem {
            path: field.id.clone(),
            invalid,
        }]);
    }
    if count > max_items {
        return Err(vec![FieldProblem {
            path: field.id.clone(),
            invalid: Invalid::TooManyItems { max: max_items },
        }]);
    }
    if items.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let mut normalised_items = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut normalised = GroupItem::default();
        for sub in fields {
            if sub.visible_if.as_ref().is_some_and(|c| !c.holds(item)) {
                continue;
            }
            match validate_field(sub, item.get(&sub.id), context) {
                Ok(Some(v)) => normalised.set(&sub.id, v),
                Ok(None) => {}
                Err(sub_problems) => {
                    problems.extend(sub_problems.into_iter().map(|p| FieldProblem {
                        path: format!("{}[{index}].{}", field.id, p.path),
                        invalid: p.invalid,
                    }))
                }
            }
        }
        normalised_items.push(normalised);
    }
    if problems.is_empty() {
        Ok(Some(FieldValue::Group(normalised_items)))
    } else {
        Err(problems)
    }
}

impl Answers for GroupItem {
    fn value(&self, id: &str) -> Option<&FieldValue> {
        self.get(id)
    }
}

/// Validates a non-empty value against a field type and normalises it.
pub fn validate_value(
    kind: &FieldKind,
    value: &FieldValue,
    context: &ValidationContext,
) -> Result<FieldValue, Invalid> {
    match (kind, value) {
        (
            FieldKind::Text {
                min_length,
                max_length,
            },
            FieldValue::Text(t),
        ) => text(t, *min_length, *max_length, false),
        (
            FieldKind::Multiline {
                min_length,
                max_length,
            },
            FieldValue::Text(t),
        ) => text(t, *min_length, *max_length, true),
        (FieldKind::Integer { min, max }, FieldValue::Text(t)) => integer(t, *min, *max),
        (FieldKind::Decimal { min, max, decimals }, FieldValue::Text(t)) => {
            decimal(t, *min, *max, *decimals)
        }
        (
            FieldKind::Date {
                min_age,
                max_age,
                earliest_days,
                latest_days,
            },
            FieldValue::Text(t),
        ) => {
            let date = parse_date(t).ok_or(Invalid::InvalidDate)?;
            check_date(
                date,
                DateRules {
                    min_age: *min_age,
                    max_age: *max_age,
                    earliest_days: *earliest_days,
                    latest_days: *latest_days,
                },
                context.today,
            )?;
            Ok(FieldValue::Text(date.to_string()))
        }
        (FieldKind::Choice { options }, FieldValue::Choice(c)) => {
            if is_option(options, c) {
                Ok(FieldValue::Choice(c.clone()))
            } else {
                Err(Invalid::UnknownOption)
            }
        }
        (
            FieldKind::MultiChoice {
                options,
                min_choices,
                max_choices,
            },
            FieldValue::Choices(chosen),
        ) => {
            if !chosen.iter().all(|c| is_option(options, c)) {
                return Err(Invalid::UnknownOption);
            }
            // Keep the catalogue's order and drop repeated taps on one option.
            let normalised: Vec<String> = options
                .iter()
                .filter(|o| chosen.contains(&o.value))
                .map(|o| o.value.clone())
                .collect();
            let count = normalised.len() as u32;
            if let Some(min) = min_choices.filter(|&min| count < min) {
                return Err(Invalid::TooFewChoices { min });
            }
            if let Some(max) = max_choices.filter(|&max| count > max) {
                return Err(Invalid::TooManyChoices { max });
            }
            Ok(FieldValue::Choices(normalised))
        }
        (FieldKind::Checkbox, FieldValue::Checked(c)) => Ok(FieldValue::Checked(*c)),
        (FieldKind::Email, FieldValue::Text(t)) => email(t),
        (FieldKind::Phone, FieldValue::Text(t)) => phone(t),
        (FieldKind::PostalCode, FieldValue::Text(t)) => postal_code(t),
        (FieldKind::Iban, FieldValue::Text(t)) => iban(t),
        (FieldKind::StreetAddress, FieldValue::Address { street, number }) => {
            street_address(street, number)
        }
        _ => Err(Invalid::WrongKind),
    }
}

fn is_option(options: &[ChoiceOption], value: &str) -> bool {
    options.iter().any(|o| o.value == value)
}

fn text(t: &str, min: Option<u32>, max: u32, multiline: bool) -> Result<FieldValue, Invalid> {
    let t = t.trim();
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    if !t.chars().all(allowed) {
        return Err(Invalid::InvalidCharacters);
    }
    let length = t.chars().count() as u32;
    if let Some(min) = min.filter(|&min| length < min) {
        return Err(Invalid::TooShort { min });
    }
    if length > max {
        return Err(Invalid::TooLong { max });
    }
    Ok(FieldValue::Text(t.to_owned()))
}

fn integer(t: &str, min: Option<i64>, max: Option<i64>) -> Result<FieldValue, Invalid> {
    let t = t.trim();
    let n: i64 = t.parse().map_err(|_| {
        if t.contains([',', '.']) && decimal_parts(t).is_some() {
            Invalid::NotAWholeNumber
        } else {
            Invalid::NotANumber
        }
    })?;
    if let Some(min) = min.filter(|&min| n < min) {
        return Err(Invalid::BelowMinimum {
            min: min.to_string(),
        });
    }
    if let Some(max) = max.filter(|&max| n > max) {
        return Err(Invalid::AboveMaximum {
            max: max.to_string(),
        });
    }
    Ok(FieldValue::Text(n.to_string()))
}

/// Splits `12,50` or `-3.1` into sign+integer digits and fraction digits.
fn decimal_parts(t: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = match t.find([',', '.']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (!fraction.is_empty() || !t.ends_with([',', '.']));
    ok.then_some((whole, fraction))
}

fn decimal(
    t: &str,
    min: Option<f64>,
    max: Option<f64>,
    decimals: u8,
) -> Result<FieldValue, Invalid> {
    let t = t.trim();
    let (whole, fraction) = decimal_parts(t).ok_or(Invalid::NotANumber)?;
    if fraction.len() > decimals as usize {
        return Err(Invalid::TooManyDecimals { max: decimals });
    }
    let normalised = if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    };
    let n: f64 = normalised.parse().map_err(|_| Invalid::NotANumber)?;
    if let Some(min) = min.filter(|&min| n < min) {
        return Err(Invalid::BelowMinimum {
            min: format_number(min),
        });
    }
    if let Some(max) = max.filter(|&max| n > max) {
        return Err(Invalid::AboveMaximum {
            max: format_number(max),
        });
    }
    Ok(FieldValue::Text(normalised))
}

/// German number formatting for messages: decimal comma.
fn format_number(n: f64) -> String {
    let s = if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        n.to_string()
    };
    s.replace('.', ",")
}

/// Parses `YYYY-MM-DD` or the German `T.M.JJJJ`.
pub fn parse_date(input: &str) -> Option<Date> {
    let input = input.trim();
    let parts: Vec<&str> = if input.contains('-') {
        input.split('-').collect()
    } else {
        let mut p: Vec<&str> = input.split('.').collect();
        p.reverse();
        p
    };
    let [year, month, day] = parts.as_slice() else {
        return None;
    };
    let numeric = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i32>().ok())
            .flatten()
    };
    if year.len() != 4 {
        return None;
    }
    let year = numeric(year, 4)?;
    let month = Month::try_from(u8::try_from(numeric(month, 2)?).ok()?).ok()?;
    let day = u8::try_from(numeric(day, 2)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Rules of a date field.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateRules {
    /// Minimum age in full years today.
    pub min_age: Option<u32>,
    /// Maximum age in full years today.
    pub max_age: Option<u32>,
    /// Earliest date, in days from today.
    pub earliest_days: Option<i32>,
    /// Latest date, in days from today.
    pub latest_days: Option<i32>,
}

/// Checks a date against its rules.
pub fn check_date(date: Date, rules: DateRules, today: Date) -> Result<(), Invalid> {
    if rules.min_age.is_some() || rules.max_age.is_some() {
        // A birth date in the future is not a date of birth at all.
        if date > today {
            return Err(Invalid::InvalidDate);
        }
        let age = age_on(date, today);
        if let Some(min_age) = rules.min_age.filter(|&m| age < m) {
            return Err(Invalid::TooYoung { min_age });
        }
        if let Some(max_age) = rules.max_age.filter(|&m| age > m) {
            return Err(Invalid::TooOld { max_age });
        }
    }
    if let Some(days) = rules.earliest_days {
        let earliest = today.saturating_add(time::Duration::days(days.into()));
        if date < earliest {
            return Err(Invalid::DateTooEarly { earliest });
        }
    }
    if let Some(days) = rules.latest_days {
        let latest = today.saturating_add(time::Duration::days(days.into()));
        if date > latest {
            return Err(Invalid::DateTooLate { latest });
        }
    }
    Ok(())
}

/// Full years between `birth` and `today`. Someone born on 29 February has
/// their birthday on 1 March in other years (§ 188 BGB counts the year as
/// complete at the end of 28 February).
pub fn age_on(birth: Date, today: Date) -> u32 {
    let mut years = today.year() - birth.year();
    let birthday_this_year = Date::from_calendar_date(today.year(), birth.month(), birth.day())
        .unwrap_or_else(|_| {
            Date::from_calendar_date(today.year(), Month::March, 1).expect("1 March exists")
        });
    if today < birthday_this_year {
        years -= 1;
    }
    years.max(0) as u32
}

fn email(t: &str) -> Result<FieldValue, Invalid> {
    let t = t.trim();
    let address = email_address::EmailAddress::from_str(t).map_err(|_| Invalid::InvalidEmail)?;
    // The crate accepts intranet forms such as `a@b` and quoted local parts;
    // a citizen's mail address has a dotted domain and no quotes or spaces.
    let domain = address.domain();
    let plausible = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.starts_with('[')
        && !address.local_part().contains(['"', ' ']);
    if !plausible {
        return Err(Invalid::InvalidEmail);
    }
    Ok(FieldValue::Text(format!(
        "{}@{}",
        address.local_part(),
        domain.to_lowercase()
    )))
}

fn phone(t: &str) -> Result<FieldValue, Invalid> {
    let t = t.trim();
    if t.is_empty() || t.chars().any(|c| c.is_alphabetic()) {
        return Err(Invalid::InvalidPhone);
    }
    let number = phonenumber::parse(Some(phonenumber::country::Id::DE), t)
        .map_err(|_| Invalid::InvalidPhone)?;
    if !phonenumber::is_valid(&number) {
        return Err(Invalid::InvalidPhone);
    }
    Ok(FieldValue::Text(
        number.format().mode(phonenumber::Mode::E164).to_string(),
    ))
}

fn postal_code(t: &str) -> Result<FieldValue, Invalid> {
    let t = t.trim();
    // German postal codes are five digits; no region starts with 00.
    let valid = t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with("00");
    if valid {
        Ok(FieldValue::Text(t.to_owned()))
    } else {
        Err(Invalid::InvalidPostalCode)
    }
}

fn iban(t: &str) -> Result<FieldValue, Invalid> {
    let compact: String = t
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let parsed: iban::Iban = compact.parse().map_err(|_| Invalid::InvalidIban)?;
    Ok(FieldValue::Text(
        iban::IbanLike::electronic_str(&parsed).to_owned(),
    ))
}

fn street_address(street: &str, number: &str) -> Result<FieldValue, Invalid> {
    let street = street.trim();
    let number = number.trim();
    let street_ok = street.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && street.chars().count() <= 100
        && !street.chars().any(char::is_control);
    if !street_ok {
        return Err(Invalid::InvalidStreet);
    }
    if !is_house_number(number) {
        return Err(Invalid::InvalidHouseNumber);
    }
    Ok(FieldValue::Address {
        street: street.to_owned(),
        number: number.to_owned(),
    })
}

/// `12`, `12a`, `12 a`, `3-5`, `3/5`, `7a-7c`.
fn is_house_number(number: &str) -> bool {
    fn single(part: &str) -> bool {
        let part = part.trim();
        let digits = part.chars().take_while(char::is_ascii_digit).count();
        let rest: String = part.chars().skip(digits).filter(|c| *c != ' ').collect();
        (1..=4).contains(&digits)
            && !part.starts_with('0')
            && rest.chars().count() <= 1
            && rest.chars().all(|c| c.is_alphabetic())
    }
    let mut parts = number.split(['-', '/']);
    let first = parts.next().is_some_and(single);
    let rest: Vec<&str> = parts.collect();
    first && rest.len() <= 1 && rest.iter().all(|p| single(p))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const CONTEXT: ValidationContext = ValidationContext {
        today: date!(2026 - 11 - 24),
    };

    fn ok(kind: &FieldKind, input: &str) -> String {
        match validate_value(kind, &FieldValue::Text(input.into()), &CONTEXT) {
            Ok(FieldValue::Text(t)) => t,
            other => panic!("{input:?} for {}: {other:?}", kind.type_name()),
        }
    }

    fn err(kind: &FieldKind, input: &str) -> Invalid {
        validate_value(kind, &FieldValue::Text(input.into()), &CONTEXT).unwrap_err()
    }

    #[test]
    fn phone_numbers_normalise_to_e164() {
        assert_eq!(ok(&FieldKind::Phone, "0209 169-0"), "+492091690");
        assert_eq!(ok(&FieldKind::Phone, "+49 (0)209 1690"), "+492091690");
        assert_eq!(ok(&FieldKind::Phone, "0176 12345678"), "+4917612345678");
        assert_eq!(ok(&FieldKind::Phone, "+90 212 555 12 34"), "+902125551234");
        assert_eq!(err(&FieldKind::Phone, "12"), Invalid::InvalidPhone);
        assert_eq!(err(&FieldKind::Phone, "call me"), Invalid::InvalidPhone);
    }

    #[test]
    fn iban_is_checked_and_compacted() {
        assert_eq!(
            ok(&FieldKind::Iban, "de89 3704 0044 0532 0130 00"),
            "DE89370400440532013000"
        );
        assert_eq!(
            err(&FieldKind::Iban, "DE88 3704 0044 0532 0130 00"),
            Invalid::InvalidIban
        );
        assert_eq!(err(&FieldKind::Iban, "DE89"), Invalid::InvalidIban);
    }

    #[test]
    fn postal_codes_are_five_digits_not_starting_with_00() {
        assert_eq!(ok(&FieldKind::PostalCode, " 45879 "), "45879");
        assert_eq!(ok(&FieldKind::PostalCode, "01067"), "01067");
        for bad in ["4587", "458790", "00123", "45a79", "45 879"] {
            assert_eq!(
                err(&FieldKind::PostalCode, bad),
                Invalid::InvalidPostalCode,
                "{bad}"
            );
        }
    }

    #[test]
    fn email_needs_a_dotted_domain_and_lowercases_it() {
        assert_eq!(
            ok(&FieldKind::Email, "Erika.Muster@Example.DE"),
            "Erika.Muster@example.de"
        );
        for bad in [
            "erika",
            "erika@localhost",
            "@example.de",
            "erika@.de",
            "a b@example.de",
        ] {
            assert_eq!(err(&FieldKind::Email, bad), Invalid::InvalidEmail, "{bad}");
        }
    }

    fn birth_date(min_age: Option<u32>, max_age: Option<u32>) -> FieldKind {
        FieldKind::Date {
            min_age,
            max_age,
            earliest_days: None,
            latest_days: None,
        }
    }

    #[test]
    fn dates_accept_german_and_iso_forms() {
        let kind = birth_date(None, None);
        assert_eq!(ok(&kind, "1.2.1960"), "1960-02-01");
        assert_eq!(ok(&kind, "01.02.1960"), "1960-02-01");
        assert_eq!(ok(&kind, "1960-02-01"), "1960-02-01");
        for bad in [
            "31.02.1960",
            "1.2.60",
            "1960",
            "x",
            "1.2.1960.1",
            "29.02.2025",
        ] {
            assert_eq!(err(&kind, bad), Invalid::InvalidDate, "{bad}");
        }
    }

    #[test]
    fn minimum_age_counts_full_years() {
        let kind = birth_date(Some(16), None);
        assert_eq!(ok(&kind, "24.11.2010"), "2010-11-24");
        assert_eq!(err(&kind, "25.11.2010"), Invalid::TooYoung { min_age: 16 });
        assert_eq!(err(&kind, "01.01.2030"), Invalid::InvalidDate);
        let kind = birth_date(None, Some(120));
        assert_eq!(err(&kind, "01.01.1900"), Invalid::TooOld { max_age: 120 });
    }

    #[test]
    fn leap_day_birthday_falls_on_first_of_march() {
        let born = date!(2008 - 02 - 29);
        assert_eq!(age_on(born, date!(2026 - 02 - 28)), 17);
        assert_eq!(age_on(born, date!(2026 - 03 - 01)), 18);
        assert_eq!(age_on(born, date!(2028 - 02 - 29)), 20);
    }

    #[test]
    fn date_windows_are_relative_to_today() {
        let kind = FieldKind::Date {
            min_age: None,
            max_age: None,
            earliest_days: Some(3),
            latest_days: Some(90),
        };
        assert_eq!(ok(&kind, "27.11.2026"), "2026-11-27");
        assert_eq!(
            err(&kind, "26.11.2026"),
            Invalid::DateTooEarly {
                earliest: date!(2026 - 11 - 27)
            }
        );
        assert_eq!(
            err(&kind, "23.02.2027"),
            Invalid::DateTooLate {
                latest: date!(2027 - 02 - 22)
            }
        );
        assert_eq!(
            Invalid::DateTooLate {
                latest: date!(2027 - 02 - 22)
            }
            .parameters(),
            vec![("latest", "22.02.2027".to_owned())]
        );
    }

    #[test]
    fn numbers_respect_bounds_and_decimals() {
        let int = FieldKind::Integer {
            min: Some(1),
            max: Some(10),
        };
        assert_eq!(ok(&int, " 7 "), "7");
        assert_eq!(err(&int, "0"), Invalid::BelowMinimum { min: "1".into() });
        assert_eq!(err(&int, "11"), Invalid::AboveMaximum { max: "10".into() });
        assert_eq!(err(&int, "2,5"), Invalid::NotAWholeNumber);
        assert_eq!(err(&int, "zwei"), Invalid::NotANumber);
        let dec = FieldKind::Decimal {
            min: Some(0.0),
            max: Some(99.5),
            decimals: 2,
        };
        assert_eq!(ok(&dec, "12,5"), "12.5");
        assert_eq!(ok(&dec, "3"), "3");
        assert_eq!(err(&dec, "1,234"), Invalid::TooManyDecimals { max: 2 });
        assert_eq!(
            err(&dec, "100"),
            Invalid::AboveMaximum { max: "99,5".into() }
        );
        assert_eq!(err(&dec, "-1"), Invalid::BelowMinimum { min: "0".into() });
        assert_eq!(err(&dec, "1,"), Invalid::NotANumber);
        assert_eq!(err(&dec, ",5"), Invalid::NotANumber);
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let kind = FieldKind::Text {
            min_length: Some(2),
            max_length: 5,
        };
        assert_eq!(ok(&kind, "  Öğür "), "Öğür");
        assert_eq!(ok(&kind, "Юлія"), "Юлія");
        assert_eq!(err(&kind, "A"), Invalid::TooShort { min: 2 });
        assert_eq!(err(&kind, "Abcdef"), Invalid::TooLong { max: 5 });
        assert_eq!(err(&kind, "a\u{7}b"), Invalid::InvalidCharacters);
        let multi = FieldKind::Multiline {
            min_length: None,
            max_length: 50,
        };
        assert_eq!(ok(&multi, "Zeile 1\nZeile 2"), "Zeile 1\nZeile 2");
    }

    #[test]
    fn street_and_house_number() {
        let check = |s: &str, n: &str| {
            validate_value(
                &FieldKind::StreetAddress,
                &FieldValue::Address {
                    street: s.into(),
                    number: n.into(),
                },
                &CONTEXT,
            )
        };
        for n in ["1", "12a", "12 a", "3-5", "3/5", "7a-7c", "1234"] {
            assert!(check("Ebertstraße", n).is_ok(), "{n}");
        }
        for n in ["", "a", "0", "12ab", "12345", "1-2-3", "-"] {
            assert_eq!(
                check("Ebertstraße", n),
                Err(Invalid::InvalidHouseNumber),
                "{n}"
            );
        }
        assert_eq!(check("1", "2"), Err(Invalid::InvalidStreet));
        assert!(check("Straße des 17. Juni", "135").is_ok());
    }

    #[test]
    fn every_code_has_a_variant_and_known_placeholders() {
        let samples = [
            Invalid::Required,
            Invalid::TooShort { min: 1 },
            Invalid::TooLong { max: 1 },
            Invalid::InvalidCharacters,
            Invalid::NotAWholeNumber,
            Invalid::NotANumber,
            Invalid::BelowMinimum { min: "1".into() },
            Invalid::AboveMaximum { max: "1".into() },
            Invalid::TooManyDecimals { max: 1 },
            Invalid::InvalidDate,
            Invalid::TooYoung { min_age: 1 },
            Invalid::TooOld { max_age: 1 },
            Invalid::DateTooEarly {
                earliest: CONTEXT.today,
            },
            Invalid::DateTooLate {
                latest: CONTEXT.today,
            },
            Invalid::UnknownOption,
            Invalid::TooFewChoices { min: 1 },
            Invalid::TooManyChoices { max: 1 },
            Invalid::MustBeChecked,
            Invalid::InvalidEmail,
            Invalid::InvalidPhone,
            Invalid::InvalidPostalCode,
            Invalid::InvalidIban,
            Invalid::InvalidStreet,
            Invalid::InvalidHouseNumber,
            Invalid::TooFewItems { min: 1 },
            Invalid::TooManyItems { max: 1 },
            Invalid::WrongKind,
        ];
        let codes: Vec<_> = samples.iter().map(Invalid::code).collect();
        assert_eq!(codes, Invalid::CODES);
        for s in &samples {
            let names: Vec<_> = s.parameters().into_iter().map(|(n, _)| n).collect();
            assert_eq!(names, Invalid::placeholders(s.code()), "{}", s.code());
        }
    }
}
