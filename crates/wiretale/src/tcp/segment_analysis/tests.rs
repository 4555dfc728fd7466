//! The marker rules on scripted connections. Each script was also written as a capture and
//! read by tshark 4.0.17 (`tshark -r F -T fields -e frame.number -e _ws.col.Info`): the
//! expected prefixes are tshark's, frame for frame.

use super::*;

const SYN: u16 = TcpFlags::SYN;
const SYN_ACK: u16 = TcpFlags::SYN | TcpFlags::ACK;
const ACK: u16 = TcpFlags::ACK;
const PSH_ACK: u16 = TcpFlags::PSH | TcpFlags::ACK;
const FIN_ACK: u16 = TcpFlags::FIN | TcpFlags::ACK;
const RST: u16 = TcpFlags::RST;

/// Client (direction 0) and server (direction 1) of one connection, the client's initial
/// sequence number 1000 and the server's 5000; frames 1 ms apart unless told otherwise.
struct Script {
    analyzer: SeqAnalyzer,
    frame: u64,
    time: Timestamp,
    /// The info prefix of every frame so far, by frame number (index 0 unused).
    prefixes: Vec<String>,
}

const C: usize = 0;
const S: usize = 1;

impl Script {
    fn new() -> Self {
        Script {
            analyzer: SeqAnalyzer::default(),
            frame: 0,
            time: Timestamp {
                secs: 1_700_000_000,
                nanos: 0,
            },
            prefixes: vec![String::new()],
        }
    }

    /// One segment `dt_us` microseconds after the previous one.
    #[allow(clippy::too_many_arguments)]
    fn at(
        &mut self,
        dt_us: u32,
        dir: usize,
        seq: u32,
        ack: u32,
        flags: u16,
        window: u16,
        len: u32,
        window_scale: Option<u8>,
    ) -> SegmentAnalysis {
        self.frame += 1;
        let nanos = u64::from(self.time.nanos) + u64::from(dt_us) * 1000;
        self.time = Timestamp {
            secs: self.time.secs + (nanos / 1_000_000_000) as i64,
            nanos: (nanos % 1_000_000_000) as u32,
        };
        let analysis = self.analyzer.segment(
            dir,
            &SegmentFacts {
                frame: self.frame,
                time: self.time,
                seq,
                ack,
                len,
                flags: TcpFlags(flags),
                window,
                window_scale,
            },
        );
        let mut prefix = String::new();
        analysis.push_info_prefix(&mut prefix);
        self.prefixes.push(prefix);
        analysis
    }

    fn seg(&mut self, dir: usize, seq: u32, ack: u32, flags: u16, window: u16, len: u32) {
        self.at(1000, dir, seq, ack, flags, window, len, None);
    }

    fn handshake(&mut self) {
        self.seg(C, 1000, 0, SYN, 64240, 0);
        self.seg(S, 5000, 1001, SYN_ACK, 64240, 0);
        self.seg(C, 1001, 5001, ACK, 64240, 0);
    }

    /// The frames that carry markers, with their prefixes (tshark's Info column up to the
    /// ports).
    fn marked(&self) -> Vec<(u64, &str)> {
        (1u64..)
            .zip(self.prefixes.iter().skip(1))
            .filter(|(_, p)| !p.is_empty())
            .map(|(f, p)| (f, p.trim_end()))
            .collect()
    }
}

#[test]
fn markers_print_in_tsharks_order_with_dup_ack_numbers() {
    let mut a = SegmentAnalysis::default();
    for m in Marker::ALL.iter().rev() {
        a.set(*m);
    }
    a.set_dup_ack(8, 2);
    let mut text = String::new();
    a.push_info_prefix(&mut text);
    assert_eq!(
        text,
        "[TCP ZeroWindowProbeAck] [TCP ZeroWindow] [TCP ZeroWindowProbe] [TCP Dup ACK 8#2] \
         [TCP Keep-Alive ACK] [TCP Keep-Alive] [TCP Window Full] [TCP Window Update] \
         [TCP ACKed unseen segment] [TCP Previous segment not captured] [TCP Out-Of-Order] \
         [TCP Spurious Retransmission] [TCP Fast Retransmission] [TCP Retransmission] \
         [TCP Port numbers reused] "
    );
    assert_eq!(
        a.dup_ack(),
        Some(DupAck {
            frame: 8,
            number: 2
        })
    );
    assert!(SegmentAnalysis::default().is_empty());
    assert_eq!(SegmentAnalysis::default().dup_ack(), None);
}

