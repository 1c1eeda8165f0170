//! The JSON schema document lists every code the tool can write: reason codes, fact keys
//! and check ids are read from the source, so a new one without documentation fails here.

const DOC: &str = include_str!("../docs/report-schema.md");
const TEXT: &str = include_str!("../src/text.rs");
const CHECK: &str = include_str!("../src/check.rs");

/// The string literals after `=>` in the bodies of every `fn {name}(self)` /
/// `fn {name}(&self)` returning `&'static str` in `source`.
fn codes(source: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for signature in [
        format!("pub fn {name}(&self) -> &'static str"),
        format!("pub fn {name}(self) -> &'static str"),
    ] {
        for (start, _) in source.match_indices(&signature) {
            let body = &source[start..];
            let end = body.find("\n    }\n").expect("end of the function");
            found.extend(
                body[..end]
                    .split("=> \"")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                    .map(str::to_owned),
            );
        }
    }
    assert!(!found.is_empty(), "no fn {name} in the source");
    found
}

#[test]
fn every_reason_code_fact_key_and_check_id_is_documented() {
    let reasons = codes(TEXT, "code");
    let facts = codes(TEXT, "key");
    let checks = codes(CHECK, "code");
    assert!(reasons.len() > 60, "{reasons:?}");
    assert!(facts.len() > 25, "{facts:?}");
    assert!(checks.iter().any(|id| id == "reader.emrtd"), "{checks:?}");
    for code in reasons.iter().chain(&facts).chain(&checks) {
        // Verdict codes (pass/fail/skipped) come from check.rs too and are documented.
        assert!(
            DOC.contains(&format!("`{code}`")),
            "docs/report-schema.md does not document `{code}`"
        );
    }
    assert!(DOC.contains(&format!("now `{}`", kiosk_hwtest::SCHEMA_VERSION)));
}
