//! The parser on real captures from `shared/captures`, checked against tshark's oracle TSVs
//! (which report a reassembled HTTP message at the frame completing it, like this parser).
//!
//! Accepted difference: `http-connection-headers.pcap` ends its response head without the
//! empty line (FIN right after `Server:ng1nx\r\n`); tshark shows no response, this parser
//! reports it as a response whose head was truncated.

use std::collections::BTreeMap;

use super::message::{Completion, HttpMessage, MessagePart, TruncationCause};
use super::test_driver::{run_capture, CaptureConnection};
use super::{
    AuthScheme, BodyFraming, ConnectionSwitch, HttpConfig, HttpRequest, HttpResponse,
    KeepAliveReason, NoBody, RequestTarget,
};
use crate::proto::Dir;
use crate::test_support::{capture_files, oracle_rows, shared_capture, shared_captures};

fn run(name: &str) -> Option<Vec<CaptureConnection>> {
    run_with(name, &HttpConfig::default())
}

fn run_with(name: &str, config: &HttpConfig) -> Option<Vec<CaptureConnection>> {
    Some(run_capture(&shared_capture(name)?, config))
}

/// (completing frame, request) for every request in the capture.
fn requests(conns: &[CaptureConnection]) -> Vec<(u64, &HttpRequest)> {
    let mut out: Vec<_> = conns
        .iter()
        .flat_map(|c| &c.driver.emitted)
        .filter_map(|e| e.msg.as_request().map(|r| (e.last_frame, r)))
        .collect();
    out.sort_by_key(|(f, _)| *f);
    out
}

/// (completing frame, response) for every response in the capture.
fn responses(conns: &[CaptureConnection]) -> Vec<(u64, &HttpResponse)> {
    let mut out: Vec<_> = conns
        .iter()
        .flat_map(|c| &c.driver.emitted)
        .filter_map(|e| e.msg.as_response().map(|r| (e.last_frame, r)))
        .collect();
    out.sort_by_key(|(f, _)| *f);
    out
}

/// Compares requests and (complete) responses with the oracle: same frames, methods, URIs,
/// versions, status codes, auth and Connection header values.
fn check_against_oracle(name: &str, conns: &[CaptureConnection]) {
    let rows = oracle_rows(&shared_capture(name).expect("checked by the caller"));
    let col = |r: &BTreeMap<String, String>, c: &str| r.get(c).cloned().unwrap_or_default();
    let rows: Vec<BTreeMap<String, String>> =
        rows.into_iter().map(|r| r.into_iter().collect()).collect();

    let expected_requests: Vec<_> = rows
        .iter()
        .filter(|r| !col(r, "http.request.method").is_empty())
        .map(|r| {
            (
                col(r, "frame.number").parse::<u64>().unwrap(),
                col(r, "http.request.method"),
                col(r, "http.request.uri"),
                col(r, "http.request.version"),
                col(r, "http.proxy_authorization"),
                col(r, "http.authorization"),
                col(r, "http.connection"),
            )
        })
        .collect();
    let show = HttpConfig {
        show_secrets: true,
        ..HttpConfig::default()
    };
    // Raw credential values need show_secrets (Basic is redacted otherwise).
    let shown = run_with(name, &show).unwrap();
    let ours_requests: Vec<_> = requests(&shown)
        .into_iter()
        .map(|(f, r)| {
            let h = &r.head.headers;
            (
                f,
                r.head.method.clone(),
                r.head.target.clone(),
                serde_json::to_value(r.head.version)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                h.values("Proxy-Authorization")
                    .collect::<Vec<_>>()
                    .join(","),
                h.values("Authorization").collect::<Vec<_>>().join(","),
                h.values("Connection").collect::<Vec<_>>().join(","),
            )
        })
        .collect();
    assert_eq!(ours_requests, expected_requests, "{name}: requests");

    let expected_responses: Vec<_> = rows
        .iter()
        .filter(|r| !col(r, "http.response.code").is_empty())
        .map(|r| {
            (
                col(r, "frame.number").parse::<u64>().unwrap(),
                col(r, "http.response.code").parse::<u16>().unwrap(),
                col(r, "http.response.version"),
                col(r, "http.proxy_authenticate"),
                col(r, "http.www_authenticate"),
                col(r, "http.connection"),
            )
        })
        .collect();
    let ours_responses: Vec<_> = responses(conns)
        .into_iter()
        .filter(|(_, r)| r.completion == Completion::Complete)
        .map(|(f, r)| {
            let h = &r.head.headers;
            (
                f,
                r.head.status,
                serde_json::to_value(r.head.version)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
                h.values("Proxy-Authenticate").collect::<Vec<_>>().join(","),
                h.values("WWW-Authenticate").collect::<Vec<_>>().join(","),
                h.values("Connection").collect::<Vec<_>>().join(","),
            )
        })
        .collect();
    assert_eq!(ours_responses, expected_responses, "{name}: responses");
}

