//! The capture being scripted: interfaces, frames in call order, a clock, notes for the README.

use std::time::Duration;

use crate::error::{FixtureError, Result};
use crate::filler::Filler;
use crate::link::{encapsulate, LinkMeta, NetPacket, NullFormat};
use crate::linktype::LinkType;
use crate::time::Timestamp;

/// One capture interface (a pcapng IDB; classic pcap uses interface 0 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Link type of every frame on it.
    pub link_type: LinkType,
    /// `if_name` option (pcapng only).
    pub name: Option<String>,
    /// Snapshot length: frames longer than this are written truncated (incl_len < orig_len).
    pub snaplen: u32,
    /// `if_tsresol` as a decimal exponent (6 = microseconds, 9 = nanoseconds). `None` writes no
    /// option, which means microseconds (pcapng only; classic pcap has its own magic).
    pub tsresol: Option<u8>,
    /// Header format for [`LinkType::Null`].
    pub null_format: NullFormat,
}

impl Interface {
    /// An interface of `link_type`, snaplen 262144, no name, default time resolution.
    pub fn new(link_type: LinkType) -> Self {
        Interface {
            link_type,
            name: None,
            snaplen: 262_144,
            tsresol: None,
            null_format: NullFormat::default(),
        }
    }
}

/// The pcapng block a frame is written as (classic pcap ignores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockKind {
    /// Enhanced Packet Block (type 6).
    #[default]
    Enhanced,
    /// Simple Packet Block (type 3): no timestamp, no comment, always interface 0.
    Simple,
    /// Obsolete Packet Block (type 2).
    ObsoletePacket,
}

/// One frame of the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Frame number, 1-based, as Wireshark numbers them.
    pub number: u32,
    /// Capture time.
    pub timestamp: Timestamp,
    /// Interface index.
    pub interface: u32,
    /// The whole frame from the link header on (before snaplen truncation).
    pub data: Vec<u8>,
    /// The pcapng block type to use.
    pub block: BlockKind,
    /// pcapng packet comment (`opt_comment`), if any.
    pub comment: Option<String>,
    /// One-line description made by whoever pushed the frame (for the README).
    pub summary: String,
    /// Expected facts about the frame (for the README and tests).
    pub notes: Vec<String>,
    /// Wireshark's `tcp.stream` index for TCP frames of a session.
    pub tcp_stream: Option<u32>,
    /// Whether the frame is filler traffic (the README collapses runs of them).
    pub filler: bool,
}

/// Frames in the order they are pushed, with a clock that only moves when told.
///
/// Every push stamps the frame with [`Capture::now`] and then advances the clock by the step
/// (default 1 ms), so frames are strictly increasing in time unless the script sets the clock
/// back on purpose. Several [`crate::TcpSession`]s and a [`Filler`] can push into one capture;
/// their frames interleave in call order, which makes frame numbers predictable
/// ([`Capture::next_frame_number`], [`Capture::fill_until`]).
///
/// Errors (an oversize packet, an IPv6 packet on a raw-IPv4 link, ...) do not interrupt the
/// script: the first one is kept and returned by [`Capture::check`] and the writers.
#[derive(Debug, Clone)]
pub struct Capture {
    interfaces: Vec<Interface>,
    frames: Vec<Frame>,
    now: Timestamp,
    step: Duration,
    error: Option<FixtureError>,
    next_stream: u32,
    /// Frames already taken out by [`Capture::drain_frames`] (numbering continues after them).
    drained: u32,
}

impl Capture {
    /// Default start time: 2024-03-05 09:00:00 UTC.
    pub const DEFAULT_START_SECS: u64 = 1_709_629_200;

    /// A capture with one interface of `link_type`.
    pub fn new(link_type: LinkType) -> Self {
        Self::with_interface(Interface::new(link_type))
    }

    /// A capture with `interface` as interface 0.
    pub fn with_interface(interface: Interface) -> Self {
        Capture {
            interfaces: vec![interface],
            frames: Vec::new(),
            now: Timestamp::from_unix(Self::DEFAULT_START_SECS, 0),
            step: Duration::from_millis(1),
            error: None,
            next_stream: 0,
            drained: 0,
        }
    }

