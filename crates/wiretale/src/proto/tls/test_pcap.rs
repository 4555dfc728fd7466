//! Test-only helpers: split a capture's TCP segments (read by
//! [`crate::test_support::tcp_segments`]) into connections, deliver each direction's payload in
//! sequence order, and drive a [`ConnectionParser`] the way a reassembler would (buffering
//! unconsumed bytes, honouring `skip`, mapping emitted ranges back to frame numbers).
//!
//! The small sequence-order assembly here is deliberate: it tests the TLS decoder in isolation
//! from the `tcp` reassembler. It handles in-order delivery, retransmitted (already delivered)
//! bytes and out-of-order segments that later fill in.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

use crate::proto::{ConnectionParser, Dir, EndReason};
use crate::test_support::tcp_segments;

/// Bytes of one direction delivered by one frame.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub frame: u32,
    pub dir: Dir,
    pub data: Vec<u8>,
}

/// One TCP connection of a capture.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub deliveries: Vec<Delivery>,
}

struct DirAssembly {
    next_seq: Option<u32>,
    pending: BTreeMap<u32, (u32, Vec<u8>)>,
}

impl DirAssembly {
    fn new() -> Self {
        DirAssembly {
            next_seq: None,
            pending: BTreeMap::new(),
        }
    }

    /// Accepts a segment; returns the in-order bytes it makes available, with the frame that
    /// carried each piece.
    fn push(&mut self, frame: u32, seq: u32, data: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let next = *self.next_seq.get_or_insert(seq);
        let mut out = Vec::new();
        let offset = seq.wrapping_sub(next) as i32;
        if offset > 0 {
            self.pending.insert(seq, (frame, data.to_vec()));
            return out;
        }
        let skip = offset.unsigned_abs() as usize;
        if skip >= data.len() {
            return out;
        }
        out.push((frame, data[skip..].to_vec()));
        self.next_seq = Some(seq.wrapping_add(data.len() as u32));
        // Deliver pending segments that now start at or before the next expected byte.
        loop {
            let next = self.next_seq.unwrap();
            let ready = self
                .pending
                .keys()
                .copied()
                .find(|&s| s.wrapping_sub(next) as i32 <= 0);
            let Some(pseq) = ready else { break };
            let (pframe, pdata) = self.pending.remove(&pseq).unwrap();
            let skip = (pseq.wrapping_sub(next) as i32).unsigned_abs() as usize;
            if skip < pdata.len() {
                out.push((pframe, pdata[skip..].to_vec()));
                self.next_seq = Some(pseq.wrapping_add(pdata.len() as u32));
            }
        }
        out
    }
}

/// Reads the TCP connections of a capture, in the order they first appear. The client is the
/// side that sent the SYN (else the first sender).
pub(crate) fn read_flows(capture: &Path) -> Vec<Flow> {
    let mut flows: Vec<(Flow, [DirAssembly; 2])> = Vec::new();
    for seg in tcp_segments(capture) {
        let frame = u32::try_from(seg.frame).expect("frame number fits u32");
        let (from, to) = (seg.src, seg.dst);
        let found = flows.iter().position(|(f, _)| {
            (f.client == from && f.server == to) || (f.client == to && f.server == from)
        });
        let slot = match found {
            Some(i) => i,
            None => {
                let (client, server) = if seg.flags.syn() && seg.flags.ack() {
                    (to, from)
                } else {
                    (from, to)
                };
                flows.push((
                    Flow {
                        client,
                        server,
                        deliveries: Vec::new(),
                    },
                    [DirAssembly::new(), DirAssembly::new()],
                ));
                flows.len() - 1
            }
        };
        let (flow, assembly) = &mut flows[slot];
        let dir = if from == flow.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let a = &mut assembly[match dir {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }];
        if seg.flags.syn() {
            a.next_seq = Some(seg.seq.wrapping_add(1));
            continue;
        }
        if seg.payload.is_empty() {
            continue;
        }
        for (f, data) in a.push(frame, seg.seq, &seg.payload) {
            flow.deliveries.push(Delivery {
                frame: f,
                dir,
                data,
            });
        }
    }
    flows.into_iter().map(|(f, _)| f).collect()
}

