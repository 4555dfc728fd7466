//! Analyses over the timeline: the story, findings and the root cause. They read events and
//! flow summaries only, never bytes.
//!
//! ```no_run
//! use wiretale::analysis::Analysis;
//! use wiretale::pipeline::AnalyzerConfig;
//!
//! let analysis = Analysis::of_path("case-study.pcapng", &AnalyzerConfig::default())?;
//! for f in &analysis.diagnosis.findings {
//!     println!("{} [{}] frame {}: {}", f.id, f.severity, f.frame, f.summary);
//! }
//! # Ok::<(), wiretale::capture::CaptureError>(())
//! ```

pub mod compare;
mod finding;
pub mod findings;
mod index;
mod root_cause;
mod story;

pub use finding::{Finding, Severity};
pub use findings::Thresholds;
pub use index::{
    AcceptedCredentials, ConnIndex, CredentialsKey, EndSeen, Exchange, ExchangeResponse, FlowFacts,
    GapFacts, GapSeen, Index, IndexBuilder, NotTlsSeen, QuietConn, ResetSeen, RetiredCertificate,
    RetiredNtlmAnswer, SilentPeer, TcpFacts, TlsProgress, ZeroWindowSeen, FIRST_EXCHANGES_KEPT,
    LONG_ZERO_WINDOW_SECS, MAX_ACCEPTED, MAX_ALERTS, MAX_ENDS, MAX_GAPS, MAX_RESETS,
    REJECTIONS_KEPT, SILENT_PEER_RETRANSMISSIONS, SLOW_HANDSHAKE_SECS,
};
pub use root_cause::RootCause;
pub use story::{
    LineKind, Party, Story, StoryBuilder, StoryColumns, StoryLine, StoryOptions, MEMORY_STEPS,
};

use crate::capture::CaptureError;
use crate::pipeline::{analyze_path, AnalyzerConfig, Report};
use crate::tcp::FlowSummary;
use crate::timeline::{Collector, Event, EventSink};
use serde::Serialize;
use std::path::Path;

/// Findings and the explanation that chains them.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// The chained explanation, when there is something to explain.
    pub root_cause: Option<RootCause>,
}

impl Diagnosis {
    /// The worst severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Runs every detector and chains the findings.
pub fn diagnose(index: &Index, thresholds: &Thresholds) -> Diagnosis {
    let findings = findings::detect(index, thresholds);
    let root_cause = root_cause::explain(&findings);
    Diagnosis {
        findings,
        root_cause,
    }
}

/// [`diagnose`] with the default thresholds, plus the findings read from the capture's
/// counters and its reader (`limits-reached`, `capture-damaged`).
pub(crate) fn diagnose_capture(index: &Index, report: &Report) -> Diagnosis {
    let mut diagnosis = diagnose(index, &Thresholds::default());
    findings::add_capture_findings(&mut diagnosis.findings, report);
    diagnosis
}

/// A whole capture analysed, keeping every event: events, flows, index and diagnosis.
///
/// For the story and the diagnosis alone, [`StoryRecorder`] does the same work without
/// keeping the events (memory grows with the story, not with the capture).
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Every event.
    pub events: Vec<Event>,
    /// Every connection's summary, by stream.
    pub flows: Vec<FlowSummary>,
    /// Counters and damage.
    pub report: Report,
    /// The per-connection index over the events.
    pub index: Index,
    /// The diagnosis.
    pub diagnosis: Diagnosis,
}

impl Analysis {
    /// Analyses a capture file.
    pub fn of_path(path: impl AsRef<Path>, config: &AnalyzerConfig) -> Result<Self, CaptureError> {
        let mut collector = Collector::default();
        let report = analyze_path(path, config, &mut collector)?;
        Ok(Analysis::from_parts(
            collector.events,
            collector.flows,
            report,
        ))
    }

    /// Builds the analysis from collected events and flows.
    pub fn from_parts(events: Vec<Event>, mut flows: Vec<FlowSummary>, report: Report) -> Self {
        flows.sort_by_key(|f| f.stream);
        let index = Index::new(&events, &flows, report.stats.last_time);
        let diagnosis = diagnose_capture(&index, &report);
        Analysis {
            events,
            flows,
            report,
            index,
            diagnosis,
        }
    }

    /// The index over the events (for the story and custom analyses).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The story of the whole capture.
    pub fn story(&self, opts: &StoryOptions) -> Vec<StoryLine> {
        self.story_filtered(|_| true, opts)
    }

    /// The story told from the events `keep` accepts (called once per event, in order — e.g.
    /// a display filter). Roles and connections still come from every event.
    pub fn story_filtered(
        &self,
        mut keep: impl FnMut(&Event) -> bool,
        opts: &StoryOptions,
    ) -> Vec<StoryLine> {
        let mut story = StoryBuilder::default();
        for e in self.events.iter().filter(|e| keep(e)) {
            story.event(e);
        }
        from_capture_start(story.into_story(&self.index, opts), &self.report).lines(&self.index)
    }
}

