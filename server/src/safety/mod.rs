//! The office's lone-worker clock: the dead-man's switch at the
//! monitoring end (BS 8484 puts it there), so a smashed, flat or
//! out-of-signal phone still raises the alarm.
//!
//! Each active visit's expected finish arrives from the device (on the
//! safety lane, or later in the ordered push); the server's own timer
//! marks it overdue at expected finish + grace and escalated after the
//! escalation period, whether or not the device ever calls again. An alert
//! raised on the phone escalates at once. Open alerts are a table; each
//! change is a timeline entry that is only ever added to, and each
//! notice goes to an outbox delivered by [`notify`].
//!
//! This file holds the decisions, as pure functions of what is stored and
//! the time; [`store`] loads and writes them in one transaction per visit
//! (serialised per visit, so two instances decide each transition once).

pub mod clock;
pub mod notify;
pub mod routes;
pub mod store;
pub mod timer;

use fieldbook_core::events::Payload;
use fieldbook_core::home_visits::safety::SafetyPolicy;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The clock's periods (the same defaults as the phone's timer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    /// After the expected finish, how long before the visit is overdue.
    pub grace_ms: i64,
    /// After becoming overdue, how long before it escalates.
    pub escalate_ms: i64,
}

impl Default for Periods {
    fn default() -> Self {
        let p = SafetyPolicy::default();
        Self {
            grace_ms: p.grace_minutes * 60_000,
            escalate_ms: p.escalate_after_minutes * 60_000,
        }
    }
}

/// Where the office's clock stands for one visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    /// Running, not yet overdue.
    Active,
    /// Expected finish + grace passed with no check-in, extension or end.
    Overdue,
    /// Overdue for the escalation period, or an alert was raised.
    Escalated,
    /// The visit ended.
    Ended,
}

/// The office's clock for one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VisitClock {
    /// The visit.
    pub visit_id: String,
    /// The device running it.
    pub device_id: String,
    /// Its officer.
    pub officer_id: String,
    /// The case (the office's reference for the address).
    pub case_id: Option<String>,
    /// The scheduled visit, if planned.
    pub scheduled_visit_id: Option<String>,
    /// When the visit started (device time, UTC ms).
    pub started_ms: Option<i64>,
    /// When it is expected to finish (UTC ms).
    pub expected_finish_ms: i64,
    /// Status.
    pub status: ClockStatus,
    /// Device time of the latest fact that moved the timer.
    pub latest_device_ms: i64,
    /// When the office last heard about this visit (server time).
    pub last_contact_ms: i64,
    /// The alert now open for it, if any.
    pub alert_id: Option<String>,
    /// Alerts opened so far (numbers the next one).
    pub alerts_opened: u32,
    /// Timeline entries so far (numbers the next one).
    pub timeline_len: i64,
}

impl VisitClock {
    /// When the visit becomes overdue.
    pub fn overdue_at(&self, p: &Periods) -> i64 {
        self.expected_finish_ms.saturating_add(p.grace_ms)
    }

    /// When an overdue visit escalates.
    pub fn escalate_at(&self, p: &Periods) -> i64 {
        self.overdue_at(p).saturating_add(p.escalate_ms)
    }

    /// When the timer must look at this visit next.
    pub fn next_check_ms(&self, p: &Periods) -> Option<i64> {
        match self.status {
            ClockStatus::Active => Some(self.overdue_at(p)),
            ClockStatus::Overdue => Some(self.escalate_at(p)),
            ClockStatus::Escalated | ClockStatus::Ended => None,
        }
    }
}

/// How serious an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Overdue, not yet escalated.
    Overdue,
    /// Escalated by the office's clock.
    Escalated,
    /// The officer raised an alert (escalated at once).
    Alert,
}

/// Where an alert stands at the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Nobody at the office has taken it.
    Open,
    /// Someone at the office has it.
    Acknowledged,
    /// Overdue, then a check-in, extension or end before it escalated.
    Cleared,
    /// Closed by the office.
    Resolved,
}

