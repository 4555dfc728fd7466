//! Application payloads to put in [`crate::TcpSession::send`]: HTTP messages, TLS records and
//! handshake messages, NTLM tokens, and the X.509 certificates the TLS scenarios carry. One
//! submodule per protocol; add new protocols the same way.

pub mod certs;
pub mod http;
pub mod ntlm;
pub mod tls;

/// `len` deterministic pseudo-random bytes for `seed` (SplitMix64): for TLS randoms, session
/// ids, ciphertext and other bytes that must look random but be the same every run.
pub fn deterministic_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len.saturating_add(8));
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_bytes_are_stable_and_seeded() {
        assert_eq!(deterministic_bytes(1, 20), deterministic_bytes(1, 20));
        assert_ne!(deterministic_bytes(1, 20), deterministic_bytes(2, 20));
        assert_eq!(
            &deterministic_bytes(1, 40)[..20],
            &deterministic_bytes(1, 20)[..]
        );
        // SplitMix64's first output for seed 0 (reference value of the algorithm).
        assert_eq!(
            &deterministic_bytes(0, 8)[..],
            &0xe220_a839_7b1d_cdafu64.to_le_bytes()
        );
    }
}
