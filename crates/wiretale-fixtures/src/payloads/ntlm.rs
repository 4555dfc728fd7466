//! NTLM tokens (MS-NLMP) for HTTP `Proxy-Authorization` / `Proxy-Authenticate` headers: the case
//! study's real Type 1 and Type 2 tokens, and a Type 3 (AUTHENTICATE) built by hand with a
//! genuine NTLMv2 response.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;

use crate::error::{fit, FixtureError, Result};
use crate::time::Timestamp;

/// The case study's Type 1 (NEGOTIATE) token, sent by the client in frame 416: flags
/// 0xa208b207, domain `MAPLE`, workstation `T6CK943Y`, version 5.1 build 2600.
pub const CASE_STUDY_TYPE1: &str =
    "TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=";

/// The case study's Type 2 (CHALLENGE) token from frame 417, reassembled from the eight
/// debugger lines of the case study: flags 0xa2898205, target `FG`, challenge
/// d1cb3331634e8638, target info NB domain `FG`, NB computer `S3W04156`, DNS domain
/// `fg.rbc.com`, DNS computer `S3W04156.fg.rbc.com`, DNS tree `fg.rbc.com`.
pub const CASE_STUDY_TYPE2: &str = concat!(
    "TlRMTVNTUAACAAAABAAEADgAAAA",
    "Fgomi0cszMWNOhjgAAAAAAAAAAHoAegA",
    "8AAAABQLODgAAAA9GAEcAAgAEAEYARwA",
    "BABAAUwAzAFcAMAA0ADEANQA2AAQAFAB",
    "mAGcALgByAGIAYwAuAGMAbwBtAAMAJgB",
    "TADMAVwAwADQAMQA1ADYALgBmAGcALgB",
    "yAGIAYwAuAGMAbwBtAAUAFABmAGcALgB",
    "yAGIAYwAuAGMAbwBtAAAAAAA="
);

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Flags only a server sets (TARGET_TYPE_DOMAIN / TARGET_TYPE_SERVER), dropped in Type 3.
const SERVER_ONLY_FLAGS: u32 = 0x0003_0000;
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;

/// Standard base64 of `bytes` (as in HTTP auth headers).
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64.
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| FixtureError::Base64(e.to_string()))
}

/// Windows FILETIME (100 ns units since 1601-01-01) of `t`.
pub fn filetime(t: Timestamp) -> u64 {
    t.secs()
        .saturating_add(11_644_473_600)
        .saturating_mul(10_000_000)
        .saturating_add(u64::from(t.subsec_nanos() / 100))
}

/// What a Type 3 needs from a Type 2 (CHALLENGE) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// NegotiateFlags.
    pub flags: u32,
    /// The 8-byte server challenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo AV pairs, raw.
    pub target_info: Vec<u8>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at.checked_add(1)?)?,
    ]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

impl Challenge {
    /// Parses a Type 2 message (bounds-checked; any inconsistency is an error).
    pub fn parse(msg: &[u8]) -> Result<Self> {
        if msg.get(..8) != Some(&SIGNATURE[..]) || le32(msg, 8) != Some(2) {
            return Err(FixtureError::Ntlm("not an NTLMSSP CHALLENGE message"));
        }
        let flags = le32(msg, 20).ok_or(FixtureError::Ntlm("truncated flags"))?;
        let mut server_challenge = [0u8; 8];
        server_challenge.copy_from_slice(
            msg.get(24..32)
                .ok_or(FixtureError::Ntlm("truncated challenge"))?,
        );
        let len = le16(msg, 40).ok_or(FixtureError::Ntlm("truncated target info fields"))?;
        let off = le32(msg, 44).ok_or(FixtureError::Ntlm("truncated target info fields"))?;
        let start = usize::try_from(off).map_err(|_| FixtureError::Ntlm("target info offset"))?;
        let target_info = msg
            .get(start..start.saturating_add(usize::from(len)))
            .ok_or(FixtureError::Ntlm("target info outside the message"))?
            .to_vec();
        Ok(Challenge {
            flags,
            server_challenge,
            target_info,
        })
    }
}