/// An office user's action on an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfficeAction {
    /// Who.
    pub by: String,
    /// When (UTC ms).
    pub at_ms: i64,
    /// What they said.
    pub note: String,
}

/// A lone-worker alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// Id (`<visit id>-<n>`).
    pub alert_id: String,
    /// The visit.
    pub visit_id: String,
    /// The device.
    pub device_id: String,
    /// The officer.
    pub officer_id: String,
    /// The case (address reference).
    pub case_id: Option<String>,
    /// Level.
    pub level: AlertLevel,
    /// A silent alert: do not call or message the phone.
    pub silent: bool,
    /// Status.
    pub status: AlertStatus,
    /// When it opened (server time).
    pub opened_ms: i64,
    /// When it escalated (server time).
    pub escalated_ms: Option<i64>,
    /// The expected finish it was judged against.
    pub expected_finish_ms: i64,
    /// The office's acknowledgement.
    pub acknowledged: Option<OfficeAction>,
    /// When the device reported receiving the acknowledgement.
    pub device_seen_ms: Option<i64>,
    /// Why it cleared on its own.
    pub cleared: Option<OfficeAction>,
    /// The office's resolution.
    pub resolved: Option<OfficeAction>,
}

impl Alert {
    /// Open or acknowledged: still on the office's list.
    pub fn is_live(&self) -> bool {
        matches!(self.status, AlertStatus::Open | AlertStatus::Acknowledged)
    }

    /// Acknowledged and not yet seen by the device.
    pub fn ack_pending(&self) -> bool {
        self.acknowledged.is_some() && self.device_seen_ms.is_none()
    }
}

/// Where a timeline entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A device fact (its time is the device's).
    Device,
    /// The office's clock.
    Server,
    /// An office user.
    Office,
}

/// One thing that happened to a visit's safety, never changed afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    /// Position in the visit's timeline.
    pub n: i64,
    /// When it happened (device time for device facts).
    pub at_ms: i64,
    /// When the office learned it.
    pub received_ms: i64,
    /// From where.
    pub source: Source,
    /// What (`started`, `extended`, `checked_in`, `alert`, `silent_alert`,
    /// `ended`, `device_timer`, `overdue`, `escalated`, `cleared`,
    /// `acknowledged`, `ack_seen`, `resolved`).
    pub what: String,
    /// Arrived after the office had moved on (out of order, or made
    /// before an alert it would have prevented): recorded, changes nothing
    /// already decided.
    pub late: bool,
    /// The event it came from, for device facts.
    pub event_id: Option<String>,
    /// The alert it concerns.
    pub alert_id: Option<String>,
    /// The expected finish after it.
    pub expected_finish_ms: Option<i64>,
}

/// What a notice says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum NoticeKind {
    /// A visit is overdue.
    #[serde(rename = "safety.overdue")]
    Overdue,
    /// A visit escalated.
    #[serde(rename = "safety.escalated")]
    Escalated,
    /// The officer raised an alert.
    #[serde(rename = "safety.alert")]
    Alert,
    /// An overdue visit cleared before escalating.
    #[serde(rename = "safety.cleared")]
    Cleared,
    /// Someone at the office acknowledged an alert.
    #[serde(rename = "safety.acknowledged")]
    Acknowledged,
}

/// A notice for people: ids, the officer, the address reference and
/// times. Never case notes, names of people on probation, addresses or
/// the office's notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// The alert.
    pub alert_id: String,
    /// The visit.
    pub visit_id: String,
    /// The officer.
    pub officer_id: String,
    /// The officer's name, as the office holds it.
    pub officer_name: Option<String>,
    /// The device.
    pub device_id: String,
    /// The case (the office looks up the address from it).
    pub case_id: Option<String>,
    /// The scheduled visit, if planned.
    pub scheduled_visit_id: Option<String>,
    /// Alert level.
    pub level: AlertLevel,
    /// Silent alert: do not call or message the phone.
    pub silent: bool,
    /// When the visit started (UTC ms).
    pub started_ms: Option<i64>,
    /// The expected finish (UTC ms).
    pub expected_finish_ms: i64,
    /// When this happened (server time, UTC ms).
    pub at_ms: i64,
    /// When the office last heard about the visit (UTC ms).
    pub last_contact_ms: i64,
}

