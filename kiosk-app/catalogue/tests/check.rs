//! The catalogue checker: valid catalogues load, broken ones are refused with
//! errors that name the file, the service, the field and the rule.

use kiosk_catalogue::{Catalogue, Invalid};

fn index(languages: &[&str], services: &[&str]) -> String {
    let mut out = format!(
        "format = 1\nversion = \"t\"\nlanguages = [{}]\nservices = [{}]\n",
        languages
            .iter()
            .map(|l| format!("\"{l}\""))
            .collect::<Vec<_>>()
            .join(", "),
        services
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for code in Invalid::CODES {
        let placeholders: String = Invalid::placeholders(code)
            .iter()
            .map(|p| format!(" {{{p}}}"))
            .collect();
        let texts: Vec<String> = languages
            .iter()
            .map(|l| format!("{l} = \"{code}{placeholders}\""))
            .collect();
        out.push_str(&format!("messages.{code} = {{ {} }}\n", texts.join(", ")));
    }
    out
}

const DOG_TAX: &str = r#"
format = 1
id = "dog-tax"
version = 3
icon = "dog"
title = { de = "Hund anmelden", en = "Register a dog" }
description = { de = "Beschreibung", en = "Description" }
identity = "optional"
next_steps = { de = "Bescheid folgt", en = "Notice follows" }

[[consents]]
id = "privacy"
text = { de = "Datenschutz", en = "Privacy" }

[[pages]]
id = "dog"
title = { de = "Hund", en = "Dog" }

[[pages.fields]]
id = "owner"
type = "text"
label = { de = "Halter", en = "Owner" }
prefill = "surname"

[[pages.fields]]
id = "breed"
type = "choice"
label = { de = "Rasse", en = "Breed" }
options = [
  { value = "labrador", label = { de = "Labrador", en = "Labrador" } },
  { value = "other", label = { de = "Andere", en = "Other" } },
]

[[pages.fields]]
id = "breed_other"
type = "text"
label = { de = "Welche Rasse?", en = "Which breed?" }
visible_if = 'breed = "other"'
"#;

fn check(files: &[(&str, &str)]) -> Result<Catalogue, Vec<String>> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
        .collect();
    Catalogue::from_files(&files).map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

fn errors_for_service(service: &str) -> Vec<String> {
    let index = index(&["de", "en"], &["dog-tax"]);
    check(&[
        ("catalogue.toml", &index),
        ("services/hundesteuer.toml", service),
    ])
    .expect_err("the catalogue should be refused")
}

#[test]
fn a_valid_catalogue_loads() {
    let index = index(&["de", "en"], &["dog-tax"]);
    let catalogue = check(&[
        ("catalogue.toml", &index),
        ("services/hundesteuer.toml", DOG_TAX),
    ])
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let service = catalogue.service("dog-tax").unwrap();
    assert_eq!(service.version, 3);
    assert_eq!(service.field_count(), 3);
    assert_eq!(catalogue.languages.len(), 2);
}

#[test]
fn an_empty_option_list_is_named_precisely() {
    let broken = DOG_TAX.replace(
        r#"options = [
  { value = "labrador", label = { de = "Labrador", en = "Labrador" } },
  { value = "other", label = { de = "Andere", en = "Other" } },
]"#,
        "options = []",
    );
    let errors = errors_for_service(&broken);
    assert!(
        errors.contains(
            &"services/hundesteuer.toml: service dog-tax v3: field 'breed': option list is empty"
                .to_owned()
        ),
        "{errors:#?}"
    );
}

