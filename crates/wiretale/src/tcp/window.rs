//! Zero-window episodes: when a side's receive window closed, and when it opened again.
//!
//! A side that advertises a zero window (`Win=0` on a segment without SYN, FIN or RST, as
//! tshark's `tcp.analysis.zero_window` has it) tells its peer to stop sending: its receive
//! buffer is full because its application is not reading. An *episode* runs from the first
//! such segment to the first later segment of the same side (without SYN or RST) whose window
//! is not zero, the *reopening* (tshark's `[TCP Window Update]` when it carries no data), or
//! to the end of the connection (RST, both FINs, end of capture) if the window never opened
//! again. While the window is closed, a segment from the peer carrying one byte, or a
//! keep-alive-like probe (no data or one byte, one below the next sequence number: how Linux
//! probes), counts as a zero-window probe.
//!
//! The tracker ([`WindowWatch`]) is made at a connection's first zero window and boxed in the
//! flow, so a connection that never sees one pays one pointer test a segment, and no
//! allocation; the events it makes are bounded ([`MAX_REPORTED_EPISODES`] a connection).

use super::{ConnEvent, Dir};
use crate::capture::Timestamp;
use crate::net::TcpFlags;
use serde::Serialize;

/// Zero-window episodes of one connection (both sides together) reported as events
/// ([`ConnEvent::ZeroWindow`] and [`ConnEvent::WindowReopened`]); later ones are only counted
/// in the summary ([`ZeroWindowStats::not_reported`]), so a capture whose windows flap cannot
/// make an event per segment.
pub const MAX_REPORTED_EPISODES: u32 = 16;

/// One zero-window episode of a side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZeroWindowEpisode {
    /// The first segment of the episode advertising the zero window.
    pub frame: u64,
    /// Its capture time.
    pub time: Timestamp,
    /// The segment that advertised a non-zero window again; `None` when the window was still
    /// closed when the connection ended.
    pub reopened_frame: Option<u64>,
    /// Seconds the window stayed closed: to the reopening, or, when it never reopened, to the
    /// segment that ended the connection (its last frame when it was open at the end of the
    /// capture).
    pub closed_secs: f64,
}

/// The zero-window episodes of one side of a connection (the side whose receive window was
/// zero: the sender of the segments that advertised it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZeroWindowStats {
    /// Episodes.
    pub episodes: u32,
    /// Episodes not reported as events, past [`MAX_REPORTED_EPISODES`] on the connection.
    pub not_reported: u32,
    /// The first episode.
    pub first: ZeroWindowEpisode,
    /// The longest episode (the first of equally long ones).
    pub longest: ZeroWindowEpisode,
    /// The last episode (when [`ZeroWindowStats::closed_at_end`], the one that never ended).
    pub last: ZeroWindowEpisode,
    /// Seconds the window was closed, all episodes together.
    pub closed_secs: f64,
    /// The window was still zero when the connection ended (RST, both FINs, the end of the
    /// capture, or its eviction from the flow table): the application had stopped reading.
    /// A connection that ended so and was restarted on the same stream keeps it.
    pub closed_at_end: bool,
    /// Zero-window probes the peer sent while the window was closed.
    pub probes: u64,
}

impl ZeroWindowStats {
    fn new(episode: ZeroWindowEpisode) -> Self {
        ZeroWindowStats {
            episodes: 1,
            not_reported: 0,
            first: episode,
            longest: episode,
            last: episode,
            closed_secs: 0.0,
            closed_at_end: false,
            probes: 0,
        }
    }

    /// Counts the end of the episode `open` (reopened at frame `reopened`, or still closed
    /// when the connection ended), `closed_secs` after it began.
    fn end_episode(&mut self, open: &Open, reopened: Option<u64>, closed_secs: f64) {
        self.closed_secs += closed_secs;
        let episode = ZeroWindowEpisode {
            frame: open.frame,
            time: open.time,
            reopened_frame: reopened,
            closed_secs,
        };
        if self.first.frame == open.frame {
            self.first = episode;
        }
        if self.last.frame == open.frame {
            self.last = episode;
        }
        if self.longest.frame == open.frame || closed_secs > self.longest.closed_secs {
            self.longest = episode;
        }
        if reopened.is_none() {
            self.closed_at_end = true;
        }
    }
}

