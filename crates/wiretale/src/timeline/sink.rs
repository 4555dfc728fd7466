//! Where events go.

use super::{Event, FrameSummary};
use crate::capture::Timestamp;
use crate::tcp::FlowSummary;

/// Receives what the analysis produces, as it is produced (streaming, constant memory).
///
/// Every method has a default that ignores its input, so a sink implements only what it
/// needs. `wants_frames` lets the pipeline skip building per-frame summaries nobody reads.
pub trait EventSink {
    /// A timeline event.
    fn event(&mut self, event: &Event) {
        let _ = event;
    }
    /// A timeline event handed over by value: what the pipeline calls. The default lends it
    /// to [`EventSink::event`]; a sink that keeps events overrides this one instead and
    /// stores the event without cloning it.
    fn take_event(&mut self, event: Event) {
        self.event(&event);
    }
    /// A frame summary (only when [`EventSink::wants_frames`] says so).
    fn frame(&mut self, frame: &FrameSummary) {
        let _ = frame;
    }
    /// A connection left the flow table (closed and retired, evicted, or end of capture).
    fn flow(&mut self, flow: &FlowSummary) {
        let _ = flow;
    }
    /// A connection's summary handed over by value: what the pipeline calls. The default
    /// lends it to [`EventSink::flow`]; a sink that keeps summaries, or queues them with its
    /// events, overrides this one instead.
    fn take_flow(&mut self, flow: FlowSummary) {
        self.flow(&flow);
    }
    /// Whether to build frame summaries.
    fn wants_frames(&self) -> bool {
        false
    }
    /// The capture's first frame was read, at `first_frame_time`: called once, before any
    /// event, frame or flow. Relative times (Wireshark's Time column) count from here, not
    /// from the first event, which can come many frames later.
    fn capture_start(&mut self, first_frame_time: Timestamp) {
        let _ = first_frame_time;
    }
    /// A connection closed (FINs both ways, or a reset): nothing more will be decoded on it,
    /// no event of it will come, and `flow` is the summary it would report if it left the
    /// table now. Called only when [`EventSink::wants_closing`] says so (each costs a
    /// summary), after the connection's last event.
    ///
    /// A hint: the connection's final summary ([`EventSink::take_flow`]) still comes, when
    /// it leaves the table (after a few thousand more connections closed, for its late
    /// packets), and differs only by what late packets add: its last frame and time, its
    /// packet and byte counts, its history. A sink can finish its work on the connection
    /// here, while that work is still in the processor's caches, and complete it cheaply
    /// from the final summary. A connection that a client's SYN restarts after it closed
    /// (the same stream) has events again after this, and closes again.
    fn closing(&mut self, flow: FlowSummary) {
        let _ = flow;
    }
    /// Whether to call [`EventSink::closing`].
    fn wants_closing(&self) -> bool {
        false
    }
}

/// A sink that keeps everything (for analyses that need the whole picture).
#[derive(Debug, Default, Clone)]
pub struct Collector {
    /// Events, in the order they were produced.
    pub events: Vec<Event>,
    /// Flow summaries, sorted by stream when the analysis finishes.
    pub flows: Vec<FlowSummary>,
    /// Frame summaries, when asked for.
    pub frames: Vec<FrameSummary>,
    /// Whether to keep frame summaries.
    pub keep_frames: bool,
}

impl EventSink for Collector {
    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
    fn take_event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn frame(&mut self, frame: &FrameSummary) {
        self.frames.push(frame.clone());
    }
    fn flow(&mut self, flow: &FlowSummary) {
        self.flows.push(flow.clone());
    }
    fn take_flow(&mut self, flow: FlowSummary) {
        self.flows.push(flow);
    }
    fn wants_frames(&self) -> bool {
        self.keep_frames
    }
}
