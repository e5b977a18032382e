//! cargo-fuzz target: `cargo +nightly fuzz run manifest --features libfuzzer` (see ../README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kubesim_fuzz::Target::Manifest.check(data);
});
