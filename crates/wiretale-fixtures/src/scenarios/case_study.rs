//! `case-study.pcapng`: the failing Office Communicator sign-in of the case study
//! (`shared/case-study.txt`), rebuilt with the case study's own frame numbers.
//!
//! The client 10.1.1.5 opens TLS to the server 10.2.2.2:5061 (frames 303-316). To check the
//! server certificate's revocation it fetches `http://crl.verisign.com/pca3.crl` through the
//! proxy 10.3.3.3:8080 with HTTP/1.0 (407, 408), is asked for NTLM, retries on a new connection
//! with an NTLM Type 1 (416), receives the Type 2 challenge (417) and closes that connection
//! instead of answering. The server, which never hears from the client again, resets the TLS
//! connection 30 s after its last handshake message (959).

use std::net::IpAddr;
use std::time::Duration;

use super::proxy::{challenge_407, offer_407, CLIENT, PROXY, PROXY_PORT};
use super::{filler_ranges, frames, v4, Format, Scenario};
use crate::capture::Capture;
use crate::error::Result;
use crate::filler::Filler;
use crate::link::Mac;
use crate::linktype::LinkType;
use crate::payloads::tls::{self, cipher_suite, content_type, version, ClientHello, ServerHello};
use crate::payloads::{certs, deterministic_bytes, http, ntlm};
use crate::pcapng::PcapngOptions;
use crate::session::{Dir, TcpSession};
use crate::time::Timestamp;

/// The OCS front end.
pub(super) const SERVER: [u8; 4] = [10, 2, 2, 2];
pub(super) const GATEWAY: [u8; 4] = [10, 1, 1, 1];
pub(super) const DNS: [u8; 4] = [10, 1, 1, 2];
pub(super) const INTRANET: [u8; 4] = [10, 1, 1, 10];
pub(super) const CRL_URL: &str = "http://crl.verisign.com/pca3.crl";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The TLS 1.0 bytes of the 5061 connection, as a Windows XP client and an OCS 2007 server
/// would have exchanged them (RC4-SHA, server asks for a client certificate).
pub(super) struct TlsFlights {
    pub(super) client_hello: Vec<u8>,
    pub(super) server_hello_flight: Vec<u8>,
    pub(super) client_finish: Vec<u8>,
    pub(super) server_finish: Vec<u8>,
}

pub(super) fn tls_flights() -> Result<TlsFlights> {
    let v = version::TLS1_0;
    let mut ch = ClientHello::new(v, 0xca5e_0001);
    ch.cipher_suites = vec![
        0x0004, 0x0005, 0x000a, 0x0009, 0x0064, 0x0062, 0x0003, 0x0006, 0x0013, 0x0012, 0x0063,
    ];
    let client_hello = tls::record(content_type::HANDSHAKE, v, &ch.encode()?)?;
    let mut hs = ServerHello::new(v, cipher_suite::RSA_WITH_RC4_128_SHA, 0xca5e_0002).encode()?;
    hs.extend_from_slice(&tls::certificate(&[certs::CASE_STUDY_SERVER])?);
    hs.extend_from_slice(&tls::certificate_request(&[1, 2], None, &[])?);
    hs.extend_from_slice(&tls::server_hello_done());
    let server_hello_flight = tls::record(content_type::HANDSHAKE, v, &hs)?;
    let mut client_hs = tls::certificate(&[])?;
    client_hs.extend_from_slice(&tls::client_key_exchange_rsa(&deterministic_bytes(
        0xca5e_0003,
        256,
    ))?);
    let mut client_finish = tls::record(content_type::HANDSHAKE, v, &client_hs)?;
    client_finish.extend_from_slice(&tls::change_cipher_spec(v));
    // RC4-SHA Finished: 16 bytes of message + 20 bytes of MAC, no padding.
    client_finish.extend_from_slice(&tls::encrypted_record(
        content_type::HANDSHAKE,
        v,
        36,
        0xca5e_0004,
    )?);
    let mut server_finish = tls::change_cipher_spec(v);
    server_finish.extend_from_slice(&tls::encrypted_record(
        content_type::HANDSHAKE,
        v,
        36,
        0xca5e_0005,
    )?);
    Ok(TlsFlights {
        client_hello,
        server_hello_flight,
        client_finish,
        server_finish,
    })
}

