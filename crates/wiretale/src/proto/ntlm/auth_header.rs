//! HTTP `Authorization` / `Proxy-Authorization` / `WWW-Authenticate` / `Proxy-Authenticate`
//! values with the `NTLM` or `Negotiate` scheme: the base64 token, and what it holds.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::spnego::{classify, Classified, NegState, SpnegoForm, SpnegoInfo};
use super::text::hex;
use super::{parse_message, NtlmError, NtlmMessage};

/// Longest base64 token decoded, in characters (48 KiB of binary). Real NTLM and Kerberos
/// tokens are a few KiB at most; longer ones are reported as undecodable, not decoded.
pub const MAX_TOKEN_CHARS: usize = 64 * 1024;

/// Standard alphabet; padding optional (some clients strip it), trailing bits tolerated.
const TOKEN_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The authentication scheme of a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// `NTLM`: raw NTLMSSP.
    Ntlm,
    /// `Negotiate` (RFC 4559): SPNEGO, raw Kerberos, or raw NTLMSSP.
    Negotiate,
}

impl AuthScheme {
    /// The scheme as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Ntlm => "NTLM",
            AuthScheme::Negotiate => "Negotiate",
        }
    }
}

/// A decoded `NTLM` / `Negotiate` header token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthToken {
    /// The scheme the header named.
    pub scheme: AuthScheme,
    /// Length of the token after base64 decoding (0 if it did not decode).
    pub token_len: usize,
    /// What the token holds.
    pub content: TokenContent,
}

/// What a header token holds.
// A few of these exist per HTTP exchange; boxing the NTLM variant would only make matching on it
// clumsier for callers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenContent {
    /// An NTLMSSP message, raw or found inside SPNEGO.
    Ntlmssp {
        /// The SPNEGO layer it was found in, if any.
        spnego: Option<SpnegoInfo>,
        /// The decoded message, or why it would not decode.
        #[serde(serialize_with = "serialize_decoded")]
        message: Result<NtlmMessage, NtlmError>,
    },
    /// Kerberos: a GSS-API Kerberos token or a raw AP-REQ / AP-REP / KRB-ERROR, raw or in SPNEGO.
    Kerberos {
        /// The SPNEGO layer it was found in, if any.
        spnego: Option<SpnegoInfo>,
        /// Which Kerberos message (`AP-REQ`, `AP-REP`, `KRB-ERROR`, or `token` if unknown).
        kerberos_message: &'static str,
    },
    /// SPNEGO without a mechanism token, e.g. a final NegTokenResp with accept-completed.
    Spnego {
        /// The SPNEGO message.
        spnego: SpnegoInfo,
    },
    /// Base64 that decodes to something not recognised.
    Unknown {
        /// The SPNEGO layer around it, if any.
        spnego: Option<SpnegoInfo>,
        /// What was wrong or unrecognised.
        reason: String,
        /// The first 16 bytes of the token, as hex.
        first_bytes: String,
    },
    /// The token is not valid base64, or too long to decode.
    Undecodable {
        /// Why.
        reason: String,
    },
}

fn serialize_decoded<S: Serializer>(
    decoded: &Result<NtlmMessage, NtlmError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match decoded {
        Ok(message) => message.serialize(serializer),
        Err(error) => {
            let mut map = serializer.serialize_map(Some(2))?;
            map.serialize_entry("error", error)?;
            map.serialize_entry("description", &error.to_string())?;
            map.end()
        }
    }
}