/// Who authenticates, and the values that are random in a real client (fixed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// User name.
    pub user: &'a str,
    /// Domain name.
    pub domain: &'a str,
    /// Client workstation name.
    pub workstation: &'a str,
    /// Password (only used to compute the response).
    pub password: &'a str,
    /// The 8-byte client challenge.
    pub client_challenge: [u8; 8],
    /// Timestamp in the NTLMv2 blob, as FILETIME (see [`filetime`]).
    pub timestamp: u64,
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 16]> {
    let mut mac =
        <Hmac<Md5> as Mac>::new_from_slice(key).map_err(|_| FixtureError::Ntlm("HMAC key"))?;
    for p in parts {
        mac.update(p);
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&mac.finalize().into_bytes());
    Ok(out)
}

/// NTOWFv2: HMAC-MD5 keyed by MD4(UTF-16LE(password)) over UTF-16LE(UPPER(user) + domain).
pub fn ntowf_v2(user: &str, domain: &str, password: &str) -> Result<[u8; 16]> {
    let nt_hash = Md4::digest(utf16le(password));
    let who = utf16le(&format!("{}{}", user.to_uppercase(), domain));
    hmac_md5(&nt_hash, &[&who])
}

/// The NTLMv2 NtChallengeResponse (NTProofStr + blob) and LmChallengeResponse (LMv2).
pub fn ntlmv2_responses(
    challenge: &Challenge,
    creds: &Credentials<'_>,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let key = ntowf_v2(creds.user, creds.domain, creds.password)?;
    let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
    blob.extend_from_slice(&creds.timestamp.to_le_bytes());
    blob.extend_from_slice(&creds.client_challenge);
    blob.extend_from_slice(&[0; 4]);
    blob.extend_from_slice(&challenge.target_info);
    blob.extend_from_slice(&[0; 4]);
    let proof = hmac_md5(&key, &[&challenge.server_challenge, &blob])?;
    let mut nt = proof.to_vec();
    nt.extend_from_slice(&blob);
    let mut lm = hmac_md5(
        &key,
        &[&challenge.server_challenge, &creds.client_challenge],
    )?
    .to_vec();
    lm.extend_from_slice(&creds.client_challenge);
    Ok((nt, lm))
}

/// A Type 3 answering the case study's Type 2 ([`CASE_STUDY_TYPE2`]) with NTLMv2 for `creds`
/// ([`authenticate_ntlmv2`]): what a client that completed the case study's handshake sends.
pub fn answer_case_study_type2(creds: &Credentials<'_>) -> Result<Vec<u8>> {
    let challenge = Challenge::parse(&base64_decode(CASE_STUDY_TYPE2)?)?;
    authenticate_ntlmv2(&challenge, creds)
}