/// Removes the first `n[dir]` bytes of each direction (e.g. an HTTP CONNECT exchange).
pub(crate) fn strip_prefix(flow: &Flow, n: [usize; 2]) -> Flow {
    let mut left = n;
    let mut deliveries = Vec::new();
    for d in &flow.deliveries {
        let i = match d.dir {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        };
        let cut = left[i].min(d.data.len());
        left[i] -= cut;
        if cut < d.data.len() {
            deliveries.push(Delivery {
                frame: d.frame,
                dir: d.dir,
                data: d.data[cut..].to_vec(),
            });
        }
    }
    Flow {
        client: flow.client,
        server: flow.server,
        deliveries,
    }
}

/// The whole byte stream of one direction.
pub(crate) fn stream(flow: &Flow, dir: Dir) -> Vec<u8> {
    flow.deliveries
        .iter()
        .filter(|d| d.dir == dir)
        .flat_map(|d| d.data.iter().copied())
        .collect()
}

/// A message reported by the parser, with the frames its range maps to.
#[derive(Debug, Clone)]
pub(crate) struct Emitted<M> {
    /// Frame carrying the last byte of the range (or the current frame for an empty range).
    pub frame: u32,
    /// Frame carrying the first byte of the range.
    pub first_frame: u32,
    pub dir: Dir,
    pub message: M,
}

struct Side {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Stream offset of the next byte to arrive.
    received: u64,
    skip: u64,
    /// (stream offset just past the frame's bytes, frame number)
    marks: Vec<(u64, u32)>,
}

impl Side {
    fn frame_at(&self, offset: u64, current: u32) -> u32 {
        self.marks
            .iter()
            .find(|(end, _)| *end > offset)
            .map_or(current, |(_, f)| *f)
    }
}

/// Drives `parser` with the flow's deliveries as a reassembler would. Also checks the contract:
/// consumed never exceeds the input, ranges stay inside it.
pub(crate) fn run<P: ConnectionParser>(parser: &mut P, flow: &Flow) -> Vec<Emitted<P::Message>> {
    let mut sides = [0, 1].map(|_| Side {
        buf: Vec::new(),
        base: 0,
        received: 0,
        skip: 0,
        marks: Vec::new(),
    });
    let mut out = Vec::new();
    for delivery in &flow.deliveries {
        let i = match delivery.dir {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        };
        let side = &mut sides[i];
        side.received += delivery.data.len() as u64;
        side.marks.push((side.received, delivery.frame));
        let s = side.skip.min(delivery.data.len() as u64) as usize;
        side.skip -= s as u64;
        if side.buf.is_empty() {
            side.base = side.received - (delivery.data.len() - s) as u64;
        }
        side.buf.extend_from_slice(&delivery.data[s..]);
        if side.buf.is_empty() {
            continue;
        }
        feed_side(parser, side, delivery.dir, delivery.frame, &mut out);
    }
    for (i, dir) in [(0, Dir::ToServer), (1, Dir::ToClient)] {
        let side = &sides[i];
        let last = side.marks.last().map_or(0, |m| m.1);
        let mut collected = Vec::new();
        parser.end(dir, EndReason::Fin, &side.buf, &mut |r: Range<usize>, m| {
            collected.push((r, m));
        });
        for (r, m) in collected {
            assert!(r.end <= side.buf.len(), "range past input at end");
            out.push(Emitted {
                frame: last,
                first_frame: last,
                dir,
                message: m,
            });
        }
    }
    out
}

fn feed_side<P: ConnectionParser>(
    parser: &mut P,
    side: &mut Side,
    dir: Dir,
    frame: u32,
    out: &mut Vec<Emitted<P::Message>>,
) {
    let mut collected = Vec::new();
    let feed = parser.feed(dir, &side.buf, &mut |r: Range<usize>, m| {
        collected.push((r, m));
    });
    for (r, m) in collected {
        assert!(
            r.start <= r.end && r.end <= side.buf.len(),
            "range {r:?} outside input"
        );
        let start = side.base + r.start as u64;
        let end = side.base + r.end as u64;
        let (first_frame, last_frame) = if r.is_empty() {
            let f = side.frame_at(start, frame);
            (f, f)
        } else {
            (side.frame_at(start, frame), side.frame_at(end - 1, frame))
        };
        out.push(Emitted {
            frame: last_frame,
            first_frame,
            dir,
            message: m,
        });
    }
    assert!(feed.consumed <= side.buf.len(), "consumed past input");
    side.buf.drain(..feed.consumed);
    side.base += feed.consumed as u64;
    let in_buf = feed.skip.min(side.buf.len() as u64) as usize;
    side.buf.drain(..in_buf);
    side.base += in_buf as u64;
    side.skip = feed.skip - in_buf as u64;
}
