//! HTTP proxy authentication scenarios with NTLM.

use std::time::Duration;

use super::{at, close_fact, frames, v4, Format, Scenario};
use crate::capture::Capture;
use crate::linktype::LinkType;
use crate::payloads::{deterministic_bytes, http, ntlm};
use crate::pcap::PcapOptions;
use crate::session::{Dir, TcpSession};

/// Client, proxy and the proxy port used by every proxy scenario.
pub(super) const CLIENT: [u8; 4] = [10, 1, 1, 5];
pub(super) const PROXY: [u8; 4] = [10, 3, 3, 3];
pub(super) const PROXY_PORT: u16 = 8080;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The 407 page body a proxy sends with its challenge.
pub(super) fn denied_page() -> Vec<u8> {
    b"<html><head><title>Proxy Authentication Required</title></head>\n<body><h1>407 Proxy Authentication Required</h1>\n<p>Your credentials could not be authenticated.</p></body></html>\n".to_vec()
}

/// `HTTP/1.1 407` offering NTLM and Basic, with the given connection headers.
pub(super) fn offer_407(connection: &str) -> Vec<u8> {
    let body = denied_page();
    let len = body.len().to_string();
    http::response(
        "HTTP/1.1",
        407,
        "Proxy Authentication Required",
        &[
            ("Proxy-Authenticate", "NTLM"),
            ("Proxy-Authenticate", "BASIC realm=\"FG\""),
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Proxy-Connection", connection),
            ("Connection", connection),
            ("Content-Length", &len),
        ],
        &body,
    )
}

/// `HTTP/1.1 407` carrying an NTLM challenge (the case study's Type 2), keep-alive.
pub(super) fn challenge_407() -> Vec<u8> {
    let body = denied_page();
    let len = body.len().to_string();
    let auth = format!("NTLM {}", ntlm::CASE_STUDY_TYPE2);
    http::response(
        "HTTP/1.1",
        407,
        "Proxy Authentication Required",
        &[
            ("Proxy-Authenticate", &auth),
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Proxy-Connection", "Keep-Alive"),
            ("Connection", "Keep-Alive"),
            ("Content-Length", &len),
        ],
        &body,
    )
}

/// A Type 3 answering the case study's Type 2 for `MAPLE\jdoe` on `T6CK943Y` at time `at`.
pub(super) fn type3(cap: &Capture) -> Option<String> {
    let mut client_challenge = [0u8; 8];
    client_challenge.copy_from_slice(deterministic_bytes(0x7e57, 8).get(..8)?);
    let creds = ntlm::Credentials {
        user: "jdoe",
        domain: "MAPLE",
        workstation: "T6CK943Y",
        password: "Fixture-Passw0rd",
        client_challenge,
        timestamp: ntlm::filetime(cap.now()),
    };
    ntlm::answer_case_study_type2(&creds)
        .ok()
        .map(|m| ntlm::base64_encode(&m))
}

