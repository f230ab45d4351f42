//! The office's own section 62 log: every read of personal data
//! (consultation), every export (disclosure) and every decision or change
//! (alteration, erasure), with who did it. Append-only: the database
//! refuses updates and deletions (triggers in [`super::schema`]).

use super::sql::{self, Val};
use crate::db::{Db, DbError};

/// The kinds of processing logged (Data Protection Act 2018 s.62), plus
/// sign-in and account security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Personal data read.
    Consultation,
    /// Personal data given out (an export, an API answer).
    Disclosure,
    /// A decision or change.
    Alteration,
    /// Data removed (a device shredded, an item deleted).
    Erasure,
    /// Sign-in, sign-out, accounts, keys.
    Security,
}

impl Action {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Consultation => "consultation",
            Action::Disclosure => "disclosure",
            Action::Alteration => "alteration",
            Action::Erasure => "erasure",
            Action::Security => "security",
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Order of writing.
    pub seq: i64,
    /// When, ms.
    pub at_ms: i64,
    /// Who (`account:NAME`, `api:KEY NAME`).
    pub actor: String,
    /// What kind of processing.
    pub action: String,
    /// What was processed (`person record`, `enforcement decision`).
    pub what: String,
    /// Which record (a CRN, an event or device id).
    pub subject: String,
    /// Detail (the decision, the page).
    pub detail: String,
}

/// Appends an entry.
pub async fn record(
    db: &Db,
    actor: &str,
    action: Action,
    what: &str,
    subject: &str,
    detail: &str,
) -> Result<(), DbError> {
    sql::exec(
        db,
        "INSERT INTO console_audit (at_ms, actor, action, what, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            Val::I(crate::api::now_ms()),
            Val::from(actor),
            Val::from(action.as_str()),
            Val::from(what),
            Val::from(subject),
            Val::from(detail),
        ],
    )
    .await?;
    Ok(())
}

/// The newest entries first, optionally only one actor's.
pub async fn recent(db: &Db, limit: i64, actor: Option<&str>) -> Result<Vec<Entry>, DbError> {
    let rows = match actor {
        Some(a) => {
            sql::query(
                db,
                "SELECT seq, at_ms, actor, action, what, subject, detail FROM console_audit
                 WHERE actor = ?1 ORDER BY seq DESC LIMIT ?2",
                vec![Val::from(a), Val::I(limit)],
            )
            .await?
        }
        None => {
            sql::query(
                db,
                "SELECT seq, at_ms, actor, action, what, subject, detail FROM console_audit
                 ORDER BY seq DESC LIMIT ?1",
                vec![Val::I(limit)],
            )
            .await?
        }
    };
    Ok(rows
        .iter()
        .map(|r| Entry {
            seq: r.int(0),
            at_ms: r.int(1),
            actor: r.text(2),
            action: r.text(3),
            what: r.text(4),
            subject: r.text(5),
            detail: r.text(6),
        })
        .collect())
}
