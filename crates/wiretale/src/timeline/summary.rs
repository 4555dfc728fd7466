//! One-line human descriptions of events (the Info column of a timeline).

use super::{Detail, Event};
use crate::proto::http::{HttpMessage, HttpVersion};
use crate::proto::tls::{HandshakeBody, TlsMessage};
use crate::tcp::{ConnEvent, Dir, GapCause};

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
            };
            format!("{len} bytes from {} {why}", side(*dir))
        }
        ConnEvent::OverlapConflict { dir, offset } => format!(
            "retransmitted bytes from {} differ from the first copy (stream offset {offset})",
            side(*dir)
        ),
        ConnEvent::OpenAtEnd { idle_secs } => {
            format!("still open at end of capture ({idle_secs:.1} s idle)")
        }
        ConnEvent::Evicted => "dropped from the flow table (cap reached)".into(),
    }
}

fn tls_summary(m: &TlsMessage) -> String {
    match m {
        TlsMessage::Handshake(h) => {
            let name = title(h.handshake_name);
            match &h.body {
                HandshakeBody::ClientHello(ch) => {
                    let mut s = format!("{name} ({}", ch.highest_version_name);
                    if let Some(sni) = &ch.server_name {
                        s.push_str(&format!(", SNI {sni}"));
                    }
                    s.push(')');
                    s
                }
                HandshakeBody::ServerHello(sh) => format!(
                    "{name} ({}, {})",
                    sh.selected_version_name,
                    sh.cipher_suite.name.unwrap_or("unknown cipher")
                ),
                HandshakeBody::Certificate(chain) => {
                    let leaf = chain
                        .certificates
                        .first()
                        .map(|c| c.subject_common_name.clone().unwrap_or(c.subject.clone()));
                    match leaf {
                        Some(cn) => format!("{name} ({} in chain, {cn})", chain.count),
                        None => format!("{name} ({} in chain)", chain.count),
                    }
                }
                _ => name,
            }
        }
        TlsMessage::EncryptedHandshake(_) => "Encrypted Handshake Message".into(),
        TlsMessage::ChangeCipherSpec { .. } => "Change Cipher Spec".into(),
        TlsMessage::Alert(a) => format!(
            "Alert ({}): {} ({}) — {}",
            a.level_name, a.description_name, a.description, a.meaning
        ),
        TlsMessage::EncryptedAlert(_) => "Encrypted Alert".into(),
        TlsMessage::ApplicationData(a) => {
            format!("Application Data: {} records, {} bytes", a.records, a.bytes)
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

/// `client_hello` → `Client Hello`.
fn title(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn version(v: HttpVersion) -> &'static str {
    match v {
        HttpVersion::Http10 => "HTTP/1.0",
        HttpVersion::Http11 => "HTTP/1.1",
    }
}

fn http_summary(m: &HttpMessage) -> String {
    match m {
        HttpMessage::Request(r) => {
            format!(
                "{} {} {}",
                r.head.method,
                r.head.target,
                version(r.head.version)
            )
        }
        HttpMessage::Response(r) => {
            let mut s = format!(
                "{} {} {}",
                version(r.head.version),
                r.head.status,
                r.head.reason
            );
            let schemes: Vec<&str> = r
                .head
                .headers
                .challenges
                .iter()
                .map(|c| c.scheme.as_str())
                .collect();
            if !schemes.is_empty() {
                s.push_str(&format!(" (offers {})", schemes.join(", ")));
            }
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
            first_to_close,
            ..
        } => format!(
            "connection closed by {} with {method} {target} unanswered",
            side(*first_to_close)
        ),
        HttpMessage::DecodeError { message, .. } => format!("HTTP decode error: {message}"),
        HttpMessage::Resynchronized { discarded, .. } => {
            format!("HTTP resynchronised after {discarded} bytes")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles() {
        assert_eq!(super::title("client_hello"), "Client Hello");
        assert_eq!(super::title("server_hello_done"), "Server Hello Done");
    }
}