/// HTTP/1.1 keep-alive: 407 → Type 1 → 407 Type 2 → Type 3 → 200, one connection.
pub(super) fn ntlm_proxy_auth_ok() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s =
        TcpSession::new(v4(CLIENT, 50100), v4(PROXY, PROXY_PORT)).isns(0x3000_0000, 0x3100_0000);
    let url = "http://www.example.com/intranet/index.html";
    let base = |auth: Option<&str>| {
        let mut h = vec![
            ("Accept", "*/*"),
            (
                "User-Agent",
                "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)",
            ),
            ("Host", "www.example.com"),
            ("Proxy-Connection", "Keep-Alive"),
        ];
        if let Some(a) = auth {
            h.push(("Proxy-Authorization", a));
        }
        http::request("GET", url, "HTTP/1.1", &h, b"")
    };
    let hs = s.handshake(&mut cap);
    let get1 = s.send(&mut cap, Dir::ToServer, &base(None));
    cap.advance(ms(2));
    let r407a = s.send(&mut cap, Dir::ToClient, &offer_407("Keep-Alive"));
    cap.advance(ms(5));
    let t1 = format!("NTLM {}", ntlm::CASE_STUDY_TYPE1);
    let get2 = s.send(&mut cap, Dir::ToServer, &base(Some(&t1)));
    cap.advance(ms(2));
    let r407b = s.send(&mut cap, Dir::ToClient, &challenge_407());
    cap.advance(ms(5));
    let t3 = format!("NTLM {}", type3(&cap).unwrap_or_default());
    let get3 = s.send(&mut cap, Dir::ToServer, &base(Some(&t3)));
    cap.advance(ms(30));
    let page = http::html_page("Intranet", 2500);
    let ok = http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[
            ("Content-Type", "text/html"),
            ("Content-Length", &page.len().to_string()),
            ("Proxy-Connection", "Keep-Alive"),
            ("Connection", "Keep-Alive"),
        ],
        &page,
    );
    let r200 = s.send(&mut cap, Dir::ToClient, &ok);
    cap.advance(Duration::from_secs(5));
    let close = s.close(&mut cap);

    let mut sc = Scenario::new(
        "ntlm-proxy-auth-ok.pcap",
        "NTLM proxy authentication that succeeds (HTTP/1.1 keep-alive)",
        "A browser on 10.1.1.5 fetches an absolute-form URL through the proxy 10.3.3.3:8080 over \
         one keep-alive connection: the proxy answers 407 offering NTLM and Basic; the client \
         retries with an NTLM Type 1 (the case study's token); the proxy answers 407 with the \
         Type 2 challenge (the case study's token); the client answers with a Type 3 (NTLMv2, \
         `MAPLE\\jdoe` on `T6CK943Y`) on the SAME connection and gets `200 OK`. This is the \
         exchange the case study's client could not complete.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let cp = &mut sc.capture;
    cp.note(at(&get1.data, 0), "GET absolute-form, no credentials");
    cp.note(
        at(&r407a.data, 0),
        "407, Proxy-Authenticate: NTLM and BASIC realm=\"FG\"",
    );
    cp.note(at(&get2.data, 0), "Proxy-Authorization: NTLM Type 1");
    cp.note(
        at(&r407b.data, 0),
        "407, Proxy-Authenticate: NTLM Type 2 (challenge d1cb3331634e8638)",
    );
    cp.note(
        at(&get3.data, 0),
        "Proxy-Authorization: NTLM Type 3 (NTLMv2, user jdoe, domain MAPLE)",
    );
    cp.note(*r200.data.last().unwrap_or(&0), "`200 OK` complete here");
    sc.fact(format!(
        "One connection, tcp.stream 0 (10.1.1.5:50100 → 10.3.3.3:8080); handshake frames {}.",
        frames(&hs)
    ));
    sc.fact(format!(
        "Frame {}: `GET {url} HTTP/1.1` (absolute-form, Proxy-Connection: Keep-Alive). Frame {}: `407 Proxy Authentication Required` \
         with `Proxy-Authenticate: NTLM` and `Proxy-Authenticate: BASIC realm=\"FG\"`, keep-alive, Content-Length body.",
        at(&get1.data, 0),
        at(&r407a.data, 0)
    ));
    sc.fact(format!(
        "Frame {}: the same GET with `Proxy-Authorization: NTLM {}` (Type 1). Frame {}: 407 with `Proxy-Authenticate: NTLM <Type 2>` \
         (flags 0xa2898205, target FG, challenge d1cb3331634e8638).",
        at(&get2.data, 0),
        ntlm::CASE_STUDY_TYPE1,
        at(&r407b.data, 0)
    ));
    sc.fact(format!(
        "Frame {}: the GET with `Proxy-Authorization: NTLM <Type 3>`: NTLMv2 response (password `Fixture-Passw0rd`), domain `MAPLE`, \
         user `jdoe`, workstation `T6CK943Y`. The response `HTTP/1.1 200 OK` ({} body bytes) is in frames {}.",
        at(&get3.data, 0),
        page.len(),
        frames(&r200.data)
    ));
    sc.fact(close_fact(&close));
    sc
}

