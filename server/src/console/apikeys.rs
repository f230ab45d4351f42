//! Scoped API keys for integrations, in place of one shared office token:
//! `fbk_<id>_<secret>`, only the SHA-256 of the secret stored (it is 256
//! random bits, so a fast hash is enough), each key with its scopes, named
//! in the audit log for what it reads and changes, revocable.
//!
//! The token from `FIELDBOOK_OFFICE_TOKEN` / `--office-token-file` is
//! still accepted as one key holding every scope, named `office-token`.

use super::sql::{self, Val};
use crate::db::{Db, DbError};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read what devices sent and the office holds (personal data).
    Read,
    /// Write reference data (items, CSV imports).
    Reference,
    /// Officers, enrolment codes, revocation, epoch reset.
    Devices,
    /// Acknowledge and resolve lone-worker alerts.
    Safety,
    /// Produce and download evidence packs (a disclosure of personal data).
    Evidence,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Reference,
        Scope::Devices,
        Scope::Safety,
        Scope::Evidence,
    ];
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Reference => "reference",
            Scope::Devices => "devices",
            Scope::Safety => "safety",
            Scope::Evidence => "evidence",
        }
    }
    /// What it allows, in words.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Read => "Read attendance, enforcement, visits, alerts and events",
            Scope::Reference => "Write reference data and import CSV",
            Scope::Devices => "Manage officers, enrolment codes and devices",
            Scope::Safety => "Acknowledge and resolve lone-worker alerts",
            Scope::Evidence => "Produce and download evidence packs",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id (the part after `fbk_`).
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Who created it.
    pub created_by: String,
    /// When, ms.
    pub created_ms: i64,
    /// When revoked.
    pub revoked_ms: Option<i64>,
    /// Last use.
    pub last_used_ms: Option<i64>,
}

/// Creates a key; returns it with its one-time secret text.
pub async fn create(
    db: &Db,
    name: &str,
    scopes: &[Scope],
    created_by: &str,
    now: i64,
) -> Result<(ApiKey, String), DbError> {
    let id = super::random_token(8)?;
    let secret = super::random_token(32)?;
    let scopes_text = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    sql::exec(
        db,
        "INSERT INTO console_api_keys (id, name, key_hash, scopes, created_by, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            Val::from(&id),
            Val::from(name),
            Val::from(super::sessions::sha256_hex(&secret)),
            Val::from(scopes_text),
            Val::from(created_by),
            Val::I(now),
        ],
    )
    .await?;
    let key = ApiKey {
        id: id.clone(),
        name: name.to_owned(),
        scopes: scopes.to_vec(),
        created_by: created_by.to_owned(),
        created_ms: now,
        revoked_ms: None,
        last_used_ms: None,
    };
    Ok((key, format!("fbk_{id}_{secret}")))
}

fn key_of(r: &sql::Row) -> ApiKey {
    ApiKey {
        id: r.text(0),
        name: r.text(1),
        scopes: r.text(2).split(',').filter_map(Scope::parse).collect(),
        created_by: r.text(3),
        created_ms: r.int(4),
        revoked_ms: r.opt_int(5),
        last_used_ms: r.opt_int(6),
    }
}

/// Every key, newest first.
pub async fn list(db: &Db) -> Result<Vec<ApiKey>, DbError> {
    Ok(sql::query(
        db,
        "SELECT id, name, scopes, created_by, created_ms, revoked_ms, last_used_ms
         FROM console_api_keys ORDER BY created_ms DESC",
        vec![],
    )
    .await?
    .iter()
    .map(key_of)
    .collect())
}

/// Revokes a key; `false` when unknown or already revoked.
pub async fn revoke(db: &Db, id: &str, now: i64) -> Result<bool, DbError> {
    Ok(sql::exec(
        db,
        "UPDATE console_api_keys SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
        vec![Val::from(id), Val::I(now)],
    )
    .await?
        == 1)
}

/// What presenting a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A live key holding the scope; its name.
    Allowed(String),
    /// A live key without the scope.
    MissingScope,
    /// Unknown, wrong or revoked.
    Refused,
}

/// Checks a presented `fbk_` key for `scope`.
pub async fn check(db: &Db, presented: &str, scope: Scope, now: i64) -> Result<Check, DbError> {
    let Some((id, secret)) = presented
        .strip_prefix("fbk_")
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(Check::Refused);
    };
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Check::Refused);
    }
    let Some(row) = sql::one(
        db,
        "SELECT id, name, scopes, created_by, created_ms, revoked_ms, last_used_ms, key_hash
         FROM console_api_keys WHERE id = ?1",
        vec![Val::from(id)],
    )
    .await?
    else {
        return Ok(Check::Refused);
    };
    let key = key_of(&row);
    let stored = row.text(7);
    let given = super::sessions::sha256_hex(secret);
    if key.revoked_ms.is_some()
        || !fieldbook_core::crypto::ct_eq(given.as_bytes(), stored.as_bytes())
    {
        return Ok(Check::Refused);
    }
    if !key.scopes.contains(&scope) {
        return Ok(Check::MissingScope);
    }
    if key.last_used_ms.is_none_or(|t| now - t > 60_000) {
        sql::exec(
            db,
            "UPDATE console_api_keys SET last_used_ms = ?2 WHERE id = ?1",
            vec![Val::from(id), Val::I(now)],
        )
        .await?;
    }
    Ok(Check::Allowed(key.name))
}
