//! Decoding of one complete, plaintext TLS handshake message body (the stream parser does the
//! reassembly). Pure functions of bytes plus the little context earlier messages give (the
//! negotiated version and cipher suite), which some bodies need to be read correctly.
//!
//! tls-parser reads the Certificate, ServerKeyExchange parameters, NewSessionTicket and
//! CertificateStatus bodies. Written by hand: CertificateRequest (tls-parser guesses whether the
//! TLS 1.2 signature-algorithm list is present; the negotiated version decides it here) and
//! CertificateVerify (a two-byte header).

use tls_parser::{ECParametersContent, TlsCipherKx, TlsCipherSuite, TlsMessageHandshake};
use x509_parser::prelude::{FromDer, X509Name};

use super::cert::CertificateInfo;
use super::error::DecodeError;
use super::hello;
use super::message::{
    CertificateChain, CertificateRequest, HandshakeBody, ServerKeyExchange, UndecodableCertificate,
};
use super::names::{handshake_type_name, named_group_name, signature_scheme_name};
use super::reader::{u16_list, Reader};

/// At most this many certificates of one chain are decoded (the rest are only counted).
pub const MAX_CHAIN_CERTIFICATES: usize = 16;
/// At most this many CA names of a CertificateRequest are kept.
pub const MAX_CA_NAMES: usize = 64;

/// What the connection has negotiated so far, needed to read some bodies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeContext {
    /// The negotiated protocol version, once the ServerHello was seen.
    pub version: Option<u16>,
    /// The negotiated cipher suite, once the ServerHello was seen.
    pub cipher_suite: Option<u16>,
}

/// Decodes the body of a handshake message of type `handshake_type`. Returns the message name
/// (which differs from the type's name for a HelloRetryRequest) and the decoded body; a body that
/// cannot be decoded becomes [`HandshakeBody::Malformed`].
pub fn decode_body(
    handshake_type: u8,
    body: &[u8],
    context: &DecodeContext,
) -> (&'static str, HandshakeBody) {
    let mut name = handshake_type_name(handshake_type);
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let result: Result<HandshakeBody, DecodeError> = match handshake_type {
        1 => hello::decode_client_hello(body).map(|h| HandshakeBody::ClientHello(Box::new(h))),
        2 => hello::decode_server_hello(body).map(|h| {
            if h.hello_retry_request {
                name = "hello_retry_request";
            }
            HandshakeBody::ServerHello(Box::new(h))
        }),
        4 => decode_new_session_ticket(body),
        11 => decode_certificate(body).map(HandshakeBody::Certificate),
        12 => Ok(HandshakeBody::ServerKeyExchange(
            decode_server_key_exchange(body, context),
        )),
        13 => decode_certificate_request(body, context).map(HandshakeBody::CertificateRequest),
        15 => Ok(decode_certificate_verify(body, context)),
        16 => Ok(HandshakeBody::ClientKeyExchange { length }),
        20 => Ok(HandshakeBody::Finished {
            verify_data_length: length,
        }),
        22 => tls_parser::parse_tls_handshake_certificatestatus(body)
            .map(|(_, status)| HandshakeBody::CertificateStatus {
                status_type: status.status_type,
                response_length: status.blob.len(),
            })
            .map_err(|_| DecodeError::Truncated("certificate_status")),
        24 => Reader::new(body)
            .u8()
            .map(|request| HandshakeBody::KeyUpdate {
                update_requested: request == 1,
            })
            .ok_or(DecodeError::Truncated("key_update")),
        _ => Ok(HandshakeBody::Other),
    };
    let body = result.unwrap_or_else(|e| HandshakeBody::Malformed {
        error: e.to_string(),
    });
    (name, body)
}

fn decode_new_session_ticket(body: &[u8]) -> Result<HandshakeBody, DecodeError> {
    let parsed = tls_parser::parse_tls_handshake_msg_newsessionticket(body, body.len());
    match parsed {
        Ok((_, TlsMessageHandshake::NewSessionTicket(ticket))) => {
            // TLS ≤ 1.2: the ticket is a vector with a two-byte length.
            let ticket_length = Reader::new(ticket.ticket)
                .vec_u16()
                .map_or(ticket.ticket.len(), <[u8]>::len);
            Ok(HandshakeBody::NewSessionTicket {
                lifetime_hint_secs: ticket.ticket_lifetime_hint,
                ticket_length,
            })
        }
        _ => Err(DecodeError::Truncated("new_session_ticket")),
    }
}

