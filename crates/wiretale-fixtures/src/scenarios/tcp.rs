//! TCP behaviour scenarios: a plain exchange, retransmission/reordering/wrap-around, a hole,
//! resets and refused/unanswered SYNs, port reuse.

use std::time::Duration;

use super::{at, close_fact, frames, v4, Format, Scenario};
use crate::capture::Capture;
use crate::linktype::LinkType;
use crate::payloads::http;
use crate::pcap::PcapOptions;
use crate::session::{AckPolicy, Dir, TcpSession};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A GET with enough headers to need several 300-byte segments.
fn long_request(host: &str, path: &str) -> Vec<u8> {
    http::request(
        "GET",
        path,
        "HTTP/1.1",
        &[
            ("Host", host),
            ("User-Agent", "wiretale-fixtures/1.0 (synthetic test client; deterministic bytes)"),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "identity"),
            ("Cookie", "session=0123456789abcdef0123456789abcdef; theme=light; lang=en; seen-banner=1; tz=UTC"),
            ("Connection", "keep-alive"),
            ("Cache-Control", "no-cache"),
            ("X-Request-Id", "fixture-0001-aaaa-bbbb-cccc-dddd-eeee-ffff-0000-1111-2222-3333-4444-5555"),
        ],
        b"",
    )
}

fn ok_response(body: &[u8]) -> Vec<u8> {
    let len = body.len().to_string();
    http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", &len),
            ("Connection", "keep-alive"),
        ],
        body,
    )
}

/// 1. Handshake, request and response in several segments each, FIN both ways.
pub(super) fn basic_v4() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(v4([10, 0, 0, 10], 51000), v4([10, 0, 0, 80], 80))
        .isns(1_000_000, 2_000_000)
        .mss(600, 200);
    cap.set_step(ms(1));
    let hs = s.handshake(&mut cap);
    let request = long_request("www.example.com", "/index.html");
    let req = s.send(&mut cap, Dir::ToServer, &request);
    cap.advance(ms(15));
    let body = http::html_page("fixture", 1500);
    let response = ok_response(&body);
    let resp = s.send(&mut cap, Dir::ToClient, &response);
    cap.advance(ms(100));
    let close = s.close(&mut cap);

    let mut sc = Scenario::new(
        "tcp-basic-v4.pcap",
        "plain IPv4 TCP exchange",
        "One HTTP/1.1 request and response over IPv4/Ethernet. The server advertises MSS 200 and the \
         client MSS 600, so the request takes several client segments and the response several \
         server segments. Both sides close with FIN.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let c = &mut sc.capture;
    c.note(
        hs.first().copied().unwrap_or(0),
        "SYN with MSS 600, WS 8, SACK_PERM",
    );
    for &f in &req.data {
        c.note(f, "request segment");
    }
    for &f in &resp.data {
        c.note(f, "response segment");
    }
    sc.fact(format!(
        "TCP handshake in frames {} (client ISN 1000000, server ISN 2000000).",
        frames(&hs)
    ));
    sc.fact(format!(
        "The {}-byte HTTP request `GET /index.html` is carried by frames {} (200 bytes each but the last, PSH on the last); \
         the server's pure ACKs are frames {}.",
        request.len(),
        frames(&req.data),
        frames(&req.acks)
    ));
    sc.fact(format!(
        "The {}-byte `HTTP/1.1 200 OK` response ({}-byte body, Content-Length) is in frames {}; client ACKs in frames {}.",
        response.len(),
        body.len(),
        frames(&resp.data),
        frames(&resp.acks)
    ));
    sc.fact(close_fact(&close));
    sc.fact("Every frame is tcp.stream 0; no retransmissions or other TCP analysis flags.");
    sc
}

