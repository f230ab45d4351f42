//! The delivery worker: OAuth2 client credentials (a token from the
//! authorisation server, cached until shortly before it expires, never
//! logged), the far end's reference lists (contact outcomes, enforcement
//! actions) pulled on a schedule, and each claimed delivery built, sent
//! with its `Idempotency-key` and recorded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldbook_core::events::Payload;
use serde::Deserialize;

use super::outbox::{Attempt, Claimed, State};
use super::{idempotency_key, outcome_request, step_name, visit_contact, Attention, Lookup};
use crate::db::{Db, DbError};
use crate::payload::kinds;

/// Where the Community Payback API is and how to reach it.
#[derive(Clone)]
pub struct DeliveryConfig {
    /// The API's base URL.
    pub base_url: String,
    /// The authorisation server's token URL.
    pub token_url: String,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret.
    pub client_secret: String,
    /// Where home-visit contacts go (`None`: not delivered, marked off).
    pub contacts_url: Option<String>,
    /// The far end's enforcement action code for each step
    /// (`warning_or_referral`, `breach_referral`).
    pub enforcement_actions: BTreeMap<String, String>,
    /// How often the worker looks (ms).
    pub tick_ms: u64,
    /// First retry delay (doubles, at most 10 minutes).
    pub retry_base_ms: i64,
    /// Request timeout.
    pub timeout: Duration,
    /// How often the reference lists (and links) are pulled again.
    pub references_every: Duration,
    /// The supervising team whose appointments are linked on that
    /// schedule, for today and the next `import_days` days.
    pub import_team: Option<String>,
    /// See `import_team`.
    pub import_days: i64,
    /// On that schedule, import the team's projects, sessions, allocations
    /// and people too ([`super::reference`]), not only the links.
    pub import_reference: bool,
}

impl std::fmt::Debug for DeliveryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("DeliveryConfig")
            .field("base_url", &self.base_url)
            .field("contacts", &self.contacts_url.is_some())
            .finish_non_exhaustive()
    }
}

impl DeliveryConfig {
    /// A configuration with the defaults for everything but the endpoint
    /// and credentials.
    pub fn new(base_url: &str, token_url: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            contacts_url: None,
            enforcement_actions: BTreeMap::new(),
            tick_ms: 1_000,
            retry_base_ms: 5_000,
            timeout: Duration::from_secs(15),
            references_every: Duration::from_secs(3600),
            import_team: None,
            import_days: 7,
            import_reference: false,
        }
    }
}

/// The running worker.
pub struct DeliveryService {
    config: DeliveryConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    references: tokio::sync::Mutex<Option<Instant>>,
    instance: String,
}

impl std::fmt::Debug for DeliveryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeliveryService({:?})", self.config)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default = "default_expiry")]
    expires_in: u64,
}

fn default_expiry() -> u64 {
    300
}

/// An item of the far end's reference lists.
#[derive(Deserialize)]
struct RefItem {
    id: String,
    code: String,
}

/// Why an attempt did not deliver.
enum Failure {
    /// Try again later.
    Retry(Option<u16>, String),
    /// The office must act.
    Attention(Option<u16>, String),
}

