//! File-format scenarios: pcapng with two interfaces and every packet block type, big-endian
//! nanosecond pcap, snaplen truncation.

use std::time::Duration;

use super::tcp::{exchange, text};
use super::{at, frames, v4, Format, Scenario};
use crate::capture::{BlockKind, Capture, Interface};
use crate::endian::Endian;
use crate::filler::Filler;
use crate::linktype::LinkType;
use crate::payloads::http;
use crate::pcap::{PcapOptions, TsResolution};
use crate::pcapng::PcapngOptions;
use crate::session::{Dir, TcpSession};
use crate::time::Timestamp;

/// 8. pcapng, Ethernet µs interface + raw-IP ns interface, comments, SPB and obsolete PB.
pub(super) fn nanosecond_multi_if() -> Scenario {
    let mut eth = Interface::new(LinkType::Ethernet);
    eth.name = Some("eth0".to_owned());
    eth.tsresol = Some(6);
    let mut tun = Interface::new(LinkType::Raw);
    tun.name = Some("tun0".to_owned());
    tun.tsresol = Some(9);
    let mut cap = Capture::with_interface(eth);
    let tun_id = cap.add_interface(tun);
    cap.set_time(Timestamp::from_unix(
        Capture::DEFAULT_START_SECS,
        123_456_789,
    ));
    cap.set_step(Duration::from_nanos(1_234_567));
    let mut a = TcpSession::new(v4([10, 0, 0, 10], 51900), v4([10, 0, 0, 80], 80))
        .isns(0x1c1c_0000, 0x1d1d_0000);
    let mut b = TcpSession::new(v4([192, 168, 100, 2], 51901), v4([192, 168, 100, 1], 8000))
        .isns(0x1e1e_0000, 0x1f1f_0000)
        .interface(tun_id);
    let mut dns = Filler::new(
        [10, 0, 0, 10].into(),
        [10, 0, 0, 53].into(),
        [10, 0, 0, 1].into(),
    );

    let a_syn = a.syn(&mut cap);
    let b_hs = b.handshake(&mut cap);
    let a_syn_ack = a.syn_ack(&mut cap);
    let a_ack = a.ack(&mut cap, Dir::ToServer);
    let spb = dns.push_one(&mut cap);
    let a_req = a.send(
        &mut cap,
        Dir::ToServer,
        &http::request(
            "GET",
            "/eth",
            "HTTP/1.1",
            &[("Host", "eth.example.com")],
            b"",
        ),
    );
    let b_req = b.send(
        &mut cap,
        Dir::ToServer,
        &http::request(
            "GET",
            "/tun",
            "HTTP/1.1",
            &[("Host", "tun.example.com")],
            b"",
        ),
    );
    let a_resp = a.send(
        &mut cap,
        Dir::ToClient,
        &http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "3")], b"eth"),
    );
    let b_resp = b.send(
        &mut cap,
        Dir::ToClient,
        &http::response("HTTP/1.1", 200, "OK", &[("Content-Length", "3")], b"tun"),
    );
    let a_close = a.close(&mut cap);
    let b_close = b.close(&mut cap);

    let section = "wiretale-fixtures: eth0 (Ethernet, microseconds) and tun0 (raw IP, nanoseconds)";
    let mut sc = Scenario::new(
        "nanosecond-multi-if.pcapng",
        "pcapng: two interfaces, µs and ns, comments, SPB, obsolete PB",
        "Two HTTP exchanges captured at once on two interfaces with different link types and \
         timestamp resolutions, interleaved frame by frame. The clock advances 1.234567 ms per \
         frame from a start of …00.123456789 s, so the nanosecond interface keeps digits the \
         microsecond one drops. The section header has a comment, one Enhanced Packet Block has a \
         comment, one frame is a Simple Packet Block (no timestamp, interface 0 implied) and one is \
         an obsolete Packet Block (type 2) on interface 1.",
        cap,
        Format::Pcapng(PcapngOptions {
            section_comment: Some(section.to_owned()),
            user_application: Some("wiretale-fixtures".to_owned()),
            ..PcapngOptions::default()
        }),
    );
    let pb = at(&b_resp.data, 0);
    let cp = &mut sc.capture;
    cp.set_block(spb, BlockKind::Simple);
    cp.set_block(pb, BlockKind::ObsoletePacket);
    let commented = at(&a_req.data, 0);
    cp.comment(commented, "request on eth0");
    sc.fact(format!(
        "SHB comment: \"{section}\"; shb_userappl \"wiretale-fixtures\"."
    ));
    sc.fact(format!(
        "Interface 0 (eth0, Ethernet, if_tsresol 6): tcp.stream 0, 10.0.0.10:51900 → 10.0.0.80:80: frames {a_syn}, {a_syn_ack}, {a_ack} \
         (handshake), {} (`GET /eth`), {} (`200 OK`), {} (close).",
        frames(&a_req.data),
        frames(&a_resp.data),
        frames(&a_close)
    ));
    sc.fact(format!(
        "Interface 1 (tun0, raw IP, if_tsresol 9): tcp.stream 1, 192.168.100.2:51901 → 192.168.100.1:8000: frames {} (handshake), {} \
         (`GET /tun`), {} (`200 OK`, an obsolete Packet Block), {} (close).",
        frames(&b_hs),
        frames(&b_req.data),
        frames(&b_resp.data),
        frames(&b_close)
    ));
    sc.fact(format!(
        "Frame {commented} (an EPB) has the packet comment \"request on eth0\"."
    ));
    sc.fact(format!(
        "Frame {spb} is a Simple Packet Block on interface 0 (a DNS query, UDP): it has no timestamp, so readers show time 0 (1970) for it."
    ));
    sc.fact(
        "Frame 1 is at 1709629200.123456 s (interface 0 writes microseconds: the 789 ns are lost); frame 2 is at \
         1709629200.124691356 s exactly (interface 1 writes nanoseconds).",
    );
    sc
}

