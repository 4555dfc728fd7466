//! One-line human descriptions of events (the Info column of a timeline).

use super::{Detail, Event};
use crate::proto::http::HttpMessage;
use crate::proto::tls::{HandshakeBody, TlsMessage};
use crate::tcp::{ConnEvent, Dir, GapCause};
use std::fmt::Write as _;

impl Event {
    /// A one-line description, e.g. `HTTP/1.1 407 Proxy Authentication Required`.
    pub fn summary(&self) -> String {
        match &self.detail {
            Detail::Tcp(e) => tcp_summary(e),
            Detail::Tls(m) => tls_summary(m),
            Detail::Http(m) => http_summary(m),
            Detail::Ntlm(n) => n.summary.clone(),
        }
    }
}

fn side(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "client",
        Dir::ToClient => "server",
    }
}

fn tcp_summary(e: &ConnEvent) -> String {
    match e {
        ConnEvent::Syn => "SYN (starts 3-way handshake)".into(),
        ConnEvent::SynAck => "SYN-ACK".into(),
        ConnEvent::Established { handshake_secs } => match handshake_secs {
            Some(s) => format!("handshake complete ({:.1} ms)", s * 1000.0),
            None => "handshake complete".into(),
        },
        ConnEvent::Fin { dir } => format!("FIN: {} closes its side", side(*dir)),
        ConnEvent::Rst { dir, idle_secs } => {
            format!("RST by {} after {idle_secs:.1} s idle", side(*dir))
        }
        ConnEvent::Gap {
            dir, len, cause, ..
        } => {
            let why = match cause {
                GapCause::AckedUnseen => "acknowledged but not captured",
                GapCause::NeverFilled => "never captured",
                GapCause::AtEnd => "missing at the end",
                GapCause::Snaplen => "cut by the snapshot length",
                GapCause::BufferCap => "dropped at the buffer cap",
                GapCause::OutOfOrderCap => "given up at the out-of-order cap",
            };
            format!("{len} bytes from {} {why}", side(*dir))
        }
        ConnEvent::OverlapConflict { dir, offset } => format!(
            "retransmitted bytes from {} differ from the first copy (stream offset {offset})",
            side(*dir)
        ),
        ConnEvent::OpenAtEnd {
            idle_secs,
            unanswered: Some(u),
        } => format!(
            "{} at end of capture ({idle_secs:.1} s idle)",
            unanswered_syns(u)
        ),
        ConnEvent::OpenAtEnd { idle_secs, .. } => {
            format!("still open at end of capture ({idle_secs:.1} s idle)")
        }
        ConnEvent::Evicted => "dropped from the flow table (cap reached)".into(),
        ConnEvent::ZeroWindow { dir } => zero_window(side(*dir), side(dir.flip())),
        ConnEvent::WindowReopened {
            dir,
            closed_secs,
            probes,
        } => window_reopened(side(*dir), side(dir.flip()), *closed_secs, *probes),
        ConnEvent::Data { bytes, preview, .. } => data_run(*bytes, preview.as_deref()),
    }
}

/// `Data: 28 bytes, not decoded: "220 mail.example.com ESMTP"`: what a [`ConnEvent::Data`]
/// run carried (like `Application Data: …` for TLS; the sender is the event's source).
pub(crate) fn data_run(bytes: u64, preview: Option<&str>) -> String {
    let mut text = String::with_capacity(48);
    text.push_str("Data: ");
    push_decimal(&mut text, bytes);
    text.push_str(if bytes == 1 { " byte" } else { " bytes" });
    text.push_str(", not decoded");
    if let Some(preview) = preview {
        let _ = write!(text, ": {preview:?}");
    }
    text
}

/// `client's receive window is full (zero window): server must wait`: what a
/// [`ConnEvent::ZeroWindow`] from `sender` to `receiver` means (role names, or the story's
/// placeholders for them).
pub(crate) fn zero_window(sender: &str, receiver: &str) -> String {
    format!("{sender}'s receive window is full (zero window): {receiver} must wait")
}

/// `client reopens its receive window after 10 ms`, with the probes `receiver` sent
/// meanwhile when there were any: what a [`ConnEvent::WindowReopened`] means.
pub(crate) fn window_reopened(
    sender: &str,
    receiver: &str,
    closed_secs: f64,
    probes: u32,
) -> String {
    let mut text = format!(
        "{sender} reopens its receive window after {}",
        short_duration(closed_secs)
    );
    if probes > 0 {
        let _ = write!(
            text,
            " ({probes} zero-window probe{} from {receiver})",
            if probes == 1 { "" } else { "s" }
        );
    }
    text
}

/// A short wait for people: `3 ms` below one second (where tenths of a second would read
/// "0.0 s"), `30.1 s` above.
pub(crate) fn short_duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// "SYN never answered", with how many were sent over how long when more than one.
pub(crate) fn unanswered_syns(u: &crate::tcp::UnansweredSyns) -> String {
    if u.syns > 1 {
        format!(
            "SYN never answered ({} sent over {:.1} s)",
            u.syns, u.over_secs
        )
    } else {
        "SYN never answered".to_string()
    }
}

