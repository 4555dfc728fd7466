//! The story: one line per meaningful step, in frame order, across all connections.

use super::index::Index;
use crate::capture::Timestamp;
use crate::tcp::ConnEvent;
use crate::timeline::{Detail, Event, Frames};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::net::SocketAddr;

mod spill;

/// A party in a step: its role and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// `client`, `server` or `proxy`.
    pub role: &'static str,
    /// Address.
    #[serde(serialize_with = "crate::net::addr_text::serialize")]
    pub addr: SocketAddr,
}

impl Party {
    /// The length of the party's text (`role address`, as [`fmt::Display`] writes it),
    /// counted rather than formatted: renderers align columns on it.
    ///
    /// ```
    /// use wiretale::analysis::Party;
    ///
    /// let p = Party { role: "proxy", addr: "10.0.0.2:8080".parse().unwrap() };
    /// assert_eq!(p.text_len(), p.to_string().len());
    /// ```
    pub fn text_len(&self) -> usize {
        self.role.len() + 1 + addr_text_len(self.addr)
    }
}

/// The length of `addr` as [`fmt::Display`] writes it, counted (the story's columns are
/// measured on every step).
fn addr_text_len(addr: SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            let octets = [a0, a1, a2, a3].map(|o| 1 + usize::from(o >= 10) + usize::from(o >= 100));
            octets.iter().sum::<usize>() + 3 + 1 + port_digits(a.port())
        }
        // Rare: `[addr%scope]:port` with `::` compression is not worth counting by hand.
        SocketAddr::V6(a) => a.to_string().len(),
    }
}

/// Decimal digits of a port number.
fn port_digits(p: u16) -> usize {
    1 + usize::from(p >= 10)
        + usize::from(p >= 100)
        + usize::from(p >= 1000)
        + usize::from(p >= 10_000)
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.addr)
    }
}

/// What a renderer needs to align a story's columns, known before the story is told (a story
/// of millions of lines need not be told twice to measure it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoryColumns {
    /// The longest sender of a step line ([`Party::text_len`]; 0 if none).
    pub from: usize,
    /// The longest receiver of a step line.
    pub to: usize,
    /// The largest frame number of any line.
    pub last_frame: u64,
}

impl StoryColumns {
    /// The columns of `lines` (what [`Story::columns`] gives for a story told as `lines`).
    pub fn of_lines(lines: &[StoryLine]) -> Self {
        let mut columns = StoryColumns::default();
        for l in lines {
            columns.last_frame = columns.last_frame.max(l.frame);
            if l.kind == LineKind::Step {
                columns.widen(&l.from, &l.to);
            }
        }
        columns
    }

    fn widen(&mut self, from: &Option<Party>, to: &Option<Party>) {
        self.from = self.from.max(from.as_ref().map_or(0, Party::text_len));
        self.to = self.to.max(to.as_ref().map_or(0, Party::text_len));
    }
}

/// Measures [`StoryColumns`] from the steps in told order: a step opens a line unless it
/// merges into the one before (the rule of [`Teller::step`]). Parties are compared and
/// measured as role index and address, without making [`Party`] values: every step of a
/// story passes through here.
#[derive(Default)]
struct ColumnsMeter {
    columns: StoryColumns,
    /// Frame, stream, sender and protocol of the line being measured.
    line: Option<LineKey>,
}

/// What makes steps one line: frame, stream, sender (role index, address) and protocol.
type LineKey = (u64, Option<u64>, Option<(u8, SocketAddr)>, &'static str);

impl ColumnsMeter {
    fn step(&mut self, step: &Step) {
        self.columns.last_frame = self.columns.last_frame.max(step.frame);
        let [from_role, to_role] = step.roles.map(role_of_index);
        let from = step.src.map(|addr| (from_role, addr));
        let key = (step.frame, step.stream, from, step.proto);
        if self.line != Some(key) {
            let len = |role: u8, addr: Option<SocketAddr>| {
                addr.map_or(0, |a| role_name(role).len() + 1 + addr_text_len(a))
            };
            self.columns.from = self.columns.from.max(len(from_role, step.src));
            self.columns.to = self.columns.to.max(len(to_role, step.dst));
            self.line = Some(key);
        }
    }
}

/// Which of each connection's two addresses its steps named as sender and as receiver,
/// noted as a spilling story's steps are recorded, so that its columns are known without
/// reading the steps back: the widths depend only on each party's address and role, and the
/// role of a connection's own address is the connection's business (client, or its server's
/// role, [`RoleResolver::resolve`]), known from the index when the story is complete.
///
/// A step is noted by stream number, in two bytes' worth of state a connection: which of the
/// step's addresses, the lower or the higher, was the sender, and a fingerprint of the pair
/// (the pipeline's steps of a connection always name its two endpoints; one that names
/// another pair, a step without a connection or both addresses, or a stream number too large
/// to index leaves the measure to a pass over every step, [`PartiesSeen::columns`]).
#[derive(Debug, Default)]
struct PartiesSeen {
    last_frame: u64,
    /// By stream: [`PartiesSeen::LOWER_FROM`] and the like.
    sides: Vec<u8>,
    /// By stream: the fingerprint of its pair of addresses ([`pair_print`]).
    prints: Vec<u32>,
    /// The fingerprints' key, drawn at random when the first step is noted, so that no
    /// input can aim at a collision.
    key: u64,
    /// A step was noted that this measure cannot account for.
    irregular: bool,
}

impl PartiesSeen {
    const LOWER_FROM: u8 = 1;
    const HIGHER_FROM: u8 = 2;
    const LOWER_TO: u8 = 4;
    const HIGHER_TO: u8 = 8;
    /// Streams numbered beyond this are not indexed (the pipeline numbers them from 0, one
    /// per connection: 16 M connections cost 80 MiB here, and past that the pass over the
    /// steps is the better deal).
    const MAX_STREAMS: u64 = 1 << 24;
    /// Nor a stream numbered this far beyond the highest noted so far: the pipeline's come
    /// in order, so a jump is not its (and would make the tables grow at one go).
    const MAX_STREAM_JUMP: usize = 1 << 20;

    fn note(&mut self, step: &Step) {
        self.last_frame = self.last_frame.max(step.frame);
        if self.irregular {
            return;
        }
        let (Some(stream), Some(src), Some(dst)) = (step.stream, step.src, step.dst) else {
            self.give_up();
            return;
        };
        let at = match usize::try_from(stream) {
            Ok(at)
                if stream < Self::MAX_STREAMS && at < self.sides.len() + Self::MAX_STREAM_JUMP =>
            {
                at
            }
            _ => {
                self.give_up();
                return;
            }
        };
        if self.key == 0 {
            use std::hash::BuildHasher;
            self.key = std::collections::hash_map::RandomState::new().hash_one(at) | 1;
        }
        if at >= self.sides.len() {
            self.sides.resize(at + 1, 0);
            self.prints.resize(at + 1, 0);
        }
        let (lower, higher, sides) = if addr_le(src, dst) {
            (src, dst, Self::LOWER_FROM | Self::HIGHER_TO)
        } else {
            (dst, src, Self::HIGHER_FROM | Self::LOWER_TO)
        };
        let print = pair_print(self.key, lower, higher);
        match (self.sides.get_mut(at), self.prints.get_mut(at)) {
            (Some(seen @ 0), Some(kept)) => {
                *seen = sides;
                *kept = print;
            }
            (Some(seen), Some(kept)) if *kept == print => *seen |= sides,
            _ => self.give_up(),
        }
    }

    /// Leaves the measure to a pass over the steps, and the tables' memory with it.
    fn give_up(&mut self) {
        self.irregular = true;
        self.sides = Vec::new();
        self.prints = Vec::new();
    }

    /// The columns of the noted steps with their roles named from `index`, or `None` if the
    /// noted state cannot tell them (see [`PartiesSeen`]).
    fn columns(&self, index: &Index) -> Option<StoryColumns> {
        if self.irregular {
            return None;
        }
        let mut columns = StoryColumns {
            last_frame: self.last_frame,
            ..StoryColumns::default()
        };
        for (stream, (&sides, &print)) in self.sides.iter().zip(&self.prints).enumerate() {
            if sides == 0 {
                continue;
            }
            let ((client, server, server_role), _) = index.roles_and_last_frame(stream as u64)?;
            let (lower, higher) = if addr_le(client, server) {
                (client, server)
            } else {
                (server, client)
            };
            if pair_print(self.key, lower, higher) != print {
                return None;
            }
            // The rule of `RoleResolver::resolve` for a connection's own addresses; each
            // party measured once, whatever columns it appears in.
            let width = |addr: SocketAddr| {
                let role = if addr == client {
                    "client"
                } else {
                    server_role
                };
                role.len() + 1 + addr_text_len(addr)
            };
            let (lower, higher) = (width(lower), width(higher));
            let named = |side: u8, width: usize| if sides & side != 0 { width } else { 0 };
            columns.from = (columns.from)
                .max(named(Self::LOWER_FROM, lower))
                .max(named(Self::HIGHER_FROM, higher));
            columns.to = (columns.to)
                .max(named(Self::LOWER_TO, lower))
                .max(named(Self::HIGHER_TO, higher));
        }
        Some(columns)
    }
}

/// `a <= b`, with IPv4 addresses compared as numbers (the derived comparison of two
/// `SocketAddr`s cost half of noting a step's parties, [`PartiesSeen::note`]).
fn addr_le(a: SocketAddr, b: SocketAddr) -> bool {
    match (a, b) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => {
            (u32::from(*a.ip()), a.port()) <= (u32::from(*b.ip()), b.port())
        }
        _ => a <= b,
    }
}

