//! Behaviour of the stream parser on hand-written conversations, fed whole and byte by byte.

use super::message::{Completion, HttpMessage, MessagePart, ResyncCause, TruncationCause};
use super::test_driver::{run_bytewise, run_whole, Driver};
use super::{
    BodyFraming, ConnectionSwitch, HttpConfig, HttpConnectionParser, HttpError, HttpRequest,
    HttpResponse, KeepAliveReason, NoBody,
};
use crate::proto::{Dir, EndReason};

fn requests(msgs: &[HttpMessage]) -> Vec<&HttpRequest> {
    msgs.iter().filter_map(HttpMessage::as_request).collect()
}

fn responses(msgs: &[HttpMessage]) -> Vec<&HttpResponse> {
    msgs.iter().filter_map(HttpMessage::as_response).collect()
}

/// Runs a conversation whole and byte by byte; both must report the same messages and account
/// for every byte.
fn converse(client: &[u8], server: &[u8]) -> Vec<HttpMessage> {
    let whole = run_whole(client, server);
    let bytewise = run_bytewise(client, server);
    assert_eq!(
        whole.messages(),
        bytewise.messages(),
        "whole vs byte-by-byte differ"
    );
    for d in [&whole, &bytewise] {
        for dir in [Dir::ToServer, Dir::ToClient] {
            assert!(d.accounting(dir).balanced(), "{dir:?}");
        }
    }
    whole.messages()
}

fn assert_all_consumed(d: &Driver) {
    for dir in [Dir::ToServer, Dir::ToClient] {
        let a = d.accounting(dir);
        assert!(a.clean(), "{dir:?}: {a:?}");
    }
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let client = b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
4;sig=\"a;b\"\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let msgs = converse(client, server);
    let req = requests(&msgs)[0];
    assert_eq!(req.body.len, 9);
    assert_eq!(req.body.wire_len, (client.len() - req.head_len) as u64);
    let chunked = req.body.chunked.as_ref().unwrap();
    assert_eq!(chunked.chunks, 2);
    assert!(chunked.extensions);
    assert_eq!(chunked.trailers, ["X-Checksum", "X-Other"]);
    assert_eq!(req.completion, Completion::Complete);
    assert_eq!(req.wire_len, client.len() as u64);
    let resp = responses(&msgs)[0];
    assert_eq!(
        (resp.body.len, resp.completion.clone()),
        (3, Completion::Complete)
    );
    assert_all_consumed(&run_whole(client, server));
}

#[test]
fn head_response_has_no_body_even_with_content_length() {
    // Pipelined HEAD then GET: the first response's Content-Length must not be read as a body.
    let client = b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let msgs = converse(client, server);
    let resp = responses(&msgs);
    assert_eq!(resp.len(), 2);
    assert_eq!(
        resp[0].body.framing,
        Some(BodyFraming::None {
            why: NoBody::ResponseToHead
        })
    );
    assert_eq!(resp[0].request.as_ref().unwrap().method, "HEAD");
    assert_eq!((resp[1].exchange, resp[1].body.len), (Some(1), 5));
    assert_eq!(resp[1].request.as_ref().unwrap().target, "/b");
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let client = b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n";
    let server = b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n\
HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let msgs = converse(client, server);
    let resp = responses(&msgs);
    let whys: Vec<_> = resp.iter().map(|r| r.body.framing).collect();
    assert_eq!(
        whys,
        [
            Some(BodyFraming::None {
                why: NoBody::NoContent
            }),
            Some(BodyFraming::None {
                why: NoBody::NotModified
            }),
            Some(BodyFraming::ContentLength { length: 2 }),
        ]
    );
    assert_eq!(
        resp.iter().map(|r| r.exchange).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
}

#[test]
fn expect_100_continue_then_final_response() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(
        Dir::ToServer,
        b"PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        1,
    );
    d.push(Dir::ToClient, b"HTTP/1.1 100 Continue\r\n\r\n", 2);
    d.push(Dir::ToServer, b"data", 3);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        4,
    );
    let msgs = d.messages();
    let kinds: Vec<_> = msgs
        .iter()
        .map(|m| match m {
            HttpMessage::Request(r) => format!("req{} {}", r.exchange, r.body.len),
            HttpMessage::Response(r) => {
                format!(
                    "resp{:?} {} interim={}",
                    r.exchange, r.head.status, r.interim
                )
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "respSome(0) 100 interim=true",
            "req0 4",
            "respSome(0) 201 interim=false"
        ]
    );
    assert!(requests(&msgs)[0].expect_continue);
    assert_eq!(
        d.emitted[1].last_frame, 3,
        "the request completes with its body"
    );
    assert_eq!(d.parser.outstanding_requests(), 0);
}

