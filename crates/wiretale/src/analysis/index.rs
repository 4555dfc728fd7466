//! A per-connection digest of the timeline: what the detectors and the story read.
//!
//! The digest is folded event by event ([`IndexBuilder`]), so an analysis never has to keep
//! the events themselves: `wiretale story` keeps only this index and its compact story lines.
//! Each connection's facts are bounded by caps ([`MAX_RESETS`], [`MAX_ENDS`], [`MAX_GAPS`],
//! [`MAX_ALERTS`]). In a retiring index, HTTP exchanges after the first
//! [`FIRST_EXCHANGES_KEPT`] are kept only when a detector reads them (refused credentials,
//! NTLM tokens, a CONNECT that opened a tunnel, certificate fetches; not the legs of NTLM
//! handshakes settled on the connection), so they grow with the failed or unfinished
//! authentication a connection carried, not with its requests.

mod build;
mod quiet;
mod tls_progress;

pub use build::IndexBuilder;
pub use quiet::QuietConns;
pub use tls_progress::TlsProgress;

use crate::capture::Timestamp;
use crate::proto::tls::NotTls;
use crate::tcp::{Dir, Ending, FlowSummary, GapCause, ZeroWindowStats};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Resets kept per connection ([`TcpFacts::resets`]); later ones are counted only.
pub const MAX_RESETS: usize = 256;
/// FINs and RSTs kept per connection for [`TcpFacts::ends`].
pub const MAX_ENDS: usize = 64;
/// TLS alerts kept per connection ([`TlsProgress::alerts`]), plus the first fatal one if it
/// comes later; the others are counted ([`TlsProgress::alerts_not_kept`]).
pub const MAX_ALERTS: usize = 16;
/// Gaps kept per connection ([`GapFacts::first`]); all are counted.
pub const MAX_GAPS: usize = 1024;
/// Distinct credentials ([`CredentialsKey`]) whose acceptances [`Index::accepted`]
/// remembers; credentials first accepted past this many are not.
pub const MAX_ACCEPTED: usize = 4096;
/// The first HTTP exchanges of a connection, always kept in [`ConnIndex::exchanges`] (a
/// retiring index forgets later ones no detector reads).
pub const FIRST_EXCHANGES_KEPT: usize = 64;
/// Rejected logins of one scheme and user kept per connection by a retiring index (the
/// `auth-rejected` finding lists at most 512 of them).
pub const REJECTIONS_KEPT: usize = 512;

/// One HTTP exchange (request and, when seen, its response) on a connection.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Connection.
    pub stream: u64,
    /// Index of the request on its connection.
    pub exchange: u32,
    /// Frame completing the request.
    pub request_frame: u64,
    /// Time of that frame.
    pub request_time: Timestamp,
    /// Method.
    pub method: String,
    /// Request target as sent.
    pub target: String,
    /// Absolute URL when it can be built (absolute-form, or Host + origin-form path).
    pub url: Option<String>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The request asks to keep the connection open.
    pub request_keep_alive: bool,
    /// Why (header or version default), as serialized by the HTTP decoder.
    pub request_keep_alive_reason: &'static str,
    /// Scheme of the credentials sent (`NTLM`, `Basic`, ...), if any.
    pub credentials: Option<String>,
    /// User name of Basic credentials.
    pub basic_user: Option<String>,
    /// A fingerprint of the Basic password (`index::password_fingerprint`), never the password:
    /// tells a retry with the same password from one with another.
    pub basic_password: Option<u64>,
    /// NTLM message type carried by the request (1 or 3).
    pub ntlm_request: Option<u8>,
    /// Response, when seen.
    pub response: Option<ExchangeResponse>,
}

/// The final (non-1xx) response of an exchange.
#[derive(Debug, Clone)]
pub struct ExchangeResponse {
    /// Frame completing it.
    pub frame: u64,
    /// Time.
    pub time: Timestamp,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'static str,
    /// The response keeps the connection open.
    pub keep_alive: bool,
    /// Why, as serialized by the HTTP decoder.
    pub keep_alive_reason: &'static str,
    /// Authentication schemes offered (`WWW-`/`Proxy-Authenticate`).
    pub challenges: Vec<String>,
    /// The NTLM message type carried (2).
    pub ntlm_response: Option<u8>,
}

/// A FIN or RST seen on a connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndSeen {
    /// Frame.
    pub frame: u64,
    /// Time of the frame.
    pub time: Timestamp,
    /// Who sent it.
    pub by: Dir,
    /// RST (otherwise FIN).
    pub rst: bool,
}