/// A Type 3 (AUTHENTICATE) message answering `challenge` with NTLMv2, in Windows' layout:
/// 72-byte header with Version (6.1 build 7601), no MIC, payload in the order domain, user,
/// workstation, LM response, NT response, (empty) session key. Flags are the challenge's minus
/// the server-only target-type bits.
pub fn authenticate_ntlmv2(challenge: &Challenge, creds: &Credentials<'_>) -> Result<Vec<u8>> {
    let flags = (challenge.flags & !SERVER_ONLY_FLAGS) | NEGOTIATE_VERSION;
    let text = |s: &str| {
        if flags & NEGOTIATE_UNICODE != 0 {
            utf16le(s)
        } else {
            s.as_bytes().to_vec()
        }
    };
    let (nt, lm) = ntlmv2_responses(challenge, creds)?;
    let (domain, user, workstation) = (
        text(creds.domain),
        text(creds.user),
        text(creds.workstation),
    );
    // Field order in the header vs. order in the payload.
    let payload_order: [&[u8]; 6] = [&domain, &user, &workstation, &lm, &nt, &[]];
    let header_order = [3usize, 4, 0, 1, 2, 5]; // LM, NT, domain, user, workstation, key
    let mut offsets = [0u32; 6];
    let mut payload = Vec::new();
    let header_len = 72usize;
    for (i, part) in payload_order.iter().enumerate() {
        if let Some(slot) = offsets.get_mut(i) {
            *slot = fit(
                header_len.saturating_add(payload.len()),
                "NTLM payload offset",
                u32::MAX as usize,
            )?;
        }
        payload.extend_from_slice(part);
    }
    let mut out = Vec::with_capacity(header_len.saturating_add(payload.len()));
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&3u32.to_le_bytes());
    for &i in &header_order {
        let part: &[u8] = payload_order.get(i).copied().unwrap_or_default();
        let len: u16 = fit(part.len(), "NTLM field", 65_535)?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&offsets.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&[6, 1, 0xb1, 0x1d, 0, 0, 0, 0x0f]);
    out.extend_from_slice(&payload);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// MS-NLMP 4.2.4 (NTLMv2 authentication) test vectors.
    #[test]
    fn ms_nlmp_ntlmv2_vectors() {
        assert_eq!(
            ntowf_v2("User", "Domain", "Password").unwrap().to_vec(),
            hex("0c868a403bfd7a93a3001ef22ef02e3f")
        );
        let target_info =
            hex("02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000");
        // NbDomainName "Domain", NbComputerName "Server", MsvAvEOL.
        let challenge = Challenge {
            flags: 0xe28a_8233,
            server_challenge: hex("0123456789abcdef").try_into().unwrap(),
            target_info,
        };
        let creds = Credentials {
            user: "User",
            domain: "Domain",
            workstation: "COMPUTER",
            password: "Password",
            client_challenge: [0xaa; 8],
            timestamp: 0,
        };
        let (nt, lm) = ntlmv2_responses(&challenge, &creds).unwrap();
        assert_eq!(nt[..16].to_vec(), hex("68cd0ab851e51c96aabc927bebef6a1c"));
        assert_eq!(lm, hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn case_study_tokens_decode() {
        let t1 = base64_decode(CASE_STUDY_TYPE1).unwrap();
        assert_eq!(&t1[..12], b"NTLMSSP\0\x01\0\0\0");
        assert!(t1.ends_with(b"T6CK943YMAPLE"));
        let c = Challenge::parse(&base64_decode(CASE_STUDY_TYPE2).unwrap()).unwrap();
        assert_eq!(c.flags, 0xa289_8205);
        assert_eq!(c.server_challenge.to_vec(), hex("d1cb3331634e8638"));
        assert_eq!(c.target_info.len(), 122);
        assert_eq!(
            base64_encode(&base64_decode(CASE_STUDY_TYPE2).unwrap()),
            CASE_STUDY_TYPE2
        );
    }

    #[test]
    fn type3_structure() {
        let c = Challenge::parse(&base64_decode(CASE_STUDY_TYPE2).unwrap()).unwrap();
        let creds = Credentials {
            user: "jdoe",
            domain: "MAPLE",
            workstation: "T6CK943Y",
            password: "x",
            client_challenge: [1; 8],
            timestamp: 5,
        };
        let m = authenticate_ntlmv2(&c, &creds).unwrap();
        assert_eq!(&m[..12], b"NTLMSSP\0\x03\0\0\0");
        let field = |i: usize| {
            let at = 12 + 8 * i;
            let len = u16::from_le_bytes([m[at], m[at + 1]]) as usize;
            let off = u32::from_le_bytes([m[at + 4], m[at + 5], m[at + 6], m[at + 7]]) as usize;
            &m[off..off + len]
        };
        assert_eq!(field(0).len(), 24, "LMv2");
        assert_eq!(field(1).len(), 16 + 28 + 122 + 4, "NTProofStr + blob");
        assert_eq!(field(2), utf16le("MAPLE").as_slice());
        assert_eq!(field(3), utf16le("jdoe").as_slice());
        assert_eq!(field(4), utf16le("T6CK943Y").as_slice());
        assert!(field(5).is_empty());
        assert_eq!(
            u32::from_le_bytes([m[60], m[61], m[62], m[63]]),
            0xa288_8205
        );
        assert_eq!(
            field(2).as_ptr(),
            m[72..].as_ptr(),
            "payload starts after the 72-byte header"
        );
    }

    #[test]
    fn bad_challenges_are_errors() {
        assert!(Challenge::parse(b"NTLMSSP\0\x01\0\0\0").is_err());
        let mut t2 = base64_decode(CASE_STUDY_TYPE2).unwrap();
        t2[44] = 0xff;
        assert!(Challenge::parse(&t2).is_err());
        assert!(Challenge::parse(&[]).is_err());
    }

    #[test]
    fn filetime_epoch() {
        assert_eq!(
            filetime(Timestamp::from_unix(0, 0)),
            116_444_736_000_000_000
        );
    }
}
