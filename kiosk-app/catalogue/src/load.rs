//! Reading catalogue files and checking them.
//!
//! The files are deserialised into `Raw*` structs that mirror the TOML, then
//! checked field by field into the model. Every problem found is reported,
//! not only the first, each naming the file, the service, the field and the
//! rule, so whoever edits a catalogue can fix it in one pass.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::condition::{Condition, Literal, check_field_name};
use crate::lang::{Language, LocalizedText};
use crate::model::{
    Catalogue, ChoiceOption, Consent, Field, FieldKind, IdentityAttribute, IdentityMethod,
    IdentityRequirement, Page, Service,
};
use crate::validate::Invalid;

/// The catalogue format this build reads (`format = 1` in every file).
pub const FORMAT_VERSION: u32 = 1;

/// One problem in a catalogue, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueError {
    /// File, relative to the catalogue folder (e.g. `services/dog-tax.toml`).
    pub file: String,
    /// `service <id> v<version>` when the problem is inside a service.
    pub service: Option<String>,
    /// `field '<id>'`, `page '<id>'` or `consent '<id>'` when inside one.
    pub location: Option<String>,
    /// What is wrong and, where it is not obvious, what to do.
    pub problem: String,
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some(service) = &self.service {
            write!(f, "{service}: ")?;
        }
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        f.write_str(&self.problem)
    }
}

/// Every problem found in a catalogue.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct CatalogueErrors(pub Vec<CatalogueError>);

impl fmt::Display for CatalogueErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[expect(dead_code, reason = "checked in `parse` before deserialising")]
    format: u32,
    version: String,
    languages: Vec<Language>,
    services: Vec<String>,
    #[serde(default)]
    messages: BTreeMap<String, LocalizedText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[expect(dead_code, reason = "checked in `parse` before deserialising")]
    format: u32,
    id: String,
    version: u32,
    icon: String,
    title: LocalizedText,
    description: LocalizedText,
    identity: String,
    identity_methods: Option<Vec<String>>,
    next_steps: LocalizedText,
    #[serde(default)]
    consents: Vec<RawConsent>,
    #[serde(default)]
    pages: Vec<RawPage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    id: String,
    text: LocalizedText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    id: String,
    title: LocalizedText,
    visible_if: Option<String>,
    #[serde(default)]
    fields: Vec<RawField>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: String,
    label: LocalizedText,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    label: LocalizedText,
    help: Option<LocalizedText>,
    required: Option<bool>,
    visible_if: Option<String>,
    prefill: Option<String>,
    receipt: Option<bool>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    decimals: Option<u8>,
    min_age: Option<u32>,
    max_age: Option<u32>,
    earliest_days: Option<i32>,
    latest_days: Option<i32>,
    options: Option<Vec<RawOption>>,
    min_choices: Option<u32>,
    max_choices: Option<u32>,
    min_items: Option<u32>,
    max_items: Option<u32>,
    item_label: Option<LocalizedText>,
    fields: Option<Vec<RawField>>,
}

