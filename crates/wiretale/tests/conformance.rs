//! Conformance with tshark: every capture in `../shared/captures` is analysed through the
//! public API and compared, frame by frame, with tshark 4.0.17's decode of it (the oracle
//! TSVs described in the corpus MANIFEST).
//!
//! Compared per frame: `tcp.stream`, the TLS handshake types, hello versions and alert
//! descriptions completed in the frame, HTTP request methods, URIs, versions, response codes
//! and the `Connection` and authentication headers, and the NTLMSSP message type, server
//! challenge and Type 3 user / domain / workstation. A multi-valued field is compared as tshark
//! prints it: the values completed in that frame, in order, joined with `,`. Every compared
//! column but the server challenge (bytes) is also a display-filter field, and a filter on it
//! (`frames -Y http.connection`) must list exactly the frames that carry it.
//!
//! Any disagreement must be listed, with its reason, in the allow-list table of
//! `docs/known-differences.md`; an entry that no longer matches anything fails too, so the
//! document stays exact.
//!
//! The same run checks invariants of every event: `frame` is one of `frames`, `frames` ascend,
//! and an event of a TCP stream carries that stream's endpoints (for a decoded message: the
//! direction of every frame that carried it).
//!
//! Run with `--nocapture` to see the agreement counts per capture and field.

mod support;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use support::{analyze, capture_files, file_name, oracle_rows, shared_captures, OracleRow};
use wiretale::pipeline::{analyze_path, AnalyzerConfig};
use wiretale::proto::http::{HeaderBlock, HttpMessage};
use wiretale::proto::tls::{HandshakeBody, TlsMessage};
use wiretale::timeline::{Collector, Detail, Event, EventSink, FrameFilter, FrameSummary};

/// The oracle columns compared, in report order.
const FIELDS: [&str; 19] = [
    "tcp.stream",
    "tls.handshake.type",
    "tls.handshake.version",
    "tls.alert_message.desc",
    "http.request.method",
    "http.request.uri",
    "http.request.version",
    "http.response.code",
    "http.response.version",
    "http.connection",
    "http.authorization",
    "http.proxy_authorization",
    "http.www_authenticate",
    "http.proxy_authenticate",
    "ntlmssp.messagetype",
    "ntlmssp.ntlmserverchallenge",
    "ntlmssp.auth.username",
    "ntlmssp.auth.domain",
    "ntlmssp.auth.hostname",
];

/// Stream, source and destination of a frame.
type FrameInfo = (Option<u64>, Option<SocketAddr>, Option<SocketAddr>);

/// Per frame, per field: the values wiretale reports, in order.
type FrameValues = BTreeMap<u64, BTreeMap<&'static str, Vec<String>>>;