/// Deterministic text of exactly `len` bytes.
pub(super) fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.saturating_add(32));
    let mut line = 0u32;
    while out.len() < len {
        line = line.saturating_add(1);
        out.extend_from_slice(
            format!("record {line:05}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
    }
    out.truncate(len);
    out
}

/// A POST request of exactly `total` bytes (the body pads it out).
fn post_of_len(path: &str, total: usize) -> Vec<u8> {
    let headers = |len: &str| {
        http::request(
            "POST",
            path,
            "HTTP/1.1",
            &[
                ("Host", "upload.example.com"),
                ("Content-Type", "text/plain"),
                ("Content-Length", len),
            ],
            b"",
        )
    };
    // The Content-Length value's own width changes the header size; 4 digits fit every use here.
    let head_len = headers("0000").len();
    let body_len = total.saturating_sub(head_len);
    let mut msg = headers(&format!("{body_len:04}"));
    msg.extend_from_slice(&text(body_len));
    msg
}

fn slice(data: &[u8], start: usize, end: usize) -> &[u8] {
    data.get(start..end).unwrap_or_default()
}

/// 2. Retransmissions (exact and overlapping), reordering, keep-alive, sequence wrap.
pub(super) fn retrans_reorder() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let client_isn = 0xffff_fe00u32;
    let mut s = TcpSession::new(v4([10, 0, 0, 10], 51010), v4([10, 0, 0, 80], 8080))
        .isns(client_isn, 0x2000_0000)
        .mss(1460, 200);
    let syn = s.syn(&mut cap);
    cap.advance(ms(10));
    let syn_ack = s.syn_ack(&mut cap);
    let ack = s.ack(&mut cap, Dir::ToServer);
    let post = post_of_len("/upload", 2000);

    // A: three segments in order; the third crosses the 2^32 wrap (offset 511).
    let a = s.send(&mut cap, Dir::ToServer, slice(&post, 0, 600));
    // B: two segments, no ACK, then an exact retransmission of the first.
    s.set_ack_policy(AckPolicy::Never);
    let b1 = s.send_segment(&mut cap, Dir::ToServer, slice(&post, 600, 800));
    let b2 = s.send_segment(&mut cap, Dir::ToServer, slice(&post, 800, 1000));
    cap.advance(ms(200));
    let b_re = s.retransmit(&mut cap, b1);
    let b_ack = s.ack(&mut cap, Dir::ToClient);
    // C: three segments emitted as 2nd, 1st, 3rd.
    let c = s.send_reordered(
        &mut cap,
        Dir::ToServer,
        slice(&post, 1000, 1600),
        &[1, 0, 2],
    );
    let c_ack = s.ack(&mut cap, Dir::ToClient);
    // D: two segments, then one retransmission overlapping the second half of the first and
    // the first half of the second.
    let d1 = s.send_segment(&mut cap, Dir::ToServer, slice(&post, 1600, 1800));
    let d2 = s.send_segment(&mut cap, Dir::ToServer, slice(&post, 1800, 2000));
    cap.advance(ms(200));
    let d_re = s.retransmit_range(&mut cap, Dir::ToServer, 1700, 200);
    let d_ack = s.ack(&mut cap, Dir::ToClient);
    cap.advance(ms(5));
    let reply = http::response("HTTP/1.1", 201, "Created", &[("Content-Length", "0")], b"");
    s.set_ack_policy(AckPolicy::Every(1));
    let r = s.send(&mut cap, Dir::ToClient, &reply);
    // E: 45 s idle, then a keep-alive probe from the client.
    cap.advance(Duration::from_secs(45));
    let (probe, probe_ack) = s.keepalive(&mut cap, Dir::ToServer, false);
    cap.advance(ms(50));
    let close = s.close(&mut cap);

    let mut sc = Scenario::new(
        "tcp-retrans-reorder.pcap",
        "retransmissions, reordering, keep-alive, sequence wrap",
        "A 2000-byte HTTP POST from a client whose ISN is 0xfffffe00, so its sequence numbers wrap \
         past 2^32 inside the third data segment. The server advertises MSS 200. The upload \
         contains an exact retransmission, a retransmission overlapping two earlier segments, three \
         segments delivered out of order, and, after the 201 response, a zero-length keep-alive probe \
         after 45 s of idle. Reassembled client bytes must equal the POST exactly once.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let cp = &mut sc.capture;
    cp.note(
        at(&a.data, 2),
        "sequence wraps inside this segment: seq 0xffffff91, next 0x00000059",
    );
    cp.note(
        b_re,
        format!(
            "exact duplicate of frame {b1}; tshark: This frame is a (suspected) retransmission"
        ),
    );
    cp.note(
        at(&c.data, 0),
        "bytes 1200..1400 of the POST, sent before 1000..1200",
    );
    cp.note(at(&c.data, 0), "tshark: Previous segment(s) not captured");
    cp.note(
        at(&c.data, 1),
        "tshark: This frame is a (suspected) out-of-order segment",
    );
    cp.note(
        d_re,
        format!("overlaps frames {d1} and {d2}: POST bytes 1700..1900"),
    );
    cp.note(d_re, "tshark: This frame is a (suspected) retransmission");
    cp.note(probe, "tshark: TCP keep-alive segment");
    cp.note(probe_ack, "tshark: ACK to a TCP keep-alive segment");
    sc.fact(format!(
        "Handshake frames {syn}, {syn_ack}, {ack}; client ISN 0xfffffe00, server ISN 0x20000000. \
         SYN→SYN-ACK takes 10 ms (Wireshark's out-of-order threshold)."
    ));
    sc.fact(format!(
        "Frames {} carry POST bytes 0..600 in order; frame {} starts at sequence 0xffffff91 and ends at 0x00000059 \
         (relative 401..601): the wrap is inside one segment. Server ACKs: frames {}.",
        frames(&a.data),
        at(&a.data, 2),
        frames(&a.acks)
    ));
    sc.fact(format!(
        "Frames {b1} and {b2} carry bytes 600..1000; frame {b_re} (200 ms later) repeats frame {b1}'s TCP header and payload \
         byte for byte (new IP id); frame {b_ack} acknowledges relative 1001."
    ));
    sc.fact(format!(
        "Frames {} carry bytes 1200..1400, 1000..1200, 1400..1600 (out of order); frame {c_ack} acknowledges relative 1601.",
        frames(&c.data)
    ));
    sc.fact(format!(
        "Frames {d1} and {d2} carry bytes 1600..2000; frame {d_re} retransmits bytes 1700..1900 (overlapping both, same bytes); \
         frame {d_ack} acknowledges relative 2001."
    ));
    sc.fact(format!(
        "Frame {} is the `HTTP/1.1 201 Created` response (ACKed by frame {}).",
        at(&r.data, 0),
        at(&r.acks, 0)
    ));
    sc.fact(format!(
        "Frame {probe} (45 s later) is a keep-alive probe: no payload, sequence = next − 1; frame {probe_ack} answers it."
    ));
    sc.fact(close_fact(&close));
    sc.fact("All frames are tcp.stream 0.");
    sc
}

/// 3. A server segment that never arrives, more data after it, then FIN.
pub(super) fn gap() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(v4([10, 0, 0, 10], 51020), v4([10, 0, 0, 80], 80))
        .isns(0x0100_0000, 0x0a00_0000)
        .mss(400, 1460);
    let hs = s.handshake(&mut cap);
    let req = s.send(
        &mut cap,
        Dir::ToServer,
        &http::request(
            "GET",
            "/big.txt",
            "HTTP/1.1",
            &[("Host", "www.example.com")],
            b"",
        ),
    );
    cap.advance(ms(10));
    let body = text(2000 - 64);
    let head = http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[
            ("Content-Type", "text/plain"),
            ("Content-Length", &body.len().to_string()),
        ],
        b"",
    );
    let mut response = head.clone();
    response.extend_from_slice(&body);
    let resp = s.send_reordered(&mut cap, Dir::ToClient, &response, &[0, 1, 3, 4, 5]);
    cap.advance(ms(20));
    let fin_s = s.fin(&mut cap, Dir::ToClient);
    let ack_c = s.ack(&mut cap, Dir::ToServer);
    let fin_c = s.fin(&mut cap, Dir::ToServer);
    let ack_s = s.ack(&mut cap, Dir::ToClient);

    let mut sc = Scenario::new(
        "tcp-gap.pcap",
        "a hole that never fills",
        "An HTTP response of which the third segment (response bytes 800..1200) is lost in the \
         network and never retransmitted. The client keeps acknowledging the start of the hole. \
         The server then closes; the client's ACKs never move past the hole.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let hole_after = at(&resp.data, 1);
    let cp = &mut sc.capture;
    cp.note(
        at(&resp.data, 2),
        "first segment after the 400-byte hole (response bytes 1200..1600)",
    );
    cp.note(
        at(&resp.data, 2),
        "tshark: Previous segment(s) not captured",
    );
    for &a in resp.acks.iter().skip(1) {
        cp.note(a, "tshark: Duplicate ACK");
    }
    cp.note(ack_c, "tshark: Duplicate ACK");
    sc.fact(format!(
        "Handshake frames {}; request frame {} (`GET /big.txt`).",
        frames(&hs),
        frames(&req.data)
    ));
    sc.fact(format!(
        "The {}-byte response is cut into 400-byte segments (client MSS 400); frames {} carry response bytes 0..800, \
         1200..2000 and the rest; bytes 800..1200 (relative seq 801..1201) never appear after frame {hole_after}.",
        response.len(),
        frames(&resp.data)
    ));
    sc.fact(format!(
        "Client ACKs frames {} all acknowledge relative 801 (the hole); so does frame {ack_c} after the server's FIN in frame {fin_s}.",
        frames(&resp.acks)
    ));
    sc.fact(format!("Client FIN frame {fin_c}, server ACK frame {ack_s}. A reassembler must report one 400-byte gap in the server→client direction."));
    sc.fact("All frames are tcp.stream 0.");
    sc
}

