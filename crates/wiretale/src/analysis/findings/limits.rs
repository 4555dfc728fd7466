//! `limits-reached`: the analysis hit one of its memory or work caps, so some data was dropped
//! or not decoded. Reads the analysis counters (`Stats::limits`), not the timeline.

use super::super::finding::{Finding, Severity};
use crate::pipeline::{Limit, Stats};

/// At most this many first frames are listed (one per limit at most anyway).
const MAX_FRAMES: usize = Limit::ALL.len();

/// The `limits-reached` finding, when any limit was reached.
pub fn detect(stats: &Stats) -> Option<Finding> {
    if stats.limits.is_empty() {
        return None;
    }
    let mut frames: Vec<u64> = stats
        .limits
        .values()
        .filter_map(|h| h.first_frame)
        .collect();
    frames.sort_unstable();
    frames.dedup();
    frames.truncate(MAX_FRAMES);
    let frame = frames.first().copied().unwrap_or(stats.frames_read);
    let mut evidence = Vec::with_capacity(stats.limits.len());
    let mut facts = std::collections::BTreeMap::new();
    let mut settings: Vec<&'static str> = Vec::new();
    let mut total = 0u64;
    for (limit, hits) in &stats.limits {
        total = total.saturating_add(hits.count);
        let at = match hits.first_frame {
            Some(f) => format!("first at frame {f}"),
            None => "frame not known".to_string(),
        };
        evidence.push(format!(
            "{}: {} ({at}; {} = {})",
            capitalized(limit.describe()),
            hits.count,
            limit.setting(),
            shown_value(*limit, hits.value)
        ));
        facts.insert(limit.name(), hits.count.to_string());
        if !settings.contains(&limit.setting()) {
            settings.push(limit.setting());
        }
    }
    let kinds = stats.limits.len();
    Some(Finding {
        id: "limits-reached",
        severity: Severity::Warning,
        frame,
        frames,
        streams: Vec::new(),
        summary: format!(
            "The analysis reached {} of its limits ({total} time{}): some bytes were dropped or not decoded, so what follows them is less certain.",
            if kinds == 1 { "one".to_string() } else { kinds.to_string() },
            if total == 1 { "" } else { "s" },
        ),
        evidence,
        facts,
        suggestion: format!(
            "If the traffic is legitimate, raise {} (e.g. `wiretale story --set {}=VALUE`, the same option on any command, or the library's AnalyzerConfig; memory grows accordingly, see docs/robustness.md); otherwise the capture holds hostile or broken traffic worth a look at the frames listed.",
            settings.join(", "),
            settings
                .first()
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("SETTING"),
        ),
    })
}

/// A limit's value with its unit.
fn shown_value(limit: Limit, value: u64) -> String {
    match limit {
        Limit::BufferCap
        | Limit::OutOfOrderCap
        | Limit::HandshakeTooLarge
        | Limit::HeadTooLarge
        | Limit::TrailersTooLarge
        | Limit::ChunkLineTooLong => bytes(value),
        Limit::FlowsEvicted => format!("{value} connections"),
        Limit::FragmentsEvicted => format!("{value} datagrams"),
        Limit::TooManyHeaders => format!("{value} fields"),
        Limit::TooManyOutstandingRequests => format!("{value} requests"),
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::LimitHits;

    fn stats(hits: &[(Limit, u64, Option<u64>, u64)]) -> Stats {
        let mut s = Stats {
            frames_read: 500,
            ..Stats::default()
        };
        for &(limit, count, first_frame, value) in hits {
            s.limits.insert(
                limit,
                LimitHits {
                    count,
                    first_frame,
                    value,
                },
            );
        }
        s
    }

    #[test]
    fn nothing_reached_no_finding() {
        assert!(detect(&Stats::default()).is_none());
    }

    #[test]
    fn one_line_per_limit_with_count_first_frame_and_setting() {
        let f = detect(&stats(&[
            (Limit::HeadTooLarge, 3, Some(40), 64 * 1024),
            (Limit::FlowsEvicted, 99_000, Some(1_001), 1_000),
            (Limit::OutOfOrderCap, 2, None, 1 << 20),
        ]))
        .unwrap();
        assert_eq!(f.id, "limits-reached");
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.frame, 40);
        assert_eq!(f.frames, vec![40, 1_001]);
        assert_eq!(
            f.evidence,
            vec![
                "Open connections dropped from the full flow table: 99000 (first at frame 1001; tcp.max_flows = 1000 connections)",
                "Holes given up because too many bytes waited behind them: 2 (frame not known; tcp.half.max_ooo_bytes = 1 MiB)",
                "HTTP heads too long to decode: 3 (first at frame 40; http.max_head_len = 64 KiB)",
            ]
        );
        assert!(
            f.summary.contains("3 of its limits (99005 times)"),
            "{}",
            f.summary
        );
        assert!(f
            .suggestion
            .contains("tcp.max_flows, tcp.half.max_ooo_bytes, http.max_head_len"));
        assert_eq!(f.facts.get("head_too_large").map(String::as_str), Some("3"));
        assert_eq!(
            f.facts.get("flows_evicted").map(String::as_str),
            Some("99000")
        );
    }

    #[test]
    fn without_any_known_frame_it_points_at_the_end() {
        let f = detect(&stats(&[(Limit::OutOfOrderCap, 1, None, 1000)])).unwrap();
        assert_eq!(f.frame, 500);
        assert!(f.frames.is_empty());
        assert!(
            f.summary.contains("one of its limits (1 time)"),
            "{}",
            f.summary
        );
        assert!(
            f.evidence[0].ends_with("= 1000 bytes)"),
            "{}",
            f.evidence[0]
        );
    }
}