/// A fingerprint of a connection's pair of addresses, lower first, under a random `key`
/// (steps of one connection name the same pair; a different pair with the same fingerprint
/// is about a 1 in 2^32 chance, which the key keeps an input from choosing). Made by hand
/// from the addresses' bits: every step is fingerprinted, and hashing the addresses through
/// `Hash` cost 1.4 % of a story of short connections.
fn pair_print(key: u64, lower: SocketAddr, higher: SocketAddr) -> u32 {
    fn bits(a: SocketAddr) -> u64 {
        let ip = match a.ip() {
            std::net::IpAddr::V4(ip) => u64::from(u32::from(ip)),
            std::net::IpAddr::V6(ip) => {
                let ip = u128::from(ip);
                (ip as u64) ^ ((ip >> 64) as u64).rotate_left(29) ^ (1 << 63)
            }
        };
        ip.rotate_left(16) ^ u64::from(a.port())
    }
    // Multiplications by odd constants (splitmix64's), mixing the high half down.
    let mixed = ((bits(lower) ^ key).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ bits(higher) ^ key)
        .wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (mixed >> 32) as u32 ^ mixed as u32
}

/// What a story line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Something happened.
    Step,
    /// Nothing happened on a connection for a while.
    Idle,
}

/// One line of the story.
#[derive(Debug, Clone, Serialize)]
pub struct StoryLine {
    /// Step or idle marker.
    pub kind: LineKind,
    /// Frame (the completing frame of the last message on the line).
    pub frame: u64,
    /// Every frame the line rests on.
    pub frames: Vec<u64>,
    /// Capture time.
    pub time: Timestamp,
    /// Seconds since the capture's first frame (Wireshark's default time column, and
    /// `timeline`'s), for a story told by [`StoryRecorder`](super::StoryRecorder) or
    /// [`Analysis`](super::Analysis), filtered or not; since the story's first line for one
    /// built with [`StoryBuilder`] alone, unless [`Story::relative_to`] says otherwise.
    pub relative: f64,
    /// Connection.
    pub stream: Option<u64>,
    /// Sender.
    pub from: Option<Party>,
    /// Receiver.
    pub to: Option<Party>,
    /// `TCP`, `TLS`, `HTTP`, `NTLM`.
    pub proto: &'static str,
    /// What happened.
    pub text: String,
    /// Seconds of silence (idle lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<f64>,
}

/// Settings of the story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoryOptions {
    /// Idle periods on a connection at least this long get their own line.
    pub idle_secs: f64,
}

impl Default for StoryOptions {
    fn default() -> Self {
        StoryOptions { idle_secs: 5.0 }
    }
}

/// One step of the story as recorded while the analysis runs: what the line needs, without
/// the event. Roles are resolved once the index is complete ([`StoryBuilder::into_story`]).
///
/// A story can have millions of steps (beyond [`MEMORY_STEPS`] they wait on disk), so a step
/// is kept small: the usual frame list of one frame, the step's own, is not stored (an empty
/// list stands for it: an `Option<Frames>` would be 8 bytes larger), and two frames are held
/// inline. The text is borrowed when it is a fixed phrase, else owned; a step read back from
/// disk refills its text and frame list in place, one allocation for the whole telling.
#[derive(Debug, Clone, Default)]
struct Step {
    frame: u64,
    /// Every frame the step rests on; empty when that is just `[frame]` (events always rest
    /// on at least their own frame).
    frames: Frames,
    time: Timestamp,
    stream: Option<u64>,
    src: Option<SocketAddr>,
    dst: Option<SocketAddr>,
    /// Roles of `src` and `dst`, once resolved (an index into [`ROLES`], to keep steps
    /// small).
    roles: [u8; 2],
    proto: &'static str,
    text: Cow<'static, str>,
    /// A run of application data that began before its reporting frame.
    ongoing: bool,
    /// The last frame of the step's connection (`u64::MAX` if unknown): no step of the
    /// connection comes after it, so the teller forgets the stream's idle clock once it is
    /// past it (a million connections would otherwise keep a million clocks). Set with the
    /// roles.
    stream_last_frame: u64,
}

