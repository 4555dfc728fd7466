//! `wiretale timeline`: every event, in order.

use super::common;
use crate::cli::{LineFormat, TimelineArgs};
use crate::exit::{CliError, Outcome};
use crate::output;
use std::io::Write;
use wiretale::capture::Timestamp;
use wiretale::net::SocketAddrText;
use wiretale::timeline::{Event, EventFilter, EventSink};

struct EventWriter<W: Write> {
    out: output::Batched<W>,
    format: LineFormat,
    filter: Option<EventFilter>,
    /// Time of the capture's first frame: times are relative to it, as in Wireshark's Time
    /// column and the story, filter or no filter.
    first: Option<Timestamp>,
    error: Option<std::io::Error>,
}

impl<W: Write> EventSink for EventWriter<W> {
    fn capture_start(&mut self, first_frame_time: Timestamp) {
        self.first = Some(first_frame_time);
    }

    fn event(&mut self, e: &Event) {
        let first = *self.first.get_or_insert(e.time);
        if let Some(filter) = &mut self.filter {
            if !filter.matches(e) {
                return;
            }
        }
        if self.error.is_some() {
            return;
        }
        let result = match self.format {
            LineFormat::Jsonl => e.write_json(self.out.lines()).map(|()| {
                self.out.lines().push(b'\n');
            }),
            LineFormat::Text => {
                push_text_line(self.out.lines(), e, first);
                Ok(())
            }
        };
        let result = result.and_then(|()| self.out.write_if_full());
        if let Err(err) = result {
            self.error = Some(err);
        }
    }
}

pub fn run(args: &TimelineArgs) -> Result<Outcome, CliError> {
    let filter = common::event_filter(&args.filter, "timeline")?;
    let mut config = common::config(&args.capture)?;
    config.show_secrets = args.show_secrets;
    let mut sink = EventWriter {
        out: output::Batched::new(output::stdout()),
        format: args.format,
        filter: filter.map(EventFilter::new),
        first: None,
        error: None,
    };
    let report = common::analyse_with(&args.capture, config, &mut sink)?;
    if let Some(e) = sink.error.take() {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(Outcome::Ok);
        }
        return Err(e.into());
    }
    sink.out.finish()?;
    Ok(common::finish(&args.capture, &report))
}

/// `Frame N  +S.SSS s  #STREAM  SRC → DST  PROTO  SUMMARY [in tunnel to T]`, the text of
/// `format!("Frame {:<6} {:>+10.3} s  #{:<4} {:>22} → {:<22} {:<4} {}{}", ...)` built by
/// hand: `write!` with padding and `SocketAddr`'s `Display` were half the cost of
/// `timeline` on short connections.
fn push_text_line(b: &mut Vec<u8>, e: &Event, first: Timestamp) {
    b.extend_from_slice(b"Frame ");
    let digits = output::push_u64(b, e.frame);
    output::pad(b, 6usize.saturating_sub(digits));
    b.push(b' ');
    // Writing into a Vec cannot fail.
    let _ = output::push_seconds(b, e.time.seconds_since(first), 10);
    b.extend_from_slice(b" s  #");
    let digits = e.stream.map_or(0, |s| output::push_u64(b, s));
    output::pad(b, 4usize.saturating_sub(digits));
    b.push(b' ');
    // Address texts are ASCII: their width is their length.
    let src = e.src.map(|a| SocketAddrText::new(&a));
    let src = src.as_ref().map_or(&[][..], SocketAddrText::as_bytes);
    output::pad(b, 22usize.saturating_sub(src.len()));
    b.extend_from_slice(src);
    b.extend_from_slice(" → ".as_bytes());
    let dst = e.dst.map(|a| SocketAddrText::new(&a));
    let dst = dst.as_ref().map_or(&[][..], SocketAddrText::as_bytes);
    b.extend_from_slice(dst);
    output::pad(b, 22usize.saturating_sub(dst.len()));
    b.push(b' ');
    let proto = e.proto();
    b.extend(proto.bytes().map(|c| c.to_ascii_uppercase()));
    output::pad(b, 4usize.saturating_sub(proto.len()));
    b.push(b' ');
    b.extend_from_slice(e.summary().as_bytes());
    if let Some(tunnel) = &e.tunnel {
        b.extend_from_slice(b" [in tunnel to ");
        b.extend_from_slice(tunnel.as_bytes());
        b.push(b']');
    }
    b.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretale::pipeline::{analyze_path, AnalyzerConfig};
    use wiretale::tcp::ConnEvent;
    use wiretale::timeline::{Collector, Detail, Frames};

    /// The line as `write!` made it before [`push_text_line`].
    fn formatted(e: &Event, first: Timestamp) -> String {
        let stream = e.stream.map(|s| s.to_string()).unwrap_or_default();
        let src = e.src.map(|a| a.to_string()).unwrap_or_default();
        let dst = e.dst.map(|a| a.to_string()).unwrap_or_default();
        let tunnel = (e.tunnel.as_deref())
            .map(|t| format!(" [in tunnel to {t}]"))
            .unwrap_or_default();
        format!(
            "Frame {:<6} {:>+10.3} s  #{:<4} {:>22} → {:<22} {:<4} {}{}\n",
            e.frame,
            e.time.seconds_since(first),
            stream,
            src,
            dst,
            e.proto().to_uppercase(),
            e.summary(),
            tunnel
        )
    }

    fn assert_same_line(e: &Event, first: Timestamp) {
        let mut line = Vec::new();
        push_text_line(&mut line, e, first);
        assert_eq!(String::from_utf8(line).unwrap(), formatted(e, first));
    }

    #[test]
    fn text_lines_are_the_formatted_ones() {
        let mut events = 0;
        for path in crate::test_support::testdata_captures() {
            let mut c = Collector::default();
            let _ = analyze_path(&path, &AnalyzerConfig::default(), &mut c);
            let first = c.events.first().map(|e| e.time).unwrap_or_default();
            for e in &c.events {
                assert_same_line(e, first);
                events += 1;
            }
        }
        assert!(events > 100, "{events} events");
    }

    #[test]
    fn text_lines_of_odd_events_are_the_formatted_ones() {
        let mut e = Event {
            frame: 12_345_678,
            frames: Frames::one(12_345_678),
            time: Timestamp::default(),
            stream: Some(123_456),
            src: Some("[2001:db8::1%3]:65535".parse().unwrap()),
            dst: Some("255.255.255.255:65535".parse().unwrap()),
            tunnel: Some("proxy.example:443".into()),
            detail: Detail::Tcp(ConnEvent::Syn),
        };
        let later = Timestamp {
            secs: 99,
            nanos: 500_000,
        };
        assert_same_line(&e, later);
        e.stream = None;
        e.src = None;
        e.dst = None;
        e.tunnel = None;
        e.frame = 1;
        assert_same_line(&e, Timestamp::default());
    }
}
