//! X.509 certificate summaries: what a person diagnosing a TLS failure wants to know about each
//! certificate of a chain (names, validity, key, revocation and issuer URLs).
//!
//! Parsing is x509-parser's. Written here by hand: RFC 3339 formatting of the validity dates
//! (to avoid a direct dependency on `time`), the RSA modulus size (x509-parser's `key_size`
//! returns 0 when the modulus has no leading zero byte), the EC curve name from the key's
//! parameters, and the self-signed test.

use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    Oid, OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS, OID_PKIX_ACCESS_DESCRIPTOR_OCSP,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::reader::hex;

/// At most this many SAN entries (DNS names plus addresses) are kept per certificate.
pub const MAX_SAN_ENTRIES: usize = 1024;
/// At most this many URLs of each kind (CRL, OCSP, CA issuers) are kept per certificate.
pub const MAX_URLS: usize = 32;

/// Why a certificate could not be summarised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// x509-parser rejected the DER.
    #[error("not a valid X.509 certificate: {0}")]
    Invalid(String),
}

/// Summary of one X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    /// Subject distinguished name (`C=US, O=Example, CN=www.example.com`).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// The subject's common name, if any.
    pub subject_common_name: Option<String>,
    /// The issuer's common name, if any (read from the certificate, not from the `issuer`
    /// text, where a name may itself contain `, `).
    pub issuer_common_name: Option<String>,
    /// Serial number, lowercase hex without leading zero bytes.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC (`2014-09-24T10:08:05Z`).
    pub not_before: String,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before_epoch: i64,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// End of validity, seconds since the Unix epoch.
    pub not_after_epoch: i64,
    /// DNS names from the subjectAltName extension.
    pub san_dns: Vec<String>,
    /// IP addresses from the subjectAltName extension.
    pub san_ips: Vec<String>,
    /// The SAN list was longer than [`MAX_SAN_ENTRIES`] and was cut.
    pub san_truncated: bool,
    /// Public key algorithm: `"rsa"`, `"ec"`, `"ed25519"`, `"ed448"`, `"dsa"`, `"rsassa_pss"`
    /// or the registry short name / OID.
    pub public_key_type: String,
    /// Key size in bits (RSA modulus size, EC field size).
    pub public_key_bits: Option<u32>,
    /// EC curve name (`"secp256r1"`).
    pub public_key_curve: Option<String>,
    /// Signature algorithm short name (`"sha256WithRSAEncryption"`).
    pub signature_algorithm: String,
    /// Signature algorithm OID.
    pub signature_algorithm_oid: String,
    /// CRL distribution point URLs.
    pub crl_urls: Vec<String>,
    /// OCSP responder URLs (authorityInfoAccess).
    pub ocsp_urls: Vec<String>,
    /// CA issuer certificate URLs (authorityInfoAccess).
    pub ca_issuers_urls: Vec<String>,
    /// Subject equals issuer (and the key identifiers agree when both are present). The
    /// signature itself is not verified.
    pub self_signed: bool,
    /// basicConstraints says this is a CA.
    pub is_ca: bool,
    /// Length of the DER encoding.
    pub der_length: usize,
    /// SHA-256 of the DER encoding, lowercase hex (what browsers show as the fingerprint).
    pub sha256_fingerprint: String,
}

impl CertificateInfo {
    /// Whether the certificate is within its validity period at `epoch_secs` (inclusive).
    pub fn valid_at(&self, epoch_secs: i64) -> bool {
        self.not_before_epoch <= epoch_secs && epoch_secs <= self.not_after_epoch
    }

    /// Summarises a DER-encoded certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        recent::summary(der, |der| {
            let (_, cert) = X509Certificate::from_der(der)
                .map_err(|e| CertificateError::Invalid(e.to_string()))?;
            Ok(summarise(&cert, der))
        })
    }
}

/// Summaries of the certificates seen last. A server presents the same chain on every
/// connection, and parsing X.509 took 15 % of the analysis of a mixed capture; a summary
/// depends on the DER bytes only, so identical bytes (compared in full) reuse it.
mod recent {
    use super::super::recent::Recent;
    use super::{CertificateError, CertificateInfo};
    use std::cell::RefCell;

    /// The largest certificate kept: at most 1 MiB in all.
    const MAX_DER: usize = 16 * 1024;

    type Summary = Result<CertificateInfo, CertificateError>;

    thread_local! {
        static RECENT: RefCell<Recent<Box<[u8]>, Summary>> = const { RefCell::new(Recent::new()) };
    }

    /// The summary of `der`, from the cache or made by `make` (and kept).
    pub(super) fn summary(der: &[u8], make: impl FnOnce(&[u8]) -> Summary) -> Summary {
        if der.len() > MAX_DER {
            return make(der);
        }
        let hash = Recent::<Box<[u8]>, Summary>::hash_of(der);
        if let Some(summary) = RECENT.with_borrow(|r| r.find(hash, |k| **k == *der)) {
            return summary;
        }
        let summary = make(der);
        RECENT.with_borrow_mut(|r| r.keep(hash, der.into(), summary.clone()));
        summary
    }
}