/// `story` with its times counted from the capture's first frame (as Wireshark's Time column),
/// whatever events it tells.
fn from_capture_start(story: Story, report: &Report) -> Story {
    match report.stats.first_time {
        Some(start) => story.relative_to(start),
        None => story,
    }
}

/// Which events the story tells.
type EventPredicate<'a> = Box<dyn FnMut(&Event) -> bool + 'a>;

/// The story and the diagnosis of a capture, recorded as the pipeline runs without keeping
/// the events: an [`EventSink`] that folds each event into the [`Index`] and, when the
/// optional filter accepts it, into the story's steps.
///
/// Memory: connections no detector reads keep only their endpoints once closed
/// ([`IndexBuilder::retiring_quiet`]), and story steps beyond [`MEMORY_STEPS`] wait in an
/// anonymous temporary file (`StoryRecorder::memory_steps` to change how many stay in
/// memory). The story and the diagnosis are those [`Analysis`] gives for the same capture.
///
/// ```no_run
/// use wiretale::analysis::{StoryOptions, StoryRecorder};
/// use wiretale::pipeline::{analyze_path, AnalyzerConfig};
///
/// let mut recorder = StoryRecorder::default();
/// let report = analyze_path("case-study.pcapng", &AnalyzerConfig::default(), &mut recorder)?;
/// let told = recorder.finish(report, &StoryOptions::default());
/// told.for_each_line(|line| println!("frame {}: {}", line.frame, line.text))?;
/// if let Some(cause) = &told.diagnosis.root_cause {
///     println!("{}", cause.summary);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StoryRecorder<'a> {
    index: IndexBuilder,
    story: StoryBuilder,
    keep: Option<EventPredicate<'a>>,
    flows: usize,
    /// Events handed over by value ([`EventSink::take_event`]), recorded [`BATCH`] at a time
    /// (events and summaries together).
    queue: Vec<Event>,
    /// Connection summaries handed over by value ([`EventSink::take_flow`], and
    /// [`EventSink::closing`]), each with the number of queued events that came before it.
    /// Not in one queue with the events: a summary is half as large again as an event, and
    /// every event moved in and out of the queue at a summary's size cost more than the
    /// batching saved.
    queued_flows: Vec<(usize, FlowSummary, SummaryKind)>,
}

/// Which summary of a connection a recorder queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SummaryKind {
    /// As it closed ([`EventSink::closing`]).
    Closing,
    /// As it left the flow table ([`EventSink::take_flow`]).
    Final,
}

/// Events (and connection summaries) a recorder gathers before recording them. Recording an
/// event as it comes ran the index's and the story's code between every two events'
/// decoding, and each evicted the other from the processor's instruction cache: on a capture
/// of short connections (five events a connection) half of a `story` run's
/// instruction-cache misses were those (callgrind's cache model: 1 080 a connection, 590
/// without the story; 700 with events recorded in batches). A batch is a few kilobytes.
/// Summaries wait with the events (their place among them kept), so the index sees a
/// connection's events before its summary, as they came; a summary that recorded the batch
/// at once cut the batches on short connections to the seven or so items of one connection.
const BATCH: usize = 64;

impl std::fmt::Debug for StoryRecorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoryRecorder")
            .field("connections", &self.index.len())
            .field("steps", &self.story.len())
            .field("filtered", &self.keep.is_some())
            .field("flows", &self.flows)
            .field("queued", &(self.queue.len() + self.queued_flows.len()))
            .finish()
    }
}

impl Default for StoryRecorder<'_> {
    fn default() -> Self {
        StoryRecorder {
            // Connections no detector reads keep only their endpoints (for the story's roles).
            index: IndexBuilder::retiring_quiet(),
            // Steps beyond memory go to a temporary file: memory does not grow with the story.
            story: StoryBuilder::spilling(MEMORY_STEPS),
            keep: None,
            flows: 0,
            queue: Vec::with_capacity(BATCH),
            queued_flows: Vec::new(),
        }
    }
}

impl<'a> StoryRecorder<'a> {
    /// A recorder whose story tells only the events `keep` accepts (e.g. a display filter);
    /// the index and the diagnosis still see every event.
    pub fn filtered(keep: impl FnMut(&Event) -> bool + 'a) -> Self {
        StoryRecorder {
            keep: Some(Box::new(keep)),
            ..StoryRecorder::default()
        }
    }

    /// Keeps at most `steps` story steps in memory (default [`MEMORY_STEPS`]); the others
    /// wait in a temporary file.
    pub fn memory_steps(mut self, steps: usize) -> Self {
        self.story = StoryBuilder::spilling(steps);
        self
    }