/// The zero-window episodes of a connection, per side. Serialised in the flow summary with a
/// key per side that had one: `to_server` for the client's receive window (advertised on the
/// segments the client sent), `to_client` for the server's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ZeroWindows {
    /// The client's receive window (zero windows advertised by the client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_server: Option<ZeroWindowStats>,
    /// The server's receive window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_client: Option<ZeroWindowStats>,
}

impl ZeroWindows {
    /// Neither side advertised a zero window.
    pub fn is_empty(&self) -> bool {
        self.to_server.is_none() && self.to_client.is_none()
    }

    /// The episodes of the side that sends `dir` (its receive window).
    pub fn of(&self, dir: Dir) -> Option<&ZeroWindowStats> {
        match dir {
            Dir::ToServer => self.to_server.as_ref(),
            Dir::ToClient => self.to_client.as_ref(),
        }
    }

    fn of_mut(&mut self, dir: Dir) -> &mut Option<ZeroWindowStats> {
        match dir {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }
}

/// An episode in progress: the side's window is zero now.
#[derive(Debug, Clone, Copy)]
struct Open {
    frame: u64,
    time: Timestamp,
    probes: u32,
    /// Its start was reported as an event (so its reopening is too).
    reported: bool,
}

/// The tracker of a connection's zero-window episodes (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct WindowWatch {
    stats: ZeroWindows,
    /// Per direction (`Dir as usize`): the episode in progress.
    open: [Option<Open>; 2],
    /// Episodes reported as events so far, both sides.
    reported: u32,
    /// Per direction: its keep-alive count at its last segment seen (a segment that raises it
    /// was a keep-alive-like probe).
    keepalives: [u64; 2],
}

/// What one segment tells of the windows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowSegment {
    pub dir: Dir,
    pub frame: u64,
    pub time: Timestamp,
    /// The raw window field (a zero window is zero whatever the scale).
    pub window: u16,
    pub flags: TcpFlags,
    pub payload_len: u32,
    /// Keep-alive probes of the segment's direction so far, this one included if reassembly
    /// took it for one ([`super::HalfStats::keepalives`]).
    pub keepalives: u64,
}

/// Follows the windows of a connection with a segment that advertises a zero window, or of a
/// connection that had one before (`watch` is `Some`); makes the tracker at the first zero
/// window. Returns the event the segment makes,
/// if any: the start of an episode or its reopening (at most one: a segment speaks for its
/// sender's window only).
pub(crate) fn on_segment(
    watch: &mut Option<Box<WindowWatch>>,
    s: &WindowSegment,
) -> Option<ConnEvent> {
    let (syn, fin, rst) = (s.flags.syn(), s.flags.fin(), s.flags.rst());
    let zero = s.window == 0 && !syn && !fin && !rst;
    let watch = match watch {
        Some(w) => w,
        None if zero => watch.insert(Box::default()),
        None => return None,
    };
    let seen = &mut watch.keepalives[s.dir as usize];
    let keepalive = s.keepalives > *seen;
    *seen = s.keepalives;
    watch.segment(s, zero, keepalive)
}

