//! Scripted TCP connections: a client and a server endpoint, sequence numbers that stay right
//! through loss, reordering, retransmission and wrap-around, and a peer that acknowledges what
//! it actually received.

use std::net::{IpAddr, SocketAddr};

use crate::capture::Capture;
use crate::error::{FixtureError, Result};
use crate::link::{ethertype, LinkMeta, Mac, NetPacket, VlanTag};
use crate::wire::ipv4::{self, Ipv4Header};
use crate::wire::ipv6::{self, Ipv6Ext, Ipv6Header};
use crate::wire::tcp::{TcpFlags, TcpHeader, TcpOption};
use crate::wire::{ip_proto, PseudoHeader};

mod receiver;
use receiver::Receiver;

/// Direction of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the client (the side that sends the SYN) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    /// The other direction.
    pub fn flip(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// When the receiving side sends pure ACKs during [`TcpSession::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckPolicy {
    /// After every `n`th data segment and after the last one of each `send` (n = 0 acts as 1).
    Every(u32),
    /// Never: the peer's next own segment carries the acknowledgment.
    Never,
}

impl Default for AckPolicy {
    /// `Every(2)`, like a delayed-ACK receiver.
    fn default() -> Self {
        AckPolicy::Every(2)
    }
}

/// Frame numbers produced by a send operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// Frames carrying the data, in the order emitted.
    pub data: Vec<u32>,
    /// The peer's pure ACKs.
    pub acks: Vec<u32>,
}

/// One endpoint's state.
#[derive(Debug, Clone)]
struct Side {
    addr: SocketAddr,
    mac: Mac,
    isn: u32,
    mss: u16,
    window_scale: Option<u8>,
    syn_window: u16,
    window: u16,
    ttl: u8,
    ip_id: u16,
    frag_id: u32,
    dont_fragment: bool,
    ipv6_ext: Vec<Ipv6Ext>,
    /// Stream bytes this side has sent since [`TcpSession::forget_history`] (the history
    /// retransmissions draw from).
    sent: Vec<u8>,
    /// Stream bytes sent before the kept history (`sent` starts at this offset).
    forgotten: u64,
    fin_sent: bool,
    rcv: Receiver,
}

impl Side {
    fn new(addr: SocketAddr, isn: u32, ttl: u8, window: u16, window_scale: u8) -> Self {
        Side {
            addr,
            mac: Mac::derived_from(addr.ip()),
            isn,
            mss: 1460,
            window_scale: Some(window_scale),
            syn_window: 64_240,
            window,
            ttl,
            ip_id: addr.port().rotate_left(7) ^ 0x2a00,
            frag_id: u32::from(addr.port()).wrapping_mul(0x9e37),
            dont_fragment: true,
            ipv6_ext: Vec::new(),
            sent: Vec::new(),
            forgotten: 0,
            fin_sent: false,
            rcv: Receiver::default(),
        }
    }

    /// Sequence number of stream offset `offset` (offset 0 is the first byte after the SYN).
    fn seq_at(&self, offset: u64) -> u32 {
        // Sequence space is modulo 2^32: truncation is the point.
        self.isn.wrapping_add(1).wrapping_add(offset as u32)
    }

    /// Next sequence number to send (after all data and the FIN, if sent).
    fn next_seq(&self) -> u32 {
        self.seq_at(self.sent_len().saturating_add(u64::from(self.fin_sent)))
    }

    fn sent_len(&self) -> u64 {
        u64::try_from(self.sent.len())
            .unwrap_or(u64::MAX)
            .saturating_add(self.forgotten)
    }

    /// The kept bytes at stream offsets `start..end`, if all of them are still kept.
    fn sent_range(&self, start: u64, end: u64) -> Option<&[u8]> {
        let s = usize::try_from(start.checked_sub(self.forgotten)?).ok()?;
        let e = usize::try_from(end.checked_sub(self.forgotten)?).ok()?;
        self.sent.get(s..e)
    }

    /// Stream offset of `seq`, if it is at or after the first data byte (and within 2^31).
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let d = seq.wrapping_sub(self.isn.wrapping_add(1));
        (d < 0x8000_0000).then_some(u64::from(d))
    }
}

/// A recorded data segment, for exact retransmission.
#[derive(Debug, Clone)]
struct SegmentRecord {
    frame: u32,
    dir: Dir,
    tcp: TcpHeader,
    payload: Vec<u8>,
}

/// A scripted TCP connection between a client and a server.
///
/// Every operation pushes frames into a [`Capture`] at the capture's clock and returns their
/// frame numbers (0 for a frame that could not be built; the error is kept by the capture).
/// Sequence numbers start at the ISNs given by [`TcpSession::isns`] (defaults are derived from
/// the addresses) and wrap modulo 2^32. The peer's acknowledgment numbers follow what it has
/// really received: after a lost segment it keeps acknowledging the start of the hole.
///
/// ```
/// use wiretale_fixtures::{Capture, Dir, LinkType, TcpSession, PcapOptions};
/// let mut cap = Capture::new(LinkType::Ethernet);
/// let mut s = TcpSession::new("10.0.0.1:49152".parse()?, "10.0.0.2:80".parse()?).isns(1000, 5000);
/// s.handshake(&mut cap);
/// let request = s.send(&mut cap, Dir::ToServer, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
/// s.close(&mut cap);
/// assert_eq!(request.data, vec![4]);
/// let file = cap.to_pcap(&PcapOptions::default())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TcpSession {
    client: Side,
    server: Side,
    interface: u32,
    vlan_tags: Vec<VlanTag>,
    ack_policy: AckPolicy,
    syn_options: bool,
    stream: Option<u32>,
    log: Vec<SegmentRecord>,
}

