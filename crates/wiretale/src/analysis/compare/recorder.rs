//! A capture described as conversations while it is analysed, without keeping its events.
//!
//! [`conversations`](super::conversations) reads a whole [`Analysis`](crate::analysis::Analysis):
//! every event of the capture in memory. [`ConversationRecorder`] is an [`EventSink`] that
//! holds the events of the connections still open, and when a connection's summary arrives
//! (the pipeline reports nothing about a connection after it) turns them into that
//! connection's steps and folds them into its conversation, of which at most `max_steps` are
//! kept. A connection holds its events until it closes, but no more of them than can make
//! its first `max_steps + 1` steps (see `OpenConn::hold`). Memory grows with the open
//! connections, the conversations and the diagnosis's index, not with the capture: a capture
//! of a million short connections to a handful of services is a handful of conversations of
//! capped steps, 16 bytes per connection (its first frame and stream) and the retiring index
//! `story` keeps.
//!
//! The conversations are those [`conversations`](super::conversations) finds in the
//! [`Analysis`](crate::analysis::Analysis) of the same capture (tests compare the two on every
//! capture they have). The diagnosis is the one `wiretale story` gives (built by a retiring
//! [`IndexBuilder`], as [`StoryRecorder`](crate::analysis::StoryRecorder) does): the same as
//! the `Analysis`'s except in the rare cases `docs/robustness.md` lists under "Known limits".
//! Events of a stream that arrive after its summary (only in a sharded run that already
//! differs from the single-threaded one) are counted and not folded.

use super::conversation::{conn_steps, first_frame, identify, Conversation, Identity, Step};
use crate::analysis::{diagnose_capture, ConnIndex, Diagnosis, IndexBuilder};
use crate::capture::Timestamp;
use crate::pipeline::Report;
use crate::proto::http::HttpMessage;
use crate::proto::tls::TlsMessage;
use crate::tcp::{ConnEvent, FlowSummary};
use crate::timeline::{Detail, Event, EventSink};
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// Folds a capture's connections into conversations as the pipeline runs (see the module
/// docs).
///
/// ```no_run
/// use wiretale::analysis::compare::{compare_described, CompareOptions, ConversationRecorder};
/// use wiretale::pipeline::{analyze_path, AnalyzerConfig};
///
/// let opts = CompareOptions::default();
/// let config = AnalyzerConfig::default();
/// let describe = |path: &str| -> Result<_, wiretale::capture::CaptureError> {
///     let mut recorder = ConversationRecorder::new(opts.max_steps);
///     let report = analyze_path(path, &config, &mut recorder)?;
///     Ok(recorder.finish(report))
/// };
/// let working = describe("case-study-working.pcapng")?;
/// let failing = describe("case-study.pcapng")?;
/// let diff = compare_described(&working, &failing, &opts);
/// println!("different: {}", diff.different);
/// # Ok::<(), wiretale::capture::CaptureError>(())
/// ```
#[derive(Debug)]
pub struct ConversationRecorder {
    /// For the diagnosis, as [`StoryRecorder`](crate::analysis::StoryRecorder) builds it.
    index: IndexBuilder,
    /// Connections whose summary has not arrived: their events and their own index.
    open: HashMap<u64, OpenConn>,
    /// Conversations by identity.
    groups: BTreeMap<Identity, Group>,
    max_steps: usize,
    /// Time of the first event, for a capture whose counters have no first frame time.
    first_event_time: Option<Timestamp>,
    /// Streams already folded, one bit each (the pipeline numbers streams from 0).
    folded: Vec<u64>,
    /// Events of a stream that came after its summary, not folded.
    late_events: u64,
    /// Events not held because every step they could make is past the cap.
    events_past_cap: u64,
}

#[derive(Debug)]
struct OpenConn {
    events: Vec<Event>,
    index: IndexBuilder,
    /// The frames of the earliest events that surely start a step of their own, at most
    /// `max_steps + 1` of them (a max-heap: the top is the latest of those kept).
    step_frames: BinaryHeap<u64>,
    /// Events not held because they come after the connection's `max_steps + 1`-th step.
    skipped: u64,
    /// The latest frame of the events held other than runs of data ([`is_run`]).
    latest_other: u64,
    /// Runs of data held (see `OpenConn::add_to_held_run`).
    runs_held: usize,
}