fn summarise(cert: &X509Certificate<'_>, der: &[u8]) -> CertificateInfo {
    let tbs = &cert.tbs_certificate;
    let validity = tbs.validity();
    let not_before_epoch = validity.not_before.timestamp();
    let not_after_epoch = validity.not_after.timestamp();

    let mut info = CertificateInfo {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        subject_common_name: tbs
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned),
        issuer_common_name: tbs
            .issuer()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned),
        serial: serial_hex(tbs.raw_serial()),
        not_before: rfc3339(not_before_epoch),
        not_before_epoch,
        not_after: rfc3339(not_after_epoch),
        not_after_epoch,
        san_dns: Vec::new(),
        san_ips: Vec::new(),
        san_truncated: false,
        public_key_type: String::new(),
        public_key_bits: None,
        public_key_curve: None,
        signature_algorithm: oid_short_name(&cert.signature_algorithm.algorithm),
        signature_algorithm_oid: cert.signature_algorithm.algorithm.to_id_string(),
        crl_urls: Vec::new(),
        ocsp_urls: Vec::new(),
        ca_issuers_urls: Vec::new(),
        self_signed: false,
        is_ca: false,
        der_length: der.len(),
        sha256_fingerprint: hex(&Sha256::digest(der)),
    };
    describe_public_key(cert, &mut info);

    let mut subject_key_id: Option<&[u8]> = None;
    let mut authority_key_id: Option<&[u8]> = None;
    for ext in tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    if info.san_dns.len() + info.san_ips.len() >= MAX_SAN_ENTRIES {
                        info.san_truncated = true;
                        break;
                    }
                    match name {
                        GeneralName::DNSName(dns) => info.san_dns.push((*dns).to_owned()),
                        GeneralName::IPAddress(bytes) => info.san_ips.push(ip_text(bytes)),
                        _ => {}
                    }
                }
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        push_uris(&mut info.crl_urls, names);
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for access in aia.iter() {
                    let target = if access.access_method == OID_PKIX_ACCESS_DESCRIPTOR_OCSP {
                        &mut info.ocsp_urls
                    } else if access.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS {
                        &mut info.ca_issuers_urls
                    } else {
                        continue;
                    };
                    push_uris(target, core::slice::from_ref(&access.access_location));
                }
            }
            ParsedExtension::BasicConstraints(bc) => info.is_ca = bc.ca,
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(id.0),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key_id = aki.key_identifier.as_ref().map(|id| id.0);
            }
            _ => {}
        }
    }
    let same_name = tbs.subject().as_raw() == tbs.issuer().as_raw();
    let keys_agree = match (subject_key_id, authority_key_id) {
        (Some(s), Some(a)) => s == a,
        _ => true,
    };
    info.self_signed = same_name && keys_agree;
    info
}

fn push_uris(target: &mut Vec<String>, names: &[GeneralName<'_>]) {
    for name in names {
        if let GeneralName::URI(uri) = name {
            if target.len() < MAX_URLS {
                target.push((*uri).to_owned());
            }
        }
    }
}

fn describe_public_key(cert: &X509Certificate<'_>, info: &mut CertificateInfo) {
    let spki = cert.tbs_certificate.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    let kind = match oid.as_str() {
        "1.2.840.113549.1.1.1" => "rsa",
        "1.2.840.10045.2.1" => "ec",
        "1.3.101.112" => "ed25519",
        "1.3.101.113" => "ed448",
        "1.3.101.110" => "x25519",
        "1.3.101.111" => "x448",
        "1.2.840.10040.4.1" => "dsa",
        "1.2.840.113549.1.1.10" => "rsassa_pss",
        _ => "",
    };
    info.public_key_type = if kind.is_empty() {
        oid_short_name(&spki.algorithm.algorithm)
    } else {
        kind.to_owned()
    };
    match kind {
        "ed25519" | "x25519" => info.public_key_bits = Some(256),
        "ed448" | "x448" => info.public_key_bits = Some(456),
        _ => {}
    }
    if kind == "ec" {
        let curve_oid = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| Oid::try_from(p).ok())
            .map(|o| o.to_id_string());
        if let Some(curve_oid) = curve_oid {
            let (name, bits) = ec_curve(&curve_oid);
            info.public_key_curve = Some(name.map_or(curve_oid.clone(), str::to_owned));
            info.public_key_bits = bits;
        }
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => info.public_key_bits = Some(unsigned_bits(rsa.modulus)),
        Ok(PublicKey::DSA(y)) if info.public_key_bits.is_none() => {
            info.public_key_bits = Some(unsigned_bits(y));
        }
        Ok(PublicKey::EC(point)) if info.public_key_bits.is_none() => {
            let bits = point.key_size();
            if bits > 0 {
                info.public_key_bits = u32::try_from(bits).ok();
            }
        }
        _ => {}
    }
}