    /// Records an event at once (after those [`EventSink::take_event`] gathered), moving
    /// out of it what the story and the index keep (its frame list, an HTTP head's method,
    /// target and reason) rather than copying them: for a sink that wraps a recorder and
    /// holds its event by reference. The event is spent: those fields are left empty. A
    /// sink that owns its event should hand it over by value (`take_event`), which records
    /// events in batches, kinder to the processor's instruction cache.
    pub fn record(&mut self, event: &mut Event) {
        self.record_queued();
        self.record_now(event);
    }

    fn record_now(&mut self, event: &mut Event) {
        // The story first: a step's text is made from the strings the index then takes.
        if self.told(event) {
            self.story.take_frames_of(event);
        }
        self.index.take_event(event);
    }

    /// Records what [`EventSink::take_event`] and [`EventSink::take_flow`] gathered, in
    /// order (each event is spent).
    fn record_queued(&mut self) {
        if self.queue.is_empty() && self.queued_flows.is_empty() {
            return;
        }
        let mut queue = std::mem::take(&mut self.queue);
        let mut flows = std::mem::take(&mut self.queued_flows);
        let mut flows_due = flows.iter().peekable();
        for (i, e) in queue.iter_mut().enumerate() {
            while let Some((_, flow, kind)) =
                flows_due.next_if(|(events_before, _, _)| *events_before <= i)
            {
                self.record_summary(flow, *kind);
            }
            self.record_now(e);
        }
        for (_, flow, kind) in flows_due {
            self.record_summary(flow, *kind);
        }
        queue.clear();
        flows.clear();
        self.queue = queue;
        self.queued_flows = flows;
    }

    fn record_flow(&mut self, flow: &FlowSummary) {
        self.flows += 1;
        self.index.flow(flow);
    }

    fn record_summary(&mut self, flow: &FlowSummary, kind: SummaryKind) {
        match kind {
            SummaryKind::Final => self.record_flow(flow),
            SummaryKind::Closing => self.index.closing(flow),
        }
    }

    /// Records the batch once it is full.
    fn record_if_full(&mut self) {
        if self.queue.len() + self.queued_flows.len() >= BATCH {
            self.record_queued();
        }
    }

    fn told(&mut self, e: &Event) -> bool {
        self.keep.as_mut().is_none_or(|keep| keep(e))
    }

    /// The story, the index and the diagnosis, once the pipeline has finished.
    pub fn finish(mut self, report: Report, opts: &StoryOptions) -> StoryAnalysis {
        self.record_queued();
        let index = self.index.finish(report.stats.last_time);
        let diagnosis = diagnose_capture(&index, &report);
        let story = from_capture_start(self.story.into_story(&index, opts), &report);
        StoryAnalysis {
            story,
            flows: self.flows,
            index,
            report,
            diagnosis,
        }
    }
}

impl EventSink for StoryRecorder<'_> {
    fn event(&mut self, event: &Event) {
        self.record_queued();
        self.index.event(event);
        if self.told(event) {
            self.story.event(event);
        }
    }
    fn take_event(&mut self, event: Event) {
        self.queue.push(event);
        self.record_if_full();
    }
    fn flow(&mut self, flow: &FlowSummary) {
        self.record_queued();
        self.record_flow(flow);
    }
    fn take_flow(&mut self, flow: FlowSummary) {
        (self.queued_flows).push((self.queue.len(), flow, SummaryKind::Final));
        self.record_if_full();
    }
    fn closing(&mut self, flow: FlowSummary) {
        (self.queued_flows).push((self.queue.len(), flow, SummaryKind::Closing));
        self.record_if_full();
    }
    fn wants_closing(&self) -> bool {
        self.index.wants_closing()
    }
}

/// What [`StoryRecorder::finish`] gives: a capture's story and diagnosis, without its events.
#[derive(Debug)]
pub struct StoryAnalysis {
    /// The story's steps, in frame order; [`StoryAnalysis::for_each_line`] tells it.
    pub story: Story,
    /// How many TCP connections (flow summaries) the capture had.
    pub flows: usize,
    /// The per-connection index.
    pub index: Index,
    /// Counters and damage.
    pub report: Report,
    /// The diagnosis.
    pub diagnosis: Diagnosis,
}

impl StoryAnalysis {
    /// Calls `visit` with each line of the story, in order (the line is reused between
    /// calls). Fails only when the story's steps, spilled to a temporary file, cannot be
    /// read back.
    pub fn for_each_line(&self, visit: impl FnMut(&StoryLine)) -> std::io::Result<()> {
        self.story.for_each_line(&self.index, visit)
    }

    /// The story's lines.
    pub fn lines(&self) -> Vec<StoryLine> {
        self.story.lines(&self.index)
    }

    /// The widths of the story's columns ([`Story::columns`]).
    pub fn columns(&self) -> StoryColumns {
        self.story.columns()
    }
}

#[cfg(test)]
mod tests;
