//! Deterministic mutation test: every capture in `testdata/` and `../shared/captures` is
//! truncated, bit-flipped, partly zeroed and cut in the middle, many times with a fixed seed, and
//! each damaged file goes through the whole analysis. For every damaged input:
//!
//! * nothing panics, and the analysis finishes within a per-input time limit;
//! * frame accounting adds up (`frames_read == frames_tcp + skipped`);
//! * a read error names the frame that could not be read (`frames_read + 1`) and a byte offset
//!   inside the file at or after the last good record, and says both in its message;
//! * damage read past (`stats.damage`) is in file order, each place inside the file, after the
//!   last good record before it and before where reading resumed, numbered with the frame the
//!   next record got, and its message says how many bytes were skipped;
//! * every frame whose record lies entirely before the first damaged byte is analysed exactly
//!   as in the undamaged file (same frame count at least, same stream, addresses, skip reason
//!   and payload length per frame).
//!
//! Under `CI=true` a missing `../shared/captures` is a failure; elsewhere it is skipped with a
//! message.

mod support;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::harness::Rng;
use wiretale::capture::CaptureReader;
use wiretale::pipeline::{analyze, AnalyzerConfig, Report};
use wiretale::timeline::{Collector, FrameSummary};

/// What must not change for a frame before the damage.
#[derive(Debug, PartialEq)]
struct FrameFacts {
    frame: u64,
    stream: Option<u64>,
    src: String,
    dst: String,
    skipped: Option<wiretale::net::SkipReason>,
    tcp_len: Option<u32>,
    cap_len: u32,
}

fn facts(f: &FrameSummary) -> FrameFacts {
    FrameFacts {
        frame: f.frame,
        stream: f.stream,
        src: f.src.clone(),
        dst: f.dst.clone(),
        skipped: f.skipped,
        tcp_len: f.tcp_len,
        cap_len: f.cap_len,
    }
}

struct Run {
    report: Option<Report>,
    frames: Vec<FrameSummary>,
    elapsed: Duration,
}

fn run(data: &[u8]) -> Run {
    let start = Instant::now();
    let mut collector = Collector {
        keep_frames: true,
        ..Collector::default()
    };
    let report = CaptureReader::new(Cursor::new(data))
        .ok()
        .map(|mut reader| analyze(&mut reader, &AnalyzerConfig::default(), &mut collector));
    Run {
        report,
        frames: collector.frames,
        elapsed: start.elapsed(),
    }
}

/// Byte offset where each record's block starts, and where the block after it starts (the end
/// of the record, or later in pcapng when other blocks follow).
fn record_bounds(data: &[u8]) -> Vec<(u64, u64)> {
    let Ok(mut reader) = CaptureReader::new(Cursor::new(data)) else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    while let Ok(Some(record)) = reader.next_record() {
        starts.push(record.file_offset);
    }
    let mut bounds = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let next = starts.get(i + 1).copied().unwrap_or(data.len() as u64);
        bounds.push((s, next));
    }
    bounds
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Truncate { at: usize },
    FlipBits { at: usize, count: usize },
    Zero { at: usize, len: usize },
    Cut { at: usize, len: usize },
}

impl Damage {
    fn first_byte(self) -> usize {
        match self {
            Damage::Truncate { at }
            | Damage::FlipBits { at, .. }
            | Damage::Zero { at, .. }
            | Damage::Cut { at, .. } => at,
        }
    }

    fn apply(self, data: &[u8], rng: &mut Rng) -> Vec<u8> {
        let mut out = data.to_vec();
        match self {
            Damage::Truncate { at } => out.truncate(at),
            Damage::FlipBits { at, count } => {
                // The first flip is at `at`; the others after it (so `at` is the first damage).
                let len = out.len();
                if let Some(b) = out.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
                for _ in 1..count {
                    let pos = at + rng.below((len - at) as u64) as usize;
                    if let Some(b) = out.get_mut(pos) {
                        *b ^= 1 << rng.below(8);
                    }
                }
            }
            Damage::Zero { at, len } => {
                let end = (at + len).min(out.len());
                out[at..end].fill(0);
            }
            Damage::Cut { at, len } => {
                let end = (at + len).min(out.len());
                out.drain(at..end);
            }
        }
        out
    }
}