/// A device fact, read from a typed safety-lane event.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The event.
    pub event_id: String,
    /// Its device.
    pub device_id: String,
    /// Its officer.
    pub officer_id: String,
    /// When the office received it.
    pub received_ms: i64,
    /// What it says.
    pub what: FactKind,
}

/// What a device fact says.
#[derive(Debug, Clone, PartialEq)]
pub enum FactKind {
    /// The visit started.
    Started {
        /// The case.
        case_id: String,
        /// The scheduled visit.
        scheduled_visit_id: Option<String>,
        /// Start (device time).
        at_ms: i64,
        /// Expected finish.
        expected_finish_ms: i64,
    },
    /// A safety action or the device's own timer.
    Safety {
        /// `extended`, `checked_in`, `alert` or `timer`.
        action: String,
        /// Silent alert.
        silent: bool,
        /// When (device time).
        at_ms: i64,
        /// Expected finish after it.
        expected_finish_ms: i64,
    },
    /// The visit ended.
    Ended {
        /// When (device time).
        at_ms: i64,
    },
    /// The device received the office's acknowledgement.
    AckSeen {
        /// The alert.
        alert_id: String,
        /// When (device time).
        at_ms: i64,
    },
}

impl Fact {
    /// The fact in a typed event, if it is a safety-lane kind.
    pub fn from_payload(
        event_id: &str,
        device_id: &str,
        officer_id: &str,
        received_ms: i64,
        payload: &Payload,
    ) -> Option<(String, Fact)> {
        let (visit, what) = match payload {
            Payload::VisitStarted(p) => (
                p.visit_id.to_string(),
                FactKind::Started {
                    case_id: p.case_id.to_string(),
                    scheduled_visit_id: p.scheduled_visit_id.as_ref().map(|s| s.to_string()),
                    at_ms: p.start.utc_ms,
                    expected_finish_ms: p.expected_finish_ms,
                },
            ),
            Payload::VisitSafety(p) => (
                p.visit_id.to_string(),
                FactKind::Safety {
                    action: p.action.clone(),
                    silent: p.silent.unwrap_or(false),
                    at_ms: p.at.utc_ms,
                    expected_finish_ms: p.expected_finish_ms,
                },
            ),
            Payload::VisitEnded(p) => (
                p.visit_id.to_string(),
                FactKind::Ended {
                    at_ms: p.end.utc_ms,
                },
            ),
            Payload::AckSeen(p) => (
                p.visit_id.to_string(),
                FactKind::AckSeen {
                    alert_id: p.alert_id.clone(),
                    at_ms: p.seen.utc_ms,
                },
            ),
            _ => return None,
        };
        Some((
            visit,
            Fact {
                event_id: event_id.to_owned(),
                device_id: device_id.to_owned(),
                officer_id: officer_id.to_owned(),
                received_ms,
                what,
            },
        ))
    }

    fn at_ms(&self) -> i64 {
        match &self.what {
            FactKind::Started { at_ms, .. }
            | FactKind::Safety { at_ms, .. }
            | FactKind::Ended { at_ms }
            | FactKind::AckSeen { at_ms, .. } => *at_ms,
        }
    }
}

/// What is stored about one visit, as loaded in its transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// The visit id.
    pub visit_id: String,
    /// Its clock, once known.
    pub clock: Option<VisitClock>,
    /// Its alerts, oldest first.
    pub alerts: Vec<Alert>,
    /// Facts already applied (event ids).
    pub facts: Vec<String>,
    /// The officer's name, for notices.
    pub officer_name: Option<String>,
}

/// What to write for one visit, in the same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The clock after.
    pub clock: Option<VisitClock>,
    /// Alerts created or changed.
    pub alerts: Vec<Alert>,
    /// New timeline entries.
    pub timeline: Vec<TimelineEntry>,
    /// New notices.
    pub notices: Vec<Notice>,
    /// Facts applied now (event ids).
    pub facts: Vec<String>,
}

