//! The office console in the browser: personal accounts with roles and
//! team scope, sessions and CSRF, optional single sign-on (OIDC with
//! PKCE), scoped API keys, the office audit log, and server-rendered
//! GOV.UK Design System pages (Today, Safety, Enforcement, Conflicts,
//! People, Visits, Reports, Devices, Reference data, Audit, Accounts)
//! that work without
//! JavaScript. Everything it keeps is in the database, so any instance
//! serves any request.

pub mod accounts;
pub mod apikeys;
pub mod audit;
pub mod conflicts;
pub mod data;
pub mod deliveries;
pub mod evidence;
pub mod oidc;
pub mod pages;
pub mod reports;
pub mod safety;
pub mod schema;
pub mod sessions;
pub mod sql;
#[cfg(test)]
mod tests;
pub mod view;
pub mod visits;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;

use crate::api::{now_ms, AppState};
use crate::db::DbError;
use accounts::{Account, Role};

/// Single sign-on settings (OpenID Connect, authorisation code + PKCE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer (its `/.well-known/openid-configuration` is read).
    pub issuer: String,
    /// This service's client id.
    pub client_id: String,
    /// Client secret, when the provider issued one (PKCE is used anyway).
    pub client_secret: Option<String>,
    /// The callback address registered with the provider
    /// (`…/console/sign-in/oidc/callback`).
    pub redirect_url: String,
}

/// Console settings.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// govuk-frontend's `dist/govuk` folder (from npm); without it the
    /// pages use the built-in minimal stylesheet.
    pub assets_dir: Option<PathBuf>,
    /// Session cookies marked Secure (TLS here or at a proxy).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub idle_timeout_ms: i64,
    /// A session ends this long after sign-in, whatever.
    pub absolute_timeout_ms: i64,
    /// Single sign-on, when configured.
    pub oidc: Option<OidcConfig>,
    /// How often the Safety page's stream reads the database.
    pub live_poll_ms: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            assets_dir: None,
            secure_cookies: false,
            idle_timeout_ms: 30 * 60_000,
            absolute_timeout_ms: 12 * 3_600_000,
            oidc: None,
            live_poll_ms: 2_000,
        }
    }
}

/// The console's shared state.
pub struct Console {
    /// Settings.
    pub config: ConsoleConfig,
    /// Compiled templates.
    pub views: view::Views,
    /// HTTP client for the identity provider (no redirects).
    pub http: reqwest::Client,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// Builds the console's state.
    pub fn new(config: ConsoleConfig) -> Result<Arc<Console>, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|_| "cannot build the HTTP client".to_owned())?;
        let govuk = config
            .assets_dir
            .as_ref()
            .is_some_and(|d| d.join("govuk-frontend.min.css").is_file());
        if config.assets_dir.is_some() && !govuk {
            tracing::warn!("govuk-frontend not found in the console assets folder; using the built-in stylesheet");
        }
        Ok(Arc::new(Console {
            views: view::Views::new(govuk, config.oidc.is_some())?,
            config,
            http,
        }))
    }
}

/// Random bytes as hex.
pub fn random_token(bytes: usize) -> Result<String, DbError> {
    let mut b = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| DbError("the random source failed".into()))?;
    Ok(hex::encode(b))
}

/// A console failure, shown as a page.
#[derive(Debug)]
pub enum Failure {
    /// Not signed in (or the session ended): to the sign-in page.
    SignIn,
    /// Signed in, but this role may not.
    Forbidden,
    /// No such page, or not in this account's teams (which is not told).
    NotFound,
    /// A form from another site or without its token.
    Csrf,
    /// Bad input the page cannot show beside its form.
    Bad(String),
    /// Storage failed.
    Storage,
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "console storage failure");
        Failure::Storage
    }
}

impl From<crate::api::ApiFailure> for Failure {
    fn from(e: crate::api::ApiFailure) -> Self {
        Failure::Bad(e.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            Failure::SignIn => return Redirect::to("/console/sign-in?expired=1").into_response(),
            Failure::Forbidden => (
                StatusCode::FORBIDDEN,
                "You do not have access to this page",
                "Your role does not include this page. Ask an administrator if you need it.".to_owned(),
            ),
            Failure::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you followed a link, the record may not be in your teams.".to_owned(),
            ),
            Failure::Csrf => (
                StatusCode::FORBIDDEN,
                "This form could not be accepted",
                "The form did not come from this service, or your session changed. Go back, reload the page and try again. Nothing was changed.".to_owned(),
            ),
            Failure::Bad(why) => (StatusCode::BAD_REQUEST, "There is a problem", why),
            Failure::Storage => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Sorry, there is a problem with the service",
                "Try again later. Nothing was changed.".to_owned(),
            ),
        };
        let html = view::error_page(status.as_u16(), title, &text);
        page_response(status, html)
    }
}

/// An HTML answer with the console's security headers.
pub fn page_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(h);
    r
}

/// Helmet-style headers on every console answer.
pub fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
             base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account.
    pub account: Account,
    /// The session's CSRF token.
    pub csrf: String,
    /// The session (SHA-256 of its token).
    pub session: String,
}

impl Viewer {
    /// Refuses unless the account has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Failure> {
        if roles.contains(&self.account.role) {
            Ok(())
        } else {
            Err(Failure::Forbidden)
        }
    }
    /// Refuses a form whose token is not this session's, or that another
    /// site's page sent (`Origin` or `Sec-Fetch-Site` say so).
    pub fn check_form(&self, headers: &HeaderMap, token: &str) -> Result<(), Failure> {
        same_origin(headers)?;
        if token.is_empty()
            || !fieldbook_core::crypto::ct_eq(token.as_bytes(), self.csrf.as_bytes())
        {
            return Err(Failure::Csrf);
        }
        Ok(())
    }
}

/// Refuses a request another site's page sent.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Failure> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Err(Failure::Csrf);
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        if origin == "null" || origin_host != host {
            return Err(Failure::Csrf);
        }
    }
    Ok(())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let Some(token) = sessions::cookie(&parts.headers, sessions::COOKIE) else {
            return Err(Failure::SignIn);
        };
        let c = &state.console.config;
        let live = parts.uri.path() == "/console/safety/live";
        match sessions::lookup(
            &state.db,
            &token,
            now_ms(),
            c.idle_timeout_ms,
            c.absolute_timeout_ms,
            !live,
        )
        .await?
        {
            Some(s) => Ok(Viewer {
                account: s.account,
                csrf: s.csrf,
                session: s.token_hash,
            }),
            None => Err(Failure::SignIn),
        }
    }
}

/// The console's routes, merged into the server's router.
pub fn router(state: &AppState) -> Router<AppState> {
    pages::routes()
        .merge(safety::routes())
        .merge(deliveries::routes())
        .merge(evidence::routes())
        .merge(oidc::routes())
        .merge(view::asset_routes(&state.console.config))
        .layer(axum::middleware::from_fn_with_state(
            state.guards.clone(),
            crate::limits::guard,
        ))
}
