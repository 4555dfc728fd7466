use super::*;
use crate::capture::Timestamp;
use crate::pipeline::AnalyzerConfig;
use crate::test_support::shared_captures;
use std::path::{Path, PathBuf};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn analyse(path: &Path) -> Analysis {
    Analysis::of_path(path, &AnalyzerConfig::default())
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

fn compare_files(working: &Path, failing: &Path) -> Comparison {
    compare(
        &analyse(working),
        &analyse(failing),
        &CompareOptions::default(),
    )
}

fn ids(list: &[FindingRef]) -> Vec<&'static str> {
    let mut ids: Vec<&str> = list.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids
}

fn conversation<'a>(c: &'a Comparison, label: &str) -> &'a ConversationDiff {
    c.conversations
        .iter()
        .find(|d| d.label == label)
        .unwrap_or_else(|| panic!("no conversation {label}: {:#?}", c.conversations))
}

#[test]
fn case_study_departs_at_the_http_10_request_then_parts_where_the_client_closes() {
    let c = compare_files(
        &testdata("case-study-working.pcapng"),
        &testdata("case-study.pcapng"),
    );
    assert!(c.different);
    // The root cause first: the failing client asks in HTTP/1.0 without keep-alive.
    let first = c.first_departure.as_ref().expect("a departure");
    assert_eq!(
        first.conversation,
        "proxy :8080 HTTP crl.verisign.com/pca3.crl"
    );
    assert!(first.after.is_none(), "{:?}", first.after);
    let working = first.working.as_ref().expect("the working request");
    let failing = first.failing.as_ref().expect("the failing request");
    assert_eq!(
        (working.frame, working.text.as_str()),
        (
            88,
            "client sends GET http://crl.verisign.com/pca3.crl HTTP/1.1"
        )
    );
    assert_eq!(
        (failing.frame, failing.text.as_str()),
        (
            407,
            "client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0"
        )
    );
    let how: Vec<(&str, &str, &str)> = first
        .attribute_differences
        .iter()
        .map(|a| (a.attribute, a.working.as_str(), a.failing.as_str()))
        .collect();
    assert_eq!(
        how,
        vec![
            ("http_version", "HTTP/1.1", "HTTP/1.0"),
            (
                "keep_alive",
                "yes (HTTP/1.1 with Proxy-Connection: keep-alive)",
                "no (HTTP/1.0 default)"
            )
        ]
    );
    assert!(first.summary.contains("frame 407"), "{}", first.summary);
    assert!(
        first
            .summary
            .contains("http_version (working HTTP/1.1, failing HTTP/1.0)"),
        "{}",
        first.summary
    );

    // Then the steps part: the client closes after the NTLM challenge instead of answering.
    let proxy = conversation(&c, "proxy :8080 HTTP crl.verisign.com/pca3.crl");
    assert_eq!(proxy.departure.as_ref(), Some(first));
    let parts = proxy.sequence_departure.as_ref().expect("the steps part");
    assert!(parts.attribute_differences.is_empty());
    let after = parts.after.as_ref().expect("an aligned step before it");
    assert!(after.text.contains("NTLM Type 2"), "{}", after.text);
    assert_eq!(after.failing_text, after.text);
    assert_eq!(after.failing_frame, 417);
    let working = parts.working.as_ref().expect("working went on");
    assert!(
        working.text.contains("with NTLM Type 3"),
        "{}",
        working.text
    );
    assert_eq!(working.actor, "client");
    let failing = parts.failing.as_ref().expect("failing did something else");
    assert_eq!(
        (failing.frame, failing.actor, failing.text.as_str()),
        (418, "client", "client closes the connection (FIN)")
    );
    assert!(parts.summary.contains("frame 418"), "{}", parts.summary);

    // Every conversation is found in both, whatever the addresses, ports and frames.
    assert!(c.only_in_working.is_empty() && c.only_in_failing.is_empty());
    assert_eq!(c.conversations.len(), 4);
    assert!(c
        .conversations
        .iter()
        .all(|d| d.matched_by == MatchBasis::Identity));

    // The proxy conversation: HTTP/1.0 without keep-alive on the failing side, two connections.
    let proxy = conversation(&c, "proxy :8080 HTTP crl.verisign.com/pca3.crl");
    assert_eq!(
        (proxy.working.connections, proxy.failing.connections),
        (1, 2)
    );
    let version = proxy
        .attribute_differences
        .iter()
        .find(|a| a.attribute == "http_version" && a.failing_frame == 407)
        .expect("HTTP version differs at frame 407");
    assert_eq!(
        (version.working.as_str(), version.failing.as_str()),
        ("HTTP/1.1", "HTTP/1.0")
    );
    // Each side's own words, and whose message it is.
    assert!(version.step.ends_with("HTTP/1.1"), "{}", version.step);
    assert!(
        version.failing_step.ends_with("HTTP/1.0"),
        "{}",
        version.failing_step
    );
    assert_eq!(version.actor, "client");
    let actors: Vec<(&str, &str)> = proxy
        .attribute_differences
        .iter()
        .filter(|a| a.attribute == "keep_alive")
        .map(|a| (a.actor, a.failing.as_str()))
        .collect();
    assert_eq!(
        actors,
        vec![
            ("client", "no (HTTP/1.0 default)"),
            ("proxy", "no (Connection: close)"),
            ("client", "no (HTTP/1.0 default)")
        ]
    );

    // The TLS conversation: the working client sends application data, the failing server
    // resets after 30 s of silence.
    let tls = conversation(&c, "server :5061 TLS");
    let d = tls.departure.as_ref().expect("TLS departs");
    assert_eq!(tls.sequence_departure.as_ref(), Some(d));
    assert!(d.attribute_differences.is_empty());
    assert_eq!(d.after.as_ref().map(|a| a.failing_frame), Some(316));
    assert!(d
        .working
        .as_ref()
        .unwrap()
        .text
        .contains("application data"));
    let rst = d.failing.as_ref().unwrap();
    assert_eq!((rst.frame, rst.actor), (959, "server"));
    assert!(rst.text.contains("RST"));
    let idle = tls
        .timing
        .iter()
        .find(|t| t.kind == TimingKind::Idle)
        .expect("idle difference");
    assert!((idle.failing_secs - 30.0).abs() < 0.1, "{idle:?}");
    assert_eq!(idle.failing_frames, vec![316, 959]);
    // The working side's longest silence is inside its application data, between the
    // turns of frames 98 and 145 (it was measured from the handshake to the end of the
    // data, 9.4 s, when a connection's application data was one run told at its end).
    assert_eq!(idle.working_frames, vec![98, 145], "{idle:?}");
    assert!((idle.working_secs - 9.165).abs() < 0.01, "{idle:?}");
    assert_eq!(
        d.working.as_ref().map(|w| (w.frame, w.text.as_str())),
        Some((
            95,
            "client sends TLS application data (3 records, 1956 bytes); server sends 3 records, 1860 bytes"
        ))
    );
    assert_eq!(
        tls.working.tls_handshake_secs,
        tls.failing.tls_handshake_secs
    );
    assert!(tls.attribute_differences.is_empty());

    // The unrelated intranet pages are the same in both.
    for label in [
        "server :80 HTTP intranet.example.com/news/today.html",
        "server :80 HTTP intranet.example.com/news/weather.html",
    ] {
        assert!(!conversation(&c, label).is_different(), "{label}");
    }

    assert_eq!(
        ids(&c.findings_only_in_failing),
        vec![
            "ntlm-abandoned",
            "revocation-check-during-handshake",
            "tcp-reset-after-idle",
            "tls-stalled"
        ]
    );
    // The working side's revocation check succeeded: same id, other severity.
    assert_eq!(
        c.findings_only_in_working
            .iter()
            .map(|f| (f.id, f.severity))
            .collect::<Vec<_>>(),
        vec![("revocation-check-during-handshake", Severity::Info)]
    );
    let abandoned = c
        .findings_only_in_failing
        .iter()
        .find(|f| f.id == "ntlm-abandoned")
        .unwrap();
    assert_eq!(
        abandoned.conversations,
        vec!["proxy :8080 HTTP crl.verisign.com/pca3.crl"]
    );
}

