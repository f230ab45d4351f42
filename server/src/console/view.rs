//! Templates (minijinja, compiled into the binary from
//! `server/templates/`) and the static files: govuk-frontend from the
//! folder given by `--console-assets` (installed from npm), else the
//! built-in minimal stylesheet; the console's own script.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Environment, Value};
use serde::Serialize;

use super::accounts::Role;
use super::{ConsoleConfig, Failure, Viewer};
use crate::api::AppState;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("today.html", include_str!("../../templates/today.html")),
    ("safety.html", include_str!("../../templates/safety.html")),
    (
        "safety_list.html",
        include_str!("../../templates/safety_list.html"),
    ),
    (
        "enforcement.html",
        include_str!("../../templates/enforcement.html"),
    ),
    (
        "enforcement_item.html",
        include_str!("../../templates/enforcement_item.html"),
    ),
    ("people.html", include_str!("../../templates/people.html")),
    ("person.html", include_str!("../../templates/person.html")),
    ("devices.html", include_str!("../../templates/devices.html")),
    (
        "device_revoke.html",
        include_str!("../../templates/device_revoke.html"),
    ),
    (
        "reference.html",
        include_str!("../../templates/reference.html"),
    ),
    ("audit.html", include_str!("../../templates/audit.html")),
    (
        "conflicts.html",
        include_str!("../../templates/conflicts.html"),
    ),
    (
        "conflict.html",
        include_str!("../../templates/conflict.html"),
    ),
    ("reports.html", include_str!("../../templates/reports.html")),
    ("visits.html", include_str!("../../templates/visits.html")),
    (
        "visit_case.html",
        include_str!("../../templates/visit_case.html"),
    ),
    (
        "reference_list.html",
        include_str!("../../templates/reference_list.html"),
    ),
    (
        "reference_item.html",
        include_str!("../../templates/reference_item.html"),
    ),
    (
        "accounts.html",
        include_str!("../../templates/accounts.html"),
    ),
    (
        "deliveries.html",
        include_str!("../../templates/deliveries.html"),
    ),
    (
        "evidence_pack.html",
        include_str!("../../templates/evidence_pack.html"),
    ),
];

const CONSOLE_CSS: &str = include_str!("../../templates/static/console.css");
const CONSOLE_JS: &str = include_str!("../../templates/static/console.js");
const FALLBACK_CSS: &str = include_str!("../../templates/static/fallback.css");

/// The compiled templates.
pub struct Views {
    env: Environment<'static>,
    govuk: bool,
    oidc: bool,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views")
            .field("govuk", &self.govuk)
            .finish_non_exhaustive()
    }
}

impl Views {
    /// Compiles every template (a syntax error stops the server here).
    pub fn new(govuk: bool, oidc: bool) -> Result<Views, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_filter("when", |ms: i64| fmt_time(ms));
        env.add_filter("day", |ms: i64| fmt_day(ms));
        env.add_filter("hours", |minutes: i64| fmt_hours(minutes));
        for (name, text) in TEMPLATES {
            env.add_template(name, text)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        Ok(Views { env, govuk, oidc })
    }

    /// Renders a page for a signed-in viewer.
    pub fn page<S: Serialize>(
        &self,
        name: &str,
        viewer: &Viewer,
        current: &str,
        ctx: S,
    ) -> Result<Response, Failure> {
        let nav: Vec<Value> = NAV
            .iter()
            .filter(|(_, _, roles)| roles.contains(&viewer.account.role))
            .map(|(href, label, _)| {
                context! { href => href, label => label, current => *href == current }
            })
            .collect();
        let base = context! {
            govuk => self.govuk,
            oidc => self.oidc,
            user => context! {
                name => viewer.account.display_name,
                username => viewer.account.username,
                role => viewer.account.role.label(),
                teams => viewer.account.teams.join(", "),
            },
            nav => nav,
            csrf => viewer.csrf,
        };
        self.render(name, context! { ..base, ..Value::from_serialize(&ctx) })
    }

