//! The TLS handshake's progress on one connection, folded from its TLS events.

use crate::capture::Timestamp;
use crate::proto::tls::{HandshakeBody, TlsMessage};
use crate::timeline::Event;
use std::net::SocketAddr;

/// The TLS handshake as seen on one connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsProgress {
    /// Frame of the first ClientHello.
    pub client_hello: Option<u64>,
    /// Time of that frame.
    pub client_hello_time: Option<Timestamp>,
    /// SNI offered.
    pub sni: Option<String>,
    /// Frame of the ServerHello.
    pub server_hello: Option<u64>,
    /// Frame of the server's Certificate.
    pub certificate: Option<u64>,
    /// URLs the server's certificates name for revocation or issuers: (url, kind).
    pub cert_urls: Vec<(String, &'static str)>,
    /// Leaf certificate subject CN.
    pub leaf: Option<String>,
    /// The server sent its own certificate alone, and it is not self-signed: its issuer's
    /// common name (or distinguished name). No intermediate certificate came with it, so a
    /// client that does not already hold the issuer's cannot build the chain.
    pub lone_leaf_issuer: Option<String>,
    /// ChangeCipherSpec frames: client, server.
    pub ccs: [Option<u64>; 2],
    /// Encrypted handshake frames (Finished): client, server.
    pub finished: [Option<u64>; 2],
    /// Times of those frames.
    pub finished_time: [Option<Timestamp>; 2],
    /// Application data seen: (first frame, records, bytes) per direction.
    pub app_data: [Option<(u64, u64, u64)>; 2],
    /// Alerts: (frame, from client, level name, description name, meaning, fatal): the first
    /// [`MAX_ALERTS`](super::MAX_ALERTS) other than `close_notify` and the first fatal one
    /// among those even later, and `close_notify` alerts while the list is shorter than that.
    pub alerts: Vec<(u64, bool, String, String, String, bool)>,
    /// Alerts past those, counted only.
    pub alerts_not_kept: u64,
    /// Last TLS event other than application data: (frame, from client, description, time).
    pub last: Option<(u64, bool, String, Timestamp)>,
    /// TLS 1.3 negotiated.
    pub tls13: bool,
}

impl TlsProgress {
    /// Both sides finished the handshake (TLS ≤ 1.2: CCS and encrypted Finished each way;
    /// TLS 1.3: encrypted handshake both ways).
    pub fn completed(&self) -> bool {
        completed(self, 0)
    }

    /// Frame at which the handshake completed (the later Finished).
    pub fn completed_frame(&self) -> Option<u64> {
        if !self.completed() {
            return None;
        }
        match (self.finished[0], self.finished[1]) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Seconds from the first ClientHello to the completed handshake.
    pub fn handshake_secs(&self) -> Option<f64> {
        let hello = self.client_hello_time?;
        let done = self.completed_frame()?;
        let side = if self.finished[0] == Some(done) { 0 } else { 1 };
        let done_time = self.finished_time[side]?;
        Some(done_time.seconds_since(hello).max(0.0))
    }

    /// Whether any application data flowed.
    pub fn has_app_data(&self) -> bool {
        self.app_data.iter().any(|a| a.is_some())
    }
}

/// Whether `p`'s handshake completed, `client_side` being the index of the client in its
/// per-direction arrays.
fn completed(p: &TlsProgress, client_side: usize) -> bool {
    let both = |x: &[Option<u64>; 2]| x[0].is_some() && x[1].is_some();
    if p.tls13 {
        both(&p.finished) || p.app_data.get(client_side).is_some_and(Option::is_some)
    } else {
        both(&p.ccs) && both(&p.finished)
    }
}

/// A TLS connection no TLS detector reads ([`TlsFold::quiet`]), with the server's
/// certificate frame and the URLs it names, if any (the revocation detector reads those).
pub(super) struct QuietTls<'f> {
    pub(super) certificate: Option<(u64, &'f [(String, &'static str)])>,
    /// Frame at which the handshake completed (the later Finished), when known.
    pub(super) handshake_done: Option<u64>,
}