impl Plan {
    /// Whether there is anything to write.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
            && self.timeline.is_empty()
            && self.notices.is_empty()
            && self.facts.is_empty()
    }
}

/// Why the office cannot act on an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No such alert.
    #[error("no such alert")]
    NotFound,
    /// It has moved on (acknowledged, cleared or resolved already).
    #[error("the alert is {0}")]
    Conflict(&'static str),
    /// A field is wrong.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Works one visit's change out from what is loaded.
struct Work<'a> {
    loaded: &'a Loaded,
    periods: Periods,
    now: i64,
    clock: Option<VisitClock>,
    alerts: Vec<Alert>,
    plan: Plan,
}

impl<'a> Work<'a> {
    fn new(loaded: &'a Loaded, periods: Periods, now: i64) -> Self {
        Self {
            loaded,
            periods,
            now,
            clock: loaded.clock.clone(),
            alerts: loaded.alerts.clone(),
            plan: Plan::default(),
        }
    }

    fn entry(&mut self, at_ms: i64, source: Source, what: &str) -> &mut TimelineEntry {
        let n = self.clock.as_ref().map_or(0, |c| c.timeline_len) + self.plan.timeline.len() as i64;
        self.plan.timeline.push(TimelineEntry {
            n,
            at_ms,
            received_ms: self.now,
            source,
            what: what.to_owned(),
            late: false,
            event_id: None,
            alert_id: None,
            expected_finish_ms: self.clock.as_ref().map(|c| c.expected_finish_ms),
        });
        let last = self.plan.timeline.len() - 1;
        &mut self.plan.timeline[last]
    }

    fn alert_mut(&mut self, id: &str) -> Option<&mut Alert> {
        self.alerts.iter_mut().find(|a| a.alert_id == id)
    }

    fn current_alert(&self) -> Option<&Alert> {
        let id = self.clock.as_ref()?.alert_id.as_deref()?;
        self.alerts.iter().find(|a| a.alert_id == id)
    }

    fn touch(&mut self, id: &str) {
        if let Some(a) = self.alerts.iter().find(|a| a.alert_id == id).cloned() {
            self.plan.alerts.retain(|x| x.alert_id != id);
            self.plan.alerts.push(a);
        }
    }

    fn notice(&mut self, kind: NoticeKind, alert_id: &str) {
        let (Some(c), Some(a)) = (
            self.clock.as_ref(),
            self.alerts.iter().find(|a| a.alert_id == alert_id),
        ) else {
            return;
        };
        self.plan.notices.push(Notice {
            kind,
            alert_id: a.alert_id.clone(),
            visit_id: c.visit_id.clone(),
            officer_id: c.officer_id.clone(),
            officer_name: self.loaded.officer_name.clone(),
            device_id: c.device_id.clone(),
            case_id: c.case_id.clone(),
            scheduled_visit_id: c.scheduled_visit_id.clone(),
            level: a.level,
            silent: a.silent,
            started_ms: c.started_ms,
            expected_finish_ms: c.expected_finish_ms,
            at_ms: self.now,
            last_contact_ms: c.last_contact_ms,
        });
    }

