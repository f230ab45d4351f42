//! Errors: a rich internal [`Error`] that the core's code passes around, and
//! a small public [`ApiError`] whose variants a shell can act on.
//!
//! Neither carries personal data: messages name fields, tables and counts,
//! never values. Serialisation errors in particular are reduced to their
//! category, because serde's messages can quote the offending input.

use std::fmt;

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input failed validation; `field` names the input, `reason` says why.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// The PIN did not unwrap the data key.
    #[error("wrong PIN ({remaining_attempts} attempts left before lock-out)")]
    WrongPin { remaining_attempts: u32 },

    /// Too many recent failures: the next attempt is allowed after a delay.
    #[error("too many failed attempts; try again in {retry_after_ms} ms")]
    RetryLater { retry_after_ms: i64 },

    /// Too many failures in all: only the office can re-enable the store.
    #[error("store locked out after repeated failures; the office must re-enable it")]
    LockedOut,

    /// The platform key store no longer holds the key that wraps the data
    /// key (key store reset, app restored onto another phone).
    #[error("platform key unavailable; {unsent_events} events not yet sent to the office")]
    PlatformKeyUnavailable { unsent_events: u64 },

    /// The platform key store failed for another reason.
    #[error("platform key store failed: {0}")]
    PlatformKeyStore(String),

    /// The platform key needs the device's user authentication first (the
    /// shell prompts for the device credential, then retries).
    #[error("the device's user authentication is required")]
    UserAuthenticationRequired,

    /// The data key unwrapped but does not open this store's canary.
    #[error("the data key does not belong to this store")]
    KeyMismatch,

    /// The store is locked; unlock it first.
    #[error("store is locked")]
    Locked,

    /// A sealed value failed authentication: edited, moved between rows or
    /// corrupted.
    #[error("sealed value in {table} failed authentication")]
    Tampered { table: String },

    /// The database was written by a newer version of Fieldbook.
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    SchemaTooNew { found: u32, supported: u32 },

    /// A schema migration failed and was rolled back.
    #[error("migration to schema version {to} failed: {source}")]
    Migration {
        to: u32,
        #[source]
        source: Box<Error>,
    },

    /// The database file is damaged (truncated, not a database).
    #[error("database file is damaged: {0}")]
    Corrupt(String),

    /// A store already exists where a new one was to be created.
    #[error("a store already exists at this path")]
    AlreadyExists,

    /// No store exists at the path given.
    #[error("no store at this path")]
    NoStore,

    /// The action conflicts with what is already recorded.
    #[error("conflict: {0}")]
    Conflict(String),

    /// The network or the server failed; worth retrying later.
    #[error("network: {0}")]
    Network(String),

    /// The office refused the device's credentials (unknown, revoked,
    /// bad signature, replay) or the enrolment code.
    #[error("authorisation: {0}")]
    Auth(String),

    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,

    /// The device has not synced for too long: captures are refused until
    /// it does (safety alerts and the access log still work).
    #[error("sync required before more captures")]
    SyncRequired,

    /// A record or event that was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),

    /// A cryptographic operation failed for a reason other than
    /// authentication (random source, key format).
    #[error("crypto failure: {0}")]
    Crypto(&'static str),

    /// A value could not be encoded or decoded.
    #[error("encoding failure: {0}")]
    Encoding(String),

    /// SQLite reported an error.
    #[error("storage failure: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// The file system reported an error.
    #[error("i/o failure: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// An [`Error::InvalidInput`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        // Keep the category and position only: the message may quote data.
        let category = match err.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        Error::Encoding(format!(
            "json {category} error at line {} column {}",
            err.line(),
            err.column()
        ))
    }
}