impl Step {
    /// The step an event makes, or `None` for routine noise. Its frame list is left for the
    /// caller to copy or move in ([`Step::set_frames`]).
    fn of(e: &Event) -> Option<Step> {
        let text = step_text(e)?;
        let proto = match &e.detail {
            Detail::Tcp(_) => "TCP",
            Detail::Tls(_) => "TLS",
            Detail::Http(_) => "HTTP",
            Detail::Ntlm(_) => "NTLM",
        };
        // A run of application data began at its first frame: the connection was not idle
        // up to the run's last record, where the summary is reported.
        let ongoing = matches!(
            &e.detail,
            Detail::Tls(crate::proto::tls::TlsMessage::ApplicationData(_))
                | Detail::Tcp(crate::tcp::ConnEvent::Data { .. })
        ) && e.frames.first().is_some_and(|f| *f < e.frame)
            // Neither was a client resending its SYN, nor a handshake whose SYNs or SYN-ACKs
            // were resent until it completed: the wait is told by the step itself.
            || matches!(
                &e.detail,
                Detail::Tcp(crate::tcp::ConnEvent::OpenAtEnd {
                    unanswered: Some(u),
                    ..
                }) if u.syns > 1
            )
            || matches!(
                &e.detail,
                Detail::Tcp(crate::tcp::ConnEvent::Established {
                    handshake_secs: Some(secs),
                }) if *secs >= SLOW_HANDSHAKE_STEP_SECS
            )
            // Nor a window that stayed closed: the reopening tells how long.
            || matches!(
                &e.detail,
                Detail::Tcp(crate::tcp::ConnEvent::WindowReopened { .. })
            );
        // An open connection's note carries the capture's end as its time, but is told at
        // the connection's last frame: at that frame's time (the note says how long after it
        // the capture ended), so that times never run backwards down the story.
        let time = match &e.detail {
            Detail::Tcp(crate::tcp::ConnEvent::OpenAtEnd { idle_secs, .. }) => {
                e.time.minus_secs(*idle_secs)
            }
            _ => e.time,
        };
        Some(Step {
            frame: e.frame,
            frames: Frames::new(),
            time,
            stream: e.stream,
            src: e.src,
            dst: e.dst,
            roles: [0, 0],
            proto,
            text,
            ongoing,
            stream_last_frame: u64::MAX,
        })
    }

    fn set_frames(&mut self, frames: Frames) {
        self.frames = if frames.as_slice() == [self.frame] {
            Frames::new()
        } else {
            frames
        };
    }

    /// Every frame the step rests on.
    fn frames(&self) -> &[u64] {
        if self.frames.is_empty() {
            std::slice::from_ref(&self.frame)
        } else {
            &self.frames
        }
    }
}

/// Steps kept in memory before a spilling builder writes them to disk
/// ([`StoryBuilder::spilling`]): about 3 MiB.
pub const MEMORY_STEPS: usize = 1 << 14;

/// Records the story's steps event by event (it keeps a compact step per told event, never
/// the event), then tells the story in frame order once the index is complete.
///
/// ```
/// use wiretale::analysis::{Index, StoryBuilder, StoryOptions};
///
/// let story = StoryBuilder::default().finish(&Index::default(), &StoryOptions::default());
/// assert!(story.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct StoryBuilder {
    /// Steps in memory, with their recording sequence numbers.
    steps: Vec<(u64, Step)>,
    /// A step went last although it belongs further back: `steps` must be sorted before
    /// they are spilled or told (otherwise they are in order, and a check of the order
    /// would read through all of them, cold, for nothing).
    misplaced: bool,
    recorded: u64,
    spill: Option<SpillState>,
    /// The columns' measure, taken as steps are recorded (by a spilling builder only, for
    /// its steps spilled or not: a builder that keeps every step in memory measures them
    /// when they are put in order).
    parties: PartiesSeen,
}

/// Where a spilling builder's steps go once memory holds [`SpillState::memory_steps`].
#[derive(Debug)]
struct SpillState {
    memory_steps: usize,
    runs: Option<spill::Runs>,
    /// Writing failed: the rest stays in memory.
    failed: bool,
}

impl StoryBuilder {
    /// A builder that keeps at most `memory_steps` steps in memory and writes the others to
    /// an anonymous temporary file, in sorted runs, so the story's memory does not grow with
    /// the capture ([`MEMORY_STEPS`] is a good size). If the file cannot be written, the
    /// steps stay in memory.
    pub fn spilling(memory_steps: usize) -> Self {
        StoryBuilder {
            spill: Some(SpillState {
                memory_steps: memory_steps.max(1),
                runs: None,
                failed: false,
            }),
            ..StoryBuilder::default()
        }
    }

    /// Records an event (routine noise is folded away).
    pub fn event(&mut self, e: &Event) {
        if let Some(mut step) = Step::of(e) {
            // A list of one or two frames is copied inline, without allocating.
            step.set_frames(e.frames.clone());
            self.push(step);
        }
    }

    /// Records an event handed over by value (its frame list is moved, not copied).
    pub fn take_event(&mut self, mut e: Event) {
        self.take_frames_of(&mut e);
    }

    /// Records an event, moving its frame list out of it: [`StoryBuilder::take_event`]
    /// without moving the event itself (a few hundred bytes, copied at every move).
    pub(crate) fn take_frames_of(&mut self, e: &mut Event) {
        if let Some(mut step) = Step::of(e) {
            step.set_frames(std::mem::take(&mut e.frames));
            self.push(step);
        }
    }

