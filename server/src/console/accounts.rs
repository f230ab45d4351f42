//! Office accounts: roles, team scope, argon2id passwords, and sign-in
//! with lock-out after repeated failures.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::sql::{self, Row, Val};
use crate::db::{Db, DbError};

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a lock-out lasts.
pub const LOCK_OUT_MS: i64 = 15 * 60_000;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accounts, API keys, devices, reference data, the audit log.
    Administrator,
    /// Community Payback: Today, enforcement, people.
    UnpaidWorkManager,
    /// Home visits: people, enforcement, safety.
    OffenderManager,
    /// Lone-worker alerts.
    SafetyMonitor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Administrator,
        Role::UnpaidWorkManager,
        Role::OffenderManager,
        Role::SafetyMonitor,
    ];
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::UnpaidWorkManager => "unpaid_work_manager",
            Role::OffenderManager => "offender_manager",
            Role::SafetyMonitor => "safety_monitor",
        }
    }
    /// Shown name.
    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::UnpaidWorkManager => "Unpaid work manager",
            Role::OffenderManager => "Offender manager",
            Role::SafetyMonitor => "Safety monitor",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An office account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id (random hex).
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The field staff (officer ids, the audiences devices have) whose
    /// work this account sees; `*` is every team.
    pub teams: Vec<String>,
    /// Whether a password is set (an SSO-only account has none).
    pub has_password: bool,
    /// Locked until, ms.
    pub locked_until_ms: Option<i64>,
    /// Disabled (signs in no more).
    pub disabled: bool,
}

impl Account {
    /// Whether the account sees every team.
    pub fn sees_all(&self) -> bool {
        self.teams.iter().any(|t| t == "*")
    }
    /// Whether work recorded for any of `officers` is in scope.
    pub fn sees_any<'a>(&self, mut officers: impl Iterator<Item = &'a str>) -> bool {
        self.sees_all() || officers.any(|o| self.teams.iter().any(|t| t == o))
    }
    /// Whether one officer's work is in scope.
    pub fn sees(&self, officer: &str) -> bool {
        self.sees_any(std::iter::once(officer))
    }
    /// The actor name the audit log records.
    pub fn actor(&self) -> String {
        format!("account:{}", self.username)
    }
}

/// What went wrong creating an account (messages carry no personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A field is invalid; the text says which.
    #[error("{0}")]
    Invalid(String),
    /// The username is taken.
    #[error("that username is already in use")]
    Taken,
    /// Storage failed.
    #[error("storage is unavailable")]
    Storage,
}

impl From<DbError> for AccountError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "console storage failure");
        AccountError::Storage
    }
}

const COLUMNS: &str = "id, username, display_name, role, teams, password_hash IS NOT NULL, locked_until_ms, disabled_ms";

fn account_of(r: &Row) -> Option<Account> {
    Some(Account {
        id: r.text(0),
        username: r.text(1),
        display_name: r.text(2),
        role: Role::parse(&r.text(3))?,
        teams: split_teams(&r.text(4)),
        has_password: r.int(5) != 0,
        locked_until_ms: r.opt_int(6),
        disabled: r.opt_int(7).is_some(),
    })
}

/// Teams as typed: officer ids separated by commas, semicolons or spaces.
pub fn split_teams(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether a username is acceptable (the officer id alphabet).
pub fn valid_username(u: &str) -> bool {
    crate::office::valid_officer_id(u)
}

fn random_salt() -> Result<SaltString, AccountError> {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| AccountError::Invalid("the random source failed".into()))?;
    SaltString::encode_b64(&b).map_err(|_| AccountError::Invalid("salt".into()))
}

/// An argon2id hash (PHC string, the crate's default parameters).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = random_salt()?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AccountError::Invalid("the password cannot be hashed".into()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=200).contains(&n) {
        return Err(AccountError::Invalid(format!(
            "a password must be {MIN_PASSWORD_CHARS} to 200 characters long"
        )));
    }
    Ok(())
}

fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("not-a-real-password-at-all").unwrap_or_default())
}

/// A new account as typed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Sign-in name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Teams (officer ids, or `*`).
    pub teams: Vec<String>,
    /// Initial password (`None`: single sign-on only).
    pub password: Option<String>,
}

/// Creates an account.
pub async fn create(db: &Db, new: NewAccount, now: i64) -> Result<Account, AccountError> {
    let username = new.username.trim().to_owned();
    if !valid_username(&username) {
        return Err(AccountError::Invalid(
            "a username is 1 to 64 of A-Z a-z 0-9 . _ @ - starting with a letter or digit".into(),
        ));
    }
    let display = new.display_name.trim().to_owned();
    if display.is_empty() || display.chars().count() > 100 {
        return Err(AccountError::Invalid(
            "enter a name of up to 100 characters".into(),
        ));
    }
    if new.teams.is_empty() {
        return Err(AccountError::Invalid(
            "enter at least one team (an officer id, or * for every team)".into(),
        ));
    }
    if let Some(t) = new
        .teams
        .iter()
        .find(|t| *t != "*" && !crate::office::valid_officer_id(t))
    {
        let _ = t;
        return Err(AccountError::Invalid(
            "a team is an officer id (A-Z a-z 0-9 . _ @ -) or *".into(),
        ));
    }
    let hash = match &new.password {
        Some(p) => {
            check_password(p)?;
            let p = p.clone();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|_| AccountError::Storage)??,
            )
        }
        None => None,
    };
    if by_username(db, &username).await?.is_some() {
        return Err(AccountError::Taken);
    }
    let id = super::random_token(16).map_err(|_| AccountError::Storage)?;
    let n = sql::exec(
        db,
        "INSERT INTO console_accounts (id, username, display_name, role, teams, password_hash, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (username) DO NOTHING",
        vec![
            Val::from(&id),
            Val::from(&username),
            Val::from(&display),
            Val::from(new.role.as_str()),
            Val::from(new.teams.join(",")),
            Val::from(hash),
            Val::I(now),
        ],
    )
    .await?;
    if n == 0 {
        return Err(AccountError::Taken);
    }
    by_id(db, &id).await?.ok_or(AccountError::Storage)
}

