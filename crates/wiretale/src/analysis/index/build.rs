//! Folding events into the index, one at a time.

use super::quiet::QuietConns;
use super::tls_progress::{QuietTls, TlsFold};
use super::{
    password_fingerprint, AcceptedCredentials, ConnIndex, CredentialsKey, EndSeen, Exchange,
    ExchangeResponse, GapSeen, Index, NotTlsSeen, QuietConn, ResetSeen, RetiredCertificate,
    RetiredNtlmAnswer, ZeroWindowSeen, FIRST_EXCHANGES_KEPT, MAX_ACCEPTED, MAX_ENDS, MAX_GAPS,
    MAX_RESETS, REJECTIONS_KEPT, SLOW_HANDSHAKE_SECS,
};
use crate::analysis::findings::{normalize_url, split_scheme};
use crate::capture::Timestamp;
use crate::proto::http::{AuthScheme as HttpAuthScheme, HttpMessage, KeepAliveReason};
use crate::proto::tls::{HandshakeBody, TlsMessage};
use crate::tcp::{ConnEvent, Dir, FlowSummary, GapCause};
use crate::timeline::{Detail, Event, EventSink, NtlmEvent};
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// foldhash, seeded per process (as the flow table's map): certificate URLs come from the
/// capture, and SipHash over every URL list of every retired certificate, and every fetch
/// checked against the URLs, was a visible part of indexing a capture of TLS connections.
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Builds an [`Index`] event by event, without keeping the events: feed it every event and
/// flow summary of a capture (in any interleaving the pipeline produces), then
/// [`IndexBuilder::finish`].
///
/// It is an [`EventSink`], so it can be handed to the pipeline directly:
///
/// ```no_run
/// use wiretale::analysis::IndexBuilder;
/// use wiretale::pipeline::{analyze_path, AnalyzerConfig};
///
/// let mut builder = IndexBuilder::default();
/// let report = analyze_path("capture.pcapng", &AnalyzerConfig::default(), &mut builder)?;
/// let index = builder.finish(report.stats.last_time);
/// for conn in index.conns.values() {
///     println!("stream {}: {} HTTP exchanges", conn.stream, conn.exchanges.len());
/// }
/// # Ok::<(), wiretale::capture::CaptureError>(())
/// ```
#[derive(Debug, Default)]
pub struct IndexBuilder {
    /// Connections in order of their first event or summary. A vector rather than an ordered
    /// map: the pipeline numbers streams in order, so a map's nodes would be split half-full
    /// (twice the memory for a million connections); `slot` finds a stream's place.
    /// Boxed: a fold is several hundred bytes, and a growing vector of them would keep up
    /// to as much again in spare capacity (measured: 8 MiB on a 1 GB capture).
    #[allow(clippy::vec_box)]
    conns: Vec<Box<ConnFold>>,
    /// foldhash: looked up for every event (stream numbers are ours, not an attacker's).
    slot: foldhash::HashMap<u64, usize>,
    /// Folds made so far (how many connections the index has seen, about).
    folds_made: u64,
    /// Retired connections no detector reads ([`IndexBuilder::retiring_quiet`]).
    quiet: QuietConns,
    retire_quiet: bool,
    /// Every certificate URL seen so far, normalised: an HTTP fetch of one is never quiet.
    cert_urls: HashSet<String>,
    /// More certificate URLs came than `cert_urls` holds ([`MAX_CERT_URLS`]).
    cert_urls_overflowed: bool,
    /// Forget the exchanges no detector reads ([`ConnFold::forget_unread_exchanges`]).
    forget_unread: bool,
    /// Retired TLS connections' certificates ([`Index::certificates`]).
    certificates: Vec<RetiredCertificate>,
    /// Retired connections' NTLM Type 3 messages ([`Index::ntlm_answers`]).
    ntlm_answers: Vec<RetiredNtlmAnswer>,
    /// Each credentials' first and latest acceptance ([`Index::accepted`]).
    accepted: BTreeMap<CredentialsKey, [AcceptedCredentials; 2]>,
    /// Distinct URL lists of retired certificates, shared (a server sends the same chain to
    /// every client).
    url_lists: HashSet<Arc<[(String, &'static str)]>>,
    /// Streams retired as they closed ([`IndexBuilder::closing`]), until their final
    /// summary gives their last frame: a few thousand at most (the flow table's closed
    /// connections), 8 bytes each so that the set stays in cache.
    awaiting_final: foldhash::HashSet<u64>,
}

/// Distinct certificate URLs remembered; past this, retiring stops and every exchange is kept
/// (each fetch would have to be checked against too many).
const MAX_CERT_URLS: usize = 65_536;

/// Distinct URL lists shared between retired certificates; past this, lists are not shared.
const MAX_URL_LISTS: usize = 4096;

/// One connection while it is being folded.
#[derive(Debug)]
struct ConnFold {
    conn: ConnIndex,
    /// Boxed: most connections of a large capture carry no TLS, and the fold is large.
    tls: Option<Box<TlsFold>>,
    /// Frame of the last TLS message other than application data.
    last_tls_frame: Option<u64>,
    /// Frame of the last non-TCP event.
    last_activity: Option<u64>,
    /// FINs and RSTs, with their sender's address (resolved into client or server when the
    /// roles are final): those whose frame is above every earlier one's, in order (the last
    /// [`MAX_ENDS`]). The first FIN or RST at or after a frame F, in event order, is always
    /// one of them, whatever F turns out to be (TLS messages held behind a hole arrive late
    /// with early frames). Held inline: a connection usually ends with two FINs, and most
    /// connections are retired (dropped) once ended.
    closes: SmallVec<[(EndSeen, Option<SocketAddr>); 2]>,
    first_close: Option<(EndSeen, Option<SocketAddr>)>,
    resets: Vec<(ResetSeen, Option<SocketAddr>)>,
    not_tls: Option<Box<(u64, Option<SocketAddr>, crate::proto::tls::NotTls)>>,
    /// The client as the content shows it: the first HTTP request's or ClientHello's sender,
    /// or the first HTTP response's or ServerHello's receiver. It overrules roles the TCP
    /// layer guessed ([`ConnFold::correct_roles`]).
    content_client: Option<SocketAddr>,
    /// How many exchanges the connection may hold before unread ones are next forgotten
    /// ([`ConnFold::forget_unread_exchanges`]).
    next_review: usize,
}

/// Exchanges reviewed for forgetting are at least this many requests old: by then their
/// responses and NTLM tokens have been indexed, and a certificate held back by a hole for a
/// while has been seen.
const RECENT_EXCHANGES: usize = 64;

impl ConnFold {
    fn new(stream: u64, client: SocketAddr, server: SocketAddr) -> Self {
        ConnFold {
            conn: ConnIndex {
                stream,
                client,
                server,
                flow: None,
                first_event_frame: None,
                exchanges: Vec::new(),
                exchanges_not_kept: 0,
                rejections_not_kept: BTreeMap::new(),
                tls: false,
                tunnel: None,
                is_proxy: false,
                last_time: None,
                tls_progress: None,
                tcp: Default::default(),
                not_tls: None,
            },
            tls: None,
            last_tls_frame: None,
            last_activity: None,
            closes: SmallVec::new(),
            first_close: None,
            resets: Vec::new(),
            not_tls: None,
            content_client: None,
            next_review: FIRST_EXCHANGES_KEPT + 2 * RECENT_EXCHANGES,
        }
    }

    /// Forgets the exchanges no detector reads, past the connection's first
    /// [`FIRST_EXCHANGES_KEPT`] and except the last [`RECENT_EXCHANGES`] and the first
    /// CONNECT (`compare` names a connection after it): those without refused or pending
    /// credentials, an NTLM token (legs of handshakes settled on the connection aside), a
    /// granted or pending CONNECT, or a fetch of a certificate URL seen so far (see `is_read`
    /// and `settled_ntlm_leg`); rejected logins past [`REJECTIONS_KEPT`] per scheme and user
    /// are counted. Runs when the connection holds twice what it kept at the last review, so
    /// the work stays linear in its requests and a keep-alive connection of plain requests
    /// holds at most a few hundred exchanges.
    fn forget_unread_exchanges(&mut self, cert_urls: &HashSet<String>) {
        let held = self.conn.exchanges.len();
        if held < self.next_review {
            return;
        }
        let recent = held.saturating_sub(RECENT_EXCHANGES);
        let exchanges = &self.conn.exchanges;
        let last_type3 = exchanges.iter().rposition(|x| x.ntlm_request == Some(3));
        let first_connect =
            (exchanges.iter()).position(|x| x.method.eq_ignore_ascii_case("CONNECT"));
        // Which to keep: rejected logins up to `REJECTIONS_KEPT` per scheme and user, and
        // whatever else a detector reads. Borrowed keys, so decided before anything moves.
        let mut rejections: BTreeMap<(&str, Option<&str>), (usize, u64)> = BTreeMap::new();
        let keep: Vec<bool> = (exchanges.iter().enumerate())
            .map(|(at, x)| {
                let reviewed =
                    at >= FIRST_EXCHANGES_KEPT && at < recent && Some(at) != first_connect;
                match rejection(x, cert_urls) {
                    Some(key) => {
                        let (seen, forgotten) = rejections.entry(key).or_insert((0, 0));
                        *seen += 1;
                        let keep = !reviewed || *seen <= REJECTIONS_KEPT;
                        *forgotten += u64::from(!keep);
                        keep
                    }
                    None => {
                        !reviewed
                            || (is_read(x, cert_urls)
                                && !settled_ntlm_leg(at, x, last_type3, cert_urls))
                    }
                }
            })
            .collect();
        for ((scheme, user), (_, n)) in rejections {
            if n > 0 {
                let key = (scheme.to_string(), user.map(str::to_string));
                *self.conn.rejections_not_kept.entry(key).or_insert(0) += n;
            }
        }
        let forgotten = keep.iter().filter(|k| !**k).count() as u64;
        let mut flags = keep.into_iter();
        self.conn.exchanges.retain(|_| flags.next().unwrap_or(true));
        self.conn.exchanges_not_kept = self.conn.exchanges_not_kept.saturating_add(forgotten);
        let kept = self.conn.exchanges.len();
        self.next_review = kept.saturating_mul(2).max(kept + RECENT_EXCHANGES);
    }

    fn finish(mut self) -> ConnIndex {
        let client = self.conn.client;
        let by = |src: Option<SocketAddr>| {
            if src == Some(client) {
                Dir::ToServer
            } else {
                Dir::ToClient
            }
        };
        let tcp = &mut self.conn.tcp;
        tcp.first_close = self
            .first_close
            .map(|(e, src)| EndSeen { by: by(src), ..e });
        // Those at or after the last TLS message (see `TcpFacts::ends`).
        let after = self.last_tls_frame.unwrap_or(0);
        tcp.ends = (self.closes.into_iter())
            .filter(|(e, _)| e.frame >= after)
            .map(|(e, src)| EndSeen { by: by(src), ..e })
            .collect();
        tcp.resets = (self.resets.into_iter())
            .map(|(r, src)| ResetSeen { by: by(src), ..r })
            .collect();
        for zw in &mut tcp.zero_windows {
            zw.by = by(Some(zw.addr));
        }
        self.conn.not_tls = self.not_tls.map(|seen| {
            let (frame, src, not_tls) = *seen;
            Box::new(NotTlsSeen {
                frame,
                from_client: src == Some(client),
                not_tls,
            })
        });
        self.conn.tls_progress = self.tls.map(|fold| Box::new((*fold).finish(client)));
        self.conn
    }

    /// Gives back the spare capacity of a connection whose events have all been seen (its
    /// summary arrived): kept connections are most of what a long analysis holds.
    fn compact(&mut self) {
        let c = &mut self.conn;
        c.exchanges.shrink_to_fit();
        for x in &mut c.exchanges {
            if let Some(r) = x.response.as_mut() {
                r.challenges.shrink_to_fit();
            }
        }
        c.tcp.gaps.first.shrink_to_fit();
        c.tcp.zero_windows.shrink_to_fit();
        self.closes.shrink_to_fit();
        self.resets.shrink_to_fit();
        if let Some(tls) = self.tls.as_mut() {
            tls.compact();
        }
    }

    /// Whether no detector would read this connection, its summary having arrived (see
    /// [`IndexBuilder::retiring_quiet`]): `None` if one would, otherwise what the revocation
    /// detector still needs of a TLS connection (its server's certificate frame and URLs).
    /// Swaps client and server when the TCP layer guessed them (a connection picked up
    /// mid-way) and the content says the other side is the client: the story then names
    /// them as `http` and the decoders do.
    fn correct_roles(&mut self) {
        let c = &mut self.conn;
        let guessed = c.flow.as_ref().is_some_and(|f| f.roles_guessed);
        if guessed && self.content_client == Some(c.server) && c.client != c.server {
            std::mem::swap(&mut c.client, &mut c.server);
        }
    }

    fn quiet(&self, cert_urls: &HashSet<String>) -> Option<QuietTls<'_>> {
        let c = &self.conn;
        let flow = c.flow.as_ref()?;
        // A fetch of a certificate URL is the revocation detector's business.
        let fetch = |x: &Exchange| {
            !cert_urls.is_empty()
                && (x.url.as_deref()).is_some_and(|u| cert_urls.contains(&normalize_url(u)))
        };
        // What the HTTP authentication detectors (`findings::ntlm`, `findings::auth`) would
        // report about this connection's own exchanges.
        let xs = &c.exchanges;
        let last_type3 = xs.iter().rposition(|y| y.ntlm_request == Some(3));
        let exchange_quiet = |(i, x): (usize, &Exchange)| {
            if fetch(x) {
                return false;
            }
            let Some(r) = &x.response else { return true };
            let refused = matches!(r.status, 401 | 407);
            if r.ntlm_response == Some(2) {
                // A challenge answered on this connection (a later Type 3; not a scan per
                // challenge, which was quadratic in challenges answered only at the end).
                return last_type3.is_some_and(|last| last > i);
            }
            if x.ntlm_request == Some(1) {
                return !refused; // otherwise the challenge is missing
            }
            !(x.credentials.is_some() && refused) // otherwise credentials were rejected
        };
        let tcp_quiet = self.not_tls.is_none()
            && self.resets.is_empty()
            && c.tcp.resets_not_kept == 0
            && c.tcp.gaps.count == 0
            && (flow.syns == 0 || flow.syn_ack)
            && flow.silent_peer.is_none()
            && c.tcp.slow_handshake_secs.is_none()
            && c.tcp.zero_windows.is_empty()
            && xs.iter().enumerate().all(exchange_quiet);
        if !tcp_quiet {
            return None;
        }
        match &self.tls {
            Some(tls) => tls.quiet(c.client),
            None if c.tls => None,
            None => Some(QuietTls {
                certificate: None,
                handshake_done: None,
            }),
        }
    }

    fn tcp(&mut self, e: &Event, c: &ConnEvent) {
        let tcp = &mut self.conn.tcp;
        match c {
            ConnEvent::Fin { .. } | ConnEvent::Rst { .. } => {
                let rst = matches!(c, ConnEvent::Rst { .. });
                // `by` is resolved from the sender's address in `finish`.
                let end = EndSeen {
                    frame: e.frame,
                    time: e.time,
                    by: Dir::ToServer,
                    rst,
                };
                if self.first_close.is_none() {
                    self.first_close = Some((end, e.src));
                }
                let above = !matches!(self.closes.last(), Some((c, _)) if e.frame <= c.frame);
                if above {
                    if self.closes.len() >= MAX_ENDS {
                        self.closes.remove(0);
                    }
                    self.closes.push((end, e.src));
                }
                if let ConnEvent::Rst { idle_secs, .. } = c {
                    if self.resets.len() < MAX_RESETS {
                        let after_peer_fin = (self.closes.iter())
                            .find(|(end, src)| !end.rst && end.frame < e.frame && *src != e.src)
                            .map(|(end, _)| end.frame);
                        let reset = ResetSeen {
                            frame: e.frame,
                            by: Dir::ToServer,
                            idle_secs: *idle_secs,
                            previous: self.last_activity,
                            after_peer_fin,
                        };
                        self.resets.push((reset, e.src));
                    } else {
                        tcp.resets_not_kept += 1;
                    }
                }
            }
            ConnEvent::Established {
                handshake_secs: Some(secs),
            } if *secs >= SLOW_HANDSHAKE_SECS => tcp.slow_handshake_secs = Some(*secs),
            ConnEvent::Gap {
                dir, len, cause, ..
            } => {
                let gaps = &mut tcp.gaps;
                gaps.all_snaplen =
                    (gaps.count == 0 || gaps.all_snaplen) && *cause == GapCause::Snaplen;
                gaps.count += 1;
                gaps.bytes = gaps.bytes.saturating_add(*len);
                if gaps.first.len() < MAX_GAPS {
                    gaps.first.push(GapSeen {
                        frame: e.frame,
                        dir: *dir,
                        len: *len,
                        cause: *cause,
                    });
                }
            }
            _ => {}
        }
    }

    fn tls(&mut self, e: &Event, m: &TlsMessage) {
        self.conn.tls = true;
        if e.tunnel.is_some() {
            self.conn.tunnel.clone_from(&e.tunnel);
        }
        if let TlsMessage::NotTls(n) = m {
            if self.not_tls.is_none() {
                self.not_tls = Some(Box::new((e.frame, e.src, n.clone())));
            }
        }
        if !matches!(m, TlsMessage::ApplicationData(_)) {
            self.last_tls_frame = Some(e.frame);
        }
        self.tls.get_or_insert_with(Default::default).add(e, m);
    }
}

impl IndexBuilder {
    /// Folds one event.
    pub fn event(&mut self, e: &Event) {
        self.fold_event(e, HeadStrings::default());
    }

