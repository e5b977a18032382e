//! cargo-fuzz target: `cargo +nightly fuzz run scenario --features libfuzzer` (see ../README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kubesim_fuzz::Target::Scenario.check(data);
});