/// A RST, with what preceded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResetSeen {
    /// Frame.
    pub frame: u64,
    /// Who sent it.
    pub by: Dir,
    /// Seconds the connection was idle before it.
    pub idle_secs: f64,
    /// Frame of the last TLS, HTTP or NTLM event before it on the connection.
    pub previous: Option<u64>,
    /// Frame of a FIN the other side sent before it (the first such among the connection's
    /// last [`MAX_ENDS`] FINs and RSTs): the conversation was already over.
    pub after_peer_fin: Option<u64>,
}

/// One stretch of stream bytes missing from the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapSeen {
    /// Frame where the gap was noticed.
    pub frame: u64,
    /// Direction whose bytes are missing.
    pub dir: Dir,
    /// Missing bytes.
    pub len: u64,
    /// Why.
    pub cause: GapCause,
}

/// The gaps of a connection: all counted, the first [`MAX_GAPS`] kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GapFacts {
    /// How many gaps.
    pub count: u64,
    /// Missing bytes in all.
    pub bytes: u64,
    /// Every gap was cut by the snapshot length.
    pub all_snaplen: bool,
    /// The first gaps, in the order they were noticed.
    pub first: Vec<GapSeen>,
}

/// The TCP facts the detectors read, folded from the connection's TCP events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TcpFacts {
    /// RSTs in order (the first [`MAX_RESETS`]).
    pub resets: Vec<ResetSeen>,
    /// RSTs beyond the cap.
    pub resets_not_kept: u64,
    /// The first FIN or RST of the connection.
    pub first_close: Option<EndSeen>,
    /// FINs and RSTs at or after the frame of the last TLS message (other than application
    /// data), each with a frame above every earlier one's, in order: the first is the first
    /// FIN or RST after that message (of the last [`MAX_ENDS`] such).
    pub ends: Vec<EndSeen>,
    /// Missing bytes.
    pub gaps: GapFacts,
    /// Seconds from the first SYN to the ACK that completed the 3-way handshake, when at
    /// least [`SLOW_HANDSHAKE_SECS`] (`tcp-slow-handshake`).
    pub slow_handshake_secs: Option<f64>,
    /// The sides whose receive window was zero, from the flow summary (`tcp-zero-window`):
    /// none for most connections, at most two.
    pub zero_windows: Vec<ZeroWindowSeen>,
}

/// A side of a connection that advertised a zero receive window, and its episodes
/// ([`FlowSummary::zero_window`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZeroWindowSeen {
    /// The side whose window was zero (the sender of the zero-window segments): `ToServer`
    /// for the client, with the index's roles.
    pub by: Dir,
    /// Its address.
    pub addr: SocketAddr,
    /// Its episodes.
    pub stats: ZeroWindowStats,
}

impl ZeroWindowSeen {
    /// The sides of `f` that advertised a zero window (`by` as the flow summary's roles say;
    /// the index names them again from `addr` once its roles are final).
    pub(crate) fn of(f: &FlowSummary) -> Vec<ZeroWindowSeen> {
        let Some(zero_window) = f.zero_window.as_deref() else {
            return Vec::new();
        };
        let side = |by: Dir, addr: SocketAddr| {
            (zero_window.of(by)).map(|&stats| ZeroWindowSeen { by, addr, stats })
        };
        (side(Dir::ToServer, f.client).into_iter())
            .chain(side(Dir::ToClient, f.server))
            .collect()
    }
}

/// Seconds a receive window may stay zero before `tcp-zero-window` is a warning (it is one
/// anyway when the connection ended with the window still closed).
pub const LONG_ZERO_WINDOW_SECS: f64 = 1.0;

/// Seconds a 3-way handshake may take before `tcp-slow-handshake` reports it: a SYN or
/// SYN-ACK lost and resent at least twice (the first retransmission waits 1 s, the next 2 s).
pub const SLOW_HANDSHAKE_SECS: f64 = 3.0;

/// The first bytes through a CONNECT tunnel that the TLS decoder rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct NotTlsSeen {
    /// Frame.
    pub frame: u64,
    /// They came from the client.
    pub from_client: bool,
    /// What the decoder said.
    pub not_tls: NotTls,
}