/// 4. Reset after 30 s idle; a refused SYN; an unanswered SYN retransmitted.
pub(super) fn rst() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut idle = TcpSession::new(v4([10, 0, 0, 10], 51030), v4([10, 0, 0, 80], 80))
        .isns(0x0500_0000, 0x0600_0000);
    let mut refused =
        TcpSession::new(v4([10, 0, 0, 10], 51031), v4([10, 0, 0, 81], 8443)).isns(0x0700_0000, 0);
    let mut silent =
        TcpSession::new(v4([10, 0, 0, 10], 51032), v4([10, 0, 0, 82], 443)).isns(0x0800_0000, 0);
    let hs = idle.handshake(&mut cap);
    let req = idle.send(
        &mut cap,
        Dir::ToServer,
        &http::request(
            "GET",
            "/status",
            "HTTP/1.1",
            &[("Host", "www.example.com")],
            b"",
        ),
    );
    let resp = idle.send(
        &mut cap,
        Dir::ToClient,
        &http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "2")], b"ok"),
    );
    let last_data = cap
        .frame(at(&resp.data, 0))
        .map_or(cap.now(), |f| f.timestamp);
    cap.advance(Duration::from_secs(2));
    let r_syn = refused.syn(&mut cap);
    let r_rst = refused.refuse(&mut cap);
    cap.advance(Duration::from_secs(1));
    let mut syns = vec![silent.syn(&mut cap)];
    for wait in [1, 2, 4] {
        cap.advance(Duration::from_secs(wait).saturating_sub(cap.step()));
        syns.push(silent.syn(&mut cap));
    }
    cap.set_time(last_data.saturating_add(Duration::from_secs(30)));
    let reset = idle.rst(&mut cap, Dir::ToClient);

    let mut sc = Scenario::new(
        "tcp-rst.pcap",
        "reset after idle, refused SYN, unanswered SYNs",
        "Three connections from 10.0.0.10. Stream 0 exchanges a request and response and then \
         stays idle until the server resets it 30 s after its last data. Stream 1 is refused (SYN \
         answered by RST, ACK). Stream 2's SYN is never answered and is retransmitted after 1, 2 \
         and 4 s.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let cp = &mut sc.capture;
    cp.note(
        reset,
        "server reset, 30.000 s after frame with its last data",
    );
    cp.note(reset, "tshark: Connection reset (RST)");
    cp.note(r_rst, "tshark: Connection reset (RST)");
    for &f in syns.iter().skip(1) {
        cp.note(f, "tshark: This frame is a (suspected) retransmission");
    }
    sc.fact(format!(
        "Stream 0 (10.0.0.10:51030 → 10.0.0.80:80): handshake frames {}, request frame {}, response frame {}; \
         frame {reset} is RST, ACK from the server exactly 30 s after frame {}, with the correct next sequence number.",
        frames(&hs),
        frames(&req.data),
        frames(&resp.data),
        at(&resp.data, 0)
    ));
    sc.fact(format!(
        "Stream 1 (→ 10.0.0.81:8443): SYN frame {r_syn} answered by RST, ACK frame {r_rst} (seq 0, ack = client ISN + 1): connection refused."
    ));
    sc.fact(format!(
        "Stream 2 (→ 10.0.0.82:443): SYN frames {} with the same ISN at +0, +1, +3, +7 s, never answered.",
        frames(&syns)
    ));
    sc
}

