//! ICMPv4 echo messages.

use super::checksum::internet_checksum;

/// An ICMPv4 echo request (`request`) or reply with identifier, sequence number and data.
pub fn echo(request: bool, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().saturating_add(8));
    out.extend_from_slice(&[if request { 8 } else { 0 }, 0, 0, 0]);
    out.extend_from_slice(&ident.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(data);
    let sum = internet_checksum(&out);
    if let Some(field) = out.get_mut(2..4) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_checksums_to_zero() {
        let m = echo(true, 1, 2, b"abcdefgh");
        assert_eq!(m[0], 8);
        assert_eq!(internet_checksum(&m), 0);
        assert_eq!(echo(false, 1, 2, b"")[0], 0);
    }
}