/// Decodes the `NTLM`/`Negotiate` token of one header value (e.g. `NTLM TlRMTVNTUAAB...`).
///
/// Returns `None` for other schemes and for a bare scheme with no token (a server offering
/// `NTLM`). The scheme is matched case-insensitively; the token ends at whitespace or a comma.
/// A token that is not valid base64 is returned as [`TokenContent::Undecodable`], since a broken
/// token is itself worth reporting.
pub fn decode_auth_header_value(value: &str) -> Option<AuthToken> {
    let is_separator = |c: char| c.is_ascii_whitespace() || c == ',';
    let value = value.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let scheme_end = value.find(is_separator).unwrap_or(value.len());
    let (scheme_text, rest) = value.split_at(scheme_end);
    let scheme = if scheme_text.eq_ignore_ascii_case("NTLM") {
        AuthScheme::Ntlm
    } else if scheme_text.eq_ignore_ascii_case("Negotiate") {
        AuthScheme::Negotiate
    } else {
        return None;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let token = rest.get(..rest.find(is_separator).unwrap_or(rest.len()))?;
    if token.is_empty() {
        return None;
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Some(AuthToken {
            scheme,
            token_len: 0,
            content: TokenContent::Undecodable {
                reason: format!(
                    "token of {} characters is longer than the {MAX_TOKEN_CHARS} decoded",
                    token.len()
                ),
            },
        });
    }
    let bytes = match TOKEN_BASE64.decode(token) {
        Ok(bytes) => bytes,
        Err(error) => {
            return Some(AuthToken {
                scheme,
                token_len: 0,
                content: TokenContent::Undecodable {
                    reason: format!("invalid base64: {error}"),
                },
            })
        }
    };
    Some(AuthToken {
        scheme,
        token_len: bytes.len(),
        content: decode_token(&bytes),
    })
}

/// Works out what a binary `NTLM`/`Negotiate` token holds.
pub(crate) fn decode_token(bytes: &[u8]) -> TokenContent {
    match classify(bytes) {
        Classified::Ntlmssp { spnego, bytes } => TokenContent::Ntlmssp {
            spnego,
            message: parse_message(bytes),
        },
        Classified::Kerberos { spnego, message } => TokenContent::Kerberos {
            spnego,
            kerberos_message: message,
        },
        Classified::SpnegoOnly(spnego) => TokenContent::Spnego { spnego },
        Classified::Unknown { spnego, reason } => TokenContent::Unknown {
            spnego,
            reason,
            first_bytes: hex(bytes.get(..16).unwrap_or(bytes)),
        },
    }
}

impl AuthToken {
    /// The NTLMSSP message, if the token holds one that decoded.
    pub fn ntlm_message(&self) -> Option<&NtlmMessage> {
        match &self.content {
            TokenContent::Ntlmssp {
                message: Ok(message),
                ..
            } => Some(message),
            _ => None,
        }
    }

    /// One line for a human, e.g. `NTLM Type 1 negotiate (in SPNEGO NegTokenInit)` or
    /// `Kerberos AP-REQ (in SPNEGO NegTokenInit)`.
    pub fn summary(&self) -> String {
        let scheme = self.scheme.as_str();
        match &self.content {
            TokenContent::Ntlmssp { spnego, message } => {
                let head = match message {
                    Ok(message) => message.summary(),
                    Err(error) => format!("undecodable NTLMSSP token: {error}"),
                };
                format!("{head}{}", spnego_suffix(spnego.as_ref()))
            }
            TokenContent::Kerberos {
                spnego,
                kerberos_message,
            } => format!(
                "Kerberos {kerberos_message}{}",
                spnego_suffix(spnego.as_ref())
            ),
            TokenContent::Spnego { spnego } => {
                format!("SPNEGO {} without a mechanism token", spnego_label(spnego))
            }
            TokenContent::Unknown { reason, .. } => format!(
                "unrecognised {scheme} token ({} bytes): {reason}",
                self.token_len
            ),
            TokenContent::Undecodable { reason } => {
                format!("undecodable {scheme} token: {reason}")
            }
        }
    }
}

fn spnego_label(info: &SpnegoInfo) -> String {
    let form = match info.form {
        SpnegoForm::NegTokenInit => "NegTokenInit",
        SpnegoForm::NegTokenResp => "NegTokenResp",
    };
    let state = match info.neg_state {
        None => String::new(),
        Some(NegState::AcceptCompleted) => " accept-completed".into(),
        Some(NegState::AcceptIncomplete) => " accept-incomplete".into(),
        Some(NegState::Reject) => " reject".into(),
        Some(NegState::RequestMic) => " request-mic".into(),
        Some(NegState::Other(value)) => format!(" negState {value}"),
    };
    format!("{form}{state}")
}

fn spnego_suffix(info: Option<&SpnegoInfo>) -> String {
    info.map(|info| format!(" (in SPNEGO {})", spnego_label(info)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::spnego::tests::neg_token_init;
    use super::super::spnego::{Mech, SpnegoForm};
    use super::super::test_support::b64;
    use super::*;

    #[test]
    fn schemes_and_token_boundaries() {
        for value in [
            "NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=",
            "  ntlm   TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=  ",
            "NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA, Basic realm=\"x\"",
            "NTLM\tTlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let token = decode_auth_header_value(value).unwrap();
            assert_eq!(token.scheme, AuthScheme::Ntlm, "{value}");
            assert_eq!(token.token_len, 32, "{value}");
            assert_eq!(token.ntlm_message().unwrap().message_type(), 1, "{value}");
        }
        assert_eq!(decode_auth_header_value("NTLM"), None);
        assert_eq!(decode_auth_header_value("Negotiate, NTLM"), None);
        assert_eq!(decode_auth_header_value("Basic dXNlcjpwYXNz"), None);
        assert_eq!(decode_auth_header_value("NTLMX TlRM"), None);
        assert_eq!(decode_auth_header_value(""), None);
    }

    #[test]
    fn bad_base64_and_unknown_content() {
        let bad = decode_auth_header_value("NTLM !!!notbase64").unwrap();
        assert!(matches!(bad.content, TokenContent::Undecodable { .. }));
        assert!(bad
            .summary()
            .starts_with("undecodable NTLM token: invalid base64"));
        let long = format!("NTLM {}", "A".repeat(MAX_TOKEN_CHARS + 4));
        assert!(matches!(
            decode_auth_header_value(&long).unwrap().content,
            TokenContent::Undecodable { .. }
        ));
        let unknown = decode_auth_header_value("Negotiate SGVsbG8gd29ybGQ=").unwrap();
        assert_eq!(
            unknown.content,
            TokenContent::Unknown {
                spnego: None,
                reason: "not NTLMSSP and not DER (first byte 0x48)".into(),
                first_bytes: hex(b"Hello world"),
            }
        );
        let broken = decode_auth_header_value("NTLM TlRMTVNTUAACAAAA").unwrap();
        assert_eq!(
            broken.summary(),
            "undecodable NTLMSSP token: NTLMSSP message too short: needs at least 32 bytes, got 12"
        );
        let json = serde_json::to_value(&broken).unwrap();
        assert_eq!(json["content"]["kind"], "ntlmssp");
        assert_eq!(
            json["content"]["message"]["error"]["too_short"]["needed"],
            32
        );
    }

    /// A hand-built SPNEGO NegTokenInit (DER) around the case study's Type 1.
    #[test]
    fn spnego_neg_token_init_wrapping_type1() {
        let type1 = b64("TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=");
        let spnego = neg_token_init(&type1);
        // 60 55 { 06 06 2b0601050502                                  SPNEGO OID
        //         a0 4b { 30 49 { a0 0e { 30 0c { 06 0a 2b06..02020a } }  mechTypes [NTLMSSP]
        //                         a2 37 { 04 35 <53-byte Type 1> } } } }  mechToken
        let header = "605506062b0601050502a04b3049a00e300c060a2b06010401823702020aa2370435";
        assert_eq!(hex(&spnego[..34]), header);
        assert_eq!(spnego.len(), 34 + 53);
        let value = format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(&spnego)
        );
        assert!(value.starts_with("Negotiate YFUGBisGAQUFAqBLMEmgDjAMBgorBgEEAYI3AgIK"));
        let token = decode_auth_header_value(&value).unwrap();
        assert_eq!(token.scheme, AuthScheme::Negotiate);
        let TokenContent::Ntlmssp {
            spnego: Some(info),
            message: Ok(message),
        } = &token.content
        else {
            panic!("expected SPNEGO-wrapped NTLMSSP: {token:?}");
        };
        assert_eq!(info.form, SpnegoForm::NegTokenInit);
        assert!(info.gss_wrapped);
        assert_eq!(
            info.mech_types,
            [Mech {
                oid: "1.3.6.1.4.1.311.2.2.10".into(),
                name: Some("NTLMSSP")
            }]
        );
        assert_eq!(message.message_type(), 1);
        assert_eq!(
            token.summary(),
            "NTLM Type 1 negotiate from T6CK943Y (domain MAPLE) (in SPNEGO NegTokenInit)"
        );
    }

    /// The shape browsers send for Kerberos: NegTokenInit { mechTypes [MS KRB5, KRB5, NegoEx,
    /// NTLMSSP], mechToken = GSS-API krb5 token with TOK_ID 01 00 and an AP-REQ }.
    #[test]
    fn spnego_wrapping_kerberos_ap_req() {
        use super::super::spnego::tests::der;
        let oid = |bytes: &[u8]| der(0x06, bytes);
        let ms_krb5 = [0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
        let krb5 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
        let negoex = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e];
        let ntlm = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
        let ap_req = der(0x6e, &der(0x30, &[0xa0, 0x03, 0x02, 0x01, 0x05]));
        let krb_token = der(0x60, &[oid(&krb5), vec![0x01, 0x00], ap_req].concat());
        let mech_types = der(
            0xa0,
            &der(
                0x30,
                &[oid(&ms_krb5), oid(&krb5), oid(&negoex), oid(&ntlm)].concat(),
            ),
        );
        let init = der(
            0xa0,
            &der(
                0x30,
                &[mech_types, der(0xa2, &der(0x04, &krb_token))].concat(),
            ),
        );
        let spnego = der(
            0x60,
            &[oid(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]), init].concat(),
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(&spnego);
        assert!(
            encoded.starts_with("Y"),
            "browser Kerberos tokens start with Y: {encoded}"
        );
        let token = decode_auth_header_value(&format!("Negotiate {encoded}")).unwrap();
        let TokenContent::Kerberos {
            spnego: Some(info),
            kerberos_message,
        } = &token.content
        else {
            panic!("expected Kerberos in SPNEGO: {token:?}");
        };
        assert_eq!(*kerberos_message, "AP-REQ");
        let names: Vec<_> = info.mech_types.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                Some("MS Kerberos 5"),
                Some("Kerberos 5"),
                Some("NegoEx"),
                Some("NTLMSSP")
            ]
        );
        assert_eq!(token.summary(), "Kerberos AP-REQ (in SPNEGO NegTokenInit)");
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(json["content"]["kind"], "kerberos");
        assert_eq!(
            json["content"]["spnego"]["mech_types"][1]["oid"],
            "1.2.840.113554.1.2.2"
        );
    }

    /// A NegTokenResp (bare [1], as servers send it) carrying a Type 2.
    #[test]
    fn spnego_neg_token_resp_wrapping_type2() {
        use super::super::spnego::tests::der;
        let type2 = b64("TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==");
        let ntlm_oid = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
        let resp = der(
            0xa1,
            &der(
                0x30,
                &[
                    der(0xa0, &der(0x0a, &[1])),
                    der(0xa1, &der(0x06, &ntlm_oid)),
                    der(0xa2, &der(0x04, &type2)),
                ]
                .concat(),
            ),
        );
        let token = decode_auth_header_value(&format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(&resp)
        ))
        .unwrap();
        assert_eq!(token.ntlm_message().unwrap().message_type(), 2);
        assert!(token
            .summary()
            .ends_with("(in SPNEGO NegTokenResp accept-incomplete)"));
    }
}
