//! Single sign-on by OpenID Connect: the authorisation code flow with PKCE
//! (S256), a state bound to the browser by a cookie and kept in the
//! database (any instance may receive the callback), a nonce, and the ID
//! token's signature checked with `jsonwebtoken` against the provider's
//! published keys (RS256 or ES256), with its issuer, audience and expiry.
//! The account must already exist: an administrator creates it with the
//! username the provider gives (`preferred_username` or `email`); the
//! first sign-on links the provider's subject to it.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde::Deserialize;

use super::accounts;
use super::audit::{self, Action};
use super::sessions;
use super::sql::{self, Val};
use super::{Failure, OidcConfig};
use crate::api::{now_ms, AppState};

/// How long a sign-on may take between leaving and coming back.
pub const FLOW_LIFETIME_MS: i64 = 10 * 60_000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/sign-in/oidc", get(start))
        .route("/console/sign-in/oidc/callback", get(callback))
}

/// The provider's discovery document (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Issuer.
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
}

/// The ID token's claims that are used.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// The nonce sent.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Username at the provider.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
}

async fn discover(http: &reqwest::Client, cfg: &OidcConfig) -> Result<Discovery, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        cfg.issuer.trim_end_matches('/')
    );
    let d: Discovery = http
        .get(url)
        .send()
        .await
        .map_err(|_| "the identity provider cannot be reached".to_owned())?
        .error_for_status()
        .map_err(|_| "the identity provider refused discovery".to_owned())?
        .json()
        .await
        .map_err(|_| "the discovery document does not read".to_owned())?;
    if d.issuer.trim_end_matches('/') != cfg.issuer.trim_end_matches('/') {
        return Err("the discovery document names another issuer".into());
    }
    Ok(d)
}

fn fail() -> Response {
    Redirect::to("/console/sign-in?sso_error=1").into_response()
}