/// HTTP/1.0: 407 and close; new connection with Type 1; 407 Type 2; the client gives up (FIN).
pub(super) fn ntlm_proxy_abandoned() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut first =
        TcpSession::new(v4(CLIENT, 50200), v4(PROXY, PROXY_PORT)).isns(0x3200_0000, 0x3300_0000);
    let mut second =
        TcpSession::new(v4(CLIENT, 50201), v4(PROXY, PROXY_PORT)).isns(0x3400_0000, 0x3500_0000);
    let url = "http://crl.example.com/ca.crl";
    let get = |auth: Option<&str>| {
        let mut h = vec![
            ("User-Agent", "Entrust Certificate Revocation"),
            ("Host", "crl.example.com"),
            ("Pragma", "no-cache"),
        ];
        if let Some(a) = auth {
            h.push(("Proxy-Authorization", a));
        }
        http::request("GET", url, "HTTP/1.0", &h, b"")
    };
    let hs1 = first.handshake(&mut cap);
    let get1 = first.send(&mut cap, Dir::ToServer, &get(None));
    cap.advance(ms(2));
    let r407a = first.send(&mut cap, Dir::ToClient, &offer_407("close"));
    let fin_proxy = first.fin(&mut cap, Dir::ToClient);
    let ack1 = first.ack(&mut cap, Dir::ToServer);
    let fin_client1 = first.fin(&mut cap, Dir::ToServer);
    let last1 = first.ack(&mut cap, Dir::ToClient);
    cap.advance(ms(20));
    let hs2 = second.handshake(&mut cap);
    let t1 = format!("NTLM {}", ntlm::CASE_STUDY_TYPE1);
    let get2 = second.send(&mut cap, Dir::ToServer, &get(Some(&t1)));
    cap.advance(ms(2));
    let r407b = second.send(&mut cap, Dir::ToClient, &challenge_407());
    cap.advance(ms(3));
    let close2 = second.close(&mut cap);

    let mut sc = Scenario::new(
        "ntlm-proxy-abandoned.pcap",
        "NTLM proxy authentication abandoned by an HTTP/1.0 client",
        "An HTTP/1.0 client (as in the case study) fetches a CRL through the proxy. The first \
         407 offers NTLM and Basic and closes the connection (`Proxy-Connection: close`). The \
         client opens a new connection and sends its NTLM Type 1; the proxy answers 407 with the \
         Type 2 challenge and asks for keep-alive; the client, which cannot keep the connection \
         open under HTTP/1.0, closes it with FIN and never sends a Type 3.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let cp = &mut sc.capture;
    cp.note(
        at(&r407a.data, 0),
        "407 offering NTLM and BASIC, Connection: close",
    );
    cp.note(at(&get2.data, 0), "Proxy-Authorization: NTLM Type 1");
    cp.note(
        at(&r407b.data, 0),
        "407 with NTLM Type 2, Proxy-Connection: Keep-Alive",
    );
    cp.note(at(&close2, 0), "client FIN instead of a Type 3");
    sc.fact(format!(
        "tcp.stream 0 (10.1.1.5:50200 → 10.3.3.3:8080): handshake {}, `GET {url} HTTP/1.0` frame {}, 407 (NTLM, BASIC; \
         `Proxy-Connection: close`) frame {}; the proxy closes first (FIN frame {fin_proxy}, ACK {ack1}), client FIN {fin_client1}, \
         last ACK {last1}.",
        frames(&hs1),
        frames(&get1.data),
        frames(&r407a.data)
    ));
    sc.fact(format!(
        "tcp.stream 1 (10.1.1.5:50201 → 10.3.3.3:8080): handshake {}, GET with `Proxy-Authorization: NTLM <Type 1>` frame {}, \
         407 with `Proxy-Authenticate: NTLM <Type 2>` and keep-alive frame {}.",
        frames(&hs2),
        frames(&get2.data),
        frames(&r407b.data)
    ));
    sc.fact(format!(
        "The client closes stream 1 (FIN frame {}) 3 ms after the challenge; no request carries a Type 3. Proxy FIN {}, last ACK {}.",
        at(&close2, 0),
        at(&close2, 1),
        at(&close2, 2)
    ));
    sc
}