/// Bytes reserved after a handshake message's title for its details.
const HANDSHAKE_DETAIL_ROOM: usize = 48;

fn tls_summary(m: &TlsMessage) -> String {
    match m {
        // The commonest TLS summaries, built without `format!` (see `http_summary`).
        TlsMessage::Handshake(h) => {
            // Room for what the commonest bodies append (` (TLS 1.2, SNI host)`), so the
            // summary is allocated once rather than grown twice.
            let mut s = String::with_capacity(h.handshake_name.len() + HANDSHAKE_DETAIL_ROOM);
            push_title(&mut s, h.handshake_name);
            match &h.body {
                HandshakeBody::ClientHello(ch) => {
                    s.push_str(" (");
                    s.push_str(ch.highest_version_name);
                    if let Some(sni) = &ch.server_name {
                        s.push_str(", SNI ");
                        s.push_str(sni);
                    }
                    s.push(')');
                }
                HandshakeBody::ServerHello(sh) => {
                    s.push_str(" (");
                    s.push_str(sh.selected_version_name);
                    s.push_str(", ");
                    s.push_str(sh.cipher_suite.name.unwrap_or("unknown cipher"));
                    s.push(')');
                }
                HandshakeBody::Certificate(chain) => {
                    s.push_str(" (");
                    push_decimal(&mut s, chain.count as u64);
                    s.push_str(" in chain");
                    if let Some(leaf) = chain.certificates.first() {
                        s.push_str(", ");
                        s.push_str(leaf.subject_common_name.as_ref().unwrap_or(&leaf.subject));
                    }
                    s.push(')');
                }
                _ => {}
            }
            s
        }
        TlsMessage::EncryptedHandshake(_) => "Encrypted Handshake Message".into(),
        TlsMessage::ChangeCipherSpec { .. } => "Change Cipher Spec".into(),
        TlsMessage::Alert(a) => format!(
            "Alert ({}): {} ({}) — {}",
            a.level_name, a.description_name, a.description, a.meaning
        ),
        TlsMessage::EncryptedAlert(_) => "Encrypted Alert".into(),
        TlsMessage::ApplicationData(a) => {
            let mut s = String::with_capacity(64);
            s.push_str("Application Data: ");
            push_decimal(&mut s, a.records);
            s.push_str(if a.records == 1 {
                " record, "
            } else {
                " records, "
            });
            push_decimal(&mut s, a.bytes);
            s.push_str(" bytes");
            s
        }
        TlsMessage::Heartbeat(_) => "Heartbeat".into(),
        TlsMessage::HandshakeTooLarge(h) => format!(
            "{} of {} bytes exceeds the {}-byte cap (not decoded)",
            title(h.handshake_name),
            h.declared_length,
            h.cap
        ),
        TlsMessage::Truncated(t) => format!(
            "truncated {} ({} of {} bytes, {})",
            t.what, t.available, t.expected, t.cause
        ),
        TlsMessage::Resync(r) => format!(
            "resynchronised after {} bytes ({})",
            r.skipped_bytes, r.reason
        ),
        TlsMessage::NotTls(n) => match &n.text_preview {
            Some(text) => format!("not TLS ({}): {text:?}", n.reason.replace('_', " ")),
            None => format!(
                "not TLS ({}): bytes {}",
                n.reason.replace('_', " "),
                n.first_bytes
            ),
        },
    }
}

/// `client_hello` → `Client Hello` (written into one string: every TLS message's summary
/// has one).
pub(crate) fn title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_title(&mut out, name);
    out
}

/// [`title`], appended to `out`: each `_` a space, the first letter of each word upper
/// case. Words are found by looking for the `_` byte and copied whole: splitting on the
/// character (a `memchr` search per word) and copying character by character each cost
/// more than the rest of a handshake message's summary.
fn push_title(out: &mut String, name: &str) {
    let mut rest = name;
    loop {
        // `_` is ASCII: where its byte is, a character boundary is.
        let end = rest.bytes().position(|b| b == b'_');
        let word = end.map_or(rest, |end| rest.get(..end).unwrap_or_default());
        let mut chars = word.chars();
        match chars.next() {
            // The names are ASCII: the Unicode case mapping (a table search) only for
            // others.
            Some(first) if first.is_ascii() => out.push(first.to_ascii_uppercase()),
            Some(first) => out.extend(first.to_uppercase()),
            None => {}
        }
        out.push_str(chars.as_str());
        match end.and_then(|end| rest.get(end + 1..)) {
            Some(next) => {
                out.push(' ');
                rest = next;
            }
            None => return,
        }
    }
}

/// `n` in decimal (what `{}` writes), without the formatting machinery.
pub(crate) fn push_decimal(s: &mut String, n: impl Into<u64>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest: u64 = n.into();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        s.push(char::from(d));
    }
}

