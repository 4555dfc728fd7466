//! `wiretale story`: the narrative, the findings and the root cause.

mod line;

use super::common;
use crate::cli::{FailOn, StoryArgs, StoryFormat};
use crate::exit::{CliError, Outcome};
use crate::output;
use line::{digits, StepLines};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use wiretale::analysis::{
    Finding, LineKind, RootCause, Severity, StoryAnalysis, StoryOptions, StoryRecorder,
};
use wiretale::net::SkipReason;
use wiretale::pipeline::Stats;
use wiretale::tcp::FlowSummary;
use wiretale::timeline::{Event, EventFilter, EventSink};

/// The end of the JSON document, after the `events` and `story` arrays that are streamed.
#[derive(Serialize)]
struct StoryJsonTail<'a> {
    findings: &'a [Finding],
    root_cause: &'a Option<RootCause>,
    stats: &'a Stats,
    error: Option<String>,
}

/// Writes `{"capture":…,"events":[` and then each event as the analysis produces it, so
/// `story --format json` never holds the events; the document's head is written with the
/// first event (or at the end), so a capture that cannot be opened leaves stdout empty.
struct JsonEvents<'w, W: Write> {
    out: &'w mut W,
    capture: &'w str,
    events: usize,
    /// The event being written (kept for its capacity).
    event_json: Vec<u8>,
    error: Option<std::io::Error>,
}

impl<W: Write> JsonEvents<'_, W> {
    fn head(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"{\"capture\":")?;
        serde_json::to_writer(&mut *self.out, self.capture).map_err(std::io::Error::from)?;
        self.out.write_all(b",\"events\":[")
    }

    fn write(&mut self, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let result = (|| {
            if self.events == 0 {
                self.head()?;
            } else {
                self.out.write_all(b",")?;
            }
            self.event_json.clear();
            event.write_json(&mut self.event_json)?;
            self.out.write_all(&self.event_json)?;
            // One huge event (a message over thousands of frames) is not kept for the rest.
            if self.event_json.capacity() > 1 << 20 {
                self.event_json = Vec::new();
            }
            Ok(())
        })();
        self.events += 1;
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    fn finish(mut self, told: &StoryAnalysis) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.events == 0 {
            self.head()?;
        }
        self.out.write_all(b"],\"story\":[")?;
        let mut lines = 0usize;
        let mut written = Ok(());
        told.for_each_line(|line| {
            if written.is_ok() {
                written = (|| {
                    if lines > 0 {
                        self.out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *self.out, line).map_err(std::io::Error::from)
                })();
                lines += 1;
            }
        })?;
        written?;
        // The tail serializes as `{"findings":…}`: drop its `{` and close the array first.
        let tail = serde_json::to_vec(&StoryJsonTail {
            findings: &told.diagnosis.findings,
            root_cause: &told.diagnosis.root_cause,
            stats: &told.report.stats,
            error: told.report.error.as_ref().map(|e| e.to_string()),
        })
        .map_err(std::io::Error::from)?;
        self.out.write_all(b"],")?;
        self.out.write_all(tail.get(1..).unwrap_or_default())?;
        self.out.write_all(b"\n")
    }
}

/// The pipeline's sink for `story`: the recorder, plus the JSON event stream when asked.
struct StorySink<'r, 'w, W: Write> {
    recorder: StoryRecorder<'r>,
    json: Option<JsonEvents<'w, W>>,
}

impl<W: Write> EventSink for StorySink<'_, '_, W> {
    fn take_event(&mut self, event: Event) {
        if let Some(json) = self.json.as_mut() {
            json.write(&event);
        }
        self.recorder.take_event(event);
    }
    fn flow(&mut self, flow: &FlowSummary) {
        self.recorder.flow(flow);
    }
    fn take_flow(&mut self, flow: FlowSummary) {
        self.recorder.take_flow(flow);
    }
    fn closing(&mut self, flow: FlowSummary) {
        self.recorder.closing(flow);
    }
    fn wants_closing(&self) -> bool {
        self.recorder.wants_closing()
    }
}

