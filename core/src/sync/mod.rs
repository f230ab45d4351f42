//! Sync with the office: the protocol both sides speak ([`protocol`]), the
//! device's client ([`client`]) and when to try ([`schedule`]).

pub mod client;
pub mod pinning;
pub mod protocol;
pub mod schedule;

pub use client::{
    SafetyLaneReport, SyncClient, SyncConfig, SyncObserver, SyncPhase, SyncProgress, SyncReport,
};
