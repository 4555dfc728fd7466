//! Number → name tables for TLS protocol fields (IANA registries, Wireshark's spelling in
//! snake_case). Pure lookups: every function answers for any number, with `"unknown"` when the
//! number is not registered.
//!
//! tls-parser knows most of these numbers as Rust identifiers (`TlsAlertDescription::UnknownCa`),
//! but not the registry spelling, the one-line meanings, or newer code points, so the tables are
//! written out here. Cipher suite names do come from tls-parser's IANA table.

/// Whether a 16-bit value is a GREASE value (RFC 8701): `0x?a?a` with both bytes equal.
pub fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && (value >> 8) == (value & 0xff)
}

/// Name of a TLS (SSL 3.0 and later) handshake message type, as Wireshark and IANA spell it.
pub fn handshake_type_name(handshake_type: u8) -> &'static str {
    match handshake_type {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        3 => "hello_verify_request",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        6 => "hello_retry_request",
        8 => "encrypted_extensions",
        9 => "request_connection_id",
        10 => "new_connection_id",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        17 => "client_certificate_request",
        20 => "finished",
        21 => "certificate_url",
        22 => "certificate_status",
        23 => "supplemental_data",
        24 => "key_update",
        25 => "compressed_certificate",
        26 => "ekt_key",
        67 => "next_protocol",
        254 => "message_hash",
        _ => "unknown",
    }
}

/// Whether a handshake type number is one a plaintext handshake message can carry. Used to tell
/// an encrypted handshake record (its first byte is ciphertext) from a plaintext one when no
/// ChangeCipherSpec was seen (e.g. a capture that starts mid-connection).
pub fn is_known_handshake_type(handshake_type: u8) -> bool {
    handshake_type_name(handshake_type) != "unknown"
}

/// Name of an SSL 2.0 message type (the first byte of an SSLv2 record body). Wireshark reports
/// these numbers in `tls.handshake.type` for SSLv2 records.
pub fn sslv2_message_name(message_type: u8) -> &'static str {
    match message_type {
        0 => "error",
        1 => "client_hello",
        2 => "client_master_key",
        3 => "client_finished",
        4 => "server_hello",
        5 => "server_verify",
        6 => "server_finished",
        7 => "request_certificate",
        8 => "client_certificate",
        _ => "unknown",
    }
}

/// Name of an SSL 2.0 ERROR message code.
pub fn sslv2_error_name(code: u16) -> &'static str {
    match code {
        1 => "no_cipher",
        2 => "no_certificate",
        4 => "bad_certificate",
        6 => "unsupported_certificate_type",
        _ => "unknown",
    }
}

/// Name of a record content type.
pub fn content_type_name(content_type: u8) -> &'static str {
    match content_type {
        20 => "change_cipher_spec",
        21 => "alert",
        22 => "handshake",
        23 => "application_data",
        24 => "heartbeat",
        25 => "tls12_cid",
        26 => "ack",
        _ => "unknown",
    }
}

/// Human name of a protocol version number (`"TLS 1.2"`).
pub fn version_name(version: u16) -> &'static str {
    match version {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0x7f00..=0x7fff => "TLS 1.3 (draft)",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        v if is_grease(v) => "GREASE",
        _ => "unknown",
    }
}

/// Name of an alert level.
pub fn alert_level_name(level: u8) -> &'static str {
    match level {
        1 => "warning",
        2 => "fatal",
        _ => "unknown",
    }
}