    fn push(&mut self, step: Step) {
        // Kept in frame order as they come: a step reported late (a message completed by a
        // frame past later steps, an end seen when its connection is retired) belongs only a
        // few steps back, and moving it there once cost a fraction of sorting the steps
        // (a few hundred bytes each) before they are spilled or told. One that belongs
        // further back goes last, for `sort_steps` to place: a capture of steps in reverse
        // order must not make every push move the whole list.
        let frame = step.frame;
        let back = (self.steps.iter().rev().take(MAX_STEPS_MOVED + 1))
            .take_while(|(_, s)| s.frame > frame)
            .count();
        let at = if back <= MAX_STEPS_MOVED {
            self.steps.len() - back
        } else {
            self.misplaced = true;
            self.steps.len()
        };
        let Some(spill) = self.spill.as_mut() else {
            self.steps.insert(at, (self.recorded, step));
            self.recorded += 1;
            return;
        };
        // The steps fill `memory_steps` before every spill: room for them all at once (up to
        // the default's), on the first step, rather than growing to it by doubling (each
        // growth copied every step so far: 1 % of a `story` run; pages not yet filled cost
        // no memory).
        if self.steps.capacity() == 0 {
            self.steps
                .reserve_exact(spill.memory_steps.min(MEMORY_STEPS));
        }
        self.parties.note(&step);
        self.steps.insert(at, (self.recorded, step));
        self.recorded += 1;
        if spill.failed || self.steps.len() < spill.memory_steps {
            return;
        }
        if std::mem::take(&mut self.misplaced) {
            sort_steps(&mut self.steps);
        }
        let written = match spill.runs.as_mut() {
            Some(runs) => runs.write_run(&self.steps),
            None => spill::Runs::new().and_then(|mut runs| {
                runs.write_run(&self.steps)?;
                spill.runs = Some(runs);
                Ok(())
            }),
        };
        match written {
            Ok(()) => self.steps.clear(),
            Err(_) => spill.failed = true,
        }
    }

    /// Steps recorded so far.
    pub fn len(&self) -> usize {
        usize::try_from(self.recorded).unwrap_or(usize::MAX)
    }

    /// Nothing recorded yet.
    pub fn is_empty(&self) -> bool {
        self.recorded == 0
    }

    /// Puts the steps in frame order (steps of one frame keep the order they were recorded
    /// in), ready to be told with the parties' roles named from `index` (the complete one;
    /// steps kept on disk are named as they are told, from the index passed then, which must
    /// be the same: [`Story::for_each_line`]).
    pub fn into_story(self, index: &Index, opts: &StoryOptions) -> Story {
        let mut steps = self.steps;
        if self.misplaced {
            sort_steps(&mut steps);
        }
        let mut roles = RoleResolver::new(index);
        let mut meter = ColumnsMeter::default();
        // A spilling builder noted every step's parties as it came, spilled or not.
        let noted = self.spill.is_some();
        let runs = self.spill.and_then(|s| s.runs);
        let store = match runs {
            None => {
                let mut steps: Vec<Step> = steps.into_iter().map(|(_, s)| s).collect();
                let measured = if noted {
                    self.parties.columns(index)
                } else {
                    None
                };
                for step in &mut steps {
                    roles.resolve(step);
                    if measured.is_none() {
                        meter.step(step);
                    }
                }
                if let Some(columns) = measured {
                    meter.columns = columns;
                }
                Store::Memory(steps)
            }
            Some(runs) => match self.parties.columns(index) {
                // Measured as the steps came: no step is read back before the telling,
                // which names their roles as it goes.
                Some(columns) => {
                    meter.columns = columns;
                    match runs.settle_measured(steps, |step| roles.resolve(step)) {
                        Ok(sorted) => Store::Disk(sorted),
                        Err(e) => Store::Failed(e.to_string()),
                    }
                }
                None => {
                    // Roles named and kept in one pass over the runs; the columns measured
                    // in a merge, in told order: a step merges into the line before it in
                    // frame order, which for steps like these (another pair of addresses on
                    // a connection, or none) may have its receiver elsewhere than the run
                    // it is in, and only a merged step's receiver is not shown.
                    let measured = runs
                        .settle(steps, |step| roles.resolve(step), |_| {})
                        .and_then(|sorted| {
                            sorted.for_each(|_| {}, |step| meter.step(step))?;
                            Ok(sorted)
                        });
                    match measured {
                        Ok(sorted) => Store::Disk(sorted),
                        Err(e) => Store::Failed(e.to_string()),
                    }
                }
            },
        };
        Story {
            store,
            opts: *opts,
            columns: meter.columns,
            index_size: index_size(index),
            proxies: roles.proxies,
            start: None,
        }
    }

    /// Tells the story: steps in frame order, same-frame steps of one sender merged, idle
    /// periods marked. Roles come from `index` (the complete one).
    pub fn finish(self, index: &Index, opts: &StoryOptions) -> Vec<StoryLine> {
        self.into_story(index, opts).lines(index)
    }
}

/// How far back [`StoryBuilder::push`] moves a step reported late; beyond this the steps
/// are sorted before they are spilled or told.
const MAX_STEPS_MOVED: usize = 256;

/// Sorts steps by frame, then recording order, in place: the steps are most of a spilling
/// story's memory, and a sorted copy would double it. Most are already in order.
fn sort_steps(steps: &mut [(u64, Step)]) {
    let key = |(seq, s): &(u64, Step)| (s.frame, *seq);
    if steps.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        return;
    }
    // Keys are unique (recording order), so an unstable sort is deterministic.
    steps.sort_unstable_by_key(key);
}

/// Where a told story's steps are.
#[derive(Debug)]
enum Store {
    Memory(Vec<Step>),
    Disk(spill::Sorted),
    /// The spilled steps could not be merged back.
    Failed(String),
}

impl Default for Store {
    fn default() -> Self {
        Store::Memory(Vec::new())
    }
}

/// The recorded steps in frame order ([`StoryBuilder::into_story`]): the story's lines are
/// made on demand, one at a time, so telling a long story needs no list of lines (and its
/// column widths, [`Story::columns`], were measured when the steps were put in order).
#[derive(Debug, Default)]
pub struct Story {
    store: Store,
    opts: StoryOptions,
    columns: StoryColumns,
    /// The size of the index the story was made with ([`index_size`]): the roles of steps
    /// kept on disk are named from the index passed to each telling, which must be that
    /// one.
    index_size: (usize, usize),
    /// The index's proxy addresses, when naming the roles of the steps kept in memory
    /// needed them ([`RoleResolver::proxies`]): each telling of the steps on disk starts
    /// from them rather than going over every connection of the index again.
    proxies: Option<ProxySet>,
    /// What `relative` counts from (`None`: the first line's time).
    start: Option<Timestamp>,
}

/// How many connections `index` holds, whole and retired: a cheap check that a telling is
/// given the index its story was made with.
fn index_size(index: &Index) -> (usize, usize) {
    (index.conns.len(), index.quiet.len())
}

impl Story {
    /// Counts the lines' [`StoryLine::relative`] seconds from `start` (the capture's first
    /// frame, as [`StoryRecorder::finish`](super::StoryRecorder::finish) sets it) instead of
    /// from the story's first line: a story told from some of the events (a display filter)
    /// keeps the capture's times.
    pub fn relative_to(mut self, start: Timestamp) -> Self {
        self.start = Some(start);
        self
    }

    /// The widths a renderer aligns the story's columns on, measured as the steps were put
    /// in order (equal to [`StoryColumns::of_lines`] of the told lines).
    pub fn columns(&self) -> StoryColumns {
        self.columns
    }