/// Runs of data (TLS application data, bytes not decoded) a connection's events hold one by
/// one; later runs are added
/// to the last one of their sender when they can be (see `OpenConn::add_to_held_run`).
const RUNS_HELD_EXACTLY: usize = 64;

impl Default for OpenConn {
    fn default() -> Self {
        OpenConn {
            events: Vec::new(),
            // A long keep-alive connection's plain requests are not kept here either.
            index: IndexBuilder::forgetting_unread(),
            step_frames: BinaryHeap::new(),
            skipped: 0,
            latest_other: 0,
            runs_held: 0,
        }
    }
}

impl OpenConn {
    /// Holds `event` unless no step it could make would be kept: once the connection has
    /// `max_steps + 1` events that each start a step, a later event (by frame; steps are
    /// told in frame order) can only touch steps past the cap, which are dropped anyway.
    /// Events of the same or an earlier frame are still held (they may merge into a kept
    /// step). This bounds a long connection (a keep-alive connection of a million
    /// requests) by `max_steps`, exactly: the steps kept are those of every event.
    fn hold(&mut self, event: Event, max_steps: usize) {
        let full = self.step_frames.len() > max_steps;
        if full
            && self
                .step_frames
                .peek()
                .is_some_and(|&last| event.frame > last)
        {
            self.skipped += 1;
            return;
        }
        if is_run(&event.detail) {
            if self.runs_held >= RUNS_HELD_EXACTLY && self.add_to_held_run(&event) {
                return;
            }
            self.runs_held += 1;
        } else {
            self.latest_other = self.latest_other.max(event.frame);
        }
        if starts_a_step(&event.detail) {
            self.step_frames.push(event.frame);
            if self.step_frames.len() > max_steps + 1 {
                self.step_frames.pop();
            }
        }
        self.events.push(event);
    }
}

impl OpenConn {
    /// Adds a run of data ([`is_run`]) to the last held run of the same sender and kind,
    /// which moves to the new run's frame, when nothing held can come between them: both are
    /// later than every other event held, so they fall into one step, which adds up each
    /// side's records and bytes anyway. Without this a long TLS connection (or an SSH
    /// session, not decoded) would hold an event per turn until it closes. What is lost is the silence
    /// between the two runs: that step's longest silence inside (`compare`'s idle timing)
    /// is measured over the runs held one by one (the first [`RUNS_HELD_EXACTLY`]) and the
    /// gaps between the merged ones as they stand.
    fn add_to_held_run(&mut self, event: &Event) -> bool {
        if event.frame < self.latest_other {
            return false;
        }
        // The runs held after every other event, newest first. The oldest of them is where
        // their step starts: it never moves.
        let block = self
            .events
            .iter()
            .rev()
            .take_while(|held| held.frame >= self.latest_other && is_run(&held.detail))
            .count();
        let movable = block.saturating_sub(1);
        let first_movable = self.events.len() - movable;
        for held in self.events[first_movable..].iter_mut().rev() {
            if held.src == event.src && add_run(&mut held.detail, &event.detail) {
                held.frame = event.frame;
                held.time = event.time;
                return true;
            }
        }
        false
    }
}

/// Whether an event is a run of data that `compare` adds up with the runs next to it: TLS
/// application data, or bytes of a protocol not decoded.
fn is_run(detail: &Detail) -> bool {
    matches!(
        detail,
        Detail::Tls(TlsMessage::ApplicationData(_)) | Detail::Tcp(ConnEvent::Data { .. })
    )
}