/// 11. The same 4-tuple used by two connections one after the other.
pub(super) fn port_reuse() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let client = v4([10, 0, 0, 10], 51040);
    let server = v4([10, 0, 0, 80], 80);
    let mut first = TcpSession::new(client, server).isns(0x1111_0000, 0x2222_0000);
    let mut second = TcpSession::new(client, server).isns(0x3333_0000, 0x4444_0000);
    let get = http::request(
        "GET",
        "/a",
        "HTTP/1.1",
        &[("Host", "www.example.com"), ("Connection", "close")],
        b"",
    );
    let ok = http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[("Content-Length", "1"), ("Connection", "close")],
        b"a",
    );
    let hs1 = first.handshake(&mut cap);
    first.send(&mut cap, Dir::ToServer, &get);
    first.send(&mut cap, Dir::ToClient, &ok);
    let close1 = first.close(&mut cap);
    cap.advance(Duration::from_secs(5));
    let hs2 = second.handshake(&mut cap);
    second.send(&mut cap, Dir::ToServer, &get);
    second.send(&mut cap, Dir::ToClient, &ok);
    let close2 = second.close(&mut cap);

    let mut sc = Scenario::new(
        "port-reuse.pcap",
        "one 4-tuple, two connections",
        "10.0.0.10:51040 → 10.0.0.80:80 twice: the first connection completes a request and closes \
         with FIN/FIN/ACK; 5 s later a new SYN with a different ISN opens a second connection on the \
         same 4-tuple. Wireshark counts two tcp.streams.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.capture.note(at(&hs2, 0), "tshark: A new tcp session is started with the same ports as an earlier session in this trace");
    sc.fact(format!(
        "First connection (tcp.stream 0, ISNs 0x11110000/0x22220000): frames {}–{}.",
        at(&hs1, 0),
        at(&close1, 2)
    ));
    sc.fact(format!("Second connection (tcp.stream 1, ISNs 0x33330000/0x44440000): frames {}–{}; its SYN is frame {}.", at(&hs2, 0), at(&close2, 2), at(&hs2, 0)));
    sc.fact("A flow table keyed only by the 4-tuple would merge them; each carries one `GET /a` and one `200 OK`.");
    sc
}

