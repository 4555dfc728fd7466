//! Test helpers: a miniature reassembler that drives the parser the way the real one will
//! (unconsumed bytes stay buffered, `skip` is honoured, emitted ranges are mapped to frames),
//! and [`run_capture`], which splits a capture's TCP segments (read by
//! [`crate::test_support::tcp_segments`]) into connections and feeds each one to its own
//! driver.
//!
//! The small sequence-order assembly here is deliberate: it tests the HTTP decoder in
//! isolation from the `tcp` reassembler.

use core::ops::Range;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use super::{HttpConfig, HttpConnectionParser, HttpMessage};
use crate::proto::{ConnectionParser, Dir, EndReason};
use crate::test_support::tcp_segments;

/// One message as the driver saw it.
#[derive(Debug, Clone)]
pub(crate) struct Emitted {
    pub dir: Dir,
    pub msg: HttpMessage,
    /// Absolute stream offsets of the range (start, end) in `dir`.
    pub offsets: Range<u64>,
    /// Frame carrying the first byte of the range (the current frame for an empty range).
    pub first_frame: u64,
    /// Frame carrying the last byte of the range (the current frame for an empty range).
    pub last_frame: u64,
}

#[derive(Debug, Default)]
struct DirBuf {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    skip_left: u64,
    offered: u64,
    consumed: u64,
    skipped: u64,
    dropped: u64,
    skipped_in_holes: u64,
    /// (stream offset where a frame's bytes start, frame number).
    marks: Vec<(u64, u64)>,
}

impl DirBuf {
    fn frame_at(&self, offset: u64) -> u64 {
        self.marks
            .iter()
            .rev()
            .find(|(o, _)| *o <= offset)
            .map_or(0, |(_, f)| *f)
    }
}

/// Where the bytes of one direction went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accounting {
    /// Bytes pushed.
    pub offered: u64,
    /// Bytes the parser consumed.
    pub consumed: u64,
    /// Bytes skipped unseen at the parser's request.
    pub skipped: u64,
    /// Buffered bytes discarded because of a gap.
    pub dropped: u64,
    /// Bytes still buffered (unconsumed).
    pub buffered: u64,
    /// Future bytes still to be skipped.
    pub skip_pending: u64,
    /// Bytes of skip requests that fell into capture holes (never offered).
    pub skipped_in_holes: u64,
}

impl Accounting {
    /// Every pushed byte is consumed, skipped, dropped or buffered.
    pub fn balanced(&self) -> bool {
        self.consumed + self.skipped + self.dropped + self.buffered == self.offered
    }

    /// Balanced, with nothing buffered, dropped or still to skip: the stream ended cleanly.
    pub fn clean(&self) -> bool {
        self.balanced() && self.buffered == 0 && self.dropped == 0 && self.skip_pending == 0
    }
}

/// The miniature reassembler.
pub(crate) struct Driver {
    pub parser: HttpConnectionParser,
    dirs: [DirBuf; 2],
    pub emitted: Vec<Emitted>,
}