    /// Calls `visit` with each line in order. The line passed is reused between calls (clone
    /// it to keep it). `index` is the one the story was made with
    /// ([`StoryBuilder::into_story`]): the roles of steps kept on disk are named from it as
    /// they are told. Fails only for a story spilled to disk that cannot be read back (the
    /// lines told before the error were visited), or that is given an index of another size
    /// than the one it was made with (nothing told).
    pub fn for_each_line(
        &self,
        index: &Index,
        visit: impl FnMut(&StoryLine),
    ) -> std::io::Result<()> {
        self.tell(index, true, visit)
    }

    /// [`Story::for_each_line`], remembering every stream's idle clock to the end (to test
    /// that forgetting closed streams' clocks changes nothing).
    #[cfg(test)]
    pub(crate) fn lines_remembering_every_stream(&self, index: &Index) -> Vec<StoryLine> {
        let mut lines = Vec::new();
        let _ = self.tell(index, false, |l| lines.push(l.clone()));
        lines
    }

    fn tell(
        &self,
        index: &Index,
        forget_closed: bool,
        mut visit: impl FnMut(&StoryLine),
    ) -> std::io::Result<()> {
        let mut teller = Teller::new(self.opts);
        teller.forget_closed = forget_closed;
        teller.first_time = self.start;
        match &self.store {
            Store::Memory(steps) => {
                for step in steps {
                    teller.step(step, &mut visit);
                }
            }
            Store::Disk(_) if index_size(index) != self.index_size => {
                return Err(std::io::Error::other(
                    "the index given to tell the story is not the one it was made with",
                ));
            }
            Store::Disk(sorted) => {
                let mut roles = RoleResolver::new(index);
                roles.proxies.clone_from(&self.proxies);
                sorted.for_each(
                    |step| roles.resolve(step),
                    |step| teller.step(step, &mut visit),
                )?
            }
            Store::Failed(e) => {
                return Err(std::io::Error::other(format!(
                    "the story's steps on disk: {e}"
                )))
            }
        }
        teller.finish(&mut visit);
        Ok(())
    }

    /// Every line, in order (those told before an error, for a spilled story that cannot be
    /// read back; [`Story::for_each_line`] reports it). `index`: as for
    /// [`Story::for_each_line`].
    pub fn lines(&self, index: &Index) -> Vec<StoryLine> {
        let mut lines = Vec::new();
        let _ = self.for_each_line(index, |l| lines.push(l.clone()));
        lines
    }

    /// No step to tell.
    pub fn is_empty(&self) -> bool {
        match &self.store {
            Store::Memory(steps) => steps.is_empty(),
            Store::Disk(sorted) => sorted.len() == 0,
            Store::Failed(_) => false,
        }
    }
}

/// Turns steps (in frame order) into lines: merges same-frame steps of one sender, marks
/// idle periods.
struct Teller {
    opts: StoryOptions,
    /// Each stream's clock (foldhash: updated for every step).
    last_on_stream: foldhash::HashMap<u64, StreamClock>,
    /// How many clocks the map may hold before those past their stream's last frame are
    /// swept out.
    sweep_at: usize,
    /// Forget a stream's clock once past its last frame (off only to test that this changes
    /// nothing).
    forget_closed: bool,
    first_time: Option<Timestamp>,
    /// The step line being built: it is told once the next step does not merge into it.
    pending: Option<StoryLine>,
    idle_line: Option<StoryLine>,
}

/// A stream's last step, and when its clock is forgotten.
#[derive(Debug, Clone, Copy)]
struct StreamClock {
    time: Timestamp,
    frame: u64,
    /// The last frame of the stream as the step that started the clock knew it (`u64::MAX`:
    /// never forgotten): no step of the stream comes after it, and a million connections
    /// would otherwise keep a million clocks. A clock past it reads as none, whether or not
    /// it has been swept out yet.
    expires: u64,
}

impl Teller {
    /// Clocks held before the first sweep.
    const FIRST_SWEEP: usize = 1024;

    fn new(opts: StoryOptions) -> Self {
        Teller {
            opts,
            last_on_stream: Default::default(),
            sweep_at: Self::FIRST_SWEEP,
            forget_closed: true,
            first_time: None,
            pending: None,
            idle_line: None,
        }
    }

    fn step(&mut self, step: &Step, visit: &mut impl FnMut(&StoryLine)) {
        let (from, to) = step.parties();
        let start = *self.first_time.get_or_insert(step.time);
        // Merge with the previous line when it is the same frame, connection, sender and
        // protocol.
        if let Some(prev) = self.pending.as_mut() {
            if prev.frame == step.frame
                && prev.stream == step.stream
                && prev.from == from
                && prev.proto == step.proto
            {
                prev.text.push_str(", ");
                push_step_text(&mut prev.text, &step.text, &from, &to);
                for f in step.frames() {
                    if !prev.frames.contains(f) {
                        prev.frames.push(*f);
                    }
                }
                return;
            }
            visit(prev);
        }
        if let Some(stream) = step.stream {
            // One lookup: the stream's clock is read and moved to this step in place. Steps
            // come in frame order: a clock past its stream's last frame stays past it.
            let expires = if self.forget_closed {
                step.stream_last_frame
            } else {
                u64::MAX
            };
            let started = StreamClock {
                time: step.time,
                frame: step.frame,
                expires,
            };
            let prev = match self.last_on_stream.entry(stream) {
                Entry::Occupied(mut clock) => {
                    let clock = clock.get_mut();
                    let prev = *clock;
                    if prev.expires < step.frame {
                        *clock = started;
                        None
                    } else {
                        (clock.time, clock.frame) = (step.time, step.frame);
                        Some((prev.time, prev.frame))
                    }
                }
                Entry::Vacant(clock) => {
                    clock.insert(started);
                    self.sweep_if_full(step.frame);
                    None
                }
            };
            if let Some((prev, prev_frame)) = &prev {
                let idle = step.time.seconds_since(*prev);
                if idle >= self.opts.idle_secs && !step.ongoing {
                    let line = self
                        .idle_line
                        .get_or_insert_with(|| empty_line(LineKind::Idle, *prev));
                    line.frame = step.frame;
                    line.time = *prev;
                    line.relative = prev.seconds_since(start);
                    line.stream = Some(stream);
                    line.text.clear();
                    // The frame says where the wait began: idle here means no step, and a
                    // bare ACK may have followed that frame (a reset's own idle time counts
                    // from the stream's last packet of any kind).
                    let _ = write!(
                        line.text,
                        "… {idle:.1} s idle on stream {stream} since frame {prev_frame} …"
                    );
                    line.idle_secs = Some(idle);
                    visit(line);
                }
            }
        }
        let line = self
            .pending
            .get_or_insert_with(|| empty_line(LineKind::Step, step.time));
        line.frame = step.frame;
        line.frames.clear();
        line.frames.extend_from_slice(step.frames());
        line.time = step.time;
        line.relative = step.time.seconds_since(start);
        line.stream = step.stream;
        line.proto = step.proto;
        line.text.clear();
        push_step_text(&mut line.text, &step.text, &from, &to);
        line.from = from;
        line.to = to;
    }

