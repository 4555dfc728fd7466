//! The retired connections ([`super::IndexBuilder::retiring_quiet`]), stored compactly: a
//! capture of a million short connections retires nearly all of them, so each costs 17
//! bytes here, its addresses shared with every other connection of the same client host or
//! server.
//!
//! The pipeline numbers streams densely from 0, so connections are stored by stream number
//! in fixed-size chunks: no sorting, no search, and no vector doubling (and copying) its way
//! through a million entries. Chunks are made only up to a little beyond the number of
//! connections the index has seen; a stream number beyond that (an embedder's own numbering,
//! or connections retired before many earlier ones were even seen) goes to a side list,
//! sorted and merged into the chunks it falls in at the end, so memory follows the number of
//! connections, never the size of a number.

use super::QuietConn;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Connections per chunk.
const CHUNK: usize = 4096;

/// How many chunks beyond the connections seen a stream number may need and still get them.
const SPARE_CHUNKS: usize = 16;

/// The connections an index keeps only the endpoints of, by stream ([`super::Index::quiet`]).
///
/// ```
/// use wiretale::analysis::IndexBuilder;
///
/// let index = IndexBuilder::retiring_quiet().finish(None);
/// assert!(index.quiet.is_empty());
/// assert_eq!(index.quiet.get(0), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct QuietConns {
    /// Stream `s` is slot `s % CHUNK` of chunk `s / CHUNK`.
    chunks: Vec<Box<[Slot]>>,
    /// Streams beyond the chunks, in arrival order; sorted by stream (and those the chunks
    /// grew to cover moved into them) once the index is finished.
    sparse: Vec<(u64, Slot)>,
    len: usize,
    /// Client hosts and servers, each stored once.
    hosts: Table<IpAddr>,
    servers: Table<SocketAddr>,
}

/// One connection's place, its addresses as numbers into the tables. Fields are byte arrays
/// so a slot takes 17 bytes, not the 24 that aligning a `u64` would make it: at a million
/// connections that is 7 MiB.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Little-endian, 48 bits; [`FRAME_UNKNOWN`] for a frame number beyond them.
    last_frame: [u8; 6],
    client_host: [u8; 4],
    server: [u8; 4],
    client_port: [u8; 2],
    state: SlotState,
}

/// Stands for an unknown frame: 2^48 − 1 and every larger frame number are stored as it and
/// read back as `u64::MAX` (the story then keeps the stream's clock to the end); frames up to
/// 2^48 − 2 are kept exactly. 2^48 frames are petabytes of capture.
const FRAME_UNKNOWN: u64 = (1 << 48) - 1;

impl Slot {
    fn new(
        last_frame: u64,
        client_host: u32,
        server: u32,
        client_port: u16,
        state: SlotState,
    ) -> Self {
        let mut slot = Slot {
            last_frame: [0; 6],
            client_host: client_host.to_le_bytes(),
            server: server.to_le_bytes(),
            client_port: client_port.to_le_bytes(),
            state,
        };
        slot.set_last_frame(last_frame);
        slot
    }

    fn last_frame(&self) -> u64 {
        let mut bytes = [0; 8];
        bytes[..6].copy_from_slice(&self.last_frame);
        match u64::from_le_bytes(bytes) {
            FRAME_UNKNOWN => u64::MAX,
            frame => frame,
        }
    }

    fn set_last_frame(&mut self, frame: u64) {
        let bytes = frame.min(FRAME_UNKNOWN).to_le_bytes();
        self.last_frame.copy_from_slice(&bytes[..6]);
    }

    fn client_host(&self) -> u32 {
        u32::from_le_bytes(self.client_host)
    }

    fn server(&self) -> u32 {
        u32::from_le_bytes(self.server)
    }

    fn client_port(&self) -> u16 {
        u16::from_le_bytes(self.client_port)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum SlotState {
    #[default]
    Empty,
    Server,
    Proxy,
}

/// Distinct values, each numbered once.
#[derive(Debug, Clone)]
struct Table<T> {
    values: Vec<T>,
    numbers: foldhash::HashMap<T, u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            values: Vec::new(),
            numbers: Default::default(),
        }
    }
}

