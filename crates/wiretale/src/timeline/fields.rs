//! Display-filter fields of frames and events: what `wiretale frames -Y` and
//! `wiretale timeline -Y` test.
//!
//! * [`FrameFields`]: one frame, like Wireshark's packet list: its own headers (addresses,
//!   ports, flags, `tcp.stream`, `tcp.len`) plus every protocol message completed in it.
//! * [`EventFields`]: one event: the fields of its message plus the frame-level ones its event
//!   knows (`frame.number` = the frame that completed it, addresses and ports of its sender and
//!   receiver, `tcp.stream`). An NTLM token is part of the HTTP message that carried it, so an
//!   NTLM event also answers that message's `http.*` fields (its *carrier*), as the frame would
//!   in Wireshark: `http.request.method == GET && ntlmssp.messagetype == 3` finds Type 3s.
//!   TLS inside a CONNECT tunnel counts as `http` too (Wireshark shows such frames under the
//!   proxy's HTTP conversation).
//!
//! [`EventFilter`] and [`FrameFilter`] apply a filter to the event stream as it is produced
//! and keep the little state that needs (the carrier; the events of the frame in progress).
//!
//! Limits: UDP frames have no ports here (`udp.port` never matches); a frame's protocols are
//! those of the messages completed in it, and `tls` for a frame in which a TLS record ends
//! (its summary's protocol, application-data records included), so a segment that only
//! carries part of a message or record is `tcp` but not `tls` / `http`, as in Wireshark.
//! Events of a TCP connection event (SYN, FIN, RST) know only the flags that define them.

use super::{Detail, Event, FrameSummary};
use crate::filter::{Field, FieldSource, Filter, Layer, Protocol, Value};
use crate::proto::http::{HeaderBlock, HttpMessage};
use crate::proto::tls::{HandshakeBody, TlsMessage};
use crate::tcp::{ConnEvent, Marker, SegmentAnalysis};
use std::net::{IpAddr, SocketAddr};

/// At most this many events of one frame are kept while waiting for its summary.
pub const MAX_EVENTS_PER_FRAME: usize = 4096;

/// The fields of one frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameFields<'a> {
    frame: &'a FrameSummary,
    events: &'a [Event],
}

impl<'a> FrameFields<'a> {
    /// The frame with the events completed in it (events of other frames are ignored).
    pub fn new(frame: &'a FrameSummary, events: &'a [Event]) -> Self {
        FrameFields { frame, events }
    }

    fn own_events(&self) -> impl Iterator<Item = &'a Event> + 'a {
        let number = self.frame.frame;
        self.events.iter().filter(move |e| e.frame == number)
    }
}