    /// Forgets the clocks past their stream's last frame once the map holds
    /// [`Teller::sweep_at`] of them (`frame`: the step being told): the map stays within
    /// twice the streams with a clock, each sweep paid for by as many new clocks.
    fn sweep_if_full(&mut self, frame: u64) {
        if self.last_on_stream.len() < self.sweep_at {
            return;
        }
        self.last_on_stream
            .retain(|_, clock| clock.expires >= frame);
        self.sweep_at = (2 * self.last_on_stream.len()).max(Self::FIRST_SWEEP);
    }

    fn finish(self, visit: &mut impl FnMut(&StoryLine)) {
        if let Some(last) = &self.pending {
            visit(last);
        }
    }
}

fn empty_line(kind: LineKind, time: Timestamp) -> StoryLine {
    StoryLine {
        kind,
        frame: 0,
        frames: Vec::new(),
        time,
        relative: 0.0,
        stream: None,
        from: None,
        to: None,
        proto: "",
        text: String::new(),
        idle_secs: None,
    }
}

/// The roles a party can have; [`Step::roles`] holds indexes into it.
const ROLES: [&str; 3] = ["client", "server", "proxy"];

/// The index of `client` in [`ROLES`] (also what a party without an address gets).
const CLIENT: u8 = 0;

fn role_index(role: &str) -> u8 {
    ROLES.iter().position(|r| *r == role).unwrap_or(0) as u8
}

/// A role index as [`ROLES`] reads it: one out of range is a client (index 0).
fn role_of_index(role: u8) -> u8 {
    if usize::from(role) < ROLES.len() {
        role
    } else {
        0
    }
}

/// The name of a role index.
fn role_name(role: u8) -> &'static str {
    ROLES.get(usize::from(role)).copied().unwrap_or("client")
}

impl Step {
    fn parties(&self) -> (Option<Party>, Option<Party>) {
        let party = |addr: Option<SocketAddr>, role: u8| {
            Some(Party {
                role: role_name(role),
                addr: addr?,
            })
        };
        (
            party(self.src, self.roles[0]),
            party(self.dst, self.roles[1]),
        )
    }
}

/// Names the roles of a step's parties: from its connection when the address is one of its
/// endpoints, otherwise from every connection ([`Index::role_of`], computed once for all
/// addresses the first time one is needed, so a story of many such steps stays linear).
struct RoleResolver<'i> {
    index: &'i Index,
    servers: Option<HashMap<SocketAddr, &'static str>>,
    /// The addresses that are a proxy on some connection (usually none: then no step looks
    /// anything up for it), gathered from every connection of the index the first time a
    /// server's role is named.
    proxies: Option<ProxySet>,
    /// The sides of recently resolved streams, by stream modulo [`RoleResolver::RECENT`]: a
    /// connection's steps come close together (a short connection's five within a few
    /// thousand steps), and the index lookup was half of resolving a step.
    recent: Vec<Option<(u64, Option<ConnSides>)>>,
}

/// Addresses of proxies ([`RoleResolver::proxies`]).
type ProxySet = HashSet<SocketAddr, foldhash::fast::RandomState>;

/// A connection's two addresses with the role index ([`ROLES`]) [`RoleResolver::resolve`]
/// gives its server side, and its last frame: the roles are named once a connection, not
/// compared as names for each party of each step.
#[derive(Debug, Clone, Copy)]
struct ConnSides {
    client: SocketAddr,
    server: SocketAddr,
    server_role: u8,
    last_frame: Option<u64>,
}

impl<'i> RoleResolver<'i> {
    /// Streams remembered.
    const RECENT: usize = 1024;

    fn new(index: &'i Index) -> Self {
        RoleResolver {
            index,
            servers: None,
            proxies: None,
            recent: Vec::new(),
        }
    }

    /// The sides of `stream` ([`Index::roles_and_last_frame`]), remembered.
    fn stream_sides(&mut self, stream: u64) -> Option<ConnSides> {
        if self.recent.is_empty() {
            self.recent.resize(Self::RECENT, None);
        }
        let at = (stream % Self::RECENT as u64) as usize;
        match self.recent.get(at) {
            Some(Some((s, found))) if *s == stream => *found,
            _ => {
                let found = self.sides_of(stream);
                if let Some(slot) = self.recent.get_mut(at) {
                    *slot = Some((stream, found));
                }
                found
            }
        }
    }

    fn sides_of(&mut self, stream: u64) -> Option<ConnSides> {
        let ((client, server, role), last_frame) = self.index.roles_and_last_frame(stream)?;
        // A server that is a proxy on another connection is the proxy here too (this
        // connection was picked up mid-way, or showed no proxy request).
        let role = if role == "server" {
            self.server_or_proxy(server)
        } else {
            role
        };
        Some(ConnSides {
            client,
            server,
            server_role: role_index(role),
            last_frame,
        })
    }

    /// Names the roles of `step`'s parties and notes its connection's last frame.
    fn resolve(&mut self, step: &mut Step) {
        let conn = step.stream.and_then(|s| self.stream_sides(s));
        // Nearly always the connection's own two addresses: compared in line, the other
        // addresses looked up out of line (inlined, that lookup made this a call per party).
        step.roles = [step.src, step.dst].map(|addr| match (addr, &conn) {
            (None, _) => CLIENT,
            (Some(addr), Some(c)) if c.client == addr => CLIENT,
            (Some(addr), Some(c)) if c.server == addr => c.server_role,
            (Some(addr), _) => role_index(self.role_of(addr)),
        });
        step.stream_last_frame = conn.and_then(|c| c.last_frame).unwrap_or(u64::MAX);
    }

    /// "proxy" if `server` is a proxy on any connection, else "server".
    fn server_or_proxy(&mut self, server: SocketAddr) -> &'static str {
        let index = self.index;
        let proxies = self.proxies.get_or_insert_with(|| {
            (index.endpoints())
                .filter(|e| e.3)
                .map(|(_, _, server, _)| server)
                .collect()
        });
        if !proxies.is_empty() && proxies.contains(&server) {
            "proxy"
        } else {
            "server"
        }
    }

    /// [`Index::role_of`], from a map built once.
    #[inline(never)]
    fn role_of(&mut self, addr: SocketAddr) -> &'static str {
        let index = self.index;
        let servers = self.servers.get_or_insert_with(|| {
            let mut servers: HashMap<SocketAddr, &'static str> = HashMap::new();
            for (_, _, server, is_proxy) in index.endpoints() {
                let role = servers.entry(server).or_insert("server");
                if is_proxy {
                    *role = "proxy";
                }
            }
            servers
        });
        servers.get(&addr).copied().unwrap_or("client")
    }
}