pub fn run(args: &StoryArgs) -> Result<Outcome, CliError> {
    let filter = common::event_filter(&args.filter, "story")?;
    let mut config = common::config(&args.capture)?;
    config.show_secrets = args.show_secrets;
    let opts = StoryOptions {
        idle_secs: args.idle,
    };
    let mut filter = filter.map(EventFilter::new);
    let recorder = match filter.as_mut() {
        Some(f) => StoryRecorder::filtered(move |e: &Event| f.matches(e)),
        None => StoryRecorder::default(),
    };
    let mut out = output::stdout();
    let name = args.capture.capture.display().to_string();
    let json = matches!(args.format, StoryFormat::Json).then(|| JsonEvents {
        out: &mut out,
        capture: &name,
        events: 0,
        event_json: Vec::new(),
        error: None,
    });
    let mut sink = StorySink { recorder, json };
    let report = common::analyse_with(&args.capture, config, &mut sink)?;
    let StorySink { recorder, json } = sink;
    let told = recorder.finish(report, &opts);
    match json {
        Some(json) => json.finish(&told)?,
        None if args.format == StoryFormat::Mermaid => write_mermaid(&mut out, &told)?,
        None => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            // The JSON keeps the argument as given; a person reads "standard input".
            let shown = if name == "-" { "standard input" } else { &name };
            write_text(&mut out, shown, &told, colour)?
        }
    }
    out.flush()?;
    let damaged = common::finish(&args.capture, &told.report);
    let threshold = match args.fail_on {
        Some(FailOn::Warning) => Some(Severity::Warning),
        Some(FailOn::Error) => Some(Severity::Error),
        None => None,
    };
    let outcome = match (threshold, told.diagnosis.worst()) {
        (Some(t), Some(worst)) if worst >= t => Outcome::Findings,
        _ => damaged,
    };
    // The process exits next and the system takes the memory back at once: freeing the
    // story's steps and the index entry by entry would cost ~8 % of a run on a 1 GB capture.
    std::mem::forget(told);
    Ok(outcome)
}

/// Distinct addresses in order of first appearance: the first [`FirstSeen::SHOWN`] of them,
/// and how many there are. Addresses, not their text, so that a million connections format
/// only the few shown.
struct FirstSeen<T> {
    seen: std::collections::HashSet<T, foldhash::fast::RandomState>,
    first: Vec<T>,
}

impl<T> Default for FirstSeen<T> {
    fn default() -> Self {
        FirstSeen {
            seen: Default::default(),
            first: Vec::new(),
        }
    }
}

impl<T: std::hash::Hash + Eq + Copy + std::fmt::Display> FirstSeen<T> {
    /// How many addresses the header names.
    const SHOWN: usize = 8;

    fn add(&mut self, addr: T) {
        if self.seen.insert(addr) && self.first.len() < Self::SHOWN {
            self.first.push(addr);
        }
    }

    /// Forgets the addresses in `other` (a list shown is then shorter than
    /// [`FirstSeen::SHOWN`] when one of its first addresses is forgotten; the count of those
    /// not shown stays right).
    fn remove_all<S: std::hash::BuildHasher>(&mut self, other: &std::collections::HashSet<T, S>) {
        if other.is_empty() {
            return;
        }
        self.seen.retain(|a| !other.contains(a));
        self.first.retain(|a| !other.contains(a));
    }

