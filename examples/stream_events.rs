//! Streams a capture's events with constant memory: a custom `EventSink` counts events by
//! protocol and prints every NTLM message as it is decoded.
//!
//! ```sh
//! cargo run -p wiretale-examples --example stream_events -- testdata/case-study.pcapng
//! ```

use std::collections::BTreeMap;
use wiretale::pipeline::{analyze_path, AnalyzerConfig};
use wiretale::timeline::{Detail, Event, EventSink};

#[derive(Default)]
struct NtlmWatcher {
    by_proto: BTreeMap<&'static str, u64>,
}

impl EventSink for NtlmWatcher {
    fn event(&mut self, event: &Event) {
        *self.by_proto.entry(event.proto()).or_default() += 1;
        if let Detail::Ntlm(ntlm) = &event.detail {
            println!(
                "frame {:>5}  stream {:>3}  {}",
                event.frame,
                event.stream.unwrap_or_default(),
                ntlm.summary
            );
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: stream_events CAPTURE")?;
    let mut sink = NtlmWatcher::default();
    let report = analyze_path(&path, &AnalyzerConfig::default(), &mut sink)?;
    println!(
        "{} frames read, {} TCP, {} skipped; events: {:?}",
        report.stats.frames_read,
        report.stats.frames_tcp,
        report.stats.frames_skipped(),
        sink.by_proto
    );
    if let Some(err) = report.error {
        eprintln!("capture damaged: {err}");
    }
    Ok(())
}