/// A handshake that took this long is a step of its own, which tells the wait (no idle line
/// before it).
const SLOW_HANDSHAKE_STEP_SECS: f64 = 1.0;

/// The story's fixed phrases: most steps of a capture of short connections, so a step
/// borrows them and the spill file stores their place in this list instead of their text.
const FIXED_PHRASES: [&str; 2] = ["starts 3-way handshake", "closes the connection (FIN)"];

/// Starts a step text that names its parties' roles ([`role_template`]).
const ROLE_TEMPLATE: char = '\u{1}';
/// Stands for the sender's role in a [`role_template`] text.
const SENDER_ROLE: &str = "\u{2}";
/// Stands for the receiver's role in a [`role_template`] text.
const RECEIVER_ROLE: &str = "\u{3}";

/// A step text that names the roles of the step's parties (`client`, `server`, `proxy`),
/// written with [`SENDER_ROLE`] and [`RECEIVER_ROLE`] in their place: the roles are known
/// only when the story is told (the index may still find a connection's client, or its
/// server a proxy), and the teller names them ([`push_step_text`]).
fn role_template(text: String) -> String {
    let mut template = String::with_capacity(text.len() + 1);
    template.push(ROLE_TEMPLATE);
    template.push_str(&text);
    template
}

/// Appends a step's text to a line, naming the roles of a [`role_template`] text (a
/// party not known reads as "sender" or "receiver"). One byte is read of other texts.
#[inline]
fn push_step_text(out: &mut String, text: &str, from: &Option<Party>, to: &Option<Party>) {
    if text.as_bytes().first() == Some(&(ROLE_TEMPLATE as u8)) {
        push_template(out, text, from, to);
    } else {
        out.push_str(text);
    }
}

/// [`push_step_text`] of a [`role_template`] text.
#[cold]
#[inline(never)]
fn push_template(out: &mut String, text: &str, from: &Option<Party>, to: &Option<Party>) {
    let template = text.strip_prefix(ROLE_TEMPLATE).unwrap_or(text);
    let sender = from.as_ref().map_or("sender", |p| p.role);
    let receiver = to.as_ref().map_or("receiver", |p| p.role);
    for c in template.chars() {
        match c {
            '\u{2}' => out.push_str(sender),
            '\u{3}' => out.push_str(receiver),
            c => out.push(c),
        }
    }
}

