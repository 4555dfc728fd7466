//! An event's JSON, written without serde's `flatten`.
//!
//! [`Event`]'s serde form flattens its [`Detail`] into the event's object, and serde can only
//! flatten through a map serializer that takes every key and value of the event through
//! serde's flattening adapters; with `SocketAddr`'s `Display` and a `write` call per key and
//! value, that was about 40 % of what the JSON added to the analysis in
//! `timeline --format jsonl` on a capture of short connections. [`Event::write_json`] writes
//! the event's own keys directly and lets serde_json write only the detail (no flattening:
//! its object is spliced in place of the closing brace), giving the same text.

use super::{Detail, Event};
use crate::net::SocketAddrText;
use std::io;

impl Event {
    /// Appends the event's JSON to `out`: the same text as `serde_json::to_writer(out, self)`
    /// (the schema of `docs/json-schema.md`), written faster. No newline.
    ///
    /// ```
    /// use wiretale::timeline::{Detail, Event, Frames};
    /// use wiretale::tcp::ConnEvent;
    ///
    /// let event = Event {
    ///     frame: 3,
    ///     frames: Frames::one(3),
    ///     time: Default::default(),
    ///     stream: Some(0),
    ///     src: Some("10.0.0.1:49152".parse().unwrap()),
    ///     dst: Some("192.0.2.1:443".parse().unwrap()),
    ///     tunnel: None,
    ///     detail: Detail::Tcp(ConnEvent::Syn),
    /// };
    /// let mut line = Vec::new();
    /// event.write_json(&mut line).unwrap();
    /// assert_eq!(line, serde_json::to_vec(&event).unwrap());
    /// ```
    ///
    /// # Errors
    /// Only when a value cannot be serialized, which no event type does (the error is
    /// serde_json's, as an `io::Error`); `out` then holds part of the text.
    pub fn write_json(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let mut number = itoa::Buffer::new();
        out.extend_from_slice(b"{\"frame\":");
        out.extend_from_slice(number.format(self.frame).as_bytes());
        out.extend_from_slice(b",\"frames\":[");
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(number.format(*frame).as_bytes());
        }
        out.extend_from_slice(b"],\"time\":");
        serde_json::to_writer(&mut *out, &self.time)?;
        out.extend_from_slice(b",\"stream\":");
        match self.stream {
            Some(stream) => out.extend_from_slice(number.format(stream).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        for (key, addr) in [
            (&b",\"src\":"[..], &self.src),
            (&b",\"dst\":"[..], &self.dst),
        ] {
            out.extend_from_slice(key);
            match addr {
                // An address's text needs no escaping: digits, dots, colons, brackets, hex
                // letters and `%`.
                Some(addr) => {
                    out.push(b'"');
                    out.extend_from_slice(SocketAddrText::new(addr).as_bytes());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
        }
        if let Some(tunnel) = &self.tunnel {
            out.extend_from_slice(b",\"tunnel\":");
            serde_json::to_writer(&mut *out, tunnel)?;
        }
        write_detail_members(&self.detail, out)
    }
}

/// Appends `,` and the members of the detail's object, then the closing `}`: its object,
/// whose opening brace becomes the comma.
fn write_detail_members(detail: &Detail, out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    serde_json::to_writer(&mut *out, detail)?;
    match out.get(start..) {
        // Every detail has at least its `proto` key; an empty object adds nothing.
        Some(b"{}") => {
            out.truncate(start);
            out.push(b'}');
        }
        Some([b'{', ..]) => out[start] = b',',
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "an event's detail did not serialize as a JSON object",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{analyze_path, AnalyzerConfig};
    use crate::tcp::ConnEvent;
    use crate::test_support::{capture_files, shared_capture_files};
    use crate::timeline::{Collector, Frames};
    use std::collections::BTreeSet;
    use std::path::Path;

    fn assert_same_json(event: &Event) {
        let mut ours = Vec::new();
        event.write_json(&mut ours).unwrap();
        let serdes = serde_json::to_vec(event).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&serdes),
            "event at frame {}",
            event.frame
        );
    }

    /// Every event of every bundled capture and of the shared corpus (TCP, TLS, HTTP, NTLM,
    /// tunnels, IPv6, lists of several frames, errors) writes the text serde writes.
    #[test]
    fn every_event_of_every_capture_writes_serdes_json() {
        let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut files = capture_files(&testdata);
        files.extend(shared_capture_files());
        let mut protos = BTreeSet::new();
        let mut tunnelled = 0;
        for path in files {
            let mut collector = Collector::default();
            let _ = analyze_path(&path, &AnalyzerConfig::default(), &mut collector);
            for event in &collector.events {
                assert_same_json(event);
                protos.insert(event.proto());
                tunnelled += usize::from(event.tunnel.is_some());
            }
        }
        assert_eq!(
            protos.into_iter().collect::<Vec<_>>(),
            ["http", "ntlm", "tcp", "tls"]
        );
        assert!(tunnelled > 0, "no event in a tunnel");
    }

    #[test]
    fn absent_fields_and_odd_values_write_serdes_json() {
        let mut event = Event {
            frame: u64::MAX,
            frames: Frames::from([1, 2, 3, u64::MAX]),
            time: Default::default(),
            stream: None,
            src: None,
            dst: Some("[fe80::1%7]:65535".parse().unwrap()),
            tunnel: Some("proxy \"x\"\n\u{7}:443".to_string()),
            detail: Detail::Tcp(ConnEvent::Syn),
        };
        assert_same_json(&event);
        event.frames = Frames::new();
        event.tunnel = None;
        event.stream = Some(0);
        assert_same_json(&event);
    }
}
