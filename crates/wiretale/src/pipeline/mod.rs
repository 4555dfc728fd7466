//! The pipeline: capture → net → tcp → protocol decoders → events, in one streaming pass.
//!
//! ```no_run
//! use wiretale::pipeline::{analyze_path, AnalyzerConfig};
//! use wiretale::timeline::Collector;
//!
//! let mut collector = Collector::default();
//! let report = analyze_path("trace.pcap", &AnalyzerConfig::default(), &mut collector)?;
//! println!("{} frames, {} events", report.stats.frames_read, collector.events.len());
//! # Ok::<(), wiretale::capture::CaptureError>(())
//! ```

mod dispatch;
mod opaque;
mod parallel;
mod reading;
mod settings;
mod stats;

pub use parallel::{analyze_parallel, Divergence, MAX_THREADS};
pub use settings::{SettingError, SETTINGS};
pub use stats::{Limit, LimitHits, Stats, MAX_DAMAGE_KEPT};

use crate::capture::{CaptureError, CaptureFormat, CaptureReader, Interface};
use crate::net::{DefragConfig, NetDecoder};
use crate::proto::http::HttpConfig;
use crate::proto::tls::TlsParserConfig;
use crate::tcp::{TcpConfig, TcpTracker};
use crate::timeline::EventSink;
use dispatch::Dispatcher;
use reading::ReadCounters;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// An application protocol wiretale decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppProtocol {
    /// TLS (or SSL).
    Tls,
    /// HTTP/1.x.
    Http,
    /// Do not decode.
    Opaque,
}

/// Force a protocol on a TCP port, overriding detection by content (`--decode-as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeAs {
    /// Either end's port.
    pub port: u16,
    /// The protocol to use.
    pub protocol: AppProtocol,
}

/// Settings of one analysis.
#[derive(Debug, Clone, Default)]
pub struct AnalyzerConfig {
    /// TCP-layer limits.
    pub tcp: TcpConfig,
    /// IPv4 fragment-table limits.
    pub defrag: DefragConfig,
    /// TLS decoder limits (largest handshake message reassembled), for every TLS connection,
    /// including TLS inside HTTP `CONNECT` tunnels.
    pub tls: TlsParserConfig,
    /// HTTP decoder limits (head length, header count, outstanding requests, chunk-size line).
    /// Secrets are kept when either `http.show_secrets` or [`Self::show_secrets`] is set.
    pub http: HttpConfig,
    /// Protocol overrides by port.
    pub decode_as: Vec<DecodeAs>,
    /// Keep secrets (Basic passwords) instead of redacting them.
    pub show_secrets: bool,
    /// Told how far the analysis is, for a progress bar.
    pub progress: Option<ProgressHook>,
    /// Shard threads analysing connections (plus a reader thread); 0 or 1: everything on
    /// the calling thread. The output is the same either way unless a flow-table cap is hit
    /// (see [`analyze_parallel`]).
    pub threads: usize,
}

/// How far an analysis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the capture read so far.
    pub bytes_read: u64,
    /// Size of the capture, when known (a regular file; not standard input or a pipe).
    pub total_bytes: Option<u64>,
    /// Frames read so far.
    pub frames: u64,
    /// Whether the analysis is over (the last call).
    pub done: bool,
}

/// A callback that [`analyze`] calls with its [`Progress`] each time another `every_bytes`
/// bytes of the capture have been read, and once at the end. Costs one comparison per frame.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use wiretale::pipeline::{AnalyzerConfig, ProgressHook};
///
/// let read = Arc::new(AtomicU64::new(0));
/// let seen = Arc::clone(&read);
/// let config = AnalyzerConfig {
///     progress: Some(ProgressHook::new(1 << 20, move |p| seen.store(p.bytes_read, Ordering::Relaxed))),
///     ..AnalyzerConfig::default()
/// };
/// ```
#[derive(Clone)]
pub struct ProgressHook {
    callback: Arc<dyn Fn(&Progress) + Send + Sync>,
    every_bytes: u64,
}