#[test]
fn pipelined_requests_pair_with_responses_in_order() {
    let client = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcDELETE /3 HTTP/1.1\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nNO";
    let msgs = converse(client, server);
    let pairs: Vec<_> = responses(&msgs)
        .iter()
        .map(|r| {
            let q = r.request.as_ref().unwrap();
            (
                r.exchange.unwrap(),
                q.method.clone(),
                q.target.clone(),
                r.head.status,
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (0, "GET".to_string(), "/1".to_string(), 200),
            (1, "POST".to_string(), "/2".to_string(), 201),
            (2, "DELETE".to_string(), "/3".to_string(), 404),
        ]
    );
    // Whole-input ranges cover head and body of each message.
    let d = run_whole(client, server);
    let spans: Vec<_> = d
        .emitted
        .iter()
        .filter(|e| e.dir == Dir::ToClient)
        .map(|e| (e.offsets.clone(), e.msg.as_response().unwrap().wire_len))
        .collect();
    assert_eq!(spans[0], (0..39, 39));
    assert_eq!(spans[1].0.start, 39);
    assert_eq!(spans[2].0.end, server.len() as u64);
}

#[test]
fn close_delimited_body_completes_at_fin_and_is_truncated_by_reset() {
    let client = b"GET / HTTP/1.0\r\n\r\n";
    let server = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome body bytes";
    let msgs = converse(client, server);
    let resp = responses(&msgs)[0];
    assert_eq!(resp.body.framing, Some(BodyFraming::UntilClose));
    assert_eq!(
        (resp.body.len, resp.completion.clone()),
        (15, Completion::Complete)
    );
    assert_eq!(resp.keep_alive_reason, KeepAliveReason::Http10Default);

    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n", 1);
    d.push(Dir::ToClient, b"HTTP/1.1 200 OK\r\n\r\nabc", 2);
    d.push(Dir::ToClient, b"def", 3);
    d.end(Dir::ToClient, EndReason::Reset, 4);
    let resp = d.emitted.last().unwrap();
    assert_eq!(resp.last_frame, 4);
    let resp = resp.msg.as_response().unwrap();
    assert_eq!(resp.body.len, 6);
    assert!(!resp.keep_alive);
    assert_eq!(resp.keep_alive_reason, KeepAliveReason::CloseDelimitedBody);
    assert_eq!(
        resp.completion,
        Completion::Truncated {
            part: MessagePart::Body,
            cause: TruncationCause::Reset
        }
    );
    assert_all_consumed(&d);
}

#[test]
fn conflicting_content_length_is_an_error_then_resync() {
    let client = b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
    // The next status line is found at a line start (resynchronisation never looks mid-line).
    let server = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!\n\
HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let msgs = converse(client, server);
    let resp = responses(&msgs);
    assert_eq!(resp.len(), 2);
    assert_eq!(
        resp[0].completion,
        Completion::Error {
            error: HttpError::ConflictingContentLength {
                values: vec!["5".into(), "6".into()]
            }
        }
    );
    assert_eq!(resp[0].body.framing, None);
    assert_eq!((resp[1].exchange, resp[1].body.len), (Some(1), 2));
    let resync: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            HttpMessage::Resynchronized {
                discarded, after, ..
            } => Some((*discarded, *after)),
            _ => None,
        })
        .collect();
    assert_eq!(resync, [(7, ResyncCause::Error)]);
    assert!(!msgs
        .iter()
        .any(|m| matches!(m, HttpMessage::DecodeError { .. })));
}

#[test]
fn overflowing_chunk_size_is_an_error_then_resync() {
    let client = b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
    let server = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
1ffffffffffffffff\r\nxxxx\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let msgs = converse(client, server);
    let resp = responses(&msgs);
    assert_eq!(
        resp[0].completion,
        Completion::Error {
            error: HttpError::ChunkSizeOverflow
        }
    );
    assert_eq!((resp[1].head.status, resp[1].exchange), (204, Some(1)));
}

