//! Property tests: arbitrary bytes and splits never panic, hang or leak buffers; valid
//! conversations decode identically however they are split, with every byte accounted for.

use proptest::prelude::*;

use super::message::HttpMessage;
use super::test_driver::Driver;
use super::HttpConfig;
use crate::proto::{Dir, EndReason};

/// Pieces that steer arbitrary input into the parser's deeper states.
const VOCABULARY: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\n",
    b"HEAD /h HTTP/1.1\r\n",
    b"POST /p HTTP/1.0\r\n",
    b"CONNECT h:443 HTTP/1.1\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 100 Continue\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n",
    b"HTTP/1.0 304 Not Modified\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Upgrade: websocket\r\n",
    b"Connection: close\r\n",
    b"Expect: 100-continue\r\n",
    b"Proxy-Authenticate: NTLM, Basic realm=\"a, b\"\r\n",
    b"Authorization: Basic dXNlcjpwdw==\r\n",
    b"\r\n",
    b"\n",
    b"5;x=y\r\nhello\r\n",
    b"0\r\n\r\n",
    b"fffffffffffffffff\r\n",
    b"Trailer: x\r\n",
    b"\x16\x03\x01\x02\x00",
    b"abc",
];

fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::sample::select(VOCABULARY).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 1..24),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(token(), 0..40).prop_map(|t| t.concat())
}

/// One step of a random drive.
#[derive(Debug, Clone)]
enum Step {
    Push(Dir, usize),
    Gap(Dir, u64),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let dir = prop_oneof![Just(Dir::ToServer), Just(Dir::ToClient)];
    let step = prop_oneof![
        8 => (dir.clone(), 1usize..300).prop_map(|(d, n)| Step::Push(d, n)),
        1 => (dir, 1u64..100).prop_map(|(d, n)| Step::Gap(d, n)),
    ];
    proptest::collection::vec(step, 1..80)
}

fn end_reason() -> impl Strategy<Value = EndReason> {
    prop_oneof![
        Just(EndReason::Fin),
        Just(EndReason::Reset),
        Just(EndReason::CaptureEnd)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_and_splits_are_safe(
        client in stream(),
        server in stream(),
        plan in steps(),
        end_client in end_reason(),
        end_server in end_reason(),
    ) {
        let config = HttpConfig {
            max_head_len: 256,
            max_chunk_line_len: 64,
            max_outstanding_requests: 4,
            ..HttpConfig::default()
        };
        let bound = config.max_head_len.max(config.max_chunk_line_len) + 1;
        let mut d = Driver::new(config);
        let mut at = [0usize; 2];
        let data = [&client, &server];
        for (frame, step) in plan.iter().cycle().take(plan.len() * 8).enumerate() {
            match *step {
                Step::Push(dir, n) => {
                    let i = usize::from(dir == Dir::ToClient);
                    let end = (at[i] + n).min(data[i].len());
                    if at[i] < end {
                        d.push(dir, &data[i][at[i]..end], frame as u64);
                        at[i] = end;
                    }
                    let a = d.accounting(dir);
                    prop_assert!(a.balanced(), "{:?}", a);
                    if d.parser.switched().is_none() {
                        prop_assert!(a.buffered <= bound as u64, "{:?}", a);
                    }
                }
                Step::Gap(dir, n) => d.gap(dir, n),
            }
        }
        d.end(Dir::ToServer, end_client, 1_000);
        d.end(Dir::ToClient, end_server, 1_001);
        // Errors are reported once per stretch, never per byte.
        let errors = d.emitted.iter().filter(|e| matches!(e.msg, HttpMessage::DecodeError { .. })).count();
        prop_assert!(errors <= 2 * plan.len() + 4, "{} errors", errors);
    }
}

/// A generated exchange.
#[derive(Debug, Clone)]
struct Exchange {
    method: &'static str,
    request_body: Body,
    expect_continue: bool,
    status: u16,
    response_body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Empty,
    Length(usize),
    Chunked(Vec<usize>, bool),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::Empty),
        (0usize..3000).prop_map(Body::Length),
        (proptest::collection::vec(1usize..700, 0..5), any::<bool>())
            .prop_map(|(c, t)| Body::Chunked(c, t)),
    ]
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        proptest::sample::select(&["GET", "HEAD", "POST", "PROPFIND"][..]),
        body(),
        any::<bool>(),
        proptest::sample::select(&[200u16, 204, 304, 401, 407, 500][..]),
        body(),
    )
        .prop_map(
            |(method, request_body, expect, status, response_body)| Exchange {
                method,
                expect_continue: expect && !matches!(request_body, Body::Empty),
                request_body,
                status,
                response_body,
            },
        )
}