/// Name and one-line meaning of an alert description (RFC 5246, RFC 8446, IANA registry).
pub fn alert_description(description: u8) -> (&'static str, &'static str) {
    match description {
        0 => ("close_notify", "the sender is closing the connection normally"),
        10 => (
            "unexpected_message",
            "an inappropriate message was received (the peers disagree about the protocol state)",
        ),
        20 => (
            "bad_record_mac",
            "a record failed its integrity check (wrong keys, corruption or tampering on the path)",
        ),
        21 => ("decryption_failed", "(obsolete) a record could not be decrypted"),
        22 => ("record_overflow", "a record was longer than the protocol allows"),
        30 => ("decompression_failure", "(obsolete) a record could not be decompressed"),
        40 => (
            "handshake_failure",
            "no acceptable set of security parameters (e.g. no cipher suite or version in common)",
        ),
        41 => ("no_certificate", "(SSL 3.0) the peer has no suitable certificate to send"),
        42 => (
            "bad_certificate",
            "a certificate was corrupt or its signature did not verify",
        ),
        43 => (
            "unsupported_certificate",
            "a certificate was of a type the receiver does not support",
        ),
        44 => ("certificate_revoked", "a certificate was revoked by its issuer"),
        45 => (
            "certificate_expired",
            "a certificate has expired or is not yet valid (check the clocks and validity dates)",
        ),
        46 => (
            "certificate_unknown",
            "some other problem with the certificate made it unacceptable",
        ),
        47 => (
            "illegal_parameter",
            "a handshake field was out of range or inconsistent with other fields",
        ),
        48 => (
            "unknown_ca",
            "the certificate chain does not lead to a trusted CA (untrusted root or missing intermediate)",
        ),
        49 => (
            "access_denied",
            "a valid certificate was received but access control refused the connection",
        ),
        50 => (
            "decode_error",
            "a message could not be decoded (a field was out of range or a length was wrong)",
        ),
        51 => (
            "decrypt_error",
            "a handshake cryptographic check failed (signature, key exchange or Finished)",
        ),
        60 => ("export_restriction", "(obsolete) an export-restricted negotiation was attempted"),
        70 => (
            "protocol_version",
            "the peer does not support the protocol version offered",
        ),
        71 => (
            "insufficient_security",
            "the server requires cipher suites stronger than those the client offered",
        ),
        80 => (
            "internal_error",
            "an error in the sender unrelated to the peer or the protocol",
        ),
        86 => (
            "inappropriate_fallback",
            "a version fallback was attempted although both sides support a higher version",
        ),
        90 => ("user_canceled", "the handshake was cancelled by the user or application"),
        100 => ("no_renegotiation", "the peer refused a renegotiation request"),
        109 => ("missing_extension", "a required extension was not sent"),
        110 => (
            "unsupported_extension",
            "an extension was received that was not offered or is not allowed in that message",
        ),
        111 => (
            "certificate_unobtainable",
            "(obsolete) a certificate could not be fetched from its URL",
        ),
        112 => (
            "unrecognized_name",
            "the server has no configuration for the requested server name (SNI)",
        ),
        113 => (
            "bad_certificate_status_response",
            "the OCSP status response sent by the server was invalid or unacceptable",
        ),
        114 => (
            "bad_certificate_hash_value",
            "(obsolete) a certificate hash did not match",
        ),
        115 => (
            "unknown_psk_identity",
            "none of the pre-shared key identities offered is known",
        ),
        116 => (
            "certificate_required",
            "the server requires a client certificate and none was sent",
        ),
        120 => (
            "no_application_protocol",
            "the server supports none of the application protocols offered in ALPN",
        ),
        121 => ("ech_required", "the server requires Encrypted Client Hello"),
        _ => ("unknown", "unregistered alert description"),
    }
}

/// Name of a TLS extension type (IANA registry spelling).
pub fn extension_name(extension_type: u16) -> &'static str {
    match extension_type {
        0 => "server_name",
        1 => "max_fragment_length",
        2 => "client_certificate_url",
        3 => "trusted_ca_keys",
        4 => "truncated_hmac",
        5 => "status_request",
        6 => "user_mapping",
        7 => "client_authz",
        8 => "server_authz",
        9 => "cert_type",
        10 => "supported_groups",
        11 => "ec_point_formats",
        12 => "srp",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        17 => "status_request_v2",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        24 => "token_binding",
        25 => "cached_info",
        26 => "tls_lts",
        27 => "compress_certificate",
        28 => "record_size_limit",
        29 => "pwd_protect",
        30 => "pwd_clear",
        31 => "password_salt",
        32 => "ticket_pinning",
        33 => "tls_cert_with_extern_psk",
        34 => "delegated_credential",
        35 => "session_ticket",
        36 => "tlmsp",
        37 => "tlmsp_proxying",
        38 => "tlmsp_delegate",
        39 => "supported_ekt_ciphers",
        40 => "key_share_draft",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        52 => "transparency_info",
        53 => "connection_id_deprecated",
        54 => "connection_id",
        55 => "external_id_hash",
        56 => "external_session_id",
        57 => "quic_transport_parameters",
        58 => "ticket_request",
        59 => "dnssec_chain",
        60 => "sequence_number_encryption_algorithms",
        61 => "rrc",
        13172 => "next_protocol_negotiation",
        17513 => "application_settings_old",
        17613 => "application_settings",
        30031 => "channel_id_old",
        30032 => "channel_id",
        0xfe0d => "encrypted_client_hello",
        0xff01 => "renegotiation_info",
        0xffce => "encrypted_server_name",
        v if is_grease(v) => "grease",
        _ => "unknown",
    }
}

/// Name of a named group (elliptic curve or finite-field group), IANA spelling.
pub fn named_group_name(group: u16) -> &'static str {
    match group {
        1 => "sect163k1",
        2 => "sect163r1",
        3 => "sect163r2",
        4 => "sect193r1",
        5 => "sect193r2",
        6 => "sect233k1",
        7 => "sect233r1",
        8 => "sect239k1",
        9 => "sect283k1",
        10 => "sect283r1",
        11 => "sect409k1",
        12 => "sect409r1",
        13 => "sect571k1",
        14 => "sect571r1",
        15 => "secp160k1",
        16 => "secp160r1",
        17 => "secp160r2",
        18 => "secp192k1",
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        31 => "brainpoolP256r1tls13",
        32 => "brainpoolP384r1tls13",
        33 => "brainpoolP512r1tls13",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        512 => "MLKEM512",
        513 => "MLKEM768",
        514 => "MLKEM1024",
        4587 => "SecP256r1MLKEM768",
        4588 => "X25519MLKEM768",
        4589 => "SecP384r1MLKEM1024",
        25497 => "X25519Kyber768Draft00",
        0xff01 => "arbitrary_explicit_prime_curves",
        0xff02 => "arbitrary_explicit_char2_curves",
        v if is_grease(v) => "GREASE",
        _ => "unknown",
    }
}