#[test]
fn a_missing_translation_is_an_error_not_a_fallback() {
    let broken = DOG_TAX.replace(
        r#"label = { de = "Welche Rasse?", en = "Which breed?" }"#,
        r#"label = { de = "Welche Rasse?" }"#,
    );
    assert_eq!(
        errors_for_service(&broken),
        vec![
            "services/hundesteuer.toml: service dog-tax v3: field 'breed_other': label: translation 'en' is missing (every text needs every language of the catalogue)"
        ]
    );
    let blank = DOG_TAX.replace(r#"en = "Privacy""#, r#"en = "  ""#);
    assert_eq!(
        errors_for_service(&blank),
        vec![
            "services/hundesteuer.toml: service dog-tax v3: consent 'privacy': text: translation 'en' is missing (every text needs every language of the catalogue)"
        ]
    );
}

#[test]
fn a_newer_format_asks_for_a_software_update() {
    let newer = DOG_TAX.replace("format = 1", "format = 2");
    let errors = errors_for_service(&newer);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("services/hundesteuer.toml: written for catalogue format 2"),
        "{errors:?}"
    );
    assert!(errors[0].contains("update the kiosk software"));
}

#[test]
fn toml_syntax_errors_name_the_file_and_line() {
    let broken = DOG_TAX.replace("version = 3", "version = ");
    let errors = errors_for_service(&broken);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("services/hundesteuer.toml: "),
        "{errors:?}"
    );
    assert!(errors[0].contains("line 4"), "{errors:?}");
}

#[test]
fn unknown_keys_and_inapplicable_attributes_are_refused() {
    let typo = DOG_TAX.replace("icon = \"dog\"", "icon = \"dog\"\nicno = \"dog\"");
    let errors = errors_for_service(&typo);
    assert!(errors[0].contains("unknown field `icno`"), "{errors:?}");
    let wrong = DOG_TAX.replace(
        "prefill = \"surname\"",
        "prefill = \"surname\"\nmin_age = 3",
    );
    assert_eq!(
        errors_for_service(&wrong),
        vec![
            "services/hundesteuer.toml: service dog-tax v3: field 'owner': 'min_age' does not apply to a text field"
        ]
    );
}

#[test]
fn conditions_must_refer_to_earlier_fields_and_real_options() {
    let later = DOG_TAX.replace(
        r#"visible_if = 'breed = "other"'"#,
        r#"visible_if = 'colour = "black"'"#,
    );
    assert_eq!(
        errors_for_service(&later),
        vec![
            "services/hundesteuer.toml: service dog-tax v3: field 'breed_other': visible_if refers to 'colour', which is not a field before this one"
        ]
    );
    let no_option = DOG_TAX.replace(r#"breed = "other""#, r#"breed = "poodle""#);
    assert_eq!(
        errors_for_service(&no_option),
        vec![
            "services/hundesteuer.toml: service dog-tax v3: field 'breed_other': visible_if compares 'breed' with \"poodle\", which is not one of its options (labrador, other)"
        ]
    );
    let syntax = DOG_TAX.replace(r#"breed = "other""#, "breed = other");
    let errors = errors_for_service(&syntax);
    assert!(errors[0].contains("field 'breed_other': visible_if: condition `breed = other`: expected a value; put text in double quotes"), "{errors:?}");
}

#[test]
fn personal_fields_cannot_go_on_the_receipt() {
    let leaky = DOG_TAX.replace(
        "prefill = \"surname\"",
        "prefill = \"surname\"\nreceipt = true",
    );
    let errors = errors_for_service(&leaky);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .contains("field 'owner': receipt = true is not allowed on a text field with prefill"),
        "{errors:?}"
    );
}

#[test]
fn prefill_must_fit_the_field_type() {
    let wrong = DOG_TAX.replace("prefill = \"surname\"", "prefill = \"date_of_birth\"");
    assert_eq!(
        errors_for_service(&wrong),
        vec![
            "services/hundesteuer.toml: service dog-tax v3: field 'owner': prefill 'date_of_birth' cannot fill a text field"
        ]
    );
    let unknown = DOG_TAX.replace("prefill = \"surname\"", "prefill = \"shoe_size\"");
    assert!(
        errors_for_service(&unknown)[0]
            .contains("prefill 'shoe_size' is not an identity attribute")
    );
}

#[test]
fn every_listed_service_needs_a_file_and_every_file_a_listing() {
    let index = index(&["de", "en"], &["dog-tax", "library-card"]);
    let errors = check(&[
        ("catalogue.toml", &index),
        ("services/dog-tax.toml", DOG_TAX),
    ])
    .unwrap_err();
    assert_eq!(
        errors,
        vec![
            "catalogue.toml: 'services' lists 'library-card' but no file in services/ has id = \"library-card\""
        ]
    );
    let other = self::index(&["de", "en"], &["library-card"]);
    let errors = check(&[
        ("catalogue.toml", &other),
        ("services/dog-tax.toml", DOG_TAX),
    ])
    .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("services/dog-tax.toml: service 'dog-tax' is not listed")),
        "{errors:?}"
    );
}