#[test]
fn megabyte_header_line_is_capped_without_blowup() {
    let config = HttpConfig::default();
    let mut request = b"GET /big HTTP/1.1\r\nX-Huge: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 1 << 20));
    request.extend_from_slice(b"\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    for piece in [1400usize, 1] {
        let mut d = Driver::new(config.clone());
        let mut max_buffered = 0;
        for (n, chunk) in request.chunks(piece).enumerate() {
            d.push(Dir::ToServer, chunk, n as u64);
            max_buffered = max_buffered.max(d.accounting(Dir::ToServer).buffered);
        }
        assert!(
            max_buffered <= (config.max_head_len + piece) as u64,
            "buffered {max_buffered}"
        );
        let msgs = d.messages();
        let errors: Vec<_> = msgs
            .iter()
            .filter_map(|m| match m {
                HttpMessage::DecodeError { error, .. } => Some(error.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(errors, [HttpError::HeadTooLarge { limit: 64 * 1024 }]);
        let reqs = requests(&msgs);
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].head.target, "/after");
        assert!(matches!(msgs.last(), Some(HttpMessage::Request(_))));
        assert!(matches!(
            msgs.get(msgs.len() - 2),
            Some(HttpMessage::Resynchronized {
                after: ResyncCause::Error,
                ..
            })
        ));
    }
}

#[test]
fn resync_after_a_gap_in_a_head() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HT", 1);
    d.gap(Dir::ToServer, 100);
    d.push(
        Dir::ToServer,
        b"ost: lost\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
        2,
    );
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        3,
    );
    let msgs = d.messages();
    let targets: Vec<_> = requests(&msgs)
        .iter()
        .map(|r| r.head.target.clone())
        .collect();
    assert_eq!(targets, ["/1", "/3"]);
    assert!(msgs.iter().any(|m| matches!(
        m,
        HttpMessage::Resynchronized {
            dir: Dir::ToServer,
            discarded: 13,
            after: ResyncCause::Gap
        }
    )));
    assert!(responses(&msgs)[0].pairing_uncertain);
    assert!(!msgs
        .iter()
        .any(|m| matches!(m, HttpMessage::DecodeError { .. })));
}

#[test]
fn gap_inside_bodies() {
    // Content-Length: the hole is counted and the message still completes.
    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n", 1);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
        2,
    );
    d.gap(Dir::ToClient, 1);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        3,
    );
    let msgs = d.messages();
    let resp = responses(&msgs);
    assert_eq!((resp[0].body.len, resp[0].body.gap_bytes), (10, 1));
    assert_eq!(resp[0].completion, Completion::Complete);
    assert_eq!(resp.len(), 2);

    // Chunked: the framing is lost; the message is reported truncated, then resync.
    let mut d = Driver::new(HttpConfig::default());
    d.push(
        Dir::ToServer,
        b"GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
        1,
    );
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        2,
    );
    d.gap(Dir::ToClient, 50);
    d.push(Dir::ToClient, b"junk\r\nHTTP/1.1 204 No Content\r\n\r\n", 3);
    let msgs = d.messages();
    let resp = responses(&msgs);
    assert_eq!(
        resp[0].completion,
        Completion::Truncated {
            part: MessagePart::Body,
            cause: TruncationCause::Gap
        }
    );
    assert_eq!(resp[1].head.status, 204);
    assert!(resp[1].pairing_uncertain);
}

#[test]
fn connect_blocks_client_bytes_until_tunnel() {
    let mut d = Driver::new(HttpConfig::default());
    let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
    let mut client = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec();
    client.extend_from_slice(&hello);
    d.push(Dir::ToServer, &client, 1);
    assert_eq!(
        d.buffered(Dir::ToServer),
        hello,
        "bytes after CONNECT wait for the answer"
    );
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03",
        2,
    );
    assert_eq!(d.parser.switched(), Some(ConnectionSwitch::Tunnel));
    assert_eq!(d.buffered(Dir::ToClient), b"\x16\x03\x03");
    d.push(Dir::ToServer, b"more tls", 3);
    assert_eq!(d.buffered(Dir::ToServer).len(), hello.len() + 8);
    d.end(Dir::ToServer, EndReason::Fin, 4);
    d.end(Dir::ToClient, EndReason::Fin, 5);
    let msgs = d.messages();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(matches!(
        &msgs[2],
        HttpMessage::TunnelEstablished { exchange: 0, authority, status: 200 } if authority == "example.com:443"
    ));
}

#[test]
fn connect_refused_then_retried_on_the_same_connection() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(
        Dir::ToServer,
        b"CONNECT h:443 HTTP/1.1\r\nProxy-Authorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n",
        1,
    );
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM TlRMTVNTUAACAAAA\r\nContent-Length: 3\r\n\r\nabc",
        2,
    );
    assert_eq!(d.parser.switched(), None);
    d.push(
        Dir::ToServer,
        b"CONNECT h:443 HTTP/1.1\r\nProxy-Authorization: NTLM TlRMTVNTUAADAAAA\r\n\r\n",
        3,
    );
    d.push(Dir::ToClient, b"HTTP/1.1 200 OK\r\n\r\n", 4);
    let msgs = d.messages();
    assert_eq!(requests(&msgs).len(), 2);
    let resp = responses(&msgs);
    assert_eq!(
        resp[0].head.headers.challenges[0].token.as_deref(),
        Some("TlRMTVNTUAACAAAA")
    );
    assert_eq!(resp[1].exchange, Some(1));
    assert_eq!(d.parser.switched(), Some(ConnectionSwitch::Tunnel));
}

