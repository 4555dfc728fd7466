//! Socket addresses as text (`ip:port`, IPv6 as `[addr]:port`), without `core::fmt`.
//!
//! Every event and summary carries its two addresses and every JSON line and story line
//! prints them; formatting them through `Display` was a fifth of the cost of
//! `timeline --format jsonl` on short connections (`core::fmt` dividing each octet by ten
//! behind dynamic calls). IPv4 is written from a table here; IPv6 is rare enough to keep
//! `Display` (its `::` compression rules are not worth repeating).

use serde::{Serialize, Serializer};
use std::io::Write as _;
use std::net::SocketAddr;

/// The longest text of a socket address:
/// `[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535`.
const LONGEST: usize = 58;

/// A socket address written out, the same text as its `Display`, held on the stack.
///
/// ```
/// use wiretale::net::SocketAddrText;
/// let addr = "192.0.2.7:443".parse().unwrap();
/// assert_eq!(SocketAddrText::new(&addr).as_str(), "192.0.2.7:443");
/// let addr = "[2001:db8::1]:80".parse().unwrap();
/// assert_eq!(SocketAddrText::new(&addr).as_str(), "[2001:db8::1]:80");
/// ```
#[derive(Clone, Copy)]
pub struct SocketAddrText {
    text: [u8; LONGEST],
    len: u8,
}

impl SocketAddrText {
    /// Writes `addr` out.
    pub fn new(addr: &SocketAddr) -> Self {
        let mut text = [0u8; LONGEST];
        let len = match addr {
            SocketAddr::V4(a) => {
                let mut at = 0;
                for (i, octet) in a.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        text[at] = b'.';
                        at += 1;
                    }
                    let (digits, len) = OCTET_TEXT[usize::from(octet)];
                    text[at..at + 3].copy_from_slice(&digits);
                    at += usize::from(len);
                }
                text[at] = b':';
                at += 1;
                at + write_port(&mut text[at..], a.port())
            }
            SocketAddr::V6(a) => {
                let mut rest = &mut text[..];
                // Cannot fail: the longest text fits (a failure would only shorten it).
                let _ = write!(rest, "{a}");
                LONGEST - rest.len()
            }
        };
        SocketAddrText {
            text,
            len: len as u8,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written (digits, `.`, `:`, `[`, `]`, `%`, hex letters).
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for SocketAddrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// Writes `port` in decimal at the start of `out` (at least 5 bytes); gives its length.
fn write_port(out: &mut [u8], port: u16) -> usize {
    let len = match port {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut n = port;
    for slot in out[..len].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    len
}

/// Every octet value in decimal, left-aligned in three bytes, and its number of digits.
const OCTET_TEXT: [([u8; 3], u8); 256] = octet_text();

const fn octet_text() -> [([u8; 3], u8); 256] {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut n = 0;
    while n < 256 {
        let (hundreds, tens, ones) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        table[n] = if n >= 100 {
            ([b'0' + hundreds, b'0' + tens, b'0' + ones], 3)
        } else if n >= 10 {
            ([b'0' + tens, b'0' + ones, 0], 2)
        } else {
            ([b'0' + ones, 0, 0], 1)
        };
        n += 1;
    }
    table
}

/// Serializes a socket address as serde does (its text for human-readable formats such as
/// JSON, serde's own form otherwise), without `core::fmt` for IPv4. For
/// `#[serde(serialize_with)]`.
pub(crate) fn serialize<S: Serializer>(addr: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(SocketAddrText::new(addr).as_str())
    } else {
        addr.serialize(s)
    }
}

/// [`serialize`] for an optional address: `None` and `Some` marked as serde marks them
/// (`null` or the text in JSON).
pub(crate) fn serialize_option<S: Serializer>(
    addr: &Option<SocketAddr>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match addr {
        Some(addr) => s.serialize_some(&AsText(addr)),
        None => s.serialize_none(),
    }
}

/// An address serialized by [`serialize`].
struct AsText<'a>(&'a SocketAddr);

impl Serialize for AsText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

    #[test]
    fn text_is_display_at_the_edges() {
        for text in [
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.0.0.1:9",
            "10.20.100.1:10",
            "1.2.3.4:99",
            "1.2.3.4:100",
            "1.2.3.4:9999",
            "1.2.3.4:10000",
            "[::]:0",
            "[::ffff:1.2.3.4]:443",
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
        ] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(SocketAddrText::new(&addr).as_str(), text);
        }
        let longest = SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from([0xffff; 8]),
            65535,
            0,
            u32::MAX,
        ));
        assert_eq!(
            SocketAddrText::new(&longest).as_str(),
            longest.to_string(),
            "the longest address fits"
        );
        assert_eq!(longest.to_string().len(), LONGEST);
    }

    #[test]
    fn json_is_serdes_own() {
        #[derive(Serialize)]
        struct Ours {
            #[serde(serialize_with = "serialize")]
            a: SocketAddr,
            #[serde(serialize_with = "serialize_option")]
            b: Option<SocketAddr>,
            #[serde(serialize_with = "serialize_option")]
            c: Option<SocketAddr>,
        }
        #[derive(Serialize)]
        struct Serdes {
            a: SocketAddr,
            b: Option<SocketAddr>,
            c: Option<SocketAddr>,
        }
        let a: SocketAddr = "192.0.2.1:5061".parse().unwrap();
        let b: SocketAddr = "[2001:db8::2]:3128".parse().unwrap();
        let ours = Ours {
            a,
            b: Some(b),
            c: None,
        };
        let serdes = Serdes {
            a,
            b: Some(b),
            c: None,
        };
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&serdes).unwrap()
        );
        // A binary format (not human-readable) gets serde's own form of each address
        // (CBOR writes `Some(x)` as `x`, so the `Some` marker is not what this checks).
        let (mut ours_cbor, mut serdes_cbor) = (Vec::new(), Vec::new());
        ciborium::into_writer(&ours, &mut ours_cbor).unwrap();
        ciborium::into_writer(&serdes, &mut serdes_cbor).unwrap();
        assert_eq!(ours_cbor, serdes_cbor);
    }

    proptest! {
        #[test]
        fn text_is_display(ip in any::<[u8; 4]>(), port: u16, ip6 in any::<[u16; 8]>(),
                           flowinfo: u32, scope: u32) {
            let v4 = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port));
            prop_assert_eq!(SocketAddrText::new(&v4).as_str().to_owned(), v4.to_string());
            let v6 = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip6), port, flowinfo, scope));
            prop_assert_eq!(SocketAddrText::new(&v6).as_str().to_owned(), v6.to_string());
        }
    }
}
