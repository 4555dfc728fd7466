//! X.509 certificates (DER) for the TLS scenarios.
//!
//! Made once by `crates/wiretale-fixtures/certs/make-certs.sh` (OpenSSL, RSA 2048,
//! sha256WithRSAEncryption, valid 2024-01-01 to 2034-01-01) and committed; the private keys
//! were discarded. Every chain verifies with `openssl verify -attime 1709629200`.

/// `C=ZZ, O=wiretale fixtures, CN=secure.example.com`, issued by [`HTTPS_INTERMEDIATE`]. SAN
/// `secure.example.com`, `www.secure.example.com`; CRL distribution point
/// `http://crl.example.net/fixture-intermediate.crl`; AIA OCSP `http://ocsp.example.net` and
/// CA issuers `http://certs.example.net/fixture-intermediate.der`.
pub const HTTPS_SERVER: &[u8] = include_bytes!("../../certs/https-server.der");

/// `CN=Fixture Intermediate CA`, issued by [`HTTPS_ROOT`]. CRL distribution point
/// `http://crl.example.net/fixture-root.crl`; AIA OCSP `http://ocsp.example.net/root`.
pub const HTTPS_INTERMEDIATE: &[u8] = include_bytes!("../../certs/https-intermediate.der");

/// `CN=Fixture Root CA`, self-signed, no CRL/AIA extensions.
pub const HTTPS_ROOT: &[u8] = include_bytes!("../../certs/https-root.der");

/// The case study's server certificate: `C=ZZ, O=wiretale fixtures, CN=ocs.fg.example.com`,
/// issued by [`CASE_STUDY_ROOT`]; CRL distribution point `http://crl.verisign.com/pca3.crl` (the
/// URL the case study's client tried to fetch) and AIA OCSP `http://ocsp.verisign.com`.
pub const CASE_STUDY_SERVER: &[u8] = include_bytes!("../../certs/case-study-server.der");

/// `CN=Fixture Class 3 PCA` (a stand-in for VeriSign's Class 3 PCA), self-signed.
pub const CASE_STUDY_ROOT: &[u8] = include_bytes!("../../certs/case-study-root.der");

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn certificates_are_der_sequences_carrying_their_urls() {
        for c in [
            HTTPS_SERVER,
            HTTPS_INTERMEDIATE,
            HTTPS_ROOT,
            CASE_STUDY_SERVER,
            CASE_STUDY_ROOT,
        ] {
            // SEQUENCE with a two-byte long-form length covering the whole certificate.
            assert_eq!(c[0..2], [0x30, 0x82]);
            assert_eq!(usize::from(u16::from_be_bytes([c[2], c[3]])) + 4, c.len());
        }
        assert!(contains(
            CASE_STUDY_SERVER,
            b"http://crl.verisign.com/pca3.crl"
        ));
        assert!(contains(CASE_STUDY_SERVER, b"http://ocsp.verisign.com"));
        assert!(contains(
            HTTPS_SERVER,
            b"http://crl.example.net/fixture-intermediate.crl"
        ));
        assert!(contains(HTTPS_SERVER, b"http://ocsp.example.net"));
        assert!(contains(
            HTTPS_INTERMEDIATE,
            b"http://crl.example.net/fixture-root.crl"
        ));
    }
}
