//! A small portable layer over the two backends for the console's own
//! tables: one SQL text with `?N` placeholders (rewritten to `$N` for
//! PostgreSQL), typed parameters, and rows read as cells.

use crate::db::{Db, DbError};

/// A parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// An integer.
    I(i64),
    /// Text.
    T(String),
    /// A NULL integer.
    NullI,
    /// A NULL text.
    NullT,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::T(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::T(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::T(v.clone())
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullI, Val::I)
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        v.map_or(Val::NullT, Val::T)
    }
}

/// One cell of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// NULL.
    Null,
}

/// A result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    /// Text at `i` (empty when NULL or absent).
    pub fn text(&self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }
    /// Text at `i` without a copy (empty when NULL, absent or a number).
    pub fn text_ref(&self, i: usize) -> &str {
        match self.0.get(i) {
            Some(Cell::Text(s)) => s,
            _ => "",
        }
    }
    /// Text at `i`, `None` when NULL.
    pub fn opt_text(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Cell::Text(s)) => Some(s.clone()),
            Some(Cell::Int(n)) => Some(n.to_string()),
            _ => None,
        }
    }
    /// Integer at `i` (0 when NULL or absent).
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or(0)
    }
    /// Integer at `i`, `None` when NULL.
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Cell::Int(n)) => Some(*n),
            Some(Cell::Text(s)) => s.parse().ok(),
            _ => None,
        }
    }
}

type R<T> = Result<T, DbError>;

/// `?N` placeholders to PostgreSQL's `$N`.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn sqlite_params(params: &[Val]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Val::I(n) => rusqlite::types::Value::Integer(*n),
            Val::T(s) => rusqlite::types::Value::Text(s.clone()),
            Val::NullI | Val::NullT => rusqlite::types::Value::Null,
        })
        .collect()
}

fn sqlite_row(r: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Row> {
    let mut cells = Vec::with_capacity(n);
    for i in 0..n {
        cells.push(match r.get_ref(i)? {
            rusqlite::types::ValueRef::Integer(v) => Cell::Int(v),
            rusqlite::types::ValueRef::Text(t) => {
                Cell::Text(String::from_utf8_lossy(t).into_owned())
            }
            rusqlite::types::ValueRef::Real(f) => Cell::Int(f as i64),
            _ => Cell::Null,
        });
    }
    Ok(Row(cells))
}

fn pg_params(params: &[Val]) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
            match p {
                Val::I(n) => Box::new(*n),
                Val::T(s) => Box::new(s.clone()),
                Val::NullI => Box::new(None::<i64>),
                Val::NullT => Box::new(None::<String>),
            }
        })
        .collect()
}

fn pg_row(r: &tokio_postgres::Row) -> Row {
    use tokio_postgres::types::Type;
    let mut cells = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let cell = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i).ok().flatten().map(Cell::Int)
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)
                .ok()
                .flatten()
                .map(|v| Cell::Int(i64::from(v)))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)
                .ok()
                .flatten()
                .map(|v| Cell::Int(i64::from(v)))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)
                .ok()
                .flatten()
                .map(|v| Cell::Int(i64::from(v)))
        } else {
            r.try_get::<_, Option<String>>(i)
                .ok()
                .flatten()
                .map(Cell::Text)
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Row(cells)
}

/// Runs a query and returns every row.
pub async fn query(db: &Db, sql: &str, params: Vec<Val>) -> R<Vec<Row>> {
    match db {
        Db::Sqlite(c) => {
            let (c, sql) = (c.clone(), sql.to_owned());
            tokio::task::spawn_blocking(move || -> R<Vec<Row>> {
                let conn = c.lock().unwrap_or_else(|e| e.into_inner());
                let mut s = conn.prepare_cached(&sql)?;
                let n = s.column_count();
                let rows = s
                    .query_map(rusqlite::params_from_iter(sqlite_params(&params)), |r| {
                        sqlite_row(r, n)
                    })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .map_err(|e| DbError(format!("worker: {e}")))?
        }
        Db::Postgres(p) => {
            let client = p.get().await?;
            let boxed = pg_params(&params);
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = boxed
                .iter()
                .map(|b| b.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            let rows = client.query(&to_postgres(sql), &refs).await?;
            Ok(rows.iter().map(pg_row).collect())
        }
    }
}

/// Runs a query and returns its first row, if any.
pub async fn one(db: &Db, sql: &str, params: Vec<Val>) -> R<Option<Row>> {
    Ok(query(db, sql, params).await?.into_iter().next())
}

/// Runs statements in one transaction; returns the rows each changed.
pub async fn transaction(db: &Db, statements: Vec<(&'static str, Vec<Val>)>) -> R<Vec<u64>> {
    match db {
        Db::Sqlite(c) => {
            let c = c.clone();
            tokio::task::spawn_blocking(move || -> R<Vec<u64>> {
                let mut conn = c.lock().unwrap_or_else(|e| e.into_inner());
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut counts = Vec::new();
                for (sql, params) in statements {
                    let n = tx.execute(sql, rusqlite::params_from_iter(sqlite_params(&params)))?;
                    counts.push(u64::try_from(n).unwrap_or(0));
                }
                tx.commit()?;
                Ok(counts)
            })
            .await
            .map_err(|e| DbError(format!("worker: {e}")))?
        }
        Db::Postgres(p) => {
            let mut client = p.get().await?;
            let tx = client.transaction().await?;
            let mut counts = Vec::new();
            for (sql, params) in statements {
                let boxed = pg_params(&params);
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = boxed
                    .iter()
                    .map(|b| b.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                counts.push(tx.execute(&to_postgres(sql), &refs).await?);
            }
            tx.commit().await?;
            Ok(counts)
        }
    }
}

/// Runs one statement; returns the rows it changed.
pub async fn exec(db: &Db, sql: &'static str, params: Vec<Val>) -> R<u64> {
    Ok(transaction(db, vec![(sql, params)])
        .await?
        .into_iter()
        .next()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_for_postgres() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?'"
        );
    }
}
