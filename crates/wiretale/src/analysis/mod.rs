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
pub use index::{ConnIndex, Exchange, ExchangeResponse, Index, TlsProgress};
pub use root_cause::RootCause;
pub use story::{LineKind, Party, StoryLine, StoryOptions};

use crate::capture::CaptureError;
use crate::pipeline::{analyze_path, AnalyzerConfig, Report};
use crate::tcp::FlowSummary;
use crate::timeline::{Collector, Event};
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
pub fn diagnose(index: &Index<'_>, thresholds: &Thresholds) -> Diagnosis {
    let findings = findings::detect(index, thresholds);
    let root_cause = root_cause::explain(&findings);
    Diagnosis {
        findings,
        root_cause,
    }
}

/// A whole capture analysed: events, flows, story and diagnosis.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Every event.
    pub events: Vec<Event>,
    /// Every connection's summary, by stream.
    pub flows: Vec<FlowSummary>,
    /// Counters and damage.
    pub report: Report,
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
        let diagnosis = {
            let index = Index::new(&events, &flows, report.stats.last_time);
            let mut diagnosis = diagnose(&index, &Thresholds::default());
            findings::add_limits_reached(&mut diagnosis.findings, &report.stats);
            diagnosis
        };
        Analysis {
            events,
            flows,
            report,
            diagnosis,
        }
    }

    /// The index over the events (for the story and custom analyses).
    pub fn index(&self) -> Index<'_> {
        Index::new(&self.events, &self.flows, self.report.stats.last_time)
    }

    /// The story of the whole capture.
    pub fn story(&self, opts: &StoryOptions) -> Vec<StoryLine> {
        story::build(&self.index(), None, opts)
    }

    /// The story told from the events `keep` accepts (called once per event, in order — e.g.
    /// a display filter). Roles and connections still come from every event.
    pub fn story_filtered(
        &self,
        keep: impl FnMut(&Event) -> bool,
        opts: &StoryOptions,
    ) -> Vec<StoryLine> {
        self.story_with(&self.index(), Some(keep), opts)
    }

    /// Like [`Analysis::story_filtered`] (or [`Analysis::story`] when `keep` is `None`) with an
    /// index the caller already built from this analysis (it is the costly part).
    pub fn story_with(
        &self,
        index: &Index<'_>,
        keep: Option<impl FnMut(&Event) -> bool>,
        opts: &StoryOptions,
    ) -> Vec<StoryLine> {
        match keep {
            None => story::build(index, None, opts),
            Some(mut keep) => {
                let selected: Vec<usize> = index
                    .events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| keep(e))
                    .map(|(i, _)| i)
                    .collect();
                story::build(index, Some(&selected), opts)
            }
        }
    }
}

#[cfg(test)]
mod tests;
