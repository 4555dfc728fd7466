//! AV_PAIR lists (MS-NLMP 2.2.2.1): the target info of a Type 2 and of an NTLMv2 response.

use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::Parser;

use super::filetime::FileTime;
use super::problems::Problems;
use super::text::{decode_text, hex, Encoding};

/// At most this many pairs are decoded from one list; the rest are noted and skipped.
pub const MAX_AV_PAIRS: usize = 64;

/// MsvAvEOL: ends the list.
pub const MSV_AV_EOL: u16 = 0;
/// MsvAvFlags.
pub const MSV_AV_FLAGS: u16 = 6;
/// MsvAvTimestamp.
pub const MSV_AV_TIMESTAMP: u16 = 7;
/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
pub const AV_FLAG_MIC_PROVIDED: u32 = 0x0000_0002;

/// Name of an AvId as MS-NLMP spells it.
pub fn av_id_name(id: u16) -> &'static str {
    match id {
        0 => "MsvAvEOL",
        1 => "MsvAvNbComputerName",
        2 => "MsvAvNbDomainName",
        3 => "MsvAvDnsComputerName",
        4 => "MsvAvDnsDomainName",
        5 => "MsvAvDnsTreeName",
        6 => "MsvAvFlags",
        7 => "MsvAvTimestamp",
        8 => "MsvAvSingleHost",
        9 => "MsvAvTargetName",
        10 => "MsvAvChannelBindings",
        _ => "unknown",
    }
}

const AV_FLAG_NAMES: [(u32, &str); 3] = [
    (0x1, "ACCOUNT_AUTHENTICATION_CONSTRAINED"),
    (AV_FLAG_MIC_PROVIDED, "MIC_PROVIDED"),
    (0x4, "TARGET_SPN_FROM_UNTRUSTED_SOURCE"),
];

/// One attribute-value pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AvPair {
    /// AvId as sent.
    pub id: u16,
    /// MS-NLMP name of `id` (`unknown` for ids it does not define).
    pub name: &'static str,
    /// The decoded value.
    pub value: AvValue,
}

/// The value of an AV pair, decoded according to its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AvValue {
    /// MsvAvEOL (no value).
    Eol,
    /// A name (ids 1-5 and MsvAvTargetName), UTF-16LE in the message.
    Text(String),
    /// MsvAvFlags.
    Flags {
        /// The 32-bit value.
        raw: u32,
        /// Names of the set bits MS-NLMP defines.
        names: Vec<&'static str>,
    },
    /// MsvAvTimestamp: the server's time (Type 2) or the client's copy of it (NTLMv2 response).
    Timestamp(FileTime),
    /// Anything else (MsvAvSingleHost, MsvAvChannelBindings, unknown ids, wrong-sized values),
    /// as capped hex.
    Bytes(String),
}

/// Decodes an AV pair list; anything malformed is noted under `field`.
pub(crate) fn parse_av_pairs(
    mut input: &[u8],
    field: &str,
    problems: &mut Problems,
) -> Vec<AvPair> {
    let mut pairs = Vec::new();
    loop {
        if input.is_empty() {
            problems.push(format!("{field}: AV pair list ends without MsvAvEOL"));
            break;
        }
        if pairs.len() >= MAX_AV_PAIRS {
            problems.push(format!(
                "{field}: more than {MAX_AV_PAIRS} AV pairs, the rest not decoded"
            ));
            break;
        }
        let header = (le_u16::<_, nom::error::Error<&[u8]>>, le_u16).parse(input);
        let Ok((rest, (id, len))) = header else {
            problems.push(format!(
                "{field}: {} stray bytes where an AV pair header was expected",
                input.len()
            ));
            break;
        };
        let Some(value) = rest.get(..usize::from(len)) else {
            problems.push(format!(
                "{field}: {} length {len} runs past the end of the list ({} bytes left)",
                av_id_name(id),
                rest.len()
            ));
            break;
        };
        input = rest.get(usize::from(len)..).unwrap_or_default();
        let name = av_id_name(id);
        let value = decode_value(id, value, field, problems);
        let is_eol = id == MSV_AV_EOL;
        pairs.push(AvPair { id, name, value });
        if is_eol {
            break;
        }
    }
    pairs
}