/// FNV-1a, to derive default ISNs from the endpoints deterministically.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

fn addr_bytes(a: SocketAddr) -> Vec<u8> {
    let mut v = match a.ip() {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    v.extend_from_slice(&a.port().to_be_bytes());
    v
}

impl TcpSession {
    /// A session from `client` to `server` with defaults: ISNs derived from the addresses, MSS
    /// 1460 both ways, window scale 8 (client) and 7 (server), SYN options on, TTL 128 (client,
    /// Windows-like) and 64 (server), DF set, interface 0, no VLAN tags, [`AckPolicy::Every`]`(2)`.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        let mut key = addr_bytes(client);
        key.extend_from_slice(&addr_bytes(server));
        let c_isn = fnv1a(&key);
        key.push(1);
        let s_isn = fnv1a(&key);
        TcpSession {
            client: Side::new(client, c_isn, 128, 1026, 8),
            server: Side::new(server, s_isn, 64, 2053, 7),
            interface: 0,
            vlan_tags: Vec::new(),
            ack_policy: AckPolicy::default(),
            syn_options: true,
            stream: None,
            log: Vec::new(),
        }
    }

    /// Sets both initial sequence numbers (use one near 2^32 to test wrap-around).
    pub fn isns(mut self, client: u32, server: u32) -> Self {
        self.client.isn = client;
        self.server.isn = server;
        self
    }

    /// Sets the MSS each side advertises; the other side cuts its data into segments of that size.
    pub fn mss(mut self, client: u16, server: u16) -> Self {
        self.client.mss = client.max(1);
        self.server.mss = server.max(1);
        self
    }

    /// Sets the window-scale option each side puts on its SYN (`None`: no option).
    pub fn window_scale(mut self, client: Option<u8>, server: Option<u8>) -> Self {
        self.client.window_scale = client;
        self.server.window_scale = server;
        self
    }

    /// Sets the window fields used after the handshake (raw, unscaled values).
    pub fn windows(mut self, client: u16, server: u16) -> Self {
        self.client.window = client;
        self.server.window = server;
        self
    }

    /// Sets the IPv4 TTL / IPv6 hop limit of each side.
    pub fn ttl(mut self, client: u8, server: u8) -> Self {
        self.client.ttl = client;
        self.server.ttl = server;
        self
    }

    /// Sets the first IPv4 identification of each side (incremented per packet).
    pub fn ip_ids(mut self, client: u16, server: u16) -> Self {
        self.client.ip_id = client;
        self.server.ip_id = server;
        self
    }

    /// Sets the MAC addresses (default: derived from the IPs, see [`Mac::derived_from`]).
    pub fn macs(mut self, client: Mac, server: Mac) -> Self {
        self.client.mac = client;
        self.server.mac = server;
        self
    }

    /// Adds VLAN tags (outermost first) to every Ethernet frame of the session.
    pub fn vlan(mut self, tags: Vec<VlanTag>) -> Self {
        self.vlan_tags = tags;
        self
    }

    /// Puts the session's frames on capture interface `interface`.
    pub fn interface(mut self, interface: u32) -> Self {
        self.interface = interface;
        self
    }

    /// Whether SYN and SYN-ACK carry MSS / window scale / SACK-permitted options.
    pub fn syn_options(mut self, on: bool) -> Self {
        self.syn_options = on;
        self
    }

    /// Sets the ACK policy (also usable mid-script).
    pub fn set_ack_policy(&mut self, policy: AckPolicy) {
        self.ack_policy = policy;
    }

    /// Sets the ACK policy (builder form).
    pub fn ack_policy(mut self, policy: AckPolicy) -> Self {
        self.ack_policy = policy;
        self
    }

    /// IPv6 extension headers for the following packets of `dir`. A `Fragment` entry gets a
    /// fresh identification per packet from the side's counter (its `id` is ignored).
    pub fn set_ipv6_ext(&mut self, dir: Dir, ext: Vec<Ipv6Ext>) {
        self.side_mut(dir).ipv6_ext = ext;
    }

    /// The client endpoint.
    pub fn client(&self) -> SocketAddr {
        self.client.addr
    }

    /// The server endpoint.
    pub fn server(&self) -> SocketAddr {
        self.server.addr
    }

    /// Initial sequence number of the sender of `dir`.
    pub fn isn(&self, dir: Dir) -> u32 {
        self.side(dir).isn
    }

    /// Next sequence number the sender of `dir` would use.
    pub fn next_seq(&self, dir: Dir) -> u32 {
        self.side(dir).next_seq()
    }

    /// Stream bytes sent so far in `dir` (including lost and uncaptured ones), from the last
    /// [`TcpSession::forget_history`] on.
    pub fn sent(&self, dir: Dir) -> &[u8] {
        &self.side(dir).sent
    }

    /// Drops the bytes sent so far and the log of data segments, so a long-running generator
    /// does not keep every byte of a connection. Sequence numbers continue; afterwards
    /// [`TcpSession::retransmit`] of an earlier frame and [`TcpSession::retransmit_range`]
    /// reaching before this point record an error.
    pub fn forget_history(&mut self) {
        for side in [&mut self.client, &mut self.server] {
            side.forgotten = side.sent_len();
            side.sent = Vec::new();
        }
        self.log = Vec::new();
    }

    /// The Wireshark `tcp.stream` index, once the session has emitted a frame.
    pub fn tcp_stream(&self) -> Option<u32> {
        self.stream
    }

    fn side(&self, dir: Dir) -> &Side {
        match dir {
            Dir::ToServer => &self.client,
            Dir::ToClient => &self.server,
        }
    }

    fn side_mut(&mut self, dir: Dir) -> &mut Side {
        match dir {
            Dir::ToServer => &mut self.client,
            Dir::ToClient => &mut self.server,
        }
    }

    /// Sender and receiver of `dir`.
    fn sides_mut(&mut self, dir: Dir) -> (&mut Side, &mut Side) {
        match dir {
            Dir::ToServer => (&mut self.client, &mut self.server),
            Dir::ToClient => (&mut self.server, &mut self.client),
        }
    }

    /// The acknowledgment number the sender of `dir` would put on a segment now, and whether
    /// the ACK flag belongs on it (only after the peer's SYN was seen).
    fn current_ack(&self, dir: Dir) -> (u32, bool) {
        let me = self.side(dir);
        let peer = self.side(dir.flip());
        if me.rcv.syn {
            (peer.seq_at(me.rcv.ack_offset()), true)
        } else {
            (0, false)
        }
    }

    fn link_meta(&self, dir: Dir) -> LinkMeta {
        let (src, dst) = (self.side(dir), self.side(dir.flip()));
        LinkMeta {
            src_mac: src.mac,
            dst_mac: dst.mac,
            vlan_tags: self.vlan_tags.clone(),
            outgoing: dir == Dir::ToServer,
        }
    }

    /// A header from the sender of `dir` with its current ack and window.
    fn header(&self, dir: Dir, seq: u32, flags: TcpFlags) -> TcpHeader {
        let me = self.side(dir);
        let (ack, ack_ok) = self.current_ack(dir);
        let mut h = TcpHeader::new(me.addr.port(), self.side(dir.flip()).addr.port());
        h.seq = seq;
        h.ack = if ack_ok { ack } else { 0 };
        h.flags = if ack_ok { flags | TcpFlags::ACK } else { flags };
        h.window = me.window;
        h
    }

    fn summary(&self, dir: Dir, h: &TcpHeader, len: usize) -> String {
        let me = self.side(dir);
        let peer = self.side(dir.flip());
        let mut s = format!(
            "{} -> {} [{}] Seq={}",
            me.addr,
            peer.addr,
            h.flags,
            h.seq.wrapping_sub(me.isn)
        );
        if h.flags.contains(TcpFlags::ACK) {
            s.push_str(&format!(" Ack={}", h.ack.wrapping_sub(peer.isn)));
        }
        s.push_str(&format!(" Win={} Len={}", h.window, len));
        s
    }

    fn stream_index(&mut self, cap: &mut Capture) -> u32 {
        match self.stream {
            Some(s) => s,
            None => {
                let s = cap.new_tcp_stream();
                self.stream = Some(s);
                s
            }
        }
    }

    /// Wraps a TCP segment in the session's IP header for `dir`.
    fn ip_packet(&mut self, dir: Dir, segment: &[u8]) -> Result<NetPacket> {
        let (me, peer) = self.sides_mut(dir);
        let id = me.ip_id;
        me.ip_id = me.ip_id.wrapping_add(1);
        match (me.addr.ip(), peer.addr.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut h = Ipv4Header::new(src, dst, ip_proto::TCP);
                h.id = id;
                h.ttl = me.ttl;
                h.dont_fragment = me.dont_fragment;
                Ok(NetPacket {
                    ethertype: ethertype::IPV4,
                    bytes: h.encode(segment)?,
                })
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let mut h = Ipv6Header::new(src, dst, ip_proto::TCP);
                h.hop_limit = me.ttl;
                h.ext = me.ipv6_ext.clone();
                for e in &mut h.ext {
                    if let Ipv6Ext::Fragment { id, .. } = e {
                        *id = me.frag_id;
                        me.frag_id = me.frag_id.wrapping_add(1);
                    }
                }
                Ok(NetPacket {
                    ethertype: ethertype::IPV6,
                    bytes: h.encode(segment)?,
                })
            }
            (src, dst) => Err(FixtureError::MixedAddressFamilies { src, dst }),
        }
    }

    /// Splits a TCP segment into `count` IP fragments for `dir`; returns each with a label.
    fn ip_fragments(
        &mut self,
        dir: Dir,
        segment: &[u8],
        count: usize,
    ) -> Result<Vec<(NetPacket, String)>> {
        let (me, peer) = self.sides_mut(dir);
        let id = me.ip_id;
        me.ip_id = me.ip_id.wrapping_add(1);
        let (kind, eth, frags) = match (me.addr.ip(), peer.addr.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut h = Ipv4Header::new(src, dst, ip_proto::TCP);
                h.id = id;
                h.ttl = me.ttl;
                ("IPv4", ethertype::IPV4, ipv4::fragment(&h, segment, count)?)
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let mut h = Ipv6Header::new(src, dst, ip_proto::TCP);
                h.hop_limit = me.ttl;
                h.ext = me
                    .ipv6_ext
                    .iter()
                    .filter(|e| !matches!(e, Ipv6Ext::Fragment { .. }))
                    .cloned()
                    .collect();
                let fid = me.frag_id;
                me.frag_id = me.frag_id.wrapping_add(1);
                (
                    "IPv6",
                    ethertype::IPV6,
                    ipv6::fragment(&h, segment, count, fid)?,
                )
            }
            (src, dst) => return Err(FixtureError::MixedAddressFamilies { src, dst }),
        };
        let n = frags.len();
        Ok(frags
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let label = format!("{kind} fragment {}/{n} of", i.saturating_add(1));
                (
                    NetPacket {
                        ethertype: eth,
                        bytes,
                    },
                    label,
                )
            })
            .collect())
    }

    /// Lets the receiver of `dir` take in a segment it got.
    fn deliver(&mut self, dir: Dir, h: &TcpHeader, payload_len: usize) {
        let (me, peer) = self.sides_mut(dir);
        if h.flags.contains(TcpFlags::SYN) {
            peer.rcv.syn = true;
        }
        if h.flags.contains(TcpFlags::RST) {
            return;
        }
        let data_seq = if h.flags.contains(TcpFlags::SYN) {
            h.seq.wrapping_add(1)
        } else {
            h.seq
        };
        if let Some(start) = me.offset_of(data_seq) {
            let end = start.saturating_add(u64::try_from(payload_len).unwrap_or(0));
            peer.rcv.receive(start, end);
            if h.flags.contains(TcpFlags::FIN) {
                peer.rcv.fin_at = Some(end);
            }
        }
    }

    /// Encodes and pushes one segment (optionally as IP fragments, emitted in `frag_order`).
    /// Returns the frame numbers.
    fn emit(
        &mut self,
        cap: &mut Capture,
        dir: Dir,
        h: TcpHeader,
        payload: &[u8],
        frags: Option<(usize, &[usize])>,
    ) -> Vec<u32> {
        let stream = self.stream_index(cap);
        let (src, dst) = (self.side(dir).addr.ip(), self.side(dir.flip()).addr.ip());
        let pseudo = PseudoHeader {
            src,
            dst,
            protocol: ip_proto::TCP,
        };
        let summary = self.summary(dir, &h, payload.len());
        let meta = self.link_meta(dir);
        let segment = match h.encode(&pseudo, payload) {
            Ok(s) => s,
            Err(e) => {
                cap.fail(e);
                return Vec::new();
            }
        };
        let mut frames = Vec::new();
        let mut delivered = true;
        match frags {
            None => match self.ip_packet(dir, &segment) {
                Ok(p) => frames.push(cap.push(self.interface, &p, &meta, summary)),
                Err(e) => cap.fail(e),
            },
            Some((count, order)) => match self.ip_fragments(dir, &segment, count) {
                Ok(pieces) => {
                    for i in 0..pieces.len() {
                        if !order.contains(&i) {
                            delivered = false;
                        }
                    }
                    for &i in order {
                        if let Some((p, label)) = pieces.get(i) {
                            frames.push(cap.push(
                                self.interface,
                                p,
                                &meta,
                                format!("{label} {summary}"),
                            ));
                        }
                    }
                }
                Err(e) => cap.fail(e),
            },
        }
        // Wireshark dissects TCP only in the frame that completes an IP datagram, so only that
        // frame belongs to the TCP stream (fragments of a never-completed datagram belong to none).
        let tcp_frames: &[u32] = match frags {
            None => &frames,
            Some(_) if delivered => frames.last().map(std::slice::from_ref).unwrap_or_default(),
            Some(_) => &[],
        };
        for &f in tcp_frames {
            if f != 0 {
                cap.set_tcp_stream(f, stream);
            }
        }
        if delivered {
            self.deliver(dir, &h, payload.len());
        }
        if let Some(&first) = frames.first() {
            if !payload.is_empty() && first != 0 {
                self.log.push(SegmentRecord {
                    frame: first,
                    dir,
                    tcp: h,
                    payload: payload.to_vec(),
                });
            }
        }
        frames
    }

    fn emit_one(&mut self, cap: &mut Capture, dir: Dir, h: TcpHeader, payload: &[u8]) -> u32 {
        self.emit(cap, dir, h, payload, None)
            .first()
            .copied()
            .unwrap_or(0)
    }

    fn syn_header(&self, dir: Dir) -> TcpHeader {
        let me = self.side(dir);
        let mut h = self.header(dir, me.isn, TcpFlags::SYN);
        h.window = me.syn_window;
        if self.syn_options {
            h.options = match me.window_scale {
                Some(ws) => TcpOption::syn_set(me.mss, ws),
                None => vec![
                    TcpOption::Mss(me.mss),
                    TcpOption::Nop,
                    TcpOption::Nop,
                    TcpOption::SackPermitted,
                ],
            };
        }
        h
    }

    /// The client's SYN. Calling it again sends the same SYN (a retransmission).
    pub fn syn(&mut self, cap: &mut Capture) -> u32 {
        let h = self.syn_header(Dir::ToServer);
        self.emit_one(cap, Dir::ToServer, h, &[])
    }

    /// The server's SYN-ACK.
    pub fn syn_ack(&mut self, cap: &mut Capture) -> u32 {
        let h = self.syn_header(Dir::ToClient);
        self.emit_one(cap, Dir::ToClient, h, &[])
    }

    /// SYN, SYN-ACK, ACK. Returns the three frame numbers.
    pub fn handshake(&mut self, cap: &mut Capture) -> Vec<u32> {
        vec![
            self.syn(cap),
            self.syn_ack(cap),
            self.ack(cap, Dir::ToServer),
        ]
    }

    /// The server refuses the connection: RST, ACK with sequence 0, acknowledging the SYN.
    pub fn refuse(&mut self, cap: &mut Capture) -> u32 {
        let mut h = self.header(Dir::ToClient, 0, TcpFlags::RST | TcpFlags::ACK);
        h.ack = self.client.isn.wrapping_add(1);
        h.window = 0;
        self.emit_one(cap, Dir::ToClient, h, &[])
    }

    /// A pure ACK from the sender of `dir`, acknowledging everything it has received.
    pub fn ack(&mut self, cap: &mut Capture, dir: Dir) -> u32 {
        let h = self.header(dir, self.side(dir).next_seq(), TcpFlags::NONE);
        self.emit_one(cap, dir, h, &[])
    }

    /// Cuts `data` into segments of the peer's MSS and sends them in order (PSH on the last),
    /// with pure ACKs from the peer per the [`AckPolicy`].
    pub fn send(&mut self, cap: &mut Capture, dir: Dir, data: &[u8]) -> Sent {
        let count = self.chunks(dir, data).len();
        let order: Vec<usize> = (0..count).collect();
        self.send_reordered(cap, dir, data, &order)
    }

    fn chunks(&self, dir: Dir, data: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let size = usize::from(self.side(dir.flip()).mss.max(1));
        let base = self.side(dir).sent_len();
        let mut offset = base;
        data.chunks(size)
            .map(|c| {
                let start = offset;
                offset = offset.saturating_add(u64::try_from(c.len()).unwrap_or(0));
                (start, c.to_vec())
            })
            .collect()
    }

    /// Like [`TcpSession::send`], but emits the segments in `order` (indices into the list of
    /// segments). Segments whose index is missing are lost in the network: they leave a hole
    /// the peer keeps acknowledging the start of. Out-of-range indices are ignored.
    pub fn send_reordered(
        &mut self,
        cap: &mut Capture,
        dir: Dir,
        data: &[u8],
        order: &[usize],
    ) -> Sent {
        let chunks = self.chunks(dir, data);
        let last = chunks.len().saturating_sub(1);
        self.side_mut(dir).sent.extend_from_slice(data);
        let mut sent = Sent::default();
        let emitted: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| i < chunks.len())
            .collect();
        for (n, &i) in emitted.iter().enumerate() {
            let Some((offset, bytes)) = chunks.get(i) else {
                continue;
            };
            let flags = if i == last {
                TcpFlags::PSH
            } else {
                TcpFlags::NONE
            };
            let h = self.header(dir, self.side(dir).seq_at(*offset), flags | TcpFlags::ACK);
            sent.data.push(self.emit_one(cap, dir, h, bytes));
            let count = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
            let is_last = n.saturating_add(1) == emitted.len();
            if let AckPolicy::Every(every) = self.ack_policy {
                if count % every.max(1) == 0 || is_last {
                    sent.acks.push(self.ack(cap, dir.flip()));
                }
            }
        }
        sent
    }

    /// One data segment (PSH, ACK) with `data` at the next sequence number; no ACK from the peer.
    pub fn send_segment(&mut self, cap: &mut Capture, dir: Dir, data: &[u8]) -> u32 {
        let offset = self.side(dir).sent_len();
        self.side_mut(dir).sent.extend_from_slice(data);
        let h = self.header(
            dir,
            self.side(dir).seq_at(offset),
            TcpFlags::PSH | TcpFlags::ACK,
        );
        self.emit_one(cap, dir, h, data)
    }

    /// A header from the sender of `dir` as the next data segment would carry it (next
    /// sequence number, current ACK and window, ACK flag once the peer's SYN was seen), to
    /// change freely and pass to [`TcpSession::send_raw`].
    pub fn segment_header(&self, dir: Dir) -> TcpHeader {
        self.header(dir, self.side(dir).next_seq(), TcpFlags::NONE)
    }

    /// Emits exactly `header` and `payload` from the sender of `dir` (any flags, sequence
    /// numbers, options), for segments no other operation makes. The session's own state does
    /// not advance; the peer's receiver still takes in what the segment carries.
    pub fn send_raw(
        &mut self,
        cap: &mut Capture,
        dir: Dir,
        header: TcpHeader,
        payload: &[u8],
    ) -> u32 {
        self.emit_one(cap, dir, header, payload)
    }

    /// Sends `data` at stream offset `offset` (0 = first byte after the SYN) without touching
    /// the history: for overlapping segments whose bytes differ from what was sent before. The
    /// range must lie within what was already sent.
    pub fn send_at(&mut self, cap: &mut Capture, dir: Dir, offset: u64, data: &[u8]) -> u32 {
        let end = offset.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        let sent = self.side(dir).sent_len();
        if end > sent {
            cap.fail(FixtureError::UnsentRange {
                start: offset,
                end,
                sent,
            });
            return 0;
        }
        let h = self.header(
            dir,
            self.side(dir).seq_at(offset),
            TcpFlags::PSH | TcpFlags::ACK,
        );
        self.emit_one(cap, dir, h, data)
    }

    /// Re-sends the data segment first carried by frame `frame`, byte for byte the same TCP
    /// header and payload (a new IP identification, as a real stack would).
    pub fn retransmit(&mut self, cap: &mut Capture, frame: u32) -> u32 {
        let Some(rec) = self.log.iter().find(|r| r.frame == frame).cloned() else {
            cap.fail(FixtureError::NotASessionSegment(frame));
            return 0;
        };
        self.emit_one(cap, rec.dir, rec.tcp, &rec.payload)
    }

    /// Re-sends stream bytes `offset..offset+len` of `dir` as one segment with the current ACK,
    /// e.g. a range overlapping two earlier segments.
    pub fn retransmit_range(
        &mut self,
        cap: &mut Capture,
        dir: Dir,
        offset: u64,
        len: usize,
    ) -> u32 {
        let side = self.side(dir);
        let end = offset.saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        let bytes = side.sent_range(offset, end).map(<[u8]>::to_vec);
        let Some(bytes) = bytes else {
            cap.fail(FixtureError::UnsentRange {
                start: offset,
                end,
                sent: side.sent_len(),
            });
            return 0;
        };
        let h = self.header(dir, side.seq_at(offset), TcpFlags::PSH | TcpFlags::ACK);
        self.emit_one(cap, dir, h, &bytes)
    }

    /// The sender of `dir` sends `data` but the network loses it before the capture point and
    /// the peer never gets it: a hole that never fills. No frame is emitted.
    pub fn lose(&mut self, dir: Dir, data: &[u8]) {
        self.side_mut(dir).sent.extend_from_slice(data);
    }

    /// The peer gets `data` but the capture missed it (Wireshark: "previous segment not
    /// captured", then "ACKed segment that wasn't captured"). No frame is emitted.
    pub fn uncaptured(&mut self, dir: Dir, data: &[u8]) {
        let (me, peer) = self.sides_mut(dir);
        let start = me.sent_len();
        me.sent.extend_from_slice(data);
        peer.rcv.receive(start, me.sent_len());
    }

    /// A keep-alive probe from the sender of `dir` (sequence number one below the next one,
    /// with no payload or one byte repeating the last byte sent), and the peer's ACK.
    pub fn keepalive(&mut self, cap: &mut Capture, dir: Dir, one_byte: bool) -> (u32, u32) {
        let side = self.side(dir);
        let seq = side.next_seq().wrapping_sub(1);
        let payload: Vec<u8> = if one_byte {
            vec![side.sent.last().copied().unwrap_or(0)]
        } else {
            Vec::new()
        };
        let h = self.header(dir, seq, TcpFlags::NONE);
        let probe = self.emit_one(cap, dir, h, &payload);
        (probe, self.ack(cap, dir.flip()))
    }

    /// The sender of `dir` advertises a zero window (a pure ACK with window 0); it stays zero
    /// until [`TcpSession::window_update`].
    pub fn zero_window(&mut self, cap: &mut Capture, dir: Dir) -> u32 {
        self.window_update(cap, dir, 0)
    }

    /// The sender of `dir` advertises window `window` from now on (a pure ACK).
    pub fn window_update(&mut self, cap: &mut Capture, dir: Dir, window: u16) -> u32 {
        self.side_mut(dir).window = window;
        self.ack(cap, dir)
    }

    /// FIN, ACK from the sender of `dir`. Calling it again retransmits the FIN.
    pub fn fin(&mut self, cap: &mut Capture, dir: Dir) -> u32 {
        let side = self.side_mut(dir);
        side.fin_sent = true;
        let seq = side.seq_at(side.sent_len());
        let h = self.header(dir, seq, TcpFlags::FIN);
        self.emit_one(cap, dir, h, &[])
    }

    /// Orderly close: FIN from the client, FIN from the server (acknowledging the client's), and
    /// the client's last ACK.
    pub fn close(&mut self, cap: &mut Capture) -> Vec<u32> {
        vec![
            self.fin(cap, Dir::ToServer),
            self.fin(cap, Dir::ToClient),
            self.ack(cap, Dir::ToServer),
        ]
    }

    /// RST, ACK from the sender of `dir` at its next sequence number, window 0.
    pub fn rst(&mut self, cap: &mut Capture, dir: Dir) -> u32 {
        let mut h = self.header(dir, self.side(dir).next_seq(), TcpFlags::RST);
        h.window = 0;
        self.emit_one(cap, dir, h, &[])
    }

    /// Sends `data` as one TCP segment (PSH, ACK) split into `count` IP fragments, emitted in
    /// `order` (indices of fragments in offset order; missing ones are lost, and then the peer
    /// does not get the segment). IPv4 clears DF; IPv6 inserts a fragment header after a leading
    /// hop-by-hop header. No ACK from the peer.
    pub fn send_fragmented(
        &mut self,
        cap: &mut Capture,
        dir: Dir,
        data: &[u8],
        count: usize,
        order: &[usize],
    ) -> Vec<u32> {
        let offset = self.side(dir).sent_len();
        self.side_mut(dir).sent.extend_from_slice(data);
        let h = self.header(
            dir,
            self.side(dir).seq_at(offset),
            TcpFlags::PSH | TcpFlags::ACK,
        );
        self.emit(cap, dir, h, data, Some((count, order)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linktype::LinkType;

    fn session() -> TcpSession {
        TcpSession::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:80".parse().unwrap(),
        )
        .isns(100, 900)
    }

    /// TCP header of a raw-IPv4 frame: (seq, ack, flags, window, payload).
    fn tcp(cap: &Capture, n: u32) -> (u32, u32, u16, u16, Vec<u8>) {
        let d = &cap.frame(n).unwrap().data;
        let t = &d[20..];
        let off = usize::from(t[12] >> 4) * 4;
        (
            u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
            u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
            u16::from_be_bytes([t[12], t[13]]) & 0x1ff,
            u16::from_be_bytes([t[14], t[15]]),
            t[off..].to_vec(),
        )
    }

    #[test]
    fn handshake_numbers_and_options() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session();
        assert_eq!(s.handshake(&mut cap), vec![1, 2, 3]);
        assert_eq!(tcp(&cap, 1).0, 100);
        assert_eq!(tcp(&cap, 1).2, 0x002);
        assert_eq!(
            (tcp(&cap, 2).0, tcp(&cap, 2).1, tcp(&cap, 2).2),
            (900, 101, 0x012)
        );
        assert_eq!(
            (tcp(&cap, 3).0, tcp(&cap, 3).1, tcp(&cap, 3).2),
            (101, 901, 0x010)
        );
        let syn = &cap.frame(1).unwrap().data;
        assert_eq!(syn[20 + 12] >> 4, 8, "SYN carries 12 option bytes");
        assert!(cap.frames().iter().all(|f| f.tcp_stream == Some(0)));
        assert!(cap.check().is_ok());
    }

    #[test]
    fn send_segments_by_peer_mss_and_acks_every_other() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().mss(1460, 10);
        s.handshake(&mut cap);
        let sent = s.send(&mut cap, Dir::ToServer, &[7u8; 25]);
        assert_eq!(sent.data, vec![4, 5, 7]);
        assert_eq!(sent.acks, vec![6, 8]);
        assert_eq!(tcp(&cap, 5).0, 111);
        assert_eq!(tcp(&cap, 7).4.len(), 5);
        assert_eq!(tcp(&cap, 7).2, 0x018, "PSH on the last segment");
        assert_eq!(tcp(&cap, 8).1, 126);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session()
            .isns(u32::MAX - 5, 7)
            .mss(1460, 8)
            .ack_policy(AckPolicy::Never);
        s.handshake(&mut cap);
        s.send(&mut cap, Dir::ToServer, b"0123456789abcdef");
        assert_eq!(tcp(&cap, 4).0, u32::MAX - 4);
        assert_eq!(tcp(&cap, 5).0, 3);
        let fin = s.fin(&mut cap, Dir::ToServer);
        assert_eq!(tcp(&cap, fin).0, 11);
        let ack = s.ack(&mut cap, Dir::ToClient);
        assert_eq!(
            tcp(&cap, ack).1,
            12,
            "ACK covers data and FIN across the wrap"
        );
    }

    #[test]
    fn lost_segment_leaves_the_ack_at_the_hole() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().mss(1460, 10).ack_policy(AckPolicy::Every(1));
        s.handshake(&mut cap);
        let sent = s.send_reordered(&mut cap, Dir::ToServer, &[1u8; 30], &[0, 2]);
        assert_eq!(sent.data.len(), 2);
        assert_eq!(tcp(&cap, sent.acks[0]).1, 111);
        assert_eq!(
            tcp(&cap, sent.acks[1]).1,
            111,
            "duplicate ACK: bytes 10..20 never arrived"
        );
        s.lose(Dir::ToServer, b"zz");
        s.send_segment(&mut cap, Dir::ToServer, b"after");
        let a = s.ack(&mut cap, Dir::ToClient);
        assert_eq!(tcp(&cap, a).1, 111);
        s.retransmit_range(&mut cap, Dir::ToServer, 10, 10);
        let a = s.ack(&mut cap, Dir::ToClient);
        assert_eq!(tcp(&cap, a).1, 131, "hole of the lost 2 bytes remains");
    }

    #[test]
    fn reordered_segments_fill_in() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().mss(1460, 4).ack_policy(AckPolicy::Never);
        s.handshake(&mut cap);
        s.send_reordered(&mut cap, Dir::ToServer, b"aaaabbbbcc", &[2, 0, 1]);
        assert_eq!(tcp(&cap, 4).4, b"cc");
        assert_eq!(tcp(&cap, 4).2, 0x018);
        let a = s.ack(&mut cap, Dir::ToClient);
        assert_eq!(tcp(&cap, a).1, 111);
    }

    #[test]
    fn exact_retransmission_repeats_the_tcp_bytes() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().ack_policy(AckPolicy::Never);
        s.handshake(&mut cap);
        let first = s.send_segment(&mut cap, Dir::ToServer, b"hello");
        s.send(&mut cap, Dir::ToClient, b"reply");
        let again = s.retransmit(&mut cap, first);
        let a = &cap.frame(first).unwrap().data;
        let b = &cap.frame(again).unwrap().data;
        assert_eq!(a[20..], b[20..]);
        assert_ne!(a[4..6], b[4..6], "new IP id");
        assert_eq!(
            s.retransmit(&mut cap, 2),
            0,
            "SYN-ACK carries no data to retransmit"
        );
        assert!(cap.check().is_err());
    }

    #[test]
    fn forgotten_history_keeps_sequence_numbers() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().ack_policy(AckPolicy::Never);
        s.handshake(&mut cap);
        let first = s.send_segment(&mut cap, Dir::ToServer, b"hello");
        s.forget_history();
        assert!(s.sent(Dir::ToServer).is_empty());
        let next = s.send_segment(&mut cap, Dir::ToServer, b"world");
        assert_eq!(
            tcp(&cap, next).0,
            106,
            "sequence continues after 5 forgotten bytes"
        );
        assert_eq!(s.next_seq(Dir::ToServer), 111);
        let again = s.retransmit_range(&mut cap, Dir::ToServer, 5, 5);
        assert_eq!(tcp(&cap, again).4, b"world");
        assert!(cap.check().is_ok());
        assert_eq!(s.retransmit_range(&mut cap, Dir::ToServer, 0, 5), 0);
        assert_eq!(s.retransmit(&mut cap, first), 0, "the segment log is gone");
        assert!(cap.check().is_err());
    }

    #[test]
    fn keepalive_zero_window_rst_refuse() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().ack_policy(AckPolicy::Never);
        s.handshake(&mut cap);
        s.send(&mut cap, Dir::ToServer, b"abc");
        let (probe, reply) = s.keepalive(&mut cap, Dir::ToServer, true);
        assert_eq!(tcp(&cap, probe).0, 103);
        assert_eq!(tcp(&cap, probe).4, b"c");
        assert_eq!(tcp(&cap, reply).1, 104);
        let z = s.zero_window(&mut cap, Dir::ToClient);
        assert_eq!(tcp(&cap, z).3, 0);
        let r = s.rst(&mut cap, Dir::ToClient);
        assert_eq!((tcp(&cap, r).2, tcp(&cap, r).3), (0x014, 0));

        let mut refused = TcpSession::new(
            "10.0.0.1:40001".parse().unwrap(),
            "10.0.0.2:81".parse().unwrap(),
        )
        .isns(5, 6);
        refused.syn(&mut cap);
        let r = refused.refuse(&mut cap);
        assert_eq!(
            (tcp(&cap, r).0, tcp(&cap, r).1, tcp(&cap, r).2),
            (0, 6, 0x014)
        );
        assert_eq!(cap.frame(r).unwrap().tcp_stream, Some(1));
    }

    #[test]
    fn raw_segments_keep_every_field() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session();
        s.handshake(&mut cap);
        let mut h = s.segment_header(Dir::ToServer);
        assert_eq!((h.seq, h.ack, h.flags), (101, 901, TcpFlags::ACK));
        h.flags = TcpFlags::SYN | TcpFlags::FIN | TcpFlags::URG;
        h.urgent = 7;
        h.options = vec![TcpOption::Timestamps(1, 2)];
        let n = s.send_raw(&mut cap, Dir::ToServer, h, b"x");
        assert_eq!(tcp(&cap, n).2, 0x023);
        assert_eq!(s.next_seq(Dir::ToServer), 101, "no state change");
    }

    #[test]
    fn fragmented_segment_is_delivered_only_when_complete() {
        let mut cap = Capture::new(LinkType::Raw);
        let mut s = session().ack_policy(AckPolicy::Never);
        s.handshake(&mut cap);
        let frames = s.send_fragmented(&mut cap, Dir::ToServer, &[9u8; 100], 3, &[2, 0, 1]);
        assert_eq!(frames, vec![4, 5, 6]);
        let last = &cap.frame(4).unwrap().data;
        assert_eq!(
            u16::from_be_bytes([last[6], last[7]]) & 0x3fff,
            10,
            "last piece at offset 80 first"
        );
        let a = s.ack(&mut cap, Dir::ToClient);
        assert_eq!(tcp(&cap, a).1, 201);
        s.send_fragmented(&mut cap, Dir::ToServer, &[9u8; 100], 2, &[1]);
        let a = s.ack(&mut cap, Dir::ToClient);
        assert_eq!(tcp(&cap, a).1, 201, "a lost fragment loses the segment");
    }
}