/// Frames of a short request/response exchange.
pub(super) struct Exchange {
    /// SYN, SYN-ACK, ACK.
    pub hs: Vec<u32>,
    /// The request.
    pub req: crate::session::Sent,
    /// The response.
    pub resp: crate::session::Sent,
    /// FIN, FIN, ACK.
    pub close: Vec<u32>,
}

/// Handshake, `GET /` for `host`, a short 200 response, orderly close.
pub(super) fn exchange(cap: &mut Capture, s: &mut TcpSession, host: &str) -> Exchange {
    let hs = s.handshake(cap);
    let req = s.send(
        cap,
        Dir::ToServer,
        &http::request("GET", "/", "HTTP/1.1", &[("Host", host)], b""),
    );
    cap.advance(ms(2));
    let resp = s.send(
        cap,
        Dir::ToClient,
        &http::response(
            "HTTP/1.1",
            200,
            "OK",
            &[("Content-Type", "text/plain"), ("Content-Length", "6")],
            b"hello\n",
        ),
    );
    let close = s.close(cap);
    Exchange {
        hs,
        req,
        resp,
        close,
    }
}

impl Exchange {
    /// One fact sentence naming the frames.
    pub(super) fn fact(&self, who: &str) -> String {
        format!(
            "{who}: handshake frames {}, `GET /` frame {}, `200 OK` frame {} (6-byte body `hello\\n`), close frames {}.",
            frames(&self.hs),
            frames(&self.req.data),
            frames(&self.resp.data),
            frames(&self.close)
        )
    }
}
