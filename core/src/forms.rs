//! Field-level validation messages shared by the capture forms.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One validation message for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What is wrong, for the supervisor.
    pub message: String,
}

impl FieldError {
    /// A message for `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The first of `errors` as the core's error (for capture calls).
pub fn first_error(errors: Vec<FieldError>) -> Error {
    match errors.into_iter().next() {
        Some(e) => Error::InvalidInput {
            field: e.field,
            reason: e.message,
        },
        None => Error::invalid("input", "invalid"),
    }
}