    /// Folds an event handed over, moving out of it the HTTP strings the index keeps (a
    /// request's method and target, a response's reason) rather than copying them: the
    /// event is left with those strings empty.
    pub(crate) fn take_event(&mut self, e: &mut Event) {
        let strings = match &mut e.detail {
            Detail::Http(m) => HeadStrings::take(m),
            _ => HeadStrings::default(),
        };
        self.fold_event(e, strings);
    }

    /// Folds `e`, whose HTTP head strings are in `strings` if they were taken out of it.
    fn fold_event(&mut self, e: &Event, strings: HeadStrings) {
        let Some(stream) = e.stream else { return };
        // Only a builder that retires or forgets needs to tell certificate fetches apart.
        if self.retire_quiet || self.forget_unread {
            if let Detail::Tls(m) = &e.detail {
                self.note_cert_urls(m);
            }
        }
        let at = self.fold_at(stream, || {
            ConnFold::new(
                stream,
                e.src.unwrap_or_else(unspecified),
                e.dst.unwrap_or_else(unspecified),
            )
        });
        let Some(fold) = self.conns.get_mut(at) else {
            return;
        };
        fold.conn.first_event_frame.get_or_insert(e.frame);
        // Connection events are not activity, but what a side sent is, decoded or not.
        if !matches!(e.detail, Detail::Tcp(_))
            || matches!(e.detail, Detail::Tcp(ConnEvent::Data { .. }))
        {
            fold.last_activity = Some(e.frame);
        }
        match &e.detail {
            Detail::Tcp(c) => fold.tcp(e, c),
            Detail::Tls(m) => fold.tls(e, m),
            Detail::Http(m) => {
                if let Some((key, accepted)) = index_http(&mut fold.conn, e, m, strings) {
                    if let Some([_, latest]) = self.accepted.get_mut(&key) {
                        *latest = accepted;
                    } else if self.accepted.len() < MAX_ACCEPTED {
                        self.accepted.insert(key, [accepted; 2]);
                    }
                }
            }
            Detail::Ntlm(n) => index_ntlm(&mut fold.conn, n),
        }
        if fold.content_client.is_none() {
            if let Some(client) = content_client(e) {
                fold.content_client = Some(client);
                fold.correct_roles();
            }
        }
        let request =
            matches!(&e.detail, Detail::Http(m) if matches!(**m, HttpMessage::Request(_)));
        // Without every certificate URL an unread exchange cannot be told from a fetch.
        // Not for `Analysis`, which keeps every exchange.
        if request && self.forget_unread && !self.cert_urls_overflowed {
            fold.forget_unread_exchanges(&self.cert_urls);
        }
    }