impl FieldSource for FrameFields<'_> {
    fn has_protocol(&self, protocol: Protocol) -> bool {
        let f = self.frame;
        match protocol {
            Protocol::Frame => true,
            Protocol::Ip => matches!(f.src_ip, Some(IpAddr::V4(_))),
            Protocol::Ipv6 => matches!(f.src_ip, Some(IpAddr::V6(_))),
            Protocol::Tcp => f.tcp_flags.is_some() || f.protocol == "TCP",
            // A UDP datagram is the only frame other than TCP with ports (a frame listing
            // names it by what it carries: DNS, NBNS, ...); a later fragment has none.
            Protocol::Udp => f.tcp_flags.is_none() && (f.src_port.is_some() || f.protocol == "UDP"),
            // Application-data records are not events (a run is summarized once): a frame in
            // which one ends says so by its protocol.
            Protocol::Tls if f.protocol == "TLS" => true,
            Protocol::Tls | Protocol::Http | Protocol::Ntlmssp => self
                .own_events()
                .any(|e| event_has_app_protocol(e, protocol)),
        }
    }

    fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>)) {
        let f = self.frame;
        let flag = |bit: u16, out: &mut dyn FnMut(Value<'_>)| {
            if let Some(bits) = f.tcp_flags {
                out(Value::Bool(bits & bit != 0));
            }
        };
        match field {
            Field::FrameNumber => out(Value::Unsigned(f.frame)),
            Field::IpAddr
            | Field::IpSrc
            | Field::IpDst
            | Field::Ipv6Addr
            | Field::Ipv6Src
            | Field::Ipv6Dst => addresses(field, f.src_ip, f.dst_ip, out),
            Field::TcpPort | Field::TcpSrcPort | Field::TcpDstPort if f.tcp_flags.is_some() => {
                ports(field, f.src_port, f.dst_port, out)
            }
            Field::UdpPort | Field::UdpSrcPort | Field::UdpDstPort if f.tcp_flags.is_none() => {
                ports(field, f.src_port, f.dst_port, out)
            }
            Field::TcpPort | Field::TcpSrcPort | Field::TcpDstPort => {}
            Field::TcpStream => {
                if let Some(s) = f.stream {
                    out(Value::Unsigned(s));
                }
            }
            Field::TcpLen => {
                if let (Some(len), Some(_)) = (f.tcp_len, f.tcp_flags) {
                    out(Value::Unsigned(u64::from(len)));
                }
            }
            Field::TcpFlagsSyn => flag(0x002, out),
            Field::TcpFlagsAck => flag(0x010, out),
            Field::TcpFlagsReset => flag(0x004, out),
            Field::TcpFlagsFin => flag(0x001, out),
            Field::UdpPort | Field::UdpSrcPort | Field::UdpDstPort => {}
            field if field.frames_only() => {
                if let Some(analysis) = f.tcp_analysis {
                    segment_analysis_values(&analysis, field, out);
                }
            }
            _ => {
                for e in self.own_events() {
                    message_values(e, field, out);
                }
            }
        }
    }
}

/// The fields of one event.
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'a> {
    event: &'a Event,
    carrier: Option<&'a Event>,
}

impl<'a> EventFields<'a> {
    /// The event on its own.
    pub fn new(event: &'a Event) -> Self {
        EventFields {
            event,
            carrier: None,
        }
    }

    /// For an NTLM event: the HTTP event whose headers carried the token (used for `http.*`
    /// fields when it is the same frame and stream; ignored otherwise).
    pub fn with_carrier(mut self, http: &'a Event) -> Self {
        let carries = matches!(self.event.detail, Detail::Ntlm(_))
            && matches!(http.detail, Detail::Http(_))
            && http.frame == self.event.frame
            && http.stream == self.event.stream;
        if carries {
            self.carrier = Some(http);
        }
        self
    }
}

impl FieldSource for EventFields<'_> {
    fn has_protocol(&self, protocol: Protocol) -> bool {
        let e = self.event;
        match protocol {
            Protocol::Frame => true,
            Protocol::Ip => matches!(e.src, Some(SocketAddr::V4(_))),
            Protocol::Ipv6 => matches!(e.src, Some(SocketAddr::V6(_))),
            Protocol::Tcp => e.stream.is_some(),
            Protocol::Udp => false,
            Protocol::Tls | Protocol::Http | Protocol::Ntlmssp => {
                event_has_app_protocol(e, protocol)
            }
        }
    }

    fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>)) {
        let e = self.event;
        let (src, dst) = (e.src, e.dst);
        match field {
            Field::FrameNumber => out(Value::Unsigned(e.frame)),
            Field::IpAddr
            | Field::IpSrc
            | Field::IpDst
            | Field::Ipv6Addr
            | Field::Ipv6Src
            | Field::Ipv6Dst => addresses(field, src.map(|a| a.ip()), dst.map(|a| a.ip()), out),
            Field::TcpPort | Field::TcpSrcPort | Field::TcpDstPort => {
                if e.stream.is_some() {
                    ports(field, src.map(|a| a.port()), dst.map(|a| a.port()), out);
                }
            }
            Field::TcpStream => {
                if let Some(s) = e.stream {
                    out(Value::Unsigned(s));
                }
            }
            Field::TcpFlagsSyn | Field::TcpFlagsAck | Field::TcpFlagsReset | Field::TcpFlagsFin => {
                if let Detail::Tcp(c) = &e.detail {
                    if let Some(v) = connection_flag(c, field) {
                        out(Value::Bool(v));
                    }
                }
            }
            Field::TcpLen | Field::UdpPort | Field::UdpSrcPort | Field::UdpDstPort => {}
            // A frame's judgement: an event never has it (and `timeline`/`story` refuse it).
            field if field.frames_only() => {}
            // Every `http.*` field of an NTLM event is its carrier's.
            field if field.protocol() == Protocol::Http => {
                message_values(self.carrier.unwrap_or(e), field, out);
            }
            _ => message_values(e, field, out),
        }
    }
}