    /// `a, b, c` (and `and N more` past [`FirstSeen::SHOWN`]), or `None` if there are none.
    fn describe(&self) -> Option<String> {
        if self.first.is_empty() {
            return None;
        }
        let shown: Vec<String> = self.first.iter().map(T::to_string).collect();
        let mut text = shown.join(", ");
        if self.seen.len() > self.first.len() {
            text.push_str(&format!(" and {} more", self.seen.len() - self.first.len()));
        }
        Some(text)
    }
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn write_text<W: Write>(
    out: &mut W,
    name: &str,
    a: &StoryAnalysis,
    colour: bool,
) -> std::io::Result<()> {
    let index = &a.index;
    let s = &a.report.stats;
    writeln!(
        out,
        "{} — {} frame{}, {} TCP connection{}, {:.1} s",
        paint(colour, "1", &format!("Story of {name}")),
        s.frames_read,
        if s.frames_read == 1 { "" } else { "s" },
        a.flows,
        if a.flows == 1 { "" } else { "s" },
        s.duration_secs()
    )?;
    // Who's who, from the evidence (SYN, absolute-form requests, CONNECT, 407), in order of
    // first appearance.
    let mut clients = FirstSeen::default();
    let mut servers = FirstSeen::default();
    let mut proxies = FirstSeen::default();
    for (_, client, server, is_proxy) in index.endpoints() {
        clients.add(client.ip());
        let list = if is_proxy { &mut proxies } else { &mut servers };
        list.add(server);
    }
    // An address that is a proxy on one connection is the proxy on all: a connection picked
    // up mid-way, or one that only ever got an error, shows no proxy request of its own.
    servers.remove_all(&proxies.seen);
    for (role, list) in [
        ("clients", clients.describe()),
        ("servers", servers.describe()),
        ("proxies", proxies.describe()),
    ] {
        if let Some(list) = list {
            writeln!(out, "  {role:<8} {list}")?;
        }
    }
    writeln!(out)?;
    // The column widths were measured as the steps were put in order: the story (millions of
    // lines, perhaps on disk) is told once, each line built in a reused buffer.
    let columns = a.columns();
    let (from_w, to_w, frame_w) = (columns.from, columns.to, digits(columns.last_frame));
    // Wide enough for the capture's span (`+0.000` up to `+99999.999` in the usual 9, more
    // for a capture spanning days or merged from captures far apart).
    let time_w = format!("{:+.3}", s.duration_secs()).len().max(9);
    let mut written = Ok(());
    let mut steps = StepLines::default();
    let mut lines = output::Batched::new(&mut *out);
    // Damage read past is told where it was, before the first line at or after the frame
    // found after it (the rest after the last line), marked like an idle line.
    let mut damage = s.damage.iter().enumerate().peekable();
    let margin = frame_w + 6 + time_w + 3;
    let told = a.for_each_line(|l| {
        if written.is_ok() {
            let b = lines.lines();
            while let Some((i, place)) = damage.next_if(|(_, d)| d.frame <= l.frame) {
                if written.is_ok() {
                    written = damage_line(b, place, i == 0, margin, colour);
                }
            }
            if written.is_err() {
                return;
            }
            written = match l.kind {
                LineKind::Idle => writeln!(
                    b,
                    "{:>w$}  {}",
                    "",
                    paint(colour, "2", &l.text),
                    w = frame_w + 6 + time_w + 3
                ),
                LineKind::Step => steps.push(b, l, frame_w, time_w, from_w, to_w),
            }
            .and_then(|()| lines.write_if_full());
        }
    });
    for (i, place) in damage {
        if written.is_ok() {
            written = damage_line(lines.lines(), place, i == 0, margin, colour);
        }
    }
    // The lines told before a failure to read the story back are written before it is
    // reported.
    let flushed = written.and_then(|()| lines.finish());
    told?;
    flushed?;
    writeln!(out)?;
    let findings = &a.diagnosis.findings;
    writeln!(out, "{}", paint(colour, "1", "Findings"))?;
    if findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for (i, f) in findings.iter().enumerate() {
        let sev = match f.severity {
            Severity::Error => paint(colour, "31;1", "error"),
            Severity::Warning => paint(colour, "33;1", "warning"),
            Severity::Info => paint(colour, "36", "info"),
        };
        let frames: Vec<String> = f.frames.iter().take(12).map(|n| n.to_string()).collect();
        let streams: Vec<String> = f.streams.iter().map(|n| n.to_string()).collect();
        let streams = match streams.len() {
            0 => String::new(),
            1 => format!("; stream {}", streams.join("")),
            _ => format!("; streams {}", streams.join(", ")),
        };
        writeln!(
            out,
            "  {}. [{sev}] {}  (frame {}; frames {}{}{streams})",
            i + 1,
            paint(colour, "1", f.id),
            f.frame,
            frames.join(", "),
            if f.frames.len() > 12 { ", …" } else { "" },
        )?;
        writeln!(out, "     {}", f.summary)?;
        for e in &f.evidence {
            writeln!(out, "       - {e}")?;
        }
        writeln!(out, "     Try: {}", f.suggestion)?;
    }
    if let Some(rc) = &a.diagnosis.root_cause {
        writeln!(out)?;
        writeln!(out, "{}", paint(colour, "1", "Root cause"))?;
        writeln!(out, "  {}", rc.chain.join(" → "))?;
        for line in wrap(&rc.summary, 96) {
            writeln!(out, "  {line}")?;
        }
        for line in wrap(&format!("Fix: {}", rc.fix), 96) {
            writeln!(out, "  {line}")?;
        }
    }
    let footer = accounting(s, a.report.error.is_some());
    if !footer.is_empty() {
        writeln!(out)?;
        for line in footer {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The story's line for damage read past, in the margin of an idle line; the first says
/// Wireshark stops reading there.
fn damage_line(
    out: &mut impl Write,
    place: &wiretale::capture::CaptureError,
    first: bool,
    margin: usize,
    colour: bool,
) -> std::io::Result<()> {
    let text = format!(
        "capture file damaged before frame {}: {} bytes skipped at byte offset {}; packets there are lost{}",
        place.frame,
        place.skipped_bytes(),
        place.offset,
        if first { " (Wireshark stops reading here)" } else { "" }
    );
    writeln!(out, "{:>margin$}  {}", "", paint(colour, "33", &text))
}

/// `3 IP but not TCP`, `1 with truncated headers`, `5 IPv4 fragments never reassembled`: the
/// library's phrase for a reason's frames ([`SkipReason::describe_in_totals`]), worded to read
/// after a count.
fn skipped_phrase(reason: SkipReason, n: u64) -> String {
    let many = n != 1;
    let fragments = if many { "fragments" } else { "fragment" };
    let phrase = match reason {
        SkipReason::UnsupportedLinkType => "of an unsupported link type".to_string(),
        SkipReason::Truncated => "with truncated headers".to_string(),
        SkipReason::Malformed => "with malformed headers".to_string(),
        SkipReason::IpFragment => format!("IPv4 {fragments} (reassembled at a later frame)"),
        SkipReason::IpFragmentDropped => format!("IPv4 {fragments} dropped (conflict or cap)"),
        SkipReason::IpFragmentUnassembled => format!("IPv4 {fragments} never reassembled"),
        SkipReason::Ipv6Fragment => format!("IPv6 {fragments} (not reassembled)"),
        other => other.describe_in_totals().to_string(),
    };
    format!("{n} {phrase}")
}

/// The footer: how every frame was accounted for and which limits were reached, when anything
/// was skipped, missing, damaged or cut (nothing otherwise).
fn accounting(s: &Stats, damaged: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let damaged = damaged || s.damaged_places > 0;
    if s.frames_skipped() > 0 || damaged || s.gap_bytes > 0 || !s.limits.is_empty() {
        let reasons: Vec<String> = s
            .skipped
            .iter()
            .map(|(r, n)| skipped_phrase(*r, *n))
            .collect();
        lines.push(format!(
            "Frames: {} read, {} analysed as TCP, {} not analysed{}{}",
            s.frames_read,
            s.frames_tcp,
            s.frames_skipped(),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            if s.gap_bytes > 0 {
                format!("; {} bytes missing from TCP streams", s.gap_bytes)
            } else {
                String::new()
            }
        ));
    }
    if s.damaged_places > 0 {
        lines.push(format!(
            "Damage: {} bytes skipped in {} place{} of the file (see the capture-damaged finding)",
            s.damaged_bytes,
            s.damaged_places,
            if s.damaged_places == 1 { "" } else { "s" }
        ));
    }
    if !s.limits.is_empty() {
        let hits: Vec<String> = s
            .limits
            .iter()
            .map(|(limit, hits)| format!("{} {}", hits.count, limit.name()))
            .collect();
        lines.push(format!(
            "Limits reached: {} (see the limits-reached finding)",
            hits.join(", ")
        ));
    }
    lines
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Mermaid forbids a few characters in messages; keep the text readable without them.
fn mermaid_text(s: &str) -> String {
    s.replace(';', ",")
        .replace('#', "no. ")
        .replace(['{', '}'], "")
}

fn write_mermaid<W: Write>(out: &mut W, a: &StoryAnalysis) -> std::io::Result<()> {
    // Clients are shown by address, servers and proxies by address and port.
    let label = |p: &wiretale::analysis::Party| {
        if p.role == "client" {
            format!("client {}", p.addr.ip())
        } else {
            format!("{} {}", p.role, p.addr)
        }
    };
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    a.for_each_line(|l| {
        for p in [&l.from, &l.to].into_iter().flatten() {
            let name = label(p);
            if !ids.contains_key(&name) {
                let id = format!("P{}", ids.len() + 1);
                ids.insert(name.clone(), id);
                order.push(name);
            }
        }
    })?;
    writeln!(out, "```mermaid")?;
    writeln!(out, "sequenceDiagram")?;
    for name in &order {
        writeln!(
            out,
            "    participant {} as {}",
            ids[name],
            mermaid_text(name)
        )?;
    }
    // An idle line is noted over its own connection's two parties (the latest step's pair
    // may be another connection's).
    let mut pair_of_stream: HashMap<u64, (String, String)> = HashMap::new();
    let mut last_pair: Option<(String, String)> = None;
    let mut written = Ok(());
    a.for_each_line(|l| {
        if written.is_err() {
            return;
        }
        written = match l.kind {
            LineKind::Step => {
                let (Some(from), Some(to)) = (&l.from, &l.to) else {
                    return;
                };
                let (f, t) = (ids[&label(from)].clone(), ids[&label(to)].clone());
                let arrow = if l.proto == "TCP" { "-->>" } else { "->>" };
                let result = writeln!(
                    out,
                    "    {f}{arrow}{t}: F{} {} {}",
                    l.frame,
                    l.proto,
                    mermaid_text(&l.text)
                );
                if let Some(stream) = l.stream {
                    pair_of_stream.insert(stream, (f.clone(), t.clone()));
                }
                last_pair = Some((f, t));
                result
            }
            LineKind::Idle => match (l.stream)
                .and_then(|s| pair_of_stream.get(&s))
                .or(last_pair.as_ref())
            {
                Some((f, t)) => writeln!(out, "    Note over {f},{t}: {}", mermaid_text(&l.text)),
                None => Ok(()),
            },
        };
    })?;
    written?;
    if let Some(rc) = &a.diagnosis.root_cause {
        if let Some(first) = order.first() {
            writeln!(
                out,
                "    Note over {}: Root cause: {}",
                ids[first],
                mermaid_text(&rc.chain.join(" → "))
            )?;
        }
    }
    writeln!(out, "```")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretale::net::SkipReason;
    use wiretale::pipeline::{Limit, LimitHits};

    #[test]
    fn header_lists_the_first_eight_addresses_in_order_and_counts_the_others() {
        let mut servers = FirstSeen::default();
        assert_eq!(servers.describe(), None);
        let addr = |n: u8| std::net::SocketAddr::from(([192, 0, 2, n], 80));
        for n in [3, 1, 3, 2, 1] {
            servers.add(addr(n));
        }
        assert_eq!(
            servers.describe().as_deref(),
            Some("192.0.2.3:80, 192.0.2.1:80, 192.0.2.2:80")
        );
        for n in (10..30).chain(10..30) {
            servers.add(addr(n));
        }
        let text = servers.describe().unwrap();
        assert!(text.starts_with("192.0.2.3:80, 192.0.2.1:80, 192.0.2.2:80, 192.0.2.10:80,"));
        assert!(text.ends_with("192.0.2.14:80 and 15 more"), "{text}");
    }

    #[test]
    fn nothing_skipped_no_footer() {
        let s = Stats {
            frames_read: 10,
            frames_tcp: 10,
            ..Stats::default()
        };
        assert!(accounting(&s, false).is_empty());
    }

    #[test]
    fn footer_accounts_for_every_frame_and_names_the_limits() {
        let mut s = Stats {
            frames_read: 10,
            frames_tcp: 6,
            gap_bytes: 100,
            ..Stats::default()
        };
        s.skipped.insert(SkipReason::NonTcp, 3);
        s.skipped.insert(SkipReason::Truncated, 1);
        s.limits.insert(
            Limit::HeadTooLarge,
            LimitHits {
                count: 2,
                first_frame: Some(4),
                value: 65536,
            },
        );
        assert_eq!(
            accounting(&s, false),
            vec![
                "Frames: 10 read, 6 analysed as TCP, 4 not analysed (3 IP but not TCP, 1 with truncated headers); 100 bytes missing from TCP streams",
                "Limits reached: 2 head_too_large (see the limits-reached finding)",
            ]
        );
    }

    #[test]
    fn damage_alone_shows_the_frame_count() {
        let s = Stats {
            frames_read: 3,
            frames_tcp: 3,
            ..Stats::default()
        };
        assert_eq!(
            accounting(&s, true),
            vec!["Frames: 3 read, 3 analysed as TCP, 0 not analysed"]
        );
    }
}