/// The text of an event in the story, or `None` for routine noise that is folded away.
fn step_text(e: &Event) -> Option<Cow<'static, str>> {
    let [syn, fin] = FIXED_PHRASES;
    let text = match &e.detail {
        Detail::Tcp(ConnEvent::Syn) => return Some(Cow::Borrowed(syn)),
        // A handshake that took long is a step (its SYNs and SYN-ACKs were resent meanwhile:
        // without it the story would show the wait as idle).
        Detail::Tcp(ConnEvent::Established {
            handshake_secs: Some(secs),
        }) if *secs >= SLOW_HANDSHAKE_STEP_SECS => {
            Some(format!("3-way handshake completed after {secs:.1} s"))
        }
        Detail::Tcp(ConnEvent::SynAck | ConnEvent::Established { .. }) => None,
        Detail::Tcp(ConnEvent::Fin { .. }) => return Some(Cow::Borrowed(fin)),
        Detail::Tcp(ConnEvent::Rst { idle_secs, .. }) => Some(format!(
            "RESETS the connection (RST) after {idle_secs:.1} s idle"
        )),
        Detail::Tcp(ConnEvent::OpenAtEnd {
            idle_secs,
            unanswered: Some(u),
        }) => Some(format!(
            "{} by the end of capture ({idle_secs:.1} s later)",
            crate::timeline::summary::unanswered_syns(u)
        )),
        Detail::Tcp(ConnEvent::OpenAtEnd { idle_secs, .. }) => Some(format!(
            "connection still open at end of capture ({idle_secs:.1} s idle)"
        )),
        // The window's owner is the sender, the peer that must wait the receiver.
        Detail::Tcp(ConnEvent::ZeroWindow { .. }) => Some(role_template(
            crate::timeline::summary::zero_window(SENDER_ROLE, RECEIVER_ROLE),
        )),
        Detail::Tcp(ConnEvent::WindowReopened {
            closed_secs,
            probes,
            ..
        }) => Some(role_template(crate::timeline::summary::window_reopened(
            SENDER_ROLE,
            RECEIVER_ROLE,
            *closed_secs,
            *probes,
        ))),
        Detail::Tcp(ConnEvent::Data { bytes, preview, .. }) => {
            let mut text = crate::timeline::summary::data_run(*bytes, preview.as_deref());
            if let Some(first) = e.frames.first().filter(|f| **f < e.frame) {
                let _ = write!(text, " (frames {first}–{})", e.frame);
            }
            Some(text)
        }
        Detail::Tcp(_) => Some(e.summary()),
        Detail::Tls(crate::proto::tls::TlsMessage::Resync(_)) => None,
        Detail::Tls(crate::proto::tls::TlsMessage::ApplicationData(_))
            if e.frames.first().is_some_and(|f| *f < e.frame) =>
        {
            Some(format!(
                "{} (frames {}–{})",
                e.summary(),
                e.frames.first().copied().unwrap_or(e.frame),
                e.frame
            ))
        }
        // Picking up a connection mid-way is not a step.
        Detail::Http(m)
            if matches!(
                m.as_ref(),
                crate::proto::http::HttpMessage::Resynchronized { discarded: 0, .. }
            ) =>
        {
            None
        }
        Detail::Tls(crate::proto::tls::TlsMessage::Handshake(h))
            if h.handshake_type == 1 && e.tunnel.is_some() =>
        {
            Some(format!(
                "{} inside the CONNECT tunnel to {}",
                e.summary(),
                e.tunnel.as_deref().unwrap_or_default()
            ))
        }
        _ => Some(e.summary()),
    };
    text.map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Steps pushed in any frame order (late by a few steps, or by more than a push
        /// moves one) come out in frame order, then recording order, once sorted.
        #[test]
        fn pushed_steps_keep_frame_then_recording_order(
            frames in proptest::collection::vec(0u64..2_000, 0..700),
        ) {
            let mut builder = StoryBuilder::default();
            for (seq, &frame) in frames.iter().enumerate() {
                let text = Cow::Owned(format!("step {seq}"));
                builder.push(Step { frame, text, ..Step::default() });
            }
            let mut steps = std::mem::take(&mut builder.steps);
            let key = |(seq, s): &(u64, Step)| (s.frame, *seq);
            let sorted = steps.windows(2).all(|w| key(&w[0]) <= key(&w[1]));
            // Unsorted only if a step went last out of order, as the builder noted.
            prop_assert!(sorted || builder.misplaced);
            sort_steps(&mut steps);
            let told: Vec<(u64, u64)> = steps.iter().map(|(seq, s)| (s.frame, *seq)).collect();
            let mut expected: Vec<(u64, u64)> =
                frames.iter().enumerate().map(|(seq, &f)| (f, seq as u64)).collect();
            expected.sort();
            prop_assert_eq!(told, expected);
        }

        /// Steps at most a few dozen places late are put in place as they come: nothing is
        /// left for `sort_steps` to do.
        #[test]
        fn steps_a_little_late_are_placed_on_push(
            late in proptest::collection::vec(0u64..50, 0..700),
        ) {
            let mut builder = StoryBuilder::default();
            for (seq, &by) in late.iter().enumerate() {
                let frame = (seq as u64 + 50) - by;
                builder.push(Step { frame, ..Step::default() });
            }
            let key = |(seq, s): &(u64, Step)| (s.frame, *seq);
            prop_assert!(builder.steps.windows(2).all(|w| key(&w[0]) <= key(&w[1])));
        }
    }

    /// A step whose stream number is far beyond the others' is not noted (the tables would
    /// grow at one go); the columns are then measured from the steps, exactly.
    #[test]
    fn a_far_stream_number_is_measured_from_the_steps() {
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        for stream in [0, 1 << 20, PartiesSeen::MAX_STREAMS, u64::MAX] {
            let mut seen = PartiesSeen::default();
            let step = Step {
                frame: 1,
                stream: Some(stream),
                src: Some(a),
                dst: Some(b),
                ..Step::default()
            };
            seen.note(&step);
            assert_eq!(seen.irregular, stream != 0, "{stream}");
            assert!(seen.sides.len() <= 1, "{stream}: {}", seen.sides.len());
        }
    }

    /// Steps much later than the ones before them (more than a push moves one back), in a
    /// story that spills: each run is sorted before it is written, and the story is told in
    /// frame order.
    #[test]
    fn a_spilled_story_of_steps_in_reverse_order_is_told_in_frame_order() {
        let mut builder = StoryBuilder::spilling(4 * MAX_STEPS_MOVED);
        for frame in (1..=1_000u64).rev() {
            let text = Cow::Owned(format!("step {frame}"));
            builder.push(Step {
                frame,
                text,
                ..Step::default()
            });
        }
        let index = Index::default();
        let story = builder.into_story(&index, &StoryOptions::default());
        let frames: Vec<u64> = story.lines(&index).iter().map(|l| l.frame).collect();
        assert_eq!(frames, (1..=1_000).collect::<Vec<_>>());
    }

    /// A text naming its parties' roles is told with the roles of the line it is on (a
    /// party not known reads as "sender"/"receiver"); other texts are copied as they are.
    #[test]
    fn role_templates_are_told_with_the_parties_roles() {
        let party = |role, addr: &str| {
            Some(Party {
                role,
                addr: addr.parse().unwrap(),
            })
        };
        let template = role_template(crate::timeline::summary::zero_window(
            SENDER_ROLE,
            RECEIVER_ROLE,
        ));
        let mut out = String::new();
        let (from, to) = (
            party("client", "10.0.0.1:5000"),
            party("proxy", "10.0.0.2:8080"),
        );
        push_step_text(&mut out, &template, &from, &to);
        assert_eq!(
            out,
            "client's receive window is full (zero window): proxy must wait"
        );
        out.clear();
        push_step_text(&mut out, &template, &None, &None);
        assert_eq!(
            out,
            "sender's receive window is full (zero window): receiver must wait"
        );
        out.clear();
        push_step_text(&mut out, "the server's FIN", &from, &to);
        assert_eq!(out, "the server's FIN");
    }

    /// Templates are named as the story is told, whichever way its steps were kept: in memory,
    /// spilled and measured as they came, or spilled with their roles kept in a file (steps
    /// without a connection), merged into a line or not.
    #[test]
    fn role_templates_are_named_in_every_kind_of_story() {
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let reopened = role_template(crate::timeline::summary::window_reopened(
            SENDER_ROLE,
            RECEIVER_ROLE,
            2.0,
            3,
        ));
        for (spill, stream) in [(None, Some(0)), (Some(2), Some(0)), (Some(2), None)] {
            let mut builder = match spill {
                Some(steps) => StoryBuilder::spilling(steps),
                None => StoryBuilder::default(),
            };
            for frame in 1..=6u64 {
                for text in [reopened.clone(), "and more".to_string()] {
                    builder.push(Step {
                        frame,
                        stream,
                        src: Some(a),
                        dst: Some(b),
                        proto: "TCP",
                        text: Cow::Owned(text),
                        ..Step::default()
                    });
                }
            }
            let index = Index::default();
            let story = builder.into_story(&index, &StoryOptions::default());
            let lines = story.lines(&index);
            assert_eq!(lines.len(), 6, "{spill:?} {stream:?}");
            for line in lines {
                // Unknown addresses are clients (`Index::role_of`).
                assert_eq!(
                    line.text,
                    "client reopens its receive window after 2.0 s (3 zero-window probes from client), and more",
                    "{spill:?} {stream:?}"
                );
            }
        }
    }

    #[test]
    fn addresses_are_ordered_as_the_standard_library_orders_them() {
        let addrs: Vec<SocketAddr> = [
            "10.0.0.1:80",
            "10.0.0.1:81",
            "10.0.0.2:1",
            "9.255.255.255:65535",
            "255.0.0.0:0",
            "0.0.0.0:0",
            "[::1]:80",
            "[::]:0",
            "[2001:db8::1]:443",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        for &a in &addrs {
            for &b in &addrs {
                assert_eq!(addr_le(a, b), a <= b, "{a} {b}");
            }
        }
    }

    #[test]
    fn party_text_len_matches_display() {
        for n in 0..=255u8 {
            for port in [0u16, 9, 10, 99, 100, 65535] {
                let addr = SocketAddr::from(([n, 255 - n, n / 7, 1], port));
                let p = Party {
                    role: "client",
                    addr,
                };
                assert_eq!(p.text_len(), p.to_string().len(), "{addr}");
            }
        }
        let p = Party {
            role: "server",
            addr: "[2001:db8::1%2]:443".parse().unwrap(),
        };
        assert_eq!(p.text_len(), p.to_string().len());
    }
}
