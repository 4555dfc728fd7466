//! Findings present in only one capture. Two findings are the same when their id, severity and
//! the conversations they concern are the same; frames and stream numbers never count.

use super::FindingRef;
use crate::analysis::{Finding, Severity};
use std::collections::BTreeMap;

type Key = (&'static str, Severity, Vec<String>);

fn keyed<'a>(
    findings: &'a [Finding],
    names: &BTreeMap<u64, String>,
) -> BTreeMap<Key, Vec<(&'a Finding, Vec<String>)>> {
    let mut out: BTreeMap<Key, Vec<(&Finding, Vec<String>)>> = BTreeMap::new();
    // A damaged file is about the file, not the traffic: not a difference between captures
    // (each side says it is damaged beside its name).
    for f in (findings.iter()).filter(|f| f.id != crate::analysis::findings::damage::ID) {
        let mut convs: Vec<String> = f
            .streams
            .iter()
            .map(|s| {
                names
                    .get(s)
                    .cloned()
                    .unwrap_or_else(|| format!("stream {s}"))
            })
            .collect();
        convs.sort();
        convs.dedup();
        out.entry((f.id, f.severity, convs.clone()))
            .or_default()
            .push((f, convs));
    }
    out
}

/// The findings of each side that the other side lacks (as many as it lacks of each kind).
pub fn only_in_one(
    working: &[Finding],
    w_names: &BTreeMap<u64, String>,
    failing: &[Finding],
    f_names: &BTreeMap<u64, String>,
) -> (Vec<FindingRef>, Vec<FindingRef>) {
    let w = keyed(working, w_names);
    let f = keyed(failing, f_names);
    let surplus = |mine: &BTreeMap<Key, Vec<(&Finding, Vec<String>)>>,
                   theirs: &BTreeMap<Key, Vec<(&Finding, Vec<String>)>>| {
        let mut out: Vec<FindingRef> = Vec::new();
        for (key, list) in mine {
            let matched = theirs.get(key).map_or(0, Vec::len);
            for (finding, convs) in list.iter().skip(matched) {
                out.push(FindingRef {
                    id: finding.id,
                    severity: finding.severity,
                    frame: finding.frame,
                    conversations: convs.clone(),
                    summary: finding.summary.clone(),
                });
            }
        }
        // Worst first, then in capture order, like the diagnosis.
        out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.frame.cmp(&b.frame)));
        out
    };
    (surplus(&w, &f), surplus(&f, &w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &'static str, severity: Severity, frame: u64, streams: Vec<u64>) -> Finding {
        Finding {
            id,
            severity,
            frame,
            frames: vec![frame],
            streams,
            summary: format!("{id} at {frame}"),
            evidence: Vec::new(),
            facts: Default::default(),
            suggestion: String::new(),
        }
    }

    #[test]
    fn same_finding_on_other_frames_and_streams_is_the_same() {
        let w_names = BTreeMap::from([(4, "server :443 TLS a".to_string())]);
        let f_names = BTreeMap::from([(9, "server :443 TLS a".to_string())]);
        let w = [finding("tls-alert", Severity::Error, 10, vec![4])];
        let f = [
            finding("tls-alert", Severity::Error, 99, vec![9]),
            finding("tls-alert", Severity::Error, 120, vec![9]),
            finding("tcp-gap", Severity::Warning, 5, vec![9]),
        ];
        let (only_w, only_f) = only_in_one(&w, &w_names, &f, &f_names);
        assert!(only_w.is_empty());
        let ids: Vec<(&str, u64)> = only_f.iter().map(|r| (r.id, r.frame)).collect();
        assert_eq!(ids, vec![("tls-alert", 120), ("tcp-gap", 5)]);
        assert_eq!(only_f[0].conversations, vec!["server :443 TLS a"]);
    }

    #[test]
    fn severity_counts() {
        let names = BTreeMap::from([(0, "x".to_string())]);
        let w = [finding(
            "revocation-check-during-handshake",
            Severity::Info,
            1,
            vec![0],
        )];
        let f = [finding(
            "revocation-check-during-handshake",
            Severity::Error,
            1,
            vec![0],
        )];
        let (only_w, only_f) = only_in_one(&w, &names, &f, &names);
        assert_eq!((only_w.len(), only_f.len()), (1, 1));
    }
}