    /// Opens an alert at `level`, or raises the open one to it.
    fn raise(&mut self, level: AlertLevel, silent: bool) -> Option<String> {
        let now = self.now;
        let open = self
            .current_alert()
            .filter(|a| a.status == AlertStatus::Open)
            .map(|a| a.alert_id.clone());
        let id = match open {
            Some(id) => {
                let a = self.alert_mut(&id)?;
                if level > a.level {
                    a.level = level;
                }
                a.silent |= silent;
                if level >= AlertLevel::Escalated && a.escalated_ms.is_none() {
                    a.escalated_ms = Some(now);
                }
                id
            }
            None => {
                let c = self.clock.as_mut()?;
                c.alerts_opened += 1;
                let id = format!("{}-{}", c.visit_id, c.alerts_opened);
                c.alert_id = Some(id.clone());
                let alert = Alert {
                    alert_id: id.clone(),
                    visit_id: c.visit_id.clone(),
                    device_id: c.device_id.clone(),
                    officer_id: c.officer_id.clone(),
                    case_id: c.case_id.clone(),
                    level,
                    silent,
                    status: AlertStatus::Open,
                    opened_ms: now,
                    escalated_ms: (level >= AlertLevel::Escalated).then_some(now),
                    expected_finish_ms: c.expected_finish_ms,
                    acknowledged: None,
                    device_seen_ms: None,
                    cleared: None,
                    resolved: None,
                };
                self.alerts.push(alert);
                id
            }
        };
        self.touch(&id);
        Some(id)
    }

    /// An overdue (not escalated) alert clears when the officer is heard
    /// from; an escalated one stays for the office to close.
    fn clear_overdue(&mut self, why: &str) {
        let Some(id) = self
            .current_alert()
            .filter(|a| a.level == AlertLevel::Overdue && a.status == AlertStatus::Open)
            .map(|a| a.alert_id.clone())
        else {
            return;
        };
        let now = self.now;
        if let Some(a) = self.alert_mut(&id) {
            a.status = AlertStatus::Cleared;
            a.cleared = Some(OfficeAction {
                by: "fieldbook".into(),
                at_ms: now,
                note: why.to_owned(),
            });
        }
        if let Some(c) = self.clock.as_mut() {
            c.alert_id = None;
        }
        self.touch(&id);
        self.entry(now, Source::Server, "cleared").alert_id = Some(id.clone());
        self.notice(NoticeKind::Cleared, &id);
    }