#[test]
fn every_capture_agrees_with_tshark_or_the_difference_is_documented() {
    let Some(dir) = shared_captures() else {
        return;
    };
    let allow = AllowList::load();
    let mut totals = Tally::default();
    let mut unexplained = Vec::new();
    let mut violations = Vec::new();
    let captures = capture_files(&dir);
    assert!(!captures.is_empty(), "no captures in {}", dir.display());
    for capture in &captures {
        let name = file_name(capture);
        let oracle = Oracle::read(&dir, &name);
        let analysis = analyze(&dir, capture);
        if let Err(e) = &analysis.report {
            // Only a file with nothing readable may fail to open.
            assert!(
                oracle.rows.is_empty(),
                "{name}: not analysed ({e}) but tshark read {} frames",
                oracle.rows.len()
            );
        }
        let collected = &analysis.collected;
        violations.extend(
            check_invariants(collected)
                .into_iter()
                .map(|v| format!("{name}: {v}")),
        );
        let ours = frame_values(collected);
        let mut tally = Tally::default();
        for (frame, row) in &oracle.rows {
            for field in FIELDS {
                let theirs = oracle.cell(row, field);
                let mine = ours
                    .get(frame)
                    .and_then(|m| m.get(field))
                    .map(|v| v.join(","))
                    .unwrap_or_default();
                if theirs.is_empty() && mine.is_empty() {
                    continue;
                }
                let diff = Difference {
                    capture: &name,
                    frame: *frame,
                    ports: oracle.ports(row),
                    field,
                    tshark: theirs,
                    wiretale: &mine,
                };
                if theirs == mine {
                    tally.add(field, Outcome::Agree);
                } else if allow.accepts(&diff) {
                    tally.add(field, Outcome::Accepted);
                } else {
                    tally.add(field, Outcome::Differ);
                    unexplained.push(diff.to_string());
                }
            }
        }
        // Frames tshark never listed (it stops at damage) must carry nothing decoded.
        for (frame, fields) in ours.range(oracle.last_frame() + 1..) {
            for (field, values) in fields {
                unexplained.push(format!(
                    "{name} frame {frame} {field}: tshark has no such frame, wiretale says {}",
                    values.join(",")
                ));
            }
        }
        println!("{name}: {}", tally.describe());
        totals.merge(&tally);
    }
    println!("ALL {} captures: {}", captures.len(), totals.describe());
    let stale = allow.unused();
    let mut problems = Vec::new();
    if !unexplained.is_empty() {
        problems.push(format!(
            "{} disagreements with tshark not listed in docs/known-differences.md:\n  {}",
            unexplained.len(),
            unexplained.join("\n  ")
        ));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "allow-list entries in docs/known-differences.md that match nothing (remove them):\n  {}",
            stale.join("\n  ")
        ));
    }
    if !violations.is_empty() {
        violations.truncate(100);
        problems.push(format!(
            "event invariants violated:\n  {}",
            violations.join("\n  ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The values wiretale reports per frame, in tshark's field names.
fn frame_values(collected: &Collector) -> FrameValues {
    let mut out = FrameValues::new();
    for f in &collected.frames {
        if let Some(stream) = f.stream {
            push(&mut out, f.frame, "tcp.stream", stream.to_string());
        }
    }
    for e in &collected.events {
        let mut put = |field: &'static str, value: String| push(&mut out, e.frame, field, value);
        match &e.detail {
            Detail::Tcp(_) => {}
            Detail::Tls(TlsMessage::Handshake(h)) => {
                put("tls.handshake.type", h.handshake_type.to_string());
                let version = match &h.body {
                    HandshakeBody::ClientHello(ch) => Some(ch.legacy_version),
                    HandshakeBody::ServerHello(sh) => Some(sh.legacy_version),
                    HandshakeBody::Sslv2ServerHello(sh) => Some(sh.version),
                    _ => None,
                };
                if let Some(v) = version {
                    put("tls.handshake.version", format!("0x{v:04x}"));
                }
            }
            // Reported where it crossed the size cap, undecoded: its type is known.
            Detail::Tls(TlsMessage::HandshakeTooLarge(h)) => {
                put("tls.handshake.type", h.handshake_type.to_string())
            }
            Detail::Tls(TlsMessage::Alert(a)) => {
                put("tls.alert_message.desc", a.description.to_string())
            }
            Detail::Tls(_) => {}
            Detail::Http(m) => match m.as_ref() {
                HttpMessage::Request(r) => {
                    put("http.request.method", r.head.method.clone());
                    put("http.request.uri", r.head.target.clone());
                    put("http.request.version", r.head.version.as_str().to_owned());
                    put_headers(&mut put, &r.head.headers);
                }
                HttpMessage::Response(r) => {
                    put("http.response.code", r.head.status.to_string());
                    put("http.response.version", r.head.version.as_str().to_owned());
                    put_headers(&mut put, &r.head.headers);
                }
                _ => {}
            },
            Detail::Ntlm(n) => {
                let Some(t) = n.message_type else { continue };
                put("ntlmssp.messagetype", format!("0x{t:08x}"));
                if let Some(c) = &n.challenge {
                    put("ntlmssp.ntlmserverchallenge", c.clone());
                }
                if t == 3 {
                    // tshark prints an empty name as NULL.
                    let name = |v: &Option<String>| match v.as_deref() {
                        None | Some("") => "NULL".to_string(),
                        Some(s) => s.to_string(),
                    };
                    put("ntlmssp.auth.username", name(&n.user));
                    put("ntlmssp.auth.domain", name(&n.domain));
                    put("ntlmssp.auth.hostname", name(&n.workstation));
                }
            }
        }
    }
    out
}

/// The header fields tshark lists by name, one value per header line.
fn put_headers(put: &mut dyn FnMut(&'static str, String), headers: &HeaderBlock) {
    for (field, name) in [
        ("http.connection", "Connection"),
        ("http.authorization", "Authorization"),
        ("http.proxy_authorization", "Proxy-Authorization"),
        ("http.www_authenticate", "WWW-Authenticate"),
        ("http.proxy_authenticate", "Proxy-Authenticate"),
    ] {
        for value in headers.values(name) {
            put(field, value.to_owned());
        }
    }
}

fn push(out: &mut FrameValues, frame: u64, field: &'static str, value: String) {
    out.entry(frame)
        .or_default()
        .entry(field)
        .or_default()
        .push(value);
}

/// Checks what must hold of every event; returns what does not.
fn check_invariants(collected: &Collector) -> Vec<String> {
    let mut bad = Vec::new();
    let flows: BTreeMap<u64, (SocketAddr, SocketAddr)> = collected
        .flows
        .iter()
        .map(|f| (f.stream, (f.client, f.server)))
        .collect();
    let frames: BTreeMap<u64, FrameInfo> = collected
        .frames
        .iter()
        .map(|f| (f.frame, (f.stream, f.src.parse().ok(), f.dst.parse().ok())))
        .collect();
    for e in &collected.events {
        let what = describe(e);
        if !e.frames.contains(&e.frame) {
            bad.push(format!("{what}: frame not among frames {:?}", e.frames));
        }
        if !e.frames.windows(2).all(|w| w[0] < w[1]) {
            bad.push(format!("{what}: frames not ascending {:?}", e.frames));
        }
        let Some(stream) = e.stream else { continue };
        let Some(&(client, server)) = flows.get(&stream) else {
            bad.push(format!("{what}: no flow summary for stream {stream}"));
            continue;
        };
        let ends: BTreeSet<Option<SocketAddr>> = [e.src, e.dst].into();
        if ends != [Some(client), Some(server)].into() {
            bad.push(format!(
                "{what}: endpoints {:?} → {:?}, stream {stream} is {client} ↔ {server}",
                e.src, e.dst
            ));
        }
        // Every frame that carried a decoded message was sent by its sender. A TCP event's
        // frame, or a note that the connection closed with a request unanswered (at the FIN,
        // RST or last packet, whoever sent it), at least belongs to its stream.
        let note = match &e.detail {
            Detail::Tcp(_) => true,
            Detail::Http(m) => matches!(
                m.as_ref(),
                HttpMessage::ConnectionClosedWithOutstandingRequest { .. }
            ),
            _ => false,
        };
        let carried_by: &[u64] = if note { &[] } else { &e.frames };
        for f in carried_by {
            match frames.get(f) {
                Some(&(s, src, dst)) if s == Some(stream) && src == e.src && dst == e.dst => {}
                other => bad.push(format!(
                    "{what}: carried by frame {f} which is {other:?}, not {:?} → {:?} of stream {stream}",
                    e.src, e.dst
                )),
            }
        }
        if note {
            match frames.get(&e.frame) {
                Some(&(s, _, _)) if s == Some(stream) => {}
                other => bad.push(format!(
                    "{what}: at frame {} which is {other:?}, not of stream {stream}",
                    e.frame
                )),
            }
        }
    }
    bad
}

fn describe(e: &Event) -> String {
    let json = serde_json::to_value(e).unwrap_or_default();
    format!(
        "frame {} {} {}",
        e.frame,
        e.proto(),
        json.get("kind").and_then(|k| k.as_str()).unwrap_or("?")
    )
}

/// One oracle TSV: rows by frame number.
struct Oracle {
    rows: BTreeMap<u64, OracleRow>,
}

impl Oracle {
    fn read(dir: &Path, capture: &str) -> Oracle {
        let all = oracle_rows(&dir.join(capture));
        for f in FIELDS
            .iter()
            .chain(&["frame.number", "tcp.srcport", "tcp.dstport"])
        {
            assert!(
                all.first().is_none_or(|row| row.contains_key(*f)),
                "{capture}: oracle lacks column {f}"
            );
        }
        let rows = all
            .into_iter()
            .map(|row| {
                let frame = row
                    .get("frame.number")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{capture}: bad oracle row {row:?}"));
                (frame, row)
            })
            .collect();
        Oracle { rows }
    }

    fn cell<'r>(&self, row: &'r OracleRow, field: &str) -> &'r str {
        row.get(field).map(String::as_str).unwrap_or("")
    }

    /// TCP (source, destination) ports of a row; `None` for a frame that is not TCP.
    fn ports(&self, row: &OracleRow) -> Option<(u16, u16)> {
        let src = self.cell(row, "tcp.srcport").parse().ok()?;
        let dst = self.cell(row, "tcp.dstport").parse().ok()?;
        Some((src, dst))
    }

    fn last_frame(&self) -> u64 {
        self.rows.keys().next_back().copied().unwrap_or(0)
    }
}

/// A per-frame, per-field disagreement.
struct Difference<'a> {
    capture: &'a str,
    frame: u64,
    ports: Option<(u16, u16)>,
    field: &'static str,
    tshark: &'a str,
    wiretale: &'a str,
}

impl std::fmt::Display for Difference<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &str| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                format!("`{v}`")
            }
        };
        write!(
            f,
            "| {} | {} | {} | {} | {} | |",
            self.capture,
            self.frame,
            self.field,
            show(self.tshark),
            show(self.wiretale)
        )
    }
}

