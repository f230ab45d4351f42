//! Fieldbook core: every rule, all storage, crypto and sync logic of the
//! field app that probation staff carry away from the office.
//!
//! The shells (Android, iOS) and the FFI crate only render what this crate
//! computes and forward user intents to it. Platform services (key store,
//! clock) reach the core through the traits in [`platform`] and [`clock`].
//!
//! Start at [`store::Store`]: it owns the encrypted on-device database, the
//! key hierarchy and the signed, append-only event log.
#![deny(unsafe_code)]

pub mod access;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod events;
pub mod forms;
pub mod home_visits;
pub mod ids;
pub mod platform;
pub mod store;
pub mod sync;
pub mod unpaid_work;
pub mod vocab;

pub use error::{ApiError, Error, Result};

pub use store::Store;