/// The account with this id.
pub async fn by_id(db: &Db, id: &str) -> Result<Option<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM console_accounts WHERE id = ?1");
    Ok(sql::one(db, &sql, vec![Val::from(id)])
        .await?
        .and_then(|r| account_of(&r)))
}

/// The account with this username.
pub async fn by_username(db: &Db, username: &str) -> Result<Option<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM console_accounts WHERE username = ?1");
    Ok(sql::one(db, &sql, vec![Val::from(username)])
        .await?
        .and_then(|r| account_of(&r)))
}

/// The account linked to an OIDC subject.
pub async fn by_subject(db: &Db, subject: &str) -> Result<Option<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM console_accounts WHERE oidc_subject = ?1");
    Ok(sql::one(db, &sql, vec![Val::from(subject)])
        .await?
        .and_then(|r| account_of(&r)))
}

/// Links an account to an OIDC subject (first single sign-on).
pub async fn link_subject(db: &Db, id: &str, subject: &str) -> Result<(), DbError> {
    sql::exec(
        db,
        "UPDATE console_accounts SET oidc_subject = ?2 WHERE id = ?1 AND oidc_subject IS NULL",
        vec![Val::from(id), Val::from(subject)],
    )
    .await?;
    Ok(())
}

/// Every account, by username.
pub async fn list(db: &Db) -> Result<Vec<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM console_accounts ORDER BY username");
    Ok(sql::query(db, &sql, vec![])
        .await?
        .iter()
        .filter_map(account_of)
        .collect())
}

/// Whether any administrator exists.
pub async fn any_administrator(db: &Db) -> Result<bool, DbError> {
    Ok(sql::one(
        db,
        "SELECT COUNT(*) FROM console_accounts WHERE role = 'administrator'",
        vec![],
    )
    .await?
    .is_some_and(|r| r.int(0) > 0))
}

/// Clears a lock-out.
pub async fn unlock(db: &Db, id: &str) -> Result<bool, DbError> {
    Ok(sql::exec(
        db,
        "UPDATE console_accounts SET failed_logins = 0, locked_until_ms = NULL WHERE id = ?1",
        vec![Val::from(id)],
    )
    .await?
        == 1)
}

/// How a sign-in went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in.
    Ok(Account),
    /// Wrong username or password (which is not said).
    Refused,
    /// Locked out until this time (ms).
    Locked(i64),
}

/// Checks a username and password, counting failures: the fifth in a row
/// locks the account for [`LOCK_OUT_MS`]; while locked, not even the
/// right password signs in.
pub async fn sign_in(db: &Db, username: &str, password: &str, now: i64) -> Result<SignIn, DbError> {
    let row = sql::one(
        db,
        &format!("SELECT {COLUMNS}, password_hash, failed_logins FROM console_accounts WHERE username = ?1"),
        vec![Val::from(username.trim())],
    )
    .await?;
    let Some(row) = row else {
        // The same work as a real check, so timing does not tell.
        let p = password.to_owned();
        let _ = tokio::task::spawn_blocking(move || verify_password(dummy_hash(), &p)).await;
        return Ok(SignIn::Refused);
    };
    let Some(account) = account_of(&row) else {
        return Ok(SignIn::Refused);
    };
    if let Some(until) = account.locked_until_ms.filter(|u| *u > now) {
        return Ok(SignIn::Locked(until));
    }
    let hash = row.opt_text(8);
    let p = password.to_owned();
    let ok = match hash {
        Some(h) => tokio::task::spawn_blocking(move || verify_password(&h, &p))
            .await
            .unwrap_or(false),
        None => false,
    };
    if ok && !account.disabled {
        sql::exec(
            db,
            "UPDATE console_accounts SET failed_logins = 0, locked_until_ms = NULL WHERE id = ?1",
            vec![Val::from(&account.id)],
        )
        .await?;
        return Ok(SignIn::Ok(account));
    }
    let failed = row.int(9) + 1;
    if failed >= MAX_FAILED_LOGINS {
        let until = now + LOCK_OUT_MS;
        sql::exec(
            db,
            "UPDATE console_accounts SET failed_logins = 0, locked_until_ms = ?2 WHERE id = ?1",
            vec![Val::from(&account.id), Val::I(until)],
        )
        .await?;
        return Ok(SignIn::Locked(until));
    }
    sql::exec(
        db,
        "UPDATE console_accounts SET failed_logins = ?2 WHERE id = ?1",
        vec![Val::from(&account.id), Val::I(failed)],
    )
    .await?;
    Ok(SignIn::Refused)
}

/// Sets a new password (and clears a lock-out).
pub async fn set_password(db: &Db, id: &str, password: &str) -> Result<(), AccountError> {
    check_password(password)?;
    let p = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|_| AccountError::Storage)??;
    sql::exec(
        db,
        "UPDATE console_accounts SET password_hash = ?2, failed_logins = 0, locked_until_ms = NULL WHERE id = ?1",
        vec![Val::from(id), Val::from(hash)],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_and_differ() {
        let a = hash_password("correct horse battery").expect("hash");
        let b = hash_password("correct horse battery").expect("hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterz"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn teams_and_roles_parse() {
        assert_eq!(split_teams("b, a;a  c"), vec!["a", "b", "c"]);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
