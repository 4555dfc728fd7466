//! IP-layer scenarios: IPv6 extension headers and fragments, IPv4 fragments out of order.

use std::time::Duration;

use super::tcp::text;
use super::{at, close_fact, frames, v4, v6, Format, Scenario};
use crate::capture::Capture;
use crate::linktype::LinkType;
use crate::payloads::http;
use crate::pcap::PcapOptions;
use crate::pcapng::PcapngOptions;
use crate::session::{AckPolicy, Dir, TcpSession};
use crate::wire::ipv6::Ipv6Ext;

fn post(path: &str, body_len: usize) -> Vec<u8> {
    let body = text(body_len);
    http::request(
        "POST",
        path,
        "HTTP/1.1",
        &[
            ("Host", "upload.example.com"),
            ("Content-Type", "text/plain"),
            ("Content-Length", &body.len().to_string()),
        ],
        &body,
    )
}

/// 6. IPv6 with hop-by-hop, destination options and fragment headers.
pub(super) fn ipv6_ext() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(
        v6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 0x10], 51700),
        v6([0x2001, 0xdb8, 0, 2, 0, 0, 0, 0x80], 80),
    )
    .isns(0x1818_0000, 0x1919_0000);
    s.set_ipv6_ext(Dir::ToServer, vec![Ipv6Ext::HopByHop { options: vec![] }]);
    let hs = s.handshake(&mut cap);
    s.set_ipv6_ext(
        Dir::ToServer,
        vec![
            Ipv6Ext::HopByHop { options: vec![] },
            Ipv6Ext::atomic_fragment(0),
        ],
    );
    let req = s.send(
        &mut cap,
        Dir::ToServer,
        &http::request("GET", "/v6", "HTTP/1.1", &[("Host", "v6.example.com")], b""),
    );
    s.set_ipv6_ext(
        Dir::ToClient,
        vec![Ipv6Ext::DestinationOptions { options: vec![] }],
    );
    let resp = s.send(
        &mut cap,
        Dir::ToClient,
        &http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "2")], b"v6"),
    );
    s.set_ipv6_ext(Dir::ToServer, vec![Ipv6Ext::HopByHop { options: vec![] }]);
    let upload = post("/v6-upload", 1000);
    let frag = s.send_fragmented(&mut cap, Dir::ToServer, &upload, 2, &[0, 1]);
    let frag_ack = s.ack(&mut cap, Dir::ToClient);
    s.set_ipv6_ext(Dir::ToServer, vec![]);
    s.set_ipv6_ext(Dir::ToClient, vec![]);
    let close = s.close(&mut cap);

    let mut sc = Scenario::new(
        "ipv6-ext.pcapng",
        "IPv6 extension headers and fragments",
        "A TCP session over IPv6/Ethernet whose packets carry extension headers: the client's \
         handshake packets a hop-by-hop header (PadN only); its request segments hop-by-hop plus an \
         atomic fragment header (offset 0, M=0); the server's response a destination options \
         header; then a 1000-byte POST sent as one TCP segment split into two real IPv6 fragments \
         (hop-by-hop header repeated in both, fragment header after it). Closing packets have no \
         extension headers.",
        cap,
        Format::Pcapng(PcapngOptions::default()),
    );
    let cp = &mut sc.capture;
    for &f in &req.data {
        cp.note(f, "next headers: hop-by-hop → fragment (atomic) → TCP");
    }
    for &f in &resp.data {
        cp.note(f, "next headers: destination options → TCP");
    }
    cp.note(
        at(&frag, 0),
        "first fragment (offset 0, M=1); hop-by-hop → fragment → TCP",
    );
    cp.note(
        at(&frag, 1),
        "last fragment (M=0): the TCP segment is complete here",
    );
    sc.fact(format!(
        "tcp.stream 0, [2001:db8:0:1::10]:51700 → [2001:db8:0:2::80]:80. Handshake frames {}: the SYN and the final ACK \
         have a hop-by-hop header (8 bytes: next header 6, length 0, PadN of 4), the SYN-ACK none.",
        frames(&hs)
    ));
    sc.fact(format!(
        "Request frame(s) {}: hop-by-hop then an atomic fragment header (offset 0, M=0) then TCP.",
        frames(&req.data)
    ));
    sc.fact(format!(
        "Response frame(s) {}: destination options header (PadN) then TCP.",
        frames(&resp.data)
    ));
    sc.fact(format!(
        "Frames {} are the two fragments (same identification) of one {}-byte TCP payload, a POST to /v6-upload; only \
         after reassembly is the TCP header (in the first fragment) complete with its payload. Frame {frag_ack} acknowledges it.",
        frames(&frag),
        upload.len()
    ));
    sc.fact(close_fact(&close));
    sc
}

/// 7. One TCP segment in three IPv4 fragments, delivered last-first-middle.
pub(super) fn ipv4_frags() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut s = TcpSession::new(v4([10, 0, 0, 10], 51800), v4([10, 0, 0, 80], 80))
        .isns(0x1a1a_0000, 0x1b1b_0000)
        .ack_policy(AckPolicy::Every(1));
    let hs = s.handshake(&mut cap);
    let upload = post("/frag", 1300);
    let frag = s.send_fragmented(&mut cap, Dir::ToServer, &upload, 3, &[2, 0, 1]);
    let frag_ack = s.ack(&mut cap, Dir::ToClient);
    cap.advance(Duration::from_millis(3));
    let resp = s.send(
        &mut cap,
        Dir::ToClient,
        &http::response("HTTP/1.1", 201, "Created", &[("Content-Length", "0")], b""),
    );
    let close = s.close(&mut cap);

    let mut sc = Scenario::new(
        "ipv4-frags.pcap",
        "one TCP segment in three IPv4 fragments, out of order",
        "A POST sent as a single TCP segment that the client's IP layer split into three fragments \
         (same IP identification, DF clear), captured in the order third, first, second. Only the \
         first fragment (offset 0) holds the TCP header.",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    let [last, first, middle] = [at(&frag, 0), at(&frag, 1), at(&frag, 2)];
    // Byte offsets of the three pieces of the TCP segment (20-byte header + payload).
    let pieces = crate::wire::ipv4::split_fragment_payload(upload.len().saturating_add(20), 3)
        .unwrap_or_default();
    let off = |i: usize| pieces.get(i).map_or(0, |p| p.0);
    let cp = &mut sc.capture;
    cp.note(
        last,
        format!(
            "fragment offset {} bytes, MF=0 (last), arrives first",
            off(2)
        ),
    );
    cp.note(first, "fragment offset 0, MF=1: holds the TCP header");
    cp.note(
        middle,
        format!(
            "fragment offset {}, MF=1; the datagram is complete here and TCP is dissected",
            off(1)
        ),
    );
    sc.fact(format!(
        "tcp.stream 0 (10.0.0.10:51800 → 10.0.0.80:80); handshake frames {}.",
        frames(&hs)
    ));
    sc.fact(format!(
        "Frames {last}, {first}, {middle} are the fragments at byte offsets {}, 0, {} (IP id shared, DF clear) of one IPv4 \
         datagram carrying a TCP segment with {} payload bytes (`POST /frag`); the datagram is complete at frame {middle}, \
         the only fragment frame with a tcp.stream.",
        off(2),
        off(1),
        upload.len()
    ));
    sc.fact(format!(
        "Frame {frag_ack} acknowledges the whole segment; frame {} is `HTTP/1.1 201 Created`.",
        frames(&resp.data)
    ));
    sc.fact(close_fact(&close));
    sc
}
