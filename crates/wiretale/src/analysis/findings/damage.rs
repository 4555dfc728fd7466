//! `capture-damaged`: bytes of the capture file could not be read as records. Reads the
//! reader's damage (`Stats::damage`, read past; the report's error, where reading stopped),
//! not the timeline.

use super::super::finding::{Finding, Severity};
use crate::capture::{CaptureError, CaptureErrorKind};
use crate::pipeline::Stats;

/// The finding's id (compare leaves it out: it is about the file, not the traffic).
pub(crate) const ID: &str = "capture-damaged";

/// At most this many places are listed, one evidence line each.
const MAX_LISTED: usize = 12;

/// The `capture-damaged` finding, when the file was damaged anywhere. A file that merely ends
/// in the middle of its last record (copied while still being written) is `info`; damage
/// read past, or that stopped reading before the end, is a `warning`: records were lost in
/// the middle, and frame numbers after it are not Wireshark's.
pub fn detect(stats: &Stats, stopped: Option<&CaptureError>) -> Option<Finding> {
    if stats.damage.is_empty() && stopped.is_none() {
        return None;
    }
    let cut_tail_only = stats.damaged_places == 0
        && stopped.is_some_and(|e| matches!(e.kind, CaptureErrorKind::TruncatedRecord { .. }));
    let last_frame = stats.frames_read;
    // The frame a place is best seen at: the record found after it (it took the damaged
    // record's number), or the last one read before it when none was.
    let seen_at = |e: &CaptureError| e.frame.min(last_frame).max(1);
    let mut frames: Vec<u64> = stats.damage.iter().map(seen_at).collect();
    frames.extend(stopped.map(seen_at));
    frames.truncate(MAX_LISTED);
    let mut evidence: Vec<String> = (stats.damage.iter())
        .take(MAX_LISTED)
        .map(|e| {
            format!(
                "byte offset {}: {}; {} bytes skipped, reading resumed at byte offset {} with frame {}",
                e.offset,
                e.kind,
                e.skipped_bytes(),
                e.resumed_at.unwrap_or(e.offset),
                e.frame
            )
        })
        .collect();
    if stats.damaged_places > MAX_LISTED as u64 {
        evidence.push(format!(
            "… and {} more places",
            stats.damaged_places - MAX_LISTED as u64
        ));
    }
    if let Some(e) = stopped {
        evidence.push(format!(
            "byte offset {}: {}; reading stopped there, after frame {}",
            e.offset, e.kind, last_frame
        ));
    }
    let mut facts = std::collections::BTreeMap::new();
    facts.insert("places", stats.damaged_places.to_string());
    facts.insert("skipped_bytes", stats.damaged_bytes.to_string());
    if let Some(e) = stopped {
        facts.insert("stopped_at_offset", e.offset.to_string());
    }
    let first = stats.damage.first().or(stopped)?;
    let summary = if cut_tail_only {
        format!(
            "The capture file ends in the middle of a record (byte offset {}): the last packet was cut off, as when a file is copied while still being written.",
            first.offset
        )
    } else {
        let places = stats.damaged_places + u64::from(stopped.is_some());
        format!(
            "The capture file is damaged in {} ({} bytes skipped{}): the packets there are lost, and Wireshark stops reading at the first (byte offset {}), after frame {}.",
            if places == 1 { "one place".to_string() } else { format!("{places} places") },
            stats.damaged_bytes,
            if stopped.is_some() { ", the rest unread after the last" } else { "" },
            first.offset,
            first.frame.saturating_sub(1),
        )
    };
    let suggestion = if cut_tail_only {
        "Nothing to repair: every complete record was analysed. If the capture was still running, copy it again once it has stopped.".to_string()
    } else {
        "Frames after the first damage are numbered as wiretale found them; Wireshark shows none of them. To see them there, repair a copy (e.g. `pcapfix`) or cut the file before the damage (`editcap -r`), and compare by time rather than frame number; if the file went through a lossy copy, copy it again.".to_string()
    };
    Some(Finding {
        id: ID,
        severity: if cut_tail_only {
            Severity::Info
        } else {
            Severity::Warning
        },
        frame: frames.first().copied().unwrap_or(1),
        frames,
        streams: Vec::new(),
        summary,
        evidence,
        facts,
        suggestion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(frame: u64, offset: u64, resumed_at: Option<u64>) -> CaptureError {
        CaptureError {
            kind: CaptureErrorKind::BadRecordLength {
                declared: 0xdead_beef,
                limit: 262_144,
            },
            frame,
            offset,
            resumed_at,
        }
    }

    #[test]
    fn nothing_for_an_intact_file() {
        assert!(detect(&Stats::default(), None).is_none());
    }

    #[test]
    fn damage_read_past_is_a_warning_naming_each_place() {
        let mut stats = Stats {
            frames_read: 100,
            ..Stats::default()
        };
        stats.note_damage(place(40, 5_000, Some(5_076)));
        stats.note_damage(place(70, 9_000, Some(9_100)));
        let f = detect(&stats, None).unwrap();
        assert_eq!(
            (f.id, f.severity, f.frame),
            ("capture-damaged", Severity::Warning, 40)
        );
        assert_eq!(f.frames, [40, 70]);
        assert!(
            f.summary
                .contains("damaged in 2 places (176 bytes skipped)"),
            "{}",
            f.summary
        );
        assert!(
            f.summary.contains("byte offset 5000), after frame 39"),
            "{}",
            f.summary
        );
        assert_eq!(f.evidence.len(), 2);
        assert!(
            f.evidence[0]
                .ends_with("76 bytes skipped, reading resumed at byte offset 5076 with frame 40"),
            "{}",
            f.evidence[0]
        );
        assert_eq!(f.facts["places"], "2");
        assert_eq!(f.facts["skipped_bytes"], "176");
    }

    #[test]
    fn a_file_cut_short_is_info_and_damage_that_stops_reading_a_warning() {
        let stats = Stats {
            frames_read: 9,
            ..Stats::default()
        };
        let cut = CaptureError {
            kind: CaptureErrorKind::TruncatedRecord { available: 30 },
            frame: 10,
            offset: 2_000,
            resumed_at: None,
        };
        let f = detect(&stats, Some(&cut)).unwrap();
        assert_eq!((f.severity, f.frame), (Severity::Info, 9));
        assert!(
            f.summary.contains("ends in the middle of a record"),
            "{}",
            f.summary
        );
        let stop = place(10, 2_000, None);
        let f = detect(&stats, Some(&stop)).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.evidence[0].ends_with("reading stopped there, after frame 9"),
            "{:?}",
            f.evidence
        );
        assert_eq!(f.facts["stopped_at_offset"], "2000");
    }

    #[test]
    fn places_beyond_those_listed_are_counted() {
        let mut stats = Stats {
            frames_read: 1_000,
            ..Stats::default()
        };
        for i in 0..20 {
            stats.note_damage(place(10 + i * 10, 100 + i * 1_000, Some(150 + i * 1_000)));
        }
        let f = detect(&stats, None).unwrap();
        assert_eq!(f.frames.len(), MAX_LISTED);
        assert_eq!(f.evidence.len(), MAX_LISTED + 1);
        assert_eq!(f.evidence[MAX_LISTED], "… and 8 more places");
        assert!(
            f.summary.contains("20 places (1000 bytes skipped)"),
            "{}",
            f.summary
        );
    }
}