/// The `CN=` of a distinguished name (`C=US, O=Example, CN=Example CA` → `Example CA`), or
/// the whole name when it has none.
/// The server's certificate as one side sent it.
#[derive(Debug, Clone, Default)]
struct CertificateSeen {
    frame: u64,
    leaf: Option<String>,
    lone_leaf_issuer: Option<String>,
    urls: Vec<(String, &'static str)>,
}

/// [`TlsProgress`] while the connection's roles may still change: sides are told apart by
/// sender address (side 0 is the first sender of a TLS message) and turned into client and
/// server once the connection's client is known.
#[derive(Debug, Clone, Default)]
pub(super) struct TlsFold {
    anchor: Option<Option<SocketAddr>>,
    progress: TlsProgress,
    certificates: [Option<CertificateSeen>; 2],
    alert_sides: Vec<usize>,
    last_side: usize,
}

impl TlsFold {
    fn side(&mut self, src: Option<SocketAddr>) -> usize {
        let anchor = *self.anchor.get_or_insert(src);
        usize::from(src != anchor)
    }

    /// Folds one TLS event.
    pub(super) fn add(&mut self, e: &Event, m: &TlsMessage) {
        let side = self.side(e.src);
        let p = &mut self.progress;
        match m {
            TlsMessage::Handshake(h) => match &h.body {
                HandshakeBody::ClientHello(ch) => {
                    if p.client_hello.is_none() {
                        p.client_hello = Some(e.frame);
                        p.client_hello_time = Some(e.time);
                    }
                    if p.sni.is_none() {
                        p.sni = ch.server_name.clone();
                    }
                }
                HandshakeBody::ServerHello(sh) if !sh.hello_retry_request => {
                    p.server_hello = Some(e.frame);
                    p.tls13 = sh.selected_version == 0x0304;
                }
                HandshakeBody::Certificate(chain) => {
                    let seen = self.certificates[side].get_or_insert_with(Default::default);
                    seen.frame = e.frame;
                    seen.leaf = chain
                        .certificates
                        .first()
                        .map(|c| c.subject_common_name.clone().unwrap_or(c.subject.clone()));
                    seen.lone_leaf_issuer = match chain.certificates.as_slice() {
                        [leaf] if !leaf.self_signed => Some(
                            leaf.issuer_common_name
                                .clone()
                                .unwrap_or_else(|| leaf.issuer.clone()),
                        ),
                        _ => None,
                    };
                    for c in &chain.certificates {
                        let urls = c
                            .crl_urls
                            .iter()
                            .map(|u| (u, "CRL distribution point"))
                            .chain(c.ocsp_urls.iter().map(|u| (u, "OCSP responder")))
                            .chain(c.ca_issuers_urls.iter().map(|u| (u, "CA issuers (AIA)")));
                        seen.urls.extend(urls.map(|(u, kind)| (u.clone(), kind)));
                    }
                }
                HandshakeBody::Sslv2ServerHello(_) => {
                    p.server_hello = Some(e.frame);
                }
                _ => {}
            },
            TlsMessage::ChangeCipherSpec { .. } => {
                p.ccs[side].get_or_insert(e.frame);
            }
            TlsMessage::EncryptedHandshake(_) if p.finished[side].is_none() => {
                p.finished[side] = Some(e.frame);
                p.finished_time[side] = Some(e.time);
            }
            TlsMessage::ApplicationData(a) => {
                let slot = &mut p.app_data[side];
                let (first, records, bytes) = slot.unwrap_or((e.frame, 0, 0));
                *slot = Some((first, records + a.records, bytes + a.bytes));
            }
            TlsMessage::Alert(a) => {
                // A peer can send thousands of plaintext alerts: past the cap they are
                // counted, except the first fatal one, which decides whether the handshake
                // ended or stalled. close_notify is never reported (`findings::tls`), so it
                // takes no room from the alerts that are: it is kept only while the list is
                // short.
                let close = a.description_name == "close_notify";
                let reported =
                    |x: &&(u64, bool, String, String, String, bool)| x.3 != "close_notify";
                let keep = if close {
                    p.alerts.len() < super::MAX_ALERTS
                } else {
                    let first_fatal =
                        a.level == 2 && !p.alerts.iter().filter(reported).any(|x| x.5);
                    first_fatal || p.alerts.iter().filter(reported).count() < super::MAX_ALERTS
                };
                if keep {
                    p.alerts.push((
                        e.frame,
                        side == 0,
                        a.level_name.to_string(),
                        a.description_name.to_string(),
                        a.meaning.to_string(),
                        a.level == 2,
                    ));
                    self.alert_sides.push(side);
                } else {
                    p.alerts_not_kept = p.alerts_not_kept.saturating_add(1);
                }
            }
            _ => {}
        }
        if !matches!(m, TlsMessage::ApplicationData(_)) {
            p.last = Some((e.frame, side == 0, e.summary(), e.time));
            self.last_side = side;
        }
    }

