//! The running safety service: applies device facts, runs the office's
//! overdue clock on its own timer, and delivers notices with retries.
//! Every instance runs it; the per-visit lock and the outbox lease make
//! each escalation and each delivery happen once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, SystemClock};
use super::notify::{backoff_ms, Notifier};
use super::store::{Delivery, Writing};
use super::{Fact, Periods, Plan};
use crate::db::{Db, DbError};

/// Safety settings.
#[derive(Debug, Clone)]
pub struct SafetyConfig {
    /// The clock's periods.
    pub periods: Periods,
    /// How often the timer looks (ms).
    pub tick_ms: u64,
    /// First retry delay after a failed delivery (doubles each time).
    pub retry_base_ms: i64,
    /// Longest retry delay.
    pub retry_max_ms: i64,
    /// Attempts before a notice is given up (and logged as failed).
    pub max_attempts: i64,
    /// Where notices go.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// The time the clock runs on.
    pub clock: Arc<dyn Clock>,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        Self {
            periods: Periods::default(),
            tick_ms: 5_000,
            retry_base_ms: 5_000,
            retry_max_ms: 5 * 60_000,
            max_attempts: 12,
            notifiers: vec![],
            clock: Arc::new(SystemClock),
        }
    }
}

/// The service (shared by the routes and the timer).
#[derive(Debug)]
pub struct SafetyService {
    /// Settings.
    pub config: SafetyConfig,
    /// This instance's name in outbox leases.
    pub instance: String,
}

impl SafetyService {
    /// A service with `config`.
    pub fn new(config: SafetyConfig) -> Self {
        let mut b = [0u8; 6];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap_or(());
        Self {
            config,
            instance: format!("instance-{}", hex::encode(b)),
        }
    }

    /// Now, on the safety clock.
    pub fn now(&self) -> i64 {
        self.config.clock.now_ms()
    }

    /// What a write needs at `now`.
    pub fn writing(&self, now: i64) -> Writing {
        Writing {
            periods: self.config.periods,
            targets: self
                .config
                .notifiers
                .iter()
                .map(|n| n.target().to_owned())
                .collect(),
            now,
        }
    }

    /// Applies device facts (visit id, fact), each visit in one
    /// transaction, in the order given.
    pub async fn apply(&self, db: &Db, facts: Vec<(String, Fact)>) -> Result<(), DbError> {
        let mut by_visit: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
        for (visit, fact) in facts {
            by_visit.entry(visit).or_default().push(fact);
        }
        for (visit, facts) in by_visit {
            let now = self.now();
            let periods = self.config.periods;
            let officer = facts
                .first()
                .map(|f| f.officer_id.clone())
                .unwrap_or_default();
            let Ok(plan) = db
                .safety_mutate(&visit, &officer, self.writing(now), move |l| {
                    Ok::<_, std::convert::Infallible>(super::apply_facts(l, &facts, periods, now))
                })
                .await?;
            log_plan(&plan);
        }
        Ok(())
    }

    /// One pass of the office's clock; returns how many visits moved.
    pub async fn sweep(&self, db: &Db) -> Result<u32, DbError> {
        let now = self.now();
        let mut moved = 0;
        for visit in db.safety_due(now, 200).await? {
            let periods = self.config.periods;
            let Ok(plan) = db
                .safety_mutate(&visit, "", self.writing(now), move |l| {
                    Ok::<_, std::convert::Infallible>(super::advance(l, periods, now))
                })
                .await?;
            if !plan.timeline.is_empty() {
                moved += 1;
            }
            log_plan(&plan);
        }
        Ok(moved)
    }

    /// Delivers what is due; returns how many attempts were made.
    pub async fn deliver(&self, db: &Db) -> Result<u32, DbError> {
        let now = self.now();
        let items = db
            .safety_claim(&self.instance, now, now + 60_000, 20)
            .await?;
        let mut n = 0;
        for item in items {
            n += 1;
            let notifier = self
                .config
                .notifiers
                .iter()
                .find(|x| x.target() == item.target);
            let kind = serde_json::from_str::<serde_json::Value>(&item.body)
                .ok()
                .and_then(|v| v["kind"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let result = match notifier {
                // Signed with the real time: receivers check it against theirs.
                Some(x) => {
                    x.send(&item.id, &kind, &item.body, crate::api::now_ms())
                        .await
                }
                None => Err(super::notify::SendFailure {
                    status: None,
                    why: "target no longer configured".into(),
                    retry: false,
                }),
            };
            let at = self.now();
            let (outcome, status, error, retry_at) = match result {
                Ok(status) => ("delivered", Some(status), None, None),
                Err(f) if f.retry && item.attempt < self.config.max_attempts => (
                    "retry",
                    f.status,
                    Some(f.why),
                    Some(
                        at + backoff_ms(
                            item.attempt,
                            self.config.retry_base_ms,
                            self.config.retry_max_ms,
                        ),
                    ),
                ),
                Err(f) => ("failed", f.status, Some(f.why), None),
            };
            if outcome == "failed" {
                tracing::error!(
                    alert = %item.alert_id,
                    target = %item.target,
                    attempts = item.attempt,
                    "safety notice NOT delivered; giving up (the console still shows the alert)"
                );
            } else if outcome == "retry" {
                tracing::warn!(alert = %item.alert_id, target = %item.target, attempt = item.attempt, "safety notice delivery failed; will retry");
            }
            let delivery = Delivery {
                delivery_id: item.id.clone(),
                target: item.target.clone(),
                kind,
                attempt: item.attempt,
                at_ms: at,
                instance: self.instance.clone(),
                status_code: status,
                outcome: outcome.into(),
                error,
            };
            db.safety_record_delivery(&item, &delivery, retry_at)
                .await?;
        }
        Ok(n)
    }

    /// The timer: sweeps and delivers every `tick_ms` until `stop` fires.
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
                if let Err(e) = self.sweep(&db).await {
                    tracing::error!(error = %e, "safety clock: sweep failed; retrying next tick");
                }
                if let Err(e) = self.deliver(&db).await {
                    tracing::error!(error = %e, "safety notices: delivery pass failed; retrying next tick");
                }
            }
        })
    }
}

fn log_plan(plan: &Plan) {
    for e in &plan.timeline {
        if e.what == "overdue" || e.what == "escalated" || e.what.ends_with("alert") {
            // Ids only: no names, addresses or notes.
            tracing::warn!(visit = plan.clock.as_ref().map(|c| c.visit_id.as_str()).unwrap_or("-"), what = %e.what, alert = e.alert_id.as_deref().unwrap_or("-"), "lone-worker safety");
        }
    }
}