/// The CRL GET exactly as the case study's debugger showed it leaving the application.
fn crl_get(type1: bool) -> Vec<u8> {
    let mut headers = vec![
        ("User-Agent", "Entrust Certificate Revocation"),
        ("Host", "crl.verisign.com"),
        ("Pragma", "no-cache"),
        ("Cookie", "BCSI-CS0AEE9E8D=2"),
    ];
    let auth = format!("NTLM {}", ntlm::CASE_STUDY_TYPE1);
    if type1 {
        headers.push(("Proxy-Authorization", &auth));
    }
    http::request("GET", CRL_URL, "HTTP/1.0", &headers, b"")
}

/// A short unrelated intranet page fetch (not through the proxy).
/// The intranet server is on the client's own subnet, so (unlike the 5061 and proxy traffic,
/// which goes through the gateway) its frames carry its own MAC.
pub(super) fn intranet_fetch(
    cap: &mut Capture,
    client: [u8; 4],
    port: u16,
    isn: u32,
    path: &str,
) -> Vec<u32> {
    let mut s = TcpSession::new(v4(client, port), v4(INTRANET, 80))
        .isns(isn, isn.wrapping_add(0x0100_0000))
        .ttl(128, 128);
    let mut all = s.handshake(cap);
    let req = http::request(
        "GET",
        path,
        "HTTP/1.1",
        &[
            ("Host", "intranet.example.com"),
            (
                "User-Agent",
                "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)",
            ),
        ],
        b"",
    );
    all.extend(s.send(cap, Dir::ToServer, &req).data);
    let body = http::html_page("Intranet news", 900);
    let resp = http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[
            ("Content-Type", "text/html"),
            ("Content-Length", &body.len().to_string()),
        ],
        &body,
    );
    all.extend(s.send(cap, Dir::ToClient, &resp).data);
    all.extend(s.close(cap));
    all
}

/// Records an error if the frame just produced is not the one the case study names.
fn expect(cap: &mut Capture, got: u32, want: u32) {
    if got != want {
        cap.fail(crate::error::FixtureError::FrameNumber {
            expected: want,
            actual: got,
        });
    }
}