#[test]
fn identical_captures_have_no_difference() {
    for name in [
        "case-study.pcapng",
        "case-study-working.pcapng",
        "ntlm-proxy-auth-ok.pcap",
        "tcp-rst.pcap",
        "https-connect.pcap",
    ] {
        let a = analyse(&testdata(name));
        let c = compare(&a, &a, &CompareOptions::default());
        assert!(!c.different, "{name}: {c:#?}");
        assert!(c.first_departure.is_none());
        assert!(c.only_in_working.is_empty() && c.only_in_failing.is_empty());
        assert!(c.findings_only_in_working.is_empty() && c.findings_only_in_failing.is_empty());
        assert!(c.conversations.iter().all(|d| !d.is_different()));
        assert!(!c.conversations.is_empty(), "{name}");
    }
}

#[test]
fn ntlm_fixtures_depart_at_the_http_10_request_even_for_other_urls() {
    let c = compare_files(
        &testdata("ntlm-proxy-auth-ok.pcap"),
        &testdata("ntlm-proxy-abandoned.pcap"),
    );
    assert!(c.different);
    // Different URLs, but the only proxy conversation on :8080 in each.
    let d = c.conversations.first().expect("paired");
    assert_eq!(d.matched_by, MatchBasis::OnlyOneOnPort);
    assert_eq!(c.conversations.len(), 1);
    let first = c.first_departure.as_ref().unwrap();
    assert!(first.after.is_none());
    assert_eq!(
        first.working.as_ref().map(|s| (s.frame, s.text.as_str())),
        Some((
            4,
            "client sends GET http://www.example.com/intranet/index.html HTTP/1.1"
        ))
    );
    assert_eq!(
        first.failing.as_ref().map(|s| (s.frame, s.text.as_str())),
        Some((4, "client sends GET http://crl.example.com/ca.crl HTTP/1.0"))
    );
    let parts = d.sequence_departure.as_ref().unwrap();
    assert!(parts.after.as_ref().unwrap().text.contains("NTLM Type 2"));
    assert_eq!(
        parts
            .working
            .as_ref()
            .map(|s| (s.frame, s.text.contains("NTLM Type 3"))),
        Some((12, true))
    );
    assert_eq!(
        parts.failing.as_ref().map(|s| (s.frame, s.text.as_str())),
        Some((19, "client closes the connection (FIN)"))
    );
    // The failing side's own URL, not the working one's.
    assert!(d
        .attribute_differences
        .iter()
        .all(|a| a.actor != "client" || a.failing_step.contains("crl.example.com/ca.crl")));
    assert_eq!(ids(&c.findings_only_in_failing), vec!["ntlm-abandoned"]);
    assert!(c.findings_only_in_working.is_empty());
}