    fn apply(&mut self, fact: &Fact) {
        if self.loaded.facts.contains(&fact.event_id) || self.plan.facts.contains(&fact.event_id) {
            return;
        }
        self.plan.facts.push(fact.event_id.clone());
        let at = fact.at_ms();
        if self.clock.is_none() {
            // The visit's start may arrive after its first action (it was
            // refused, or is still queued): the action's expected finish
            // starts the clock.
            let (case_id, scheduled, started, finish) = match &fact.what {
                FactKind::Started {
                    case_id,
                    scheduled_visit_id,
                    at_ms,
                    expected_finish_ms,
                } => (
                    Some(case_id.clone()),
                    scheduled_visit_id.clone(),
                    Some(*at_ms),
                    *expected_finish_ms,
                ),
                FactKind::Safety {
                    expected_finish_ms, ..
                } => (None, None, None, *expected_finish_ms),
                // An end or an acknowledgement for a visit the office never
                // saw running: nothing to time.
                FactKind::Ended { .. } | FactKind::AckSeen { .. } => return,
            };
            let is_start = matches!(fact.what, FactKind::Started { .. });
            self.clock = Some(VisitClock {
                visit_id: self.loaded.visit_id.clone(),
                device_id: fact.device_id.clone(),
                officer_id: fact.officer_id.clone(),
                case_id,
                scheduled_visit_id: scheduled,
                started_ms: started,
                expected_finish_ms: finish,
                status: ClockStatus::Active,
                // A clock started by an action lets that action apply.
                latest_device_ms: if is_start { at } else { i64::MIN },
                last_contact_ms: self.now,
                alert_id: None,
                alerts_opened: 0,
                timeline_len: 0,
            });
            if is_start {
                self.entry(at, Source::Device, "started").event_id = Some(fact.event_id.clone());
                return;
            }
        }
        let now = self.now;
        let Some((in_order, ended)) = self.clock.as_mut().map(|c| {
            c.last_contact_ms = now;
            (at > c.latest_device_ms, c.status == ClockStatus::Ended)
        }) else {
            return;
        };
        // Made before the open alert but arrived after it.
        let before_alert = self.current_alert().is_some_and(|a| at < a.opened_ms);
        match &fact.what {
            FactKind::Started {
                case_id,
                scheduled_visit_id,
                at_ms,
                ..
            } => {
                // The start arrived after an action that started the clock.
                if let Some(c) = self.clock.as_mut() {
                    c.case_id.get_or_insert_with(|| case_id.clone());
                    if c.scheduled_visit_id.is_none() {
                        c.scheduled_visit_id = scheduled_visit_id.clone();
                    }
                    c.started_ms.get_or_insert(*at_ms);
                }
                let e = self.entry(at, Source::Device, "started");
                e.event_id = Some(fact.event_id.clone());
                e.late = true;
            }
            FactKind::Safety {
                action,
                silent,
                expected_finish_ms,
                ..
            } if action == "alert" => {
                // An alert is never ignored, however late or out of order.
                let silent = *silent;
                let finish = *expected_finish_ms;
                if let Some(c) = self.clock.as_mut().filter(|_| !ended) {
                    c.status = ClockStatus::Escalated;
                    if in_order {
                        c.expected_finish_ms = finish;
                        c.latest_device_ms = at;
                    }
                }
                let what = if silent { "silent_alert" } else { "alert" };
                let id = self.raise(AlertLevel::Alert, silent);
                let e = self.entry(at, Source::Device, what);
                e.event_id = Some(fact.event_id.clone());
                e.alert_id = id.clone();
                e.late = !in_order || ended;
                if let Some(id) = id {
                    self.notice(NoticeKind::Alert, &id);
                }
            }
            FactKind::Safety {
                action,
                expected_finish_ms,
                ..
            } if action == "extended" || action == "checked_in" => {
                let finish = *expected_finish_ms;
                if let Some(c) = self.clock.as_mut().filter(|_| in_order && !ended) {
                    c.expected_finish_ms = finish;
                    c.latest_device_ms = at;
                    c.status = ClockStatus::Active;
                }
                let e = self.entry(at, Source::Device, action);
                e.event_id = Some(fact.event_id.clone());
                e.late = !in_order || ended || before_alert;
                if in_order && !ended {
                    self.clear_overdue(action);
                }
            }
            FactKind::Safety { .. } => {
                // The device's own timer (overdue/escalated on the phone),
                // or an action this build does not know: recorded only; the
                // office's clock decides for itself.
                let e = self.entry(at, Source::Device, "device_timer");
                e.event_id = Some(fact.event_id.clone());
                e.late = !in_order;
            }
            FactKind::Ended { .. } => {
                if let Some(c) = self.clock.as_mut().filter(|_| !ended) {
                    c.status = ClockStatus::Ended;
                    c.latest_device_ms = c.latest_device_ms.max(at);
                }
                let e = self.entry(at, Source::Device, "ended");
                e.event_id = Some(fact.event_id.clone());
                e.late = ended || before_alert;
                if !ended {
                    self.clear_overdue("ended");
                }
            }
            FactKind::AckSeen { alert_id, .. } => {
                let known = self.alert_mut(alert_id).map(|a| {
                    if a.device_seen_ms.is_none() {
                        a.device_seen_ms = Some(at);
                    }
                });
                if known.is_some() {
                    self.touch(alert_id);
                }
                let e = self.entry(at, Source::Device, "ack_seen");
                e.event_id = Some(fact.event_id.clone());
                e.alert_id = Some(alert_id.clone());
            }
        }
    }

    /// The office's clock: overdue, then escalated, at the exact times.
    fn advance(&mut self) {
        let Some(c) = self.clock.clone() else {
            return;
        };
        let p = self.periods;
        if c.status == ClockStatus::Active && self.now >= c.overdue_at(&p) {
            if let Some(cl) = self.clock.as_mut() {
                cl.status = ClockStatus::Overdue;
            }
            let id = self.raise(AlertLevel::Overdue, false);
            self.entry(self.now, Source::Server, "overdue").alert_id = id.clone();
            if let Some(id) = id {
                self.notice(NoticeKind::Overdue, &id);
            }
        }
        let c = self.clock.clone().unwrap_or(c);
        if c.status == ClockStatus::Overdue && self.now >= c.escalate_at(&p) {
            if let Some(cl) = self.clock.as_mut() {
                cl.status = ClockStatus::Escalated;
            }
            let id = self.raise(AlertLevel::Escalated, false);
            self.entry(self.now, Source::Server, "escalated").alert_id = id.clone();
            if let Some(id) = id {
                self.notice(NoticeKind::Escalated, &id);
            }
        }
    }