/// Name and field size of a named EC curve, by OID.
fn ec_curve(oid: &str) -> (Option<&'static str>, Option<u32>) {
    match oid {
        "1.2.840.10045.3.1.7" => (Some("secp256r1"), Some(256)),
        "1.3.132.0.34" => (Some("secp384r1"), Some(384)),
        "1.3.132.0.35" => (Some("secp521r1"), Some(521)),
        "1.3.132.0.10" => (Some("secp256k1"), Some(256)),
        "1.2.840.10045.3.1.1" => (Some("secp192r1"), Some(192)),
        "1.3.132.0.33" => (Some("secp224r1"), Some(224)),
        "1.3.36.3.3.2.8.1.1.7" => (Some("brainpoolP256r1"), Some(256)),
        "1.3.36.3.3.2.8.1.1.11" => (Some("brainpoolP384r1"), Some(384)),
        "1.3.36.3.3.2.8.1.1.13" => (Some("brainpoolP512r1"), Some(512)),
        _ => (None, None),
    }
}

/// Bit length of a big-endian unsigned integer (leading zero bytes ignored).
fn unsigned_bits(bytes: &[u8]) -> u32 {
    let significant: &[u8] = match bytes.iter().position(|&b| b != 0) {
        Some(first) => bytes.get(first..).unwrap_or_default(),
        None => return 0,
    };
    let Some(&top) = significant.first() else {
        return 0;
    };
    let whole = u32::try_from(significant.len().saturating_sub(1))
        .unwrap_or(u32::MAX / 16)
        .saturating_mul(8);
    whole.saturating_add(8 - top.leading_zeros())
}

fn oid_short_name(oid: &Oid<'_>) -> String {
    match x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        Ok(name) => name.to_owned(),
        Err(_) => oid.to_id_string(),
    }
}

fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex(raw.get(start..).unwrap_or(raw))
}

fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    hex(bytes)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
///
/// Uses Howard Hinnant's days-to-civil algorithm; valid for the whole `i64` second range that
/// maps to years −999999..=999999 (X.509 dates are years 0..=9999).
pub fn rfc3339(epoch_secs: i64) -> String {
    let days = epoch_secs.div_euclid(86_400);
    let secs_of_day = epoch_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        (secs_of_day % 3600) / 60,
        secs_of_day % 60
    )
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era.saturating_mul(400) + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_411_553_285), "2014-09-24T10:08:05Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        // Never panics, whatever the input.
        let _ = rfc3339(i64::MIN);
        let _ = rfc3339(i64::MAX);
    }

    #[test]
    fn bit_lengths_ignore_leading_zero_bytes() {
        assert_eq!(unsigned_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(unsigned_bits(&[0x01]), 1);
        assert_eq!(unsigned_bits(&[0, 0]), 0);
        assert_eq!(unsigned_bits(&[]), 0);
        let mut modulus = vec![0u8; 257];
        modulus[1] = 0xc3;
        assert_eq!(unsigned_bits(&modulus), 2048);
    }

    #[test]
    fn serials_drop_sign_padding() {
        assert_eq!(serial_hex(&[0x00, 0x8a, 0x01]), "8a01");
        assert_eq!(serial_hex(&[0x02, 0x3a, 0x76]), "023a76");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(CertificateInfo::from_der(&[]).is_err());
        assert!(CertificateInfo::from_der(&[0x30, 0x82, 0xff, 0xff, 0x01]).is_err());
    }

    #[test]
    fn recent_summaries_are_reused_only_for_identical_bytes() {
        use wiretale_fixtures::payloads::certs;
        let fresh = |der: &[u8]| {
            let (_, cert) = X509Certificate::from_der(der).unwrap();
            summarise(&cert, der)
        };
        let server = CertificateInfo::from_der(certs::HTTPS_SERVER).unwrap();
        assert_eq!(server, fresh(certs::HTTPS_SERVER));
        assert_eq!(
            CertificateInfo::from_der(certs::HTTPS_SERVER).unwrap(),
            server
        );
        // Same length, one byte different (in the signature): its own summary or error.
        let mut changed = certs::HTTPS_SERVER.to_vec();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        let other = CertificateInfo::from_der(&changed).unwrap();
        assert_ne!(other.sha256_fingerprint, server.sha256_fingerprint);
        // More distinct certificates than the cache holds: every answer still right.
        for n in 0..100u8 {
            let mut der = certs::HTTPS_INTERMEDIATE.to_vec();
            let last = der.len() - 1;
            der[last] = n;
            assert_eq!(CertificateInfo::from_der(&der).unwrap(), fresh(&der));
        }
        assert_eq!(
            CertificateInfo::from_der(certs::HTTPS_SERVER).unwrap(),
            server
        );
        assert!(CertificateInfo::from_der(&[0x30, 0x00]).is_err());
        assert!(
            CertificateInfo::from_der(&[0x30, 0x00]).is_err(),
            "cached errors too"
        );
    }
}
