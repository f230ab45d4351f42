//! One SQL text for SQLite and PostgreSQL, for the tables whose rows are
//! plain text and integers (the safety lane, deliveries): placeholders
//! written `$n` (SQLite reads them as `?n`), integers selected as
//! `CAST(... AS TEXT)`, and three primitives per backend: a query, a batch
//! of statements in one transaction, and the same inside a caller's
//! transaction.

use std::error::Error as StdError;

use tokio_postgres::types::{IsNull, ToSql, Type};

use crate::db::{blocking, Db, DbError};

type R<T> = Result<T, DbError>;

/// A statement parameter (integers and text, each maybe NULL).
#[derive(Debug, Clone)]
pub enum P {
    /// An integer.
    I(i64),
    /// An integer or NULL.
    OI(Option<i64>),
    /// Text.
    T(String),
    /// Text or NULL.
    OT(Option<String>),
}

impl rusqlite::ToSql for P {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            P::I(v) => rusqlite::ToSql::to_sql(v),
            P::OI(v) => rusqlite::ToSql::to_sql(v),
            P::T(v) => rusqlite::ToSql::to_sql(v),
            P::OT(v) => rusqlite::ToSql::to_sql(v),
        }
    }
}

impl ToSql for P {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let int = <i64 as ToSql>::accepts(ty);
        let text = <String as ToSql>::accepts(ty);
        match self {
            P::I(v) if int => v.to_sql(ty, out),
            P::OI(v) if int => v.to_sql(ty, out),
            P::T(v) if text => v.to_sql(ty, out),
            P::OT(v) if text => v.to_sql(ty, out),
            _ => Err(format!("parameter does not fit column type {ty}").into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <String as ToSql>::accepts(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

/// One statement and its parameters.
#[derive(Debug, Clone)]
pub struct Stmt {
    sql: &'static str,
    params: Vec<P>,
}

pub(crate) fn st(sql: &'static str, params: Vec<P>) -> Stmt {
    Stmt { sql, params }
}

/// A row of text columns (integers are selected `CAST(... AS TEXT)`).
pub type Row = Vec<Option<String>>;

fn lite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

pub(crate) fn lite_query(c: &rusqlite::Connection, s: &Stmt) -> R<Vec<Row>> {
    let mut stmt = c.prepare_cached(&lite_sql(s.sql))?;
    let n = stmt.column_count();
    let rows = stmt.query_map(rusqlite::params_from_iter(s.params.iter()), |r| {
        (0..n).map(|i| r.get::<_, Option<String>>(i)).collect()
    })?;
    Ok(rows.collect::<Result<Vec<Row>, _>>()?)
}

pub(crate) fn lite_exec(c: &rusqlite::Connection, s: &Stmt) -> R<u64> {
    let mut stmt = c.prepare_cached(&lite_sql(s.sql))?;
    Ok(stmt.execute(rusqlite::params_from_iter(s.params.iter()))? as u64)
}

fn pg_params(s: &Stmt) -> Vec<&(dyn ToSql + Sync)> {
    s.params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

pub(crate) async fn pg_query<C: tokio_postgres::GenericClient>(c: &C, s: &Stmt) -> R<Vec<Row>> {
    let rows = c.query(s.sql, &pg_params(s)).await?;
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<_, Option<String>>(i).map_err(DbError::from))
                .collect()
        })
        .collect()
}

pub(crate) async fn pg_exec<C: tokio_postgres::GenericClient>(c: &C, s: &Stmt) -> R<u64> {
    Ok(c.execute(s.sql, &pg_params(s)).await?)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(text: Option<&String>) -> R<T> {
    let text = text.ok_or_else(|| DbError("safety: missing column".into()))?;
    serde_json::from_str(text).map_err(|_| DbError("safety: stored state does not parse".into()))
}

pub(crate) fn encode<T: serde::Serialize>(v: &T) -> R<String> {
    serde_json::to_string(v).map_err(|_| DbError("safety: cannot encode state".into()))
}

pub(crate) fn first(rows: &[Row]) -> Option<&String> {
    rows.first()
        .and_then(|r| r.first())
        .and_then(|c| c.as_ref())
}

impl Db {
    /// Runs one query.
    pub(crate) async fn query_rows(&self, s: Stmt) -> R<Vec<Row>> {
        match self {
            Db::Sqlite(c) => blocking(c, move |c| lite_query(c, &s)).await,
            Db::Postgres(p) => pg_query(&**p.get().await?, &s).await,
        }
    }

    /// Runs statements in one transaction; returns each one's row count.
    pub(crate) async fn run_stmts(&self, stmts: Vec<Stmt>) -> R<Vec<u64>> {
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    let tx =
                        c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    let n = stmts
                        .iter()
                        .map(|s| lite_exec(&tx, s))
                        .collect::<R<Vec<_>>>()?;
                    tx.commit()?;
                    Ok(n)
                })
                .await
            }
            Db::Postgres(p) => {
                let mut client = p.get().await?;
                let tx = client.transaction().await?;
                let mut n = Vec::with_capacity(stmts.len());
                for s in &stmts {
                    n.push(pg_exec(&*tx, s).await?);
                }
                tx.commit().await?;
                Ok(n)
            }
        }
    }
}