/// Adds the run `more` to the run `into` when they are of one kind (their sender is the
/// caller's business); `false` otherwise. A run of bytes not decoded keeps its own preview:
/// the first line of where it began.
fn add_run(into: &mut Detail, more: &Detail) -> bool {
    match (into, more) {
        (
            Detail::Tls(TlsMessage::ApplicationData(sum)),
            Detail::Tls(TlsMessage::ApplicationData(run)),
        ) => {
            sum.records = sum.records.saturating_add(run.records);
            sum.bytes = sum.bytes.saturating_add(run.bytes);
            true
        }
        (
            Detail::Tcp(ConnEvent::Data { bytes: sum, .. }),
            Detail::Tcp(ConnEvent::Data { bytes, .. }),
        ) => {
            *sum = sum.saturating_add(*bytes);
            true
        }
        _ => false,
    }
}

/// Whether `conn_steps` always makes a new step of this event (never merges it into the one
/// before or drops it). Events that may merge or be dropped answer `false`, which can only
/// make `OpenConn::hold` keep more than it needs.
fn starts_a_step(detail: &Detail) -> bool {
    match detail {
        Detail::Tcp(c) => matches!(
            c,
            ConnEvent::Syn
                | ConnEvent::SynAck
                | ConnEvent::Fin { .. }
                | ConnEvent::Rst { .. }
                | ConnEvent::OpenAtEnd { .. }
        ),
        Detail::Http(m) => match m.as_ref() {
            HttpMessage::Request(_)
            | HttpMessage::TunnelEstablished { .. }
            | HttpMessage::ProtocolSwitched { .. }
            | HttpMessage::ConnectionClosedWithOutstandingRequest { .. } => true,
            HttpMessage::Response(r) => !r.interim,
            _ => false,
        },
        // Alerts are never merged; other records may be (runs of application data, a
        // handshake message of the same kind as the one before).
        Detail::Tls(m) => matches!(m, TlsMessage::Alert(_) | TlsMessage::EncryptedAlert(_)),
        Detail::Ntlm(_) => false,
    }
}

/// One conversation being folded.
#[derive(Debug, Default)]
struct Group {
    /// Every connection's first frame and stream.
    conns: Vec<(u64, u64)>,
    /// The first `max_steps` steps in connection order, by (first frame, stream).
    kept: BTreeMap<(u64, u64), Vec<Step>>,
    kept_len: usize,
    /// Steps of every connection, kept or not.
    seen_steps: usize,
    last_frame: u64,
    /// The handshake time of the first TLS connection (by first frame and stream) that has one.
    tls_handshake: Option<((u64, u64), f64)>,
}

impl Group {
    /// Adds one connection's steps, keeping only the first `max_steps` in connection order.
    fn add(&mut self, key: (u64, u64), steps: Vec<Step>, max_steps: usize) {
        self.conns.push(key);
        self.seen_steps = self.seen_steps.saturating_add(steps.len());
        if steps.is_empty() {
            return;
        }
        // Steps of connections that start after the last kept one are dropped at once when
        // the cap is full; otherwise they go in and the latest ones give way.
        if self.kept_len >= max_steps && self.kept.last_key_value().is_some_and(|(k, _)| *k < key) {
            return;
        }
        // More than `max_steps` of one connection can never be kept.
        let steps = steps.into_iter().take(max_steps);
        let before = self.kept.get(&key).map_or(0, Vec::len);
        let list = self.kept.entry(key).or_default();
        list.extend(steps);
        self.kept_len += list.len() - before;
        while self.kept_len > max_steps {
            let Some(mut last) = self.kept.last_entry() else {
                break;
            };
            let excess = self.kept_len - max_steps;
            let steps = last.get_mut();
            if steps.len() <= excess {
                self.kept_len -= steps.len();
                last.remove();
            } else {
                steps.truncate(steps.len() - excess);
                self.kept_len = max_steps;
            }
        }
    }

    fn into_conversation(
        mut self,
        identity: Identity,
        max_steps: usize,
        start: Timestamp,
    ) -> Conversation {
        self.conns.sort_unstable();
        let mut steps: Vec<Step> = self.kept.into_values().flatten().collect();
        for s in &mut steps {
            s.offset_secs = s.time.seconds_since(start);
        }
        Conversation {
            streams: self.conns.iter().map(|&(_, stream)| stream).collect(),
            first_frame: self.conns.first().map_or(0, |&(first, _)| first),
            last_frame: self.last_frame,
            steps,
            truncated: self.seen_steps > max_steps,
            tls_handshake_secs: self.tls_handshake.map(|(_, secs)| secs),
            identity,
        }
    }
}