fn pick_damage(rng: &mut Rng, len: usize, bounds: &[(u64, u64)]) -> Damage {
    // Half of the time aim at a record's start or header (the fields that steer the reader).
    let at = if !bounds.is_empty() && rng.below(2) == 0 {
        let (start, _) = bounds[rng.below(bounds.len() as u64) as usize];
        (start + rng.below(24)) as usize
    } else {
        rng.below(len as u64) as usize
    };
    let at = at.min(len.saturating_sub(1));
    match rng.below(4) {
        0 => Damage::Truncate { at },
        1 => Damage::FlipBits {
            at,
            count: 1 + rng.below(4) as usize,
        },
        2 => Damage::Zero {
            at,
            len: 1 + rng.below(32) as usize,
        },
        _ => Damage::Cut {
            at,
            len: 1 + rng.below(64) as usize,
        },
    }
}

/// Mutations per file: more for small files, fewer for big ones, so the whole test stays
/// within about a minute in a debug build.
fn mutations_for(len: usize) -> usize {
    match len {
        0..=16_384 => 240,
        16_385..=131_072 => 96,
        131_073..=1_048_576 => 36,
        _ => 18,
    }
}

fn check_file(path: &Path, rng: &mut Rng) -> usize {
    let name = path.display().to_string();
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let baseline = run(&data);
    let bounds = record_bounds(&data);
    let base_facts: Vec<FrameFacts> = baseline.frames.iter().map(facts).collect();
    // Generous for debug builds and a loaded machine, yet far below a hang.
    let limit = Duration::from_secs(5).max(baseline.elapsed * 20);
    let n = mutations_for(data.len());
    for i in 0..n {
        let damage = pick_damage(rng, data.len(), &bounds);
        let damaged = damage.apply(&data, rng);
        let result = std::panic::catch_unwind(|| run(&damaged));
        let Ok(result) = result else {
            panic!("{name}: analysis panicked on mutation {i} ({damage:?})");
        };
        assert!(
            result.elapsed <= limit,
            "{name}: mutation {i} ({damage:?}) took {:?} (limit {limit:?})",
            result.elapsed
        );
        // Frames wholly before the first damaged byte are read and analysed as before.
        let intact = bounds
            .iter()
            .filter(|(_, end)| *end <= damage.first_byte() as u64)
            .count();
        let Some(report) = result.report else {
            assert_eq!(
                intact, 0,
                "{name}: {damage:?} made an intact prefix unreadable"
            );
            continue;
        };
        let stats = &report.stats;
        assert_eq!(
            stats.frames_read,
            stats.frames_tcp + stats.frames_skipped(),
            "{name}: {damage:?}: frame accounting"
        );
        assert!(
            stats.frames_read as usize >= intact,
            "{name}: {damage:?}: read {} frames, {intact} were intact",
            stats.frames_read
        );
        let got: Vec<FrameFacts> = result.frames.iter().take(intact).map(facts).collect();
        assert_eq!(
            got,
            base_facts[..intact],
            "{name}: {damage:?}: frames before the damage analysed differently"
        );
        if let Some(error) = &report.error {
            assert_eq!(
                error.frame,
                stats.frames_read + 1,
                "{name}: {damage:?}: error names frame {} after {} frames read",
                error.frame,
                stats.frames_read
            );
            assert!(
                error.offset <= damaged.len() as u64,
                "{name}: {damage:?}: {error}"
            );
            if intact > 0 {
                assert!(
                    error.offset >= bounds[intact - 1].0,
                    "{name}: {damage:?}: {error}"
                );
            }
            let text = error.to_string();
            assert!(
                text.contains(&format!("frame {}", error.frame))
                    && text.contains(&format!("byte offset {}", error.offset)),
                "{name}: error message lacks frame or offset: {text}"
            );
        }
        let mut previous: Option<&wiretale::capture::CaptureError> = None;
        for place in &stats.damage {
            let resumed_at = place.resumed_at.expect("damage read past says where");
            assert!(
                place.offset < resumed_at && resumed_at <= damaged.len() as u64,
                "{name}: {damage:?}: {place}"
            );
            if intact > 0 {
                assert!(place.offset >= bounds[intact - 1].0, "{name}: {place}");
            }
            if let Some(p) = previous {
                assert!(
                    p.resumed_at <= Some(place.offset) && p.frame <= place.frame,
                    "{name}: {damage:?}: {p} then {place}"
                );
            }
            assert!(place.frame <= stats.frames_read + 1, "{name}: {place}");
            assert!(
                place.to_string().contains(&format!(
                    "{} bytes skipped, reading resumed at byte offset {resumed_at}",
                    resumed_at - place.offset
                )),
                "{name}: {place}"
            );
            previous = Some(place);
        }
        assert_eq!(stats.damaged_places as usize, stats.damage.len(), "{name}");
        if !stats.damage.is_empty() {
            RESUMED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        check_resumed_records(&name, &data, &damaged, damage, &bounds);
        if let Damage::Truncate { at } = damage {
            // A truncated file loses only the records that were cut.
            let complete = bounds.iter().filter(|(s, _)| (*s as usize) < at).count();
            assert!(stats.frames_read as usize <= complete.max(intact));
        }
    }
    n
}

/// Records read after the reader resumed past damage, which lie wholly in undamaged bytes
/// after it, are records of the intact file, byte for byte: the reader does not resume
/// inside a packet's bytes, or on noise. (Only for damage confined to one place: a zeroed
/// run, a cut, a single bit flip.)
fn check_resumed_records(
    name: &str,
    data: &[u8],
    damaged: &[u8],
    damage: Damage,
    bounds: &[(u64, u64)],
) {
    // The damaged bytes' span in the damaged file, and how a later offset maps back.
    let (start, end, shift) = match damage {
        Damage::Zero { at, len } => (at, at + len, 0),
        Damage::Cut { at, len } => (at, at, len.min(data.len() - at)),
        Damage::FlipBits { at, count: 1 } => (at, at + 1, 0),
        _ => return,
    };
    let Ok(mut reader) = CaptureReader::new(Cursor::new(damaged)) else {
        return;
    };
    let mut resumed = false;
    loop {
        match reader.next_record() {
            Ok(Some(r)) => {
                let off = r.file_offset as usize;
                if !resumed || off < end.max(start) {
                    continue;
                }
                let original = off + shift;
                let intact = bounds.iter().any(|(s, _)| *s as usize == original)
                    && data.get(original..).is_some_and(|rest| {
                        let tail = &damaged[off..];
                        let n = tail.len().min(rest.len()).min(16 + r.data.len());
                        tail[..n] == rest[..n]
                    });
                if !intact {
                    FALSE_RESUMES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    eprintln!(
                        "{name}: {damage:?}: frame {} at {off} is not an intact record",
                        r.frame
                    );
                }
            }
            Ok(None) => break,
            Err(e) if e.resumed_at.is_some() => resumed = true,
            Err(_) => break,
        }
    }
}

/// Records read after a resumption that are not records of the intact file.
static FALSE_RESUMES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Damaged inputs where reading resumed after damage.
static RESUMED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn all_captures() -> Vec<PathBuf> {
    let mut files = support::testdata_captures();
    if let Some(shared) = support::shared_captures() {
        files.extend(support::capture_files(&shared));
    }
    files
}

#[test]
fn damaged_captures_are_analysed_up_to_the_damage() {
    let files = all_captures();
    assert!(!files.is_empty(), "no captures found");
    let mut rng = Rng::new(0x5EED_2024);
    let started = Instant::now();
    let mut total = 0;
    for path in &files {
        total += check_file(path, &mut rng);
    }
    let resumed = RESUMED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "{total} damaged inputs from {} captures in {:?}; reading resumed after damage in {resumed}",
        files.len(),
        started.elapsed()
    );
    let false_resumes = FALSE_RESUMES.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        false_resumes, 0,
        "records read after resuming that are not records"
    );
    // Damaged length fields are among the mutations; some must have been read past.
    assert!(resumed > 0, "no damaged input was read past");
}