impl Catalogue {
    /// Loads and checks the catalogue in `dir` (`catalogue.toml` and
    /// `services/*.toml`).
    pub fn load_dir(dir: &Path) -> Result<Self, CatalogueErrors> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| {
                CatalogueErrors(vec![CatalogueError {
                    file: name.to_owned(),
                    service: None,
                    location: None,
                    problem: format!("cannot read {}: {e}", dir.join(name).display()),
                }])
            })
        };
        let index = read("catalogue.toml")?;
        let mut files = vec![("catalogue.toml".to_owned(), index)];
        let services_dir = dir.join("services");
        let entries = std::fs::read_dir(&services_dir).map_err(|e| {
            CatalogueErrors(vec![CatalogueError {
                file: "services/".to_owned(),
                service: None,
                location: None,
                problem: format!("cannot read the folder {}: {e}", services_dir.display()),
            }])
        })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        for name in names {
            let file = format!("services/{name}");
            let contents = read(&file)?;
            files.push((file, contents));
        }
        Self::from_files(&files)
    }

    /// Checks a catalogue given as `(relative path, contents)` pairs: one
    /// `catalogue.toml` and any number of `services/<id>.toml`.
    pub fn from_files(files: &[(String, String)]) -> Result<Self, CatalogueErrors> {
        let mut errors = Errors::default();
        let Some((_, index)) = files.iter().find(|(name, _)| name == "catalogue.toml") else {
            errors.file(
                "catalogue.toml",
                "missing: every catalogue folder needs one",
            );
            return Err(errors.finish());
        };
        let Some(raw) = parse::<RawCatalogue>("catalogue.toml", index, &mut errors) else {
            return Err(errors.finish());
        };
        let languages = check_index(&raw, &mut errors);

        let mut services = Vec::new();
        let mut by_id = BTreeMap::new();
        let mut files_by_id: BTreeMap<String, String> = BTreeMap::new();
        // A file that cannot be read may hold a listed service: say so only once.
        let mut unreadable_files = false;
        for (file, contents) in files.iter().filter(|(n, _)| n.starts_with("services/")) {
            let Some(service) = parse::<RawService>(file, contents, &mut errors) else {
                unreadable_files = true;
                continue;
            };
            if let Some(first) = files_by_id.insert(service.id.clone(), file.clone()) {
                errors.file(
                    file,
                    &format!("service id '{}' is already used by {first}", service.id),
                );
                continue;
            }
            let checked =
                ServiceChecker::new(file, &service, &languages, &mut errors).check(service);
            if let Some(checked) = checked {
                by_id.insert(checked.id.clone(), services.len());
                services.push(checked);
            }
        }
        for id in &raw.services {
            if !files_by_id.contains_key(id) && !unreadable_files {
                errors.file(
                    "catalogue.toml",
                    &format!("'services' lists '{id}' but no file in services/ has id = \"{id}\""),
                );
            }
        }
        for (id, file) in &files_by_id {
            if !raw.services.contains(id) {
                let service = id;
                errors.file(
                    file,
                    &format!(
                        "service '{service}' is not listed in 'services' of catalogue.toml: add it there to offer it, or remove the file"
                    ),
                );
            }
        }
        if !errors.0.is_empty() {
            return Err(errors.finish());
        }
        let ordered = raw
            .services
            .iter()
            .filter_map(|id| by_id.get(id).map(|&i| services[i].clone()))
            .collect();
        Ok(Catalogue {
            version: raw.version,
            languages,
            messages: raw.messages,
            services: ordered,
        })
    }

    /// The validation message for `invalid` in `language`, with its
    /// placeholders filled.
    pub fn message(&self, invalid: &Invalid, language: &Language) -> String {
        let template = self
            .messages
            .get(invalid.code())
            .map(|t| t.get(language))
            .unwrap_or(invalid.code());
        let mut text = template.to_owned();
        for (name, value) in invalid.parameters() {
            text = text.replace(&format!("{{{name}}}"), &value);
        }
        text
    }
}

#[derive(Default)]
struct Errors(Vec<CatalogueError>);

impl Errors {
    fn file(&mut self, file: &str, problem: &str) {
        self.0.push(CatalogueError {
            file: file.to_owned(),
            service: None,
            location: None,
            problem: problem.to_owned(),
        });
    }

    fn finish(mut self) -> CatalogueErrors {
        self.0.dedup();
        CatalogueErrors(self.0)
    }
}