#[test]
fn squid_captures_depart_at_the_http_10_request_then_at_the_withheld_challenge() {
    let Some(dir) = shared_captures() else { return };
    let c = compare_files(
        &dir.join("squid-ntlm-proxy-auth-ok-curl.pcap"),
        &dir.join("squid-ntlm-http10-challenge-withheld-curl.pcap"),
    );
    assert!(c.different);
    let first = c.first_departure.as_ref().unwrap();
    assert_eq!(
        first.conversation,
        "proxy :3128 HTTP crl.verisign.com/pca3.crl"
    );
    // Frame 4 is HTTP/1.1 in one, HTTP/1.0 in the other: that is the first departure.
    assert!(first.after.is_none());
    assert_eq!(
        first.working.as_ref().map(|s| (s.frame, s.text.as_str())),
        Some((
            4,
            "client sends GET http://crl.verisign.com/pca3.crl HTTP/1.1 with NTLM Type 1"
        ))
    );
    assert_eq!(
        first.failing.as_ref().map(|s| (s.frame, s.text.as_str())),
        Some((
            4,
            "client sends GET http://crl.verisign.com/pca3.crl HTTP/1.0 with NTLM Type 1"
        ))
    );
    assert_eq!(first.attribute_differences.len(), 2);
    // Then the steps part at the 407, each side's request in its own words before it.
    let proxy = conversation(&c, "proxy :3128 HTTP crl.verisign.com/pca3.crl");
    let parts = proxy.sequence_departure.as_ref().unwrap();
    let after = parts.after.as_ref().unwrap();
    assert!(
        after.text.contains("HTTP/1.1 with NTLM Type 1"),
        "{}",
        after.text
    );
    assert!(
        after.failing_text.contains("HTTP/1.0 with NTLM Type 1"),
        "{}",
        after.failing_text
    );
    let w = parts.working.as_ref().unwrap();
    let f = parts.failing.as_ref().unwrap();
    assert_eq!(w.frame, 6);
    assert!(
        w.text.contains("407") && w.text.contains("NTLM Type 2"),
        "{}",
        w.text
    );
    assert_eq!(f.frame, 6);
    assert!(
        f.text.contains("407") && f.text.contains("offers Basic"),
        "{}",
        f.text
    );
    assert!(!f.text.contains("NTLM Type 2"));
    assert!(proxy
        .attribute_differences
        .iter()
        .any(|a| a.attribute == "http_version" && a.failing == "HTTP/1.0"));
    // The proxy's own fetch from the origin exists only where authentication worked.
    let only: Vec<&str> = c.only_in_working.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(only, vec!["server :80 HTTP crl.verisign.com/pca3.crl"]);
    assert!(c.only_in_failing.is_empty());
    assert_eq!(
        ids(&c.findings_only_in_failing),
        vec!["ntlm-challenge-missing"]
    );
}