#[test]
fn messages_need_every_language_and_known_placeholders() {
    let full = index(&["de", "en"], &["dog-tax"]);
    let missing = full.replace(
        r#"messages.required = { de = "required", en = "required" }"#,
        r#"messages.required = { de = "required" }"#,
    );
    let errors = check(&[
        ("catalogue.toml", &missing),
        ("services/dog-tax.toml", DOG_TAX),
    ])
    .unwrap_err();
    assert_eq!(
        errors,
        vec!["catalogue.toml: message 'required': translation 'en' is missing"]
    );
    let bad = full.replace(r#"de = "too_short {min}""#, r#"de = "too_short {max}""#);
    let errors =
        check(&[("catalogue.toml", &bad), ("services/dog-tax.toml", DOG_TAX)]).unwrap_err();
    assert_eq!(
        errors,
        vec![
            "catalogue.toml: message 'too_short' (de): unknown placeholder '{max}'; allowed: {min}"
        ]
    );
}

#[test]
fn german_comes_first() {
    let index = index(&["en", "de"], &["dog-tax"]);
    let errors = check(&[
        ("catalogue.toml", &index),
        ("services/dog-tax.toml", DOG_TAX),
    ])
    .unwrap_err();
    assert!(errors[0].contains("must start with \"de\""), "{errors:?}");
}

#[test]
fn all_problems_are_reported_at_once() {
    let broken = DOG_TAX
        .replace("version = 3", "version = 0")
        .replace(r#"identity = "optional""#, r#"identity = "sometimes""#)
        .replace(r#"type = "text""#, r#"type = "txt""#);
    let errors = errors_for_service(&broken);
    assert!(errors.len() >= 3, "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("'version' starts at 1")));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("identity 'sometimes' is unknown"))
    );
    assert!(errors.iter().any(|e| e.contains("type 'txt' is unknown")));
}

#[test]
fn groups_cannot_nest_and_need_an_item_label() {
    let group = r#"
[[pages.fields]]
id = "dogs"
type = "group"
label = { de = "Hunde", en = "Dogs" }
max_items = 3

[[pages.fields.fields]]
id = "name"
type = "text"
label = { de = "Name", en = "Name" }
"#;
    let errors = errors_for_service(&format!("{DOG_TAX}{group}"));
    assert_eq!(
        errors,
        vec![
            "services/hundesteuer.toml: service dog-tax v3: field 'dogs': item_label is missing (e.g. \"Hund\")"
        ]
    );
}

#[test]
fn load_dir_reads_a_folder_and_names_what_is_missing() {
    let dir = std::env::temp_dir().join(format!("kiosk-catalogue-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("services")).unwrap();
    std::fs::write(
        dir.join("catalogue.toml"),
        index(&["de", "en"], &["dog-tax"]),
    )
    .unwrap();
    std::fs::write(dir.join("services/hundesteuer.toml"), DOG_TAX).unwrap();
    std::fs::write(dir.join("services/README.txt"), "not a service").unwrap();
    let catalogue = Catalogue::load_dir(&dir).unwrap();
    assert_eq!(catalogue.services.len(), 1);
    std::fs::remove_dir_all(dir.join("services")).unwrap();
    let errors = Catalogue::load_dir(&dir).unwrap_err().to_string();
    assert!(
        errors.starts_with("services/: cannot read the folder"),
        "{errors}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let errors = Catalogue::load_dir(&dir).unwrap_err().to_string();
    assert!(
        errors.starts_with("catalogue.toml: cannot read"),
        "{errors}"
    );
}
