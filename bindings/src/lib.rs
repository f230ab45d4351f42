//! The one library shipped to Android and iOS: uniffi bindings over
//! `fieldbook-core`. The full surface arrives with the bindings issue; for
//! now it exports the core's version so the packaging can be exercised.

uniffi::setup_scaffolding!("fieldbook");

/// The version of the Fieldbook core in this library.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
