//! TLS scenarios: an HTTPS CONNECT tunnel with a certificate chain, and a handshake failure.

use std::time::Duration;

use super::proxy::{CLIENT, PROXY, PROXY_PORT};
use super::{at, frames, v4, Format, Scenario};
use crate::capture::Capture;
use crate::error::Result;
use crate::linktype::LinkType;
use crate::payloads::tls::{
    self, alert, cipher_suite, content_type, version, ClientHello, Extension, ServerHello,
};
use crate::payloads::{certs, deterministic_bytes, http};
use crate::pcap::PcapOptions;
use crate::session::{Dir, TcpSession};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A modern TLS 1.2 ClientHello for `host`.
fn client_hello_12(host: &str, seed: u64, suites: Vec<u16>) -> Result<Vec<u8>> {
    let mut ch = ClientHello::new(version::TLS1_2, seed);
    ch.cipher_suites = suites;
    ch.extensions = vec![
        Extension::server_name(host)?,
        Extension::supported_groups(&[29, 23, 24])?,
        Extension::ec_point_formats(),
        Extension::signature_algorithms(&[0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0201])?,
        Extension::extended_master_secret(),
        Extension::renegotiation_info(),
    ];
    tls::record(content_type::HANDSHAKE, version::TLS1_0, &ch.encode()?)
}

struct Flight {
    client_hello: Vec<u8>,
    server_flight: Vec<u8>,
    client_finish: Vec<u8>,
    server_finish: Vec<u8>,
    request: Vec<u8>,
    response: Vec<u8>,
    close_notify: Vec<u8>,
}

fn https_flights() -> Result<Flight> {
    let v = version::TLS1_2;
    let client_hello = client_hello_12(
        "secure.example.com",
        0x5eed_0001,
        vec![
            cipher_suite::ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::RSA_WITH_AES_128_CBC_SHA,
            cipher_suite::EMPTY_RENEGOTIATION_INFO_SCSV,
        ],
    )?;
    let mut sh = ServerHello::new(v, cipher_suite::RSA_WITH_AES_128_GCM_SHA256, 0x5eed_0002);
    sh.extensions = vec![
        Extension::renegotiation_info(),
        Extension::extended_master_secret(),
    ];
    let mut hs = sh.encode()?;
    hs.extend_from_slice(&tls::certificate(&[
        certs::HTTPS_SERVER,
        certs::HTTPS_INTERMEDIATE,
    ])?);
    hs.extend_from_slice(&tls::server_hello_done());
    let server_flight = tls::record(content_type::HANDSHAKE, v, &hs)?;
    let mut client_finish = tls::record(
        content_type::HANDSHAKE,
        v,
        &tls::client_key_exchange_rsa(&deterministic_bytes(0x5eed_0003, 256))?,
    )?;
    client_finish.extend_from_slice(&tls::change_cipher_spec(v));
    client_finish.extend_from_slice(&tls::encrypted_record(
        content_type::HANDSHAKE,
        v,
        40,
        0x5eed_0004,
    )?);
    let mut server_finish = tls::change_cipher_spec(v);
    server_finish.extend_from_slice(&tls::encrypted_record(
        content_type::HANDSHAKE,
        v,
        40,
        0x5eed_0005,
    )?);
    // GCM overhead: 8-byte explicit nonce + 16-byte tag.
    let request = tls::encrypted_record(content_type::APPLICATION_DATA, v, 120 + 24, 0x5eed_0006)?;
    let mut response =
        tls::encrypted_record(content_type::APPLICATION_DATA, v, 2000 + 24, 0x5eed_0007)?;
    response.extend_from_slice(&tls::encrypted_record(
        content_type::APPLICATION_DATA,
        v,
        1200 + 24,
        0x5eed_0008,
    )?);
    let close_notify = tls::encrypted_record(content_type::ALERT, v, 2 + 24, 0x5eed_0009)?;
    Ok(Flight {
        client_hello,
        server_flight,
        client_finish,
        server_finish,
        request,
        response,
        close_notify,
    })
}