    /// Adds an interface and returns its index.
    pub fn add_interface(&mut self, interface: Interface) -> u32 {
        self.interfaces.push(interface);
        u32::try_from(self.interfaces.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// The interfaces, index = position.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Interface `index` for changing e.g. its snaplen.
    pub fn interface_mut(&mut self, index: u32) -> Option<&mut Interface> {
        self.interfaces.get_mut(usize::try_from(index).ok()?)
    }

    /// The time the next frame will get.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Sets the clock (it may go backwards, for captures with non-monotonic time).
    pub fn set_time(&mut self, t: Timestamp) {
        self.now = t;
    }

    /// Moves the clock forward by `d` (idle time, RTTs, timeouts).
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.saturating_add(d);
    }

    /// How far the clock moves after each frame.
    pub fn set_step(&mut self, step: Duration) {
        self.step = step;
    }

    /// The step set by [`Capture::set_step`].
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The number the next pushed frame will get.
    pub fn next_frame_number(&self) -> u32 {
        u32::try_from(self.frames.len())
            .unwrap_or(u32::MAX)
            .saturating_add(self.drained)
            .saturating_add(1)
    }

    /// Index in `frames` of frame `number`, if it is still held.
    fn index_of(&self, number: u32) -> Option<usize> {
        let index = usize::try_from(number.checked_sub(1)?.checked_sub(self.drained)?).ok()?;
        (index < self.frames.len()).then_some(index)
    }

    /// Takes out every frame held so far, for writers that stream a capture too large to keep
    /// ([`crate::pcap::PcapWriter`], [`crate::pcapng::PcapngWriter`]). Numbering, the clock
    /// and stream indices continue; the drained frames can no longer be looked up, noted or
    /// retransmitted.
    pub fn drain_frames(&mut self) -> std::vec::Drain<'_, Frame> {
        let count = u32::try_from(self.frames.len()).unwrap_or(u32::MAX);
        self.drained = self.drained.saturating_add(count);
        self.frames.drain(..)
    }

    /// Encapsulates `packet` for interface `interface`'s link type and appends it. Returns the
    /// frame number, or 0 if the packet could not be encapsulated (the error is kept).
    pub fn push(
        &mut self,
        interface: u32,
        packet: &NetPacket,
        meta: &LinkMeta,
        summary: impl Into<String>,
    ) -> u32 {
        let Some(iface) = usize::try_from(interface)
            .ok()
            .and_then(|i| self.interfaces.get(i))
        else {
            self.fail(FixtureError::UnknownInterface(interface));
            return 0;
        };
        match encapsulate(iface.link_type, iface.null_format, meta, packet) {
            Ok(data) => self.push_link_frame(interface, data, summary),
            Err(e) => {
                self.fail(e);
                0
            }
        }
    }

    /// Appends a frame whose link-layer bytes are already complete. Returns its number.
    pub fn push_link_frame(
        &mut self,
        interface: u32,
        data: Vec<u8>,
        summary: impl Into<String>,
    ) -> u32 {
        let number = self.next_frame_number();
        self.frames.push(Frame {
            number,
            timestamp: self.now,
            interface,
            data,
            block: BlockKind::Enhanced,
            comment: None,
            summary: summary.into(),
            notes: Vec::new(),
            tcp_stream: None,
            filler: false,
        });
        self.now = self.now.saturating_add(self.step);
        number
    }

    /// All frames so far (since the last [`Capture::drain_frames`]).
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Frame `number` (1-based).
    pub fn frame(&self, number: u32) -> Option<&Frame> {
        self.frames.get(self.index_of(number)?)
    }

    /// Frame `number` for changing; a missing frame is recorded as an error.
    pub fn frame_mut(&mut self, number: u32) -> Option<&mut Frame> {
        match self.index_of(number) {
            Some(i) => self.frames.get_mut(i),
            None => {
                self.fail(FixtureError::UnknownFrame(number));
                None
            }
        }
    }

    /// Adds an expected fact about frame `number` (shown in `testdata/README.md`).
    pub fn note(&mut self, number: u32, text: impl Into<String>) {
        if let Some(f) = self.frame_mut(number) {
            f.notes.push(text.into());
        }
    }

    /// Sets the pcapng comment of frame `number`.
    pub fn comment(&mut self, number: u32, text: impl Into<String>) {
        if let Some(f) = self.frame_mut(number) {
            f.comment = Some(text.into());
        }
    }

    /// Chooses the pcapng block type of frame `number`.
    pub fn set_block(&mut self, number: u32, block: BlockKind) {
        if let Some(f) = self.frame_mut(number) {
            f.block = block;
        }
    }