/// Every byte offered was consumed or skipped, except bytes left for the next protocol.
fn assert_accounted(conns: &[CaptureConnection]) {
    for c in conns {
        for dir in [Dir::ToServer, Dir::ToClient] {
            let a = c.driver.accounting(dir);
            assert!(a.balanced(), "{a:?}");
            if c.driver.parser.switched().is_none() {
                assert!(a.clean(), "{:?} {dir:?}: {a:?}", c.client);
            }
        }
        let errors: Vec<_> = c
            .driver
            .emitted
            .iter()
            .filter(|e| matches!(e.msg, HttpMessage::DecodeError { .. }))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

#[test]
fn squid_ntlm_proxy_auth_ok() {
    let name = "squid-ntlm-proxy-auth-ok-curl.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    assert_accounted(&conns);
    let reqs = requests(&conns);
    let resps = responses(&conns);
    // Type 1 → 407 with Type 2 → Type 3 → 200, one client connection.
    let (_, type1) = reqs[0];
    assert!(type1.head.target_form.is_proxy_form());
    let creds = &type1.head.headers.credentials[0];
    assert_eq!(creds.kind, AuthScheme::Ntlm);
    assert_eq!(
        creds.token.as_deref(),
        Some("TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=")
    );
    let (f407, r407) = resps[0];
    assert_eq!((f407, r407.head.status, r407.exchange), (6, 407, Some(0)));
    let challenge = &r407.head.headers.challenges[0];
    assert_eq!(challenge.kind, AuthScheme::Ntlm);
    assert_eq!(
        challenge.token.as_deref(),
        Some("TlRMTVNTUAACAAAACQAJAK6qqqoGgggALRtbmNZ4a3cAAAAAAAA6AFdPUktHUk9VUA==")
    );
    assert_eq!(r407.body.len, 3108);
    assert!(r407.keep_alive);
    let client_conn = conns.iter().find(|c| c.server.port() == 3128).unwrap();
    let e407 = client_conn
        .driver
        .emitted
        .iter()
        .find(|e| e.msg.as_response().is_some_and(|r| r.head.status == 407))
        .unwrap();
    assert_eq!(
        (e407.first_frame, e407.last_frame),
        (6, 6),
        "head and body in one frame"
    );
    // The proxy's 200 completes in frame 20 though its head came in frame 16: wire_len leads
    // back to the head.
    let e = client_conn
        .driver
        .emitted
        .iter()
        .find(|e| e.msg.as_response().is_some_and(|r| r.head.status == 200))
        .unwrap();
    let r200 = e.msg.as_response().unwrap();
    assert_eq!(e.last_frame, 20);
    assert_eq!(
        client_conn
            .driver
            .frame_at(Dir::ToClient, e.offsets.end - r200.wire_len),
        16
    );
    assert_eq!(r200.exchange, Some(1));
    // The proxy's own request to the origin says Connection: close; the origin answers 1.0.
    let origin_req = reqs.iter().find(|(f, _)| *f == 12).unwrap().1;
    assert_eq!(
        (origin_req.keep_alive, origin_req.keep_alive_reason),
        (false, KeepAliveReason::ConnectionClose)
    );
    let origin_resp = resps.iter().find(|(f, _)| *f == 17).unwrap().1;
    assert_eq!(
        (origin_resp.keep_alive, origin_resp.keep_alive_reason),
        (false, KeepAliveReason::Http10Default)
    );
    assert!(!conns
        .iter()
        .flat_map(|c| &c.driver.emitted)
        .any(|e| matches!(
            e.msg,
            HttpMessage::ConnectionClosedWithOutstandingRequest { .. }
        )));
}

#[test]
fn squid_ntlm_http10_challenge_withheld() {
    let name = "squid-ntlm-http10-challenge-withheld-curl.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    assert_accounted(&conns);
    let (_, req) = requests(&conns)[0];
    // An HTTP/1.0 client without keep-alive cannot finish connection-bound NTLM.
    assert_eq!(
        (req.keep_alive, req.keep_alive_reason),
        (false, KeepAliveReason::Http10Default)
    );
    assert_eq!(req.head.headers.credentials[0].kind, AuthScheme::Ntlm);
    let (_, resp) = responses(&conns)[0];
    assert_eq!(resp.head.status, 407);
    let schemes: Vec<_> = resp
        .head
        .headers
        .challenges
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(schemes, [AuthScheme::Basic], "the proxy withholds NTLM");
    assert_eq!(resp.head.headers.challenges[0].realm(), Some("LabProxy"));
    assert_eq!(
        (resp.keep_alive, resp.keep_alive_reason),
        (false, KeepAliveReason::ConnectionClose)
    );
    assert_eq!(resp.request.as_ref().map(|r| r.keep_alive), Some(false));
}

#[test]
fn squid_basic_proxy_auth_rejected() {
    let name = "squid-basic-proxy-auth-rejected-curl.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    assert_accounted(&conns);
    let reqs = requests(&conns);
    assert_eq!(reqs.len(), 3);
    for (_, r) in &reqs {
        let basic = r.head.headers.credentials[0].basic.as_ref().unwrap();
        assert_eq!(basic.user, "labuser");
        assert!(basic.password_redacted);
        assert_eq!(basic.password.expose(), "WrongPass");
        let json = serde_json::to_string(r).unwrap();
        assert!(!json.contains("WrongPass") && !json.contains("bGFidXNlcjpXcm9uZ1Bhc3M="));
    }
    let exchanges: Vec<_> = responses(&conns)
        .iter()
        .map(|(f, r)| (*f, r.exchange))
        .collect();
    assert_eq!(exchanges, [(6, Some(0)), (9, Some(1)), (18, Some(0))]);
    for (_, r) in responses(&conns) {
        let schemes: Vec<_> = r.head.headers.challenges.iter().map(|c| c.kind).collect();
        assert_eq!(schemes, [AuthScheme::Ntlm, AuthScheme::Basic]);
    }
}

#[test]
fn proxy_request_with_absolute_uri() {
    let name = "http-proxy-absolute-uri.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    assert_accounted(&conns);
    let (_, req) = requests(&conns)[0];
    assert_eq!(
        req.head.target_form,
        RequestTarget::Absolute {
            scheme: "http".into(),
            host: "bro.org".into(),
            port: None
        }
    );
    let (frame, resp) = responses(&conns)[0];
    assert_eq!((frame, resp.body.len), (22, 15961));
    // The body was skipped, not buffered: only the first segment (head and the start of the
    // body, already in hand) and the final byte were consumed.
    let a = conns[0].driver.accounting(Dir::ToClient);
    assert_eq!(a.offered, resp.wire_len);
    assert_eq!(a.consumed, 1448 + 1);
    assert_eq!(a.skipped, resp.wire_len - 1449);
}

#[test]
fn connect_tunnel_hands_over_to_tls() {
    let name = "http-connect-tls12-cert.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    assert_accounted(&conns);
    let c = &conns[0];
    assert_eq!(c.driver.parser.switched(), Some(ConnectionSwitch::Tunnel));
    let tunnel: Vec<_> = c
        .driver
        .emitted
        .iter()
        .filter(|e| matches!(e.msg, HttpMessage::TunnelEstablished { .. }))
        .collect();
    assert_eq!(tunnel.len(), 1);
    assert_eq!(tunnel[0].last_frame, 6);
    assert_eq!(
        tunnel[0].msg,
        HttpMessage::TunnelEstablished {
            exchange: 0,
            authority: "ts01-b.cloudsink.net:443".into(),
            status: 200
        }
    );
    let (_, resp) = responses(&conns)[0];
    assert_eq!(
        resp.body.framing,
        Some(BodyFraming::None {
            why: NoBody::ConnectEstablished
        })
    );
    // Everything after the 200 is left for the TLS decoder: handshake records in both ways.
    assert_eq!(
        c.driver.buffered(Dir::ToServer).get(..2),
        Some(&[0x16, 0x03][..])
    );
    assert_eq!(
        c.driver.buffered(Dir::ToClient).get(..2),
        Some(&[0x16, 0x03][..])
    );
    assert_eq!(c.driver.buffered(Dir::ToServer).len(), 289 + 126);
}

#[test]
fn response_head_cut_by_fin() {
    let name = "http-connection-headers.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    let (_, req) = requests(&conns)[0];
    assert_eq!(req.head.headers.get("Connection"), Some("keep-alive"));
    let resps = responses(&conns);
    assert_eq!(resps.len(), 1);
    let (frame, resp) = resps[0];
    assert_eq!(frame, 6);
    assert_eq!(
        (resp.head.status, resp.head.headers.get("server")),
        (200, Some("ng1nx"))
    );
    assert_eq!(
        resp.completion,
        Completion::Truncated {
            part: MessagePart::Head,
            cause: TruncationCause::Fin
        }
    );
    assert_eq!(resp.head_len, 30);
}

#[test]
fn basic_auth_and_not_modified() {
    let name = "http-basic-auth.pcap";
    let Some(conns) = run(name) else { return };
    check_against_oracle(name, &conns);
    assert_accounted(&conns);
    let (_, req) = requests(&conns)[0];
    let basic = req.head.headers.credentials[0].basic.as_ref().unwrap();
    assert_eq!(basic.user, "userrrrr");
    assert_eq!(basic.password.expose(), "passworddddd");
    let (_, resp) = responses(&conns)[0];
    assert_eq!(resp.head.status, 304);
    assert_eq!(
        resp.head.headers.get("Keep-Alive"),
        Some("timeout=70, max=200")
    );
    assert!(resp.keep_alive);
}

/// Every capture of the corpus: the requests and responses this parser completes, by frame,
/// equal tshark's HTTP-over-TCP messages. Accepted differences (tshark shows nothing for
/// them): responses whose head was cut short, and responses whose last bytes fell into a
/// capture hole (reported with `gap_bytes`). Also: no panic, every byte accounted for.
#[test]
fn every_capture_matches_the_oracle_frame_by_frame() {
    let Some(dir) = shared_captures() else { return };
    let mut compared = 0;
    for path in capture_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let conns = run_capture(&path, &HttpConfig::default());
        for c in &conns {
            for d in [Dir::ToServer, Dir::ToClient] {
                assert!(c.driver.accounting(d).balanced(), "{name}");
            }
        }
        let rows = oracle_rows(&path);
        let tcp_rows = || rows.iter().filter(|r| !r["tcp.stream"].is_empty());
        let per_frame = |col: &str| -> Vec<(u64, String)> {
            let mut v: Vec<_> = tcp_rows()
                .filter(|r| !r[col].is_empty())
                .flat_map(|r| {
                    let frame: u64 = r["frame.number"].parse().unwrap();
                    r[col]
                        .split(',')
                        .map(move |x| (frame, x.to_string()))
                        .collect::<Vec<_>>()
                })
                .collect();
            v.sort();
            v
        };
        let mut ours_requests: Vec<_> = requests(&conns)
            .into_iter()
            .map(|(f, r)| (f, r.head.method.clone()))
            .collect();
        ours_requests.sort();
        let mut ours_responses: Vec<_> = responses(&conns)
            .into_iter()
            .filter(|(_, r)| {
                !matches!(
                    r.completion,
                    Completion::Truncated {
                        part: MessagePart::Head,
                        ..
                    }
                ) && r.body.gap_bytes == 0
            })
            .map(|(f, r)| (f, r.head.status.to_string()))
            .collect();
        ours_responses.sort();
        assert_eq!(
            ours_requests,
            per_frame("http.request.method"),
            "{name}: requests"
        );
        assert_eq!(
            ours_responses,
            per_frame("http.response.code"),
            "{name}: responses"
        );
        compared += ours_requests.len() + ours_responses.len();
    }
    assert!(compared > 500, "only {compared} messages compared");
}

#[test]
fn body_ending_in_a_capture_hole_completes_with_gap_then_resync() {
    // large-http-espn-browse.pcapng: 3038 bytes of the server's stream (port 41835) were never
    // captured; they cover the end of a 5328-byte body. tshark resumes at frame 893.
    let Some(conns) = run("large-http-espn-browse.pcapng") else {
        return;
    };
    let c = conns.iter().find(|c| c.client.port() == 41835).unwrap();
    let resps: Vec<_> = c
        .driver
        .emitted
        .iter()
        .filter_map(|e| e.msg.as_response().map(|r| (e.last_frame, r)))
        .collect();
    let (_, holed) = resps.iter().find(|(_, r)| r.exchange == Some(5)).unwrap();
    assert_eq!(
        holed.body.framing,
        Some(BodyFraming::ContentLength { length: 5328 })
    );
    assert_eq!((holed.body.len, holed.body.gap_bytes), (5328, 1));
    assert_eq!(c.driver.accounting(Dir::ToClient).skipped_in_holes, 3037);
    let (frame, next) = resps.iter().find(|(_, r)| r.exchange == Some(6)).unwrap();
    assert_eq!(
        (*frame, next.completion.clone()),
        (894, Completion::Complete)
    );
    assert_eq!(c.driver.parser.outstanding_requests(), 0);
}

#[test]
fn status_line_then_reset_is_a_truncated_head() {
    // http-ntlm-wpad-401-smb.pcap frames 218 and 220: the proxy sends only its status line
    // before the client resets; tshark shows nothing there.
    let Some(conns) = run("http-ntlm-wpad-401-smb.pcap") else {
        return;
    };
    let cut: Vec<_> = responses(&conns)
        .into_iter()
        .filter(|(_, r)| {
            matches!(
                r.completion,
                Completion::Truncated {
                    part: MessagePart::Head,
                    ..
                }
            )
        })
        .map(|(f, r)| (f, r.head.status, r.request.as_ref().unwrap().method.clone()))
        .collect();
    assert_eq!(
        cut,
        [
            (218, 404, "CONNECT".to_string()),
            (220, 404, "CONNECT".to_string())
        ]
    );
}