/// Window updates and duplicate ACKs: a pure ACK repeating the last one, with another window
/// or the same; the count goes on across a window update and restarts when the ACK moves.
#[test]
fn window_updates_and_duplicate_acks() {
    let mut s = Script::new();
    s.handshake();
    for _ in 0..4 {
        s.seg(S, 5001, 1001, ACK, 64240, 0);
    }
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.seg(S, 5001, 1101, ACK, 64000, 0);
    s.seg(S, 5001, 1101, ACK, 64000, 0);
    assert_eq!(
        s.marked(),
        [
            (4, "[TCP Dup ACK 2#1]"),
            (5, "[TCP Dup ACK 2#2]"),
            (6, "[TCP Dup ACK 2#3]"),
            (7, "[TCP Dup ACK 2#4]"),
            (10, "[TCP Dup ACK 9#1]"),
            (11, "[TCP Window Update]"),
            (12, "[TCP Dup ACK 9#2]"),
        ]
    );
}

/// Zero window, probes (one byte at the next sequence number, which does not advance it) and
/// their ACKs, the window opening again.
#[test]
fn zero_window_probes_and_their_acks() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 0, 0);
    s.seg(C, 1101, 5001, ACK, 64240, 1);
    s.seg(S, 5001, 1101, ACK, 0, 0);
    s.at(200_000, C, 1101, 5001, ACK, 64240, 1, None);
    s.seg(S, 5001, 1101, ACK, 0, 0);
    s.seg(S, 5001, 1101, ACK, 8000, 0);
    s.seg(C, 1101, 5001, PSH_ACK, 64240, 50);
    s.seg(C, 1151, 5001, PSH_ACK, 64240, 50);
    assert_eq!(
        s.marked(),
        [
            (5, "[TCP ZeroWindow]"),
            (6, "[TCP ZeroWindowProbe]"),
            (7, "[TCP ZeroWindowProbeAck] [TCP ZeroWindow]"),
            (8, "[TCP ZeroWindowProbe]"),
            (9, "[TCP ZeroWindowProbeAck] [TCP ZeroWindow]"),
            (10, "[TCP Window Update]"),
        ]
    );

    // The receiver takes the probe's byte: it acknowledges what the analysis never counted.
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 0, 0);
    s.seg(C, 1101, 5001, ACK, 64240, 1);
    s.seg(S, 5001, 1102, ACK, 0, 0);
    s.seg(S, 5001, 1102, ACK, 8000, 0);
    s.seg(C, 1102, 5001, PSH_ACK, 64240, 50);
    assert_eq!(
        s.marked(),
        [
            (5, "[TCP ZeroWindow]"),
            (6, "[TCP ZeroWindowProbe]"),
            (7, "[TCP ZeroWindow] [TCP ACKed unseen segment]"),
            (8, "[TCP Window Update]"),
            (9, "[TCP Previous segment not captured]"),
        ]
    );
}

/// Keep-alives (no byte or one, at the next sequence number minus one) and their ACKs; an
/// ACK repeated after a keep-alive ACK is one too.
#[test]
fn keep_alives_and_their_acks() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.at(45_000_000, C, 1100, 5001, ACK, 64240, 0, None);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.at(45_000_000, C, 1100, 5001, ACK, 64240, 1, None);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    assert_eq!(
        s.marked(),
        [
            (6, "[TCP Keep-Alive]"),
            (7, "[TCP Keep-Alive ACK]"),
            (8, "[TCP Keep-Alive]"),
            (9, "[TCP Keep-Alive ACK]"),
            (10, "[TCP Keep-Alive ACK]"),
        ]
    );
}