#[test]
fn shared_captures_compare_without_surprises() {
    let Some(dir) = shared_captures() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() < 2_000_000)
                .unwrap_or(false)
        })
        .collect();
    files.sort();
    let analyses: Vec<(PathBuf, Analysis)> = files
        .into_iter()
        .filter_map(|p| {
            let a = Analysis::of_path(&p, &AnalyzerConfig::default()).ok()?;
            Some((p, a))
        })
        .collect();
    assert!(analyses.len() > 10);
    for (k, (path, a)) in analyses.iter().enumerate() {
        // A capture equals itself.
        let same = compare(a, a, &CompareOptions::default());
        assert!(!same.different, "{}: {same:#?}", path.display());
        // Any two captures compare without panicking, and symmetrically in what is unpaired.
        if let Some((_, b)) = analyses.get(k + 1) {
            let ab = compare(a, b, &CompareOptions::default());
            let ba = compare(b, a, &CompareOptions::default());
            assert_eq!(ab.only_in_working.len(), ba.only_in_failing.len());
            assert_eq!(ab.conversations.len(), ba.conversations.len());
            assert_eq!(
                ab.findings_only_in_working.len(),
                ba.findings_only_in_failing.len()
            );
        }
    }
}

#[test]
fn comparisons_are_deterministic() {
    let run = || {
        serde_json::to_string(&compare_files(
            &testdata("case-study-working.pcapng"),
            &testdata("case-study.pcapng"),
        ))
        .unwrap()
    };
    assert_eq!(run(), run());
}

// Synthetic conversations for the rules the fixtures do not reach.

fn step(frame: u64, secs: f64, stream: u64, kind: StepKind, key: &str) -> Step {
    let whole = secs.trunc();
    let time = Timestamp {
        secs: 1_000 + whole as i64,
        nanos: ((secs - whole) * 1e9) as u32,
    };
    Step {
        frame,
        time,
        offset_secs: secs,
        stream,
        actor: if key.contains("server") {
            "server"
        } else {
            "client"
        },
        proto: "tls",
        kind,
        key: key.to_string(),
        text: key.to_string(),
        attrs: Default::default(),
        idle_secs: None,
        last: (frame, time),
        longest_gap_inside: None,
    }
}

fn conv(steps: Vec<Step>) -> Conversation {
    Conversation {
        identity: Identity {
            role: "server",
            service_port: 443,
            protocol: "tls",
            name: Some("www.example.com".into()),
        },
        streams: vec![0],
        first_frame: steps.first().map_or(0, |s| s.frame),
        last_frame: steps.last().map_or(0, |s| s.frame),
        steps,
        truncated: false,
        tls_handshake_secs: None,
    }
}

use StepKind::{End, Message, Setup};