/// The case study, frame for frame.
pub(super) fn case_study() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    cap.set_time(Timestamp::from_unix(
        Capture::DEFAULT_START_SECS,
        250_000_000,
    ));
    let client_mac = Mac::derived_from(IpAddr::from(CLIENT));
    let gw_mac = Mac::derived_from(IpAddr::from(GATEWAY));
    let mut filler = Filler::new(CLIENT.into(), DNS.into(), GATEWAY.into());
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

    // Frames 1-302: background traffic and an unrelated intranet page.
    cap.fill_until(120, &mut filler, Duration::from_secs(20));
    let early = intranet_fetch(&mut cap, CLIENT, 1150, 0x4400_0000, "/news/today.html");
    cap.fill_until(303, &mut filler, Duration::from_secs(25));

    // Frames 303-317: TCP and TLS to the server on 5061.
    let mut sip = TcpSession::new(v4(CLIENT, 1161), v4(SERVER, 5061))
        .isns(0x6a3b_1c00, 0x0d4e_5f00)
        .macs(client_mac, gw_mac)
        .window_scale(None, None)
        .windows(64_512, 65_535)
        .ack_policy(crate::session::AckPolicy::Never);
    let syn = sip.syn(&mut cap);
    expect(&mut cap, syn, 303);
    cap.advance(ms(11));
    let syn_ack = sip.syn_ack(&mut cap);
    let ack = sip.ack(&mut cap, Dir::ToServer);
    let client_hello = sip.send_segment(&mut cap, Dir::ToServer, &f.client_hello);
    expect(&mut cap, client_hello, 306);
    cap.advance(ms(10));
    let ch_ack = sip.ack(&mut cap, Dir::ToClient);
    cap.fill_until(311, &mut filler, ms(30));
    let server_hello = sip.send_segment(&mut cap, Dir::ToClient, &f.server_hello_flight);
    expect(&mut cap, server_hello, 311);
    let sh_ack = sip.ack(&mut cap, Dir::ToServer);
    cap.fill_until(315, &mut filler, ms(40));
    let client_finish = sip.send_segment(&mut cap, Dir::ToServer, &f.client_finish);
    expect(&mut cap, client_finish, 315);
    cap.advance(ms(12));
    let server_finish = sip.send_segment(&mut cap, Dir::ToClient, &f.server_finish);
    expect(&mut cap, server_finish, 316);
    let t316 = cap
        .frame(server_finish)
        .map_or(cap.now(), |fr| fr.timestamp);
    cap.advance(ms(199));
    let finish_ack = sip.ack(&mut cap, Dir::ToServer);

    // Frames 404-412: first proxy connection, HTTP/1.0, 407 offering NTLM and Basic, closed.
    cap.fill_until(404, &mut filler, ms(350));
    let mut proxy_a = TcpSession::new(v4(CLIENT, 1162), v4(PROXY, PROXY_PORT))
        .isns(0x7b4c_2d00, 0x1e5f_6a00)
        .macs(client_mac, gw_mac)
        .window_scale(None, None)
        .windows(64_240, 65_535)
        .ack_policy(crate::session::AckPolicy::Never);
    let hs_a = proxy_a.handshake(&mut cap);
    let get_a = proxy_a.send_segment(&mut cap, Dir::ToServer, &crl_get(false));
    expect(&mut cap, get_a, 407);
    cap.advance(ms(4));
    let r407_a = proxy_a.send_segment(&mut cap, Dir::ToClient, &offer_407("close"));
    expect(&mut cap, r407_a, 408);
    let fin_proxy_a = proxy_a.fin(&mut cap, Dir::ToClient);
    let ack_a = proxy_a.ack(&mut cap, Dir::ToServer);
    let fin_client_a = proxy_a.fin(&mut cap, Dir::ToServer);
    let last_a = proxy_a.ack(&mut cap, Dir::ToClient);

    // Frames 413-420: second proxy connection with NTLM Type 1, challenge, client closes.
    let mut proxy_b = TcpSession::new(v4(CLIENT, 1163), v4(PROXY, PROXY_PORT))
        .isns(0x8c5d_3e00, 0x2f60_7b00)
        .macs(client_mac, gw_mac)
        .window_scale(None, None)
        .windows(64_240, 65_535)
        .ack_policy(crate::session::AckPolicy::Never);
    let hs_b = proxy_b.handshake(&mut cap);
    let get_b = proxy_b.send_segment(&mut cap, Dir::ToServer, &crl_get(true));
    expect(&mut cap, get_b, 416);
    cap.advance(ms(5));
    let r407_b = proxy_b.send_segment(&mut cap, Dir::ToClient, &challenge_407());
    expect(&mut cap, r407_b, 417);
    cap.advance(ms(2));
    let fin_client_b = proxy_b.fin(&mut cap, Dir::ToServer);
    let fin_proxy_b = proxy_b.fin(&mut cap, Dir::ToClient);
    let last_b = proxy_b.ack(&mut cap, Dir::ToServer);

    // Frames 421-958: background traffic and another unrelated page; 959: the server's reset.
    cap.fill_until(700, &mut filler, Duration::from_secs(14));
    let late = intranet_fetch(&mut cap, CLIENT, 1164, 0x4500_0000, "/news/weather.html");
    let reset_at = t316.saturating_add(Duration::from_secs(30));
    let remaining = reset_at.saturating_since(cap.now()).saturating_sub(ms(300));
    cap.fill_until(959, &mut filler, remaining);
    cap.set_time(reset_at);
    let reset = sip.rst(&mut cap, Dir::ToClient);
    expect(&mut cap, reset, 959);

    let section = "wiretale-fixtures: reconstruction of the case study in shared/case-study.txt \
                   (MOC TLS to OCS 10.2.2.2:5061 stalls on CRL download through an NTLM proxy)";
    let mut sc = Scenario::new(
        "case-study.pcapng",
        "the case study: TLS to 5061 stalls on a CRL fetch through an NTLM proxy",
        "A reconstruction of the case study in `shared/case-study.txt`, with its own frame numbers \
         for every step it names. The client 10.1.1.5 (Office Communicator on Windows XP) \
         completes a TLS 1.0 handshake with the server 10.2.2.2:5061 (frames 303-316). To check \
         the revocation of the server certificate (CRL distribution point \
         `http://crl.verisign.com/pca3.crl`) it fetches the CRL through the proxy \
         10.3.3.3:8080 with HTTP/1.0: 407 offering NTLM and Basic with the connection closed \
         (407, 408); a new connection with the NTLM Type 1 (416); the 407 with the Type 2 \
         challenge (417); then the client closes the connection instead of sending a Type 3, \
         because under HTTP/1.0 it cannot keep the connection the NTLM handshake needs. The \
         server hears nothing more on 5061 and resets the connection 30 s after frame 316 \
         (959). Everything else is unrelated background: DNS, ARP, ICMP and two intranet page \
         fetches. Frames of the named steps carry the case study's words as packet comments.",
        cap,
        Format::Pcapng(PcapngOptions { section_comment: Some(section.to_owned()), ..PcapngOptions::default() }),
    );
    let cp = &mut sc.capture;
    let named: [(u32, &str); 10] = [
        (syn, "Frame 303: Client starts TCP 3-way handshake"),
        (client_hello, "Frame 306: Client sends TLS \"Client Hello\""),
        (
            server_hello,
            "Frame 311: Server responds with TLS \"Server Hello\"",
        ),
        (
            client_finish,
            "Frame 315: Client sends TLS \"Cert, Client Key Exchange, Change Cipher Spec\"",
        ),
        (
            server_finish,
            "Frame 316: Server responds with TLS \"Change Cipher Spec, Encrypted Handshake\"",
        ),
        (
            get_a,
            "Frame 407: Client sends http GET for http://crl.verisign.com/pca3.crl",
        ),
        (
            r407_a,
            "Frame 408: Proxy replies with http 407 Proxy Auth required (NTLM or basic)",
        ),
        (
            get_b,
            "Frame 416: Client sends new GET request for CRL, this time including NTLM data",
        ),
        (
            r407_b,
            "Frame 417: Proxy replies with expected 407 with the NTLM Challenge",
        ),
        (
            reset,
            "Frame 959: Server RESETS the connection due to a timeout (30 seconds)",
        ),
    ];
    for (frame, words) in named {
        cp.comment(frame, words);
    }
    cp.note(syn, "SYN 10.1.1.5:1161 → 10.2.2.2:5061");
    cp.note(client_hello, "TLS 1.0 ClientHello");
    cp.note(server_hello, "ServerHello, Certificate (CRL DP http://crl.verisign.com/pca3.crl), CertificateRequest, ServerHelloDone");
    cp.note(
        client_finish,
        "Certificate (empty), ClientKeyExchange, ChangeCipherSpec, encrypted Finished",
    );
    cp.note(
        server_finish,
        "ChangeCipherSpec, encrypted Finished: last server data on 5061",
    );
    cp.note(
        get_a,
        "GET http://crl.verisign.com/pca3.crl HTTP/1.0, no credentials",
    );
    cp.note(
        r407_a,
        "407, Proxy-Authenticate NTLM and BASIC, Proxy-Connection: close",
    );
    cp.note(
        get_b,
        "GET with Proxy-Authorization: NTLM <case study Type 1>",
    );
    cp.note(
        r407_b,
        "407 with Proxy-Authenticate: NTLM <case study Type 2>, keep-alive",
    );
    cp.note(fin_client_b, "client closes instead of sending a Type 3");
    cp.note(
        reset,
        "RST, ACK from the server, 30.000 s after frame 316; tshark: Connection reset (RST)",
    );
    sc.fact(format!(
        "tcp.stream 0 and 4 are unrelated intranet page fetches (10.1.1.5 → 10.1.1.10:80): frames {}–{} and {}–{}.",
        early.first().copied().unwrap_or(0),
        early.last().copied().unwrap_or(0),
        late.first().copied().unwrap_or(0),
        late.last().copied().unwrap_or(0)
    ));
    sc.fact(format!(
        "tcp.stream 1 = 10.1.1.5:1161 → 10.2.2.2:5061: SYN {syn}, SYN-ACK {syn_ack}, ACK {ack}; ClientHello {client_hello} \
         (TLS 1.0, 11 suites, no extensions); server ACK {ch_ack}; frame {server_hello}: one record with ServerHello \
         (TLS_RSA_WITH_RC4_128_SHA), Certificate (`CN=ocs.fg.example.com`, CRL distribution point {CRL_URL}, OCSP \
         http://ocsp.verisign.com), CertificateRequest and ServerHelloDone; client ACK {sh_ack}; frame {client_finish}: empty client \
         Certificate, ClientKeyExchange, ChangeCipherSpec, encrypted Finished; frame {server_finish}: ChangeCipherSpec, encrypted \
         Finished; client ACK {finish_ack}. Then nothing until frame {reset}: RST, ACK from the server exactly 30 s after frame \
         {server_finish}."
    ));
    sc.fact(format!(
        "tcp.stream 2 = 10.1.1.5:1162 → 10.3.3.3:8080: handshake {}; frame {get_a}: `GET {CRL_URL} HTTP/1.0` (User-Agent `Entrust \
         Certificate Revocation`, Host, Pragma, Cookie `BCSI-CS0AEE9E8D=2`); frame {r407_a}: `HTTP/1.1 407 Proxy Authentication \
         Required` with `Proxy-Authenticate: NTLM`, `Proxy-Authenticate: BASIC realm=\"FG\"`, `Proxy-Connection: close`, \
         `Connection: close`; proxy FIN {fin_proxy_a}, client ACK {ack_a}, client FIN {fin_client_a}, proxy ACK {last_a}.",
        frames(&hs_a)
    ));
    sc.fact(format!(
        "tcp.stream 3 = 10.1.1.5:1163 → 10.3.3.3:8080: handshake {}; frame {get_b}: the same GET plus `Proxy-Authorization: NTLM \
         {}` (byte for byte the buffer of the case study); frame {r407_b}: 407 with `Proxy-Authenticate: NTLM <Type 2>` (the case \
         study's token: challenge d1cb3331634e8638, domain FG, server S3W04156), `Proxy-Connection: Keep-Alive`; frame \
         {fin_client_b}: the client's FIN, 2 ms later, instead of a GET with a Type 3; proxy FIN {fin_proxy_b}, last ACK {last_b}.",
        frames(&hs_b),
        ntlm::CASE_STUDY_TYPE1
    ));
    sc.fact(format!(
        "Frames {} are background filler: DNS queries and responses (10.1.1.5 ↔ 10.1.1.2), ARP (neighbours ↔ gateway \
         10.1.1.1), ICMP echo (10.1.1.5 ↔ 10.1.1.1).",
        filler_ranges(&sc.capture)
    ));
    sc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (src port, dst port, flags, payload) of an Ethernet/IPv4/TCP frame.
    fn tcp(cap: &Capture, n: u32) -> (u16, u16, u16, Vec<u8>) {
        let d = &cap.frame(n).unwrap().data[14..];
        let ihl = usize::from(d[0] & 0xf) * 4;
        let total = usize::from(u16::from_be_bytes([d[2], d[3]]));
        let t = &d[ihl..total];
        let off = usize::from(t[12] >> 4) * 4;
        (
            u16::from_be_bytes([t[0], t[1]]),
            u16::from_be_bytes([t[2], t[3]]),
            u16::from_be_bytes([t[12], t[13]]) & 0x1ff,
            t[off..].to_vec(),
        )
    }

    #[test]
    fn named_frames_carry_the_named_steps() {
        let sc = case_study();
        let cap = &sc.capture;
        assert!(cap.check().is_ok(), "{:?}", cap.check());
        assert_eq!(cap.frames().len(), 959);
        assert_eq!(tcp(cap, 303).1, 5061);
        assert_eq!(tcp(cap, 303).2, 0x002, "SYN");
        let ch = tcp(cap, 306).3;
        assert_eq!(
            (&ch[..3], ch[5]),
            (&[22, 3, 1][..], 1),
            "TLS 1.0 record with a ClientHello"
        );
        let sh = tcp(cap, 311).3;
        assert_eq!(sh[5], 2, "ServerHello first");
        assert!(sh
            .windows(32)
            .any(|w| w == b"http://crl.verisign.com/pca3.crl"));
        assert_eq!(tcp(cap, 315).3[5], 11, "client Certificate first");
        assert_eq!(tcp(cap, 316).3[0], 20, "ChangeCipherSpec first");
        assert!(tcp(cap, 407)
            .3
            .starts_with(b"GET http://crl.verisign.com/pca3.crl HTTP/1.0\r\n"));
        assert_eq!(tcp(cap, 407).1, 8080);
        assert!(tcp(cap, 408)
            .3
            .starts_with(b"HTTP/1.1 407 Proxy Authentication Required\r\n"));
        let get = String::from_utf8(tcp(cap, 416).3).unwrap();
        assert!(get.contains("Proxy-Authorization: NTLM TlRMTVNTUAABAAAAB7IIogUABQAwAAAACAAIACgAAAAFASgKAAAAD1Q2Q0s5NDNZTUFQTEU=\r\n"));
        let resp = String::from_utf8(tcp(cap, 417).3).unwrap();
        assert!(resp.contains(&format!(
            "Proxy-Authenticate: NTLM {}\r\n",
            ntlm::CASE_STUDY_TYPE2
        )));
        assert_eq!(
            tcp(cap, 418).2,
            0x011,
            "client FIN, ACK right after the challenge"
        );
        assert_eq!(
            (tcp(cap, 959).0, tcp(cap, 959).2),
            (5061, 0x014),
            "server RST, ACK"
        );
        let t316 = cap.frame(316).unwrap().timestamp;
        let t959 = cap.frame(959).unwrap().timestamp;
        assert_eq!(t959.saturating_since(t316), Duration::from_secs(30));
        // Nothing else on the 5061 connection between 317 and 959.
        let on_5061 = (318..959).filter(|&n| {
            let d = &cap.frame(n).unwrap().data;
            d.len() > 40 && d[23] == 6 && {
                let (s, dp, _, _) = tcp(cap, n);
                s == 5061 || dp == 5061
            }
        });
        assert_eq!(on_5061.count(), 0);
    }
}