impl WindowWatch {
    fn segment(&mut self, s: &WindowSegment, zero: bool, keepalive: bool) -> Option<ConnEvent> {
        let (i, peer) = (s.dir as usize, s.dir.flip());
        // The peer's window is closed: this may be a probe of it.
        if let Some(open) = self.open[peer as usize].as_mut() {
            if s.payload_len == 1 || keepalive {
                open.probes = open.probes.saturating_add(1);
                if let Some(stats) = self.stats.of_mut(peer) {
                    stats.probes = stats.probes.saturating_add(1);
                }
            }
        }
        let reopens = s.window != 0 && !s.flags.syn() && !s.flags.rst();
        if zero && self.open[i].is_none() {
            let episode = ZeroWindowEpisode {
                frame: s.frame,
                time: s.time,
                reopened_frame: None,
                closed_secs: 0.0,
            };
            let reported = self.reported < MAX_REPORTED_EPISODES;
            self.reported += u32::from(reported);
            let stats = self.stats.of_mut(s.dir);
            match stats {
                None => *stats = Some(ZeroWindowStats::new(episode)),
                Some(stats) => {
                    stats.episodes = stats.episodes.saturating_add(1);
                    stats.last = episode;
                }
            }
            if let (Some(stats), false) = (stats.as_mut(), reported) {
                stats.not_reported = stats.not_reported.saturating_add(1);
            }
            self.open[i] = Some(Open {
                frame: s.frame,
                time: s.time,
                probes: 0,
                reported,
            });
            return reported.then_some(ConnEvent::ZeroWindow { dir: s.dir });
        }
        if reopens {
            let open = self.open[i].take()?;
            let closed_secs = s.time.seconds_since(open.time).max(0.0);
            if let Some(stats) = self.stats.of_mut(s.dir) {
                stats.end_episode(&open, Some(s.frame), closed_secs);
            }
            return open.reported.then_some(ConnEvent::WindowReopened {
                dir: s.dir,
                closed_secs,
                probes: open.probes,
            });
        }
        None
    }

    /// The connection ended at `time` (its closing segment): episodes still open end with it,
    /// the window closed.
    pub(crate) fn close(&mut self, time: Timestamp) {
        for dir in [Dir::ToServer, Dir::ToClient] {
            if let Some(open) = self.open[dir as usize].take() {
                let closed_secs = time.seconds_since(open.time).max(0.0);
                if let Some(stats) = self.stats.of_mut(dir) {
                    stats.end_episode(&open, None, closed_secs);
                }
            }
        }
    }

    /// The episodes as a summary reports them, were the connection to end at `time` (its last
    /// frame): an episode still open counts as closed at the end.
    pub(crate) fn summary(&self, time: Timestamp) -> ZeroWindows {
        if self.open.iter().all(Option::is_none) {
            return self.stats;
        }
        let mut ended = WindowWatch {
            stats: self.stats,
            open: self.open,
            reported: self.reported,
            keepalives: self.keepalives,
        };
        ended.close(time);
        ended.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a watch with segments: `(dir, frame, secs, window, flags, payload_len)`.
    struct Drive {
        watch: Option<Box<WindowWatch>>,
        events: Vec<(u64, ConnEvent)>,
        /// Keep-alives per direction, as reassembly counts them.
        keepalives: [u64; 2],
    }

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_parts(1_000, (secs * 1e6).round() as u64, 1_000_000)
    }

    impl Drive {
        fn new() -> Self {
            Drive {
                watch: None,
                events: Vec::new(),
                keepalives: [0; 2],
            }
        }

        fn seg(&mut self, dir: Dir, frame: u64, secs: f64, window: u16, flags: TcpFlags) {
            self.send(dir, frame, secs, window, flags, 0, false);
        }

        #[allow(clippy::too_many_arguments)]
        fn send(
            &mut self,
            dir: Dir,
            frame: u64,
            secs: f64,
            window: u16,
            flags: TcpFlags,
            payload_len: u32,
            keepalive: bool,
        ) {
            self.keepalives[dir as usize] += u64::from(keepalive);
            let s = WindowSegment {
                dir,
                frame,
                time: at(secs),
                window,
                flags,
                payload_len,
                keepalives: self.keepalives[dir as usize],
            };
            // What the tracker does: only segments with a zero window, or of a watched
            // connection, are looked at.
            if window == 0 || self.watch.is_some() {
                if let Some(e) = on_segment(&mut self.watch, &s) {
                    self.events.push((frame, e));
                }
            }
        }

        fn summary(&self, secs: f64) -> ZeroWindows {
            self.watch
                .as_ref()
                .map(|w| w.summary(at(secs)))
                .unwrap_or_default()
        }
    }

    const ACK: TcpFlags = TcpFlags(0x10);
    const FIN_ACK: TcpFlags = TcpFlags(0x11);
    const RST: TcpFlags = TcpFlags(0x04);
    const SYN: TcpFlags = TcpFlags(0x02);
    const C: Dir = Dir::ToServer;
    const S: Dir = Dir::ToClient;

