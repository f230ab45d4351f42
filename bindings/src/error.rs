//! The one public error the shells see: a variant per thing a shell can
//! act on, no personal data in any message.

use fieldbook_core::ApiError;

/// Errors from every Fieldbook call.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FieldbookError {
    /// Unlock the store first.
    #[error("store is locked")]
    Locked,
    /// Ask for the PIN again.
    #[error("wrong PIN ({remaining_attempts} attempts left)")]
    WrongPin { remaining_attempts: u32 },
    /// Wait `retry_after_ms`, or with none, the office must re-enable the store.
    #[error("locked out")]
    LockedOut { retry_after_ms: Option<i64> },
    /// Show `label: reason` beside the control for `field` (`field` is a
    /// name for matching, `label` the words a person reads).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        field: String,
        label: String,
        reason: String,
    },
    /// The thing asked for does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The network failed; sync again later.
    #[error("network: {reason}")]
    Network { reason: String },
    /// The office refused the device.
    #[error("authorisation: {reason}")]
    Auth { reason: String },
    /// The platform key is gone: contact the office; nothing was deleted.
    #[error("key unavailable; {unsent_events} unsent events kept")]
    KeyUnavailable { unsent_events: u64 },
    /// Storage failed or is damaged; nothing was deleted.
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// The action conflicts with what is recorded.
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// Cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// Sync before capturing more.
    #[error("sync required")]
    SyncRequired,
    /// Prompt for the device's credential (PIN, pattern, biometrics), then
    /// retry: the platform key needs it.
    #[error("user authentication required")]
    UserAuthenticationRequired,
}

impl From<ApiError> for FieldbookError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Locked => Self::Locked,
            ApiError::WrongPin { remaining_attempts } => Self::WrongPin { remaining_attempts },
            ApiError::LockedOut { retry_after_ms } => Self::LockedOut { retry_after_ms },
            ApiError::InvalidInput { field, reason } => Self::InvalidInput {
                label: crate::labels::label(&field).to_owned(),
                field,
                reason,
            },
            ApiError::NotFound { what } => Self::NotFound { what },
            ApiError::Network { reason } => Self::Network { reason },
            ApiError::Auth { reason } => Self::Auth { reason },
            ApiError::KeyUnavailable { unsent_events } => Self::KeyUnavailable { unsent_events },
            ApiError::Storage { reason } => Self::Storage { reason },
            ApiError::Conflict { reason } => Self::Conflict { reason },
            ApiError::Cancelled => Self::Cancelled,
            ApiError::SyncRequired => Self::SyncRequired,
            ApiError::UserAuthenticationRequired => Self::UserAuthenticationRequired,
        }
    }
}

impl From<fieldbook_core::Error> for FieldbookError {
    fn from(e: fieldbook_core::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for FieldbookError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Storage {
            reason: format!("platform callback failed: {}", e.reason),
        }
    }
}

impl FieldbookError {
    /// The same error with `label` for `field`, where a call knows better
    /// than the shared table what its field means (the office's re-enable
    /// code is not an outcome code).
    pub(crate) fn relabel(self, field: &str, label: &str) -> Self {
        match self {
            Self::InvalidInput {
                field: f, reason, ..
            } if f == field => Self::InvalidInput {
                field: f,
                label: label.to_owned(),
                reason,
            },
            other => other,
        }
    }
}

/// Result of every call.
pub type Res<T> = Result<T, FieldbookError>;