impl<T: Copy + Eq + std::hash::Hash> Table<T> {
    fn number(&mut self, value: T) -> u32 {
        if let Some(n) = self.numbers.get(&value) {
            return *n;
        }
        // Four billion distinct addresses would not fit in memory anyway; past that, the
        // last number is reused rather than wrapping.
        let n = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(value);
        self.numbers.insert(value, n);
        n
    }

    fn get(&self, n: u32) -> Option<T> {
        self.values.get(usize::try_from(n).ok()?).copied()
    }
}

/// The chunk and slot of stream `stream`.
fn place(stream: u64) -> Option<(usize, usize)> {
    let stream = usize::try_from(stream).ok()?;
    Some((stream / CHUNK, stream % CHUNK))
}

impl QuietConns {
    /// How many connections.
    pub fn len(&self) -> usize {
        self.len
    }

    /// None.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The connection of stream `stream`, if it was retired.
    pub fn get(&self, stream: u64) -> Option<QuietConn> {
        self.slot(stream).map(|slot| self.unpack(stream, slot))
    }

    /// Every connection, in stream order.
    pub fn iter(&self) -> impl Iterator<Item = QuietConn> + '_ {
        let dense = (self.chunks.iter().enumerate()).flat_map(|(c, chunk)| {
            (chunk.iter().enumerate()).map(move |(i, slot)| ((c * CHUNK + i) as u64, *slot))
        });
        dense
            .chain(self.sparse.iter().copied())
            .filter(|(_, slot)| slot.state != SlotState::Empty)
            .map(|(stream, slot)| self.unpack(stream, &slot))
    }

    fn slot(&self, stream: u64) -> Option<&Slot> {
        let dense = place(stream).and_then(|(c, i)| self.chunks.get(c)?.get(i));
        match dense {
            Some(slot) if slot.state != SlotState::Empty => Some(slot),
            _ => {
                let at = (self.sparse)
                    .binary_search_by_key(&stream, |(s, _)| *s)
                    .ok()?;
                let slot = &self.sparse.get(at)?.1;
                (slot.state != SlotState::Empty).then_some(slot)
            }
        }
    }

    fn unpack(&self, stream: u64, slot: &Slot) -> QuietConn {
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        QuietConn {
            stream,
            client: SocketAddr::new(
                self.hosts.get(slot.client_host()).unwrap_or(unspecified),
                slot.client_port(),
            ),
            server: (self.servers.get(slot.server())).unwrap_or(SocketAddr::new(unspecified, 0)),
            is_proxy: slot.state == SlotState::Proxy,
            last_frame: slot.last_frame(),
        }
    }

    /// Adds a connection, the index having seen `streams_seen` connections so far. A stream
    /// retired twice (a refused connection retried with the same SYN keeps its stream) keeps
    /// its first endpoints and its last frame.
    pub(super) fn push(&mut self, q: QuietConn, streams_seen: u64) {
        let new = Slot::new(
            q.last_frame,
            self.hosts.number(q.client.ip()),
            self.servers.number(q.server),
            q.client.port(),
            if q.is_proxy {
                SlotState::Proxy
            } else {
                SlotState::Server
            },
        );
        let reach = place(streams_seen).map_or(0, |(c, _)| c.saturating_add(SPARE_CHUNKS));
        match place(q.stream) {
            Some((c, i)) if c <= reach => {
                while self.chunks.len() <= c {
                    self.chunks
                        .push(vec![Slot::default(); CHUNK].into_boxed_slice());
                }
                if let Some(slot) = self.chunks.get_mut(c).and_then(|chunk| chunk.get_mut(i)) {
                    fill(slot, new);
                }
            }
            _ => self.sparse.push((q.stream, new)),
        }
    }

    /// Moves the last frame of stream `stream`, retired earlier, on to `last_frame` if that is
    /// later (its final summary came after late packets); in place, without looking its
    /// addresses up again. False if the stream is not here.
    pub(super) fn raise_last_frame(&mut self, stream: u64, last_frame: u64) -> bool {
        let dense = place(stream).and_then(|(c, i)| self.chunks.get_mut(c)?.get_mut(i));
        let slot = match dense {
            Some(slot) if slot.state != SlotState::Empty => slot,
            // The side list is in arrival order until `finish`: the stream retired recently,
            // so it is looked for from the end.
            _ => match self.sparse.iter_mut().rev().find(|(s, _)| *s == stream) {
                Some((_, slot)) => slot,
                None => return false,
            },
        };
        slot.set_last_frame(slot.last_frame().max(last_frame));
        true
    }

    /// Keeps only the connections `keep` accepts. Lookups, counts and iteration in stream
    /// order are exact once this has run.
    pub(super) fn finish(&mut self, keep: impl Fn(u64) -> bool) {
        // Side-list entries the chunks grew to cover move into them; the rest is sorted
        // (stable, so a stream's first entry stays first), repeated streams folded as in
        // `push`.
        let mut beyond = Vec::new();
        for (stream, slot) in std::mem::take(&mut self.sparse) {
            let dense = place(stream).and_then(|(c, i)| self.chunks.get_mut(c)?.get_mut(i));
            match dense {
                Some(dense) => fill(dense, slot),
                None => beyond.push((stream, slot)),
            }
        }
        beyond.sort_by_key(|(stream, _)| *stream);
        beyond.dedup_by(|(later_stream, later), (first_stream, first)| {
            let same = later_stream == first_stream;
            if same {
                fill(first, *later);
            }
            same
        });
        beyond.retain(|(stream, _)| keep(*stream));
        self.sparse = beyond;
        for (c, chunk) in self.chunks.iter_mut().enumerate() {
            for (i, slot) in chunk.iter_mut().enumerate() {
                if slot.state != SlotState::Empty && !keep((c * CHUNK + i) as u64) {
                    *slot = Slot::default();
                }
            }
        }
        self.len = (self.chunks.iter().flat_map(|c| c.iter()))
            .chain(self.sparse.iter().map(|(_, slot)| slot))
            .filter(|slot| slot.state != SlotState::Empty)
            .count();
    }
}