fn decode_value(id: u16, value: &[u8], field: &str, problems: &mut Problems) -> AvValue {
    let context = || format!("{field} {}", av_id_name(id));
    match id {
        MSV_AV_EOL => {
            if !value.is_empty() {
                problems.push(format!("{}: has {} value bytes", context(), value.len()));
            }
            AvValue::Eol
        }
        1..=5 | 9 => AvValue::Text(decode_text(
            value,
            Encoding::Utf16Le,
            &format_args!("{field} {}", av_id_name(id)),
            problems,
        )),
        MSV_AV_FLAGS => match le_u32::<_, nom::error::Error<&[u8]>>(value) {
            Ok((&[], raw)) => AvValue::Flags {
                raw,
                names: AV_FLAG_NAMES
                    .iter()
                    .filter(|(bit, _)| raw & bit != 0)
                    .map(|(_, name)| *name)
                    .collect(),
            },
            _ => wrong_size(value, 4, &context(), problems),
        },
        MSV_AV_TIMESTAMP => match le_u64::<_, nom::error::Error<&[u8]>>(value) {
            Ok((&[], raw)) => AvValue::Timestamp(FileTime::from_raw(raw)),
            _ => wrong_size(value, 8, &context(), problems),
        },
        _ => AvValue::Bytes(hex(value)),
    }
}

fn wrong_size(value: &[u8], expected: usize, context: &str, problems: &mut Problems) -> AvValue {
    problems.push(format!(
        "{context}: {} bytes, expected {expected}",
        value.len()
    ));
    AvValue::Bytes(hex(value))
}

/// The text of the first pair with id `id`, if it is a text pair.
pub fn av_text(pairs: &[AvPair], id: u16) -> Option<&str> {
    pairs.iter().find_map(|pair| match &pair.value {
        AvValue::Text(text) if pair.id == id => Some(text.as_str()),
        _ => None,
    })
}

/// The MsvAvFlags value, if the list has one.
pub fn av_flags(pairs: &[AvPair]) -> Option<u32> {
    pairs.iter().find_map(|pair| match pair.value {
        AvValue::Flags { raw, .. } => Some(raw),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: u16, value: &[u8]) -> Vec<u8> {
        let mut out = id.to_le_bytes().to_vec();
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn decodes_every_kind_of_value() {
        let mut list = pair(2, b"F\0G\0");
        list.extend(pair(6, &2u32.to_le_bytes()));
        list.extend(pair(7, &116_444_736_000_000_000u64.to_le_bytes()));
        list.extend(pair(10, &[0; 16]));
        list.extend(pair(0x42, &[0xde, 0xad]));
        list.extend(pair(0, &[]));
        let mut problems = Problems::default();
        let pairs = parse_av_pairs(&list, "target info", &mut problems);
        assert!(problems.into_vec().is_empty());
        assert_eq!(pairs.len(), 6);
        assert_eq!(pairs[0].name, "MsvAvNbDomainName");
        assert_eq!(av_text(&pairs, 2), Some("FG"));
        assert_eq!(
            pairs[1].value,
            AvValue::Flags {
                raw: 2,
                names: vec!["MIC_PROVIDED"]
            }
        );
        assert_eq!(av_flags(&pairs), Some(2));
        match &pairs[2].value {
            AvValue::Timestamp(t) => assert_eq!(t.unix_seconds, 0),
            other => panic!("not a timestamp: {other:?}"),
        }
        assert_eq!(pairs[3].value, AvValue::Bytes("0".repeat(32)));
        assert_eq!(pairs[4].name, "unknown");
        assert_eq!(pairs[5].value, AvValue::Eol);
    }

    #[test]
    fn malformed_lists_are_noted() {
        let mut problems = Problems::default();
        // A pair claiming 0x20 bytes with 2 left, after a truncated-length flags pair.
        let mut list = pair(6, &[1, 2]);
        list.extend_from_slice(&[1, 0, 0x20, 0, b'x', 0]);
        let pairs = parse_av_pairs(&list, "ti", &mut problems);
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            problems.into_vec(),
            [
                "ti MsvAvFlags: 2 bytes, expected 4",
                "ti: MsvAvNbComputerName length 32 runs past the end of the list (2 bytes left)",
            ]
        );
        let mut problems = Problems::default();
        assert!(parse_av_pairs(&[], "ti", &mut problems).is_empty());
        assert_eq!(
            problems.into_vec(),
            ["ti: AV pair list ends without MsvAvEOL"]
        );
    }

    #[test]
    fn list_length_is_capped() {
        let list = pair(0x99, &[]).repeat(MAX_AV_PAIRS + 10);
        let mut problems = Problems::default();
        assert_eq!(
            parse_av_pairs(&list, "ti", &mut problems).len(),
            MAX_AV_PAIRS
        );
        assert_eq!(problems.into_vec().len(), 1);
    }
}
