//! What every pass over a capture keeps while it reads records, whether the connections are
//! analysed on the reading thread or on shards: progress reports, the capture's first and
//! last time, and the frame and byte counters.

use super::{AnalyzerConfig, Progress, Stats};
use crate::capture::{CaptureReader, Record, Timestamp};

/// The reading side of one analysis.
pub(crate) struct ReadCounters {
    next_progress: u64,
    first_time: Option<Timestamp>,
    last_time: Timestamp,
}

impl ReadCounters {
    pub(crate) fn new(config: &AnalyzerConfig) -> Self {
        ReadCounters {
            next_progress: config.progress.as_ref().map_or(u64::MAX, |p| p.every_bytes),
            first_time: None,
            last_time: Timestamp::default(),
        }
    }

    /// Before reading the next record: tells the progress hook, every `every_bytes` bytes.
    pub(crate) fn before_record(&mut self, reader: &CaptureReader<'_>, config: &AnalyzerConfig) {
        if reader.bytes_read() < self.next_progress {
            return;
        }
        if let Some(hook) = &config.progress {
            (hook.callback)(&progress(reader, false));
            self.next_progress = reader.bytes_read().saturating_add(hook.every_bytes);
        }
    }

    /// Counts a record read; returns the capture's first time (relative times start there).
    pub(crate) fn on_record(&mut self, stats: &mut Stats, record: &Record<'_>) -> Timestamp {
        stats.frames_read += 1;
        stats.bytes_captured += record.data.len() as u64;
        self.last_time = record.time;
        *self.first_time.get_or_insert(record.time)
    }

    /// The capture's first time, once a record was read.
    pub(crate) fn first_time(&self) -> Option<Timestamp> {
        self.first_time
    }

    /// The time of the last record read (the capture's end, once reading is over).
    pub(crate) fn last_time(&self) -> Timestamp {
        self.last_time
    }

    /// Puts the capture's first and last times into `stats`.
    pub(crate) fn finish(&self, stats: &mut Stats) {
        stats.first_time = self.first_time;
        stats.last_time = self.first_time.map(|_| self.last_time);
    }

    /// The last progress report, when the analysis is over.
    pub(crate) fn report_done(reader: &CaptureReader<'_>, config: &AnalyzerConfig) {
        if let Some(hook) = &config.progress {
            (hook.callback)(&progress(reader, true));
        }
    }
}

fn progress(reader: &CaptureReader<'_>, done: bool) -> Progress {
    Progress {
        bytes_read: reader.bytes_read(),
        total_bytes: reader.total_len(),
        frames: reader.frames_read(),
        done,
    }
}