    /// Marks frames as belonging to Wireshark `tcp.stream` `stream`.
    pub(crate) fn set_tcp_stream(&mut self, number: u32, stream: u32) {
        if let Some(f) = self.frame_mut(number) {
            f.tcp_stream = Some(stream);
        }
    }

    /// Marks a frame as filler.
    pub(crate) fn set_filler(&mut self, number: u32) {
        if let Some(f) = self.frame_mut(number) {
            f.filler = true;
        }
    }

    /// Allocates the next `tcp.stream` index (Wireshark numbers conversations in order of first
    /// appearance, and a reused 4-tuple after a completed close gets a new one).
    pub(crate) fn new_tcp_stream(&mut self) -> u32 {
        let s = self.next_stream;
        self.next_stream = self.next_stream.saturating_add(1);
        s
    }

    /// Records an error; only the first one is kept.
    pub fn fail(&mut self, error: FixtureError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// The first error of the script, if any.
    pub fn check(&self) -> Result<()> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Pushes `count` filler frames from `filler`, spread evenly over `span` (or one step apart
    /// if `span` is zero).
    pub fn fill(&mut self, count: u32, filler: &mut Filler, span: Duration) {
        let target = self.next_frame_number().saturating_add(count);
        self.fill_until(target, filler, span);
    }

    /// Pushes filler frames from `filler` until the next frame number is `frame`, spreading
    /// them evenly over `span` (or one step apart if `span` is zero). Does nothing if the
    /// capture is already at or past `frame`.
    pub fn fill_until(&mut self, frame: u32, filler: &mut Filler, span: Duration) {
        let count = frame.saturating_sub(self.next_frame_number());
        if count == 0 {
            return;
        }
        let saved = self.step;
        if !span.is_zero() {
            self.step = span.checked_div(count).unwrap_or(saved);
        }
        while self.next_frame_number() < frame {
            if filler.push_one(self) == 0 {
                break;
            }
        }
        self.step = saved;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::ethertype;

    fn pkt() -> NetPacket {
        NetPacket {
            ethertype: ethertype::IPV4,
            bytes: vec![0x45; 20],
        }
    }

    #[test]
    fn frames_are_numbered_and_stamped_in_call_order() {
        let mut c = Capture::new(LinkType::Raw);
        let t0 = c.now();
        assert_eq!(c.push(0, &pkt(), &LinkMeta::default(), "a"), 1);
        c.advance(Duration::from_secs(2));
        assert_eq!(c.push(0, &pkt(), &LinkMeta::default(), "b"), 2);
        let f = c.frames();
        assert_eq!(f[0].timestamp, t0);
        assert_eq!(
            f[1].timestamp,
            t0.saturating_add(Duration::from_millis(2001))
        );
        assert_eq!(c.next_frame_number(), 3);
        assert!(c.check().is_ok());
    }

    #[test]
    fn draining_keeps_numbering_and_forgets_drained_frames() {
        let mut c = Capture::new(LinkType::Raw);
        c.push(0, &pkt(), &LinkMeta::default(), "a");
        c.push(0, &pkt(), &LinkMeta::default(), "b");
        let drained: Vec<u32> = c.drain_frames().map(|f| f.number).collect();
        assert_eq!(drained, [1, 2]);
        assert_eq!(c.next_frame_number(), 3);
        assert_eq!(c.push(0, &pkt(), &LinkMeta::default(), "c"), 3);
        assert_eq!(c.frame(3).map(|f| f.summary.as_str()), Some("c"));
        assert!(c.frame(2).is_none());
        assert!(c.check().is_ok());
        c.note(1, "gone");
        assert!(matches!(c.check(), Err(FixtureError::UnknownFrame(1))));
    }

    #[test]
    fn errors_are_sticky_and_first_wins() {
        let mut c = Capture::new(LinkType::Ipv6);
        assert_eq!(c.push(0, &pkt(), &LinkMeta::default(), "v4 on v6 link"), 0);
        assert_eq!(
            c.push(5, &pkt(), &LinkMeta::default(), "no such interface"),
            0
        );
        c.note(99, "missing frame");
        assert!(matches!(
            c.check(),
            Err(FixtureError::LinkCannotCarry { .. })
        ));
        assert!(c.frames().is_empty());
    }
}
