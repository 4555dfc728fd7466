//! Tells the story of a capture of any size with bounded memory, the way `wiretale story`
//! does: a `StoryRecorder` sink folds each event into a per-connection index and a compact
//! story step (spilled to a temporary file past `MEMORY_STEPS`, 16 384 steps), never
//! keeping the events.
//!
//! ```sh
//! cargo run -p wiretale-examples --example tell_story -- testdata/case-study.pcapng
//! ```

use wiretale::analysis::{LineKind, StoryOptions, StoryRecorder};
use wiretale::pipeline::{analyze_path, AnalyzerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: tell_story CAPTURE")?;
    let mut recorder = StoryRecorder::default();
    let report = analyze_path(&path, &AnalyzerConfig::default(), &mut recorder)?;
    let told = recorder.finish(report, &StoryOptions::default());
    told.for_each_line(|line| {
        let party = |p: &Option<wiretale::analysis::Party>| {
            p.as_ref()
                .map(|p| format!("{} {}", p.role, p.addr))
                .unwrap_or_default()
        };
        match line.kind {
            LineKind::Idle => println!("            {}", line.text),
            LineKind::Step => println!(
                "frame {:>6}  {} → {}  {}",
                line.frame,
                party(&line.from),
                party(&line.to),
                line.text
            ),
        }
    })?;
    if let Some(rc) = &told.diagnosis.root_cause {
        println!("root cause: {}", rc.chain.join(" -> "));
    }
    let s = &told.report.stats;
    println!(
        "{} frames, {} connections ({} kept whole, {} retired to their endpoints)",
        s.frames_read,
        told.flows,
        told.index.conns.len(),
        told.index.quiet.len()
    );
    Ok(())
}