    /// Folds a connection's summary: its final client and server, counters and ending.
    pub fn flow(&mut self, f: &FlowSummary) {
        // Retired as it closed: only the last frame, which late packets move, is left to
        // note. Unless a restart (the same stream) folded events again since: then that
        // fold takes the summary, as any connection's.
        if self.awaiting_final.remove(&f.stream)
            && !self.slot.contains_key(&f.stream)
            && self.quiet.raise_last_frame(f.stream, f.last_frame)
        {
            return;
        }
        let at = self.fold_at(f.stream, || ConnFold::new(f.stream, f.client, f.server));
        let Some(fold) = self.conns.get_mut(at) else {
            return;
        };
        fold.conn.client = f.client;
        fold.conn.server = f.server;
        fold.conn.last_time = Some(f.end);
        fold.conn.flow = Some(f.into());
        if f.zero_window.is_some() {
            fold.conn.tcp.zero_windows = ZeroWindowSeen::of(f);
        }
        fold.correct_roles();
        if self.retire_quiet && self.retire_if_quiet(at, true).is_some() {
            return;
        }
        if let Some(fold) = self.conns.get_mut(at) {
            fold.compact();
        }
    }

    /// A builder that, when a connection's summary arrives (the connection left the flow
    /// table: all its events were seen), keeps only its endpoints and roles
    /// ([`Index::quiet`]) if no detector would read it: no RST, no gap, no unanswered SYN,
    /// no zero window, no refused, missing or unanswered HTTP authentication, no fetch of a certificate URL
    /// seen earlier, and either no TLS or a TLS handshake that completed and carried data
    /// without an alert. What other connections' detectors may still read of it stays: its
    /// server's certificate URLs ([`Index::certificates`]) and its NTLM Type 3 messages
    /// ([`Index::ntlm_answers`]).
    /// The diagnosis and the story are the same; the index of a capture of a million short
    /// connections shrinks about twentyfold. For the story and the diagnosis only: other
    /// analyses of the index (every exchange, every flow) want [`IndexBuilder::default`].
    pub fn retiring_quiet() -> Self {
        IndexBuilder {
            retire_quiet: true,
            forget_unread: true,
            ..IndexBuilder::default()
        }
    }