/// The part of a connection's [`FlowSummary`] the detectors read: a fraction of its size
/// (the summary's counters and history are the `flows` command's business), since the index
/// keeps one per connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowFacts {
    /// First frame.
    pub first_frame: u64,
    /// Last frame.
    pub last_frame: u64,
    /// Time of the first frame.
    pub start: Timestamp,
    /// Time of the last frame.
    pub end: Timestamp,
    /// Seconds from first to last frame.
    pub duration_secs: f64,
    /// SYNs sent by the client.
    pub syns: u32,
    /// A SYN-ACK was seen.
    pub syn_ack: bool,
    /// SYN-ACKs the server sent.
    pub syn_acks: u32,
    /// How it ended.
    pub ending: Ending,
    /// One side retransmitted at least [`SILENT_PEER_RETRANSMISSIONS`] times and the other
    /// sent no packet at all (`tcp-unanswered`).
    pub silent_peer: Option<SilentPeer>,
    /// The TCP layer guessed the roles (no SYN or SYN-ACK seen): the index corrects them
    /// when the content shows the other side is the client ([`ConnIndex::client`]).
    pub roles_guessed: bool,
}

/// Retransmissions at or above which a connection whose other side never sent a packet is
/// reported (`tcp-unanswered`).
pub const SILENT_PEER_RETRANSMISSIONS: u64 = 3;

/// A side that kept sending to a peer that never sent a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilentPeer {
    /// The direction that sent (`ToServer`: the client sent).
    pub dir: Dir,
    /// Its packets.
    pub packets: u64,
    /// How many of them were retransmissions.
    pub retransmissions: u64,
    /// Distinct payload bytes it sent.
    pub bytes: u64,
}

impl From<&FlowSummary> for FlowFacts {
    fn from(f: &FlowSummary) -> Self {
        let silent = |dir, sent: &crate::tcp::HalfStats, peer: &crate::tcp::HalfStats| {
            (peer.packets == 0 && sent.retransmissions >= SILENT_PEER_RETRANSMISSIONS).then_some(
                SilentPeer {
                    dir,
                    packets: sent.packets,
                    retransmissions: sent.retransmissions,
                    bytes: sent.delivered_bytes,
                },
            )
        };
        FlowFacts {
            first_frame: f.first_frame,
            last_frame: f.last_frame,
            start: f.start,
            end: f.end,
            duration_secs: f.duration_secs,
            syns: f.syns,
            syn_ack: f.syn_ack,
            syn_acks: f.syn_acks,
            ending: f.ending,
            silent_peer: silent(Dir::ToServer, &f.to_server, &f.to_client)
                .or_else(|| silent(Dir::ToClient, &f.to_client, &f.to_server)),
            roles_guessed: f.role_basis.is_guess(),
        }
    }
}

/// What is known of one TCP connection.
#[derive(Debug, Clone)]
pub struct ConnIndex {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Client.
    pub client: SocketAddr,
    /// Server.
    pub server: SocketAddr,
    /// What the detectors read of the flow summary, when the connection left the table.
    pub flow: Option<FlowFacts>,
    /// Frame of the connection's first event.
    pub first_event_frame: Option<u64>,
    /// HTTP exchanges. Every one, except in an index built by
    /// [`IndexBuilder::retiring_quiet`]: there, past the first [`FIRST_EXCHANGES_KEPT`], those
    /// no detector reads (no refused credentials, NTLM token, granted CONNECT or certificate
    /// fetch; or legs of an NTLM handshake settled on the connection) are forgotten once a few
    /// dozen newer requests have come.
    pub exchanges: Vec<Exchange>,
    /// Exchanges forgotten that way, counted (a keep-alive connection can carry millions).
    pub exchanges_not_kept: u64,
    /// Rejected logins forgotten by a retiring index, by scheme and user: past the first
    /// [`REJECTIONS_KEPT`] of each on a connection (credentials other than NTLM answered by
    /// 401 or 407, refused CONNECTs included), only their number is kept, for
    /// `auth-rejected` (a brute-force attack on one keep-alive connection can try millions).
    pub rejections_not_kept: BTreeMap<(String, Option<String>), u64>,
    /// The connection carried TLS.
    pub tls: bool,
    /// For TLS inside CONNECT: the tunnel.
    pub tunnel: Option<String>,
    /// The connection received absolute-form requests or CONNECT, or answered 407.
    pub is_proxy: bool,
    /// Time of the connection's last frame, when its flow summary is known.
    pub last_time: Option<Timestamp>,
    /// The TLS handshake's progress, for a connection that carried TLS (boxed, like
    /// `not_tls`: most connections of a large capture have neither, and they are large).
    pub tls_progress: Option<Box<TlsProgress>>,
    /// RSTs, FINs and gaps.
    pub tcp: TcpFacts,
    /// For a tunnel: the first bytes the TLS decoder rejected.
    pub not_tls: Option<Box<NotTlsSeen>>,
}

