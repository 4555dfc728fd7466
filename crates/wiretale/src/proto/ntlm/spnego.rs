//! Unwrapping GSS-API / SPNEGO (RFC 2743 3.1, RFC 4178) just far enough to find the mechanism
//! token of an HTTP `Negotiate` header: NTLMSSP, Kerberos, or something else.
//!
//! The DER reader follows a fixed path (InitialContextToken → NegotiationToken → SEQUENCE →
//! context-tagged fields) instead of walking arbitrary trees, so it never recurses. A mech token
//! that is itself wrapped again is unwrapped by a loop bounded at [`MAX_WRAPPING_DEPTH`] levels.

use nom::bytes::complete::take;
use nom::number::complete::u8 as byte;
use nom::IResult;

use super::wire::SIGNATURE;

/// How many GSS-API/SPNEGO layers are unwrapped before giving up.
pub const MAX_WRAPPING_DEPTH: usize = 4;
/// At most this many mechanism OIDs are kept from a mechTypes list.
const MAX_MECHS: usize = 16;
/// Longest OID (in DER content bytes) that is decoded.
const MAX_OID_BYTES: usize = 32;

const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
const OID_NEGOEX: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e];
const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
const OID_KRB5_U2U: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03];
const OID_IAKERB: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x02, 0x05];

const TAG_GSS_INITIAL_CONTEXT: u8 = 0x60;
const TAG_OID: u8 = 0x06;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_ENUMERATED: u8 = 0x0a;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_KRB_AP_REQ: u8 = 0x6e;
const TAG_KRB_AP_REP: u8 = 0x6f;
const TAG_KRB_ERROR: u8 = 0x7e;

/// Which SPNEGO message a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpnegoForm {
    /// NegTokenInit (context tag 0), the initiator's first token.
    NegTokenInit,
    /// NegTokenResp (context tag 1), every later token.
    NegTokenResp,
}

/// A GSS-API mechanism OID.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mech {
    /// Dotted form, e.g. `1.3.6.1.4.1.311.2.2.10`, or `invalid` if it does not decode.
    pub oid: String,
    /// What it is, for the ones that appear in HTTP Negotiate (`NTLMSSP`, `Kerberos 5`, ...).
    pub name: Option<&'static str>,
}

/// NegTokenResp negState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NegState {
    /// accept-completed (0).
    AcceptCompleted,
    /// accept-incomplete (1).
    AcceptIncomplete,
    /// reject (2).
    Reject,
    /// request-mic (3).
    RequestMic,
    /// Any other value.
    Other(u8),
}

/// What the SPNEGO layer around a mechanism token said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpnegoInfo {
    /// NegTokenInit or NegTokenResp.
    pub form: SpnegoForm,
    /// Whether it came inside a GSS-API InitialContextToken (`0x60`, SPNEGO OID).
    pub gss_wrapped: bool,
    /// NegTokenInit mechTypes, in the initiator's order of preference.
    pub mech_types: Vec<Mech>,
    /// NegTokenResp negState.
    pub neg_state: Option<NegState>,
    /// NegTokenResp supportedMech.
    pub supported_mech: Option<Mech>,
    /// Whether a mechListMIC is present.
    pub mech_list_mic: bool,
}

/// What a Negotiate/NTLM token turned out to hold.
#[derive(Debug)]
pub(crate) enum Classified<'a> {
    /// NTLMSSP bytes (signature included), possibly found inside SPNEGO.
    Ntlmssp {
        spnego: Option<SpnegoInfo>,
        bytes: &'a [u8],
    },
    /// A Kerberos token; `message` names it (`AP-REQ`, ...).
    Kerberos {
        spnego: Option<SpnegoInfo>,
        message: &'static str,
    },
    /// SPNEGO with no mechanism token (e.g. a final accept-completed NegTokenResp).
    SpnegoOnly(SpnegoInfo),
    /// Anything else.
    Unknown {
        spnego: Option<SpnegoInfo>,
        reason: String,
    },
}

/// Finds out what `token` is, unwrapping GSS-API/SPNEGO layers (at most
/// [`MAX_WRAPPING_DEPTH`]).
pub(crate) fn classify(token: &[u8]) -> Classified<'_> {
    let mut current = token;
    let mut outermost: Option<SpnegoInfo> = None;
    for _ in 0..MAX_WRAPPING_DEPTH {
        match step(current) {
            Step::Ntlmssp(bytes) => {
                return Classified::Ntlmssp {
                    spnego: outermost,
                    bytes,
                }
            }
            Step::Kerberos(message) => {
                return Classified::Kerberos {
                    spnego: outermost,
                    message,
                }
            }
            Step::Spnego(info, inner) => {
                // Keep the outermost layer's view: that is what the peer negotiated.
                let info = outermost.take().unwrap_or(info);
                match inner {
                    Some(inner) => {
                        outermost = Some(info);
                        current = inner;
                    }
                    None => return Classified::SpnegoOnly(info),
                }
            }
            Step::Unknown(reason) => {
                return Classified::Unknown {
                    spnego: outermost,
                    reason,
                }
            }
        }
    }
    Classified::Unknown {
        spnego: outermost,
        reason: format!("more than {MAX_WRAPPING_DEPTH} nested GSS-API/SPNEGO layers"),
    }
}

