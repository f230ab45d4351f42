//! The words a person reads for a field the core names in a message
//! ("Reason for the override", never `manager_override.reason`). The
//! unpaid-work labels are the core's own
//! ([`fieldbook_core::unpaid_work::views::field_label`]); the others, for
//! fields of home visits, the store and sync, are here until their modules
//! carry their own. Shells show the label and match controls by the name.

/// The label for `field`; a plain fallback for a name not listed (a test
/// checks that every name written in the core's messages is listed).
pub fn label(field: &str) -> &'static str {
    fieldbook_core::unpaid_work::views::field_label(field)
        .or_else(|| other_label(field))
        .unwrap_or("This answer")
}

fn other_label(field: &str) -> Option<&'static str> {
    Some(match field {
        // Home visits.
        "outcome" => "Visit outcome",
        "officers_present" => "Officers present",
        "purpose" => "Purpose of the visit",
        "expected_minutes" => "Expected length (minutes)",
        "minutes" => "Minutes",
        "location" => "Location",
        "manager_override" => "Manager's override",
        "manager_override.manager_id" => "Manager's ID",
        "manager_override.reason" => "Reason for the override",
        "case_id" => "Person",
        "address_id" => "Address",
        "scheduled_visit_id" => "Scheduled visit",
        "end" => "End of the visit",
        "index" => "Follow-up",
        "no_answer" => "Nobody answered",
        "accommodation" => "Accommodation",
        "enforcement" => "Enforcement action",
        "risk_concerns" => "Risk concerns",
        "safeguarding_concerns" => "Safeguarding concerns",
        // The store, keys and the PIN.
        "pin" => "PIN",
        "officer_id" => "Officer ID",
        "office_reset_code" => "Office code",
        "kdf" | "key envelope" => "Security settings",
        "max_failures" | "free_attempts" | "delay" => "Unlock policy",
        "keep_ms" => "Retention period",
        "supersedes" | "kind" | "payload" | "subject" | "test" => "Record",
        // Sync.
        "server_url" => "Office address",
        "pinned_cert_sha256" => "Certificate pins",
        "entity" | "body" => "Data from the office",
        // The boundary itself.
        "id" => "Reference",
        "input" => "Your answers",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field names written in the core's messages: the first string of
    /// `invalid(…)`, `FieldError::new(…)`, `require_text(…)`, and of
    /// `("name", &value)` pairs that feed them.
    fn names_in(src: &str) -> Vec<String> {
        let mut names = Vec::new();
        for opener in ["invalid(", "FieldError::new(", "require_text(", "(\""] {
            for (i, _) in src.match_indices(opener) {
                let rest = src[i + opener.len()..].trim_start();
                let rest = if opener == "(\"" {
                    rest
                } else {
                    match rest.strip_prefix('"') {
                        Some(r) => r,
                        None => continue,
                    }
                };
                let Some(end) = rest.find('"') else { continue };
                let name = &rest[..end];
                // A `("name", &value)` pair in a list, not a lookup like `find("date", &d)`.
                let pair = rest[end + 1..].trim_start().starts_with(", &")
                    && src[..i].ends_with(|c: char| c.is_whitespace() || c == '[');
                let plain = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c == ' ');
                if plain && (opener != "(\"" || pair) {
                    names.push(name.to_owned());
                }
            }
        }
        names
    }

    fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_none_or(|n| n != "tests.rs")
            {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    out.push((p.display().to_string(), text));
                }
            }
        }
    }

    #[test]
    fn every_field_the_core_names_has_a_label() {
        let core = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
        let mut files = Vec::new();
        sources(&core, &mut files);
        assert!(files.len() > 20, "core sources found: {}", files.len());
        let mut seen = 0;
        for (path, text) in &files {
            // Test modules at the end of a file name fields of their own.
            let text = text.split("#[cfg(test)]").next().unwrap_or(text);
            for name in names_in(text) {
                seen += 1;
                assert!(
                    fieldbook_core::unpaid_work::views::field_label(&name).is_some()
                        || other_label(&name).is_some(),
                    "no label for `{name}` (named in {path})"
                );
            }
        }
        assert!(seen > 50, "field names found: {seen}");
        assert_eq!(label("manager_override.reason"), "Reason for the override");
        assert_eq!(label("compliance.left_early_reason"), "Why they left early");
        assert_eq!(label("not-a-field"), "This answer");
    }

    #[test]
    fn labels_are_words_not_paths() {
        for name in [
            "manager_override.manager_id",
            "penalty_minutes",
            "compliance",
            "server_url",
        ] {
            let l = label(name);
            assert!(!l.contains('_') && !l.contains('.'), "{name}: {l}");
        }
    }
}