/// Name of a signature scheme (TLS 1.3 `SignatureScheme`, or a TLS 1.2 hash/signature pair).
pub fn signature_scheme_name(scheme: u16) -> &'static str {
    match scheme {
        0x0101 => "rsa_md5",
        0x0201 => "rsa_pkcs1_sha1",
        0x0202 => "dsa_sha1",
        0x0203 => "ecdsa_sha1",
        0x0301 => "rsa_sha224",
        0x0302 => "dsa_sha224",
        0x0303 => "ecdsa_sha224",
        0x0401 => "rsa_pkcs1_sha256",
        0x0402 => "dsa_sha256",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0420 => "rsa_pkcs1_sha256_legacy",
        0x0501 => "rsa_pkcs1_sha384",
        0x0502 => "dsa_sha384",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0520 => "rsa_pkcs1_sha384_legacy",
        0x0601 => "rsa_pkcs1_sha512",
        0x0602 => "dsa_sha512",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0620 => "rsa_pkcs1_sha512_legacy",
        0x0704 => "eccsi_sha256",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        0x081a => "ecdsa_brainpoolP256r1tls13_sha256",
        0x081b => "ecdsa_brainpoolP384r1tls13_sha384",
        0x081c => "ecdsa_brainpoolP512r1tls13_sha512",
        0x0904 => "mldsa44",
        0x0905 => "mldsa65",
        0x0906 => "mldsa87",
        v if is_grease(v) => "GREASE",
        _ => "unknown",
    }
}

/// IANA name of a cipher suite (from tls-parser's copy of the IANA registry), `"GREASE"` for
/// GREASE values, `None` when the number is not registered.
pub fn cipher_suite_name(id: u16) -> Option<&'static str> {
    if is_grease(id) {
        return Some("GREASE");
    }
    tls_parser::TlsCipherSuite::from_id(id).map(|suite| suite.name)
}

/// Name of a compression method.
pub fn compression_name(method: u8) -> &'static str {
    match method {
        0 => "null",
        1 => "deflate",
        64 => "lzs",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_values_are_recognised_and_nothing_else() {
        for hi in 0..16u16 {
            let v = (hi << 12) | 0x0a00 | (hi << 4) | 0x0a;
            assert!(is_grease(v), "{v:#06x}");
        }
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
        assert!(!is_grease(0x0000));
        assert_eq!((0..=u16::MAX).filter(|&v| is_grease(v)).count(), 16);
    }

    #[test]
    fn wireshark_handshake_numbers() {
        assert_eq!(handshake_type_name(1), "client_hello");
        assert_eq!(handshake_type_name(2), "server_hello");
        assert_eq!(handshake_type_name(11), "certificate");
        assert_eq!(handshake_type_name(14), "server_hello_done");
        assert_eq!(handshake_type_name(16), "client_key_exchange");
        assert_eq!(handshake_type_name(20), "finished");
        assert_eq!(handshake_type_name(24), "key_update");
        assert_eq!(handshake_type_name(99), "unknown");
        assert_eq!(sslv2_message_name(4), "server_hello");
    }

    #[test]
    fn every_alert_the_brief_lists_has_a_name_and_meaning() {
        let wanted = [
            (0, "close_notify"),
            (10, "unexpected_message"),
            (20, "bad_record_mac"),
            (40, "handshake_failure"),
            (42, "bad_certificate"),
            (43, "unsupported_certificate"),
            (44, "certificate_revoked"),
            (45, "certificate_expired"),
            (46, "certificate_unknown"),
            (47, "illegal_parameter"),
            (48, "unknown_ca"),
            (49, "access_denied"),
            (50, "decode_error"),
            (51, "decrypt_error"),
            (70, "protocol_version"),
            (71, "insufficient_security"),
            (80, "internal_error"),
            (86, "inappropriate_fallback"),
            (90, "user_canceled"),
            (100, "no_renegotiation"),
            (109, "missing_extension"),
            (110, "unsupported_extension"),
            (112, "unrecognized_name"),
            (113, "bad_certificate_status_response"),
            (115, "unknown_psk_identity"),
            (116, "certificate_required"),
            (120, "no_application_protocol"),
        ];
        for (number, name) in wanted {
            let (got, meaning) = alert_description(number);
            assert_eq!(got, name);
            assert!(meaning.len() > 10, "{name} needs a meaning");
        }
        assert_eq!(alert_description(200).0, "unknown");
    }

    #[test]
    fn cipher_names_come_from_the_iana_table() {
        assert_eq!(
            cipher_suite_name(0xc02f),
            Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(cipher_suite_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(
            cipher_suite_name(0x00ff),
            Some("TLS_EMPTY_RENEGOTIATION_INFO_SCSV")
        );
        assert_eq!(cipher_suite_name(0x2a2a), Some("GREASE"));
        assert_eq!(cipher_suite_name(0xfefe), None);
    }
}