#[test]
fn a_reset_instead_of_a_close_is_a_departure_even_when_every_message_matches() {
    let w = conv(vec![
        step(1, 0.0, 0, Setup, "tcp open"),
        step(4, 0.1, 0, Message, "tls client client_hello"),
        step(6, 0.2, 0, Message, "tls server server_hello"),
        step(9, 0.3, 0, End, "tcp fin client"),
    ]);
    let f = conv(vec![
        step(1, 0.0, 0, Setup, "tcp open"),
        step(4, 0.1, 0, Message, "tls client client_hello"),
        step(6, 0.2, 0, Message, "tls server server_hello"),
        step(7, 0.3, 0, End, "tcp rst server"),
    ]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    let dep = d.departure.expect("departure");
    assert_eq!(dep.after.unwrap().text, "tls server server_hello");
    assert_eq!(dep.working.unwrap().frame, 9);
    assert_eq!(dep.failing.unwrap().frame, 7);
    // A plain close against a connection left open is not a departure.
    let mut open = f.clone();
    if let Some(last) = open.steps.last_mut() {
        last.key = "tcp open at end".into();
    }
    let d = pair::diff(&w, &open, MatchBasis::Identity, &CompareOptions::default());
    assert!(d.departure.is_none());
}

/// A step of application data spans its runs: the delay to the next step counts from its
/// last run, so a failing side that spent 5 s exchanging data is not a slow next step.
#[test]
fn a_step_delay_counts_from_the_last_run_of_application_data() {
    let make = |data_end: f64, next: f64| {
        let mut data = step(1, 0.0, 0, Message, "tls application_data");
        let end = step(4, data_end, 0, Message, "x");
        data.last = (end.frame, end.time);
        conv(vec![data, step(5, next, 0, Message, "tls client alert")])
    };
    let opts = CompareOptions::default();
    let delays = |w: &Conversation, f: &Conversation| -> Vec<(f64, Vec<u64>)> {
        pair::diff(w, f, MatchBasis::Identity, &opts)
            .timing
            .iter()
            .filter(|t| t.kind == TimingKind::StepDelay)
            .map(|t| (t.failing_secs, t.failing_frames.clone()))
            .collect()
    };
    // Data for 5 s, then the alert 0.1 s later: as quick as the working side.
    assert!(delays(&make(0.1, 0.2), &make(5.0, 5.1)).is_empty());
    // Data for 0.1 s, then 5 s of silence before the alert: slow, from frame 4.
    let slow = delays(&make(0.1, 0.2), &make(0.1, 5.1));
    assert_eq!(slow.len(), 1, "{slow:?}");
    assert!((slow[0].0 - 5.0).abs() < 1e-6, "{slow:?}");
    assert_eq!(slow[0].1, vec![4, 5]);
}

#[test]
fn slow_steps_are_reported_only_when_much_slower_and_on_the_failing_side() {
    let keys = [
        "tls client client_hello",
        "tls server server_hello",
        "tls server certificate",
    ];
    let make = |times: [f64; 3]| {
        conv(
            keys.iter()
                .zip(times)
                .enumerate()
                .map(|(i, (k, t))| step(i as u64 + 1, t, 0, Message, k))
                .collect(),
        )
    };
    let opts = CompareOptions::default();
    // 0.2 s → 5.2 s: reported.
    let d = pair::diff(
        &make([0.0, 0.2, 0.3]),
        &make([0.0, 5.2, 5.3]),
        MatchBasis::Identity,
        &opts,
    );
    let slow: Vec<_> = d
        .timing
        .iter()
        .filter(|t| t.kind == TimingKind::StepDelay)
        .collect();
    assert_eq!(slow.len(), 1, "{:#?}", d.timing);
    assert!((slow[0].failing_secs - 5.2).abs() < 1e-6);
    assert_eq!(slow[0].failing_frames, vec![1, 2]);
    assert!(d.departure.is_none() && d.is_different());
    // 3x but under a second more: not reported. Working slower: not reported.
    let d = pair::diff(
        &make([0.0, 0.2, 0.3]),
        &make([0.0, 0.9, 1.0]),
        MatchBasis::Identity,
        &opts,
    );
    assert!(d.timing.is_empty(), "{:#?}", d.timing);
    let d = pair::diff(
        &make([0.0, 5.2, 5.3]),
        &make([0.0, 0.2, 0.3]),
        MatchBasis::Identity,
        &opts,
    );
    assert!(d.timing.is_empty(), "{:#?}", d.timing);
    // The TLS handshake duration is compared the same way.
    let mut w = make([0.0, 0.1, 0.2]);
    let mut f = make([0.0, 0.1, 0.2]);
    w.tls_handshake_secs = Some(0.1);
    f.tls_handshake_secs = Some(4.0);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &opts);
    assert_eq!(
        d.timing.first().map(|t| t.kind),
        Some(TimingKind::TlsHandshake)
    );
}