/// A capture as [`compare_described`](super::compare_described) reads it.
#[derive(Debug, Clone)]
pub struct CaptureDescription {
    /// Its conversations, in order of their first frame.
    pub conversations: Vec<Conversation>,
    /// Its diagnosis.
    pub diagnosis: Diagnosis,
    /// Counters and damage.
    pub report: Report,
    /// Steps kept per conversation.
    pub max_steps: usize,
    /// Events of a stream that arrived after its summary and were not folded.
    pub late_events: u64,
    /// Events of long connections not held because every step they could make was past the
    /// cap (their conversations say `truncated`).
    pub events_past_cap: u64,
}

impl ConversationRecorder {
    /// A recorder keeping at most `max_steps` steps per conversation (clamped to 1 ..=
    /// [`MAX_ALIGNED_STEPS`](super::MAX_ALIGNED_STEPS), as [`compare`](super::compare) does).
    pub fn new(max_steps: usize) -> Self {
        ConversationRecorder {
            index: IndexBuilder::retiring_quiet(),
            open: HashMap::new(),
            groups: BTreeMap::new(),
            max_steps: max_steps.clamp(1, super::MAX_ALIGNED_STEPS),
            first_event_time: None,
            folded: Vec::new(),
            late_events: 0,
            events_past_cap: 0,
        }
    }

