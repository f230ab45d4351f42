//! uniffi's bindgen, built in the workspace so its version matches the
//! library's exactly. Used in library mode by the generation scripts.

fn main() {
    uniffi::uniffi_bindgen_main()
}