impl ProgressHook {
    /// Calls `callback` every `every_bytes` bytes read (at least 1) and at the end.
    pub fn new(every_bytes: u64, callback: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        ProgressHook {
            callback: Arc::new(callback),
            every_bytes: every_bytes.max(1),
        }
    }
}

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressHook")
            .field("every_bytes", &self.every_bytes)
            .finish_non_exhaustive()
    }
}

/// What an analysis found besides its events.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Counters: frames read, decoded, skipped by reason, TCP layer counters.
    pub stats: Stats,
    /// The error that stopped reading, if the file is damaged part-way.
    pub error: Option<CaptureError>,
    /// File format.
    pub format: CaptureFormat,
    /// Capture interfaces.
    pub interfaces: Vec<Interface>,
    /// Comments found in the file.
    pub comments: Vec<String>,
}

/// Opens and analyses a capture file (`-` for standard input). Fails only when the input is
/// not a readable capture at all; damage part-way is in [`Report::error`].
///
/// The file is read with `read` calls ([`CaptureReader::open`]); to read it through a memory
/// map instead, open it with [`CaptureReader::open_mapped`] and call [`analyze`].
pub fn analyze_path(
    path: impl AsRef<Path>,
    config: &AnalyzerConfig,
    sink: &mut dyn EventSink,
) -> Result<Report, CaptureError> {
    let mut reader = CaptureReader::open(path)?;
    Ok(analyze(&mut reader, config, sink))
}

/// Analyses everything `reader` yields, streaming events into `sink`. With
/// `config.threads > 1` the work is spread over threads ([`analyze_parallel`]); the output is
/// the same.
pub fn analyze(
    reader: &mut CaptureReader<'_>,
    config: &AnalyzerConfig,
    sink: &mut dyn EventSink,
) -> Report {
    if config.threads > 1 {
        return analyze_parallel(reader, config, sink).0;
    }
    let mut net = NetDecoder::new(config.defrag);
    let mut dispatcher = Dispatcher::new(config, sink);
    let mut tcp: TcpTracker<Dispatcher<'_>> = TcpTracker::new(config.tcp);
    let mut stats = Stats::default();
    let mut counters = ReadCounters::new(config);
    let error = loop {
        counters.before_record(reader, config);
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break None,
            // Damage read past: noted, and the records after it are analysed.
            Err(e) if e.resumed_at.is_some() => {
                stats.note_damage(e);
                continue;
            }
            Err(e) => break Some(e),
        };
        let first_record = counters.first_time().is_none();
        let start = counters.on_record(&mut stats, &record);
        if first_record {
            dispatcher.capture_start(start);
        }
        dispatcher.begin_frame(&record, start);
        match net.decode(&record) {
            crate::net::Decoded::Tcp(seg) => {
                stats.frames_tcp += 1;
                let info = tcp.segment(record.frame, record.time, &seg, &mut dispatcher);
                dispatcher.end_tcp_frame(&seg, &info);
            }
            crate::net::Decoded::Skipped { reason, packet, .. } => {
                *stats.skipped.entry(reason).or_insert(0) += 1;
                dispatcher.end_other_frame(reason, packet, &record);
            }
        }
        stats.note_fragments_evicted(net.fragments_evicted(), record.frame);
    };
    tcp.finish(&mut dispatcher, counters.last_time());
    stats.tcp = tcp.stats();
    stats.fragments_evicted = net.fragments_evicted();
    stats.settle_fragments(net.unassembled_fragment_frames());
    counters.finish(&mut stats);
    dispatcher.finish(&mut stats);
    stats.settle_limits(config);
    ReadCounters::report_done(reader, config);
    Report {
        stats,
        error,
        format: reader.format(),
        interfaces: reader.interfaces().to_vec(),
        comments: reader.comments().to_vec(),
    }
}

#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod progress_tests;
#[cfg(test)]
mod tests;
