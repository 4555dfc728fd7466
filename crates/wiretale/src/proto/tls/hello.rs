//! ClientHello and ServerHello decoding.
//!
//! The fixed fields come from tls-parser (`parse_tls_handshake_client_hello`,
//! `parse_tls_handshake_server_hello`) and each extension's contents from its per-extension
//! parsers. The extension *list* is walked here by hand: tls-parser stops at the first extension
//! whose contents it cannot parse, which would silently drop the ids of the following ones from
//! JA3/JA4; walking the list first keeps every id even when one body is malformed.

use tls_parser::{TlsExtension, TlsMessageHandshake};

use super::error::DecodeError;
use super::fingerprint::{self, ClientHelloFields};
use super::message::{CipherSuite, ClientHello, ExtensionInfo, ServerHello};
use super::names::{extension_name, is_grease, named_group_name, version_name};
use super::reader::{hex, Reader};

/// Lists (cipher suites, extensions, groups, ...) keep at most this many entries; the
/// fingerprints are computed from the full lists before cutting.
pub const MAX_LIST_ITEMS: usize = 1024;

/// The `random` of a ServerHello that is really a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

fn nom_error<E>(err: &tls_parser::nom::Err<E>, what: &'static str) -> DecodeError {
    match err {
        tls_parser::nom::Err::Incomplete(_) => DecodeError::Truncated(what),
        _ => DecodeError::Invalid(what),
    }
}

/// One extension as found by the hand walk: its type, its data, and the whole encoding
/// (type + length + data) to hand to tls-parser.
struct RawExtension<'a> {
    id: u16,
    data: &'a [u8],
    whole: &'a [u8],
}

/// Walks an extension block (without its 2-byte total length). Stops at the first extension
/// that does not fit; returns whether the block was well formed.
fn walk_extensions(block: &[u8]) -> (Vec<RawExtension<'_>>, bool) {
    let mut out = Vec::new();
    let mut rest = block;
    while !rest.is_empty() {
        let mut r = Reader::new(rest);
        let (Some(id), Some(data)) = (r.u16(), r.vec_u16()) else {
            return (out, false);
        };
        let used = rest.len() - r.remaining();
        let whole = rest.get(..used).unwrap_or_default();
        out.push(RawExtension { id, data, whole });
        rest = r.rest();
    }
    (out, true)
}

