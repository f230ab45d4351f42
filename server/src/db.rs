//! Storage behind one interface with two backends: embedded SQLite (the
//! default) and PostgreSQL (several server instances on one database).
//!
//! The server keeps nothing between requests but what is here: nonces,
//! enrolment codes, each device's chain position and every event. Ingest
//! decisions are made in [`crate::ingest`]; the backends' ingest storage
//! is in [`crate::storage`].

use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use fieldbook_core::events::GENESIS_HASH;
use fieldbook_core::sync::protocol::{PushResult, Role, NONCE_MARGIN_MS, TIMESTAMP_WINDOW_MS};
use rusqlite::OptionalExtension;

use crate::ingest::Batch;
use crate::model::{parse_role, role_name, DeviceRow, Incoming};
use crate::schema;
use crate::storage;

/// A storage failure (no personal data in the message).
#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct DbError(pub String);

/// Names a SQLite error by its extended result code (or the kind of a
/// conversion failure) and nothing else: rusqlite's messages can quote a
/// value read from a row (`Integer 300 out of range …`), and logs must
/// hold no personal data.
impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        DbError(match &e {
            E::SqliteFailure(f, _) => format!("sqlite extended code {}", f.extended_code),
            E::QueryReturnedNoRows => "sqlite: no rows".into(),
            E::IntegralValueOutOfRange(i, _) => {
                format!("sqlite: integer out of range at column {i}")
            }
            E::InvalidColumnType(i, _, t) => format!("sqlite: column {i} has type {t}"),
            E::FromSqlConversionFailure(i, t, _) => {
                format!("sqlite: column {i} ({t}) does not convert")
            }
            E::InvalidColumnIndex(i) => format!("sqlite: no column {i}"),
            E::InvalidColumnName(_) => "sqlite: no such column".into(),
            E::SqlInputError { error, .. } => {
                format!("sqlite extended code {} (SQL input)", error.extended_code)
            }
            _ => "sqlite: other error".into(),
        })
    }
}

/// Names a PostgreSQL error by its SQLSTATE only: the server's message
/// and detail can quote row contents (`Key (x)=(…) already exists`).
fn pg_code(e: &tokio_postgres::Error) -> String {
    match e.code() {
        Some(state) => format!("postgres SQLSTATE {}", state.code()),
        None if e.is_closed() => "postgres: connection closed".into(),
        None => "postgres: client error (no SQLSTATE)".into(),
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError(pg_code(&e))
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError as P;
        DbError(match &e {
            P::Backend(e) => pg_code(e),
            P::Timeout(_) => "postgres pool: timeout".into(),
            P::Closed => "postgres pool: closed".into(),
            _ => "postgres pool: unavailable".into(),
        })
    }
}

type R<T> = Result<T, DbError>;

/// One reference item to write: entity, id, data (`None` deletes it) and
/// its audience (officer, restricted).
#[derive(Debug, Clone)]
pub struct RefWrite {
    /// Entity.
    pub entity: String,
    /// Id.
    pub id: String,
    /// Data as JSON text; `None` deletes the item.
    pub data: Option<String>,
    /// (officer, restricted).
    pub audience: Vec<(String, bool)>,
}

/// An event as the office reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Event id.
    pub event_id: String,
    /// Device.
    pub device_id: String,
    /// Sequence number.
    pub seq: i64,
    /// Officer.
    pub officer_id: String,
    /// Kind.
    pub kind: String,
    /// Device time.
    pub recorded_ms: i64,
    /// Server time.
    pub received_ms: i64,
    /// Superseded event.
    pub supersedes: Option<String>,
    /// Signed JSON.
    pub body: String,
    /// Signature, hex.
    pub signature: String,
    /// Received after the office revoked its device.
    pub after_revocation: bool,
}

/// A device as the office lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    /// Device id.
    pub device_id: String,
    /// Its officer.
    pub officer_id: String,
    /// The label the device sent at enrolment.
    pub label: String,
    /// When it enrolled, ms.
    pub enrolled_ms: i64,
    /// When the office revoked it.
    pub revoked_ms: Option<i64>,
    /// When it reported crypto-shredding.
    pub shredded_ms: Option<i64>,
    /// The last sequence number held.
    pub last_seq: i64,
    /// Its last push, ms.
    pub last_sync_ms: Option<i64>,
    /// Until when a revoked device's final push is accepted, ms.
    pub final_push_until_ms: Option<i64>,
    /// Events received from it after it was revoked (flagged to the
    /// office: they came from a device it no longer trusts).
    pub events_after_revocation: i64,
}

/// Two devices' events that disagree about one subject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ConflictRow {
    /// Conflict kind (`outcome`).
    pub kind: String,
    /// The subject (an appointment id).
    pub subject: String,
    /// The event held first.
    pub event_a: String,
    /// The event that arrived later.
    pub event_b: String,
    /// When it was found, ms.
    pub created_ms: i64,
}

