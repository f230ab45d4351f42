//! Console sessions: a random token in an HttpOnly, SameSite=Lax cookie
//! (Secure under TLS), only its SHA-256 stored; a CSRF token per session;
//! idle and absolute timeouts; sign-out here or everywhere.

use axum::http::HeaderMap;

use super::accounts::{self, Account};
use super::sql::{self, Val};
use crate::db::{Db, DbError};

/// The session cookie's name.
pub const COOKIE: &str = "fb_session";
/// The pre-sign-in cookie (CSRF for the sign-in form itself).
pub const PRE_COOKIE: &str = "fb_signin";
/// The OIDC flow cookie.
pub const OIDC_COOKIE: &str = "fb_oidc";

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the cookie's token, hex.
    pub token_hash: String,
    /// The account.
    pub account: Account,
    /// The session's CSRF token.
    pub csrf: String,
}

/// SHA-256 hex.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref())
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age_s: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age_s {
        c.push_str(&format!("; Max-Age={a}"));
    }
    c
}

/// Starts a session; returns the cookie token.
pub async fn create(db: &Db, account_id: &str, now: i64) -> Result<String, DbError> {
    let token = super::random_token(32)?;
    let csrf = super::random_token(32)?;
    sql::exec(
        db,
        "INSERT INTO console_sessions (token_hash, account_id, csrf, created_ms, last_seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        vec![
            Val::from(sha256_hex(&token)),
            Val::from(account_id),
            Val::from(csrf),
            Val::I(now),
        ],
    )
    .await?;
    Ok(token)
}

/// The session for a cookie token, if live: older than the absolute
/// timeout or idle for longer than the idle timeout ends it. `touch`
/// counts this request as activity (a live-update stream does not).
pub async fn lookup(
    db: &Db,
    token: &str,
    now: i64,
    idle_ms: i64,
    absolute_ms: i64,
    touch: bool,
) -> Result<Option<Session>, DbError> {
    let hash = sha256_hex(token);
    let Some(row) = sql::one(
        db,
        "SELECT account_id, csrf, created_ms, last_seen_ms FROM console_sessions WHERE token_hash = ?1",
        vec![Val::from(&hash)],
    )
    .await?
    else {
        return Ok(None);
    };
    let (created, seen) = (row.int(2), row.int(3));
    if now - created > absolute_ms || now - seen > idle_ms {
        end(db, &hash).await?;
        return Ok(None);
    }
    let Some(account) = accounts::by_id(db, &row.text(0)).await? else {
        end(db, &hash).await?;
        return Ok(None);
    };
    if account.disabled {
        end(db, &hash).await?;
        return Ok(None);
    }
    if touch && now - seen > 1_000 {
        sql::exec(
            db,
            "UPDATE console_sessions SET last_seen_ms = ?2 WHERE token_hash = ?1",
            vec![Val::from(&hash), Val::I(now)],
        )
        .await?;
    }
    Ok(Some(Session {
        token_hash: hash,
        account,
        csrf: row.text(1),
    }))
}

/// Ends one session.
pub async fn end(db: &Db, token_hash: &str) -> Result<(), DbError> {
    sql::exec(
        db,
        "DELETE FROM console_sessions WHERE token_hash = ?1",
        vec![Val::from(token_hash)],
    )
    .await?;
    Ok(())
}

/// Ends every session of an account; returns how many.
pub async fn end_all(db: &Db, account_id: &str) -> Result<u64, DbError> {
    sql::exec(
        db,
        "DELETE FROM console_sessions WHERE account_id = ?1",
        vec![Val::from(account_id)],
    )
    .await
}

/// Live sessions of an account.
pub async fn count(db: &Db, account_id: &str) -> Result<i64, DbError> {
    Ok(sql::one(
        db,
        "SELECT COUNT(*) FROM console_sessions WHERE account_id = ?1",
        vec![Val::from(account_id)],
    )
    .await?
    .map_or(0, |r| r.int(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_and_set_with_their_attributes() {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; fb_session=tok; b=2".parse().expect("header"),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        let c = set_cookie(COOKIE, "v", true, Some(0));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!set_cookie(COOKIE, "v", false, None).contains("Secure"));
    }
}
