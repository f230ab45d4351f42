//! Storage for ingest, one module per backend: each reads the facts the
//! decision path ([`crate::ingest`]) asks for and writes its plan, and
//! decides nothing itself.

pub mod postgres;
pub mod sql;
pub mod sqlite;