/// Decodes a TLS ≤ 1.2 Certificate body into the chain of certificate summaries.
pub fn decode_certificate(body: &[u8]) -> Result<CertificateChain, DecodeError> {
    let (_, parsed) = tls_parser::parse_tls_handshake_msg_certificate(body)
        .map_err(|_| DecodeError::Truncated("certificate"))?;
    let TlsMessageHandshake::Certificate(contents) = parsed else {
        return Err(DecodeError::Invalid("certificate"));
    };
    let mut chain = CertificateChain {
        count: contents.cert_chain.len(),
        certificates: Vec::new(),
        undecodable: Vec::new(),
    };
    for (index, raw) in contents
        .cert_chain
        .iter()
        .enumerate()
        .take(MAX_CHAIN_CERTIFICATES)
    {
        match CertificateInfo::from_der(raw.data) {
            Ok(info) => chain.certificates.push(info),
            Err(e) => chain.undecodable.push(UndecodableCertificate {
                index,
                length: raw.data.len(),
                error: e.to_string(),
            }),
        }
    }
    Ok(chain)
}

/// Summarises a ServerKeyExchange: the curve of ECDHE, the prime size of DHE.
pub fn decode_server_key_exchange(body: &[u8], context: &DecodeContext) -> ServerKeyExchange {
    let kx = context
        .cipher_suite
        .and_then(TlsCipherSuite::from_id)
        .map(|suite| suite.kx);
    let mut out = ServerKeyExchange {
        key_exchange: "unknown",
        named_group: None,
        named_group_name: None,
        dh_prime_bits: None,
    };
    // Without a known cipher suite, a first byte of 3 (named_curve) is taken as ECDHE.
    let try_ecdhe = match kx {
        Some(TlsCipherKx::Ecdhe) => true,
        Some(_) => false,
        None => body.first() == Some(&3),
    };
    if try_ecdhe {
        out.key_exchange = "ecdhe";
        if let Ok((_, params)) = tls_parser::parse_ecdh_params(body) {
            if let ECParametersContent::NamedGroup(group) = params.curve_params.params_content {
                out.named_group = Some(group.0);
                out.named_group_name = Some(named_group_name(group.0));
            }
        }
    } else if matches!(kx, Some(TlsCipherKx::Dhe)) {
        out.key_exchange = "dhe";
        if let Ok((_, params)) = tls_parser::parse_dh_params(body) {
            let p = params.dh_p;
            let significant = p.iter().skip_while(|&&b| b == 0).count();
            let top = p.iter().find(|&&b| b != 0).copied().unwrap_or(0);
            let bits = significant
                .saturating_sub(1)
                .saturating_mul(8)
                .saturating_add(8usize.saturating_sub(top.leading_zeros() as usize));
            out.dh_prime_bits = u32::try_from(bits).ok();
        }
    }
    out
}

/// Decodes a CertificateRequest (TLS ≤ 1.2 layout; the signature algorithm list exists from
/// TLS 1.2 on, and is assumed when the version is not known yet).
pub fn decode_certificate_request(
    body: &[u8],
    context: &DecodeContext,
) -> Result<CertificateRequest, DecodeError> {
    let t = DecodeError::Truncated("certificate_request");
    let mut r = Reader::new(body);
    let certificate_types = r.vec_u8().ok_or(t.clone())?.to_vec();
    let has_sigalgs = context.version.is_none_or(|v| v >= 0x0303);
    let signature_algorithms = if has_sigalgs {
        u16_list(r.vec_u16().ok_or(t.clone())?)
    } else {
        Vec::new()
    };
    let mut cas = Reader::new(r.vec_u16().ok_or(t)?);
    let mut certificate_authorities = Vec::new();
    while let Some(dn) = cas.vec_u16() {
        if certificate_authorities.len() >= MAX_CA_NAMES {
            break;
        }
        let text = X509Name::from_der(dn)
            .map(|(_, name)| name.to_string())
            .unwrap_or_else(|_| format!("<undecodable name, {} bytes>", dn.len()));
        certificate_authorities.push(text);
    }
    Ok(CertificateRequest {
        certificate_types,
        signature_algorithms: signature_algorithms
            .into_iter()
            .take(hello::MAX_LIST_ITEMS)
            .collect(),
        certificate_authorities,
    })
}

