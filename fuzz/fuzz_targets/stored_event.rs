//! The device's stored event form.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = fieldbook_core::events::SignedEvent::decode(data) {
        let _ = e.body();
    }
});