fn idx(dir: Dir) -> usize {
    match dir {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

impl Driver {
    pub fn new(config: HttpConfig) -> Driver {
        Driver::with_parser(HttpConnectionParser::new(config))
    }

    pub fn with_parser(parser: HttpConnectionParser) -> Driver {
        Driver {
            parser,
            dirs: Default::default(),
            emitted: Vec::new(),
        }
    }

    /// New in-order bytes of `dir`, carried by `frame`.
    pub fn push(&mut self, dir: Dir, bytes: &[u8], frame: u64) {
        let d = &mut self.dirs[idx(dir)];
        d.offered += bytes.len() as u64;
        let s = d.skip_left.min(bytes.len() as u64) as usize;
        d.skip_left -= s as u64;
        d.skipped += s as u64;
        d.buf_offset += s as u64;
        let data = &bytes[s..];
        if data.is_empty() {
            return;
        }
        d.marks.push((d.buf_offset + d.buf.len() as u64, frame));
        d.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let feed = self
            .parser
            .feed(dir, &d.buf, &mut |r: Range<usize>, m: Box<HttpMessage>| {
                out.push((r, *m))
            });
        let buf_len = d.buf.len();
        assert!(feed.consumed <= buf_len, "consumed beyond input");
        for (r, m) in out {
            assert!(
                r.start <= r.end && r.end <= buf_len,
                "range {r:?} outside input"
            );
            self.record(dir, r, m, frame);
        }
        let d = &mut self.dirs[idx(dir)];
        d.buf.drain(..feed.consumed);
        d.buf_offset += feed.consumed as u64;
        d.consumed += feed.consumed as u64;
        let from_buf = feed.skip.min(d.buf.len() as u64) as usize;
        d.buf.drain(..from_buf);
        d.buf_offset += from_buf as u64;
        d.skipped += from_buf as u64;
        d.skip_left = feed.skip - from_buf as u64;
    }

    fn record(&mut self, dir: Dir, r: Range<usize>, msg: HttpMessage, frame: u64) {
        let d = &self.dirs[idx(dir)];
        let (first_frame, last_frame) = if r.is_empty() {
            (frame, frame)
        } else {
            (
                d.frame_at(d.buf_offset + r.start as u64),
                d.frame_at(d.buf_offset + r.end as u64 - 1),
            )
        };
        self.emitted.push(Emitted {
            dir,
            msg,
            offsets: d.buf_offset + r.start as u64..d.buf_offset + r.end as u64,
            first_frame,
            last_frame,
        });
    }

    /// `len` bytes of `dir` never arrived (a hole in the capture), as a reassembler sees it:
    /// the part of the hole inside a pending skip is just counted as skipped; only the rest is
    /// reported to the parser as a gap.
    pub fn hole(&mut self, dir: Dir, len: u64) {
        let d = &mut self.dirs[idx(dir)];
        let in_skip = d.skip_left.min(len);
        d.skip_left -= in_skip;
        d.buf_offset += in_skip;
        d.skipped_in_holes += in_skip;
        if len > in_skip {
            self.gap(dir, len - in_skip);
        }
    }

    /// `len` bytes of `dir` are missing for good.
    pub fn gap(&mut self, dir: Dir, len: u64) {
        let d = &mut self.dirs[idx(dir)];
        d.buf_offset += d.buf.len() as u64 + len;
        d.dropped += d.buf.len() as u64;
        d.buf.clear();
        d.skip_left = 0;
        self.parser.gap(dir, len);
    }

    /// `dir` ended.
    pub fn end(&mut self, dir: Dir, reason: EndReason, frame: u64) {
        let d = &self.dirs[idx(dir)];
        let buf = d.buf.clone();
        let mut out = Vec::new();
        self.parser.end(
            dir,
            reason,
            &buf,
            &mut |r: Range<usize>, m: Box<HttpMessage>| out.push((r, *m)),
        );
        for (r, m) in out {
            assert!(
                r.start <= r.end && r.end <= buf.len(),
                "range {r:?} outside input"
            );
            self.record(dir, r, m, frame);
        }
    }

    /// Where the bytes of `dir` went.
    pub fn accounting(&self, dir: Dir) -> Accounting {
        let d = &self.dirs[idx(dir)];
        Accounting {
            offered: d.offered,
            consumed: d.consumed,
            skipped: d.skipped,
            dropped: d.dropped,
            buffered: d.buf.len() as u64,
            skip_pending: d.skip_left,
            skipped_in_holes: d.skipped_in_holes,
        }
    }

    /// The frame that carried stream offset `offset` of `dir`.
    pub fn frame_at(&self, dir: Dir, offset: u64) -> u64 {
        self.dirs[idx(dir)].frame_at(offset)
    }

    /// The unconsumed bytes of `dir`.
    pub fn buffered(&self, dir: Dir) -> &[u8] {
        &self.dirs[idx(dir)].buf
    }

    /// Just the messages.
    pub fn messages(&self) -> Vec<HttpMessage> {
        self.emitted.iter().map(|e| e.msg.clone()).collect()
    }
}

/// Feeds `client` and `server` bytes whole, in alternation by message order: all of `client`,
/// then all of `server`, then ends both with FIN.
pub(crate) fn run_whole(client: &[u8], server: &[u8]) -> Driver {
    let mut d = Driver::new(HttpConfig::default());
    if !client.is_empty() {
        d.push(Dir::ToServer, client, 1);
    }
    if !server.is_empty() {
        d.push(Dir::ToClient, server, 2);
    }
    d.end(Dir::ToServer, EndReason::Fin, 3);
    d.end(Dir::ToClient, EndReason::Fin, 4);
    d
}

/// Same, one byte per push.
pub(crate) fn run_bytewise(client: &[u8], server: &[u8]) -> Driver {
    let mut d = Driver::new(HttpConfig::default());
    for (n, b) in client.iter().enumerate() {
        d.push(Dir::ToServer, std::slice::from_ref(b), n as u64);
    }
    for (n, b) in server.iter().enumerate() {
        d.push(Dir::ToClient, std::slice::from_ref(b), n as u64);
    }
    d.end(Dir::ToServer, EndReason::Fin, 0);
    d.end(Dir::ToClient, EndReason::Fin, 0);
    d
}

/// One TCP connection of a capture, run through the parser.
pub(crate) struct CaptureConnection {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub driver: Driver,
}

#[derive(Default)]
struct DirSeq {
    next: Option<u32>,
    /// Segments beyond `next`: (seq, frame, bytes).
    pending: Vec<(u32, u64, Vec<u8>)>,
    ended: bool,
}

impl DirSeq {
    /// When the peer acknowledged `ack` past a hole before the held segments, the hole will
    /// never fill: returns its length (bytes up to the first held segment, or to `ack`).
    fn hole_acked(&self, ack: u32) -> Option<u64> {
        let next = self.next?;
        let first = self
            .pending
            .iter()
            .map(|(s, _, _)| *s)
            .min_by_key(|s| s.wrapping_sub(next))?;
        let acked = ack.wrapping_sub(next) as i32;
        let to_first = first.wrapping_sub(next) as i32;
        (acked > 0 && to_first > 0 && acked >= to_first).then_some(to_first as u64)
    }

    /// The hole before the first held segment (at the end of the capture).
    fn hole_left(&self) -> Option<u64> {
        let next = self.next?;
        let first = self
            .pending
            .iter()
            .map(|(s, _, _)| s.wrapping_sub(next))
            .min()?;
        (first > 0 && first < 1 << 31).then_some(u64::from(first))
    }

    /// Skips a hole of `len` bytes; returns the pieces it releases.
    fn skip_hole(&mut self, len: u64) -> Vec<(u64, Vec<u8>)> {
        if let Some(next) = self.next {
            self.next = Some(next.wrapping_add(len as u32));
        }
        let seq = self.next.unwrap_or(0);
        self.accept(seq, 0, &[])
    }

    /// Accepts a segment; returns the in-order pieces it releases, with their frames.
    fn accept(&mut self, seq: u32, frame: u64, payload: &[u8]) -> Vec<(u64, Vec<u8>)> {
        if !payload.is_empty() {
            self.pending.push((seq, frame, payload.to_vec()));
        }
        let mut out = Vec::new();
        loop {
            let next = *self.next.get_or_insert(seq);
            // Offset of each pending segment from `next` (negative: starts before it).
            let ready = self
                .pending
                .iter()
                .position(|(s, _, _)| (s.wrapping_sub(next) as i32) <= 0);
            let Some(at) = ready else { break };
            let (s, f, bytes) = self.pending.swap_remove(at);
            let behind = next.wrapping_sub(s) as usize;
            if behind < bytes.len() {
                let fresh = bytes[behind..].to_vec();
                self.next = Some(next.wrapping_add(fresh.len() as u32));
                out.push((f, fresh));
            }
        }
        out
    }
}

/// Runs every TCP connection of `capture` through its own parser, frames in capture order.
/// Retransmitted bytes are trimmed, out-of-order segments held until the hole fills.
pub(crate) fn run_capture(capture: &Path, config: &HttpConfig) -> Vec<CaptureConnection> {
    let mut conns: Vec<(CaptureConnection, [DirSeq; 2])> = Vec::new();
    let mut index: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
    for seg in tcp_segments(capture) {
        let (syn, ack, fin, rst) = (
            seg.flags.syn(),
            seg.flags.ack(),
            seg.flags.fin(),
            seg.flags.rst(),
        );
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let reused = index.get(&key).is_some_and(|&n| {
            // A new SYN on a closed 4-tuple starts a new connection.
            syn && !ack && conns[n].1.iter().any(|d| d.ended)
        });
        if reused {
            index.remove(&key);
        }
        let n = *index.entry(key).or_insert_with(|| {
            // The SYN sender is the client; without a SYN, the sender of the first request, or
            // the receiver of the first response, or else the first sender.
            let client_is_src = if syn {
                !ack
            } else {
                super::looks_like_http_response(&seg.payload) != Some(true)
            };
            let (client, server) = if client_is_src {
                (seg.src, seg.dst)
            } else {
                (seg.dst, seg.src)
            };
            // Without the SYN the connection was joined mid-stream.
            let parser = if syn {
                HttpConnectionParser::new(config.clone())
            } else {
                HttpConnectionParser::new_midstream(config.clone())
            };
            conns.push((
                CaptureConnection {
                    client,
                    server,
                    driver: Driver::with_parser(parser),
                },
                Default::default(),
            ));
            conns.len() - 1
        });
        let (conn, seqs) = &mut conns[n];
        let dir = if seg.src == conn.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        if ack {
            // The peer acknowledges past a hole in this direction: the data was lost.
            let other = &mut seqs[idx(dir.flip())];
            if let Some(len) = other.hole_acked(seg.ack) {
                conn.driver.hole(dir.flip(), len);
                for (frame, bytes) in other.skip_hole(len) {
                    conn.driver.push(dir.flip(), &bytes, frame);
                }
            }
        }
        let ds = &mut seqs[idx(dir)];
        if rst {
            for d in [Dir::ToServer, Dir::ToClient] {
                if !seqs[idx(d)].ended {
                    seqs[idx(d)].ended = true;
                    conn.driver.end(d, EndReason::Reset, seg.frame);
                }
            }
            continue;
        }
        if syn {
            ds.next = Some(seg.seq.wrapping_add(1));
            continue;
        }
        for (frame, bytes) in ds.accept(seg.seq, seg.frame, &seg.payload) {
            conn.driver.push(dir, &bytes, frame);
        }
        if fin && !ds.ended {
            ds.ended = true;
            conn.driver.end(dir, EndReason::Fin, seg.frame);
        }
    }
    conns
        .into_iter()
        .map(|(mut conn, mut seqs)| {
            for d in [Dir::ToServer, Dir::ToClient] {
                while let Some(len) = seqs[idx(d)].hole_left() {
                    conn.driver.hole(d, len);
                    for (frame, bytes) in seqs[idx(d)].skip_hole(len) {
                        conn.driver.push(d, &bytes, frame);
                    }
                }
            }
            for d in [Dir::ToServer, Dir::ToClient] {
                if !seqs[idx(d)].ended {
                    conn.driver.end(d, EndReason::CaptureEnd, u64::MAX);
                }
            }
            conn
        })
        .collect()
}
