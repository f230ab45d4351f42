//! Evidence-pack storage on either backend: the audit of every pack made
//! (who, why, for whom, about whom; the files themselves for download) and
//! the reads a pack is assembled from (devices, every stored event and
//! every chain link).

use crate::db::{blocking, Db, DbError};

type R<T> = Result<T, DbError>;

/// The evidence tables (the same SQL for SQLite and PostgreSQL).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS evidence_packs (
    pack_id TEXT PRIMARY KEY, reference TEXT NOT NULL, created_ms BIGINT NOT NULL,
    produced_by TEXT NOT NULL, reason TEXT NOT NULL, recipient TEXT NOT NULL,
    crn TEXT NOT NULL, from_date TEXT NOT NULL, to_date TEXT NOT NULL,
    bundle TEXT NOT NULL, pdf_hex TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evidence_packs_created ON evidence_packs (created_ms);
";

/// A stored event with its chain position (what a pack is made from).
#[derive(Debug, Clone)]
pub struct Link {
    /// Device.
    pub device_id: String,
    /// Sequence number.
    pub seq: i64,
    /// Event id.
    pub event_id: String,
    /// Its chain hash, hex.
    pub hash: String,
    /// Stored content: (received ms, body, signature), `None` for an event
    /// refused at ingest (kept as a link only).
    pub stored: Option<(i64, String, String)>,
}

/// A row of the pack audit.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PackRow {
    /// Pack id.
    pub pack_id: String,
    /// The reference on every page.
    pub reference: String,
    /// When, ms.
    pub created_ms: i64,
    /// Who produced it.
    pub produced_by: String,
    /// Why.
    pub reason: String,
    /// For whom.
    pub recipient: String,
    /// About whom.
    pub crn: String,
    /// First date.
    pub from: String,
    /// Last date.
    pub to: String,
}

const LINKS: &str =
    "SELECT l.device_id, l.seq, l.event_id, l.hash, e.received_ms, e.body, e.signature
     FROM chain_links l LEFT JOIN events e ON e.event_id = l.event_id
     ORDER BY l.device_id, l.seq";

const DEVICES: &str = "SELECT id, officer_id, public_key, enrolled_ms, revoked_ms, shredded_ms FROM devices ORDER BY id";

/// A device row: id, officer, public key, enrolled, revoked, shredded.
pub type DeviceTuple = (String, String, String, i64, Option<i64>, Option<i64>);

/// Every chain link with its stored event, and every device.
pub async fn load(db: &Db) -> R<(Vec<Link>, Vec<DeviceTuple>)> {
    type Raw = (
        String,
        i64,
        String,
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let link = |r: Raw| Link {
        device_id: r.0,
        seq: r.1,
        event_id: r.2,
        hash: r.3,
        stored: match (r.4, r.5, r.6) {
            (Some(t), Some(b), Some(s)) => Some((t, b, s)),
            _ => None,
        },
    };
    match db {
        Db::Sqlite(c) => {
            blocking(c, move |c| {
                let mut s = c.prepare(LINKS)?;
                let links = s
                    .query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })?
                    .collect::<Result<Vec<Raw>, _>>()?;
                let mut d = c.prepare(DEVICES)?;
                let devices = d
                    .query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })?
                    .collect::<Result<Vec<DeviceTuple>, _>>()?;
                Ok((links.into_iter().map(link).collect(), devices))
            })
            .await
        }
        Db::Postgres(p) => {
            let client = p.get().await?;
            let links = client
                .query(LINKS, &[])
                .await?
                .iter()
                .map(|r| {
                    link((
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        r.get(5),
                        r.get(6),
                    ))
                })
                .collect();
            let devices = client
                .query(DEVICES, &[])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect();
            Ok((links, devices))
        }
    }
}

/// Records a pack (the audit row holds the files too).
pub async fn insert(db: &Db, row: PackRow, bundle: String, pdf: &[u8]) -> R<()> {
    const SQL: &str = "INSERT INTO evidence_packs (pack_id, reference, created_ms, produced_by, reason, recipient, crn, from_date, to_date, bundle, pdf_hex)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    let pdf_hex = hex::encode(pdf);
    match db {
        Db::Sqlite(c) => {
            blocking(c, move |c| {
                c.execute(
                    &SQL.replace('$', "?"),
                    rusqlite::params![
                        row.pack_id,
                        row.reference,
                        row.created_ms,
                        row.produced_by,
                        row.reason,
                        row.recipient,
                        row.crn,
                        row.from,
                        row.to,
                        bundle,
                        pdf_hex
                    ],
                )?;
                Ok(())
            })
            .await
        }
        Db::Postgres(p) => {
            p.get()
                .await?
                .execute(
                    SQL,
                    &[
                        &row.pack_id,
                        &row.reference,
                        &row.created_ms,
                        &row.produced_by,
                        &row.reason,
                        &row.recipient,
                        &row.crn,
                        &row.from,
                        &row.to,
                        &bundle,
                        &pdf_hex,
                    ],
                )
                .await?;
            Ok(())
        }
    }
}

const LIST: &str = "SELECT pack_id, reference, created_ms, produced_by, reason, recipient, crn, from_date, to_date FROM evidence_packs ORDER BY created_ms, pack_id";

/// Every pack made (the audit), oldest first.
pub async fn list(db: &Db) -> R<Vec<PackRow>> {
    type Raw = (
        String,
        String,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let row = |r: Raw| PackRow {
        pack_id: r.0,
        reference: r.1,
        created_ms: r.2,
        produced_by: r.3,
        reason: r.4,
        recipient: r.5,
        crn: r.6,
        from: r.7,
        to: r.8,
    };
    match db {
        Db::Sqlite(c) => {
            blocking(c, move |c| {
                let mut s = c.prepare(LIST)?;
                let rows = s
                    .query_map([], |r| {
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
                    })?
                    .collect::<Result<Vec<Raw>, _>>()?;
                Ok(rows.into_iter().map(row).collect())
            })
            .await
        }
        Db::Postgres(p) => Ok(p
            .get()
            .await?
            .query(LIST, &[])
            .await?
            .iter()
            .map(|r| {
                row((
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                    r.get(8),
                ))
            })
            .collect()),
    }
}

/// A pack's files: (bundle JSON, PDF bytes).
pub async fn files(db: &Db, pack_id: &str) -> R<Option<(String, Vec<u8>)>> {
    const SQL: &str = "SELECT bundle, pdf_hex FROM evidence_packs WHERE pack_id = $1";
    let id = pack_id.to_owned();
    let raw: Option<(String, String)> = match db {
        Db::Sqlite(c) => {
            blocking(c, move |c| {
                use rusqlite::OptionalExtension;
                Ok(
                    c.query_row(&SQL.replace('$', "?"), [id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?,
                )
            })
            .await?
        }
        Db::Postgres(p) => p
            .get()
            .await?
            .query_opt(SQL, &[&id])
            .await?
            .map(|r| (r.get(0), r.get(1))),
    };
    match raw {
        None => Ok(None),
        Some((bundle, pdf_hex)) => {
            let pdf = hex::decode(pdf_hex)
                .map_err(|_| DbError("evidence: stored PDF does not decode".into()))?;
            Ok(Some((bundle, pdf)))
        }
    }
}