#[test]
fn switching_protocols_stops_parsing() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(
        Dir::ToServer,
        b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05",
        1,
    );
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02",
        2,
    );
    assert_eq!(d.parser.switched(), Some(ConnectionSwitch::Upgrade));
    assert_eq!(d.buffered(Dir::ToServer), b"\x81\x05");
    assert!(d.messages().iter().any(|m| matches!(
        m,
        HttpMessage::ProtocolSwitched { exchange: Some(0), upgrade: Some(u) } if u == "websocket"
    )));
}

#[test]
fn closed_with_outstanding_request() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET /1 HTTP/1.1\r\n\r\n", 1);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        2,
    );
    d.push(Dir::ToServer, b"GET /2 HTTP/1.1\r\n\r\n", 3);
    d.end(Dir::ToServer, EndReason::Fin, 4);
    d.end(Dir::ToClient, EndReason::Reset, 5);
    let last = d.emitted.last().unwrap();
    assert_eq!(last.last_frame, 5);
    assert_eq!(
        last.msg,
        HttpMessage::ConnectionClosedWithOutstandingRequest {
            exchange: 1,
            method: "GET".into(),
            target: "/2".into(),
            first_to_close: Dir::ToServer,
            server_end: EndReason::Reset,
            client_end: Some(EndReason::Fin),
        }
    );
}

#[test]
fn garbage_is_reported_once_and_consumed() {
    let mut d = Driver::new(HttpConfig::default());
    let tls: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    for chunk in tls.chunks(1000) {
        d.push(Dir::ToServer, chunk, 1);
        assert!(d.accounting(Dir::ToServer).buffered < 8 * 1024 + 1000);
    }
    let msgs = d.messages();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(matches!(
        &msgs[0],
        HttpMessage::DecodeError {
            dir: Dir::ToServer,
            error: HttpError::NotHttp { .. },
            ..
        }
    ));
    d.push(Dir::ToServer, b"\r\nGET /ok HTTP/1.1\r\n\r\n", 2);
    assert_eq!(requests(&d.messages())[0].head.target, "/ok");
}

#[test]
fn truncated_body_reports_only_what_arrived() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n", 1);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        2,
    );
    d.end(Dir::ToClient, EndReason::Fin, 3);
    let resp = d.emitted.last().unwrap().msg.as_response().unwrap().clone();
    assert_eq!(
        resp.completion,
        Completion::Truncated {
            part: MessagePart::Body,
            cause: TruncationCause::Fin
        }
    );
    assert_eq!((resp.body.len, resp.body.skipped_unconfirmed), (10, 89));

    // When the skipped bytes are confirmed by a later feed they count.
    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n", 1);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n0123456789",
        2,
    );
    d.push(Dir::ToClient, &[b'x'; 90], 3);
    d.push(Dir::ToClient, b"\r\n", 4);
    d.end(Dir::ToClient, EndReason::CaptureEnd, 5);
    let resp = d.emitted.last().unwrap().msg.as_response().unwrap().clone();
    assert_eq!((resp.body.len, resp.body.skipped_unconfirmed), (100, 0));
    assert_eq!(
        resp.completion,
        Completion::Truncated {
            part: MessagePart::Body,
            cause: TruncationCause::CaptureEnd
        }
    );
}