/// CONNECT through the proxy, then a TLS 1.2 handshake with a two-certificate chain.
pub(super) fn https_connect() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s =
        TcpSession::new(v4(CLIENT, 50300), v4(PROXY, PROXY_PORT)).isns(0x3600_0000, 0x3700_0000);
    let connect = http::request(
        "CONNECT",
        "secure.example.com:443",
        "HTTP/1.1",
        &[
            ("Host", "secure.example.com:443"),
            ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            ("Proxy-Connection", "keep-alive"),
        ],
        b"",
    );
    let established = http::response("HTTP/1.1", 200, "Connection established", &[], b"");
    let flights = https_flights();
    if let Err(e) = &flights {
        cap.fail(e.clone());
    }
    let f = flights.unwrap_or(Flight {
        client_hello: Vec::new(),
        server_flight: Vec::new(),
        client_finish: Vec::new(),
        server_finish: Vec::new(),
        request: Vec::new(),
        response: Vec::new(),
        close_notify: Vec::new(),
    });
    let hs = s.handshake(&mut cap);
    let conn = s.send(&mut cap, Dir::ToServer, &connect);
    cap.advance(ms(40));
    let est = s.send(&mut cap, Dir::ToClient, &established);
    let ch = s.send(&mut cap, Dir::ToServer, &f.client_hello);
    cap.advance(ms(60));
    let sf = s.send(&mut cap, Dir::ToClient, &f.server_flight);
    cap.advance(ms(8));
    let cf = s.send(&mut cap, Dir::ToServer, &f.client_finish);
    cap.advance(ms(60));
    let sfin = s.send(&mut cap, Dir::ToClient, &f.server_finish);
    let req = s.send(&mut cap, Dir::ToServer, &f.request);
    cap.advance(ms(80));
    let resp = s.send(&mut cap, Dir::ToClient, &f.response);
    cap.advance(Duration::from_secs(2));
    let cn = s.send_segment(&mut cap, Dir::ToServer, &f.close_notify);
    let close = s.close(&mut cap);

    let mut sc = Scenario::new(
        "https-connect.pcap",
        "HTTPS through a proxy: CONNECT, TLS 1.2, certificate chain with CRL/OCSP URLs",
        "The client asks the proxy 10.3.3.3:8080 for a tunnel (`CONNECT secure.example.com:443 \
         HTTP/1.1`), gets `200 Connection established`, and runs a TLS 1.2 handshake inside it: \
         ClientHello with SNI; ServerHello (TLS_RSA_WITH_AES_128_GCM_SHA256), Certificate \
         (server + intermediate, both with CRL distribution points and AIA OCSP URLs) and \
         ServerHelloDone in one record spanning two TCP segments; RSA ClientKeyExchange, \
         ChangeCipherSpec and encrypted Finished; the server's ChangeCipherSpec and Finished; \
         then encrypted application data both ways and an encrypted close_notify.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let server_flight_end = *sf.data.last().unwrap_or(&0);
    let cp = &mut sc.capture;
    cp.note(at(&conn.data, 0), "CONNECT secure.example.com:443 HTTP/1.1");
    cp.note(at(&est.data, 0), "HTTP/1.1 200 Connection established");
    cp.note(at(&ch.data, 0), "TLS ClientHello, SNI secure.example.com");
    cp.note(
        server_flight_end,
        "ServerHello, Certificate (2 certs), ServerHelloDone complete here",
    );
    cp.note(
        at(&cf.data, 0),
        "ClientKeyExchange, ChangeCipherSpec, encrypted Finished",
    );
    cp.note(at(&sfin.data, 0), "ChangeCipherSpec, encrypted Finished");
    cp.note(cn, "encrypted alert (close_notify)");
    sc.fact(format!(
        "tcp.stream 0, 10.1.1.5:50300 → 10.3.3.3:8080; handshake frames {}.",
        frames(&hs)
    ));
    sc.fact(format!(
        "Frame {}: `CONNECT secure.example.com:443 HTTP/1.1` (Host secure.example.com:443). Frame {}: `HTTP/1.1 200 Connection \
         established`. From here on the stream is TLS.",
        at(&conn.data, 0),
        at(&est.data, 0)
    ));
    sc.fact(format!(
        "Frame {}: ClientHello (record version 0x0301, client_version 0x0303, SNI secure.example.com, 5 suites).",
        at(&ch.data, 0)
    ));
    sc.fact(format!(
        "Frames {}: one {}-byte handshake record with ServerHello (0x0303, suite 0x009c), Certificate and ServerHelloDone; the record \
         completes in frame {server_flight_end}. Certificates: `CN=secure.example.com` (CRL http://crl.example.net/fixture-intermediate.crl, \
         OCSP http://ocsp.example.net, CA issuers http://certs.example.net/fixture-intermediate.der) and `CN=Fixture Intermediate CA` \
         (CRL http://crl.example.net/fixture-root.crl, OCSP http://ocsp.example.net/root).",
        frames(&sf.data),
        f.server_flight.len()
    ));
    sc.fact(format!(
        "Frame {}: ClientKeyExchange + ChangeCipherSpec + encrypted Finished; frame {}: server ChangeCipherSpec + encrypted Finished.",
        frames(&cf.data),
        frames(&sfin.data)
    ));
    sc.fact(format!(
        "Application data: client frame {}, server frames {} (two records, 2024 and 1224 bytes); close_notify (encrypted alert) frame {cn}; \
         close frames {}.",
        frames(&req.data),
        frames(&resp.data),
        frames(&close)
    ));
    sc
}