/// Which frames an allow-list entry covers.
#[derive(Debug)]
enum FrameSelector {
    /// One frame.
    Frame(u64),
    /// Every TCP frame to or from this port.
    Port(u16),
    /// Every frame that is not TCP (tshark decodes HTTP over UDP too).
    NonTcp,
}

/// A documented difference: one row of the table in `docs/known-differences.md`.
#[derive(Debug)]
struct Allowed {
    capture: String,
    frames: FrameSelector,
    /// A field name, or a prefix ending in `*`.
    field: String,
    /// The value, `(none)` for empty, or `*` for any.
    tshark: String,
    wiretale: String,
    used: Cell<usize>,
}

impl Allowed {
    fn matches(&self, d: &Difference<'_>) -> bool {
        let value = |pattern: &str, v: &str| match pattern {
            "*" => true,
            "(none)" => v.is_empty(),
            p => p == v,
        };
        let field = match self.field.strip_suffix('*') {
            Some(prefix) => d.field.starts_with(prefix),
            None => self.field == d.field,
        };
        let frame = match self.frames {
            FrameSelector::Frame(n) => n == d.frame,
            FrameSelector::Port(p) => d.ports.is_some_and(|(s, t)| s == p || t == p),
            FrameSelector::NonTcp => d.ports.is_none(),
        };
        self.capture == d.capture
            && frame
            && field
            && value(&self.tshark, d.tshark)
            && value(&self.wiretale, d.wiretale)
    }
}