enum Step<'a> {
    Ntlmssp(&'a [u8]),
    Kerberos(&'static str),
    Spnego(SpnegoInfo, Option<&'a [u8]>),
    Unknown(String),
}

fn step(token: &[u8]) -> Step<'_> {
    if token.starts_with(SIGNATURE) {
        return Step::Ntlmssp(token);
    }
    if token.starts_with(b"NEGOEXTS") {
        return Step::Unknown("NegoEx message".into());
    }
    let Ok((_, (tag, content))) = tlv(token) else {
        return Step::Unknown(match token.first() {
            Some(first) => format!("not NTLMSSP and not DER (first byte {first:#04x})"),
            None => "empty token".into(),
        });
    };
    match tag {
        TAG_GSS_INITIAL_CONTEXT => gss_initial_context(content),
        0xa0 | 0xa1 => negotiation_token(tag, content, false),
        TAG_KRB_AP_REQ => Step::Kerberos("AP-REQ"),
        TAG_KRB_AP_REP => Step::Kerberos("AP-REP"),
        TAG_KRB_ERROR => Step::Kerberos("KRB-ERROR"),
        other => Step::Unknown(format!("unexpected DER tag {other:#04x}")),
    }
}

/// `[APPLICATION 0] { thisMech OID, innerToken }`.
fn gss_initial_context(content: &[u8]) -> Step<'_> {
    let Some((oid, inner)) = expect(TAG_OID, content) else {
        return Step::Unknown("GSS-API token without a mechanism OID".into());
    };
    match oid {
        OID_SPNEGO => match tlv(inner) {
            Ok((_, (tag @ (0xa0 | 0xa1), body))) => negotiation_token(tag, body, true),
            _ => Step::Unknown("SPNEGO token without a NegTokenInit/NegTokenResp".into()),
        },
        OID_KRB5 | OID_MS_KRB5 | OID_KRB5_U2U | OID_IAKERB => {
            Step::Kerberos(match inner.get(..2) {
                Some([0x01, 0x00]) => "AP-REQ",
                Some([0x02, 0x00]) => "AP-REP",
                Some([0x03, 0x00]) => "KRB-ERROR",
                Some([0x04, 0x00]) => "TGT-REQ",
                Some([0x04, 0x01]) => "TGT-REP",
                _ => "token",
            })
        }
        OID_NTLMSSP if inner.starts_with(SIGNATURE) => Step::Ntlmssp(inner),
        other => {
            let other = mech(other);
            Step::Unknown(format!(
                "GSS-API token for mechanism {} ({})",
                other.name.unwrap_or("unknown"),
                other.oid
            ))
        }
    }
}