/// The public error: one variant per thing a shell can do something about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Unlock the store first.
    Locked,
    /// Ask for the PIN again.
    WrongPin { remaining_attempts: u32 },
    /// Show a countdown, or (with `retry_after_ms` of `None`) tell the officer
    /// to contact the office.
    LockedOut { retry_after_ms: Option<i64> },
    /// Show `reason` beside `field`.
    InvalidInput { field: String, reason: String },
    /// The thing asked for does not exist.
    NotFound { what: String },
    /// The network failed; retry later.
    Network { reason: String },
    /// The office refused the device's credentials.
    Auth { reason: String },
    /// The key store lost the device key: contact the office; nothing was
    /// deleted and `unsent_events` captures are still on the phone.
    KeyUnavailable { unsent_events: u64 },
    /// Storage failed or is damaged; nothing was deleted.
    Storage { reason: String },
    /// The change conflicts with the current state.
    Conflict { reason: String },
    /// The operation was cancelled.
    Cancelled,
    /// Connect and sync before capturing more.
    SyncRequired,
    /// Ask the person for the device's credential (PIN, pattern or
    /// biometrics), then retry: the platform key needs it.
    UserAuthenticationRequired,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Locked => f.write_str("store is locked"),
            ApiError::WrongPin { remaining_attempts } => {
                write!(f, "wrong PIN, {remaining_attempts} attempts left")
            }
            ApiError::LockedOut {
                retry_after_ms: Some(ms),
            } => write!(f, "too many attempts; retry in {ms} ms"),
            ApiError::LockedOut {
                retry_after_ms: None,
            } => f.write_str("locked out; contact the office"),
            ApiError::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            ApiError::NotFound { what } => write!(f, "{what} not found"),
            ApiError::Network { reason } => write!(f, "network: {reason}"),
            ApiError::Auth { reason } => write!(f, "authorisation: {reason}"),
            ApiError::KeyUnavailable { unsent_events } => write!(
                f,
                "device key unavailable; {unsent_events} unsent events kept"
            ),
            ApiError::Storage { reason } => write!(f, "storage: {reason}"),
            ApiError::Conflict { reason } => write!(f, "conflict: {reason}"),
            ApiError::Cancelled => f.write_str("cancelled"),
            ApiError::SyncRequired => f.write_str("sync required"),
            ApiError::UserAuthenticationRequired => f.write_str("user authentication required"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidInput { field, reason } => ApiError::InvalidInput { field, reason },
            Error::WrongPin { remaining_attempts } => ApiError::WrongPin { remaining_attempts },
            Error::RetryLater { retry_after_ms } => ApiError::LockedOut {
                retry_after_ms: Some(retry_after_ms),
            },
            Error::LockedOut => ApiError::LockedOut {
                retry_after_ms: None,
            },
            Error::PlatformKeyUnavailable { unsent_events } => {
                ApiError::KeyUnavailable { unsent_events }
            }
            Error::Locked => ApiError::Locked,
            Error::NotFound(what) => ApiError::NotFound { what },
            Error::Conflict(reason) => ApiError::Conflict { reason },
            Error::Network(reason) => ApiError::Network { reason },
            Error::Auth(reason) => ApiError::Auth { reason },
            Error::Cancelled => ApiError::Cancelled,
            Error::SyncRequired => ApiError::SyncRequired,
            Error::UserAuthenticationRequired => ApiError::UserAuthenticationRequired,
            Error::AlreadyExists => ApiError::Conflict {
                reason: err_text(&Error::AlreadyExists),
            },
            other => {
                tracing::warn!(error = %other, "storage error surfaced to the shell");
                ApiError::Storage {
                    reason: other.to_string(),
                }
            }
        }
    }
}

fn err_text(err: &Error) -> String {
    err.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_do_not_quote_input() {
        let err = serde_json::from_str::<u32>("\"Jane Marker Doe\"").expect_err("not a number");
        let text = Error::from(err).to_string();
        assert!(!text.contains("Marker"), "{text}");
        assert!(text.contains("data"), "{text}");
    }

    #[test]
    fn api_error_keeps_actionable_detail() {
        let api: ApiError = Error::WrongPin {
            remaining_attempts: 3,
        }
        .into();
        assert_eq!(
            api,
            ApiError::WrongPin {
                remaining_attempts: 3
            }
        );
        let api: ApiError = Error::PlatformKeyUnavailable { unsent_events: 7 }.into();
        assert_eq!(api, ApiError::KeyUnavailable { unsent_events: 7 });
    }
}
