//! The one library shipped to Android and iOS: uniffi bindings over
//! `fieldbook-core`. Shells see Fieldbook only through this crate: the
//! [`app::FieldbookApp`] object, the records in [`types`], the error in
//! [`error`] and the platform traits in [`platform`].
//!
//! No panic crosses the boundary: uniffi catches panics at every exported
//! call and reports them as an internal error; the core's own code avoids
//! them on input paths.

uniffi::setup_scaffolding!("fieldbook");

pub mod app;
pub mod error;
pub mod labels;
pub mod platform;
pub mod shell_support;
pub mod types;

/// The version of the Fieldbook core in this library.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