    /// A builder that keeps every connection but forgets, past a connection's first
    /// [`FIRST_EXCHANGES_KEPT`], the HTTP exchanges no detector reads (as
    /// [`IndexBuilder::retiring_quiet`] does): for a connection's own digest while it is
    /// open (`compare`'s recorder), whose steps read only its first exchange and CONNECT.
    pub(crate) fn forgetting_unread() -> Self {
        IndexBuilder {
            forget_unread: true,
            ..IndexBuilder::default()
        }
    }

    /// Where the fold of `stream` is in `conns`, made by `new` on its first event or summary.
    fn fold_at(&mut self, stream: u64, new: impl FnOnce() -> ConnFold) -> usize {
        match self.slot.get(&stream).copied() {
            Some(at) => at,
            None => {
                let at = self.conns.len();
                self.conns.push(Box::new(new()));
                self.folds_made += 1;
                self.slot.insert(stream, at);
                at
            }
        }
    }

    /// A connection closed ([`EventSink::closing`]); `f` is its summary as it stands. A
    /// retiring builder retires it now if no detector reads it, while its fold is still in
    /// the processor's caches: its final summary comes only once a few thousand more
    /// connections closed, and retiring it then read every fold back from memory (on a
    /// capture of short connections, a third of a `story` run's time went to that distance).
    /// The decision is the one the final summary would make: late packets are counted, not
    /// analysed, so they change no event and nothing a detector reads, and the one input
    /// from other connections, the certificate URLs, already holds every certificate
    /// before this connection's last request (the revocation detector reads only fetches
    /// after their certificate). A TLS connection that keeps certificate URLs waits for its
    /// final summary, as does any connection still read.
    ///
    /// One case differs: a connection that a client's SYN with its first sequence number
    /// restarts after it closed (the same stream, as in tshark: a duplicate SYN arriving
    /// late, or a crafted capture) is folded anew from the restart on; what was retired is
    /// not read back (keeping every fold until its final summary, to take it back then,
    /// cost 9 % of `story` on short connections and 13 MiB). Its story is the same; a
    /// detector reading the connection sees the restart's exchanges, not the first run's,
    /// which no detector read (it was quiet).
    pub fn closing(&mut self, f: &FlowSummary) {
        // A receive window that was zero is `tcp-zero-window`'s business: never quiet.
        if !self.retire_quiet || f.zero_window.is_some() {
            return;
        }
        let Some(&at) = self.slot.get(&f.stream) else {
            return;
        };
        let Some(fold) = self.conns.get_mut(at) else {
            return;
        };
        let before = (fold.conn.client, fold.conn.server, fold.conn.last_time);
        let flow_before = fold.conn.flow.replace(f.into());
        fold.conn.client = f.client;
        fold.conn.server = f.server;
        fold.conn.last_time = Some(f.end);
        fold.correct_roles();
        if self.retire_if_quiet(at, false).is_some() {
            self.awaiting_final.insert(f.stream);
            return;
        }
        // Left as the final summary will find it.
        if let Some(fold) = self.conns.get_mut(at) {
            (fold.conn.client, fold.conn.server, fold.conn.last_time) = before;
            fold.conn.flow = flow_before;
        }
    }