/// A lost segment, two duplicate ACKs asking for it, and the segment within 20 ms of the
/// last of them: a fast retransmission.
#[test]
fn fast_retransmission_follows_two_duplicate_acks() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, ACK, 64240, 100);
    s.seg(C, 1201, 5001, ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.seg(C, 1301, 5001, ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.seg(C, 1401, 5001, ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.at(2000, C, 1101, 5001, ACK, 64240, 100, None);
    s.seg(S, 5001, 1501, ACK, 64240, 0);
    assert_eq!(
        s.marked(),
        [
            (5, "[TCP Previous segment not captured]"),
            (8, "[TCP Dup ACK 6#1]"),
            (10, "[TCP Dup ACK 6#2]"),
            (11, "[TCP Fast Retransmission]"),
        ]
    );
}

/// A segment that fills a hole soon after the highest one is out of order (3 ms without a
/// handshake, else the handshake's round-trip time); later, it is a retransmission.
#[test]
fn out_of_order_within_the_round_trip_time() {
    let mut s = Script::new();
    s.seg(C, 1001, 5001, ACK, 64240, 100);
    s.at(500, C, 1201, 5001, ACK, 64240, 100, None);
    s.at(500, C, 1101, 5001, ACK, 64240, 100, None);
    s.at(500, C, 1401, 5001, ACK, 64240, 100, None);
    s.at(10_000, C, 1301, 5001, ACK, 64240, 100, None);
    assert_eq!(
        s.marked(),
        [
            (2, "[TCP Previous segment not captured]"),
            (3, "[TCP Out-Of-Order]"),
            (4, "[TCP Previous segment not captured]"),
            (5, "[TCP Retransmission]"),
        ]
    );

    let mut s = Script::new();
    s.at(1000, C, 1000, 0, SYN, 64240, 0, None);
    s.at(50_000, S, 5000, 1001, SYN_ACK, 64240, 0, None);
    s.at(50_000, C, 1001, 5001, ACK, 64240, 0, None);
    s.seg(C, 1001, 5001, ACK, 64240, 100);
    s.seg(C, 1201, 5001, ACK, 64240, 100);
    s.at(50_000, C, 1101, 5001, ACK, 64240, 100, None);
    assert_eq!(
        s.marked(),
        [
            (5, "[TCP Previous segment not captured]"),
            (6, "[TCP Out-Of-Order]"),
        ]
    );
}

/// Data the peer had acknowledged is a spurious retransmission, before any other kind; data
/// partly beyond what was acknowledged is a retransmission. A SYN or FIN sent again within
/// 3 ms is a retransmission, not out of order.
#[test]
fn spurious_and_control_retransmissions() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.at(300_000, C, 1001, 5001, PSH_ACK, 64240, 100, None);
    s.at(300_000, C, 1051, 5001, PSH_ACK, 64240, 100, None);
    assert_eq!(
        s.marked(),
        [
            (6, "[TCP Spurious Retransmission]"),
            (7, "[TCP Retransmission]"),
        ]
    );

    let mut s = Script::new();
    s.handshake();
    s.at(100, C, 1001, 5001, PSH_ACK, 64240, 100, None);
    s.at(100, C, 1101, 5001, PSH_ACK, 64240, 100, None);
    s.at(100, S, 5001, 1201, ACK, 64240, 0, None);
    s.at(100, C, 1001, 5001, PSH_ACK, 64240, 100, None);
    assert_eq!(s.marked(), [(7, "[TCP Spurious Retransmission]")]);

    let mut s = Script::new();
    s.at(100, C, 1000, 0, SYN, 64240, 0, None);
    s.at(100, C, 1000, 0, SYN, 64240, 0, None);
    s.at(100, S, 5000, 1001, SYN_ACK, 64240, 0, None);
    s.at(100, C, 1001, 5001, ACK, 64240, 0, None);
    s.at(100, C, 1001, 5001, PSH_ACK, 64240, 100, None);
    s.at(100, C, 1101, 5001, FIN_ACK, 64240, 0, None);
    s.at(100, C, 1101, 5001, FIN_ACK, 64240, 0, None);
    assert_eq!(
        s.marked(),
        [(2, "[TCP Retransmission]"), (7, "[TCP Retransmission]")]
    );
}

/// ACKs of bytes never seen: told for the first ACK past a hole, not again for later ACKs of
/// the same run (tshark 4.0 counts at least one ACK of the other side in between), again
/// once bytes beyond the hole were seen.
#[test]
fn acked_unseen_segments_are_told_once_per_hole() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, ACK, 64240, 0);
    s.seg(S, 5001, 1201, ACK, 64240, 0);
    s.seg(S, 5001, 1301, ACK, 64240, 0);
    s.seg(S, 5001, 1301, ACK, 64240, 0);
    s.seg(S, 5001, 1301, ACK, 64240, 0);
    s.seg(C, 1301, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1501, ACK, 64240, 0);
    s.seg(C, 1401, 5001, ACK, 64240, 0);
    s.seg(S, 5001, 1601, ACK, 64240, 0);
    assert_eq!(
        s.marked(),
        [
            (6, "[TCP ACKed unseen segment]"),
            (8, "[TCP Dup ACK 7#1]"),
            (9, "[TCP Dup ACK 7#2]"),
            (10, "[TCP Previous segment not captured]"),
            (11, "[TCP ACKed unseen segment]"),
            (12, "[TCP Dup ACK 3#1]"),
        ]
    );
}

