//! Property tests: no input makes the decoders panic, only header damage is an error, and the
//! decoded output stays proportional to the input.

use base64::Engine;
use proptest::prelude::*;

use super::capture_tests::real_header_values;
use super::spnego::tests::neg_token_init;
use super::*;

/// The fixed header each message type needs; shorter is `TooShort`, longer never an error.
fn mandatory_len(message_type: u32) -> usize {
    match message_type {
        1 => 16,
        2 => 32,
        _ => 52,
    }
}

/// The binary tokens of every real header value (raw NTLMSSP in all of them).
fn real_tokens() -> Vec<Vec<u8>> {
    real_header_values()
        .map(|value| {
            let token = value
                .split_once(' ')
                .map(|(_, token)| token)
                .unwrap_or_default();
            base64::engine::general_purpose::STANDARD
                .decode(token)
                .expect("real tokens are valid base64")
        })
        .collect()
}

/// Decodes and checks the invariants that hold for any input.
fn check_message(bytes: &[u8]) {
    match parse_message(bytes) {
        Ok(message) => {
            let json = serde_json::to_string(&message).expect("serializes");
            assert!(
                json.len() <= 32 * bytes.len() + 8192,
                "{} bytes of output for {} bytes of input",
                json.len(),
                bytes.len()
            );
            assert!(message.problems().len() <= problems::MAX_PROBLEMS + 1);
            let _ = message.summary();
        }
        Err(NtlmError::TooShort { needed, got }) => {
            assert_eq!(got, bytes.len());
            assert!(needed > got);
        }
        Err(NtlmError::BadSignature) => assert!(!bytes.starts_with(SIGNATURE)),
        Err(NtlmError::UnknownType(kind)) => assert!(!(1..=3).contains(&kind)),
    }
}

#[test]
fn every_truncation_of_real_tokens() {
    for token in real_tokens() {
        let message_type = u32::from(token[8]);
        for len in 0..=token.len() {
            let prefix = &token[..len];
            check_message(prefix);
            if len >= mandatory_len(message_type) {
                assert!(
                    parse_message(prefix).is_ok(),
                    "prefix of {len} bytes failed"
                );
            }
        }
    }
}

#[test]
fn every_single_byte_mutation_of_real_tokens() {
    for token in real_tokens() {
        for position in 0..token.len() {
            for value in [0x00, 0xff, 0x80, token[position] ^ 0x01] {
                let mut mutated = token.clone();
                mutated[position] = value;
                check_message(&mutated);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_message(&bytes);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_prefix(
        message_type in prop_oneof![1u32..=3, any::<u32>()],
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend(message_type.to_le_bytes());
        bytes.extend(&body);
        check_message(&bytes);
        if (1..=3).contains(&message_type) {
            prop_assert_eq!(
                parse_message(&bytes).is_ok(),
                bytes.len() >= mandatory_len(message_type)
            );
        }
    }

    #[test]
    fn random_mutations_of_real_tokens(
        index in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let tokens = real_tokens();
        let mut token = tokens[index.index(tokens.len())].clone();
        for (position, value) in edits {
            let position = position.index(token.len());
            token[position] = value;
        }
        let len = cut.index(token.len() + 1);
        check_message(&token[..len]);
        check_message(&token);
    }

    #[test]
    fn arbitrary_header_strings(
        value in prop_oneof![
            any::<String>(),
            any::<String>().prop_map(|rest| format!("NTLM {rest}")),
            "[A-Za-z0-9+/=]{0,300}".prop_map(|token| format!("Negotiate {token}")),
            "[A-Za-z0-9+/=]{0,300}".prop_map(|token| format!("NTLM TlRMTVNTUAA{token}")),
        ]
    ) {
        let _ = decode_auth_header_value(&value).map(|token| token.summary());
    }

    #[test]
    fn arbitrary_base64_tokens(
        scheme in prop_oneof![Just("NTLM"), Just("Negotiate"), Just("negotiate")],
        prefix in prop_oneof![
            Just(Vec::new()),
            Just(vec![0x60]),
            Just(vec![0xa0]),
            Just(vec![0xa1]),
            Just(SIGNATURE.to_vec()),
        ],
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let bytes = [prefix, body].concat();
        let value = format!("{scheme} {}", base64::engine::general_purpose::STANDARD.encode(&bytes));
        if bytes.is_empty() {
            // `NTLM ` with nothing after it is a bare scheme: no token.
            prop_assert!(decode_auth_header_value(&value).is_none());
            return Ok(());
        }
        let token = decode_auth_header_value(&value).expect("scheme with a token");
        prop_assert_eq!(token.token_len, bytes.len());
        let _ = token.summary();
        let _ = serde_json::to_string(&token).expect("serializes");
    }

    #[test]
    fn spnego_wrapped_mutations(
        index in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let tokens = real_tokens();
        let wrapped = neg_token_init(&tokens[index.index(tokens.len())]);
        let mut mutated = wrapped.clone();
        let position = position.index(mutated.len());
        mutated[position] = value;
        for bytes in [&wrapped, &mutated] {
            let value = format!("Negotiate {}", base64::engine::general_purpose::STANDARD.encode(bytes));
            let _ = decode_auth_header_value(&value).expect("token").summary();
        }
        let unmutated = decode_auth_header_value(&format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(&wrapped)
        ))
        .expect("token");
        prop_assert!(unmutated.ntlm_message().is_some());
    }
}
