//! The stored key envelope.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fieldbook_core::crypto::envelope::parse_stored(data);
});