/// Several markers on one segment, in tshark's order.
#[test]
fn combined_markers() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(S, 5001, 1101, PSH_ACK, 64240, 100);
    s.seg(S, 5201, 1101, ACK, 0, 0);
    s.seg(C, 1101, 5301, ACK, 64240, 0);
    s.seg(C, 1101, 5301, ACK, 32000, 0);
    s.seg(C, 1101, 5301, ACK, 32000, 0);
    s.seg(C, 1101, 5401, ACK, 32000, 0);
    s.seg(C, 1101, 5401, ACK, 30000, 0);
    s.at(500_000, C, 1001, 5401, PSH_ACK, 30000, 100, None);
    s.at(500_000, C, 1101, 5501, PSH_ACK, 30000, 10, None);
    assert_eq!(
        s.marked(),
        [
            (6, "[TCP ZeroWindow] [TCP Previous segment not captured]"),
            (7, "[TCP ACKed unseen segment]"),
            (8, "[TCP Window Update] [TCP ACKed unseen segment]"),
            (9, "[TCP Dup ACK 7#1]"),
            (11, "[TCP Window Update]"),
            (12, "[TCP Window Full] [TCP Spurious Retransmission]"),
        ]
    );
}

/// Data up to the right edge of the peer's window: scaled by the peer's shift once it sent a
/// pure ACK after its SYN, unscaled before.
#[test]
fn window_full_at_the_edge_of_the_scaled_window() {
    let mut s = Script::new();
    s.at(1000, C, 1000, 0, SYN, 64240, 0, Some(0));
    s.at(1000, S, 5000, 1001, SYN_ACK, 1000, 0, Some(2));
    s.seg(C, 1001, 5001, ACK, 64240, 0);
    s.seg(S, 5001, 1001, ACK, 1000, 0);
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 2000);
    s.seg(C, 3001, 5001, PSH_ACK, 64240, 2000);
    s.seg(S, 5001, 5001, ACK, 1000, 0);
    s.seg(C, 5001, 5001, PSH_ACK, 64240, 4000);
    assert_eq!(
        s.marked(),
        [
            (4, "[TCP Dup ACK 2#1]"),
            (6, "[TCP Window Full]"),
            (8, "[TCP Window Full]"),
        ]
    );

    let mut s = Script::new();
    s.at(1000, C, 1000, 0, SYN, 64240, 0, Some(0));
    s.at(1000, S, 5000, 1001, SYN_ACK, 1000, 0, Some(2));
    s.seg(C, 1001, 5001, ACK, 64240, 0);
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 1000);
    assert_eq!(s.marked(), [(4, "[TCP Window Full]")]);
}

/// A FIN sent again, a RST far ahead, and the client's SYN again with its first initial
/// sequence number, answered by a SYN-ACK with a new one (tshark: the same conversation,
/// its ports reused).
#[test]
fn a_connection_tried_again_on_the_same_ports() {
    let mut s = Script::new();
    s.handshake();
    s.seg(C, 1001, 5001, PSH_ACK, 64240, 100);
    s.seg(C, 1101, 5001, FIN_ACK, 64240, 0);
    s.at(300_000, C, 1101, 5001, FIN_ACK, 64240, 0, None);
    s.seg(C, 9000, 5001, RST, 0, 0);
    s.at(1_000_000, C, 1000, 0, SYN, 64240, 0, None);
    s.seg(S, 7000, 1001, SYN_ACK, 64240, 0);
    s.seg(C, 1001, 7001, ACK, 64240, 0);
    s.seg(C, 1001, 7001, PSH_ACK, 64240, 10);
    assert_eq!(
        s.marked(),
        [
            (6, "[TCP Retransmission]"),
            (8, "[TCP Retransmission]"),
            (
                9,
                "[TCP Previous segment not captured] [TCP Port numbers reused]"
            ),
            (10, "[TCP ACKed unseen segment]"),
            (11, "[TCP Retransmission]"),
        ]
    );
}

#[test]
fn sequence_comparisons_wrap() {
    assert!(gt_seq(5, u32::MAX - 5));
    assert!(lt_seq(u32::MAX - 5, 5));
    assert!(le_seq(7, 7) && le_seq(u32::MAX, 0) && !le_seq(1, 0));
    let t = |secs, nanos| Timestamp { secs, nanos };
    assert_eq!(span_ns(t(2, 5), t(1, 999_999_999)), 6);
    assert_eq!(span_ns(t(3, 5), t(1, 0)), 2_000_000_005);
    // Earlier than the reference: tshark's unsigned arithmetic makes it huge.
    assert!(span_ns(t(1, 0), t(1, 1)) > FAST_RETRANSMISSION_NS);
}