#[test]
fn plain_tcp_conversations_align_on_connection_steps() {
    let w = conv(vec![
        step(1, 0.0, 0, Setup, "tcp open"),
        step(2, 0.01, 0, Setup, "tcp accept"),
        step(3, 0.5, 0, End, "tcp fin client"),
    ]);
    let f = conv(vec![
        step(1, 0.0, 0, Setup, "tcp open"),
        step(5, 9.0, 0, End, "tcp no answer"),
    ]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    let dep = d.departure.expect("departure");
    assert_eq!(dep.after.unwrap().text, "tcp open");
    assert_eq!(dep.working.unwrap().text, "tcp accept");
    assert_eq!(dep.failing.unwrap().text, "tcp no answer");
}

fn with_attr(mut s: Step, name: &'static str, value: &str) -> Step {
    s.attrs.insert(name, value.to_string());
    s.text = format!("{} {value}", s.key);
    s
}

#[test]
fn an_aligned_request_sent_in_another_http_version_is_the_departure() {
    let request = |frame, version| {
        with_attr(
            step(frame, 0.1, 0, Message, "http client GET <conversation>"),
            "http_version",
            version,
        )
    };
    let w = conv(vec![
        step(1, 0.0, 0, Message, "http client GET /a"),
        request(4, "HTTP/1.1"),
        step(6, 0.2, 0, Message, "http server 407"),
        step(
            8,
            0.3,
            0,
            Message,
            "http client GET <conversation> with NTLM Type 3",
        ),
    ]);
    let f = conv(vec![
        step(1, 0.0, 0, Message, "http client GET /a"),
        request(4, "HTTP/1.0"),
        step(6, 0.2, 0, Message, "http server 407"),
        step(7, 0.3, 0, End, "tcp fin client"),
    ]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    let dep = d.departure.as_ref().expect("departure");
    let after = dep.after.as_ref().expect("the step before");
    assert_eq!(
        (after.text.as_str(), after.failing_text.as_str()),
        ("http client GET /a", "http client GET /a")
    );
    assert_eq!(
        dep.working.as_ref().map(|s| s.text.as_str()),
        Some("http client GET <conversation> HTTP/1.1")
    );
    assert_eq!(
        dep.failing.as_ref().map(|s| s.text.as_str()),
        Some("http client GET <conversation> HTTP/1.0")
    );
    assert_eq!(dep.attribute_differences.len(), 1);
    // Where the steps part is still there, after it, in each side's words.
    let parts = d.sequence_departure.as_ref().expect("the steps part");
    assert_ne!(parts, dep);
    assert_eq!(parts.after.as_ref().map(|a| a.failing_frame), Some(6));
    assert_eq!(parts.failing.as_ref().map(|s| s.frame), Some(7));
    assert!(parts.attribute_differences.is_empty());
    assert_eq!(d.attribute_differences.len(), 1);
    assert_eq!(
        d.attribute_differences[0].failing_step,
        "http client GET <conversation> HTTP/1.0"
    );

    // Alike in every message but the version: still a departure, at that request.
    let w2 = conv(w.steps[..3].to_vec());
    let f2 = conv(f.steps[..3].to_vec());
    let d = pair::diff(&w2, &f2, MatchBasis::Identity, &CompareOptions::default());
    assert!(d.sequence_departure.is_none());
    assert_eq!(
        d.departure.and_then(|x| x.failing).map(|s| s.frame),
        Some(4)
    );
}

#[test]
fn other_properties_and_differences_after_the_parting_do_not_move_the_departure() {
    let hello = |frame, suite| {
        with_attr(
            step(frame, 0.1, 0, Message, "tls server server_hello"),
            "tls_cipher_suite",
            suite,
        )
    };
    let w = conv(vec![
        step(1, 0.0, 0, Message, "tls client client_hello"),
        hello(2, "TLS_AES_128_GCM_SHA256"),
    ]);
    let f = conv(vec![
        step(1, 0.0, 0, Message, "tls client client_hello"),
        hello(2, "TLS_AES_256_GCM_SHA384"),
    ]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    assert!(d.departure.is_none() && d.sequence_departure.is_none());
    assert_eq!(d.attribute_differences.len(), 1);
    assert!(d.is_different());

    // A keep-alive difference after the steps have parted leaves the departure where they part.
    let response = |frame, ka| {
        with_attr(
            step(frame, 0.2, 0, Message, "http server 200"),
            "keep_alive",
            ka,
        )
    };
    let w = conv(vec![
        step(1, 0.0, 0, Message, "http client GET <conversation>"),
        step(2, 0.1, 0, Message, "http server 407"),
        response(3, "yes (HTTP/1.1 default)"),
    ]);
    let f = conv(vec![
        step(1, 0.0, 0, Message, "http client GET <conversation>"),
        response(3, "no (Connection: close)"),
    ]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    let dep = d.departure.expect("departure");
    assert_eq!(Some(&dep), d.sequence_departure.as_ref());
    assert_eq!(dep.working.map(|s| s.frame), Some(2));
    assert!(dep.attribute_differences.is_empty());
    assert_eq!(d.attribute_differences.len(), 1);

    // Both keep the connection open, for different reasons: a property difference, no
    // departure (a review found the reason alone making one).
    let request = |ka| {
        with_attr(
            step(1, 0.0, 0, Message, "http client GET <conversation>"),
            "keep_alive",
            ka,
        )
    };
    let w = conv(vec![
        request("yes (HTTP/1.1 with Connection: keep-alive)"),
        step(2, 0.1, 0, Message, "http server 200"),
    ]);
    let f = conv(vec![
        request("yes (HTTP/1.1 default)"),
        step(2, 0.1, 0, Message, "http server 200"),
    ]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    assert!(
        d.departure.is_none() && d.sequence_departure.is_none(),
        "{d:?}"
    );
    assert_eq!(d.attribute_differences.len(), 1);
}

#[test]
fn a_failing_side_that_stops_early_says_so() {
    let w = conv(vec![
        step(1, 0.0, 0, Message, "tls client client_hello"),
        step(2, 0.1, 0, Message, "tls server server_hello"),
    ]);
    let f = conv(vec![step(1, 0.0, 0, Message, "tls client client_hello")]);
    let d = pair::diff(&w, &f, MatchBasis::Identity, &CompareOptions::default());
    let dep = d.departure.unwrap();
    assert!(dep.failing.is_none());
    assert!(
        dep.summary
            .ends_with("failing: nothing more (the capture ends)"),
        "{}",
        dep.summary
    );
}

#[test]
fn options_bound_the_steps() {
    let a = analyse(&testdata("case-study.pcapng"));
    let c = compare(
        &a,
        &a,
        &CompareOptions {
            max_steps: 3,
            ..CompareOptions::default()
        },
    );
    assert!(c.conversations.iter().all(|d| d.working.steps <= 3));
    assert!(c.conversations.iter().any(|d| d.working.truncated));
    assert!(CompareOptions::default().is_slower(0.1, 1.2));
    assert!(!CompareOptions::default().is_slower(0.1, 1.0));
    assert!(!CompareOptions::default().is_slower(2.0, 5.5));
}

/// What `compare` reads of a capture, through the streaming recorder.
fn describe(path: &Path, max_steps: usize, threads: usize) -> CaptureDescription {
    let config = AnalyzerConfig {
        threads,
        ..AnalyzerConfig::default()
    };
    let mut recorder = ConversationRecorder::new(max_steps);
    let report = crate::pipeline::analyze_path(path, &config, &mut recorder)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    assert_eq!(recorder.open_connections(), 0, "{}", path.display());
    recorder.finish(report)
}

/// The recorder's conversations and diagnosis are the `Analysis`'s, with one thread and two,
/// with the default cap and a cap small enough to cut conversations; and so is a comparison.
#[test]
fn recorded_conversations_equal_those_of_the_analysis() {
    let mut files: Vec<PathBuf> = crate::test_support::capture_files(&testdata(""));
    files.extend(crate::test_support::shared_capture_files());
    let working = testdata("case-study-working.pcapng");
    let working_analysis = analyse(&working);
    let mut compared = 0;
    let mut past_cap = 0;
    for path in &files {
        let Ok(analysis) = Analysis::of_path(path, &AnalyzerConfig::default()) else {
            continue;
        };
        compared += 1;
        for (max_steps, threads) in [(1000, 1), (1000, 2), (3, 1), (5, 1), (8, 1), (13, 1)] {
            let described = describe(path, max_steps, threads);
            past_cap += described.events_past_cap;
            assert_eq!(
                json(&described.conversations),
                json(&conversations(&analysis, max_steps)),
                "{} (max_steps {max_steps}, {threads} threads)",
                path.display()
            );
            assert_eq!(
                json(&described.diagnosis.findings),
                json(&analysis.diagnosis.findings),
                "{}",
                path.display()
            );
        }
        let opts = CompareOptions::default();
        let streamed = compare_described(
            &describe(&working, opts.max_steps, 1),
            &describe(path, opts.max_steps, 1),
            &opts,
        );
        assert_eq!(
            json(&streamed),
            json(&compare(&working_analysis, &analysis, &opts)),
            "{}",
            path.display()
        );
    }
    let shared = crate::test_support::shared_captures().is_some();
    assert!(
        compared >= if shared { 40 } else { 4 },
        "{compared} captures"
    );
    // Small caps left events of long connections out, and the result was still equal.
    assert!(past_cap > 100, "{past_cap} events past the cap");
}

/// A value as JSON, for equality checks.
fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("serialisable")
}

/// The recorder fed by hand from a collected capture: connections finishing in the reverse of
/// their start order (so the cap and the TLS handshake time must be decided by first frame,
/// not by arrival), a stream whose summary never comes (folded at the end), and an event
/// that comes after its stream's summary (counted, not folded).
#[test]
fn recorder_folds_by_first_frame_whatever_order_connections_finish_in() {
    use crate::timeline::{Collector, EventSink};
    let mut tested = 0;
    for name in [
        "case-study.pcapng",
        "case-study-working.pcapng",
        "port-reuse.pcap",
        "ntlm-proxy-abandoned.pcap",
    ] {
        let path = testdata(name);
        let mut collector = Collector::default();
        let report =
            crate::pipeline::analyze_path(&path, &AnalyzerConfig::default(), &mut collector)
                .unwrap();
        let analysis = Analysis::from_parts(
            collector.events.clone(),
            collector.flows.clone(),
            report.clone(),
        );
        let mut streams: Vec<u64> = collector.flows.iter().map(|f| f.stream).collect();
        streams.sort_unstable();
        if streams.len() < 2 {
            continue;
        }
        tested += 1;
        for max_steps in [1000, 4] {
            let expected = serde_json::to_value(conversations(&analysis, max_steps)).unwrap();
            // Last-started connection first.
            let mut recorder = ConversationRecorder::new(max_steps);
            for &stream in streams.iter().rev() {
                for e in collector.events.iter().filter(|e| e.stream == Some(stream)) {
                    recorder.take_event(e.clone());
                }
                let flow = collector.flows.iter().find(|f| f.stream == stream).unwrap();
                recorder.flow(flow);
            }
            // One more event of a stream already folded.
            let late = collector
                .events
                .iter()
                .find(|e| e.stream.is_some())
                .unwrap();
            recorder.take_event(late.clone());
            assert_eq!(recorder.open_connections(), 0);
            let described = recorder.finish(report.clone());
            assert_eq!(described.late_events, 1, "{name}");
            assert_eq!(described.max_steps, max_steps);
            assert_eq!(
                serde_json::to_value(&described.conversations).unwrap(),
                expected,
                "{name}, max_steps {max_steps}"
            );
        }
        // The first stream's summary never comes: it is folded when the recorder finishes.
        let mut recorder = ConversationRecorder::new(1000);
        for e in &collector.events {
            recorder.take_event(e.clone());
        }
        for f in collector.flows.iter().filter(|f| f.stream != streams[0]) {
            recorder.flow(f);
        }
        assert_eq!(recorder.open_connections(), 1, "{name}");
        let described = recorder.finish(report.clone());
        let listed: Vec<u64> = described
            .conversations
            .iter()
            .flat_map(|c| c.streams.iter().copied())
            .collect();
        assert!(listed.contains(&streams[0]), "{name}: {listed:?}");
        assert_eq!(listed.len(), streams.len(), "{name}: each stream once");
    }
    assert!(tested >= 2, "{tested} captures with several connections");
}

/// A protocol not decoded is compared by what each side sent: the runs in a row are one step
/// with each side's bytes added up (like TLS application data), and the streaming recorder
/// (events held per open connection, as `compare` reads a capture) tells the same steps.
#[test]
fn bytes_not_decoded_make_one_step_of_each_sides_bytes() {
    use crate::timeline::{Collector, EventSink};
    let Some(dir) = shared_captures() else { return };
    let path = dir.join("ntlm-synthetic-http-negotiate-multi.pcap");
    let mut collector = Collector::default();
    let report =
        crate::pipeline::analyze_path(&path, &AnalyzerConfig::default(), &mut collector).unwrap();
    let analysis = Analysis::from_parts(
        collector.events.clone(),
        collector.flows.clone(),
        report.clone(),
    );
    let convs = conversations(&analysis, 1000);
    let smtp = convs
        .iter()
        .find(|c| c.steps.first().is_some_and(|s| s.stream == 10))
        .expect("the SMTP conversation");
    let steps: Vec<(&str, &str, &str)> = smtp
        .steps
        .iter()
        .map(|s| (s.actor, s.key.as_str(), s.text.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("client", "tcp open", "client opens a connection (SYN)"),
            (
                "server",
                "tcp accept",
                "server accepts the connection (SYN-ACK)"
            ),
            (
                "server",
                "tcp data",
                "server sends 225 bytes not decoded; client sends 378 bytes"
            ),
            (
                "client",
                "tcp fin client",
                "client closes the connection (FIN)"
            ),
            (
                "server",
                "tcp fin server",
                "server closes the connection (FIN)"
            ),
        ]
    );
    // From its first run to its last.
    let data = &smtp.steps[2];
    assert_eq!((data.frame, data.last.0), (134, 154));
    let mut recorder = ConversationRecorder::new(1000);
    for e in &collector.events {
        recorder.take_event(e.clone());
    }
    for f in &collector.flows {
        recorder.flow(f);
    }
    let described = recorder.finish(report);
    assert_eq!(
        serde_json::to_value(&described.conversations).unwrap(),
        serde_json::to_value(&convs).unwrap()
    );
}