impl ConnIndex {
    /// Role name of the server side: `proxy` or `server`.
    pub fn server_role(&self) -> &'static str {
        server_role(self.is_proxy)
    }

    /// How the connection ended, if known.
    pub fn ending(&self) -> Option<Ending> {
        self.flow.as_ref().map(|f| f.ending)
    }

    /// The connection's first FIN or RST.
    pub fn first_close(&self) -> Option<&EndSeen> {
        self.tcp.first_close.as_ref()
    }
}

/// A connection's client, server and the server's role (`server` or `proxy`).
pub(crate) type ConnRoles = (SocketAddr, SocketAddr, &'static str);

/// `proxy` or `server`: the role of a connection's server side.
fn server_role(is_proxy: bool) -> &'static str {
    if is_proxy {
        "proxy"
    } else {
        "server"
    }
}

/// A connection the index keeps only the endpoints and roles of
/// ([`IndexBuilder::retiring_quiet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietConn {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Client.
    pub client: SocketAddr,
    /// Server.
    pub server: SocketAddr,
    /// The server side is a proxy.
    pub is_proxy: bool,
    /// Last frame of the connection; `u64::MAX` (unknown) for a frame number of 2^48 − 1 or
    /// more, beyond what `QuietConns` stores.
    pub last_frame: u64,
}

impl QuietConn {
    /// Role name of the server side: `proxy` or `server`.
    pub fn server_role(&self) -> &'static str {
        server_role(self.is_proxy)
    }
}

/// What the revocation detector needs of a retired TLS connection whose server sent a
/// certificate naming URLs ([`IndexBuilder::retiring_quiet`]): its handshake completed and
/// carried data, so no other detector reads it, but an HTTP fetch of one of those URLs by
/// its client while it was open is still a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredCertificate {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Client.
    pub client: SocketAddr,
    /// Server.
    pub server: SocketAddr,
    /// Frame of the server's Certificate ([`TlsProgress::certificate`]).
    pub frame: u64,
    /// Last frame of the connection.
    pub last_frame: u64,
    /// Frame at which its handshake completed (the later Finished), when known.
    pub handshake_done: Option<u64>,
    /// The URLs its certificates name ([`TlsProgress::cert_urls`]), shared between
    /// connections that received the same ones.
    pub urls: Arc<[(String, &'static str)]>,
}

/// An NTLM Type 3 sent on a retired connection ([`IndexBuilder::retiring_quiet`]): the
/// connection authenticated (each challenge answered on it), so no detector reads it, but a
/// challenge left unanswered on another connection may have been answered by this message
/// (`ntlm-connection-switch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredNtlmAnswer {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Client.
    pub client: SocketAddr,
    /// Server.
    pub server: SocketAddr,
    /// Frame completing the request that carried the Type 3.
    pub request_frame: u64,
    /// Its response, when seen: frame, status and reason phrase.
    pub response: Option<(u64, u16, Box<str>)>,
}

/// Whose credentials, sent where: a client's address, the server or proxy, the scheme and
/// the Basic user name (as `auth-rejected` groups rejections).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialsKey {
    /// The client's address.
    pub client: std::net::IpAddr,
    /// The server or proxy.
    pub server: SocketAddr,
    /// The scheme (`Basic`, `NTLM`, ...).
    pub scheme: String,
    /// The user name of Basic credentials.
    pub user: Option<String>,
}

/// A request whose credentials were accepted (answered 2xx or 3xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedCredentials {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    /// Frame completing the request.
    pub request_frame: u64,
    /// Frame completing its response.
    pub response_frame: u64,
    /// The response's status.
    pub status: u16,
    /// The Basic password's fingerprint (`index::password_fingerprint`).
    pub basic_password: Option<u64>,
}

/// A fingerprint of a password, to tell two apart without keeping either: a 64-bit hash,
/// held only in memory, never written out, with a seed drawn once per process (a fixed seed
/// would let anyone holding a dump of the index test guesses against it offline).
pub fn password_fingerprint(password: &str) -> u64 {
    use std::hash::BuildHasher;
    static SEED: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    SEED.get_or_init(Default::default).hash_one(password)
}

