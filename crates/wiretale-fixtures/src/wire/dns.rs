//! Minimal DNS messages (one question, A answers) for filler traffic.

use std::net::Ipv4Addr;

use crate::error::{FixtureError, Result};

fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<()> {
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))
            .ok_or_else(|| FixtureError::DnsName(name.to_owned()))?;
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

fn header(id: u16, flags: u16, answers: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&answers.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// A recursive query for the A record of `name`.
pub fn query_a(id: u16, name: &str) -> Result<Vec<u8>> {
    let mut out = header(id, 0x0100, 0);
    encode_name(name, &mut out)?;
    out.extend_from_slice(&[0, 1, 0, 1]);
    Ok(out)
}

/// The answer to [`query_a`]: one A record per address, TTL `ttl`, names compressed.
pub fn response_a(id: u16, name: &str, addrs: &[Ipv4Addr], ttl: u32) -> Result<Vec<u8>> {
    let count = u16::try_from(addrs.len()).map_err(|_| FixtureError::TooLong {
        what: "DNS answer count",
        len: addrs.len(),
        max: 65_535,
    })?;
    let mut out = header(id, 0x8180, count);
    encode_name(name, &mut out)?;
    out.extend_from_slice(&[0, 1, 0, 1]);
    for a in addrs {
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&[0, 4]);
        out.extend_from_slice(&a.octets());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes() {
        let q = query_a(0x1234, "crl.verisign.com").unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..16], &[3, b'c', b'r', b'l']);
        assert_eq!(q.len(), 12 + 18 + 4);
    }

    #[test]
    fn response_has_compressed_answers() {
        let r = response_a(7, "a.b", &[Ipv4Addr::new(1, 2, 3, 4)], 300).unwrap();
        assert_eq!(&r[6..8], &[0, 1]);
        assert_eq!(&r[r.len() - 16..r.len() - 14], &[0xc0, 0x0c]);
        assert_eq!(&r[r.len() - 4..], &[1, 2, 3, 4]);
    }

    #[test]
    fn bad_names_are_errors() {
        assert!(query_a(1, "a..b").is_err());
        assert!(query_a(1, &"x".repeat(64)).is_err());
    }
}