    fn close_enough(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// tcp-zerowindow-recovery.pcapng's shape: the client's window shrinks to zero (frame 4)
    /// and reopens 10 ms later (frame 5); the server then sends again.
    #[test]
    fn an_episode_opens_at_the_first_zero_window_and_ends_at_the_reopening() {
        let mut d = Drive::new();
        d.seg(C, 1, 0.0, 8760, ACK);
        d.seg(C, 3, 0.000430, 2920, ACK);
        assert!(d.watch.is_none(), "no tracker before a zero window");
        d.seg(C, 4, 0.000632, 0, ACK);
        d.seg(C, 5, 0.010637, 64240, ACK);
        d.send(S, 6, 0.010866, 64512, ACK, 1460, false);
        assert_eq!(d.events.len(), 2, "{:?}", d.events);
        assert_eq!(d.events[0], (4, ConnEvent::ZeroWindow { dir: C }));
        let (
            frame,
            ConnEvent::WindowReopened {
                dir,
                closed_secs,
                probes,
            },
        ) = d.events[1]
        else {
            panic!("{:?}", d.events[1]);
        };
        assert_eq!((frame, dir, probes), (5, C, 0));
        assert!(close_enough(closed_secs, 0.010005), "{closed_secs}");
        let zw = d.summary(0.011);
        assert!(zw.to_client.is_none());
        let c = zw.to_server.expect("the client's episodes");
        assert_eq!((c.episodes, c.not_reported, c.probes), (1, 0, 0));
        assert!(!c.closed_at_end);
        assert_eq!(c.first, c.longest);
        assert_eq!(c.first, c.last);
        assert_eq!((c.first.frame, c.first.reopened_frame), (4, Some(5)));
        assert!(close_enough(c.first.closed_secs, 0.010005));
    }

    /// Repeated zero windows stay one episode; SYN, FIN and RST segments neither start one
    /// (tshark ignores their window) nor, for SYN and RST, end one; a FIN with a window does.
    #[test]
    fn control_segments_follow_tsharks_rule() {
        let mut d = Drive::new();
        d.seg(C, 1, 0.0, 0, SYN);
        d.seg(C, 2, 0.1, 0, FIN_ACK);
        d.seg(C, 3, 0.2, 0, RST);
        assert!(d.events.is_empty() && d.summary(1.0).is_empty());
        d.seg(S, 4, 1.0, 0, ACK);
        d.seg(S, 5, 1.5, 0, ACK);
        d.seg(S, 6, 1.6, 100, SYN);
        d.seg(S, 7, 2.0, 100, FIN_ACK);
        assert_eq!(
            d.events.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            [4, 7],
            "{:?}",
            d.events
        );
        let s = d.summary(2.0).to_client.expect("the server's episode");
        assert_eq!(s.episodes, 1);
        assert!(close_enough(s.first.closed_secs, 1.0));
        assert!(!s.closed_at_end);
    }

    /// A window that flaps: every episode is counted and timed, the longest found, but only
    /// the first `MAX_REPORTED_EPISODES` of the connection make events.
    #[test]
    fn flapping_windows_are_counted_past_the_reported_episodes() {
        let mut d = Drive::new();
        let mut frame = 0;
        for n in 0..40u32 {
            let dir = if n % 4 == 3 { S } else { C };
            let t = f64::from(n);
            // The 11th episode is the longest: 0.5 s, the others 0.1 s.
            let closed = if n == 10 { 0.5 } else { 0.1 };
            frame += 1;
            d.seg(dir, frame, t, 0, ACK);
            frame += 1;
            d.seg(dir, frame, t + closed, 1000, ACK);
        }
        let reported = MAX_REPORTED_EPISODES as usize;
        assert_eq!(d.events.len(), 2 * reported, "a start and an end each");
        let zw = d.summary(100.0);
        let (c, s) = (zw.to_server.unwrap(), zw.to_client.unwrap());
        assert_eq!(c.episodes + s.episodes, 40);
        assert_eq!(c.episodes, 30);
        assert_eq!(c.not_reported + s.not_reported, 40 - MAX_REPORTED_EPISODES);
        assert_eq!((c.longest.frame, c.longest.reopened_frame), (21, Some(22)));
        assert!(close_enough(c.longest.closed_secs, 0.5));
        assert!(close_enough(c.closed_secs, 29.0 * 0.1 + 0.5));
        assert_eq!((c.first.frame, c.first.reopened_frame), (1, Some(2)));
        assert_eq!((s.last.frame, s.last.reopened_frame), (79, Some(80)));
        assert!(!c.closed_at_end && !s.closed_at_end);
    }

    /// The peer resets the connection while the window is closed: the episode ends with the
    /// connection, closed; its duration runs to the RST. The peer's probes are counted.
    #[test]
    fn a_window_still_closed_at_the_reset_is_closed_at_end() {
        let mut d = Drive::new();
        d.seg(C, 1, 0.0, 0, ACK);
        // Probes: one byte (Windows), a keep-alive-like empty segment (Linux); full-sized
        // data is not a probe.
        d.send(S, 2, 1.0, 5000, ACK, 1, false);
        d.send(S, 3, 3.0, 5000, ACK, 0, true);
        d.send(S, 4, 3.5, 5000, ACK, 1460, false);
        d.seg(C, 5, 3.6, 0, ACK);
        // The RST's window says nothing.
        d.seg(S, 6, 7.0, 0, RST);
        let watch = d.watch.as_mut().expect("watch");
        watch.close(at(7.0));
        let zw = watch.summary(at(9.0));
        let c = zw.to_server.expect("the client's episode");
        assert!(c.closed_at_end);
        assert_eq!((c.episodes, c.probes), (1, 2));
        assert_eq!(c.first.reopened_frame, None);
        assert!(close_enough(c.first.closed_secs, 7.0), "to the RST");
        assert_eq!(c.first, c.longest);
        assert_eq!(c.first, c.last);
        assert_eq!(d.events, [(1, ConnEvent::ZeroWindow { dir: C })]);
    }

    /// The capture ends with the window closed: the summary counts the episode up to the
    /// connection's last frame, without ending it in the tracker.
    #[test]
    fn a_window_still_closed_at_the_end_of_the_capture_is_closed_at_end() {
        let mut d = Drive::new();
        d.seg(C, 1, 0.0, 0, ACK);
        d.seg(S, 2, 0.5, 0, ACK);
        d.seg(S, 3, 1.0, 10, ACK);
        let zw = d.summary(4.0);
        let (c, s) = (zw.to_server.unwrap(), zw.to_client.unwrap());
        assert!(c.closed_at_end && !s.closed_at_end);
        assert!(close_enough(c.first.closed_secs, 4.0));
        assert!(close_enough(s.first.closed_secs, 0.5));
        // Still open in the tracker: a later reopening is one.
        d.seg(C, 4, 5.0, 10, ACK);
        let c = d.summary(5.0).to_server.unwrap();
        assert!(!c.closed_at_end);
        assert_eq!(c.first.reopened_frame, Some(4));
    }

    /// A second, longer episode becomes the longest; the first keeps its own times.
    #[test]
    fn the_longest_episode_is_tracked_apart_from_the_first() {
        let mut d = Drive::new();
        d.seg(C, 1, 0.0, 0, ACK);
        d.seg(C, 2, 0.2, 10, ACK);
        d.seg(C, 3, 1.0, 0, ACK);
        d.seg(C, 4, 3.0, 10, ACK);
        let c = d.summary(3.0).to_server.unwrap();
        assert_eq!(c.episodes, 2);
        assert_eq!((c.first.frame, c.first.reopened_frame), (1, Some(2)));
        assert_eq!((c.longest.frame, c.longest.reopened_frame), (3, Some(4)));
        assert_eq!(c.longest, c.last);
        assert_eq!(c.longest.time, at(1.0));
        assert!(close_enough(c.longest.closed_secs, 2.0));
        assert!(close_enough(c.closed_secs, 2.2));
    }
}
