//! What the pages read: reference items with their audiences, and stored
//! device events (current records and by kind), each narrowed to the
//! signed-in account's teams by the caller.

use std::collections::HashMap;

use serde_json::Value;

use super::accounts::Account;
use super::sql::{self, Row, Val};
use crate::db::{Db, DbError};

/// A reference item the office sent.
#[derive(Debug, Clone)]
pub struct Item {
    /// Entity.
    pub entity: String,
    /// Id.
    pub id: String,
    /// Data as stored (the core's type).
    pub data: Value,
    /// Officers who receive it.
    pub audience: Vec<String>,
    /// Officers who receive it restricted.
    pub restricted_for: Vec<String>,
}

impl Item {
    /// Whether `account` sees it.
    pub fn visible_to(&self, account: &Account) -> bool {
        account.sees_any(self.audience.iter().map(String::as_str))
    }
    /// A text field of the data.
    pub fn s(&self, field: &str) -> String {
        match self.data.get(field) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

/// Every live item of `entity` (each with its audience).
pub async fn items(db: &Db, entity: &str) -> Result<Vec<Item>, DbError> {
    let rows = sql::query(
        db,
        "SELECT id, data FROM reference WHERE entity = ?1 AND data IS NOT NULL ORDER BY id",
        vec![Val::from(entity)],
    )
    .await?;
    let aud = sql::query(
        db,
        "SELECT id, officer_id, restricted FROM reference_audience WHERE entity = ?1",
        vec![Val::from(entity)],
    )
    .await?;
    Ok(assemble(entity, rows, aud))
}

/// Rows of `(id, data)` and of `(id, officer_id, restricted)` as items.
fn assemble(entity: &str, rows: Vec<Row>, aud: Vec<Row>) -> Vec<Item> {
    let mut by_id: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
    for r in aud {
        let e = by_id.entry(r.text(0)).or_default();
        e.0.push(r.text(1));
        if r.int(2) != 0 {
            e.1.push(r.text(1));
        }
    }
    rows.into_iter()
        .map(|r| {
            let id = r.text(0);
            let (audience, restricted_for) = by_id.remove(&id).unwrap_or_default();
            Item {
                entity: entity.to_owned(),
                data: serde_json::from_str(&r.text(1)).unwrap_or(Value::Null),
                id,
                audience,
                restricted_for,
            }
        })
        .collect()
}

/// Values bound per `IN (…)` list: well under either backend's limit on
/// parameters.
const IN_CHUNK: usize = 500;

/// `?first, ?first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of `select` for every value of `list`: `select` binds `first`
/// as `?1` and holds `{list}` where the `IN` list goes; the values are
/// bound in chunks of [`IN_CHUNK`], so rows come chunk by chunk and any
/// order across them is the caller's to set.
async fn query_in(
    db: &Db,
    select: &str,
    first: &str,
    list: &[String],
) -> Result<Vec<Row>, DbError> {
    let mut rows = Vec::new();
    for chunk in list.chunks(IN_CHUNK) {
        let mut params = vec![Val::from(first)];
        params.extend(chunk.iter().map(Val::from));
        let sql = select.replace("{list}", &placeholders(2, chunk.len()));
        rows.extend(sql::query(db, &sql, params).await?);
    }
    Ok(rows)
}

/// The text of one top-level field of a JSON column, in the backend's
/// dialect; the expression indexes on `reference` (console schema) are
/// written the same way, so a lookup by a field is a seek.
pub fn json_field(db: &Db, column: &str, field: &'static str) -> String {
    json_path(db, column, &[field])
}

/// The text at a path of fields of a JSON column, as [`json_field`].
pub fn json_path(db: &Db, column: &str, path: &[&'static str]) -> String {
    match db {
        Db::Sqlite(_) => format!("json_extract({column}, '$.{}')", path.join(".")),
        Db::Postgres(_) => {
            let mut out = format!("({column})::jsonb");
            for (i, f) in path.iter().enumerate() {
                let op = if i + 1 == path.len() { "->>" } else { "->" };
                out.push_str(&format!(" {op} '{f}'"));
            }
            format!("({out})")
        }
    }
}

/// Live items of `entity` (each with its audience) whose `column` is one
/// of `values`, in id order; `column` is `id` or a [`json_field`].
async fn items_matching(
    db: &Db,
    entity: &str,
    column: &str,
    values: &[String],
) -> Result<Vec<Item>, DbError> {
    let rows = query_in(
        db,
        // No ORDER BY: it would lead the planner to walk the whole entity
        // by id instead of seeking the field's index (sorted below).
        &format!(
            "SELECT id, data FROM reference WHERE entity = ?1 AND data IS NOT NULL AND {column} IN ({{list}})"
        ),
        entity,
        values,
    )
    .await?;
    let mut ids: Vec<String> = rows.iter().map(|r| r.text(0)).collect();
    ids.sort();
    ids.dedup();
    let aud = audiences(db, entity, &ids).await?;
    let mut out = assemble(entity, rows, aud);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

/// Audience rows `(id, officer_id, restricted)` of these items.
async fn audiences(db: &Db, entity: &str, ids: &[String]) -> Result<Vec<Row>, DbError> {
    query_in(
        db,
        "SELECT id, officer_id, restricted FROM reference_audience WHERE entity = ?1 AND id IN ({list}) ORDER BY id, officer_id",
        entity,
        ids,
    )
    .await
}

/// Live items of `entity` with these ids (each with its audience).
pub async fn items_by_id(db: &Db, entity: &str, ids: &[String]) -> Result<Vec<Item>, DbError> {
    items_matching(db, entity, "id", ids).await
}

/// Live items of `entity` whose data's `field` is one of `values`.
pub async fn items_where(
    db: &Db,
    entity: &str,
    field: &'static str,
    values: &[String],
) -> Result<Vec<Item>, DbError> {
    items_matching(db, entity, &json_field(db, "data", field), values).await
}

/// Up to `limit` items of `entity` the account sees, those whose `field`
/// is `first` before the rest, each part by `field` descending then id:
/// read a batch at a time along the field's index until `limit` are
/// found, never the whole entity.
pub async fn visible_latest(
    db: &Db,
    entity: &str,
    field: &'static str,
    first: &str,
    account: &Account,
    limit: usize,
) -> Result<Vec<Item>, DbError> {
    const BATCH: usize = 256;
    let mut out: Vec<Item> = items_where(db, entity, field, &[first.to_owned()])
        .await?
        .into_iter()
        .filter(|i| i.visible_to(account))
        .take(limit)
        .collect();
    let f = json_field(db, "data", field);
    let sql = format!(
        "SELECT id, data FROM reference WHERE entity = ?1 AND data IS NOT NULL AND {f} <> ?2
         ORDER BY {f} DESC, id LIMIT ?3 OFFSET ?4"
    );
    let mut offset = 0usize;
    while out.len() < limit {
        let rows = sql::query(
            db,
            &sql,
            vec![
                Val::from(entity),
                Val::from(first),
                Val::I(i64::try_from(BATCH).unwrap_or(i64::MAX)),
                Val::I(i64::try_from(offset).unwrap_or(i64::MAX)),
            ],
        )
        .await?;
        let n = rows.len();
        let ids: Vec<String> = rows.iter().map(|r| r.text(0)).collect();
        let aud = audiences(db, entity, &ids).await?;
        out.extend(
            assemble(entity, rows, aud)
                .into_iter()
                .filter(|i| i.visible_to(account))
                .take(limit - out.len()),
        );
        if n < BATCH {
            break;
        }
        offset += BATCH;
    }
    Ok(out)
}

/// One page of `entity`'s live items, in id order, and how many there
/// are: a long list is never read whole.
pub async fn items_page(
    db: &Db,
    entity: &str,
    limit: usize,
    offset: usize,
) -> Result<(Vec<Item>, usize), DbError> {
    let total = count(db, entity).await?;
    let rows = sql::query(
        db,
        "SELECT id, data FROM reference WHERE entity = ?1 AND data IS NOT NULL ORDER BY id LIMIT ?2 OFFSET ?3",
        vec![
            Val::from(entity),
            Val::I(i64::try_from(limit).unwrap_or(i64::MAX)),
            Val::I(i64::try_from(offset).unwrap_or(i64::MAX)),
        ],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_audience(db, entity, r.text(0), &r.text(1)).await?);
    }
    Ok((out, total))
}

/// How many live items `entity` has.
pub async fn count(db: &Db, entity: &str) -> Result<usize, DbError> {
    Ok(sql::one(
        db,
        "SELECT COUNT(*) FROM reference WHERE entity = ?1 AND data IS NOT NULL",
        vec![Val::from(entity)],
    )
    .await?
    .map_or(0, |r| usize::try_from(r.int(0)).unwrap_or(0)))
}

/// One live item.
pub async fn item(db: &Db, entity: &str, id: &str) -> Result<Option<Item>, DbError> {
    let Some(r) = sql::one(
        db,
        "SELECT id, data FROM reference WHERE entity = ?1 AND id = ?2 AND data IS NOT NULL",
        vec![Val::from(entity), Val::from(id)],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(
        with_audience(db, entity, r.text(0), &r.text(1)).await?,
    ))
}

async fn with_audience(db: &Db, entity: &str, id: String, data: &str) -> Result<Item, DbError> {
    let aud = sql::query(
        db,
        "SELECT officer_id, restricted FROM reference_audience WHERE entity = ?1 AND id = ?2 ORDER BY officer_id",
        vec![Val::from(entity), Val::from(&id)],
    )
    .await?;
    Ok(Item {
        entity: entity.to_owned(),
        data: serde_json::from_str(data).unwrap_or(Value::Null),
        audience: aud.iter().map(|r| r.text(0)).collect(),
        restricted_for: aud
            .iter()
            .filter(|r| r.int(1) != 0)
            .map(|r| r.text(0))
            .collect(),
        id,
    })
}

/// Items of `entity` the account sees, by id.
pub async fn visible_items(
    db: &Db,
    entity: &str,
    account: &Account,
) -> Result<HashMap<String, Item>, DbError> {
    Ok(items(db, entity)
        .await?
        .into_iter()
        .filter(|i| i.visible_to(account))
        .map(|i| (i.id.clone(), i))
        .collect())
}

/// A stored device event as the pages read it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ev {
    /// Event id.
    pub event_id: String,
    /// Device.
    pub device_id: String,
    /// Officer who recorded it.
    pub officer_id: String,
    /// Kind.
    pub kind: String,
    /// Device time, ms.
    pub recorded_ms: i64,
    /// Server time, ms.
    pub received_ms: i64,
    /// Appointment it names.
    pub appointment_id: Option<String>,
    /// Session it names.
    pub session_id: Option<String>,
    /// Case it names.
    pub case_id: Option<String>,
    /// Visit it names.
    pub visit_id: Option<String>,
    /// Sequence number on its device.
    pub seq: i64,
    /// Signature (hex), the start shown as evidence.
    pub signature: String,
    /// The signed payload.
    #[serde(skip)]
    pub payload: Value,
}

const EV_COLUMNS: &str =
    "e.event_id, e.device_id, e.officer_id, e.kind, e.recorded_ms, e.received_ms, \
     e.appointment_id, e.session_id, e.case_id, e.visit_id, e.seq, e.signature, e.body";

fn ev_of(r: &Row) -> Ev {
    // The body is parsed in place and its payload moved out, not copied:
    // pages read thousands of events.
    let payload = match serde_json::from_str::<Value>(r.text_ref(12)) {
        Ok(Value::Object(mut body)) => body.remove("payload").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Ev {
        event_id: r.text(0),
        device_id: r.text(1),
        officer_id: r.text(2),
        kind: r.text(3),
        recorded_ms: r.int(4),
        received_ms: r.int(5),
        appointment_id: r.opt_text(6),
        session_id: r.opt_text(7),
        case_id: r.opt_text(8),
        visit_id: r.opt_text(9),
        seq: r.int(10),
        signature: r.text(11),
        payload,
    }
}

/// The current event of each subject of `kind` (the ingest projection,
/// with the office's conflict resolutions: a chosen version is the
/// projection's event, a correction is laid over it).
pub async fn current(db: &Db, kind: &str) -> Result<Vec<Ev>, DbError> {
    current_of(db, kind, None).await
}

/// The current event of one subject of `kind`, as [`current`] reads it.
pub async fn current_one(db: &Db, kind: &str, subject: &str) -> Result<Option<Ev>, DbError> {
    Ok(current_of(db, kind, Some(&[subject.to_owned()]))
        .await?
        .into_iter()
        .next())
}

/// The current events of these subjects of `kind`, as [`current`] reads
/// them (in arrival order).
pub async fn current_for(db: &Db, kind: &str, subjects: &[String]) -> Result<Vec<Ev>, DbError> {
    current_of(db, kind, Some(subjects)).await
}

async fn current_of(db: &Db, kind: &str, subjects: Option<&[String]>) -> Result<Vec<Ev>, DbError> {
    let select = format!(
        "SELECT {EV_COLUMNS}, c.received_ms FROM current_records c JOIN events e ON e.event_id = c.event_id
         WHERE c.kind = ?1"
    );
    let rows = match subjects {
        None => {
            sql::query(
                db,
                &format!("{select} ORDER BY c.received_ms"),
                vec![Val::from(kind)],
            )
            .await?
        }
        Some(list) => {
            let mut rows = query_in(
                db,
                &format!("{select} AND c.subject IN ({{list}})"),
                kind,
                list,
            )
            .await?;
            // Arrival order across chunks, as the whole read gives it.
            rows.sort_by_key(|r| r.int(13));
            rows
        }
    };
    overlaid(db, kind, &rows).await
}

/// Rows of [`EV_COLUMNS`] and the projection's time as events, with the
/// office's corrections laid over outcomes.
async fn overlaid(db: &Db, kind: &str, rows: &[Row]) -> Result<Vec<Ev>, DbError> {
    let corrections = if kind == crate::payload::kinds::OUTCOME_RECORDED {
        super::conflicts::corrections(db).await?
    } else {
        Default::default()
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut e = ev_of(r);
        super::conflicts::lay_over(db, &corrections, &mut e.payload, r.int(13)).await?;
        out.push(e);
    }
    Ok(out)
}

/// The current outcomes whose payload names this requirement, as
/// [`current`] reads them (in arrival order), found by the index on
/// outcome events' requirement (console schema), not by reading all.
pub async fn current_outcomes_of_requirement(
    db: &Db,
    requirement_id: &str,
) -> Result<Vec<Ev>, DbError> {
    let kind = crate::payload::kinds::OUTCOME_RECORDED;
    // The kind is written out, so the partial index applies.
    let sql = format!(
        "SELECT {EV_COLUMNS}, c.received_ms FROM events e
           JOIN current_records c ON c.kind = e.kind AND c.event_id = e.event_id
         WHERE e.kind = '{kind}' AND {} = ?1 ORDER BY c.received_ms",
        json_path(db, "e.body", &["payload", "requirement_id"])
    );
    let rows = sql::query(db, &sql, vec![Val::from(requirement_id)]).await?;
    overlaid(db, kind, &rows).await
}

/// Every event of `kind` naming one of these appointments, in arrival
/// order (as [`of_kind`] gives them).
pub async fn of_kind_for_appointments(
    db: &Db,
    kind: &str,
    appointments: &[String],
) -> Result<Vec<Ev>, DbError> {
    let mut rows: Vec<Ev> = query_in(
        db,
        &format!(
            "SELECT {EV_COLUMNS} FROM events e WHERE e.kind = ?1 AND e.appointment_id IN ({{list}})"
        ),
        kind,
        appointments,
    )
    .await?
    .iter()
    .map(ev_of)
    .collect();
    rows.sort_by_key(|e| (e.received_ms, e.seq));
    Ok(rows)
}

/// Every event of `kind`, in arrival order.
pub async fn of_kind(db: &Db, kind: &str) -> Result<Vec<Ev>, DbError> {
    let sql = format!(
        "SELECT {EV_COLUMNS} FROM events e WHERE e.kind = ?1 ORDER BY e.received_ms, e.seq"
    );
    Ok(sql::query(db, &sql, vec![Val::from(kind)])
        .await?
        .iter()
        .map(ev_of)
        .collect())
}

/// One event.
pub async fn event(db: &Db, event_id: &str) -> Result<Option<Ev>, DbError> {
    let sql = format!("SELECT {EV_COLUMNS} FROM events e WHERE e.event_id = ?1");
    Ok(sql::one(db, &sql, vec![Val::from(event_id)])
        .await?
        .map(|r| ev_of(&r)))
}

/// Every event naming an appointment, oldest first.
pub async fn for_appointment(db: &Db, appointment_id: &str) -> Result<Vec<Ev>, DbError> {
    let sql = format!(
        "SELECT {EV_COLUMNS} FROM events e WHERE e.appointment_id = ?1 ORDER BY e.recorded_ms, e.seq"
    );
    Ok(sql::query(db, &sql, vec![Val::from(appointment_id)])
        .await?
        .iter()
        .map(ev_of)
        .collect())
}

/// Officers the office holds: id and name.
pub async fn officers(db: &Db) -> Result<Vec<(String, String, String)>, DbError> {
    Ok(sql::query(
        db,
        "SELECT id, name, role FROM officers ORDER BY id",
        vec![],
    )
    .await?
    .iter()
    .map(|r| (r.text(0), r.text(1), r.text(2)))
    .collect())
}