/// The whole capture, indexed by connection.
///
/// ```
/// use wiretale::analysis::IndexBuilder;
///
/// // Fed by a pipeline sink, or from collected events and flows:
/// let index = IndexBuilder::default().finish(None);
/// assert!(index.conns.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Connections by stream.
    pub conns: BTreeMap<u64, ConnIndex>,
    /// Connections retired to their endpoints because no detector reads them (only with
    /// [`IndexBuilder::retiring_quiet`]; empty otherwise), by stream.
    pub quiet: QuietConns,
    /// For quiet TLS connections whose certificates name URLs, what the revocation detector
    /// reads, sorted by stream (only with [`IndexBuilder::retiring_quiet`]).
    pub certificates: Vec<RetiredCertificate>,
    /// For quiet connections that authenticated with NTLM, their Type 3 messages, by stream
    /// (only with [`IndexBuilder::retiring_quiet`]).
    pub ntlm_answers: Vec<RetiredNtlmAnswer>,
    /// Each credentials' first and latest acceptance (for the first [`MAX_ACCEPTED`]
    /// credentials seen accepted), with or without retiring: `auth-rejected` tells whether a
    /// rejected login later succeeded.
    pub accepted: BTreeMap<CredentialsKey, [AcceptedCredentials; 2]>,
    /// Time of the capture's last frame.
    pub capture_end: Option<Timestamp>,
}

impl Index {
    /// Builds the index from collected events and flow summaries.
    pub fn new(
        events: &[crate::timeline::Event],
        flows: &[FlowSummary],
        capture_end: Option<Timestamp>,
    ) -> Self {
        let mut builder = IndexBuilder::default();
        for f in flows {
            builder.flow(f);
        }
        for e in events {
            builder.event(e);
        }
        builder.finish(capture_end)
    }

    /// The connection carrying stream `stream`.
    pub fn conn(&self, stream: u64) -> Option<&ConnIndex> {
        self.conns.get(&stream)
    }

    /// Role of an address: `client`, `server` or `proxy` (the server side of a proxy
    /// connection), from what every connection says about it.
    pub fn role_of(&self, addr: SocketAddr) -> &'static str {
        let mut role = "client";
        for (_, _, server, is_proxy) in self.endpoints() {
            if server == addr {
                if is_proxy {
                    return "proxy";
                }
                role = "server";
            }
        }
        role
    }

    /// Every connection's endpoints, in stream order, including the quiet ones:
    /// `(stream, client, server, server is a proxy)`.
    pub fn endpoints(&self) -> impl Iterator<Item = (u64, SocketAddr, SocketAddr, bool)> + '_ {
        let mut full = self.conns.values().peekable();
        let mut quiet = self.quiet.iter().peekable();
        std::iter::from_fn(move || {
            let take_full = match (full.peek(), quiet.peek()) {
                (Some(f), Some(q)) => f.stream <= q.stream,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return None,
            };
            if take_full {
                full.next()
                    .map(|c| (c.stream, c.client, c.server, c.is_proxy))
            } else {
                quiet
                    .next()
                    .map(|q| (q.stream, q.client, q.server, q.is_proxy))
            }
        })
    }

    /// The client, the server and the server's role (`server` or `proxy`) of stream
    /// `stream`, whether its connection is kept whole or quiet.
    pub fn roles(&self, stream: u64) -> Option<(SocketAddr, SocketAddr, &'static str)> {
        match self.conns.get(&stream) {
            Some(c) => Some((c.client, c.server, c.server_role())),
            None => (self.quiet_conn(stream)).map(|q| (q.client, q.server, q.server_role())),
        }
    }

    /// The quiet connection of stream `stream`, if it was retired.
    pub fn quiet_conn(&self, stream: u64) -> Option<QuietConn> {
        self.quiet.get(stream)
    }

    /// [`Index::roles`] of `stream` and its last frame (once its summary is known), in one
    /// lookup: the story asks both for every step.
    pub(crate) fn roles_and_last_frame(&self, stream: u64) -> Option<(ConnRoles, Option<u64>)> {
        match self.conns.get(&stream) {
            Some(c) => Some((
                (c.client, c.server, c.server_role()),
                c.flow.map(|f| f.last_frame),
            )),
            None => (self.quiet_conn(stream))
                .map(|q| ((q.client, q.server, q.server_role()), Some(q.last_frame))),
        }
    }

    /// Every HTTP exchange of the capture, in request-frame order.
    pub fn exchanges(&self) -> Vec<&Exchange> {
        let mut all: Vec<&Exchange> = self.conns.values().flat_map(|c| &c.exchanges).collect();
        all.sort_by_key(|x| x.request_frame);
        all
    }

    /// Connections whose client has address `ip`.
    pub fn conns_of_client(&self, ip: IpAddr) -> impl Iterator<Item = &ConnIndex> {
        self.conns.values().filter(move |c| c.client.ip() == ip)
    }
}

#[cfg(test)]
mod tests;