async fn start(State(state): State<AppState>) -> Result<Response, Failure> {
    let Some(cfg) = state.console.config.oidc.clone() else {
        return Err(Failure::NotFound);
    };
    let d = match discover(&state.console.http, &cfg).await {
        Ok(d) => d,
        Err(why) => {
            tracing::warn!(why, "single sign-on unavailable");
            return Ok(fail());
        }
    };
    let flow_state = super::random_token(16)?;
    let verifier = b64(super::random_token(32)?.as_bytes());
    let nonce = super::random_token(16)?;
    let now = now_ms();
    sql::transaction(
        &state.db,
        vec![
            (
                "DELETE FROM console_oidc_flows WHERE created_ms < ?1",
                vec![Val::I(now - FLOW_LIFETIME_MS)],
            ),
            (
                "INSERT INTO console_oidc_flows (state, verifier, nonce, created_ms) VALUES (?1, ?2, ?3, ?4)",
                vec![
                    Val::from(&flow_state),
                    Val::from(&verifier),
                    Val::from(&nonce),
                    Val::I(now),
                ],
            ),
        ],
    )
    .await?;
    let mut url = reqwest::Url::parse(&d.authorization_endpoint)
        .map_err(|_| Failure::Bad("the identity provider's address is not valid".into()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &cfg.client_id)
        .append_pair("redirect_uri", &cfg.redirect_url)
        .append_pair("scope", "openid profile email")
        .append_pair("state", &flow_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    let mut r = Redirect::to(url.as_str()).into_response();
    let c = sessions::set_cookie(
        sessions::OIDC_COOKIE,
        &flow_state,
        state.console.config.secure_cookies,
        Some(FLOW_LIFETIME_MS / 1000),
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    id_token: String,
}

/// Checks an ID token: signature by one of the provider's keys (RS256 or
/// ES256 only), issuer, audience, expiry and nonce.
pub fn verify_id_token(
    token: &str,
    jwks: &jsonwebtoken::jwk::JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<Claims, String> {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let head = decode_header(token).map_err(|_| "the ID token does not read".to_owned())?;
    if !matches!(head.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err("the ID token's algorithm is not accepted".into());
    }
    let jwk = match &head.kid {
        Some(kid) => jwks.find(kid),
        None => jwks.keys.first(),
    }
    .ok_or_else(|| "the ID token's key is not published".to_owned())?;
    let key =
        DecodingKey::from_jwk(jwk).map_err(|_| "the provider's key does not read".to_owned())?;
    let mut v = Validation::new(head.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = decode::<Claims>(token, &key, &v)
        .map_err(|e| format!("the ID token is not valid: {}", kind(&e)))?;
    if data.claims.nonce.as_deref() != Some(nonce) {
        return Err("the ID token's nonce does not match".into());
    }
    Ok(data.claims)
}

fn kind(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        _ => "invalid",
    }
}

async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, Failure> {
    let Some(cfg) = state.console.config.oidc.clone() else {
        return Err(Failure::NotFound);
    };
    let (Some(code), Some(flow_state)) = (q.code, q.state) else {
        return Ok(fail());
    };
    let cookie = sessions::cookie(&headers, sessions::OIDC_COOKIE).unwrap_or_default();
    if cookie.is_empty() || !fieldbook_core::crypto::ct_eq(cookie.as_bytes(), flow_state.as_bytes())
    {
        tracing::warn!("single sign-on callback without its browser's state");
        return Ok(fail());
    }
    let Some(flow) = sql::one(
        &state.db,
        "SELECT verifier, nonce, created_ms FROM console_oidc_flows WHERE state = ?1",
        vec![Val::from(&flow_state)],
    )
    .await?
    else {
        return Ok(fail());
    };
    // One use: whoever deletes the row goes on.
    let used = sql::exec(
        &state.db,
        "DELETE FROM console_oidc_flows WHERE state = ?1",
        vec![Val::from(&flow_state)],
    )
    .await?;
    let now = now_ms();
    if used != 1 || now - flow.int(2) > FLOW_LIFETIME_MS {
        return Ok(fail());
    }
    let (verifier, nonce) = (flow.text(0), flow.text(1));
    let result: Result<Claims, String> = async {
        let d = discover(&state.console.http, &cfg).await?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", cfg.redirect_url.clone()),
            ("client_id", cfg.client_id.clone()),
            ("code_verifier", verifier),
        ];
        if let Some(secret) = &cfg.client_secret {
            form.push(("client_secret", secret.clone()));
        }
        let answer: TokenAnswer = state
            .console
            .http
            .post(&d.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|_| "the token endpoint cannot be reached".to_owned())?
            .error_for_status()
            .map_err(|_| "the token endpoint refused the code".to_owned())?
            .json()
            .await
            .map_err(|_| "the token answer does not read".to_owned())?;
        let jwks: jsonwebtoken::jwk::JwkSet = state
            .console
            .http
            .get(&d.jwks_uri)
            .send()
            .await
            .map_err(|_| "the provider's keys cannot be fetched".to_owned())?
            .json()
            .await
            .map_err(|_| "the provider's keys do not read".to_owned())?;
        verify_id_token(&answer.id_token, &jwks, &d.issuer, &cfg.client_id, &nonce)
    }
    .await;
    let claims = match result {
        Ok(c) => c,
        Err(why) => {
            tracing::warn!(why, "single sign-on refused");
            return Ok(fail());
        }
    };
    let account = match accounts::by_subject(&state.db, &claims.sub).await? {
        Some(a) => Some(a),
        None => {
            let name = claims
                .preferred_username
                .clone()
                .or(claims.email.clone())
                .unwrap_or_default();
            match accounts::by_username(&state.db, &name).await? {
                Some(a) => {
                    accounts::link_subject(&state.db, &a.id, &claims.sub).await?;
                    Some(a)
                }
                None => None,
            }
        }
    };
    let Some(account) = account.filter(|a| !a.disabled) else {
        tracing::warn!("single sign-on for a user with no office account");
        return Ok(fail());
    };
    let token = sessions::create(&state.db, &account.id, now).await?;
    audit::record(
        &state.db,
        &account.actor(),
        Action::Security,
        "sign-in",
        &account.username,
        "single sign-on",
    )
    .await?;
    let secure = state.console.config.secure_cookies;
    let mut r = Redirect::to("/console/today").into_response();
    for c in [
        sessions::set_cookie(sessions::COOKIE, &token, secure, None),
        sessions::set_cookie(sessions::OIDC_COOKIE, "", secure, Some(0)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc7636s_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_token_that_does_not_read_is_refused() {
        let jwks = jsonwebtoken::jwk::JwkSet { keys: vec![] };
        assert!(verify_id_token("not.a.token", &jwks, "i", "c", "n").is_err());
    }
}
