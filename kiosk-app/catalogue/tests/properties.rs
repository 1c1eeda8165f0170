//! Property tests for the validators.

use kiosk_catalogue::{
    FieldKind, FieldValue, Invalid, ValidationContext, age_on, parse_date, validate_value,
};
use proptest::prelude::*;
use time::{Date, Duration, macros::date};

const CONTEXT: ValidationContext = ValidationContext {
    today: date!(2026 - 11 - 24),
};

fn validate(kind: &FieldKind, input: &str) -> Result<String, Invalid> {
    match validate_value(kind, &FieldValue::Text(input.to_owned()), &CONTEXT)? {
        FieldValue::Text(t) => Ok(t),
        other => panic!("unexpected {other:?}"),
    }
}

/// ISO 13616 check digits, computed independently of the crate under test.
fn iban_with_check_digits(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).unwrap();
        for digit in value.to_string().chars() {
            remainder = (remainder * 10 + digit.to_digit(10).unwrap()) % 97;
        }
    }
    format!("{country}{:02}{bban}", 98 - remainder)
}

proptest! {
    #[test]
    fn every_german_iban_with_correct_check_digits_is_accepted(bban in "[0-9]{18}") {
        let iban = iban_with_check_digits("DE", &bban);
        prop_assert_eq!(validate(&FieldKind::Iban, &iban), Ok(iban.clone()));
        // Print format with spaces and lower case is accepted and compacted.
        let printed: String = iban
            .to_lowercase()
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        prop_assert_eq!(validate(&FieldKind::Iban, &printed), Ok(iban));
    }

    #[test]
    fn any_single_digit_typo_in_an_iban_is_caught(bban in "[0-9]{18}", position in 2usize..22, delta in 1u32..10) {
        let iban = iban_with_check_digits("DE", &bban);
        let mut chars: Vec<char> = iban.chars().collect();
        let digit = chars[position].to_digit(10).unwrap();
        chars[position] = char::from_digit((digit + delta) % 10, 10).unwrap();
        let typo: String = chars.into_iter().collect();
        prop_assert_eq!(validate(&FieldKind::Iban, &typo), Err(Invalid::InvalidIban));
    }

    #[test]
    fn postal_codes_are_exactly_five_digits_not_starting_00(code in "[0-9]{1,7}") {
        let expected_valid = code.len() == 5 && !code.starts_with("00");
        prop_assert_eq!(validate(&FieldKind::PostalCode, &code).is_ok(), expected_valid);
    }

    #[test]
    fn dates_round_trip_through_german_and_iso_forms(days in 0i64..80_000) {
        let date = date!(1900 - 01 - 01) + Duration::days(days);
        let german = format!("{}.{}.{}", date.day(), u8::from(date.month()), date.year());
        let padded = format!("{:02}.{:02}.{}", date.day(), u8::from(date.month()), date.year());
        prop_assert_eq!(parse_date(&german), Some(date));
        prop_assert_eq!(parse_date(&padded), Some(date));
        prop_assert_eq!(parse_date(&date.to_string()), Some(date));
    }

    #[test]
    fn age_grows_by_exactly_one_on_each_birthday(days in 0i64..40_000, years in 0i32..110) {
        let birth = date!(1920 - 01 - 01) + Duration::days(days);
        prop_assume!(!(birth.month() == time::Month::February && birth.day() == 29));
        let Ok(birthday) = Date::from_calendar_date(birth.year() + years, birth.month(), birth.day()) else {
            return Ok(());
        };
        prop_assert_eq!(age_on(birth, birthday), years as u32);
        if years > 0 {
            prop_assert_eq!(age_on(birth, birthday - Duration::days(1)), years as u32 - 1);
        }
    }

    #[test]
    fn minimum_age_rule_agrees_with_age_on(days in 0i64..40_000) {
        let birth = date!(1920 - 01 - 01) + Duration::days(days);
        let kind = FieldKind::Date { min_age: Some(16), max_age: None, earliest_days: None, latest_days: None };
        let result = validate(&kind, &birth.to_string());
        if birth > CONTEXT.today {
            prop_assert_eq!(result, Err(Invalid::InvalidDate));
        } else if age_on(birth, CONTEXT.today) >= 16 {
            prop_assert_eq!(result, Ok(birth.to_string()));
        } else {
            prop_assert_eq!(result, Err(Invalid::TooYoung { min_age: 16 }));
        }
    }

    #[test]
    fn german_mobile_numbers_normalise_to_the_same_e164(prefix in prop::sample::select(vec!["151", "176"]), rest in "[1-9][0-9]{7}") {
        let expected = format!("+49{prefix}{rest}");
        for written in [
            format!("0{prefix} {rest}"),
            format!("0{prefix}/{rest}"),
            format!("+49 {prefix} {rest}"),
            format!("0049{prefix}{rest}"),
        ] {
            prop_assert_eq!(validate(&FieldKind::Phone, &written), Ok(expected.clone()), "{}", written);
        }
    }

    #[test]
    fn validators_never_panic_on_any_text(input in "\\PC{0,40}") {
        for kind in [
            FieldKind::Iban, FieldKind::Phone, FieldKind::Email, FieldKind::PostalCode,
            FieldKind::Date { min_age: Some(16), max_age: Some(120), earliest_days: Some(-3), latest_days: Some(3) },
            FieldKind::Integer { min: Some(-5), max: Some(5) },
            FieldKind::Decimal { min: None, max: None, decimals: 2 },
            FieldKind::Text { min_length: Some(1), max_length: 10 },
        ] {
            let _ = validate(&kind, &input);
        }
    }
}