fn parse<T: for<'de> Deserialize<'de>>(
    file: &str,
    contents: &str,
    errors: &mut Errors,
) -> Option<T> {
    // Check the format first, so a file from a newer catalogue gets a clear
    // "update the kiosk" rather than a complaint about unknown keys.
    if let Ok(table) = contents.parse::<toml::Table>() {
        match table.get("format").and_then(toml::Value::as_integer) {
            Some(f) if f == i64::from(FORMAT_VERSION) => {}
            Some(f) => {
                errors.file(
                    file,
                    &format!(
                        "written for catalogue format {f}, this kiosk reads format {FORMAT_VERSION}: update the kiosk software or use a catalogue for format {FORMAT_VERSION}"
                    ),
                );
                return None;
            }
            None => {
                errors.file(file, &format!("'format = {FORMAT_VERSION}' is missing"));
                return None;
            }
        }
    }
    match toml::from_str(contents) {
        Ok(value) => Some(value),
        Err(e) => {
            let position = e.span().map(|span| {
                let before = &contents[..span.start.min(contents.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("line {line}, column {column}: ")
            });
            let message = e.message().replace('\n', " ");
            errors.file(
                file,
                &format!("{}{}", position.unwrap_or_default(), message.trim()),
            );
            None
        }
    }
}

fn check_index(raw: &RawCatalogue, errors: &mut Errors) -> Vec<Language> {
    let file = "catalogue.toml";
    if raw.version.trim().is_empty() {
        errors.file(file, "'version' is empty");
    }
    let mut languages = Vec::new();
    for language in &raw.languages {
        if languages.contains(language) {
            errors.file(file, &format!("language '{language}' is listed twice"));
        } else {
            languages.push(language.clone());
        }
    }
    if languages.first() != Some(&Language::german()) {
        errors.file(
            file,
            "'languages' must start with \"de\": German is the first language of every kiosk",
        );
    }
    if raw.services.is_empty() {
        errors.file(file, "'services' is empty: list at least one service");
    }
    let mut seen = BTreeSet::new();
    for id in &raw.services {
        if !seen.insert(id) {
            errors.file(file, &format!("'services' lists '{id}' twice"));
        }
    }
    for code in Invalid::CODES {
        match raw.messages.get(code) {
            None => errors.file(
                file,
                &format!("message '{code}' is missing: every validation message needs a text"),
            ),
            Some(text) => {
                let (missing, unexpected) = text.coverage(&languages);
                for l in missing {
                    errors.file(
                        file,
                        &format!("message '{code}': translation '{l}' is missing"),
                    );
                }
                for l in unexpected {
                    errors.file(
                        file,
                        &format!("message '{code}': language '{l}' is not in 'languages'"),
                    );
                }
                for (language, template) in text.iter() {
                    for placeholder in placeholders(template) {
                        if !Invalid::placeholders(code).contains(&placeholder.as_str()) {
                            errors.file(
                                file,
                                &format!(
                                    "message '{code}' ({language}): unknown placeholder '{{{placeholder}}}'; allowed: {}",
                                    allowed_list(Invalid::placeholders(code))
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    for code in raw.messages.keys() {
        if !Invalid::CODES.contains(&code.as_str()) {
            errors.file(
                file,
                &format!("message '{code}' is not a known validation rule"),
            );
        }
    }
    languages
}

fn allowed_list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("{{{n}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    out
}

/// Which fields a condition may refer to, and what they are.
#[derive(Clone)]
struct KnownField {
    kind: String,
    options: Vec<String>,
}

struct ServiceChecker<'a> {
    file: &'a str,
    service: String,
    languages: &'a [Language],
    errors: &'a mut Errors,
}

impl<'a> ServiceChecker<'a> {
    fn new(
        file: &'a str,
        raw: &RawService,
        languages: &'a [Language],
        errors: &'a mut Errors,
    ) -> Self {
        Self {
            file,
            service: format!("service {} v{}", raw.id, raw.version),
            languages,
            errors,
        }
    }

    fn error(&mut self, location: Option<String>, problem: impl Into<String>) {
        self.errors.0.push(CatalogueError {
            file: self.file.to_owned(),
            service: Some(self.service.clone()),
            location,
            problem: problem.into(),
        });
    }

    fn text(&mut self, location: &Option<String>, what: &str, text: &LocalizedText) {
        let (missing, unexpected) = text.coverage(self.languages);
        for language in missing {
            self.error(
                location.clone(),
                format!(
                    "{what}: translation '{language}' is missing (every text needs every language of the catalogue)"
                ),
            );
        }
        for language in unexpected {
            self.error(
                location.clone(),
                format!("{what}: language '{language}' is not in the catalogue's 'languages'"),
            );
        }
    }

    fn check(mut self, raw: RawService) -> Option<Service> {
        let before = self.errors.0.len();
        let valid_id = !raw.id.is_empty()
            && raw.id.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_id {
            self.error(
                None,
                "'id' must be lower-case letters, digits and '-', starting with a letter",
            );
        }
        if raw.version == 0 {
            self.error(None, "'version' starts at 1");
        }
        if raw.icon.is_empty() || !raw.icon.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            self.error(None, "'icon' must be a name of lower-case letters and '-'");
        }
        self.text(&None, "title", &raw.title);
        self.text(&None, "description", &raw.description);
        self.text(&None, "next_steps", &raw.next_steps);

        let identity = match raw.identity.as_str() {
            "required" => IdentityRequirement::Required,
            "optional" => IdentityRequirement::Optional,
            "not-offered" => IdentityRequirement::NotOffered,
            other => {
                self.error(
                    None,
                    format!(
                        "identity '{other}' is unknown: use \"required\", \"optional\" or \"not-offered\""
                    ),
                );
                IdentityRequirement::NotOffered
            }
        };
        let identity_methods = self.identity_methods(identity, raw.identity_methods.as_deref());

        if raw.consents.is_empty() {
            self.error(
                None,
                "no consent: every service stores personal data and needs at least the privacy notice as a consent",
            );
        }
        let mut consents = Vec::new();
        for consent in raw.consents {
            let location = Some(format!("consent '{}'", consent.id));
            if let Err(p) = check_field_name(&consent.id) {
                self.error(location.clone(), p);
            }
            if consents.iter().any(|c: &Consent| c.id == consent.id) {
                self.error(location.clone(), "id is used twice");
            }
            self.text(&location, "text", &consent.text);
            consents.push(Consent {
                id: consent.id,
                text: consent.text,
            });
        }

        if raw.pages.is_empty() {
            self.error(
                None,
                "no pages: a service needs at least one page with a field",
            );
        }
        let mut known: BTreeMap<String, KnownField> = BTreeMap::new();
        let mut page_ids = BTreeSet::new();
        let mut pages = Vec::new();
        for page in raw.pages {
            let location = Some(format!("page '{}'", page.id));
            if let Err(p) = check_field_name(&page.id) {
                self.error(location.clone(), p);
            }
            if !page_ids.insert(page.id.clone()) {
                self.error(location.clone(), "id is used twice");
            }
            self.text(&location, "title", &page.title);
            let visible_if = page
                .visible_if
                .as_deref()
                .and_then(|c| self.condition(&location, c, &known));
            if page.fields.is_empty() {
                self.error(location.clone(), "the page has no fields");
            }
            let mut fields = Vec::new();
            for field in page.fields {
                if let Some(f) = self.field(field, &mut known, None) {
                    fields.push(f);
                }
            }
            pages.push(Page {
                id: page.id,
                title: page.title,
                visible_if,
                fields,
            });
        }

        (self.errors.0.len() == before).then_some(Service {
            id: raw.id,
            version: raw.version,
            icon: raw.icon,
            title: raw.title,
            description: raw.description,
            identity,
            identity_methods,
            pages,
            consents,
            next_steps: raw.next_steps,
        })
    }

    fn identity_methods(
        &mut self,
        identity: IdentityRequirement,
        raw: Option<&[String]>,
    ) -> Vec<IdentityMethod> {
        if identity == IdentityRequirement::NotOffered {
            if raw.is_some_and(|m| !m.is_empty()) {
                self.error(
                    None,
                    "'identity_methods' is given but identity is \"not-offered\": remove one of them",
                );
            }
            return Vec::new();
        }
        let Some(raw) = raw else {
            return IdentityMethod::ALL.to_vec();
        };
        let mut methods = Vec::new();
        for name in raw {
            match IdentityMethod::ALL.into_iter().find(|m| m.name() == name) {
                Some(m) if !methods.contains(&m) => methods.push(m),
                Some(_) => self.error(None, format!("identity method '{name}' is listed twice")),
                None => self.error(
                    None,
                    format!("identity method '{name}' is unknown: use \"eid\", \"passport\" or \"phone\""),
                ),
            }
        }
        if methods.is_empty() {
            self.error(
                None,
                "'identity_methods' is empty: list at least one method",
            );
        }
        methods
    }

    fn condition(
        &mut self,
        location: &Option<String>,
        source: &str,
        known: &BTreeMap<String, KnownField>,
    ) -> Option<Condition> {
        let condition = match Condition::parse(source) {
            Ok(c) => c,
            Err(e) => {
                self.error(location.clone(), format!("visible_if: {e}"));
                return None;
            }
        };
        let mut ok = true;
        for (name, literal) in condition.references() {
            let Some(field) = known.get(name) else {
                self.error(
                    location.clone(),
                    format!("visible_if refers to '{name}', which is not a field before this one"),
                );
                ok = false;
                continue;
            };
            let mismatch = match (field.kind.as_str(), literal) {
                ("choice" | "multi_choice", Some(Literal::Text(t)))
                    if !field.options.contains(t) =>
                {
                    Some(format!(
                        "visible_if compares '{name}' with \"{t}\", which is not one of its options ({})",
                        field.options.join(", ")
                    ))
                }
                ("checkbox", Some(l)) if !matches!(l, Literal::Bool(_)) => Some(format!(
                    "visible_if compares the checkbox '{name}' with {l}: use true or false"
                )),
                _ => None,
            };
            if let Some(problem) = mismatch {
                self.error(location.clone(), problem);
                ok = false;
            }
        }
        ok.then_some(condition)
    }

    fn field(
        &mut self,
        raw: RawField,
        known: &mut BTreeMap<String, KnownField>,
        group: Option<&str>,
    ) -> Option<Field> {
        let location = Some(match group {
            Some(g) => format!("field '{g}.{}'", raw.id),
            None => format!("field '{}'", raw.id),
        });
        let before = self.errors.0.len();
        if let Err(p) = check_field_name(&raw.id) {
            self.error(location.clone(), p);
        }
        if known.contains_key(&raw.id) {
            self.error(location.clone(), "id is used twice");
        }
        self.text(&location, "label", &raw.label);
        if let Some(help) = &raw.help {
            self.text(&location, "help", help);
        }
        let visible_if = raw
            .visible_if
            .as_deref()
            .and_then(|c| self.condition(&location, c, known));

        let kind = self.kind(&raw, &location, group)?;
        let prefill = raw.prefill.as_deref().and_then(|name| {
            let Some(attribute) = IdentityAttribute::from_name(name) else {
                let all: Vec<_> = IdentityAttribute::ALL.iter().map(|a| a.name()).collect();
                self.error(
                    location.clone(),
                    format!(
                        "prefill '{name}' is not an identity attribute; known: {}",
                        all.join(", ")
                    ),
                );
                return None;
            };
            let fits = match attribute {
                IdentityAttribute::DateOfBirth => matches!(kind, FieldKind::Date { .. }),
                IdentityAttribute::PostalCode => {
                    matches!(kind, FieldKind::PostalCode | FieldKind::Text { .. })
                }
                IdentityAttribute::Street | IdentityAttribute::HouseNumber => {
                    matches!(kind, FieldKind::StreetAddress | FieldKind::Text { .. })
                }
                _ => matches!(kind, FieldKind::Text { .. }),
            };
            if !fits {
                self.error(
                    location.clone(),
                    format!("prefill '{name}' cannot fill a {} field", kind.type_name()),
                );
            }
            Some(attribute)
        });
        let on_receipt = raw.receipt.unwrap_or(false);
        if on_receipt {
            let personal = prefill.is_some()
                || matches!(
                    kind,
                    FieldKind::Text { .. }
                        | FieldKind::Multiline { .. }
                        | FieldKind::Email
                        | FieldKind::Phone
                        | FieldKind::Iban
                        | FieldKind::StreetAddress
                        | FieldKind::PostalCode
                        | FieldKind::Group { .. }
                        | FieldKind::Date {
                            min_age: Some(_),
                            ..
                        }
                        | FieldKind::Date {
                            max_age: Some(_),
                            ..
                        }
                );
            if personal {
                self.error(
                    location.clone(),
                    format!(
                        "receipt = true is not allowed on a {} field{}: a receipt may be left lying around and must not carry personal data",
                        kind.type_name(),
                        if prefill.is_some() { " with prefill" } else { "" }
                    ),
                );
            }
        }
        known.insert(
            raw.id.clone(),
            KnownField {
                kind: kind.type_name().to_owned(),
                options: kind
                    .options()
                    .map(|o| o.iter().map(|o| o.value.clone()).collect())
                    .unwrap_or_default(),
            },
        );
        (self.errors.0.len() == before).then_some(Field {
            id: raw.id,
            kind,
            label: raw.label,
            help: raw.help,
            required: raw.required.unwrap_or(true),
            visible_if,
            prefill,
            on_receipt,
        })
    }

    fn kind(
        &mut self,
        raw: &RawField,
        location: &Option<String>,
        group: Option<&str>,
    ) -> Option<FieldKind> {
        let mut allowed: Vec<&str> = Vec::new();
        let kind = match raw.kind.as_str() {
            "text" | "multiline" => {
                allowed = vec!["min_length", "max_length"];
                let max_length =
                    raw.max_length
                        .unwrap_or(if raw.kind == "text" { 100 } else { 2000 });
                if let Some(min) = raw.min_length.filter(|&min| min > max_length) {
                    self.error(
                        location.clone(),
                        format!("min_length {min} is larger than max_length {max_length}"),
                    );
                }
                if max_length == 0 {
                    self.error(location.clone(), "max_length must be at least 1");
                }
                if raw.kind == "text" {
                    FieldKind::Text {
                        min_length: raw.min_length,
                        max_length,
                    }
                } else {
                    FieldKind::Multiline {
                        min_length: raw.min_length,
                        max_length,
                    }
                }
            }
            "integer" => {
                allowed = vec!["min", "max"];
                let min = self.integer_bound(location, "min", raw.min.as_ref());
                let max = self.integer_bound(location, "max", raw.max.as_ref());
                if let (Some(a), Some(b)) = (min, max).filter_pair(|a, b| a > b) {
                    self.error(location.clone(), format!("min {a} is larger than max {b}"));
                }
                FieldKind::Integer { min, max }
            }
            "decimal" => {
                allowed = vec!["min", "max", "decimals"];
                let min = self.decimal_bound(location, "min", raw.min.as_ref());
                let max = self.decimal_bound(location, "max", raw.max.as_ref());
                if let (Some(a), Some(b)) = (min, max).filter_pair(|a, b| a > b) {
                    self.error(location.clone(), format!("min {a} is larger than max {b}"));
                }
                FieldKind::Decimal {
                    min,
                    max,
                    decimals: raw.decimals.unwrap_or(2),
                }
            }
            "date" => {
                allowed = vec!["min_age", "max_age", "earliest_days", "latest_days"];
                if let (Some(a), Some(b)) = (raw.min_age, raw.max_age).filter_pair(|a, b| a > b) {
                    self.error(
                        location.clone(),
                        format!("min_age {a} is larger than max_age {b}"),
                    );
                }
                if let (Some(a), Some(b)) =
                    (raw.earliest_days, raw.latest_days).filter_pair(|a, b| a > b)
                {
                    self.error(
                        location.clone(),
                        format!("earliest_days {a} is later than latest_days {b}"),
                    );
                }
                FieldKind::Date {
                    min_age: raw.min_age,
                    max_age: raw.max_age,
                    earliest_days: raw.earliest_days,
                    latest_days: raw.latest_days,
                }
            }
            "choice" | "multi_choice" => {
                allowed = vec!["options"];
                let options = self.options(location, raw.options.as_deref());
                if raw.kind == "choice" {
                    FieldKind::Choice { options }
                } else {
                    allowed.extend(["min_choices", "max_choices"]);
                    let n = options.len() as u32;
                    for (name, bound) in [
                        ("min_choices", raw.min_choices),
                        ("max_choices", raw.max_choices),
                    ] {
                        if let Some(b) = bound.filter(|&b| b > n) {
                            self.error(
                                location.clone(),
                                format!("{name} {b} is more than the {n} options"),
                            );
                        }
                    }
                    if let (Some(a), Some(b)) =
                        (raw.min_choices, raw.max_choices).filter_pair(|a, b| a > b)
                    {
                        self.error(
                            location.clone(),
                            format!("min_choices {a} is larger than max_choices {b}"),
                        );
                    }
                    FieldKind::MultiChoice {
                        options,
                        min_choices: raw.min_choices,
                        max_choices: raw.max_choices,
                    }
                }
            }
            "checkbox" => FieldKind::Checkbox,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "postal_code" => FieldKind::PostalCode,
            "iban" => FieldKind::Iban,
            "street_address" => FieldKind::StreetAddress,
            "group" => {
                allowed = vec!["min_items", "max_items", "item_label", "fields"];
                if let Some(g) = group {
                    self.error(
                        location.clone(),
                        format!("a group cannot be inside the group '{g}'"),
                    );
                }
                let min_items = raw.min_items.unwrap_or(0);
                let max_items = raw.max_items.unwrap_or(10);
                if max_items == 0 || min_items > max_items {
                    self.error(
                        location.clone(),
                        format!("min_items {min_items} / max_items {max_items}: need 1 <= max_items and min_items <= max_items"),
                    );
                }
                let item_label = match &raw.item_label {
                    Some(label) => {
                        self.text(location, "item_label", label);
                        label.clone()
                    }
                    None => {
                        self.error(location.clone(), "item_label is missing (e.g. \"Hund\")");
                        LocalizedText::default()
                    }
                };
                let mut fields = Vec::new();
                let mut group_known = BTreeMap::new();
                match raw.fields.as_deref() {
                    None | Some([]) => self.error(location.clone(), "the group has no fields"),
                    Some(subs) => {
                        for sub in subs {
                            if let Some(f) =
                                self.field(sub.clone(), &mut group_known, Some(&raw.id))
                            {
                                fields.push(f);
                            }
                        }
                    }
                }
                FieldKind::Group {
                    fields,
                    min_items,
                    max_items,
                    item_label,
                }
            }
            other => {
                self.error(
                    location.clone(),
                    format!(
                        "type '{other}' is unknown; known: text, multiline, integer, decimal, date, choice, multi_choice, checkbox, email, phone, postal_code, iban, street_address, group"
                    ),
                );
                return None;
            }
        };
        let given = [
            ("min_length", raw.min_length.is_some()),
            ("max_length", raw.max_length.is_some()),
            ("min", raw.min.is_some()),
            ("max", raw.max.is_some()),
            ("decimals", raw.decimals.is_some()),
            ("min_age", raw.min_age.is_some()),
            ("max_age", raw.max_age.is_some()),
            ("earliest_days", raw.earliest_days.is_some()),
            ("latest_days", raw.latest_days.is_some()),
            ("options", raw.options.is_some()),
            ("min_choices", raw.min_choices.is_some()),
            ("max_choices", raw.max_choices.is_some()),
            ("min_items", raw.min_items.is_some()),
            ("max_items", raw.max_items.is_some()),
            ("item_label", raw.item_label.is_some()),
            ("fields", raw.fields.is_some()),
        ];
        for (name, present) in given {
            if present && !allowed.contains(&name) {
                self.error(
                    location.clone(),
                    format!("'{name}' does not apply to a {} field", raw.kind),
                );
            }
        }
        Some(kind)
    }

    fn options(
        &mut self,
        location: &Option<String>,
        raw: Option<&[RawOption]>,
    ) -> Vec<ChoiceOption> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() {
            self.error(location.clone(), "option list is empty");
        }
        let mut options: Vec<ChoiceOption> = Vec::new();
        for option in raw {
            let valid = !option.value.is_empty()
                && option
                    .value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !valid {
                self.error(
                    location.clone(),
                    format!(
                        "option value '{}' must be lower-case letters, digits, '_' and '-'",
                        option.value
                    ),
                );
            }
            if options.iter().any(|o| o.value == option.value) {
                self.error(
                    location.clone(),
                    format!("option '{}' is listed twice", option.value),
                );
            }
            self.text(
                location,
                &format!("option '{}'", option.value),
                &option.label,
            );
            options.push(ChoiceOption {
                value: option.value.clone(),
                label: option.label.clone(),
            });
        }
        options
    }

    fn integer_bound(
        &mut self,
        location: &Option<String>,
        name: &str,
        value: Option<&toml::Value>,
    ) -> Option<i64> {
        let value = value?;
        match value.as_integer() {
            Some(i) => Some(i),
            None => {
                self.error(location.clone(), format!("'{name}' must be a whole number"));
                None
            }
        }
    }

    fn decimal_bound(
        &mut self,
        location: &Option<String>,
        name: &str,
        value: Option<&toml::Value>,
    ) -> Option<f64> {
        let value = value?;
        match value
            .as_float()
            .or_else(|| value.as_integer().map(|i| i as f64))
        {
            Some(f) => Some(f),
            None => {
                self.error(location.clone(), format!("'{name}' must be a number"));
                None
            }
        }
    }
}

trait FilterPair<T> {
    fn filter_pair(self, bad: impl Fn(&T, &T) -> bool) -> (Option<T>, Option<T>);
}

impl<T> FilterPair<T> for (Option<T>, Option<T>) {
    /// Both bounds when both are given and `bad` holds; otherwise `(None, None)`.
    fn filter_pair(self, bad: impl Fn(&T, &T) -> bool) -> (Option<T>, Option<T>) {
        match self {
            (Some(a), Some(b)) if bad(&a, &b) => (Some(a), Some(b)),
            _ => (None, None),
        }
    }
}