fn decode_certificate_verify(body: &[u8], context: &DecodeContext) -> HandshakeBody {
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    // TLS 1.2+: SignatureScheme then a vector; before: the vector alone. Decide by the version,
    // or by which layout fits exactly when the version is unknown.
    let mut r = Reader::new(body);
    let scheme = r.u16();
    let fits_with_scheme = r.vec_u16().is_some() && r.is_empty();
    let has_scheme = match context.version {
        Some(v) => v >= 0x0303 && fits_with_scheme,
        None => fits_with_scheme,
    };
    let signature_algorithm = if has_scheme { scheme } else { None };
    HandshakeBody::CertificateVerify {
        length,
        signature_algorithm,
        signature_algorithm_name: signature_algorithm.map(signature_scheme_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdhe_server_key_exchange_names_the_curve() {
        // named_curve(3) secp256r1(23), point of 3 bytes, then a signature we ignore.
        let body = [3, 0, 23, 3, 4, 1, 2, 0x04, 0x01, 0, 0];
        let ctx = DecodeContext {
            version: Some(0x0303),
            cipher_suite: Some(0xc02f),
        };
        let ske = decode_server_key_exchange(&body, &ctx);
        assert_eq!(ske.key_exchange, "ecdhe");
        assert_eq!(ske.named_group, Some(23));
        assert_eq!(ske.named_group_name, Some("secp256r1"));
        let unknown = decode_server_key_exchange(&body, &DecodeContext::default());
        assert_eq!(unknown.named_group_name, Some("secp256r1"));
    }

    #[test]
    fn dhe_server_key_exchange_measures_the_prime() {
        // dh_p: 256 bytes, top bit set; dh_g: 2; dh_Ys: 1 byte.
        let mut body = vec![0x01, 0x00, 0x80];
        body.extend([0xffu8; 255]);
        body.extend([0, 1, 2, 0, 1, 5]);
        let ctx = DecodeContext {
            version: Some(0x0303),
            cipher_suite: Some(0x009e),
        };
        let ske = decode_server_key_exchange(&body, &ctx);
        assert_eq!(ske.key_exchange, "dhe");
        assert_eq!(ske.dh_prime_bits, Some(2048));
    }

    #[test]
    fn certificate_request_layout_follows_the_version() {
        // TLS 1.0 layout: types [1, 64], no sigalgs, empty CA list.
        let old = [2, 1, 64, 0, 0];
        let ctx10 = DecodeContext {
            version: Some(0x0301),
            cipher_suite: None,
        };
        let req = decode_certificate_request(&old, &ctx10).unwrap();
        assert_eq!(req.certificate_types, vec![1, 64]);
        assert!(req.signature_algorithms.is_empty());
        // TLS 1.2 layout with one sigalg.
        let new = [1, 1, 0, 2, 4, 1, 0, 0];
        let req = decode_certificate_request(&new, &DecodeContext::default()).unwrap();
        assert_eq!(req.signature_algorithms, vec![0x0401]);
        assert!(decode_certificate_request(&[5, 1], &ctx10).is_err());
    }

    #[test]
    fn certificate_verify_scheme() {
        let body = [0x08, 0x04, 0x00, 0x02, 0xaa, 0xbb];
        let ctx = DecodeContext {
            version: Some(0x0303),
            cipher_suite: None,
        };
        assert_eq!(
            decode_certificate_verify(&body, &ctx),
            HandshakeBody::CertificateVerify {
                length: 6,
                signature_algorithm: Some(0x0804),
                signature_algorithm_name: Some("rsa_pss_rsae_sha256"),
            }
        );
        let tls10 = DecodeContext {
            version: Some(0x0301),
            cipher_suite: None,
        };
        assert!(matches!(
            decode_certificate_verify(&body, &tls10),
            HandshakeBody::CertificateVerify {
                signature_algorithm: None,
                ..
            }
        ));
    }

    #[test]
    fn session_ticket_lifetime() {
        let body = [0, 0, 0x1c, 0x20, 0, 3, 1, 2, 3];
        assert_eq!(
            decode_body(4, &body, &DecodeContext::default()).1,
            HandshakeBody::NewSessionTicket {
                lifetime_hint_secs: 7200,
                ticket_length: 3
            }
        );
    }

    #[test]
    fn every_type_survives_short_bodies() {
        let ctx = DecodeContext::default();
        for t in 0..=255u8 {
            for len in 0..8 {
                let body = vec![0xffu8; len];
                let _ = decode_body(t, &body, &ctx);
            }
        }
    }
}