/// NegTokenInit (`[0] SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], [3], [4] }`) or
/// NegTokenResp (`[1] SEQUENCE { negState [0], supportedMech [1], responseToken [2],
/// mechListMIC [3] }`).
fn negotiation_token(tag: u8, body: &[u8], gss_wrapped: bool) -> Step<'_> {
    let form = if tag == 0xa0 {
        SpnegoForm::NegTokenInit
    } else {
        SpnegoForm::NegTokenResp
    };
    let Some((mut fields, _)) = expect(TAG_SEQUENCE, body) else {
        return Step::Unknown("SPNEGO token whose body is not a SEQUENCE".into());
    };
    let mut info = SpnegoInfo {
        form,
        gss_wrapped,
        mech_types: Vec::new(),
        neg_state: None,
        supported_mech: None,
        mech_list_mic: false,
    };
    let mut mech_token = None;
    while let Ok((rest, (field_tag, field))) = tlv(fields) {
        fields = rest;
        match (form, field_tag) {
            (SpnegoForm::NegTokenInit, 0xa0) => {
                if let Some((mut list, _)) = expect(TAG_SEQUENCE, field) {
                    while let Some((oid, rest)) = expect(TAG_OID, list) {
                        list = rest;
                        if info.mech_types.len() < MAX_MECHS {
                            info.mech_types.push(mech(oid));
                        }
                    }
                }
            }
            (SpnegoForm::NegTokenResp, 0xa0) => {
                if let Some((value, _)) = expect(TAG_ENUMERATED, field) {
                    info.neg_state = value.first().map(|&v| match v {
                        0 => NegState::AcceptCompleted,
                        1 => NegState::AcceptIncomplete,
                        2 => NegState::Reject,
                        3 => NegState::RequestMic,
                        other => NegState::Other(other),
                    });
                }
            }
            (SpnegoForm::NegTokenResp, 0xa1) => {
                info.supported_mech = expect(TAG_OID, field).map(|(oid, _)| mech(oid));
            }
            (_, 0xa2) => mech_token = expect(TAG_OCTET_STRING, field).map(|(token, _)| token),
            // NegTokenResp [3] and NegTokenInit [4] are mechListMIC; NegTokenInit [3] is
            // mechListMIC in RFC 4178 but negHints (a SEQUENCE) in Microsoft's NegTokenInit2.
            (SpnegoForm::NegTokenResp, 0xa3) | (SpnegoForm::NegTokenInit, 0xa4) => {
                info.mech_list_mic = true
            }
            (SpnegoForm::NegTokenInit, 0xa3) => {
                info.mech_list_mic |= expect(TAG_OCTET_STRING, field).is_some()
            }
            _ => {}
        }
    }
    Step::Spnego(info, mech_token.filter(|t| !t.is_empty()))
}

/// Reads one DER TLV: single-byte tag, definite length of at most 4 length bytes.
fn tlv(input: &[u8]) -> IResult<&[u8], (u8, &[u8])> {
    let fail =
        |input| nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Verify));
    let (rest, tag) = byte(input)?;
    if tag & 0x1f == 0x1f {
        return Err(fail(input)); // high tag numbers never occur on this path
    }
    let (rest, first) = byte(rest)?;
    let (rest, len) = match first {
        0..=0x7f => (rest, usize::from(first)),
        0x81..=0x84 => {
            let (rest, len_bytes) = take(usize::from(first & 0x7f))(rest)?;
            let len = len_bytes
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            (rest, usize::try_from(len).map_err(|_| fail(input))?)
        }
        _ => return Err(fail(input)), // indefinite length (BER) or absurd length-of-length
    };
    let (rest, content) = take(len)(rest)?;
    Ok((rest, (tag, content)))
}

/// Reads a TLV with tag `tag`: its content and what follows it.
fn expect(tag: u8, input: &[u8]) -> Option<(&[u8], &[u8])> {
    match tlv(input) {
        Ok((rest, (found, content))) if found == tag => Some((content, rest)),
        _ => None,
    }
}

fn mech(oid: &[u8]) -> Mech {
    let name = match oid {
        OID_NTLMSSP => Some("NTLMSSP"),
        OID_KRB5 => Some("Kerberos 5"),
        OID_MS_KRB5 => Some("MS Kerberos 5"),
        OID_KRB5_U2U => Some("Kerberos 5 user-to-user"),
        OID_IAKERB => Some("IAKERB"),
        OID_NEGOEX => Some("NegoEx"),
        OID_SPNEGO => Some("SPNEGO"),
        _ => None,
    };
    Mech {
        oid: oid_to_dotted(oid).unwrap_or_else(|| "invalid".into()),
        name,
    }
}