    /// Renders a page without a viewer (sign-in).
    pub fn public<S: Serialize>(&self, name: &str, ctx: S) -> Result<Response, Failure> {
        let base = context! { govuk => self.govuk, oidc => self.oidc };
        self.render(name, context! { ..base, ..Value::from_serialize(&ctx) })
    }

    fn render(&self, name: &str, ctx: Value) -> Result<Response, Failure> {
        let t = self.env.get_template(name).map_err(|_| Failure::Storage)?;
        let html = t.render(ctx).map_err(|e| {
            tracing::error!(template = name, error = %e, "template failed");
            Failure::Storage
        })?;
        Ok(super::page_response(StatusCode::OK, html))
    }
}

/// The service navigation: address, label, who sees it.
pub const NAV: &[(&str, &str, &[Role])] = &[
    ("/console/today", "Today", &Role::ALL),
    ("/console/safety", "Safety", &Role::ALL),
    (
        "/console/enforcement",
        "Enforcement",
        &[
            Role::Administrator,
            Role::UnpaidWorkManager,
            Role::OffenderManager,
        ],
    ),
    (
        "/console/conflicts",
        "Conflicts",
        &[
            Role::Administrator,
            Role::UnpaidWorkManager,
            Role::OffenderManager,
        ],
    ),
    (
        "/console/people",
        "People",
        &[
            Role::Administrator,
            Role::UnpaidWorkManager,
            Role::OffenderManager,
        ],
    ),
    (
        "/console/visits",
        "Visits",
        &[
            Role::Administrator,
            Role::UnpaidWorkManager,
            Role::OffenderManager,
        ],
    ),
    (
        "/console/reports",
        "Reports",
        &[
            Role::Administrator,
            Role::UnpaidWorkManager,
            Role::OffenderManager,
        ],
    ),
    (
        "/console/deliveries",
        "Deliveries",
        super::deliveries::DELIVERY_ROLES,
    ),
    ("/console/devices", "Devices", &[Role::Administrator]),
    (
        "/console/reference",
        "Reference data",
        &[Role::Administrator],
    ),
    ("/console/accounts", "Accounts", &[Role::Administrator]),
    ("/console/audit", "Audit log", &[Role::Administrator]),
];

/// An error page (plain: it needs no viewer).
pub fn error_page(status: u16, title: &str, text: &str) -> String {
    let env = {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, t) in TEMPLATES
            .iter()
            .filter(|(n, _)| matches!(*n, "layout.html" | "error.html" | "macros.html"))
        {
            let _ = env.add_template(name, t);
        }
        env
    };
    env.get_template("error.html")
        .and_then(|t| {
            t.render(context! { status => status, title => title, text => text, govuk => true })
        })
        .unwrap_or_else(|_| {
            format!(
                "<!doctype html><html lang=\"en\"><title>{status}</title><h1>{status}</h1></html>"
            )
        })
}

/// `2 Dec 2026 14:05` (UTC; the office's clock).
pub fn fmt_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%-d %b %Y %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `2 Dec 2026`.
pub fn fmt_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%-d %b %Y").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `3 h 05 min`.
pub fn fmt_hours(minutes: i64) -> String {
    let sign = if minutes < 0 { "−" } else { "" };
    let m = minutes.abs();
    format!("{sign}{} h {:02} min", m / 60, m % 60)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The static routes: the console's own CSS and JS, and govuk-frontend
/// (its CSS and JS under `/console/govuk/`, its fonts and images under
/// `/assets/`, where its stylesheet looks for them).
pub fn asset_routes(config: &ConsoleConfig) -> Router<AppState> {
    let mut r = Router::new()
        .route(
            "/console/assets/console.css",
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
        .route(
            "/console/assets/fallback.css",
            get(|| async { asset("text/css; charset=utf-8", FALLBACK_CSS) }),
        )
        .route(
            "/console/assets/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        );
    if let Some(dir) = &config.assets_dir {
        r = r
            .nest_service("/console/govuk", tower_http::services::ServeDir::new(dir))
            .nest_service(
                "/assets",
                tower_http::services::ServeDir::new(dir.join("assets")),
            );
    }
    r
}