#[test]
fn response_completes_in_the_frame_carrying_its_last_body_byte() {
    let mut d = Driver::new(HttpConfig::default());
    d.push(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n", 1);
    d.push(
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n",
        10,
    );
    d.push(Dir::ToClient, &[b'a'; 1400], 11);
    d.push(Dir::ToClient, &[b'b'; 1400], 12);
    d.push(Dir::ToClient, &[b'c'; 200], 13);
    let a = d.accounting(Dir::ToClient);
    assert!(a.clean(), "{a:?}");
    assert_eq!(a.offered, 3000 + 41);
    assert_eq!(
        a.consumed,
        41 + 1,
        "only the head and the final body byte are seen"
    );
    assert_eq!(a.skipped, 2999);
    let e = d.emitted.last().unwrap();
    assert_eq!(e.last_frame, 13);
    let resp = e.msg.as_response().unwrap();
    assert_eq!(
        e.offsets.end - resp.wire_len,
        0,
        "wire_len locates the head start"
    );
    assert_eq!(d.frame_at(Dir::ToClient, e.offsets.end - resp.wire_len), 10);
}

#[test]
fn http10_keep_alive_via_proxy_connection() {
    let client = b"GET http://h/ HTTP/1.0\r\nProxy-Connection: Keep-Alive\r\n\r\n";
    let server = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
    let msgs = converse(client, server);
    let req = requests(&msgs)[0];
    assert_eq!(
        (req.keep_alive, req.keep_alive_reason),
        (true, KeepAliveReason::Http10ProxyConnectionKeepAlive)
    );
    let resp = responses(&msgs)[0];
    assert_eq!(
        (resp.keep_alive, resp.keep_alive_reason),
        (true, KeepAliveReason::Http10ConnectionKeepAlive)
    );
    assert!(resp.request.as_ref().unwrap().keep_alive);
}

#[test]
fn leading_blank_lines_and_bare_lf_are_tolerated() {
    let client = b"\r\n\r\nGET /x HTTP/1.1\nHost: h\n\n";
    let server = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok";
    let msgs = converse(client, server);
    assert_eq!(requests(&msgs)[0].head.headers.get("host"), Some("h"));
    assert_eq!(responses(&msgs)[0].body.len, 2);
}

#[test]
fn response_without_request_is_unpaired() {
    let msgs = converse(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    let resp = responses(&msgs)[0];
    assert_eq!((resp.exchange, resp.request.is_none()), (None, true));
}

#[test]
fn too_many_outstanding_requests_is_reported_once() {
    let config = HttpConfig {
        max_outstanding_requests: 2,
        ..HttpConfig::default()
    };
    let mut d = Driver::new(config);
    d.push(Dir::ToServer, &b"GET / HTTP/1.1\r\n\r\n".repeat(5), 1);
    let errors = d
        .messages()
        .into_iter()
        .filter(|m| {
            matches!(
                m,
                HttpMessage::DecodeError {
                    error: HttpError::TooManyOutstandingRequests { limit: 2 },
                    ..
                }
            )
        })
        .count();
    assert_eq!(errors, 1);
    assert_eq!(d.parser.outstanding_requests(), 2);
}

#[test]
fn request_with_unframed_transfer_encoding_is_an_error() {
    let client =
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nzzzz\r\nGET /next HTTP/1.1\r\n\r\n";
    let msgs = converse(client, b"");
    let reqs = requests(&msgs);
    assert!(matches!(
        reqs[0].completion,
        Completion::Error {
            error: HttpError::UnframedRequestBody { .. }
        }
    ));
    assert_eq!(reqs[1].head.target, "/next");
}

#[test]
fn messages_serialize_with_the_documented_field_names() {
    let msgs = converse(
        b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    );
    let req = serde_json::to_value(&msgs[0]).unwrap();
    assert_eq!(req["kind"], "request");
    assert_eq!(req["method"], "GET");
    assert_eq!(req["target"], "/x");
    assert_eq!(req["version"], "HTTP/1.1");
    let resp = serde_json::to_value(&msgs[1]).unwrap();
    assert_eq!(resp["kind"], "response");
    assert_eq!(resp["status"], 404);
    assert_eq!(resp["reason"], "Not Found");
    assert_eq!(resp["request"]["method"], "GET");
    assert_eq!(resp["exchange"], 0);
}

#[test]
fn joining_mid_stream_skips_to_the_first_start_line() {
    let mut d = Driver::with_parser(HttpConnectionParser::new_midstream(HttpConfig::default()));
    d.push(Dir::ToServer, b"GET /a HTTP/1.1\r\n\r\n", 1);
    d.push(
        Dir::ToClient,
        b"tail of an earlier body\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        2,
    );
    let msgs = d.messages();
    let resyncs: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            HttpMessage::Resynchronized {
                dir,
                discarded,
                after,
            } => Some((*dir, *discarded, *after)),
            _ => None,
        })
        .collect();
    assert_eq!(
        resyncs,
        [
            (Dir::ToServer, 0, ResyncCause::MidStream),
            (Dir::ToClient, 24, ResyncCause::MidStream)
        ]
    );
    let resp = responses(&msgs)[0];
    assert_eq!((resp.exchange, resp.pairing_uncertain), (Some(0), true));
    assert!(!msgs
        .iter()
        .any(|m| matches!(m, HttpMessage::DecodeError { .. })));
}