/// Values of the `tcp.analysis.*` fields from a frame's analysis, as tshark sets them: a label
/// is present when its marker is set (`tcp.analysis.flags` when any is,
/// `tcp.analysis.retransmission` for the fast and spurious kinds too), the duplicate-ACK
/// numbers when the frame is a duplicate ACK.
fn segment_analysis_values(
    analysis: &SegmentAnalysis,
    field: Field,
    out: &mut dyn FnMut(Value<'_>),
) {
    match field {
        Field::TcpAnalysisFlags if !analysis.is_empty() => out(Value::Present),
        Field::TcpAnalysisDuplicateAckNum => {
            if let Some(dup) = analysis.dup_ack() {
                out(Value::Unsigned(u64::from(dup.number)));
            }
        }
        Field::TcpAnalysisDuplicateAckFrame => {
            if let Some(dup) = analysis.dup_ack() {
                out(Value::Unsigned(dup.frame));
            }
        }
        // tshark also raises this label on fast and spurious retransmissions.
        Field::TcpAnalysisRetransmission => {
            let retransmitted = [
                Marker::Retransmission,
                Marker::FastRetransmission,
                Marker::SpuriousRetransmission,
            ];
            if retransmitted.into_iter().any(|m| analysis.has(m)) {
                out(Value::Present);
            }
        }
        _ => {
            if field.tcp_marker().is_some_and(|m| analysis.has(m)) {
                out(Value::Present);
            }
        }
    }
}

/// The value of a flag field for a connection event, where the event says it: a SYN has SYN
/// and no ACK, a SYN-ACK both, a FIN has FIN and no SYN/RST, a RST has RST and no SYN/FIN.
fn connection_flag(event: &ConnEvent, field: Field) -> Option<bool> {
    let (syn, ack, rst, fin) = match event {
        ConnEvent::Syn => (Some(true), Some(false), Some(false), Some(false)),
        ConnEvent::SynAck => (Some(true), Some(true), Some(false), Some(false)),
        ConnEvent::Fin { .. } => (Some(false), None, Some(false), Some(true)),
        ConnEvent::Rst { .. } => (Some(false), None, Some(true), Some(false)),
        _ => (None, None, None, None),
    };
    match field {
        Field::TcpFlagsSyn => syn,
        Field::TcpFlagsAck => ack,
        Field::TcpFlagsReset => rst,
        Field::TcpFlagsFin => fin,
        _ => None,
    }
}

fn event_has_app_protocol(e: &Event, protocol: Protocol) -> bool {
    match (&e.detail, protocol) {
        (Detail::Tls(m), Protocol::Tls) => !matches!(m, TlsMessage::NotTls(_)),
        (Detail::Tls(m), Protocol::Http) => {
            e.tunnel.is_some() && !matches!(m, TlsMessage::NotTls(_))
        }
        (Detail::Http(_), Protocol::Http) => true,
        (Detail::Ntlm(_), Protocol::Http) => true,
        (Detail::Ntlm(n), Protocol::Ntlmssp) => n.message_type.is_some(),
        _ => false,
    }
}

fn addresses(
    field: Field,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    out: &mut dyn FnMut(Value<'_>),
) {
    let want_v4 = matches!(field, Field::IpAddr | Field::IpSrc | Field::IpDst);
    let of_family = |a: Option<IpAddr>| a.filter(|a| a.is_ipv4() == want_v4);
    let (src, dst) = (of_family(src), of_family(dst));
    let (take_src, take_dst) = match field {
        Field::IpAddr | Field::Ipv6Addr => (true, true),
        Field::IpSrc | Field::Ipv6Src => (true, false),
        _ => (false, true),
    };
    if let (true, Some(a)) = (take_src, src) {
        out(Value::Addr(a));
    }
    if let (true, Some(a)) = (take_dst, dst) {
        out(Value::Addr(a));
    }
}

fn ports(field: Field, src: Option<u16>, dst: Option<u16>, out: &mut dyn FnMut(Value<'_>)) {
    let (take_src, take_dst) = match field {
        Field::TcpPort | Field::UdpPort => (true, true),
        Field::TcpSrcPort | Field::UdpSrcPort => (true, false),
        _ => (false, true),
    };
    if let (true, Some(p)) = (take_src, src) {
        out(Value::Unsigned(u64::from(p)));
    }
    if let (true, Some(p)) = (take_dst, dst) {
        out(Value::Unsigned(u64::from(p)));
    }
}

/// Values of TLS, HTTP and NTLM fields carried by one event's message.
fn message_values(e: &Event, field: Field, out: &mut dyn FnMut(Value<'_>)) {
    match &e.detail {
        Detail::Tls(m) => match (m, field) {
            (TlsMessage::Handshake(h), Field::TlsHandshakeType) => {
                out(Value::Unsigned(u64::from(h.handshake_type)))
            }
            (TlsMessage::HandshakeTooLarge(h), Field::TlsHandshakeType) => {
                out(Value::Unsigned(u64::from(h.handshake_type)))
            }
            (TlsMessage::Handshake(h), Field::TlsServerName) => {
                if let HandshakeBody::ClientHello(ch) = &h.body {
                    if let Some(name) = &ch.server_name {
                        out(Value::Str(name));
                    }
                }
            }
            (TlsMessage::Alert(a), Field::TlsAlertDescription) => {
                out(Value::Unsigned(u64::from(a.description)))
            }
            (TlsMessage::Handshake(h), Field::TlsHandshakeVersion) => match &h.body {
                HandshakeBody::ClientHello(ch) => {
                    out(Value::Unsigned(u64::from(ch.legacy_version)))
                }
                HandshakeBody::ServerHello(sh) => {
                    out(Value::Unsigned(u64::from(sh.legacy_version)))
                }
                HandshakeBody::Sslv2ServerHello(sh) => out(Value::Unsigned(u64::from(sh.version))),
                _ => {}
            },
            _ => {}
        },
        Detail::Http(m) => match (m.as_ref(), field) {
            (HttpMessage::Request(_), Field::HttpRequest) => out(Value::Bool(true)),
            (HttpMessage::Response(_), Field::HttpResponse) => out(Value::Bool(true)),
            (HttpMessage::Request(r), Field::HttpRequestMethod) => out(Value::Str(&r.head.method)),
            (HttpMessage::Request(r), Field::HttpRequestUri) => out(Value::Str(&r.head.target)),
            (HttpMessage::Request(r), Field::HttpHost) => {
                if let Some(host) = r.head.headers.get("Host") {
                    out(Value::Str(host));
                }
            }
            (HttpMessage::Response(r), Field::HttpResponseCode) => {
                out(Value::Unsigned(u64::from(r.head.status)))
            }
            (HttpMessage::Request(r), Field::HttpRequestVersion) => {
                out(Value::Str(r.head.version.as_str()))
            }
            (HttpMessage::Response(r), Field::HttpResponseVersion) => {
                out(Value::Str(r.head.version.as_str()))
            }
            (HttpMessage::Request(r), _) => header_values(&r.head.headers, field, out),
            (HttpMessage::Response(r), _) => header_values(&r.head.headers, field, out),
            _ => {}
        },
        Detail::Ntlm(n) => match field {
            Field::NtlmsspMessageType => {
                if let Some(t) = n.message_type {
                    out(Value::Unsigned(u64::from(t)));
                }
            }
            // tshark names an empty string of an AUTHENTICATE message `NULL`.
            Field::NtlmsspAuthUsername | Field::NtlmsspAuthDomain | Field::NtlmsspAuthHostname
                if n.message_type == Some(3) =>
            {
                let name = match field {
                    Field::NtlmsspAuthUsername => &n.user,
                    Field::NtlmsspAuthDomain => &n.domain,
                    _ => &n.workstation,
                };
                match name.as_deref() {
                    None | Some("") => out(Value::Str("NULL")),
                    Some(name) => out(Value::Str(name)),
                }
            }
            _ => {}
        },
        Detail::Tcp(_) => {}
    }
}

/// Values of the header fields (`http.connection`, `http.authorization`, ...): each header of
/// that name, as kept (credentials redacted unless secrets are shown).
fn header_values(headers: &HeaderBlock, field: Field, out: &mut dyn FnMut(Value<'_>)) {
    let Some(name) = field.http_header() else {
        return;
    };
    for value in headers.values(name) {
        if field == Field::HttpContentLength {
            // tshark's number: only a header that is one.
            if let Ok(n) = value.parse::<u64>() {
                out(Value::Unsigned(n));
            }
        } else {
            out(Value::Str(value));
        }
    }
}

/// Applies a filter to events as they are produced (see [`EventFields`]).
#[derive(Debug, Clone)]
pub struct EventFilter {
    filter: Filter,
    needs_carrier: bool,
    carrier: Option<Event>,
}

impl EventFilter {
    /// Wraps a parsed filter.
    pub fn new(filter: Filter) -> Self {
        let needs_carrier = filter
            .fields()
            .iter()
            .any(|f| f.protocol() == Protocol::Http);
        EventFilter {
            filter,
            needs_carrier,
            carrier: None,
        }
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Whether `event` passes. Call it for every event, in the order they are produced: an
    /// HTTP event is remembered as the carrier of the NTLM events that follow it.
    pub fn matches(&mut self, event: &Event) -> bool {
        let fields = match &self.carrier {
            Some(carrier) => EventFields::new(event).with_carrier(carrier),
            None => EventFields::new(event),
        };
        let pass = self.filter.matches(&fields);
        if self.needs_carrier && matches!(event.detail, Detail::Http(_)) {
            self.carrier = Some(event.clone());
        }
        pass
    }
}

/// Applies a filter to frames as they are produced: hand it every event
/// ([`FrameFilter::note_event`]) and then ask about the frame summary
/// ([`FrameFilter::matches`]); the pipeline reports a frame's events before its summary.
#[derive(Debug, Clone)]
pub struct FrameFilter {
    filter: Filter,
    needs_events: bool,
    pending: Vec<Event>,
}

impl FrameFilter {
    /// Wraps a parsed filter.
    pub fn new(filter: Filter) -> Self {
        let needs_events = filter.layer() == Layer::Application;
        FrameFilter {
            filter,
            needs_events,
            pending: Vec::new(),
        }
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Keeps `event` for the frame in progress (only when the filter looks at messages).
    pub fn note_event(&mut self, event: &Event) {
        if self.needs_events && self.pending.len() < MAX_EVENTS_PER_FRAME {
            self.pending.push(event.clone());
        }
    }

    /// Whether `frame` passes, judged with the events noted since the previous frame.
    pub fn matches(&mut self, frame: &FrameSummary) -> bool {
        let pass = self.filter.matches(&FrameFields::new(frame, &self.pending));
        self.pending.clear();
        pass
    }
}

#[cfg(test)]
mod tests;