/// The allow-list: the table in `docs/known-differences.md` whose header is
/// `| capture | frame | field | tshark | wiretale | reason |`.
struct AllowList {
    entries: Vec<Allowed>,
}

const ALLOW_HEADER: [&str; 6] = ["capture", "frame", "field", "tshark", "wiretale", "reason"];

impl AllowList {
    fn load() -> AllowList {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/known-differences.md");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        AllowList::parse(&text)
    }

    fn parse(text: &str) -> AllowList {
        let cells = |line: &str| -> Vec<String> {
            let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
            inner
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        };
        let mut entries = Vec::new();
        let mut lines = text.lines();
        let mut tables = 0;
        while let Some(line) = lines.next() {
            if !line.trim_start().starts_with('|') || cells(line) != ALLOW_HEADER {
                continue;
            }
            tables += 1;
            let _separator = lines.next();
            for row in lines.by_ref() {
                if !row.trim_start().starts_with('|') {
                    break;
                }
                let c = cells(row);
                assert_eq!(c.len(), 6, "allow-list row needs 6 cells: {row}");
                let frames = match (c[1].as_str(), c[1].strip_prefix("port ")) {
                    ("non-tcp", _) => FrameSelector::NonTcp,
                    (_, Some(p)) => FrameSelector::Port(p.parse().expect("port")),
                    (n, None) => FrameSelector::Frame(
                        n.parse()
                            .unwrap_or_else(|_| panic!("allow-list frame {n:?}")),
                    ),
                };
                assert!(
                    FIELDS.iter().any(|f| match c[2].strip_suffix('*') {
                        Some(prefix) => f.starts_with(prefix),
                        None => *f == c[2],
                    }),
                    "allow-list field {:?} is not compared",
                    c[2]
                );
                assert!(
                    c[5].len() >= 20,
                    "allow-list entry without a real reason: {row}"
                );
                entries.push(Allowed {
                    capture: c[0].clone(),
                    frames,
                    field: c[2].clone(),
                    tshark: c[3].clone(),
                    wiretale: c[4].clone(),
                    used: Cell::new(0),
                });
            }
        }
        assert!(
            tables > 0,
            "docs/known-differences.md has no allow-list table (header {ALLOW_HEADER:?})"
        );
        AllowList { entries }
    }