    fn finish(mut self) -> Plan {
        if let Some(c) = self.clock.as_mut() {
            c.timeline_len += self.plan.timeline.len() as i64;
        }
        let changed = self.clock != self.loaded.clock;
        if changed || !self.plan.is_empty() {
            self.plan.clock = self.clock;
        }
        self.plan
    }
}

/// Applies device facts about one visit (in sequence order), then lets
/// the clock catch up to `now` (a start that arrives late may already be
/// overdue).
pub fn apply_facts(loaded: &Loaded, facts: &[Fact], periods: Periods, now: i64) -> Plan {
    let mut w = Work::new(loaded, periods, now);
    for f in facts {
        w.apply(f);
    }
    w.advance();
    w.finish()
}

/// The office's timer for one visit at `now`.
pub fn advance(loaded: &Loaded, periods: Periods, now: i64) -> Plan {
    let mut w = Work::new(loaded, periods, now);
    w.advance();
    w.finish()
}

/// Longest acknowledgement or resolution note.
pub const MAX_NOTE_CHARS: usize = 1000;

fn check_action(by: &str, note: &str) -> Result<(), Refusal> {
    if by.trim().is_empty() || by.chars().count() > 200 {
        return Err(Refusal::Invalid("by: 1 to 200 characters"));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Refusal::Invalid("note: at most 1000 characters"));
    }
    Ok(())
}

fn status_word(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Open => "open",
        AlertStatus::Acknowledged => "already acknowledged",
        AlertStatus::Cleared => "cleared",
        AlertStatus::Resolved => "resolved",
    }
}

/// An office user acknowledges an open alert; the device receives it on
/// its next contact.
pub fn acknowledge(
    loaded: &Loaded,
    alert_id: &str,
    by: &str,
    note: &str,
    now: i64,
) -> Result<Plan, Refusal> {
    check_action(by, note)?;
    let mut w = Work::new(loaded, Periods::default(), now);
    let a = w.alert_mut(alert_id).ok_or(Refusal::NotFound)?;
    if a.status != AlertStatus::Open {
        return Err(Refusal::Conflict(status_word(a.status)));
    }
    a.status = AlertStatus::Acknowledged;
    a.acknowledged = Some(OfficeAction {
        by: by.trim().to_owned(),
        at_ms: now,
        note: note.trim().to_owned(),
    });
    w.touch(alert_id);
    w.entry(now, Source::Office, "acknowledged").alert_id = Some(alert_id.to_owned());
    w.notice(NoticeKind::Acknowledged, alert_id);
    Ok(w.finish())
}

/// An office user closes an alert (open or acknowledged).
pub fn resolve(
    loaded: &Loaded,
    alert_id: &str,
    by: &str,
    note: &str,
    now: i64,
) -> Result<Plan, Refusal> {
    check_action(by, note)?;
    let mut w = Work::new(loaded, Periods::default(), now);
    let a = w.alert_mut(alert_id).ok_or(Refusal::NotFound)?;
    if !a.is_live() {
        return Err(Refusal::Conflict(status_word(a.status)));
    }
    a.status = AlertStatus::Resolved;
    a.resolved = Some(OfficeAction {
        by: by.trim().to_owned(),
        at_ms: now,
        note: note.trim().to_owned(),
    });
    w.touch(alert_id);
    if let Some(c) = w.clock.as_mut() {
        if c.alert_id.as_deref() == Some(alert_id) {
            c.alert_id = None;
        }
    }
    w.entry(now, Source::Office, "resolved").alert_id = Some(alert_id.to_owned());
    Ok(w.finish())
}

#[cfg(test)]
mod tests;
