//! Helpers for the tests of this module.

use base64::Engine;

/// Decodes standard base64 (tests only; panics on bad input by design).
pub(crate) fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("test token is valid base64")
}
