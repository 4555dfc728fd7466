#![no_main]
//! Fuzz target `capture_reader`: see the harness of the same name in
//! crates/wiretale/tests/support/harness.rs (shared with the regression tests).

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/wiretale/tests/support/harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::capture_reader(data));