/// A reference change for a pull.
#[derive(Debug, Clone, PartialEq)]
pub struct RefRow {
    /// Cursor.
    pub cursor: i64,
    /// Entity.
    pub entity: String,
    /// Id.
    pub id: String,
    /// JSON or `None` (deleted).
    pub data: Option<String>,
    /// Whether this officer sees it restricted.
    pub restricted: bool,
}

/// The storage backend.
#[derive(Clone)]
pub enum Db {
    /// Embedded SQLite.
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    /// PostgreSQL.
    Postgres(deadpool_postgres::Pool),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite(_) => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap_or(());
    hex::encode(b)
}

/// Makes the office database private before SQLite opens it: the folder
/// created 0700 when missing, the file created (or tightened to) 0600.
/// It holds case notes unsealed, and SQLite gives the `-wal` and `-shm`
/// files the main file's mode, so they are 0600 too.
fn prepare_private_file(path: &std::path::Path) -> R<()> {
    let io = |e: std::io::Error| DbError(format!("cannot prepare the database file: {}", e.kind()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(io)?;
        } else {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(dir).map_err(io)?.permissions().mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        mode = format!("{:o}", mode & 0o777),
                        "the office database folder is open to other users; chmod 700 it"
                    );
                }
            }
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // An existing file (an older release made it 0644) is tightened.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            if p.exists() {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// How often an instance purges expired nonces. The purge scans the
/// table (it has no index on time), so running it on every signed request
/// made each request's cost grow with the requests of the last window;
/// kept a little longer, an expired nonce only refuses a replay it could
/// no longer be used for anyway.
const NONCE_PURGE_EVERY_MS: i64 = 10_000;

/// The server time of this process's last nonce purge.
static LAST_NONCE_PURGE_MS: AtomicI64 = AtomicI64::new(i64::MIN);

/// Whether a request at `now` should purge expired nonces: the first one,
/// then one per [`NONCE_PURGE_EVERY_MS`] (or when the clock went back).
fn purge_due(now: i64) -> bool {
    purge_due_after(&LAST_NONCE_PURGE_MS, now)
}

/// [`purge_due`] against the last purge time `last` (which it updates): of
/// requests racing at the same moment, one purges.
fn purge_due_after(last: &AtomicI64, now: i64) -> bool {
    let was = last.load(AtomicOrdering::Relaxed);
    let due = was == i64::MIN || now < was || now.saturating_sub(was) >= NONCE_PURGE_EVERY_MS;
    due && last
        .compare_exchange(was, now, AtomicOrdering::Relaxed, AtomicOrdering::Relaxed)
        .is_ok()
}

pub(crate) async fn blocking<T: Send + 'static>(
    conn: &Arc<Mutex<rusqlite::Connection>>,
    f: impl FnOnce(&mut rusqlite::Connection) -> R<T> + Send + 'static,
) -> R<T> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| DbError(format!("worker: {e}")))?
}

impl Db {
    /// Opens `storage`, creating or upgrading the schema.
    pub async fn open(storage: &crate::Storage) -> R<Db> {
        match storage {
            crate::Storage::Sqlite(path) => Db::open_sqlite(path).await,
            crate::Storage::Postgres(url) => Db::open_postgres(url).await,
        }
    }