/// ` with Basic credentials for user "test"` (`, password "…"` too when secrets are shown),
/// ` with Bearer credentials`: what a request authenticated with. NTLM and Negotiate tokens
/// are told by their own events. Names are quoted and escaped: they come from the capture.
fn push_credentials(s: &mut String, credentials: Option<&crate::proto::http::Credentials>) {
    use crate::proto::http::AuthScheme;
    let Some(c) = credentials else { return };
    match (c.kind, &c.basic) {
        (AuthScheme::Ntlm | AuthScheme::Negotiate, _) => {}
        (AuthScheme::Basic, Some(basic)) => {
            let _ = write!(s, " with Basic credentials for user {:?}", basic.user);
            if !basic.password_redacted {
                let _ = write!(s, ", password {:?}", basic.password.expose());
            }
        }
        _ => {
            s.push_str(" with ");
            s.push_str(&c.scheme.escape_debug().to_string());
            s.push_str(" credentials");
        }
    }
}

/// ` (head cut short by FIN)` for a message that did not arrive whole: its start line alone
/// reads like a normal message.
fn push_cut_short(s: &mut String, completion: &crate::proto::http::Completion) {
    use crate::proto::http::{Completion, MessagePart, TruncationCause};
    if let Completion::Truncated { part, cause } = completion {
        s.push_str(match part {
            MessagePart::Head => " (head cut short by ",
            MessagePart::Body => " (body cut short by ",
        });
        s.push_str(match cause {
            TruncationCause::Fin => "FIN)",
            TruncationCause::Reset => "a reset)",
            TruncationCause::CaptureEnd => "the end of the capture)",
            TruncationCause::Gap => "missing bytes)",
        });
    }
}

fn http_summary(m: &HttpMessage) -> String {
    match m {
        // The commonest summaries of a capture, built without `format!`: its machinery
        // costs more than the copying (a request and a response per exchange).
        HttpMessage::Request(r) => {
            let version = r.head.version.as_str();
            let mut s = String::with_capacity(
                r.head.method.len() + r.head.target.len() + version.len() + 2,
            );
            for (i, part) in [&r.head.method, &r.head.target, version].iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(part);
            }
            push_credentials(&mut s, r.head.headers.credentials.first());
            push_cut_short(&mut s, &r.completion);
            s
        }
        HttpMessage::Response(r) => {
            let mut s = String::with_capacity(64);
            s.push_str(r.head.version.as_str());
            s.push(' ');
            push_decimal(&mut s, r.head.status);
            s.push(' ');
            s.push_str(&r.head.reason);
            for (i, c) in r.head.headers.challenges.iter().enumerate() {
                s.push_str(if i == 0 { " (offers " } else { ", " });
                s.push_str(&c.scheme);
            }
            if !r.head.headers.challenges.is_empty() {
                s.push(')');
            }
            push_cut_short(&mut s, &r.completion);
            s
        }
        HttpMessage::TunnelEstablished { authority, .. } => {
            format!("tunnel to {authority} established")
        }
        HttpMessage::ProtocolSwitched { upgrade, .. } => format!(
            "switched protocols to {}",
            upgrade.as_deref().unwrap_or("?")
        ),
        HttpMessage::ConnectionClosedWithOutstandingRequest {
            method,
            target,
            server_end,
            ..
        } => match m.unanswered_closed_by() {
            Some(first) => format!(
                "connection closed by {} with {method} {target} unanswered",
                side(first)
            ),
            None if *server_end == crate::proto::EndReason::CaptureEnd => {
                format!("capture ended with {method} {target} unanswered")
            }
            None => format!("connection reset with {method} {target} unanswered"),
        },
        HttpMessage::DecodeError { message, .. } => format!("HTTP decode error: {message}"),
        HttpMessage::Resynchronized {
            discarded, after, ..
        } => {
            use crate::proto::http::ResyncCause;
            // Said as what happened: joining a connection mid-way loses nothing of what was
            // sent after the capture began, and "after 0 bytes" read as loss.
            match (after, *discarded) {
                (ResyncCause::MidStream, 0) => {
                    "HTTP picked up mid-connection: a message starts here".to_string()
                }
                (ResyncCause::MidStream, n) => format!(
                    "HTTP picked up mid-connection: {n} bytes of an earlier message skipped"
                ),
                (ResyncCause::Gap, 0) => {
                    "HTTP found a message start again after missing bytes".to_string()
                }
                (ResyncCause::Gap, n) => format!(
                    "HTTP found a message start again after missing bytes and {n} bytes skipped"
                ),
                (ResyncCause::Error, n) => {
                    format!("HTTP resynchronised after {n} undecodable bytes")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_are_written_like_the_standard_library() {
        for n in [0u16, 7, 10, 99, 100, 407, 999, 1000, 65535] {
            let mut s = String::from("x");
            super::push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
        let mut s = String::new();
        super::push_decimal(&mut s, u64::MAX);
        assert_eq!(s, u64::MAX.to_string());
    }

    #[test]
    fn titles() {
        assert_eq!(super::title("client_hello"), "Client Hello");
        assert_eq!(super::title("server_hello_done"), "Server Hello Done");
        assert_eq!(super::title("a__b_"), "A  B ");
        assert_eq!(super::title("_x"), " X");
        assert_eq!(super::title("ärger_ß"), "Ärger SS");
        assert_eq!(super::title(""), "");
    }
}
