//! Disclosure rules: which values of an event are redacted before it goes
//! into a pack, each redaction named by its rule and path so the manifest
//! records it and the verifier still checks what remains.

use serde_json::Value;

use super::Redaction;

/// Another person named by the office (a name in a note, a third party).
pub const RULE_NAMED_PERSON: &str = "named-third-party";
/// Who else was present at a home visit.
pub const RULE_VISIT_PEOPLE: &str = "visit-people-present";
/// Notes marked sensitive, when the request withholds them.
pub const RULE_SENSITIVE_NOTES: &str = "sensitive-notes";
/// Events about other people: only their chain link is disclosed.
pub const RULE_OTHER_PERSON: &str = "other-person-event";

/// The replacement text.
pub const MARK: &str = "[redacted]";

/// What to redact.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Names (or other words) of other people to remove from every text.
    pub terms: Vec<String>,
    /// Whether notes marked sensitive are withheld.
    pub withhold_sensitive_notes: bool,
}

impl Rules {
    /// The rules as the manifest lists them.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![
            format!("{RULE_OTHER_PERSON}: events about other people are disclosed as chain links only (id, sequence, hash, link)"),
            format!("{RULE_VISIT_PEOPLE}: names of other people present at a home visit"),
        ];
        if !self.terms.is_empty() {
            out.push(format!(
                "{RULE_NAMED_PERSON}: {} name(s) of other people given by the office, wherever they appear",
                self.terms.len()
            ));
        }
        if self.withhold_sensitive_notes {
            out.push(format!("{RULE_SENSITIVE_NOTES}: notes marked sensitive"));
        }
        out
    }
}

/// Replaces every case-insensitive occurrence of each term (ASCII case
/// folding, so byte offsets stay put) with [`MARK`], scanning past each
/// replacement so a term found inside the mark cannot loop.
pub(crate) fn replace_terms(text: &str, terms: &[String]) -> Option<String> {
    let mut out = text.to_owned();
    let mut changed = false;
    for t in terms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let needle = t.to_ascii_lowercase();
        let mut from = 0;
        while let Some(found) = out
            .get(from..)
            .and_then(|rest| rest.to_ascii_lowercase().find(&needle))
        {
            let at = from + found;
            out.replace_range(at..at + needle.len(), MARK);
            from = at + MARK.len();
            changed = true;
        }
    }
    changed.then_some(out)
}

fn walk(v: &mut Value, path: &str, terms: &[String], rule: &str, out: &mut Vec<Redaction>) {
    match v {
        Value::String(s) => {
            if let Some(new) = replace_terms(s, terms) {
                *s = new;
                if !out.iter().any(|r| r.path == path) {
                    out.push(Redaction {
                        path: path.to_owned(),
                        rule: rule.to_owned(),
                    });
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}/{i}"), terms, rule, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let key = k.replace('~', "~0").replace('/', "~1");
                walk(item, &format!("{path}/{key}"), terms, rule, out);
            }
        }
        _ => {}
    }
}

fn set(body: &mut Value, pointer: &str, rule: &str, out: &mut Vec<Redaction>) {
    if let Some(v) = body.pointer_mut(pointer) {
        if v.as_str().is_some_and(|s| s != MARK && !s.is_empty()) {
            *v = Value::String(MARK.into());
            out.retain(|r| r.path != pointer);
            out.push(Redaction {
                path: pointer.to_owned(),
                rule: rule.to_owned(),
            });
        }
    }
}

/// Applies `rules` to a signed body (JSON text). `None` when nothing is
/// redacted; otherwise the redacted body's JSON and what was redacted.
pub fn redact(body: &str, rules: &Rules) -> Option<(String, Vec<Redaction>)> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    let mut out = Vec::new();
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // Who else was present at a visit is redacted wherever the record
    // names them (notes, concerns), not only in the list.
    let present: Vec<String> = if kind == fieldbook_core::events::kinds::VISIT_RECORDED {
        v.pointer("/payload/form/people_present")
            .and_then(Value::as_array)
            .map(|people| {
                people
                    .iter()
                    .filter_map(|p| p.get("name").and_then(Value::as_str))
                    .filter(|n| n.trim().chars().count() >= 2)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    for (terms, rule) in [
        (&rules.terms, RULE_NAMED_PERSON),
        (&present, RULE_VISIT_PEOPLE),
    ] {
        if terms.is_empty() {
            continue;
        }
        if let Some(p) = v.get_mut("payload") {
            walk(p, "/payload", terms, rule, &mut out);
        }
        if let Some(r) = v.get_mut("reason") {
            walk(r, "/reason", terms, rule, &mut out);
        }
    }
    if kind == fieldbook_core::events::kinds::VISIT_RECORDED {
        let n = v
            .pointer("/payload/form/people_present")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..n {
            set(
                &mut v,
                &format!("/payload/form/people_present/{i}/name"),
                RULE_VISIT_PEOPLE,
                &mut out,
            );
        }
    }
    let sensitive = v
        .pointer("/payload/sensitive")
        .or_else(|| v.pointer("/payload/form/sensitive"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if rules.withhold_sensitive_notes && sensitive {
        for p in ["/payload/notes", "/payload/form/notes"] {
            set(&mut v, p, RULE_SENSITIVE_NOTES, &mut out);
        }
    }
    if out.is_empty() {
        return None;
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Some((serde_json::to_string(&v).ok()?, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_replaced_wherever_they_appear_and_recorded() {
        let body = serde_json::json!({"kind": "upw.outcome_recorded", "payload": {"notes": "Argued with jo bloggs; Jo Bloggs left", "sensitive": false, "crn": "X1"}}).to_string();
        let rules = Rules {
            terms: vec!["Jo Bloggs".into()],
            withhold_sensitive_notes: true,
        };
        let (text, red) = redact(&body, &rules).expect("redacted");
        assert!(!text.to_lowercase().contains("bloggs"), "{text}");
        assert_eq!(red.len(), 1);
        assert_eq!(red[0].path, "/payload/notes");
        assert_eq!(red[0].rule, RULE_NAMED_PERSON);
        // Nothing to redact: the body is disclosed whole.
        assert!(redact(&body, &Rules::default()).is_none());
        // A term that the mark itself contains ends (it used to be the
        // kind of loop that never would).
        let (text, _) = redact(
            &body,
            &Rules {
                terms: vec!["bloggs".into(), "red".into()],
                withhold_sensitive_notes: false,
            },
        )
        .expect("redacted");
        assert!(
            !text.contains("loggs") && text.contains("[redacted]"),
            "{text}"
        );
    }

    #[test]
    fn people_present_at_a_visit_are_redacted_wherever_named() {
        let body = serde_json::json!({"kind": "visit.recorded", "payload": {"crn": "X1", "form": {
            "people_present": [{"name": "Pat Neighbour", "relationship": "neighbour", "child": false}],
            "notes": "pat neighbour answered the door", "risk_concerns": "", "sensitive": false }}})
        .to_string();
        let (text, red) = redact(&body, &Rules::default()).expect("redacted");
        assert!(
            !text.to_lowercase().contains("neighbour answered"),
            "{text}"
        );
        assert!(!text.contains("Pat Neighbour"), "{text}");
        let paths: Vec<(&str, &str)> = red
            .iter()
            .map(|r| (r.path.as_str(), r.rule.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("/payload/form/notes", RULE_VISIT_PEOPLE),
                ("/payload/form/people_present/0/name", RULE_VISIT_PEOPLE)
            ]
        );
        // The relationship stays: it is what the court needs.
        assert!(text.contains("neighbour\""), "{text}");
    }
}
