//! `case-study-working.pcapng`: the case study's sign-in on a computer where it works, to
//! compare with `case-study.pcapng` (`wiretale compare WORKING FAILING`).
//!
//! Same servers, same TLS bytes, same proxy and the same NTLM tokens as the failing capture,
//! but the client (another computer, 10.1.1.7, other ports, other frame numbers) speaks
//! HTTP/1.1 with keep-alive to the proxy, so the whole NTLM handshake (Type 1, Type 2, Type 3)
//! runs on ONE connection: the CRL arrives (200), the revocation check passes, and the client
//! goes on to use the TLS connection on 5061 (application data both ways, no reset).

use std::net::IpAddr;
use std::time::Duration;

use super::case_study::{intranet_fetch, tls_flights, TlsFlights, CRL_URL, DNS, GATEWAY, SERVER};
use super::proxy::{challenge_407, offer_407, type3, PROXY, PROXY_PORT};
use super::{filler_ranges, frames, v4, Format, Scenario};
use crate::capture::Capture;
use crate::filler::Filler;
use crate::link::Mac;
use crate::linktype::LinkType;
use crate::payloads::tls::{self, content_type, version};
use crate::payloads::{deterministic_bytes, http, ntlm};
use crate::pcapng::PcapngOptions;
use crate::session::{AckPolicy, Dir, TcpSession};
use crate::time::Timestamp;

/// The working computer.
const WORKING_CLIENT: [u8; 4] = [10, 1, 1, 7];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The CRL GET as WinINet sends it with "Use HTTP 1.1 through proxy connections" on.
fn crl_get_http11(auth: Option<&str>) -> Vec<u8> {
    let mut headers = vec![
        ("User-Agent", "Entrust Certificate Revocation"),
        ("Host", "crl.verisign.com"),
        ("Proxy-Connection", "Keep-Alive"),
        ("Pragma", "no-cache"),
    ];
    if let Some(a) = auth {
        headers.push(("Proxy-Authorization", a));
    }
    http::request("GET", CRL_URL, "HTTP/1.1", &headers, b"")
}

/// One DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    match (u8::try_from(len), u16::try_from(len)) {
        (Ok(n), _) if n < 0x80 => out.push(n),
        (Ok(n), _) => out.extend_from_slice(&[0x81, n]),
        (_, Ok(n)) => {
            out.push(0x82);
            out.extend_from_slice(&n.to_be_bytes());
        }
        // Never reached by the CRL below (a few hundred bytes).
        _ => out.push(0),
    }
    out.extend_from_slice(content);
    out
}

/// A well-formed (unsigned: the signature is filler) DER CRL of VeriSign's Class 3 root, so
/// dissectors that decode `application/pkix-crl` bodies find a CertificateList.
fn class3_crl() -> Vec<u8> {
    const SHA1_RSA: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
    let alg = der(0x30, &[der(0x06, &SHA1_RSA), der(0x05, &[])].concat());
    let rdn = |oid: u8, value: &str| {
        der(
            0x31,
            &der(
                0x30,
                &[der(0x06, &[0x55, 0x04, oid]), der(0x13, value.as_bytes())].concat(),
            ),
        )
    };
    let issuer = der(
        0x30,
        &[
            rdn(0x06, "US"),
            rdn(0x0a, "VeriSign, Inc."),
            rdn(0x0b, "Class 3 Public Primary Certification Authority"),
        ]
        .concat(),
    );
    let revoked: Vec<u8> = (0u8..4)
        .flat_map(|i| {
            // A positive INTEGER in minimal form: clear the sign bit, make the first byte non-zero.
            let mut serial_int = deterministic_bytes(0xc41_0100 + u64::from(i), 16);
            if let Some(first) = serial_int.first_mut() {
                *first = (*first & 0x7f) | 0x10;
            }
            der(
                0x30,
                &[der(0x02, &serial_int), der(0x17, b"240215093000Z")].concat(),
            )
        })
        .collect();
    let tbs = der(
        0x30,
        &[
            der(0x02, &[0x01]),
            alg.clone(),
            issuer,
            der(0x17, b"240301000000Z"),
            der(0x17, b"240601000000Z"),
            der(0x30, &revoked),
        ]
        .concat(),
    );
    let mut signature = vec![0x00];
    signature.extend_from_slice(&deterministic_bytes(0xc41_0001, 128));
    der(0x30, &[tbs, alg, der(0x03, &signature)].concat())
}