fn extension_infos(raw: &[RawExtension<'_>]) -> Vec<ExtensionInfo> {
    raw.iter()
        .take(MAX_LIST_ITEMS)
        .map(|e| ExtensionInfo {
            id: e.id,
            name: extension_name(e.id),
            length: u16::try_from(e.data.len()).unwrap_or(u16::MAX),
        })
        .collect()
}

fn capped<T: Clone>(items: &[T], truncated: &mut bool) -> Vec<T> {
    if items.len() > MAX_LIST_ITEMS {
        *truncated = true;
    }
    items.iter().take(MAX_LIST_ITEMS).cloned().collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes a TLS ClientHello body (after the 4-byte handshake header).
pub fn decode_client_hello(body: &[u8]) -> Result<ClientHello, DecodeError> {
    let (_, hello) = tls_parser::parse_tls_handshake_client_hello(body)
        .map_err(|e| nom_error(&e, "client_hello"))?;
    let (raw_ext, _well_formed) = walk_extensions(hello.ext.unwrap_or_default());

    let cipher_ids: Vec<u16> = hello.ciphers.iter().map(|c| c.0).collect();
    let extension_ids: Vec<u16> = raw_ext.iter().map(|e| e.id).collect();
    let mut server_name = None;
    let mut alpn_raw: Vec<&[u8]> = Vec::new();
    let mut groups: Vec<u16> = Vec::new();
    let mut point_formats: &[u8] = &[];
    let mut sigalgs: Vec<u16> = Vec::new();
    let mut versions: Vec<u16> = Vec::new();
    let mut session_ticket_length = None;
    let mut offers_psk = false;
    let mut offers_early_data = false;

    for ext in &raw_ext {
        match ext.id {
            35 => session_ticket_length = Some(ext.data.len()),
            41 => offers_psk = true,
            42 => offers_early_data = true,
            _ => {}
        }
        if is_grease(ext.id) {
            continue;
        }
        let Ok((_, parsed)) = tls_parser::parse_tls_client_hello_extension(ext.whole) else {
            continue;
        };
        match parsed {
            TlsExtension::SNI(names) => {
                server_name = names
                    .iter()
                    .find(|(kind, _)| kind.0 == 0)
                    .map(|(_, name)| text(name));
            }
            TlsExtension::ALPN(protocols) => alpn_raw = protocols,
            TlsExtension::EllipticCurves(list) => groups = list.iter().map(|g| g.0).collect(),
            TlsExtension::EcPointFormats(list) => point_formats = list,
            TlsExtension::SignatureAlgorithms(list) => sigalgs = list,
            TlsExtension::SupportedVersions(list) => versions = list.iter().map(|v| v.0).collect(),
            _ => {}
        }
    }

    let fields = ClientHelloFields {
        legacy_version: hello.version.0,
        cipher_suites: &cipher_ids,
        extensions: &extension_ids,
        supported_groups: &groups,
        ec_point_formats: point_formats,
        signature_algorithms: &sigalgs,
        supported_versions: &versions,
        first_alpn: alpn_raw.first().copied(),
    };
    let ja3 = fingerprint::ja3(&fields);
    let (ja4, ja4_r) = fingerprint::ja4(&fields);
    let highest_version = versions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .max()
        .unwrap_or(hello.version.0);

    let mut truncated = raw_ext.len() > MAX_LIST_ITEMS;
    let compression: Vec<u8> = hello.comp.iter().map(|c| c.0).collect();
    Ok(ClientHello {
        legacy_version: hello.version.0,
        legacy_version_name: version_name(hello.version.0),
        supported_versions: capped(&versions, &mut truncated),
        highest_version,
        highest_version_name: version_name(highest_version),
        server_name,
        alpn: alpn_raw
            .iter()
            .take(MAX_LIST_ITEMS)
            .map(|p| text(p))
            .collect(),
        cipher_suites: capped(&cipher_ids, &mut truncated)
            .into_iter()
            .map(CipherSuite::new)
            .collect(),
        compression_methods: capped(&compression, &mut truncated),
        extensions: extension_infos(&raw_ext),
        session_id: hex(hello.session_id.unwrap_or_default()),
        supported_groups: capped(&groups, &mut truncated),
        ec_point_formats: capped(point_formats, &mut truncated),
        signature_algorithms: capped(&sigalgs, &mut truncated),
        session_ticket_length,
        offers_psk,
        offers_early_data,
        fallback_scsv: cipher_ids.contains(&0x5600),
        sslv2_format: false,
        sslv2_cipher_specs: Vec::new(),
        lists_truncated: truncated,
        ja3: Some(ja3),
        ja4: Some(ja4),
        ja4_r: Some(ja4_r),
    })
}

/// Decodes a ServerHello body (after the 4-byte handshake header); also recognises a TLS 1.3
/// HelloRetryRequest by its random.
pub fn decode_server_hello(body: &[u8]) -> Result<ServerHello, DecodeError> {
    let (rest, parsed) = tls_parser::parse_tls_handshake_msg_server_hello(body)
        .map_err(|e| nom_error(&e, "server_hello"))?;
    let TlsMessageHandshake::ServerHello(hello) = parsed else {
        return Err(DecodeError::Invalid("server_hello version (TLS 1.3 draft)"));
    };
    // tls-parser reads no extensions for SSL 3.0, which may still carry some (e.g.
    // renegotiation_info): read the block left over by hand.
    let ext_block = match hello.ext {
        Some(block) => block,
        None => Reader::new(rest).vec_u16().unwrap_or_default(),
    };
    let (raw_ext, _well_formed) = walk_extensions(ext_block);

    let hello_retry_request = hello.random == HELLO_RETRY_REQUEST_RANDOM;
    let mut selected_version = hello.version.0;
    let mut alpn = None;
    let mut key_share_group = None;
    let mut psk_selected = false;
    let mut will_send_ticket = false;
    for ext in &raw_ext {
        match ext.id {
            // key_share: the selected group comes first (ServerHello: KeyShareEntry, HRR: the
            // group alone).
            51 => key_share_group = Reader::new(ext.data).u16(),
            41 => psk_selected = true,
            35 => will_send_ticket = true,
            _ => {}
        }
        let Ok((_, parsed)) = tls_parser::parse_tls_server_hello_extension(ext.whole) else {
            continue;
        };
        match parsed {
            TlsExtension::SupportedVersions(list) => {
                if let Some(v) = list.first() {
                    selected_version = v.0;
                }
            }
            TlsExtension::ALPN(protocols) => alpn = protocols.first().map(|p| text(p)),
            _ => {}
        }
    }

    let downgrade_sentinel = match hello.random.get(24..) {
        Some([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01]) => Some("tls12"),
        Some([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00]) => Some("tls11_or_below"),
        _ => None,
    };
    let extension_ids: Vec<u16> = raw_ext.iter().map(|e| e.id).collect();
    Ok(ServerHello {
        legacy_version: hello.version.0,
        legacy_version_name: version_name(hello.version.0),
        selected_version,
        selected_version_name: version_name(selected_version),
        cipher_suite: CipherSuite::new(hello.cipher.0),
        compression_method: hello.compression.0,
        session_id: hex(hello.session_id.unwrap_or_default()),
        extensions: extension_infos(&raw_ext),
        alpn,
        hello_retry_request,
        key_share_group,
        key_share_group_name: key_share_group.map(named_group_name),
        psk_selected,
        will_send_ticket,
        downgrade_sentinel,
        ja3s: fingerprint::ja3s(hello.version.0, hello.cipher.0, &extension_ids),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built ClientHello: TLS 1.2, two suites plus GREASE, SNI, ALPN h2, one malformed
    /// extension body (supported_groups with an odd length) followed by a valid one.
    fn sample_client_hello() -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend([0x11; 32]); // random
        b.push(4);
        b.extend([0xaa, 0xbb, 0xcc, 0xdd]); // session id
        b.extend([0x00, 0x06, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f]);
        b.extend([0x01, 0x00]); // compression: null
        let mut ext = Vec::new();
        // server_name "a.example"
        let name = b"a.example";
        ext.extend([0x00, 0x00, 0x00, 14, 0x00, 12, 0x00, 0x00, 9]);
        ext.extend(name);
        // ALPN h2, http/1.1
        ext.extend([0x00, 0x10, 0x00, 14, 0x00, 12, 2, b'h', b'2', 8]);
        ext.extend(b"http/1.1");
        // supported_groups, malformed (odd inner length)
        ext.extend([0x00, 0x0a, 0x00, 3, 0x00, 1, 0x17]);
        // supported_versions: GREASE, 1.3, 1.2
        ext.extend([0x00, 0x2b, 0x00, 7, 6, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03]);
        b.extend(u16::try_from(ext.len()).unwrap().to_be_bytes());
        b.extend(ext);
        b
    }

    #[test]
    fn client_hello_fields() {
        let hello = decode_client_hello(&sample_client_hello()).unwrap();
        assert_eq!(hello.legacy_version, 0x0303);
        assert_eq!(hello.highest_version, 0x0304);
        assert_eq!(hello.highest_version_name, "TLS 1.3");
        assert_eq!(hello.server_name.as_deref(), Some("a.example"));
        assert_eq!(hello.alpn, vec!["h2", "http/1.1"]);
        assert_eq!(hello.session_id, "aabbccdd");
        let ids: Vec<u16> = hello.cipher_suites.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![0x0a0a, 0x1301, 0xc02f]);
        assert_eq!(hello.cipher_suites[0].name, Some("GREASE"));
        let ext: Vec<u16> = hello.extensions.iter().map(|e| e.id).collect();
        // The malformed supported_groups body does not hide the extension after it.
        assert_eq!(ext, vec![0, 16, 10, 43]);
        assert_eq!(hello.extensions[3].name, "supported_versions");
        let ja3 = hello.ja3.unwrap();
        assert_eq!(ja3.string, "771,4865-49199,0-16-10-43,,");
        assert!(hello.ja4.unwrap().starts_with("t13d0204h2_"));
    }

    #[test]
    fn server_hello_retry_request() {
        let mut b = vec![0x03, 0x03];
        b.extend(HELLO_RETRY_REQUEST_RANDOM);
        b.push(0);
        b.extend([0x13, 0x01, 0x00]);
        let ext = [
            0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x02, 0x00, 0x17,
        ];
        b.extend(u16::try_from(ext.len()).unwrap().to_be_bytes());
        b.extend(ext);
        let hello = decode_server_hello(&b).unwrap();
        assert!(hello.hello_retry_request);
        assert_eq!(hello.selected_version, 0x0304);
        assert_eq!(hello.key_share_group, Some(23));
        assert_eq!(hello.key_share_group_name, Some("secp256r1"));
        assert_eq!(hello.cipher_suite.name, Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(hello.ja3s.string, "771,4865,43-51");
    }

    #[test]
    fn truncated_hellos_are_errors() {
        let hello = sample_client_hello();
        for cut in 0..40 {
            assert!(decode_client_hello(&hello[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_server_hello(&[0x03, 0x03, 1, 2]).is_err());
        assert!(decode_server_hello(&[]).is_err());
    }
}