fn write_body(out: &mut Vec<u8>, body: &Body, fill: u8) {
    match body {
        Body::Empty => out.extend_from_slice(b"\r\n"),
        Body::Length(n) => {
            out.extend_from_slice(format!("Content-Length: {n}\r\n\r\n").as_bytes());
            out.extend(std::iter::repeat_n(fill, *n));
        }
        Body::Chunked(chunks, trailers) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for (i, c) in chunks.iter().enumerate() {
                let ext = if i % 2 == 1 { ";e=\"1\"" } else { "" };
                out.extend_from_slice(format!("{c:x}{ext}\r\n").as_bytes());
                out.extend(std::iter::repeat_n(fill, *c));
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            if *trailers {
                out.extend_from_slice(b"X-T: 1\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Client and server bytes of a conversation; the last response may be close-delimited.
fn conversation(exchanges: &[Exchange], close_delimited_tail: Option<usize>) -> (Vec<u8>, Vec<u8>) {
    let (mut client, mut server) = (Vec::new(), Vec::new());
    for (i, x) in exchanges.iter().enumerate() {
        client.extend_from_slice(format!("{} /r{i} HTTP/1.1\r\nHost: h\r\n", x.method).as_bytes());
        if x.expect_continue {
            client.extend_from_slice(b"Expect: 100-continue\r\n");
            server.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        write_body(&mut client, &x.request_body, b'q');
        server.extend_from_slice(format!("HTTP/1.1 {} X\r\n", x.status).as_bytes());
        if x.method == "HEAD" || x.status == 204 || x.status == 304 {
            // No body may follow; a length header may still be present.
            server.extend_from_slice(b"Content-Length: 77\r\n\r\n");
        } else if let Body::Empty = x.response_body {
            // Without a length a response body would run until the close.
            server.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        } else {
            write_body(&mut server, &x.response_body, b's');
        }
    }
    if let Some(n) = close_delimited_tail {
        client.extend_from_slice(b"GET /last HTTP/1.0\r\n\r\n");
        server.extend_from_slice(b"HTTP/1.0 200 OK\r\n\r\n");
        server.extend(std::iter::repeat_n(b'c', n));
    }
    (client, server)
}

fn drive(client: &[u8], server: &[u8], client_cuts: &[usize], server_cuts: &[usize]) -> Driver {
    let mut d = Driver::new(HttpConfig::default());
    for (dir, data, cuts) in [
        (Dir::ToServer, client, client_cuts),
        (Dir::ToClient, server, server_cuts),
    ] {
        let mut at = 0;
        for (frame, &n) in cuts.iter().cycle().enumerate() {
            if at >= data.len() {
                break;
            }
            let end = (at + n).min(data.len());
            d.push(dir, &data[at..end], frame as u64);
            at = end;
        }
    }
    d.end(Dir::ToServer, EndReason::Fin, u64::MAX);
    d.end(Dir::ToClient, EndReason::Fin, u64::MAX);
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn valid_conversations_decode_the_same_however_split(
        exchanges in proptest::collection::vec(exchange(), 1..6),
        tail in proptest::option::of(0usize..2000),
        client_cuts in proptest::collection::vec(1usize..400, 1..20),
        server_cuts in proptest::collection::vec(1usize..400, 1..20),
    ) {
        let (client, server) = conversation(&exchanges, tail);
        let whole = drive(&client, &server, &[usize::MAX], &[usize::MAX]);
        let split = drive(&client, &server, &client_cuts, &server_cuts);
        prop_assert_eq!(whole.messages(), split.messages());
        for d in [&whole, &split] {
            for dir in [Dir::ToServer, Dir::ToClient] {
                let a = d.accounting(dir);
                prop_assert!(a.clean(), "{:?}: {:?}", dir, a);
            }
        }
        let msgs = split.messages();
        let expected = exchanges.len() + usize::from(tail.is_some());
        let reqs: Vec<_> = msgs.iter().filter_map(HttpMessage::as_request).collect();
        let finals: Vec<_> = msgs.iter().filter_map(HttpMessage::as_response).filter(|r| !r.interim).collect();
        prop_assert_eq!(reqs.len(), expected);
        prop_assert_eq!(finals.len(), expected);
        for (i, r) in finals.iter().enumerate() {
            prop_assert_eq!(r.exchange, Some(i as u32));
            prop_assert_eq!(&r.completion, &super::Completion::Complete);
        }
        for r in &reqs {
            prop_assert_eq!(&r.completion, &super::Completion::Complete);
        }
        let unexpected = msgs.iter().any(|m| matches!(
            m,
            HttpMessage::DecodeError { .. } | HttpMessage::ConnectionClosedWithOutstandingRequest { .. }
        ));
        prop_assert!(!unexpected, "unexpected error event in {:?}", msgs);
        if let (Some(n), Some(last)) = (tail, finals.last()) {
            prop_assert_eq!(last.body.len, n as u64);
        }
    }
}