    /// Gives back spare capacity (the connection's events have all been seen).
    pub(super) fn compact(&mut self) {
        self.progress.alerts.shrink_to_fit();
        self.alert_sides.shrink_to_fit();
        for seen in self.certificates.iter_mut().flatten() {
            seen.urls.shrink_to_fit();
        }
    }

    /// Whether the TLS detectors would say nothing of this connection, given its client:
    /// no alert but close_notify, and either no ClientHello or a completed handshake that
    /// carried application data (the conditions of `findings::tls`).
    pub(super) fn quiet(&self, client: SocketAddr) -> Option<QuietTls<'_>> {
        let p = &self.progress;
        if p.alerts_not_kept > 0 || p.alerts.iter().any(|a| a.3 != "close_notify") {
            return None;
        }
        let client_side = usize::from(self.anchor.flatten() != Some(client));
        let used = completed(p, client_side) && p.app_data.iter().any(Option::is_some);
        if p.client_hello.is_some() && !used {
            return None;
        }
        let certificate = (self.certificates.get(1 - client_side))
            .and_then(Option::as_ref)
            .filter(|c| !c.urls.is_empty())
            .map(|c| (c.frame, c.urls.as_slice()));
        // As `TlsProgress::completed_frame`: only for a handshake seen to complete.
        let handshake_done = match p.finished {
            [Some(a), Some(b)] => Some(a.max(b)),
            [a, b] => a.or(b),
        }
        .filter(|_| completed(p, client_side));
        Some(QuietTls {
            certificate,
            handshake_done,
        })
    }

    /// The progress with sides named, given the connection's client.
    pub(super) fn finish(self, client: SocketAddr) -> TlsProgress {
        let TlsFold {
            anchor,
            mut progress,
            mut certificates,
            alert_sides,
            last_side,
        } = self;
        // Side 0 is the anchor; the client is side 0 of the result.
        let client_side = usize::from(anchor.flatten() != Some(client));
        let is_client = |side: usize| side == client_side;
        if client_side == 1 {
            progress.ccs.swap(0, 1);
            progress.finished.swap(0, 1);
            progress.finished_time.swap(0, 1);
            progress.app_data.swap(0, 1);
        }
        for (alert, side) in progress.alerts.iter_mut().zip(alert_sides) {
            alert.1 = is_client(side);
        }
        if let Some(last) = progress.last.as_mut() {
            last.1 = is_client(last_side);
        }
        if let Some(cert) = certificates[1 - client_side].take() {
            progress.certificate = Some(cert.frame);
            progress.leaf = cert.leaf;
            progress.lone_leaf_issuer = cert.lone_leaf_issuer;
            progress.cert_urls = cert.urls;
        }
        progress
    }
}