/// The proxy's `200 OK` carrying the CRL.
fn crl_200(crl: &[u8]) -> Vec<u8> {
    http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[
            ("Content-Type", "application/pkix-crl"),
            ("Content-Length", &crl.len().to_string()),
            ("Proxy-Connection", "Keep-Alive"),
            ("Connection", "Keep-Alive"),
        ],
        crl,
    )
}

/// One application-data record of `len` ciphertext bytes (SIP over TLS 1.0, RC4-SHA).
fn app_data(cap: &mut Capture, len: usize, seed: u64) -> Vec<u8> {
    match tls::encrypted_record(content_type::APPLICATION_DATA, version::TLS1_0, len, seed) {
        Ok(r) => r,
        Err(e) => {
            cap.fail(e);
            Vec::new()
        }
    }
}

/// The working sign-in, scripted step by step.
pub(super) fn case_study_working() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    cap.set_time(Timestamp::from_unix(
        Capture::DEFAULT_START_SECS + 3600,
        125_000_000,
    ));
    let client_mac = Mac::derived_from(IpAddr::from(WORKING_CLIENT));
    let gw_mac = Mac::derived_from(IpAddr::from(GATEWAY));
    let mut filler = Filler::new(WORKING_CLIENT.into(), DNS.into(), GATEWAY.into());
    let flights = tls_flights();
    if let Err(e) = &flights {
        cap.fail(e.clone());
    }
    let f = flights.unwrap_or(TlsFlights {
        client_hello: Vec::new(),
        server_hello_flight: Vec::new(),
        client_finish: Vec::new(),
        server_finish: Vec::new(),
    });

    // Background, then the same unrelated intranet page as in the failing capture.
    cap.fill(36, &mut filler, Duration::from_secs(4));
    let early = intranet_fetch(
        &mut cap,
        WORKING_CLIENT,
        1210,
        0x5400_0000,
        "/news/today.html",
    );
    cap.fill(24, &mut filler, Duration::from_secs(3));

    // TCP and TLS to the server on 5061: the same handshake as in the failing capture.
    let mut sip = TcpSession::new(v4(WORKING_CLIENT, 1221), v4(SERVER, 5061))
        .isns(0x1a2b_3c00, 0x4d5e_6f00)
        .macs(client_mac, gw_mac)
        .window_scale(None, None)
        .windows(64_512, 65_535)
        .ack_policy(AckPolicy::Never);
    let syn = sip.syn(&mut cap);
    cap.advance(ms(11));
    let syn_ack = sip.syn_ack(&mut cap);
    let ack = sip.ack(&mut cap, Dir::ToServer);
    let client_hello = sip.send_segment(&mut cap, Dir::ToServer, &f.client_hello);
    cap.advance(ms(10));
    sip.ack(&mut cap, Dir::ToClient);
    cap.fill(2, &mut filler, ms(30));
    let server_hello = sip.send_segment(&mut cap, Dir::ToClient, &f.server_hello_flight);
    sip.ack(&mut cap, Dir::ToServer);
    cap.fill(2, &mut filler, ms(40));
    let client_finish = sip.send_segment(&mut cap, Dir::ToServer, &f.client_finish);
    cap.advance(ms(12));
    let server_finish = sip.send_segment(&mut cap, Dir::ToClient, &f.server_finish);
    cap.advance(ms(30));
    sip.ack(&mut cap, Dir::ToServer);

    // The revocation check: one keep-alive HTTP/1.1 connection to the proxy carries the whole
    // NTLM handshake, and the CRL arrives.
    cap.advance(ms(20));
    let mut proxy = TcpSession::new(v4(WORKING_CLIENT, 1222), v4(PROXY, PROXY_PORT))
        .isns(0x2b3c_4d00, 0x5e6f_7a00)
        .macs(client_mac, gw_mac)
        .window_scale(None, None)
        .windows(64_240, 65_535)
        .ack_policy(AckPolicy::Never);
    let proxy_hs = proxy.handshake(&mut cap);
    let get1 = proxy.send_segment(&mut cap, Dir::ToServer, &crl_get_http11(None));
    cap.advance(ms(4));
    let offer = proxy.send_segment(&mut cap, Dir::ToClient, &offer_407("Keep-Alive"));
    cap.advance(ms(3));
    let t1 = format!("NTLM {}", ntlm::CASE_STUDY_TYPE1);
    let get2 = proxy.send_segment(&mut cap, Dir::ToServer, &crl_get_http11(Some(&t1)));
    cap.advance(ms(5));
    let challenge = proxy.send_segment(&mut cap, Dir::ToClient, &challenge_407());
    cap.advance(ms(4));
    let t3 = format!("NTLM {}", type3(&cap).unwrap_or_default());
    let get3 = proxy.send_segment(&mut cap, Dir::ToServer, &crl_get_http11(Some(&t3)));
    cap.advance(ms(45));
    let crl = class3_crl();
    let ok = proxy.send_segment(&mut cap, Dir::ToClient, &crl_200(&crl));
    cap.advance(ms(2));
    proxy.ack(&mut cap, Dir::ToServer);

    // Certificate checked: the client uses the TLS connection (SIP REGISTER and answers).
    cap.advance(ms(15));
    let register = app_data(&mut cap, 612, 0x5111_0001);
    let app1 = sip.send_segment(&mut cap, Dir::ToServer, &register);
    cap.advance(ms(40));
    let answer = app_data(&mut cap, 388, 0x5111_0002);
    let app2 = sip.send_segment(&mut cap, Dir::ToClient, &answer);
    cap.advance(ms(25));
    let register2 = app_data(&mut cap, 804, 0x5111_0003);
    let app3 = sip.send_segment(&mut cap, Dir::ToServer, &register2);
    cap.advance(ms(60));
    let ok2 = app_data(&mut cap, 452, 0x5111_0004);
    let app4 = sip.send_segment(&mut cap, Dir::ToClient, &ok2);
    cap.advance(ms(150));
    sip.ack(&mut cap, Dir::ToServer);

    // WinINet drops its idle proxy connection; later the other intranet page and more SIP.
    cap.fill(6, &mut filler, Duration::from_secs(2));
    let proxy_close = proxy.close(&mut cap);
    cap.fill(20, &mut filler, Duration::from_secs(5));
    let late = intranet_fetch(
        &mut cap,
        WORKING_CLIENT,
        1223,
        0x5500_0000,
        "/news/weather.html",
    );
    cap.fill(6, &mut filler, Duration::from_secs(2));
    let subscribe = app_data(&mut cap, 540, 0x5111_0005);
    let app5 = sip.send_segment(&mut cap, Dir::ToServer, &subscribe);
    cap.advance(ms(35));
    let notify = app_data(&mut cap, 1020, 0x5111_0006);
    let app6 = sip.send_segment(&mut cap, Dir::ToClient, &notify);
    cap.advance(ms(100));
    sip.ack(&mut cap, Dir::ToServer);
    cap.fill(4, &mut filler, Duration::from_secs(1));

    let section = "wiretale-fixtures: the case study's sign-in on a working computer \
                   (HTTP/1.1 to the NTLM proxy; compare with case-study.pcapng)";
    let mut sc = Scenario::new(
        "case-study-working.pcapng",
        "the case study on a working computer: HTTP/1.1 to the proxy, NTLM completes, TLS used",
        "The counterpart of `case-study.pcapng` for `wiretale compare`: the same sign-in from \
         another computer (10.1.1.7, other ports and frame numbers) where it works. The TLS 1.0 \
         handshake with 10.2.2.2:5061 is byte for byte the failing one's. The revocation check \
         of the server certificate fetches `http://crl.verisign.com/pca3.crl` through the proxy \
         10.3.3.3:8080 with HTTP/1.1 and keep-alive, so the 407 offering NTLM and Basic keeps \
         the connection open, and the NTLM Type 1, the Type 2 challenge (the case study's \
         tokens) and an NTLMv2 Type 3 all travel on that one connection; the proxy answers \
         `200 OK` with the CRL. The client then sends TLS application data on 5061 and the \
         session continues until the capture ends (no reset). Background and the two intranet \
         page fetches are as in the failing capture.",
        cap,
        Format::Pcapng(PcapngOptions {
            section_comment: Some(section.to_owned()),
            ..PcapngOptions::default()
        }),
    );
    let cp = &mut sc.capture;
    cp.note(
        get1,
        "GET http://crl.verisign.com/pca3.crl HTTP/1.1, keep-alive, no credentials",
    );
    cp.note(offer, "407 offering NTLM and BASIC, keep-alive");
    cp.note(get2, "same connection: Proxy-Authorization: NTLM Type 1");
    cp.note(
        challenge,
        "407 with the NTLM Type 2 challenge (case study's token)",
    );
    cp.note(
        get3,
        "same connection: Proxy-Authorization: NTLM Type 3 (NTLMv2, MAPLE\\jdoe)",
    );
    cp.note(ok, "200 OK with the CRL");
    cp.note(
        app1,
        "first TLS application data on 5061: the certificate check passed",
    );
    sc.fact(format!(
        "tcp.stream 0 and 3 are the intranet page fetches (10.1.1.7 → 10.1.1.10:80): frames {}–{} and {}–{}.",
        early.first().copied().unwrap_or(0),
        early.last().copied().unwrap_or(0),
        late.first().copied().unwrap_or(0),
        late.last().copied().unwrap_or(0)
    ));
    sc.fact(format!(
        "tcp.stream 1 = 10.1.1.7:1221 → 10.2.2.2:5061: SYN {syn}, SYN-ACK {syn_ack}, ACK {ack}; ClientHello {client_hello}; \
         ServerHello, Certificate, CertificateRequest, ServerHelloDone {server_hello}; client Certificate, ClientKeyExchange, \
         ChangeCipherSpec, Finished {client_finish}; server ChangeCipherSpec, Finished {server_finish} (the same bytes as \
         frames 306–316 of case-study.pcapng). Application data: client {app1}, server {app2}, client {app3}, server {app4}, \
         client {app5}, server {app6}; still open when the capture ends."
    ));
    sc.fact(format!(
        "tcp.stream 2 = 10.1.1.7:1222 → 10.3.3.3:8080, one keep-alive connection: handshake {}; frame {get1}: `GET {CRL_URL} \
         HTTP/1.1` with `Proxy-Connection: Keep-Alive`; frame {offer}: 407 with `Proxy-Authenticate: NTLM` and `BASIC \
         realm=\"FG\"`, keep-alive; frame {get2}: GET with the NTLM Type 1; frame {challenge}: 407 with the Type 2 (challenge \
         d1cb3331634e8638); frame {get3}: GET with an NTLMv2 Type 3 (`MAPLE\\jdoe` on `T6CK943Y`); frame {ok}: `HTTP/1.1 200 \
         OK`, `application/pkix-crl`, {} bytes. The client closes it later: frames {}.",
        frames(&proxy_hs),
        crl.len(),
        frames(&proxy_close)
    ));
    sc.fact(format!(
        "Frames {} are background filler (DNS, ARP, ICMP of 10.1.1.7).",
        filler_ranges(&sc.capture)
    ));
    sc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_differs_from_the_failing_capture_only_where_intended() {
        let sc = case_study_working();
        assert!(sc.capture.check().is_ok(), "{:?}", sc.capture.check());
        let text = |n: u32| {
            let d = &sc.capture.frame(n).unwrap().data;
            String::from_utf8_lossy(d).into_owned()
        };
        let all: Vec<String> = (1..=sc.capture.frames().len() as u32).map(text).collect();
        let with = |needle: &str| all.iter().filter(|t| t.contains(needle)).count();
        assert_eq!(with("GET http://crl.verisign.com/pca3.crl HTTP/1.1"), 3);
        assert_eq!(with("HTTP/1.0"), 0);
        assert_eq!(
            with("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl"),
            1
        );
        assert_eq!(
            with("Proxy-Authorization: NTLM TlRMTVNTUAADAAAA"),
            1,
            "one Type 3"
        );
    }
}
