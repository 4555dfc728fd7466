//! Collects the whole analysis of a capture and prints its findings and root cause, the way
//! a forensic tool embedding wiretale would.
//!
//! ```sh
//! cargo run -p wiretale-examples --example diagnose -- testdata/case-study.pcapng
//! ```

use wiretale::analysis::Analysis;
use wiretale::pipeline::AnalyzerConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: diagnose CAPTURE")?;
    let analysis = Analysis::of_path(&path, &AnalyzerConfig::default())?;
    println!(
        "{}: {} connections, {} events",
        path,
        analysis.flows.len(),
        analysis.events.len()
    );
    for f in &analysis.diagnosis.findings {
        println!(
            "[{}] {} (frame {}): {}",
            f.severity, f.id, f.frame, f.summary
        );
    }
    if let Some(rc) = &analysis.diagnosis.root_cause {
        println!("root cause: {}", rc.chain.join(" -> "));
        println!("fix: {}", rc.fix);
    }
    Ok(())
}
