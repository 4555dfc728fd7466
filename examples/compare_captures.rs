//! Compares a working capture with a failing one without keeping either capture's events,
//! the way a script or tool embedding wiretale would: each capture is described as
//! conversations while it is read (`ConversationRecorder`), then the two descriptions are
//! compared.
//!
//! ```sh
//! cargo run -p wiretale-examples --example compare_captures -- \
//!     testdata/case-study-working.pcapng testdata/case-study.pcapng
//! ```

use wiretale::analysis::compare::{
    compare_described, CaptureDescription, CompareOptions, ConversationRecorder,
};
use wiretale::pipeline::{analyze_path, AnalyzerConfig};

fn describe(
    path: &str,
    opts: &CompareOptions,
) -> Result<CaptureDescription, Box<dyn std::error::Error>> {
    let mut recorder = ConversationRecorder::new(opts.max_steps);
    let report = analyze_path(path, &AnalyzerConfig::default(), &mut recorder)?;
    if let Some(damage) = &report.error {
        // What was read before the damage is still compared.
        eprintln!("{path}: {damage}");
    }
    Ok(recorder.finish(report))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(working), Some(failing)) = (args.next(), args.next()) else {
        return Err("usage: compare_captures WORKING FAILING".into());
    };
    let opts = CompareOptions::default();
    let diff = compare_described(
        &describe(&working, &opts)?,
        &describe(&failing, &opts)?,
        &opts,
    );
    match &diff.first_departure {
        Some(d) => println!("first departure: {}", d.summary),
        None => println!("no departure"),
    }
    for c in diff.conversations.iter().filter(|c| c.is_different()) {
        println!("differs: {}", c.label);
    }
    for f in &diff.findings_only_in_failing {
        println!(
            "only in the failing capture: [{}] {}: {}",
            f.severity, f.id, f.summary
        );
    }
    println!("different: {}", diff.different);
    Ok(())
}