/// 9. Big-endian classic pcap with nanosecond timestamps.
pub(super) fn big_endian_nano() -> Scenario {
    let mut cap = Capture::new(LinkType::Ethernet);
    cap.set_time(Timestamp::from_unix(
        Capture::DEFAULT_START_SECS,
        987_654_321,
    ));
    cap.set_step(Duration::from_nanos(333_333));
    let mut s = TcpSession::new(v4([10, 0, 0, 10], 52000), v4([10, 0, 0, 80], 80))
        .isns(0x2020_0000, 0x2121_0000);
    let x = exchange(&mut cap, &mut s, "be.example.com");
    let mut sc = Scenario::new(
        "big-endian-nano.pcap",
        "big-endian classic pcap, nanosecond timestamps",
        "A short HTTP exchange written as a SPARC-era writer would, but with nanosecond magic: the \
         file starts `a1 b2 3c 4d` and every header field is big-endian. Frames are 333.333 µs \
         apart starting at …00.987654321 s.",
        cap,
        Format::Pcap(PcapOptions { endian: Endian::Big, resolution: TsResolution::Nano }),
    );
    sc.fact(x.fact("tcp.stream 0 (10.0.0.10:52000 → 10.0.0.80:80)"));
    sc.fact("Frame 1 is at 1709629200.987654321 s; frame 2 at 1709629200.987987654 s (ns precision needed to tell them 333333 ns apart).");
    sc
}

/// 10. Snaplen 96: data frames truncated.
pub(super) fn snaplen_truncated() -> Scenario {
    let mut iface = Interface::new(LinkType::Ethernet);
    iface.snaplen = 96;
    let mut cap = Capture::with_interface(iface);
    let mut s = TcpSession::new(v4([10, 0, 0, 10], 52100), v4([10, 0, 0, 80], 80))
        .isns(0x2222_0000, 0x2323_0000)
        .mss(1460, 1460);
    let hs = s.handshake(&mut cap);
    let req = s.send(
        &mut cap,
        Dir::ToServer,
        &http::request(
            "GET",
            "/large",
            "HTTP/1.1",
            &[("Host", "www.example.com")],
            b"",
        ),
    );
    let body = text(2400);
    let resp = s.send(
        &mut cap,
        Dir::ToClient,
        &http::response(
            "HTTP/1.1",
            200,
            "OK",
            &[
                ("Content-Type", "text/plain"),
                ("Content-Length", &body.len().to_string()),
            ],
            &body,
        ),
    );
    let close = s.close(&mut cap);
    let mut sc = Scenario::new(
        "snaplen-truncated.pcap",
        "snaplen 96: payloads cut off",
        "An HTTP exchange captured with snaplen 96. Frames without payload (54 or 66 bytes) are \
         complete; every data frame is stored with only its first 96 bytes (Ethernet 14 + IPv4 20 + \
         TCP 20 + 42 payload bytes), so incl_len < orig_len and the TCP payload cannot be \
         reassembled (the headers and lengths are still all there).",
        cap,
        Format::Pcap(PcapOptions::default()),
    );
    sc.capture.note(
        at(&resp.data, 1),
        "TShark cannot reassemble the cut-off response and parses this body continuation as HTTP; \
         tshark: Illegal characters found in header name",
    );
    sc.fact(format!(
        "tcp.stream 0 (10.0.0.10:52100 → 10.0.0.80:80); handshake frames {} complete.",
        frames(&hs)
    ));
    sc.fact(format!(
        "Truncated frames: request {}, response {} (1460-byte segments: orig_len 1514, incl_len 96).",
        frames(&req.data),
        frames(&resp.data)
    ));
    sc.fact(format!(
        "ACK frames {} and {} and close frames {} are complete.",
        frames(&req.acks),
        frames(&resp.acks),
        frames(&close)
    ));
    sc
}
