//! The progress hook.

use super::*;
use crate::timeline::Collector;
use std::sync::Mutex;

fn recorded(every_bytes: u64) -> (Arc<Mutex<Vec<Progress>>>, AnalyzerConfig) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&calls);
    let config = AnalyzerConfig {
        progress: Some(ProgressHook::new(every_bytes, move |p| {
            sink.lock().unwrap().push(*p)
        })),
        ..AnalyzerConfig::default()
    };
    (calls, config)
}

#[test]
fn progress_counts_up_to_the_file_size_and_ends_once() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/case-study.pcapng");
    let size = std::fs::metadata(&path).unwrap().len();
    let (calls, config) = recorded(4096);
    let report = analyze_path(&path, &config, &mut Collector::default()).unwrap();
    let calls = calls.lock().unwrap();
    assert!(
        calls.len() as u64 > size / 4096 / 2,
        "{} calls",
        calls.len()
    );
    assert!(calls.windows(2).all(|w| w[0].bytes_read < w[1].bytes_read));
    assert!(calls
        .windows(2)
        .all(|w| w[1].bytes_read - w[0].bytes_read >= 4096 || w[1].done));
    assert!(calls.iter().all(|p| p.total_bytes == Some(size)));
    let last = calls.last().unwrap();
    assert!(last.done && calls.iter().filter(|p| p.done).count() == 1);
    assert_eq!(last.bytes_read, size);
    assert_eq!(last.frames, report.stats.frames_read);
}

#[test]
fn progress_of_a_stream_has_no_total() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tcp-basic-v4.pcap");
    let bytes = std::fs::read(&path).unwrap();
    let (calls, config) = recorded(1);
    let mut reader = CaptureReader::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let report = analyze(&mut reader, &config, &mut Collector::default());
    let calls = calls.lock().unwrap();
    assert_eq!(
        calls.len() as u64,
        report.stats.frames_read + 1,
        "every frame, then the end"
    );
    assert!(calls.iter().all(|p| p.total_bytes.is_none()));
    assert_eq!(calls.last().unwrap().bytes_read, bytes.len() as u64);
}