    fn is_folded(&self, stream: u64) -> bool {
        let (word, bit) = ((stream / 64) as usize, stream % 64);
        self.folded.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn mark_folded(&mut self, stream: u64) {
        let (word, bit) = ((stream / 64) as usize, stream % 64);
        // Stream numbers are dense (one per connection seen), so this grows by one bit per
        // connection; a number far beyond that would be a bug, not input, but stays cheap to
        // refuse rather than allocate for.
        if word > self.folded.len().saturating_add(1 << 20) {
            return;
        }
        if self.folded.len() <= word {
            self.folded.resize(word + 1, 0);
        }
        if let Some(w) = self.folded.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// Connections whose summary has not arrived yet.
    pub fn open_connections(&self) -> usize {
        self.open.len()
    }

    /// Turns a finished connection into steps and folds them into its conversation.
    fn fold(&mut self, stream: u64, open: OpenConn) {
        self.mark_folded(stream);
        self.events_past_cap = self.events_past_cap.saturating_add(open.skipped);
        let Some(conn) = open.index.finish(None).conns.remove(&stream) else {
            return;
        };
        let events: Vec<&Event> = open.events.iter().collect();
        self.fold_conn(&conn, events);
    }

    fn fold_conn(&mut self, conn: &ConnIndex, events: Vec<&Event>) {
        let first = first_frame(conn);
        let identity = identify(conn);
        // Offsets are measured from the capture's start once it is known (`finish`).
        let steps = conn_steps(conn, events, &identity, Timestamp::default());
        let last = conn.flow.as_ref().map_or(first, |f| f.last_frame);
        let last = steps.iter().map(|s| s.frame).fold(last, u64::max);
        let key = (first, conn.stream);
        let tls_secs = conn
            .tls
            .then(|| conn.tls_progress.as_ref().and_then(|p| p.handshake_secs()))
            .flatten();
        let max_steps = self.max_steps;
        let group = self.groups.entry(identity).or_default();
        group.last_frame = group.last_frame.max(last);
        if let Some(secs) = tls_secs {
            if group
                .tls_handshake
                .is_none_or(|(earliest, _)| key < earliest)
            {
                group.tls_handshake = Some((key, secs));
            }
        }
        group.add(key, steps, max_steps);
    }

    /// The conversations and the diagnosis, once the pipeline has finished.
    pub fn finish(mut self, report: Report) -> CaptureDescription {
        // The pipeline summarises every connection by the end; anything left (a connection
        // reported only through events) is folded the same way.
        let mut left: Vec<(u64, OpenConn)> = self.open.drain().collect();
        left.sort_unstable_by_key(|(stream, _)| *stream);
        for (stream, open) in left {
            self.fold(stream, open);
        }
        let index = self.index.finish(report.stats.last_time);
        let diagnosis = diagnose_capture(&index, &report);
        let start = report
            .stats
            .first_time
            .or(self.first_event_time)
            .unwrap_or_default();
        let max_steps = self.max_steps;
        let mut conversations: Vec<Conversation> = (self.groups.into_iter())
            .map(|(identity, group)| group.into_conversation(identity, max_steps, start))
            .collect();
        conversations
            .sort_by(|a, b| (a.first_frame, &a.identity).cmp(&(b.first_frame, &b.identity)));
        CaptureDescription {
            conversations,
            diagnosis,
            report,
            max_steps,
            late_events: self.late_events,
            events_past_cap: self.events_past_cap,
        }
    }
}

impl EventSink for ConversationRecorder {
    fn event(&mut self, event: &Event) {
        self.take_event(event.clone());
    }

    fn take_event(&mut self, event: Event) {
        self.first_event_time.get_or_insert(event.time);
        self.index.event(&event);
        if let Some(stream) = event.stream {
            if self.is_folded(stream) {
                self.late_events += 1;
                return;
            }
            let max_steps = self.max_steps;
            let open = self.open.entry(stream).or_default();
            open.index.event(&event);
            open.hold(event, max_steps);
        }
    }

    fn flow(&mut self, flow: &FlowSummary) {
        self.index.flow(flow);
        if self.is_folded(flow.stream) {
            return;
        }
        let mut open = self.open.remove(&flow.stream).unwrap_or_default();
        open.index.flow(flow);
        self.fold(flow.stream, open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::compare::StepKind;
    use crate::proto::tls::ApplicationDataSummary;

    fn step(stream: u64, n: u64) -> Step {
        Step {
            frame: n,
            time: Timestamp::default(),
            offset_secs: 0.0,
            stream,
            actor: "client",
            proto: "tcp",
            kind: StepKind::Message,
            key: format!("{stream}/{n}"),
            text: String::new(),
            attrs: BTreeMap::new(),
            idle_secs: None,
            last: (n, Timestamp::default()),
            longest_gap_inside: None,
        }
    }

    /// A TLS connection of many request/response turns holds a bounded number of events:
    /// past the first runs held one by one, each run is added to its sender's last one.
    #[test]
    fn a_long_tls_connection_holds_a_bounded_number_of_runs() {
        use crate::timeline::Frames;
        let client: std::net::SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let server: std::net::SocketAddr = "10.0.0.1:443".parse().unwrap();
        let event = |frame: u64, detail: Detail, from_client: bool| Event {
            frame,
            frames: Frames::one(frame),
            time: Timestamp {
                secs: i64::try_from(frame).unwrap(),
                nanos: 0,
            },
            stream: Some(0),
            src: Some(if from_client { client } else { server }),
            dst: Some(if from_client { server } else { client }),
            tunnel: None,
            detail,
        };
        let run = |records| {
            Detail::Tls(TlsMessage::ApplicationData(ApplicationDataSummary {
                records,
                bytes: 10 * records,
            }))
        };
        let mut recorder = ConversationRecorder::new(1000);
        recorder.take_event(event(1, Detail::Tcp(ConnEvent::Syn), true));
        for turn in 0..10_000u64 {
            recorder.take_event(event(2 + 2 * turn, run(1), true));
            recorder.take_event(event(3 + 2 * turn, run(2), false));
        }
        let open = &recorder.open[&0];
        assert!(
            open.events.len() <= 1 + RUNS_HELD_EXACTLY + 3,
            "{} events held",
            open.events.len()
        );
        let runs = |from_client: bool| {
            let src = Some(if from_client { client } else { server });
            open.events
                .iter()
                .filter(|e| e.src == src)
                .filter_map(|e| match &e.detail {
                    Detail::Tls(TlsMessage::ApplicationData(a)) => Some(a.records),
                    _ => None,
                })
                .sum::<u64>()
        };
        // Nothing lost: every record is counted, and the runs still start at frame 2.
        assert_eq!((runs(true), runs(false)), (10_000, 20_000));
        let first_run = open.events.iter().find(|e| e.frame > 1).unwrap();
        assert_eq!(first_run.frame, 2);
        assert_eq!(open.events.iter().map(|e| e.frame).max(), Some(20_001));
    }

    /// The same for a long conversation of a protocol not decoded (an SSH session): its runs
    /// of bytes are added up the same way, bytes never lost.
    #[test]
    fn a_long_conversation_not_decoded_holds_a_bounded_number_of_runs() {
        use crate::tcp::Dir;
        use crate::timeline::Frames;
        let client: std::net::SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let server: std::net::SocketAddr = "10.0.0.1:22".parse().unwrap();
        let event = |frame: u64, dir: Dir, bytes: u64| {
            let (src, dst) = match dir {
                Dir::ToServer => (client, server),
                Dir::ToClient => (server, client),
            };
            Event {
                frame,
                frames: Frames::one(frame),
                time: Timestamp {
                    secs: i64::try_from(frame).unwrap(),
                    nanos: 0,
                },
                stream: Some(0),
                src: Some(src),
                dst: Some(dst),
                tunnel: None,
                detail: Detail::Tcp(ConnEvent::Data {
                    dir,
                    bytes,
                    preview: None,
                }),
            }
        };
        let mut recorder = ConversationRecorder::new(1000);
        for turn in 0..10_000u64 {
            recorder.take_event(event(2 + 2 * turn, Dir::ToServer, 3));
            recorder.take_event(event(3 + 2 * turn, Dir::ToClient, 5));
        }
        let open = &recorder.open[&0];
        assert!(
            open.events.len() <= RUNS_HELD_EXACTLY + 2,
            "{} events held",
            open.events.len()
        );
        let sent = |dir: Dir| {
            open.events
                .iter()
                .filter_map(|e| match &e.detail {
                    Detail::Tcp(ConnEvent::Data { dir: d, bytes, .. }) if *d == dir => Some(*bytes),
                    _ => None,
                })
                .sum::<u64>()
        };
        assert_eq!((sent(Dir::ToServer), sent(Dir::ToClient)), (30_000, 50_000));
        assert_eq!(open.events.first().map(|e| e.frame), Some(2));
        assert_eq!(open.events.iter().map(|e| e.frame).max(), Some(20_001));
    }

    /// Connections finish in any order; what is kept is always the first `max` steps of the
    /// connections in order of their first frame, as if they had been added in that order.
    #[test]
    fn the_cap_keeps_the_first_steps_in_connection_order() {
        let conns: Vec<((u64, u64), u64)> = (0..40u64)
            .map(|i| ((i * 7 % 13, i), i % 5)) // (first frame, stream), number of steps
            .collect();
        for max in [1usize, 2, 3, 7, 20, 1000] {
            for rotation in 0..conns.len() {
                let mut order = conns.clone();
                order.rotate_left(rotation);
                if rotation % 2 == 1 {
                    order.reverse();
                }
                let mut group = Group::default();
                for &(key, n) in &order {
                    group.add(key, (0..n).map(|k| step(key.1, k)).collect(), max);
                }
                let mut sorted = conns.clone();
                sorted.sort_unstable();
                let expected: Vec<String> = sorted
                    .iter()
                    .flat_map(|&(key, n)| (0..n).map(move |k| format!("{}/{k}", key.1)))
                    .take(max)
                    .collect();
                let total: u64 = conns.iter().map(|c| c.1).sum();
                let conv = group.into_conversation(
                    Identity {
                        role: "server",
                        service_port: 80,
                        protocol: "tcp",
                        name: None,
                    },
                    max,
                    Timestamp::default(),
                );
                let kept: Vec<String> = conv.steps.iter().map(|s| s.key.clone()).collect();
                assert_eq!(kept, expected, "max {max}, rotation {rotation}");
                assert_eq!(conv.truncated, total > max as u64);
                assert_eq!(conv.streams.len(), conns.len());
                assert_eq!(conv.first_frame, 0);
            }
        }
    }
}