    /// Opens (creating) the SQLite database at `path`.
    pub async fn open_sqlite(path: &std::path::Path) -> R<Db> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || -> R<rusqlite::Connection> {
            prepare_private_file(&path)?;
            let conn = rusqlite::Connection::open(path)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // Ingest's statements alone outnumber rusqlite's default cache
            // of 16; and the bundled SQLite (STAT4) re-compiles a statement
            // whose plan might depend on a bound value each time the value
            // changes, unless the planner's stability guarantee is on.
            conn.set_prepared_statement_cache_capacity(256);
            conn.set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                true,
            )?;
            conn.execute_batch(schema::SQLITE)?;
            for (table, column, definition) in schema::SQLITE_ADDED_COLUMNS {
                let has: bool = conn.query_row(
                    &format!(
                        "SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"
                    ),
                    [column],
                    |r| r.get(0),
                )?;
                if !has {
                    conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {definition}"))?;
                }
            }
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?1)",
                [random_hex(8)],
            )?;
            conn.execute_batch(schema::BACKFILL_CURRENT)?;
            conn.execute_batch(crate::console::schema::SQLITE)?;
            conn.execute_batch(crate::safety::store::SCHEMA)?;
            conn.execute_batch(crate::delivery::outbox::SCHEMA)?;
            conn.execute_batch(crate::evidence::store::SCHEMA)?;
            Ok(conn)
        })
        .await
        .map_err(|e| DbError(e.to_string()))??;
        Ok(Db::Sqlite(Arc::new(Mutex::new(conn))))
    }

    /// Connects to PostgreSQL at `url` and creates the schema.
    pub async fn open_postgres(url: &str) -> R<Db> {
        let pg: tokio_postgres::Config = url
            .parse()
            // The parse error may quote the URL, password included.
            .map_err(|_: tokio_postgres::Error| DbError("invalid PostgreSQL URL".into()))?;
        let mgr = deadpool_postgres::Manager::from_config(
            pg,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(mgr)
            .max_size(16)
            .build()
            .map_err(|_| DbError("postgres pool: cannot build".into()))?;
        let client = pool.get().await?;
        // Instances may start together: one creates the schema at a time.
        client
            .batch_execute("SELECT pg_advisory_lock(7342001)")
            .await?;
        let created = match client.batch_execute(schema::POSTGRES).await {
            Ok(()) => match client.batch_execute(schema::BACKFILL_CURRENT).await {
                Ok(()) => match client.batch_execute(crate::safety::store::SCHEMA).await {
                    Ok(()) => match client.batch_execute(crate::delivery::outbox::SCHEMA).await {
                        Ok(()) => client.batch_execute(crate::evidence::store::SCHEMA).await,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let created = match created {
            Ok(()) => client.batch_execute(crate::console::schema::POSTGRES).await,
            e => e,
        };
        client
            .execute(
                "INSERT INTO meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
                &[&random_hex(8)],
            )
            .await?;
        client
            .batch_execute("SELECT pg_advisory_unlock(7342001)")
            .await?;
        created?;
        Ok(Db::Postgres(pool))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> R<()> {
        match self {
            Db::Sqlite(c) => blocking(c, |c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await,
            Db::Postgres(p) => {
                p.get().await?.query_one("SELECT 1", &[]).await?;
                Ok(())
            }
        }
    }

    /// The data epoch.
    pub async fn epoch(&self) -> R<String> {
        match self {
            Db::Sqlite(c) => {
                blocking(c, |c| {
                    Ok(
                        c.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
                            r.get(0)
                        })?,
                    )
                })
                .await
            }
            Db::Postgres(p) => Ok(p
                .get()
                .await?
                .query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])
                .await?
                .get(0)),
        }
    }

    /// Starts a new epoch: every device refetches its reference data.
    pub async fn new_epoch(&self) -> R<String> {
        let epoch = random_hex(8);
        let e = epoch.clone();
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    c.execute("UPDATE meta SET value = ?1 WHERE key = 'epoch'", [e])?;
                    Ok(())
                })
                .await?
            }
            Db::Postgres(p) => {
                p.get()
                    .await?
                    .execute("UPDATE meta SET value = $1 WHERE key = 'epoch'", &[&e])
                    .await?;
            }
        }
        Ok(epoch)
    }

    /// Creates or updates an officer.
    pub async fn upsert_officer(&self, id: &str, name: &str, role: Role) -> R<()> {
        let (id, name, role) = (id.to_owned(), name.to_owned(), role_name(role).to_owned());
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    c.execute(
                        "INSERT INTO officers (id, name, role) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role",
                        [&id, &name, &role],
                    )?;
                    Ok(())
                })
                .await
            }
            Db::Postgres(p) => {
                p.get()
                    .await?
                    .execute(
                        "INSERT INTO officers (id, name, role) VALUES ($1, $2, $3)
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role",
                        &[&id, &name, &role],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// Whether an officer exists.
    pub async fn officer_exists(&self, id: &str) -> R<bool> {
        let id = id.to_owned();
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    Ok(
                        c.query_row("SELECT 1 FROM officers WHERE id = ?1", [id], |_| Ok(()))
                            .optional()?
                            .is_some(),
                    )
                })
                .await
            }
            Db::Postgres(p) => Ok(p
                .get()
                .await?
                .query_opt("SELECT 1 FROM officers WHERE id = $1", &[&id])
                .await?
                .is_some()),
        }
    }

    /// Stores a one-time enrolment code's hash.
    pub async fn create_code(&self, officer_id: &str, code_hash: &str, expires_ms: i64) -> R<()> {
        let (o, h) = (officer_id.to_owned(), code_hash.to_owned());
        match self {
            Db::Sqlite(c) => blocking(c, move |c| {
                c.execute(
                    "INSERT INTO enrolment_codes (code_hash, officer_id, expires_ms) VALUES (?1, ?2, ?3)",
                    rusqlite::params![h, o, expires_ms],
                )?;
                Ok(())
            })
            .await,
            Db::Postgres(p) => {
                p.get()
                    .await?
                    .execute(
                        "INSERT INTO enrolment_codes (code_hash, officer_id, expires_ms) VALUES ($1, $2, $3)",
                        &[&h, &o, &expires_ms],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// Consumes a code and registers the device; `None` when the code is
    /// unknown, used or expired, or the key is already enrolled.
    pub async fn enrol(
        &self,
        code_hash: &str,
        device_id: &str,
        public_key: &str,
        label: &str,
        now: i64,
    ) -> R<Option<(String, Role)>> {
        let (h, d, k, l) = (
            code_hash.to_owned(),
            device_id.to_owned(),
            public_key.to_owned(),
            label.to_owned(),
        );
        let genesis = hex::encode(GENESIS_HASH);
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    let tx =
                        c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    let row: Option<(String, String)> = tx
                        .query_row(
                            "UPDATE enrolment_codes SET used_ms = ?2
                          WHERE code_hash = ?1 AND used_ms IS NULL AND expires_ms > ?2
                          RETURNING officer_id, (SELECT role FROM officers WHERE id = officer_id)",
                            rusqlite::params![h, now],
                            |r| {
                                Ok((
                                    r.get(0)?,
                                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                                ))
                            },
                        )
                        .optional()?;
                    let Some((officer, role)) = row else {
                        return Ok(None);
                    };
                    let known: Option<i64> = tx
                        .query_row("SELECT 1 FROM devices WHERE public_key = ?1", [&k], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    if known.is_some() {
                        return Ok(None);
                    }
                    tx.execute(
                    "INSERT INTO devices (id, officer_id, public_key, label, enrolled_ms, last_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![d, officer, k, l, now, genesis],
                )?;
                    tx.commit()?;
                    Ok(Some((officer, parse_role(&role))))
                })
                .await
            }
            Db::Postgres(p) => {
                let mut client = p.get().await?;
                let tx = client.transaction().await?;
                let row = tx
                    .query_opt(
                        "UPDATE enrolment_codes SET used_ms = $2
                          WHERE code_hash = $1 AND used_ms IS NULL AND expires_ms > $2
                          RETURNING officer_id, (SELECT role FROM officers WHERE id = officer_id)",
                        &[&h, &now],
                    )
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let officer: String = row.get(0);
                let role: Option<String> = row.get(1);
                if tx
                    .query_opt("SELECT 1 FROM devices WHERE public_key = $1", &[&k])
                    .await?
                    .is_some()
                {
                    return Ok(None);
                }
                tx.execute(
                    "INSERT INTO devices (id, officer_id, public_key, label, enrolled_ms, last_hash)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&d, &officer, &k, &l, &now, &genesis],
                )
                .await?;
                tx.commit().await?;
                Ok(Some((officer, parse_role(&role.unwrap_or_default()))))
            }
        }
    }

    /// A device.
    pub async fn device(&self, id: &str) -> R<Option<DeviceRow>> {
        const SQL_S: &str = "SELECT d.id, d.officer_id, COALESCE(o.role, ''), d.public_key, d.revoked_ms IS NOT NULL,
                d.final_push_allowed, d.shredded_ms IS NOT NULL, d.last_seq,
                COALESCE(d.final_push_until_ms, d.revoked_ms + 86400000)
           FROM devices d LEFT JOIN officers o ON o.id = d.officer_id WHERE d.id = ?1";
        let id = id.to_owned();
        type Raw = (
            String,
            String,
            String,
            String,
            bool,
            bool,
            bool,
            i64,
            Option<i64>,
        );
        let raw: Option<Raw> = match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    Ok(c.query_row(SQL_S, [id], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                        ))
                    })
                    .optional()?)
                })
                .await?
            }
            Db::Postgres(p) => {
                let client = p.get().await?;
                // Every signed request reads its device: prepared once per
                // pooled connection, not on every call.
                let stmt = client.prepare_cached(&SQL_S.replace("?1", "$1")).await?;
                client.query_opt(&stmt, &[&id]).await?.map(|r| {
                    (
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        r.get(5),
                        r.get(6),
                        r.get(7),
                        r.get(8),
                    )
                })
            }
        };
        Ok(raw.and_then(
            |(
                id,
                officer_id,
                role,
                key,
                revoked,
                final_push_allowed,
                shredded,
                last_seq,
                final_push_until_ms,
            )| {
                Some(DeviceRow {
                    id,
                    officer_id,
                    role: parse_role(&role),
                    public_key: hex::decode(key).ok()?,
                    revoked,
                    final_push_allowed,
                    final_push_until_ms,
                    shredded,
                    last_seq: u64::try_from(last_seq).unwrap_or(0),
                })
            },
        ))
    }

    /// Every device, for the office.
    pub async fn devices(&self) -> R<Vec<DeviceInfo>> {
        const SQL: &str =
            "SELECT d.id, d.officer_id, d.label, d.enrolled_ms, d.revoked_ms, d.shredded_ms,
                d.last_seq, d.last_sync_ms, d.final_push_until_ms,
                (SELECT COUNT(*) FROM events e WHERE e.device_id = d.id
                    AND d.revoked_ms IS NOT NULL AND e.received_ms >= d.revoked_ms)
             FROM devices d ORDER BY d.enrolled_ms";
        type Row = (
            String,
            String,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
        );
        let rows: Vec<Row> = match self {
            Db::Sqlite(c) => {
                blocking(c, |c| {
                    let mut s = c.prepare(SQL)?;
                    let rows = s.query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                        ))
                    })?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await?
            }
            Db::Postgres(p) => p
                .get()
                .await?
                .query(SQL, &[])
                .await?
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        r.get(5),
                        r.get(6),
                        r.get(7),
                        r.get(8),
                        r.get(9),
                    )
                })
                .collect(),
        };
        Ok(rows
            .into_iter()
            .map(
                |(
                    device_id,
                    officer_id,
                    label,
                    enrolled_ms,
                    revoked_ms,
                    shredded_ms,
                    last_seq,
                    last_sync_ms,
                    final_push_until_ms,
                    events_after_revocation,
                )| {
                    DeviceInfo {
                        device_id,
                        officer_id,
                        label,
                        enrolled_ms,
                        revoked_ms,
                        shredded_ms,
                        last_seq,
                        last_sync_ms,
                        final_push_until_ms,
                        events_after_revocation,
                    }
                },
            )
            .collect())
    }

    /// Records a nonce; `false` when it was seen before (a replay).
    ///
    /// The row keeps the request's signed timestamp, and is kept while a
    /// request with that timestamp could still be inside the window of
    /// some instance: the window plus [`NONCE_MARGIN_MS`] for instances
    /// whose clocks differ a little. (Keying the purge on the time the
    /// nonce was seen let an instance a few seconds behind accept a
    /// replay at the window's edge.)
    pub async fn use_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        timestamp_ms: i64,
        now: i64,
    ) -> R<bool> {
        let (d, n) = (device_id.to_owned(), nonce.to_owned());
        let cutoff = now
            .saturating_sub(TIMESTAMP_WINDOW_MS)
            .saturating_sub(NONCE_MARGIN_MS);
        let purge = purge_due(now);
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    if purge {
                        c.prepare_cached("DELETE FROM nonces WHERE seen_ms < ?1")?
                            .execute([cutoff])?;
                    }
                    let n = c
                        .prepare_cached(
                            "INSERT OR IGNORE INTO nonces (device_id, nonce, seen_ms) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(rusqlite::params![d, n, timestamp_ms])?;
                    Ok(n == 1)
                })
                .await
            }
            Db::Postgres(p) => {
                let client = p.get().await?;
                if purge {
                    let stmt = client
                        .prepare_cached("DELETE FROM nonces WHERE seen_ms < $1")
                        .await?;
                    client.execute(&stmt, &[&cutoff]).await?;
                }
                let stmt = client
                    .prepare_cached(
                        "INSERT INTO nonces (device_id, nonce, seen_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .await?;
                let n = client.execute(&stmt, &[&d, &n, &timestamp_ms]).await?;
                Ok(n == 1)
            }
        }
    }

    /// Revokes a device, its final push accepted until `final_push_until_ms`;
    /// `false` when unknown.
    pub async fn revoke(
        &self,
        device_id: &str,
        final_push_allowed: bool,
        final_push_until_ms: i64,
        now: i64,
    ) -> R<bool> {
        let d = device_id.to_owned();
        match self {
            Db::Sqlite(c) => blocking(c, move |c| {
                Ok(c.execute(
                    "UPDATE devices SET revoked_ms = COALESCE(revoked_ms, ?2), final_push_allowed = ?3,
                        final_push_until_ms = ?4 WHERE id = ?1",
                    rusqlite::params![d, now, final_push_allowed, final_push_until_ms],
                )? == 1)
            })
            .await,
            Db::Postgres(p) => Ok(p
                .get()
                .await?
                .execute(
                    "UPDATE devices SET revoked_ms = COALESCE(revoked_ms, $2), final_push_allowed = $3,
                        final_push_until_ms = $4 WHERE id = $1",
                    &[&d, &now, &final_push_allowed, &final_push_until_ms],
                )
                .await?
                == 1),
        }
    }

    /// Records that a device shredded its store.
    pub async fn mark_shredded(&self, device_id: &str, now: i64) -> R<()> {
        let d = device_id.to_owned();
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    c.execute(
                        "UPDATE devices SET shredded_ms = ?2 WHERE id = ?1",
                        rusqlite::params![d, now],
                    )?;
                    Ok(())
                })
                .await
            }
            Db::Postgres(p) => {
                p.get()
                    .await?
                    .execute(
                        "UPDATE devices SET shredded_ms = $2 WHERE id = $1",
                        &[&d, &now],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// Ingests a device's batch in one transaction; one result per event.
    pub async fn ingest(
        &self,
        device: &DeviceRow,
        events: Vec<Incoming>,
        now: i64,
    ) -> R<Vec<PushResult>> {
        match self {
            Db::Sqlite(c) => {
                let device = device.clone();
                blocking(c, move |c| {
                    let batch = Batch {
                        device: &device,
                        events: &events,
                        now,
                    };
                    storage::sqlite::ingest(c, &batch)
                })
                .await
            }
            Db::Postgres(p) => {
                let mut client = p.get().await?;
                let batch = Batch {
                    device,
                    events: &events,
                    now,
                };
                storage::postgres::ingest(&mut client, &batch).await
            }
        }
    }

    /// Writes a reference item (or deletes it with `data` of `None`) for
    /// `audience`: (officer, restricted). Returns its cursor.
    pub async fn put_reference(
        &self,
        entity: &str,
        id: &str,
        data: Option<String>,
        audience: Vec<(String, bool)>,
    ) -> R<i64> {
        let item = RefWrite {
            entity: entity.to_owned(),
            id: id.to_owned(),
            data,
            audience,
        };
        let cursors = self.put_references(vec![item], vec![]).await?;
        cursors
            .first()
            .copied()
            .ok_or_else(|| DbError("reference: no cursor".into()))
    }

    /// Writes reference items, and `also` (statements belonging to the
    /// same change), in one transaction: all of it or none. Returns each
    /// item's cursor.
    pub async fn put_references(
        &self,
        items: Vec<RefWrite>,
        also: Vec<storage::sql::Stmt>,
    ) -> R<Vec<i64>> {
        match self {
            Db::Sqlite(c) => blocking(c, move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut cursors = Vec::with_capacity(items.len());
                for RefWrite { entity: e, id: i, data, audience } in &items {
                let cursor: i64 = tx.query_row("SELECT COALESCE(MAX(cursor), 0) + 1 FROM reference", [], |r| r.get(0))?;
                tx.execute(
                    "INSERT INTO reference (entity, id, data, cursor) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (entity, id) DO UPDATE SET data = excluded.data, cursor = excluded.cursor",
                    rusqlite::params![e, i, data, cursor],
                )?;
                if data.is_some() {
                    // Officers leaving the audience get a tombstone at this
                    // cursor, so their devices erase the item on the next pull.
                    tx.execute(
                        "INSERT INTO reference_tombstones (entity, id, officer_id, cursor)
                         SELECT entity, id, officer_id, ?3 FROM reference_audience
                          WHERE entity = ?1 AND id = ?2 AND officer_id NOT IN (SELECT value FROM json_each(?4))
                         ON CONFLICT (entity, id, officer_id) DO UPDATE SET cursor = excluded.cursor",
                        rusqlite::params![e, i, cursor, serde_json::to_string(&audience.iter().map(|(o, _)| o).collect::<Vec<_>>()).unwrap_or_default()],
                    )?;
                    tx.execute("DELETE FROM reference_audience WHERE entity = ?1 AND id = ?2", [e, i])?;
                    for (officer, restricted) in audience {
                        tx.execute(
                            "INSERT INTO reference_audience (entity, id, officer_id, restricted) VALUES (?1, ?2, ?3, ?4)",
                            rusqlite::params![e, i, officer, restricted],
                        )?;
                    }
                }
                cursors.push(cursor);
                }
                for stmt in &also {
                    storage::sql::lite_exec(&tx, stmt)?;
                }
                tx.commit()?;
                Ok(cursors)
            })
            .await,
            Db::Postgres(p) => {
                let mut client = p.get().await?;
                let tx = client.transaction().await?;
                // Cursors must become visible in order: one writer at a time.
                tx.batch_execute("LOCK TABLE reference IN SHARE ROW EXCLUSIVE MODE").await?;
                let mut cursors = Vec::with_capacity(items.len());
                for RefWrite { entity: e, id: i, data, audience } in &items {
                let cursor: i64 = tx.query_one("SELECT nextval('reference_cursor_seq')", &[]).await?.get(0);
                tx.execute(
                    "INSERT INTO reference (entity, id, data, cursor) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (entity, id) DO UPDATE SET data = excluded.data, cursor = excluded.cursor",
                    &[e, i, data, &cursor],
                )
                .await?;
                if data.is_some() {
                    let keep: Vec<&str> = audience.iter().map(|(o, _)| o.as_str()).collect();
                    tx.execute(
                        "INSERT INTO reference_tombstones (entity, id, officer_id, cursor)
                         SELECT entity, id, officer_id, $3 FROM reference_audience
                          WHERE entity = $1 AND id = $2 AND NOT (officer_id = ANY($4))
                         ON CONFLICT (entity, id, officer_id) DO UPDATE SET cursor = excluded.cursor",
                        &[e, i, &cursor, &keep],
                    )
                    .await?;
                    tx.execute("DELETE FROM reference_audience WHERE entity = $1 AND id = $2", &[e, i]).await?;
                    for (officer, restricted) in audience {
                        tx.execute(
                            "INSERT INTO reference_audience (entity, id, officer_id, restricted) VALUES ($1, $2, $3, $4)",
                            &[e, i, officer, restricted],
                        )
                        .await?;
                    }
                }
                cursors.push(cursor);
                }
                for stmt in &also {
                    storage::sql::pg_exec(&*tx, stmt).await?;
                }
                tx.commit().await?;
                Ok(cursors)
            }
        }
    }

    /// Reference changes for `officer` after `cursor`.
    pub async fn pull(&self, officer: &str, cursor: i64, limit: i64) -> R<Vec<RefRow>> {
        // Items in the officer's audience, and tombstones (no data) for
        // items they were removed from since `cursor`.
        const SQL: &str = "SELECT cursor, entity, id, data, restricted FROM (
             SELECT r.cursor AS cursor, r.entity AS entity, r.id AS id, r.data AS data, a.restricted AS restricted
               FROM reference r JOIN reference_audience a ON a.entity = r.entity AND a.id = r.id
              WHERE a.officer_id = ?1 AND r.cursor > ?2
             UNION ALL
             SELECT t.cursor, t.entity, t.id, NULL, FALSE
               FROM reference_tombstones t
              WHERE t.officer_id = ?1 AND t.cursor > ?2
                AND NOT EXISTS (SELECT 1 FROM reference_audience a
                                 WHERE a.entity = t.entity AND a.id = t.id AND a.officer_id = ?1)
           ) AS changes ORDER BY cursor LIMIT ?3";
        let o = officer.to_owned();
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    let mut s = c.prepare_cached(SQL)?;
                    let rows = s.query_map(rusqlite::params![o, cursor, limit], |r| {
                        Ok(RefRow {
                            cursor: r.get(0)?,
                            entity: r.get(1)?,
                            id: r.get(2)?,
                            data: r.get(3)?,
                            restricted: r.get(4)?,
                        })
                    })?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            Db::Postgres(p) => {
                let sql = SQL
                    .replace("?1", "$1")
                    .replace("?2", "$2")
                    .replace("?3", "$3");
                Ok(p.get()
                    .await?
                    .query(&sql, &[&o, &cursor, &limit])
                    .await?
                    .iter()
                    .map(|r| RefRow {
                        cursor: r.get(0),
                        entity: r.get(1),
                        id: r.get(2),
                        data: r.get(3),
                        restricted: r.get(4),
                    })
                    .collect())
            }
        }
    }

    /// The current event of each subject of `kind` (the projection kept at
    /// ingest), in arrival order, one page.
    pub async fn current(&self, kind: &str, limit: i64, offset: i64) -> R<Vec<StoredEvent>> {
        const SQL: &str = "SELECT e.event_id, e.device_id, e.seq, e.officer_id, e.kind, e.recorded_ms, e.received_ms,
                e.supersedes, e.body, e.signature,
                COALESCE(d.revoked_ms IS NOT NULL AND e.received_ms >= d.revoked_ms, FALSE)
             FROM current_records c JOIN events e ON e.event_id = c.event_id
             LEFT JOIN devices d ON d.id = e.device_id
             WHERE c.kind = ?1 ORDER BY c.received_ms, c.subject LIMIT ?2 OFFSET ?3";
        let kind = kind.to_owned();
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    let mut s = c.prepare_cached(SQL)?;
                    let rows =
                        s.query_map(rusqlite::params![kind, limit, offset], stored_event_sqlite)?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            Db::Postgres(p) => Ok(p
                .get()
                .await?
                .query(
                    &SQL.replace("?1", "$1")
                        .replace("?2", "$2")
                        .replace("?3", "$3"),
                    &[&kind, &limit, &offset],
                )
                .await?
                .iter()
                .map(stored_event_pg)
                .collect()),
        }
    }

    /// Stored events whose kind starts with `prefix`, in arrival order.
    pub async fn events(&self, prefix: &str, limit: i64) -> R<Vec<StoredEvent>> {
        const SQL: &str = "SELECT e.event_id, e.device_id, e.seq, e.officer_id, e.kind, e.recorded_ms, e.received_ms,
                e.supersedes, e.body, e.signature,
                COALESCE(d.revoked_ms IS NOT NULL AND e.received_ms >= d.revoked_ms, FALSE)
             FROM events e LEFT JOIN devices d ON d.id = e.device_id
             WHERE e.kind LIKE ?1 ORDER BY e.received_ms, e.device_id, e.seq LIMIT ?2";
        // Kinds are [a-z0-9._-]; '_' matching any one character is harmless.
        let like = format!("{}%", prefix.replace('%', ""));
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    let mut s = c.prepare_cached(SQL)?;
                    let rows = s.query_map(rusqlite::params![like, limit], stored_event_sqlite)?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            Db::Postgres(p) => Ok(p
                .get()
                .await?
                .query(
                    &SQL.replace("?1", "$1").replace("?2", "$2"),
                    &[&like, &limit],
                )
                .await?
                .iter()
                .map(stored_event_pg)
                .collect()),
        }
    }

    /// Conflicts for the office.
    pub async fn conflicts(&self) -> R<Vec<ConflictRow>> {
        const SQL: &str =
            "SELECT kind, subject, event_a, event_b, created_ms FROM conflicts ORDER BY id";
        let rows: Vec<(String, String, String, String, i64)> = match self {
            Db::Sqlite(c) => {
                blocking(c, |c| {
                    let mut s = c.prepare(SQL)?;
                    let rows = s.query_map([], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await?
            }
            Db::Postgres(p) => p
                .get()
                .await?
                .query(SQL, &[])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect(),
        };
        Ok(rows
            .into_iter()
            .map(
                |(kind, subject, event_a, event_b, created_ms)| ConflictRow {
                    kind,
                    subject,
                    event_a,
                    event_b,
                    created_ms,
                },
            )
            .collect())
    }

    /// Number of stored events.
    pub async fn event_count(&self) -> R<i64> {
        match self {
            Db::Sqlite(c) => {
                blocking(c, |c| {
                    Ok(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)
                })
                .await
            }
            Db::Postgres(p) => Ok(p
                .get()
                .await?
                .query_one("SELECT COUNT(*) FROM events", &[])
                .await?
                .get(0)),
        }
    }
}

/// A stored event row (the columns `events` and `current` select).
fn stored_event_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        event_id: r.get(0)?,
        device_id: r.get(1)?,
        seq: r.get(2)?,
        officer_id: r.get(3)?,
        kind: r.get(4)?,
        recorded_ms: r.get(5)?,
        received_ms: r.get(6)?,
        supersedes: r.get(7)?,
        body: r.get(8)?,
        signature: r.get(9)?,
        after_revocation: r.get(10)?,
    })
}