/// ClientHello answered by a fatal handshake_failure alert.
pub(super) fn tls_alert() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s =
        TcpSession::new(v4(CLIENT, 50400), v4([10, 2, 2, 2], 443)).isns(0x3800_0000, 0x3900_0000);
    let hello = client_hello_12(
        "legacy.example.com",
        0x5eed_0100,
        vec![
            cipher_suite::RSA_WITH_RC4_128_SHA,
            cipher_suite::RSA_WITH_3DES_EDE_CBC_SHA,
        ],
    );
    let hello = hello.unwrap_or_else(|e| {
        cap.fail(e);
        Vec::new()
    });
    let hs = s.handshake(&mut cap);
    let ch = s.send(&mut cap, Dir::ToServer, &hello);
    cap.advance(ms(3));
    let al = s.send_segment(
        &mut cap,
        Dir::ToClient,
        &tls::alert_record(version::TLS1_2, alert::FATAL, alert::HANDSHAKE_FAILURE),
    );
    let fin_s = s.fin(&mut cap, Dir::ToClient);
    let ack_c = s.ack(&mut cap, Dir::ToServer);
    let fin_c = s.fin(&mut cap, Dir::ToServer);
    let ack_s = s.ack(&mut cap, Dir::ToClient);
    let mut sc = Scenario::new(
        "tls-alert.pcap",
        "TLS handshake failure alert",
        "A client offers only RC4 and 3DES suites; the server answers the ClientHello with a fatal \
         `handshake_failure` alert (level 2, description 40) and closes the connection.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.capture.note(al, "Alert: fatal, handshake_failure (40)");
    sc.fact(format!(
        "tcp.stream 0, 10.1.1.5:50400 → 10.2.2.2:443; handshake frames {}.",
        frames(&hs)
    ));
    sc.fact(format!(
        "Frame {}: ClientHello (SNI legacy.example.com, suites 0x0005 and 0x000a only).",
        frames(&ch.data)
    ));
    sc.fact(format!(
        "Frame {al}: 7-byte alert record `15 03 03 00 02 02 28` (fatal handshake_failure); then server FIN {fin_s}, client ACK {ack_c}, \
         client FIN {fin_c}, server ACK {ack_s}."
    ));
    sc
}
