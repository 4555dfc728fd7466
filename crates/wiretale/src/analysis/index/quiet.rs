//! The retired connections ([`super::IndexBuilder::retiring_quiet`]), stored compactly: a
//! capture of a million short connections retires nearly all of them, so each costs 32
//! bytes here, its addresses shared with every other connection of the same client host or
//! server.

use super::QuietConn;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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
    /// Sorted by stream once the index is finished.
    conns: Vec<Packed>,
    /// Client hosts and servers, each stored once.
    hosts: Table<IpAddr>,
    servers: Table<SocketAddr>,
}

/// One quiet connection, its addresses as indexes into the tables.
#[derive(Debug, Clone, Copy)]
struct Packed {
    stream: u64,
    last_frame: u64,
    client_host: u32,
    server: u32,
    client_port: u16,
    is_proxy: bool,
}

/// Distinct values, each numbered once.
#[derive(Debug, Clone)]
struct Table<T> {
    values: Vec<T>,
    numbers: HashMap<T, u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            values: Vec::new(),
            numbers: HashMap::new(),
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

impl QuietConns {
    /// How many connections.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// None.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// The connection of stream `stream`, if it was retired.
    pub fn get(&self, stream: u64) -> Option<QuietConn> {
        let at = self
            .conns
            .binary_search_by_key(&stream, |q| q.stream)
            .ok()?;
        self.conns.get(at).map(|p| self.unpack(p))
    }

    /// Every connection, in stream order.
    pub fn iter(&self) -> impl Iterator<Item = QuietConn> + '_ {
        self.conns.iter().map(|p| self.unpack(p))
    }

    fn unpack(&self, p: &Packed) -> QuietConn {
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        QuietConn {
            stream: p.stream,
            client: SocketAddr::new(
                self.hosts.get(p.client_host).unwrap_or(unspecified),
                p.client_port,
            ),
            server: (self.servers.get(p.server)).unwrap_or(SocketAddr::new(unspecified, 0)),
            is_proxy: p.is_proxy,
            last_frame: p.last_frame,
        }
    }

    pub(super) fn push(&mut self, q: QuietConn) {
        let packed = Packed {
            stream: q.stream,
            last_frame: q.last_frame,
            client_host: self.hosts.number(q.client.ip()),
            server: self.servers.number(q.server),
            client_port: q.client.port(),
            is_proxy: q.is_proxy,
        };
        self.conns.push(packed);
    }

    /// Sorts by stream, keeping those `keep` accepts. A stream retired twice (a refused
    /// connection retried with the same SYN keeps its stream) keeps its first endpoints and
    /// its last frame.
    pub(super) fn finish(&mut self, keep: impl Fn(u64) -> bool) {
        self.conns.sort_by_key(|q| q.stream);
        self.conns.dedup_by(|later, first| {
            let same = later.stream == first.stream;
            if same {
                first.last_frame = first.last_frame.max(later.last_frame);
            }
            same
        });
        self.conns.retain(|q| keep(q.stream));
        self.conns.shrink_to_fit();
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
    fn connections_come_back_as_they_went_in_sorted_by_stream() {
        let all = [
            conn(3, "10.0.0.1:5000", "10.9.9.9:443"),
            conn(1, "10.0.0.1:5001", "10.9.9.9:443"),
            conn(2, "[2001:db8::1]:6000", "[2001:db8::2]:80"),
            QuietConn {
                last_frame: 99,
                ..conn(1, "10.0.0.2:1", "10.9.9.9:80")
            },
        ];
        let mut quiet = QuietConns::default();
        for q in all {
            quiet.push(q);
        }
        quiet.finish(|stream| stream != 2);
        let back: Vec<QuietConn> = quiet.iter().collect();
        // Stream 1 was retired twice: its first endpoints, its last frame.
        let retried = QuietConn {
            last_frame: 99,
            ..all[1]
        };
        assert_eq!(back, vec![retried, all[0]]);
        assert_eq!(quiet.get(3), Some(all[0]));
        assert_eq!(quiet.get(2), None);
        assert_eq!(quiet.len(), 2);
        // Each client host and server stored once (10.0.0.1 and 10.9.9.9:443 serve two).
        assert_eq!(
            (quiet.hosts.values.len(), quiet.servers.values.len()),
            (3, 3)
        );
    }
}