impl DeliveryService {
    /// A worker for `config`.
    pub fn new(config: DeliveryConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| "cannot build the HTTP client".to_owned())?;
        let mut b = [0u8; 6];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap_or(());
        Ok(Self {
            config,
            http,
            token: tokio::sync::Mutex::new(None),
            references: tokio::sync::Mutex::new(None),
            instance: format!("instance-{}", hex::encode(b)),
        })
    }

    async fn token(&self) -> Result<String, Failure> {
        let mut held = self.token.lock().await;
        if let Some((t, until)) = held.as_ref() {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let resp = self
            .http
            .post(&self.config.token_url)
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|_| Failure::Retry(None, "authorisation server unreachable".into()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Failure::Retry(
                Some(status.as_u16()),
                format!("authorisation server answered {status}"),
            ));
        }
        let answer: TokenAnswer = resp
            .json()
            .await
            .map_err(|_| Failure::Retry(None, "authorisation server sent no token".into()))?;
        // Renewed a minute early (or halfway, for a short-lived token).
        let life = Duration::from_secs(answer.expires_in);
        let margin = Duration::from_secs(60).min(life / 2);
        *held = Some((answer.access_token.clone(), Instant::now() + life - margin));
        Ok(answer.access_token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    /// Pulls the far end's reference lists when due.
    pub async fn refresh_references(&self, db: &Db, now: i64, force: bool) -> Result<(), String> {
        let mut last = self.references.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < self.config.references_every) {
            return Ok(());
        }
        for (kind, path, field) in [
            (
                "contact_outcome",
                "/references/contact-outcomes",
                "contactOutcomes",
            ),
            (
                "enforcement_action",
                "/references/enforcement-actions",
                "enforcementActions",
            ),
        ] {
            let token = self.token().await.map_err(|_| "no token".to_owned())?;
            let resp = self
                .http
                .get(format!("{}{path}", self.config.base_url))
                .bearer_auth(token)
                .send()
                .await
                .map_err(|_| format!("{path}: unreachable"))?;
            if !resp.status().is_success() {
                return Err(format!("{path}: answered {}", resp.status()));
            }
            let v: serde_json::Value =
                resp.json().await.map_err(|_| format!("{path}: not JSON"))?;
            let items: Vec<RefItem> = serde_json::from_value(v[field].clone())
                .map_err(|_| format!("{path}: not the published shape"))?;
            let pairs: Vec<(String, String)> = items.into_iter().map(|i| (i.code, i.id)).collect();
            db.put_cp_references(kind, &pairs, now)
                .await
                .map_err(|e| e.to_string())?;
        }
        *last = Some(Instant::now());
        drop(last);
        if let Some(team) = &self.config.import_team {
            let today = chrono::Utc::now().date_naive();
            let req = super::links::LinkImport {
                team_code: team.clone(),
                start_date: today,
                end_date: today + chrono::Duration::days(self.config.import_days.clamp(0, 31)),
            };
            if self.config.import_reference {
                match self.import_reference(db, &req).await {
                    Ok(r) => {
                        tracing::info!(
                            sessions = r.sessions,
                            appointments = r.appointments,
                            without_requirement = r.without_requirement.len(),
                            "Community Payback reference data imported"
                        );
                        // The schedule changes personal data: in the office's
                        // audit log as the system, like an office call would be.
                        let detail = format!(
                            "team {}: {} project(s), {} session(s), {} appointment(s), {} person(s)",
                            team, r.projects, r.sessions, r.appointments, r.people
                        );
                        if let Err(e) = crate::console::audit::record(
                            db,
                            "system:community-payback-schedule",
                            crate::console::audit::Action::Alteration,
                            "reference import",
                            "",
                            &detail,
                        )
                        .await
                        {
                            tracing::error!(error = %e, "the scheduled import is not in the audit log");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Community Payback reference data not imported")
                    }
                }
            } else {
                match self.import_links(db, &req).await {
                    Ok(r) => tracing::info!(
                        linked = r.linked,
                        unmatched = r.unmatched.len(),
                        "nDelius appointment links imported"
                    ),
                    Err(e) => tracing::warn!(error = %e, "nDelius appointment links not imported"),
                }
            }
        }
        Ok(())
    }

    /// An authorised GET of the far end's `path`, as `T`.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, String> {
        let token = self.token().await.map_err(|_| "no token".to_owned())?;
        let resp = self
            .http
            .get(format!("{}{path}", self.config.base_url))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|_| "unreachable".to_owned())?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        resp.json()
            .await
            .map_err(|_| "not the published shape".to_owned())
    }

    /// Builds a claimed delivery's request: (URL, body).
    async fn build(
        &self,
        db: &Db,
        c: &Claimed,
    ) -> Result<Result<(String, String), Attention>, DbError> {
        // An office resolution sends the version it settled on, with the
        // office's correction laid over it as every office read does.
        let resolution = if c.kind == super::outbox::RESOLUTION {
            match db.resolution_to_deliver(&c.event_id).await? {
                Some(r) => Some(r),
                None => return Ok(Err(Attention::Unreadable)),
            }
        } else {
            None
        };
        let event_id = match &resolution {
            Some(r) => match &r.base_event {
                Some(e) => e.clone(),
                None => return Ok(Err(Attention::Unreadable)),
            },
            None => c.event_id.clone(),
        };
        let Some(body) = db.event_body(&event_id).await? else {
            return Ok(Err(Attention::Unreadable));
        };
        let Ok(mut event) = serde_json::from_str::<fieldbook_core::events::EventBody>(&body) else {
            return Ok(Err(Attention::Unreadable));
        };
        if let Some(correction) = resolution.as_ref().and_then(|r| r.correction.as_ref()) {
            if event.kind != kinds::OUTCOME_RECORDED {
                return Ok(Err(Attention::Unreadable));
            }
            crate::console::conflicts::overlay_for_delivery(db, &mut event.payload, correction)
                .await?;
        }
        match crate::payload::typed(&event.kind, &event.payload) {
            Some(Payload::Outcome(o)) => {
                let session = db
                    .reference_data(crate::ingest::entity::SESSION, &o.session_id.to_string())
                    .await?;
                let planned = session.and_then(|s| {
                    let s: fieldbook_core::unpaid_work::model::WorkSession =
                        serde_json::from_str(&s).ok()?;
                    Some((s.planned_start, s.planned_end))
                });
                let enforcement_action_id = match o.enforcement_step {
                    Some(step) => match self.config.enforcement_actions.get(step_name(step)) {
                        Some(code) => db.cp_reference("enforcement_action", code).await?,
                        None => None,
                    },
                    None => None,
                };
                let contact_outcome_id = db.cp_reference("contact_outcome", &o.code).await?;
                if contact_outcome_id.is_none()
                    && !db.cp_references_loaded("contact_outcome").await?
                {
                    return Ok(Err(Attention::ReferencesNotLoaded));
                }
                let lookup = Lookup {
                    appointment: db.appointment_link(&o.appointment_id.to_string()).await?,
                    contact_outcome_id,
                    enforcement_action_id,
                    planned,
                };
                Ok(
                    outcome_request(&o, &event.officer, &lookup).and_then(|(path, update)| {
                        let body =
                            serde_json::to_string(&update).map_err(|_| Attention::Unreadable)?;
                        Ok((format!("{}{path}", self.config.base_url), body))
                    }),
                )
            }
            Some(Payload::VisitRecorded(v)) => {
                let Some(url) = &self.config.contacts_url else {
                    return Ok(Err(Attention::Unreadable));
                };
                let contact = visit_contact(&v, &event.officer);
                Ok(serde_json::to_string(&contact)
                    .map(|b| (url.clone(), b))
                    .map_err(|_| Attention::Unreadable))
            }
            _ => Ok(Err(Attention::Unreadable)),
        }
    }

    async fn send(&self, url: &str, body: &str, event_id: &str) -> Result<u16, Failure> {
        let token = self.token().await?;
        let resp = self
            .http
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("Idempotency-key", idempotency_key(event_id))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| {
                Failure::Retry(
                    None,
                    if e.is_timeout() {
                        "timeout"
                    } else {
                        "unreachable"
                    }
                    .into(),
                )
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            self.forget_token().await;
            return Err(Failure::Retry(Some(401), "token refused; renewing".into()));
        }
        let text = resp.text().await.unwrap_or_default();
        // The far end's own message (ErrorResponse.userMessage), shortened.
        let why = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("userMessage")
                    .or_else(|| v.get("developerMessage"))
                    .and_then(|m| m.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| format!("answered {status}"));
        let why: String = why.chars().take(500).collect();
        if status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
        {
            Err(Failure::Retry(Some(status.as_u16()), why))
        } else {
            Err(Failure::Attention(Some(status.as_u16()), why))
        }
    }

    /// Delay after failed attempt `attempt`: doubling, at most 10 minutes.
    fn retry_delay(&self, attempt: i64) -> i64 {
        crate::retry::backoff_ms(attempt, self.config.retry_base_ms, 600_000)
    }

    /// One pass: claims and delivers what is due. Returns attempts made.
    pub async fn deliver(&self, db: &Db) -> Result<u32, DbError> {
        let now = crate::api::now_ms();
        if let Err(why) = self.refresh_references(db, now, false).await {
            tracing::warn!(%why, "Community Payback reference lists not refreshed");
        }
        let claimed = db
            .delivery_claim(&self.instance, now, now + 120_000, 20)
            .await?;
        let mut n = 0;
        for c in claimed {
            n += 1;
            let built = match &c.request {
                Some(saved) => serde_json::from_str::<(String, String)>(saved)
                    .map(Ok)
                    .unwrap_or(Err(Attention::Unreadable)),
                None => self.build(db, &c).await?,
            };
            let at = crate::api::now_ms();
            let attempt = |status, outcome: &str, reason: Option<String>| Attempt {
                attempt: c.attempt,
                at_ms: at,
                instance: self.instance.clone(),
                status_code: status,
                outcome: outcome.into(),
                reason,
            };
            let (url, body) = match built {
                Ok(r) => r,
                Err(Attention::Unreadable)
                    if c.kind == kinds::VISIT_RECORDED && self.config.contacts_url.is_none() =>
                {
                    let a = attempt(
                        None,
                        "off",
                        Some("home-visit contacts are not delivered here".into()),
                    );
                    db.delivery_record(&c, None, State::Off, &a, None).await?;
                    continue;
                }
                Err(Attention::ReferencesNotLoaded) => {
                    let why = Attention::ReferencesNotLoaded.to_string();
                    let a = attempt(None, "retry", Some(why));
                    let retry_at = at + self.retry_delay(c.attempt);
                    db.delivery_record(&c, None, State::Pending, &a, Some(retry_at))
                        .await?;
                    continue;
                }
                Err(why) => {
                    let a = attempt(None, "attention", Some(why.to_string()));
                    db.delivery_record(&c, None, State::Attention, &a, None)
                        .await?;
                    continue;
                }
            };
            let saved = serde_json::to_string(&(&url, &body)).ok();
            match self.send(&url, &body, &c.event_id).await {
                Ok(status) => {
                    let a = attempt(Some(status), "delivered", None);
                    db.delivery_record(&c, saved.as_deref(), State::Delivered, &a, None)
                        .await?;
                }
                Err(Failure::Retry(status, why)) => {
                    let delay = self.retry_delay(c.attempt);
                    tracing::warn!(event = %c.event_id, attempt = c.attempt, %why, "delivery failed; will retry");
                    let a = attempt(status, "retry", Some(why));
                    db.delivery_record(&c, saved.as_deref(), State::Pending, &a, Some(at + delay))
                        .await?;
                }
                Err(Failure::Attention(status, why)) => {
                    tracing::warn!(event = %c.event_id, status = ?status, "delivery refused; needs attention");
                    let a = attempt(status, "attention", Some(why));
                    db.delivery_record(&c, saved.as_deref(), State::Attention, &a, None)
                        .await?;
                }
            }
        }
        Ok(n)
    }

    /// Runs `deliver` every `tick_ms` until `stop` fires.
    pub fn spawn(
        self: Arc<Self>,
        db: Db,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut every =
                tokio::time::interval(Duration::from_millis(self.config.tick_ms.max(10)));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.changed() => return,
                }
                if let Err(e) = self.deliver(&db).await {
                    tracing::error!(error = %e, "deliveries: pass failed; retrying next tick");
                }
            }
        })
    }
}