    fn accepts(&self, d: &Difference<'_>) -> bool {
        match self.entries.iter().find(|a| a.matches(d)) {
            Some(a) => {
                a.used.set(a.used.get() + 1);
                true
            }
            None => false,
        }
    }

    fn unused(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|a| a.used.get() == 0)
            .map(|a| format!("{a:?}"))
            .collect()
    }
}

#[derive(Clone, Copy)]
enum Outcome {
    Agree,
    Accepted,
    Differ,
}

/// Counts per field: (agree, accepted, differ).
#[derive(Default)]
struct Tally(BTreeMap<&'static str, [u64; 3]>);

impl Tally {
    fn add(&mut self, field: &'static str, outcome: Outcome) {
        self.0.entry(field).or_default()[outcome as usize] += 1;
    }

    fn merge(&mut self, other: &Tally) {
        for (field, counts) in &other.0 {
            let mine = self.0.entry(field).or_default();
            for (m, o) in mine.iter_mut().zip(counts) {
                *m += o;
            }
        }
    }

    /// `field agree/total (+N documented, M differ)` for every field with values.
    fn describe(&self) -> String {
        let parts: Vec<String> = FIELDS
            .iter()
            .filter_map(|f| {
                let [agree, accepted, differ] = *self.0.get(f)?;
                let total = agree + accepted + differ;
                let mut s = format!("{f} {agree}/{total}");
                if accepted > 0 {
                    s.push_str(&format!(" ({accepted} documented)"));
                }
                if differ > 0 {
                    s.push_str(&format!(" ({differ} DIFFER)"));
                }
                Some(s)
            })
            .collect();
        if parts.is_empty() {
            "no TCP frames".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// `ipv4-fragmented-tcp.pcap` holds five fragments of one datagram whose last fragment was
/// not captured (tshark does not reassemble it either): the totals must say they were never
/// reassembled, and by the one thread and the sharded pipeline alike.
#[test]
fn fragments_of_a_datagram_never_completed_are_counted_as_such() {
    use wiretale::net::SkipReason;
    use wiretale::pipeline::{analyze_path, AnalyzerConfig};
    use wiretale::timeline::Collector;
    let Some(dir) = shared_captures() else { return };
    let capture = dir.join("ipv4-fragmented-tcp.pcap");
    for threads in [1, 2] {
        let config = AnalyzerConfig {
            threads,
            ..AnalyzerConfig::default()
        };
        let report = analyze_path(&capture, &config, &mut Collector::default()).unwrap();
        let stats = &report.stats;
        assert_eq!(stats.frames_read, 5, "{threads} threads");
        assert_eq!(
            stats.skipped,
            [(SkipReason::IpFragmentUnassembled, 5)]
                .into_iter()
                .collect(),
            "{threads} threads"
        );
    }
}

#[test]
fn allow_list_table_is_parsed_with_selectors_and_wildcards() {
    let doc = "text\n\n| capture | frame | field | tshark | wiretale | reason |\n\
               |---|---|---|---|---|---|\n\
               | a.pcap | 7 | http.response.code | `200` | (none) | a reason long enough to count |\n\
               | a.pcap | port 445 | ntlmssp.* | * | (none) | NTLMSSP over SMB is not decoded |\n\
               | a.pcap | non-tcp | http.request.method | `M-SEARCH` | (none) | SSDP runs over UDP, not TCP |\n\
               \nafter";
    let list = AllowList::parse(doc);
    assert_eq!(list.entries.len(), 3);
    let d = |frame, ports: (u16, u16), field, tshark, wiretale| Difference {
        capture: "a.pcap",
        frame,
        ports: Some(ports).filter(|p| p.0 != 0),
        field,
        tshark,
        wiretale,
    };
    assert!(list.accepts(&d(7, (80, 1), "http.response.code", "200", "")));
    assert!(!list.accepts(&d(7, (80, 1), "http.response.code", "200", "404")));
    assert!(!list.accepts(&d(8, (80, 1), "http.response.code", "200", "")));
    assert!(list.accepts(&d(9, (1, 445), "ntlmssp.messagetype", "0x00000001", "")));
    assert!(!list.accepts(&d(9, (1, 446), "ntlmssp.messagetype", "0x00000001", "")));
    assert!(!list.accepts(&d(9, (1, 445), "ntlmssp.messagetype", "0x00000001", "0x1")));
    assert!(list.accepts(&d(3, (0, 0), "http.request.method", "M-SEARCH", "")));
    assert!(!list.accepts(&d(3, (1, 80), "http.request.method", "M-SEARCH", "")));
    assert!(list.unused().is_empty());
}

/// The one compared column that is not a filter field: a byte string (tshark compares it
/// with `01:02:…` literals, which the filter does not take).
const UNFILTERED_FIELD: &str = "ntlmssp.ntlmserverchallenge";

/// Runs one frame filter per field over a capture, as `frames -Y FIELD` does.
struct FieldFilters {
    filters: Vec<(&'static str, FrameFilter)>,
    hits: BTreeMap<&'static str, BTreeSet<u64>>,
    /// The last frame listed.
    listed: u64,
    /// The events that came before their frame was listed (and the frames, for `tcp.stream`).
    on_time: Collector,
    /// The events that came after it.
    late: Vec<Event>,
}

impl EventSink for FieldFilters {
    fn event(&mut self, e: &Event) {
        if e.frame <= self.listed {
            self.late.push(e.clone());
        } else {
            self.on_time.events.push(e.clone());
        }
        for (_, filter) in &mut self.filters {
            filter.note_event(e);
        }
    }
    fn frame(&mut self, f: &FrameSummary) {
        self.listed = f.frame;
        self.on_time.frames.push(f.clone());
        for (field, filter) in &mut self.filters {
            if filter.matches(f) {
                self.hits.entry(field).or_default().insert(f.frame);
            }
        }
    }
    fn wants_frames(&self) -> bool {
        true
    }
}

/// A display filter naming a compared column alone (`-Y http.connection`) lists the frames
/// that carry it in the comparison above: so each filter field agrees with tshark wherever
/// the decode does. Except a frame whose message came only after it was listed (a response
/// cut short, known complete when its connection ended): a frame listing cannot go back to
/// it (docs/cli.md), and tshark lists it as TCP too (the comparison's allow-list).
#[test]
fn a_filter_on_each_compared_field_lists_the_frames_that_carry_it() {
    let Some(dir) = shared_captures() else {
        return;
    };
    let mut mismatches = Vec::new();
    let mut listed = 0;
    let mut late_frames = BTreeSet::new();
    for capture in capture_files(&dir) {
        let name = file_name(&capture);
        let mut sink = FieldFilters {
            filters: FIELDS
                .iter()
                .filter(|f| **f != UNFILTERED_FIELD)
                .map(|f| {
                    let filter = wiretale::filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
                    (*f, FrameFilter::new(filter))
                })
                .collect(),
            hits: BTreeMap::new(),
            listed: 0,
            on_time: Collector::default(),
            late: Vec::new(),
        };
        let config = AnalyzerConfig {
            decode_as: support::decode_as_for(&dir, &name),
            show_secrets: true,
            ..AnalyzerConfig::default()
        };
        // An unreadable file has nothing to list (the comparison above checks it is one).
        let _ = analyze_path(&capture, &config, &mut sink);
        let ours = frame_values(&sink.on_time);
        let late = Collector {
            events: std::mem::take(&mut sink.late),
            ..Collector::default()
        };
        late_frames.extend(frame_values(&late).into_keys().map(|f| (name.clone(), f)));
        for field in FIELDS.into_iter().filter(|f| *f != UNFILTERED_FIELD) {
            let carried: BTreeSet<u64> = ours
                .iter()
                .filter(|(_, fields)| fields.contains_key(field))
                .map(|(frame, _)| *frame)
                .collect();
            let filtered = sink.hits.remove(field).unwrap_or_default();
            listed += filtered.len();
            if carried != filtered {
                mismatches.push(format!(
                    "{name} -Y {field}: carried by {carried:?}, listed {filtered:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(listed > 5000, "only {listed} frames listed");
    // http-connection-headers.pcap frame 6, http-ntlm-wpad-401-smb.pcap frames 218 and 220.
    assert_eq!(late_frames.len(), 3, "{late_frames:?}");
}