/// Dotted-decimal form of DER OID content bytes.
fn oid_to_dotted(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() || bytes.len() > MAX_OID_BYTES || bytes.last()? & 0x80 != 0 {
        return None;
    }
    let mut arcs = Vec::new();
    let mut value: u64 = 0;
    for &b in bytes {
        value = value.checked_mul(128)?.checked_add(u64::from(b & 0x7f))?;
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let (&first, rest) = arcs.split_first()?;
    let (top, second) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{top}.{second}");
    for arc in rest {
        out.push_str(&format!(".{arc}"));
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// DER TLV with a definite length (short or long form).
    pub(crate) fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len <= 0xff {
            out.extend([0x81, len as u8]);
        } else if len <= 0xffff {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        } else {
            out.extend([0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    /// GSS-API InitialContextToken { SPNEGO, NegTokenInit { mechTypes [NTLMSSP], mechToken } }.
    pub(crate) fn neg_token_init(mech_token: &[u8]) -> Vec<u8> {
        let mech_types = der(0xa0, &der(TAG_SEQUENCE, &der(TAG_OID, OID_NTLMSSP)));
        let token = der(0xa2, &der(TAG_OCTET_STRING, mech_token));
        let body = der(0xa0, &der(TAG_SEQUENCE, &[mech_types, token].concat()));
        der(
            TAG_GSS_INITIAL_CONTEXT,
            &[der(TAG_OID, OID_SPNEGO), body].concat(),
        )
    }

    #[test]
    fn oids() {
        assert_eq!(
            oid_to_dotted(OID_NTLMSSP).unwrap(),
            "1.3.6.1.4.1.311.2.2.10"
        );
        assert_eq!(oid_to_dotted(OID_KRB5).unwrap(), "1.2.840.113554.1.2.2");
        assert_eq!(oid_to_dotted(OID_MS_KRB5).unwrap(), "1.2.840.48018.1.2.2");
        assert_eq!(oid_to_dotted(OID_SPNEGO).unwrap(), "1.3.6.1.5.5.2");
        assert_eq!(oid_to_dotted(&[0x2b, 0x86]), None); // unterminated arc
        assert_eq!(oid_to_dotted(&[0xff; 12]), None); // overflow / unterminated
        assert_eq!(oid_to_dotted(&[]), None);
    }

    #[test]
    fn der_lengths() {
        assert_eq!(
            tlv(&[0x04, 0x81, 0x01, 0xaa]).unwrap().1,
            (0x04, &[0xaa][..])
        );
        assert!(tlv(&[0x04, 0x80, 0x00, 0x00]).is_err()); // indefinite
        assert!(tlv(&[0x04, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(tlv(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err()); // longer than input
        assert!(tlv(&[0x1f, 0x01, 0x00]).is_err());
    }

    #[test]
    fn kerberos_forms() {
        let gss_krb = der(
            TAG_GSS_INITIAL_CONTEXT,
            &[
                der(TAG_OID, OID_MS_KRB5),
                vec![0x01, 0x00],
                der(TAG_KRB_AP_REQ, &[]),
            ]
            .concat(),
        );
        assert!(matches!(
            classify(&gss_krb),
            Classified::Kerberos {
                spnego: None,
                message: "AP-REQ"
            }
        ));
        assert!(matches!(
            classify(&der(TAG_KRB_AP_REQ, &[0x30, 0x00])),
            Classified::Kerberos {
                message: "AP-REQ",
                ..
            }
        ));
    }

    #[test]
    fn neg_token_resp_accept_completed_without_token() {
        let resp = der(
            0xa1,
            &der(
                TAG_SEQUENCE,
                &[
                    der(0xa0, &der(TAG_ENUMERATED, &[0])),
                    der(0xa1, &der(TAG_OID, OID_KRB5)),
                ]
                .concat(),
            ),
        );
        let Classified::SpnegoOnly(info) = classify(&resp) else {
            panic!("expected SPNEGO without token");
        };
        assert_eq!(info.form, SpnegoForm::NegTokenResp);
        assert_eq!(info.neg_state, Some(NegState::AcceptCompleted));
        assert_eq!(info.supported_mech.unwrap().name, Some("Kerberos 5"));
        assert!(!info.gss_wrapped);
    }

    #[test]
    fn nested_spnego_stops_at_max_depth() {
        let mut token = b"NTLMSSP\0\x01\0\0\0".to_vec();
        for _ in 0..MAX_WRAPPING_DEPTH {
            token = neg_token_init(&token);
        }
        let Classified::Unknown { spnego, reason } = classify(&token) else {
            panic!("expected the depth limit");
        };
        assert!(reason.contains("nested"), "{reason}");
        assert!(spnego.is_some());
        // One level less is fine.
        let mut token = b"NTLMSSP\0\x01\0\0\0".to_vec();
        for _ in 0..MAX_WRAPPING_DEPTH - 1 {
            token = neg_token_init(&token);
        }
        assert!(matches!(classify(&token), Classified::Ntlmssp { .. }));
    }

    /// 200,000 nested context tags (a0 83 ll ll ll a0 83 ...) are refused at the first level that
    /// is not the expected SEQUENCE, with no recursion at all.
    #[test]
    fn deeply_nested_der_is_rejected_without_recursion() {
        let depth = 200_000;
        let mut token = Vec::with_capacity(depth * 5);
        for level in 0..depth {
            let remaining = (depth - level - 1) * 5;
            token.push(0xa0);
            token.extend([
                0x83,
                (remaining >> 16) as u8,
                (remaining >> 8) as u8,
                remaining as u8,
            ]);
        }
        assert!(matches!(classify(&token), Classified::Unknown { .. }));
        let mut wrapped = der(TAG_OID, OID_SPNEGO);
        wrapped.extend(&token);
        let wrapped = der(TAG_GSS_INITIAL_CONTEXT, &wrapped);
        assert!(matches!(classify(&wrapped), Classified::Unknown { .. }));
    }
}
