//! A push body as the server decodes it: JSON, then each event's checks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<fieldbook_core::sync::protocol::PushRequest>(data) {
        for e in &req.events {
            let _ = fieldbook_server::model::Incoming::check(e, &[7u8; 32], 0);
        }
    }
});