    /// Retires the connection at `at` to its endpoints if no detector reads it. Its slot
    /// goes too (a million retired connections would keep a million slots): something more
    /// about it would start a new fold, which [`IndexBuilder::finish`] prefers (the pipeline
    /// reports nothing about a connection after its summary). Not a TLS connection that
    /// would keep certificate URLs, unless `with_certificate`. Gives what it keeps of a
    /// retired connection.
    fn retire_if_quiet(&mut self, at: usize, with_certificate: bool) -> Option<QuietConn> {
        let fold = self.conns.get(at)?;
        let quiet = fold.quiet(&self.cert_urls)?;
        if quiet.certificate.is_some() && !with_certificate {
            return None;
        }
        let last_frame = fold.conn.flow.as_ref().map_or(0, |f| f.last_frame);
        let quiet_handshake_done = quiet.handshake_done;
        let certificate = quiet.certificate.map(|(frame, urls)| {
            let shared = match self.url_lists.get(urls) {
                Some(shared) => Arc::clone(shared),
                None => {
                    let shared: Arc<[(String, &'static str)]> = urls.into();
                    if self.url_lists.len() < MAX_URL_LISTS {
                        self.url_lists.insert(Arc::clone(&shared));
                    }
                    shared
                }
            };
            (frame, shared)
        });
        let fold = self.conns.swap_remove(at);
        if let Some(moved) = self.conns.get(at) {
            self.slot.insert(moved.conn.stream, at);
        }
        let c = fold.conn;
        self.slot.remove(&c.stream);
        let answers = (c.exchanges.iter())
            .filter(|x| x.ntlm_request == Some(3))
            .map(|x| RetiredNtlmAnswer {
                stream: c.stream,
                client: c.client,
                server: c.server,
                request_frame: x.request_frame,
                response: (x.response.as_ref())
                    .map(|r| (r.frame, r.status, r.reason.as_str().into())),
            });
        self.ntlm_answers.extend(answers);
        if let Some((frame, urls)) = certificate {
            self.certificates.push(RetiredCertificate {
                stream: c.stream,
                client: c.client,
                server: c.server,
                frame,
                last_frame,
                handshake_done: quiet_handshake_done,
                urls,
            });
        }
        let quiet = QuietConn {
            stream: c.stream,
            client: c.client,
            server: c.server,
            is_proxy: c.is_proxy,
            last_frame,
        };
        self.quiet.push(quiet, self.folds_made);
        Some(quiet)
    }

    fn note_cert_urls(&mut self, m: &TlsMessage) {
        let TlsMessage::Handshake(h) = m else { return };
        let HandshakeBody::Certificate(chain) = &h.body else {
            return;
        };
        for c in &chain.certificates {
            for u in c
                .crl_urls
                .iter()
                .chain(&c.ocsp_urls)
                .chain(&c.ca_issuers_urls)
            {
                if self.cert_urls.len() >= MAX_CERT_URLS {
                    // Without every URL, neither a quiet connection nor an unread exchange
                    // can be told from a certificate fetch: keep them all.
                    self.retire_quiet = false;
                    self.cert_urls_overflowed = true;
                    return;
                }
                self.cert_urls.insert(normalize_url(u));
            }
        }
    }

    /// Connections folded so far.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// No connection folded yet.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// The index, given the time of the capture's last frame.
    pub fn finish(self, capture_end: Option<Timestamp>) -> Index {
        let mut quiet = self.quiet;
        quiet.finish(|_| true);
        let conns: BTreeMap<u64, ConnIndex> = (self.conns.into_iter())
            .map(|fold| {
                let mut fold = *fold;
                // Something came after a retired connection's summary: its roles are the
                // summary's, not a guess from the late event.
                if let (None, Some(q)) = (&fold.conn.flow, quiet.get(fold.conn.stream)) {
                    fold.conn.client = q.client;
                    fold.conn.server = q.server;
                    fold.conn.is_proxy |= q.is_proxy;
                }
                (fold.conn.stream, fold.finish())
            })
            .collect();
        quiet.finish(|stream| !conns.contains_key(&stream));
        // Stable sorts: a stream's first certificate and its answers in exchange order stay
        // first. What belongs to a stream that came back to life is dropped with its entry
        // in `quiet`.
        let mut certificates = self.certificates;
        certificates.sort_by_key(|c| c.stream);
        certificates.dedup_by_key(|c| c.stream);
        certificates.retain(|c| !conns.contains_key(&c.stream));
        let mut ntlm_answers = self.ntlm_answers;
        ntlm_answers.sort_by_key(|a| a.stream);
        ntlm_answers.retain(|a| !conns.contains_key(&a.stream));
        Index {
            conns,
            quiet,
            certificates,
            ntlm_answers,
            accepted: self.accepted,
            capture_end,
        }
    }
}

impl EventSink for IndexBuilder {
    fn event(&mut self, event: &Event) {
        IndexBuilder::event(self, event);
    }
    fn flow(&mut self, flow: &FlowSummary) {
        IndexBuilder::flow(self, flow);
    }
    fn closing(&mut self, flow: FlowSummary) {
        IndexBuilder::closing(self, &flow);
    }
    fn wants_closing(&self) -> bool {
        self.retire_quiet
    }
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

fn keep_alive_reason(r: &KeepAliveReason) -> &'static str {
    match r {
        KeepAliveReason::Http11Default => "HTTP/1.1 keeps connections open by default",
        KeepAliveReason::Http11ConnectionKeepAlive => "HTTP/1.1 with Connection: keep-alive",
        KeepAliveReason::Http11ProxyConnectionKeepAlive => {
            "HTTP/1.1 with Proxy-Connection: keep-alive"
        }
        KeepAliveReason::ConnectionClose => "Connection: close",
        KeepAliveReason::ProxyConnectionClose => "Proxy-Connection: close",
        KeepAliveReason::Http10ConnectionKeepAlive => "HTTP/1.0 with Connection: keep-alive",
        KeepAliveReason::Http10ProxyConnectionKeepAlive => {
            "HTTP/1.0 with Proxy-Connection: keep-alive"
        }
        KeepAliveReason::Http10Default => {
            "HTTP/1.0 without a keep-alive header closes after one response"
        }
        KeepAliveReason::CloseDelimitedBody => "the body ends when the connection closes",
    }
}

/// For a rejected login that only `auth-rejected` reads (credentials other than NTLM answered
/// by 401 or 407, a refused CONNECT included, not a certificate fetch): its scheme and user,
/// the way that detector groups them.
fn rejection<'x>(
    x: &'x Exchange,
    cert_urls: &HashSet<String>,
) -> Option<(&'x str, Option<&'x str>)> {
    let scheme = x.credentials.as_deref()?;
    let response = x.response.as_ref()?;
    let only_counted = x.ntlm_request.is_none()
        && response.ntlm_response.is_none()
        && matches!(response.status, 401 | 407)
        && !(x.url.as_deref()).is_some_and(|u| cert_urls.contains(&normalize_url(u)));
    only_counted.then_some((scheme, x.basic_user.as_deref()))
}

/// Whether exchange `x` (at position `at` on its connection, whose last NTLM Type 3 is at
/// `last_type3`) is a leg of an NTLM handshake settled on its own connection, which no
/// detector reports: a Type 1 whose challenge is answered by a later Type 3 on the
/// connection (`ntlm-connection-switch` and the abandoned-handshake check look no further;
/// `auth-rejected` skips Type 1s), a Type 1 answered without a challenge and without
/// 401/407, or an accepted Type 3 with another Type 3 after it (so every earlier challenge
/// still finds a later answer here). Not a CONNECT that opened (or may still open) a tunnel,
/// nor a certificate fetch: other detectors read those. Forgetting these bounds a handshake
/// flood on one connection; the cost is that such a Type 3 is no longer a candidate answer
/// to a challenge left open on another connection of the same client (docs/robustness.md,
/// "Known limits").
fn settled_ntlm_leg(
    at: usize,
    x: &Exchange,
    last_type3: Option<usize>,
    cert_urls: &HashSet<String>,
) -> bool {
    let Some(response) = &x.response else {
        return false;
    };
    let answered_later = last_type3.is_some_and(|last| last > at);
    let fetch = !cert_urls.is_empty()
        && (x.url.as_deref()).is_some_and(|u| cert_urls.contains(&normalize_url(u)));
    if fetch || opens_tunnel(x) {
        return false;
    }
    let refused = matches!(response.status, 401 | 407);
    match x.ntlm_request {
        // Challenged, and the challenge answered here.
        Some(1) if response.ntlm_response == Some(2) => answered_later,
        // Neither challenged nor refused: no detector looks at it (`ntlm-challenge-missing`
        // wants a 401/407).
        Some(1) => !refused && response.ntlm_response.is_none(),
        Some(3) => answered_later && response.ntlm_response.is_none() && !refused,
        _ => false,
    }
}

/// Whether a detector reads exchange `x`: it carries credentials refused or not answered
/// yet, or an NTLM token (the authentication detectors), it is a CONNECT that opened a
/// tunnel or is still unanswered (the tunnel detector) or it fetched a certificate URL seen
/// so far (the revocation detector).
fn is_read(x: &Exchange, cert_urls: &HashSet<String>) -> bool {
    let fetch = !cert_urls.is_empty()
        && (x.url.as_deref()).is_some_and(|u| cert_urls.contains(&normalize_url(u)));
    // Credentials matter to `auth-rejected` only when refused (or not answered yet): a
    // browser sends Basic credentials with every request of a keep-alive connection.
    let refused_or_pending = (x.response.as_ref()).is_none_or(|r| matches!(r.status, 401 | 407));
    (x.credentials.is_some() && refused_or_pending)
        || x.ntlm_request.is_some()
        || (x.response.as_ref()).is_some_and(|r| r.ntlm_response.is_some())
        || opens_tunnel(x)
        || fetch
}

/// Whether `x` is a CONNECT the tunnel detector may cite: answered 2xx, or not answered yet.
/// A refused CONNECT (a proxy's 407 before the client retries with credentials) is read only
/// as a login, like any other request.
fn opens_tunnel(x: &Exchange) -> bool {
    x.method.eq_ignore_ascii_case("CONNECT")
        && (x.response.as_ref()).is_none_or(|r| r.status / 100 == 2)
}

/// The strings of an HTTP head that the index keeps, when they were taken out of an event
/// handed over ([`IndexBuilder::take_event`]); `None` where the index copies the event's.
#[derive(Default)]
struct HeadStrings {
    method: Option<String>,
    target: Option<String>,
    reason: Option<String>,
}

impl HeadStrings {
    fn take(m: &mut HttpMessage) -> Self {
        let take = |s: &mut String| Some(std::mem::take(s));
        match m {
            HttpMessage::Request(r) => HeadStrings {
                method: take(&mut r.head.method),
                target: take(&mut r.head.target),
                reason: None,
            },
            HttpMessage::Response(r) => HeadStrings {
                reason: take(&mut r.head.reason),
                ..HeadStrings::default()
            },
            _ => HeadStrings::default(),
        }
    }
}

/// Folds an HTTP message into its connection; for a final 2xx or 3xx answering a request
/// that carried credentials, those credentials and their acceptance.
fn index_http(
    conn: &mut ConnIndex,
    e: &Event,
    m: &HttpMessage,
    strings: HeadStrings,
) -> Option<(CredentialsKey, AcceptedCredentials)> {
    match m {
        HttpMessage::Request(r) => {
            let method = strings.method.unwrap_or_else(|| r.head.method.clone());
            let target = strings.target.unwrap_or_else(|| r.head.target.clone());
            // Every request is looked at: found from the colons, not by the general
            // substring search (`contains("://")`, a few hundred instructions).
            let absolute = split_scheme(&target).is_some();
            if absolute || method.eq_ignore_ascii_case("CONNECT") {
                conn.is_proxy = true;
            }
            let url = if absolute {
                Some(target.clone())
            } else {
                r.head
                    .headers
                    .get("host")
                    .filter(|_| target.starts_with('/'))
                    .map(|host| {
                        // Built in place (`concat` of the three pieces cost twice as much).
                        let mut url = String::with_capacity(7 + host.len() + target.len());
                        url.push_str("http://");
                        url.push_str(host);
                        url.push_str(&target);
                        url
                    })
            };
            let cred = r.head.headers.credentials.first();
            let basic = cred
                .filter(|c| c.kind == HttpAuthScheme::Basic)
                .and_then(|c| c.basic.as_ref());
            // Most connections carry one exchange: room for one, not the four a first push
            // reserves (a larger block, from a slower path of the allocator).
            if conn.exchanges.capacity() == 0 {
                conn.exchanges.reserve_exact(1);
            }
            conn.exchanges.push(Exchange {
                stream: conn.stream,
                exchange: r.exchange,
                request_frame: e.frame,
                request_time: e.time,
                method,
                target,
                url,
                version: r.head.version.as_str(),
                request_keep_alive: r.keep_alive,
                request_keep_alive_reason: keep_alive_reason(&r.keep_alive_reason),
                credentials: cred.map(|c| c.scheme.clone()),
                basic_user: basic.map(|b| b.user.clone()),
                basic_password: basic.map(|b| password_fingerprint(b.password.expose())),
                ntlm_request: None,
                response: None,
            });
            None
        }
        HttpMessage::Response(r) => {
            if r.head.status == 407 {
                conn.is_proxy = true;
            }
            if r.interim {
                return None;
            }
            let resp = ExchangeResponse {
                frame: e.frame,
                time: e.time,
                status: r.head.status,
                reason: (strings.reason).unwrap_or_else(|| r.head.reason.clone()),
                version: r.head.version.as_str(),
                keep_alive: r.keep_alive,
                keep_alive_reason: keep_alive_reason(&r.keep_alive_reason),
                challenges: r
                    .head
                    .headers
                    .challenges
                    .iter()
                    .map(|c| c.scheme.clone())
                    .collect(),
                ntlm_response: None,
            };
            let target = r.exchange.and_then(|x| {
                conn.exchanges
                    .iter_mut()
                    .rev()
                    .find(|ex| ex.exchange == x && ex.response.is_none())
            });
            let ex = target?;
            ex.response = Some(resp);
            let scheme = ex.credentials.clone()?;
            // The response goes server → client: the request's own endpoints.
            let (Some(server), Some(client)) = (e.src, e.dst) else {
                return None;
            };
            (200..400).contains(&r.head.status).then(|| {
                let key = CredentialsKey {
                    client: client.ip(),
                    server,
                    scheme,
                    user: ex.basic_user.clone(),
                };
                let accepted = AcceptedCredentials {
                    stream: conn.stream,
                    request_frame: ex.request_frame,
                    response_frame: e.frame,
                    status: r.head.status,
                    basic_password: ex.basic_password,
                };
                (key, accepted)
            })
        }
        _ => None,
    }
}

fn index_ntlm(conn: &mut ConnIndex, n: &NtlmEvent) {
    let Some(t) = n.message_type else { return };
    let Some(x) = n.exchange else { return };
    if let Some(ex) = conn.exchanges.iter_mut().rev().find(|ex| ex.exchange == x) {
        if t == 2 {
            if let Some(r) = ex.response.as_mut() {
                r.ntlm_response = Some(2);
            }
        } else {
            ex.ntlm_request = Some(t);
        }
    }
}

/// The client an event's content shows: the sender of an HTTP request or a ClientHello, the
/// receiver of a final HTTP response or a ServerHello.
fn content_client(e: &Event) -> Option<SocketAddr> {
    match &e.detail {
        Detail::Http(m) => match m.as_ref() {
            HttpMessage::Request(_) => e.src,
            HttpMessage::Response(r) if !r.interim => e.dst,
            _ => None,
        },
        Detail::Tls(TlsMessage::Handshake(h)) => match h.handshake_type {
            1 => e.src,
            2 => e.dst,
            _ => None,
        },
        _ => None,
    }
}