/// Puts `new` in `slot`, or, if the stream is already there, keeps the first endpoints and
/// the later last frame.
fn fill(slot: &mut Slot, new: Slot) {
    if slot.state == SlotState::Empty {
        *slot = new;
    } else {
        slot.set_last_frame(slot.last_frame().max(new.last_frame()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(stream: u64, client: &str, server: &str) -> QuietConn {
        QuietConn {
            stream,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            is_proxy: stream % 2 == 0,
            last_frame: stream * 10,
        }
    }

    #[test]
    fn a_slot_is_17_bytes_and_keeps_frames_up_to_48_bits() {
        assert_eq!(std::mem::size_of::<Slot>(), 17);
        for (frame, back) in [
            (0, 0),
            (1, 1),
            (FRAME_UNKNOWN - 1, FRAME_UNKNOWN - 1),
            // Beyond 48 bits the frame is unknown, never a smaller number.
            (FRAME_UNKNOWN, u64::MAX),
            (1 << 48, u64::MAX),
            (u64::MAX, u64::MAX),
        ] {
            let slot = Slot::new(frame, 7, 9, 65535, SlotState::Server);
            assert_eq!(slot.last_frame(), back, "{frame}");
            assert_eq!(
                (slot.client_host(), slot.server(), slot.client_port()),
                (7, 9, 65535)
            );
        }
    }

    #[test]
    fn connections_come_back_as_they_went_in_sorted_by_stream() {
        let far = 1 << 40;
        let all = [
            conn(3, "10.0.0.1:5000", "10.9.9.9:443"),
            conn(far, "10.0.0.1:5002", "10.9.9.9:443"),
            conn(1, "10.0.0.1:5001", "10.9.9.9:443"),
            conn(2, "[2001:db8::1]:6000", "[2001:db8::2]:80"),
            QuietConn {
                last_frame: 99,
                ..conn(1, "10.0.0.2:1", "10.9.9.9:80")
            },
            conn(5000, "10.0.0.1:5003", "10.9.9.9:443"),
            QuietConn {
                last_frame: 7,
                ..conn(far, "10.0.0.3:1", "10.9.9.9:443")
            },
        ];
        let mut quiet = QuietConns::default();
        for q in all {
            quiet.push(q, 6);
        }
        quiet.finish(|stream| stream != 2);
        // Stream 1 was retired twice: its first endpoints, its last frame.
        let retried = QuietConn {
            last_frame: 99,
            ..all[2]
        };
        let back: Vec<QuietConn> = quiet.iter().collect();
        assert_eq!(back, vec![retried, all[0], all[5], all[1]]);
        assert_eq!(quiet.get(3), Some(all[0]));
        assert_eq!(quiet.get(far), Some(all[1]));
        assert_eq!(quiet.get(2), None);
        assert_eq!(quiet.get(4), None);
        assert_eq!(quiet.get(u64::MAX), None);
        assert_eq!(quiet.len(), 4);
        // The far stream went to the side list, not to 2^28 chunks.
        assert_eq!((quiet.chunks.len(), quiet.sparse.len()), (2, 1));
        // Each client host and server stored once (10.0.0.1 and 10.9.9.9:443 serve several).
        assert_eq!(
            (quiet.hosts.values.len(), quiet.servers.values.len()),
            (4, 3)
        );
    }

    /// A stream number beyond the chunks when it was retired (many connections before it
    /// were not retired), which the chunks grew to cover later, is still found, in order.
    #[test]
    fn a_stream_on_the_side_list_is_found_after_the_chunks_grow_past_it() {
        let beyond = (CHUNK * (SPARE_CHUNKS + 2)) as u64;
        let mut quiet = QuietConns::default();
        quiet.push(conn(beyond, "10.0.0.1:1", "10.9.9.9:80"), 2);
        assert_eq!(quiet.sparse.len(), 1);
        quiet.push(conn(0, "10.0.0.1:2", "10.9.9.9:80"), beyond);
        quiet.push(conn(beyond + 1, "10.0.0.1:3", "10.9.9.9:80"), beyond);
        quiet.push(conn(beyond + 5000, "10.0.0.1:4", "10.9.9.9:80"), beyond);
        quiet.finish(|_| true);
        assert!(quiet.sparse.is_empty());
        let streams: Vec<u64> = quiet.iter().map(|q| q.stream).collect();
        assert_eq!(streams, [0, beyond, beyond + 1, beyond + 5000]);
        assert_eq!(
            quiet.get(beyond),
            Some(conn(beyond, "10.0.0.1:1", "10.9.9.9:80"))
        );
        assert_eq!(quiet.len(), 4);
        assert_eq!(
            (quiet.hosts.values.len(), quiet.servers.values.len()),
            (1, 1)
        );
    }

    #[test]
    fn a_last_frame_is_raised_in_place_in_the_chunks_and_the_side_list() {
        let mut q = QuietConns::default();
        // Stream 5 in the chunks; stream 10^9 beyond them, in the side list.
        let far = 1_000_000_000;
        q.push(conn(5, "10.0.0.1:1000", "192.0.2.1:80"), 10);
        q.push(conn(far, "10.0.0.2:1000", "192.0.2.1:80"), 10);
        assert!(q.raise_last_frame(5, 77));
        assert!(q.raise_last_frame(far, far * 10 + 3));
        // Never lowered.
        assert!(q.raise_last_frame(5, 1));
        // Not retired: nothing to raise.
        assert!(!q.raise_last_frame(6, 1));
        assert!(!q.raise_last_frame(far + 1, 1));
        q.finish(|_| true);
        assert_eq!(q.len(), 2);
        let five = q.get(5).unwrap();
        assert_eq!(
            (five.last_frame, five.client),
            (77, "10.0.0.1:1000".parse().unwrap())
        );
        let far_one = q.get(far).unwrap();
        assert_eq!(far_one.last_frame, far * 10 + 3);
        assert_eq!(far_one.client, "10.0.0.2:1000".parse().unwrap());
    }
}