/// The same row from PostgreSQL.
fn stored_event_pg(r: &tokio_postgres::Row) -> StoredEvent {
    StoredEvent {
        event_id: r.get(0),
        device_id: r.get(1),
        seq: r.get(2),
        officer_id: r.get(3),
        kind: r.get(4),
        recorded_ms: r.get(5),
        received_ms: r.get(6),
        supersedes: r.get(7),
        body: r.get(8),
        signature: r.get(9),
        after_revocation: r.get(10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_nonces_are_purged_once_per_interval_not_on_every_request() {
        let last = AtomicI64::new(i64::MIN);
        let t = 1_800_000_000_000;
        assert!(purge_due_after(&last, t), "the first request purges");
        assert!(!purge_due_after(&last, t), "not again at once");
        assert!(!purge_due_after(&last, t + NONCE_PURGE_EVERY_MS - 1));
        assert!(purge_due_after(&last, t + NONCE_PURGE_EVERY_MS));
        assert!(!purge_due_after(&last, t + NONCE_PURGE_EVERY_MS + 1));
        // A clock set back purges rather than waiting out the interval.
        assert!(purge_due_after(&last, t - 1));
    }

    #[test]
    fn sqlite_errors_are_named_by_code_never_by_row_contents() {
        let c = rusqlite::Connection::open_in_memory().expect("db");
        c.execute_batch("CREATE TABLE t (x TEXT PRIMARY KEY, n INTEGER)")
            .expect("schema");
        c.execute(
            "INSERT INTO t VALUES ('Alex Example CRN X123456', 987654)",
            [],
        )
        .expect("row");
        let dup = c
            .execute("INSERT INTO t VALUES ('Alex Example CRN X123456', 1)", [])
            .expect_err("duplicate");
        let e = DbError::from(dup).to_string();
        assert!(e.contains("1555"), "SQLITE_CONSTRAINT_PRIMARYKEY: {e}");
        // rusqlite's own message quoted the value it read from the row.
        let range = c
            .query_row("SELECT n FROM t", [], |r| r.get::<_, u8>(0))
            .expect_err("out of range");
        assert!(range.to_string().contains("987654"), "the premise");
        let e = DbError::from(range).to_string();
        assert!(!e.contains("987654"), "{e}");
        assert!(!e.contains("Alex"), "{e}");
    }
}
