//! The protocols and fields a filter can name, with their Wireshark names, value types and the
//! layer of the pipeline that can supply them.

use core::fmt;

use crate::tcp::Marker;

/// How much of the pipeline must run before a field or protocol is known.
///
/// Ordered from cheapest to most expensive, so the layer a filter needs is the maximum over the
/// names it uses (see [`Filter::layer`](super::Filter::layer)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Known from one frame's own headers (frame, IPv4/IPv6, TCP/UDP header fields).
    Packet,
    /// Needs the TCP flow table (e.g. `tcp.stream`), but no reassembly.
    Connection,
    /// Needs reassembled TCP payload and the TLS / HTTP / NTLM decoders.
    Application,
}

/// A protocol name that can be used on its own as a presence test (`tcp`, `http`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `frame`: present in every frame.
    Frame,
    /// `ip`: IPv4.
    Ip,
    /// `ipv6`.
    Ipv6,
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `tls` (the deprecated name `ssl` is accepted as an alias).
    Tls,
    /// `http`: HTTP/1.x.
    Http,
    /// `ntlmssp`: NTLM authentication messages.
    Ntlmssp,
}

impl Protocol {
    /// Every protocol, in declaration order.
    pub const ALL: [Protocol; 8] = [
        Protocol::Frame,
        Protocol::Ip,
        Protocol::Ipv6,
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Tls,
        Protocol::Http,
        Protocol::Ntlmssp,
    ];

    /// The Wireshark filter name (`"tcp"`, `"ntlmssp"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Frame => "frame",
            Protocol::Ip => "ip",
            Protocol::Ipv6 => "ipv6",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Tls => "tls",
            Protocol::Http => "http",
            Protocol::Ntlmssp => "ntlmssp",
        }
    }

    /// Looks a protocol up by its filter name (case-sensitive, as in Wireshark). `ssl` is
    /// accepted for `tls`.
    pub fn from_name(name: &str) -> Option<Protocol> {
        if name == "ssl" {
            return Some(Protocol::Tls);
        }
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The pipeline layer that can tell whether this protocol is present.
    pub fn layer(self) -> Layer {
        match self {
            Protocol::Frame | Protocol::Ip | Protocol::Ipv6 | Protocol::Tcp | Protocol::Udp => {
                Layer::Packet
            }
            Protocol::Tls | Protocol::Http | Protocol::Ntlmssp => Layer::Application,
        }
    }

    fn index(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The type of a field's values, which decides which literals and operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// An unsigned integer no greater than `max`.
    Unsigned {
        /// The largest value the field can hold (e.g. 65535 for a 16-bit port).
        max: u64,
    },
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A character string.
    String,
    /// A Boolean (flag) value.
    Boolean,
    /// No value, only presence (Wireshark's `FT_NONE`, e.g. `tcp.analysis.retransmission`):
    /// tested alone, never compared.
    Label,
}

impl FieldType {
    /// The name Wireshark uses for this type in its error messages.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::Unsigned { max } if max <= u64::from(u8::MAX) => "Unsigned integer (8 bits)",
            FieldType::Unsigned { max } if max <= u64::from(u16::MAX) => {
                "Unsigned integer (16 bits)"
            }
            FieldType::Unsigned { max } if max <= u64::from(u32::MAX) => {
                "Unsigned integer (32 bits)"
            }
            FieldType::Unsigned { .. } => "Unsigned integer (64 bits)",
            FieldType::Ipv4 => "IPv4 address",
            FieldType::Ipv6 => "IPv6 address",
            FieldType::String => "Character string",
            FieldType::Boolean => "Boolean",
            FieldType::Label => "Label",
        }
    }

    /// Whether `<`, `<=`, `>`, `>=` and ranges in sets make sense for this type.
    pub fn is_ordered(self) -> bool {
        !matches!(self, FieldType::Boolean | FieldType::Label)
    }
}

/// A field a filter can test or compare.
///
/// A frame may carry a field several times (`ip.addr` is both the source and the destination;
/// `tcp.port` both ports; a TCP segment can complete several TLS handshake messages), which is
/// why a [`FieldSource`](super::FieldSource) reports a list of values per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `frame.number`: 1-based frame number in the capture.
    FrameNumber,
    /// `ip.addr`: IPv4 source and destination (two values).
    IpAddr,
    /// `ip.src`: IPv4 source address.
    IpSrc,
    /// `ip.dst`: IPv4 destination address.
    IpDst,
    /// `ipv6.addr`: IPv6 source and destination (two values).
    Ipv6Addr,
    /// `ipv6.src`: IPv6 source address.
    Ipv6Src,
    /// `ipv6.dst`: IPv6 destination address.
    Ipv6Dst,
    /// `tcp.port`: TCP source and destination ports (two values).
    TcpPort,
    /// `tcp.srcport`.
    TcpSrcPort,
    /// `tcp.dstport`.
    TcpDstPort,
    /// `tcp.stream`: index of the TCP connection in the capture (0-based, as in Wireshark).
    TcpStream,
    /// `tcp.len`: TCP payload length of the segment.
    TcpLen,
    /// `tcp.flags.syn`.
    TcpFlagsSyn,
    /// `tcp.flags.ack`.
    TcpFlagsAck,
    /// `tcp.flags.reset`.
    TcpFlagsReset,
    /// `tcp.flags.fin`.
    TcpFlagsFin,
    /// `tcp.analysis.flags`: any of tshark's TCP analysis markers (the `tcp.analysis.*`
    /// labels below). Like them, known of frames only (see [`Field::frames_only`]).
    TcpAnalysisFlags,
    /// `tcp.analysis.retransmission` (`[TCP Retransmission]`, and, as in tshark, the fast
    /// and spurious retransmissions too).
    TcpAnalysisRetransmission,
    /// `tcp.analysis.fast_retransmission` (`[TCP Fast Retransmission]`).
    TcpAnalysisFastRetransmission,
    /// `tcp.analysis.spurious_retransmission` (`[TCP Spurious Retransmission]`).
    TcpAnalysisSpuriousRetransmission,
    /// `tcp.analysis.out_of_order` (`[TCP Out-Of-Order]`).
    TcpAnalysisOutOfOrder,
    /// `tcp.analysis.lost_segment` (`[TCP Previous segment not captured]`).
    TcpAnalysisLostSegment,
    /// `tcp.analysis.ack_lost_segment` (`[TCP ACKed unseen segment]`).
    TcpAnalysisAckLostSegment,
    /// `tcp.analysis.duplicate_ack` (`[TCP Dup ACK F#N]`).
    TcpAnalysisDuplicateAck,
    /// `tcp.analysis.duplicate_ack_num`: `N` of `[TCP Dup ACK F#N]`.
    TcpAnalysisDuplicateAckNum,
    /// `tcp.analysis.duplicate_ack_frame`: `F` of `[TCP Dup ACK F#N]`, the ACK duplicated.
    TcpAnalysisDuplicateAckFrame,
    /// `tcp.analysis.zero_window` (`[TCP ZeroWindow]`).
    TcpAnalysisZeroWindow,
    /// `tcp.analysis.zero_window_probe` (`[TCP ZeroWindowProbe]`).
    TcpAnalysisZeroWindowProbe,
    /// `tcp.analysis.zero_window_probe_ack` (`[TCP ZeroWindowProbeAck]`).
    TcpAnalysisZeroWindowProbeAck,
    /// `tcp.analysis.keep_alive` (`[TCP Keep-Alive]`).
    TcpAnalysisKeepAlive,
    /// `tcp.analysis.keep_alive_ack` (`[TCP Keep-Alive ACK]`).
    TcpAnalysisKeepAliveAck,
    /// `tcp.analysis.window_full` (`[TCP Window Full]`).
    TcpAnalysisWindowFull,
    /// `tcp.analysis.window_update` (`[TCP Window Update]`).
    TcpAnalysisWindowUpdate,
    /// `tcp.analysis.reused_ports` (`[TCP Port numbers reused]`).
    TcpAnalysisReusedPorts,
    /// `udp.port`: UDP source and destination ports (two values).
    UdpPort,
    /// `udp.srcport`.
    UdpSrcPort,
    /// `udp.dstport`.
    UdpDstPort,
    /// `tls.handshake.type`: handshake message type (1 = Client Hello, ...).
    TlsHandshakeType,
    /// `tls.handshake.extensions_server_name`: SNI host name.
    TlsServerName,
    /// `tls.alert_message.desc`: alert description (40 = Handshake Failure, ...).
    TlsAlertDescription,
    /// `tls.handshake.version`: the version field of a ClientHello or ServerHello, SSLv2's
    /// included (`legacy_version`: 0x0303 in TLS 1.3 too, whose version is in an extension).
    TlsHandshakeVersion,
    /// `http.request`: present (true) on frames completing an HTTP request.
    HttpRequest,
    /// `http.response`: present (true) on frames completing an HTTP response.
    HttpResponse,
    /// `http.request.method`.
    HttpRequestMethod,
    /// `http.request.uri`: the request target as sent (for proxies, often an absolute URI or
    /// `host:port` for CONNECT).
    HttpRequestUri,
    /// `http.host`: the `Host` header value.
    HttpHost,
    /// `http.response.code`: status code.
    HttpResponseCode,
    /// `http.request.version`: `HTTP/1.0` or `HTTP/1.1`.
    HttpRequestVersion,
    /// `http.response.version`: `HTTP/1.0` or `HTTP/1.1`.
    HttpResponseVersion,
    /// `http.connection`: the value of each `Connection` header (`close`, `keep-alive`).
    HttpConnection,
    /// `http.authorization`: the value of each `Authorization` header (a secret-bearing
    /// scheme's credentials redacted, `Basic [redacted]`, unless secrets are shown).
    HttpAuthorization,
    /// `http.proxy_authorization`: the value of each `Proxy-Authorization` header (redacted
    /// as `http.authorization`).
    HttpProxyAuthorization,
    /// `http.www_authenticate`: the value of each `WWW-Authenticate` header.
    HttpWwwAuthenticate,
    /// `http.proxy_authenticate`: the value of each `Proxy-Authenticate` header.
    HttpProxyAuthenticate,
    /// `http.user_agent`: the value of each `User-Agent` header.
    HttpUserAgent,
    /// `http.server`: the value of each `Server` header.
    HttpServer,
    /// `http.content_type`: the value of each `Content-Type` header.
    HttpContentType,
    /// `http.content_length_header`: the value of each `Content-Length` header, as sent.
    HttpContentLengthHeader,
    /// `http.content_length`: each `Content-Length` header that is a number.
    HttpContentLength,
    /// `http.transfer_encoding`: the value of each `Transfer-Encoding` header.
    HttpTransferEncoding,
    /// `http.location`: the value of each `Location` header.
    HttpLocation,
    /// `http.upgrade`: the value of each `Upgrade` header.
    HttpUpgrade,
    /// `ntlmssp.messagetype`: 1 = NEGOTIATE, 2 = CHALLENGE, 3 = AUTH.
    NtlmsspMessageType,
    /// `ntlmssp.auth.username`: user name in an NTLM AUTHENTICATE message (`NULL` when
    /// empty, as in tshark).
    NtlmsspAuthUsername,
    /// `ntlmssp.auth.domain`: domain in an NTLM AUTHENTICATE message (`NULL` when empty).
    NtlmsspAuthDomain,
    /// `ntlmssp.auth.hostname`: workstation in an NTLM AUTHENTICATE message (`NULL` when
    /// empty).
    NtlmsspAuthHostname,
}

/// Value names Wireshark accepts in place of numbers for some integer fields
/// (`tls.handshake.type == "Client Hello"`). Matched case-insensitively.
const TLS_HANDSHAKE_TYPES: &[(u64, &str)] = &[
    (0, "Hello Request"),
    (1, "Client Hello"),
    (2, "Server Hello"),
    (3, "Hello Verify Request"),
    (4, "New Session Ticket"),
    (5, "End of Early Data"),
    (6, "Hello Retry Request"),
    (8, "Encrypted Extensions"),
    (11, "Certificate"),
    (12, "Server Key Exchange"),
    (13, "Certificate Request"),
    (14, "Server Hello Done"),
    (15, "Certificate Verify"),
    (16, "Client Key Exchange"),
    (20, "Finished"),
    (21, "Certificate URL"),
    (22, "Certificate Status"),
    (23, "Supplemental Data"),
    (24, "Key Update"),
    (25, "Compressed Certificate"),
    (254, "Message Hash"),
];

const TLS_ALERT_DESCRIPTIONS: &[(u64, &str)] = &[
    (0, "Close Notify"),
    (10, "Unexpected Message"),
    (20, "Bad Record MAC"),
    (21, "Decryption Failed"),
    (22, "Record Overflow"),
    (30, "Decompression Failure"),
    (40, "Handshake Failure"),
    (41, "No Certificate"),
    (42, "Bad Certificate"),
    (43, "Unsupported Certificate"),
    (44, "Certificate Revoked"),
    (45, "Certificate Expired"),
    (46, "Certificate Unknown"),
    (47, "Illegal Parameter"),
    (48, "Unknown CA"),
    (49, "Access Denied"),
    (50, "Decode Error"),
    (51, "Decrypt Error"),
    (60, "Export Restriction"),
    (70, "Protocol Version"),
    (71, "Insufficient Security"),
    (80, "Internal Error"),
    (86, "Inappropriate Fallback"),
    (90, "User Canceled"),
    (100, "No Renegotiation"),
    (109, "Missing Extension"),
    (110, "Unsupported Extension"),
    (111, "Certificate Unobtainable"),
    (112, "Unrecognized Name"),
    (113, "Bad Certificate Status Response"),
    (114, "Bad Certificate Hash Value"),
    (115, "Unknown PSK Identity"),
    (116, "Certificate Required"),
    (120, "No Application Protocol"),
];

const TLS_VERSIONS: &[(u64, &str)] = &[
    (0x0002, "SSL 2.0"),
    (0x0300, "SSL 3.0"),
    (0x0301, "TLS 1.0"),
    (0x0302, "TLS 1.1"),
    (0x0303, "TLS 1.2"),
    (0x0304, "TLS 1.3"),
];

const NTLMSSP_MESSAGE_TYPES: &[(u64, &str)] = &[
    (1, "NTLMSSP_NEGOTIATE"),
    (2, "NTLMSSP_CHALLENGE"),
    (3, "NTLMSSP_AUTH"),
];

const U8: FieldType = FieldType::Unsigned {
    max: u8::MAX as u64,
};
const U16: FieldType = FieldType::Unsigned {
    max: u16::MAX as u64,
};
const U32: FieldType = FieldType::Unsigned {
    max: u32::MAX as u64,
};

/// The pattern of the `tcp.analysis.*` labels (tshark's `FT_NONE` markers), shared by the
/// matches that must name each field.
macro_rules! tcp_analysis_labels {
    () => {
        Field::TcpAnalysisFlags
            | Field::TcpAnalysisRetransmission
            | Field::TcpAnalysisFastRetransmission
            | Field::TcpAnalysisSpuriousRetransmission
            | Field::TcpAnalysisOutOfOrder
            | Field::TcpAnalysisLostSegment
            | Field::TcpAnalysisAckLostSegment
            | Field::TcpAnalysisDuplicateAck
            | Field::TcpAnalysisZeroWindow
            | Field::TcpAnalysisZeroWindowProbe
            | Field::TcpAnalysisZeroWindowProbeAck
            | Field::TcpAnalysisKeepAlive
            | Field::TcpAnalysisKeepAliveAck
            | Field::TcpAnalysisWindowFull
            | Field::TcpAnalysisWindowUpdate
            | Field::TcpAnalysisReusedPorts
    };
}

/// The pattern of the `http.*` fields that are a header's text values (`http.connection`,
/// `http.user_agent`, ...: [`Field::http_header`]).
macro_rules! http_header_fields {
    () => {
        Field::HttpConnection
            | Field::HttpAuthorization
            | Field::HttpProxyAuthorization
            | Field::HttpWwwAuthenticate
            | Field::HttpProxyAuthenticate
            | Field::HttpUserAgent
            | Field::HttpServer
            | Field::HttpContentType
            | Field::HttpContentLengthHeader
            | Field::HttpTransferEncoding
            | Field::HttpLocation
            | Field::HttpUpgrade
    };
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 66] = [
        Field::FrameNumber,
        Field::IpAddr,
        Field::IpSrc,
        Field::IpDst,
        Field::Ipv6Addr,
        Field::Ipv6Src,
        Field::Ipv6Dst,
        Field::TcpPort,
        Field::TcpSrcPort,
        Field::TcpDstPort,
        Field::TcpStream,
        Field::TcpLen,
        Field::TcpFlagsSyn,
        Field::TcpFlagsAck,
        Field::TcpFlagsReset,
        Field::TcpFlagsFin,
        Field::TcpAnalysisFlags,
        Field::TcpAnalysisRetransmission,
        Field::TcpAnalysisFastRetransmission,
        Field::TcpAnalysisSpuriousRetransmission,
        Field::TcpAnalysisOutOfOrder,
        Field::TcpAnalysisLostSegment,
        Field::TcpAnalysisAckLostSegment,
        Field::TcpAnalysisDuplicateAck,
        Field::TcpAnalysisDuplicateAckNum,
        Field::TcpAnalysisDuplicateAckFrame,
        Field::TcpAnalysisZeroWindow,
        Field::TcpAnalysisZeroWindowProbe,
        Field::TcpAnalysisZeroWindowProbeAck,
        Field::TcpAnalysisKeepAlive,
        Field::TcpAnalysisKeepAliveAck,
        Field::TcpAnalysisWindowFull,
        Field::TcpAnalysisWindowUpdate,
        Field::TcpAnalysisReusedPorts,
        Field::UdpPort,
        Field::UdpSrcPort,
        Field::UdpDstPort,
        Field::TlsHandshakeType,
        Field::TlsServerName,
        Field::TlsAlertDescription,
        Field::TlsHandshakeVersion,
        Field::HttpRequest,
        Field::HttpResponse,
        Field::HttpRequestMethod,
        Field::HttpRequestUri,
        Field::HttpHost,
        Field::HttpResponseCode,
        Field::HttpRequestVersion,
        Field::HttpResponseVersion,
        Field::HttpConnection,
        Field::HttpAuthorization,
        Field::HttpProxyAuthorization,
        Field::HttpWwwAuthenticate,
        Field::HttpProxyAuthenticate,
        Field::HttpUserAgent,
        Field::HttpServer,
        Field::HttpContentType,
        Field::HttpContentLengthHeader,
        Field::HttpContentLength,
        Field::HttpTransferEncoding,
        Field::HttpLocation,
        Field::HttpUpgrade,
        Field::NtlmsspMessageType,
        Field::NtlmsspAuthUsername,
        Field::NtlmsspAuthDomain,
        Field::NtlmsspAuthHostname,
    ];

    /// The Wireshark filter name (`"tcp.port"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Field::FrameNumber => "frame.number",
            Field::IpAddr => "ip.addr",
            Field::IpSrc => "ip.src",
            Field::IpDst => "ip.dst",
            Field::Ipv6Addr => "ipv6.addr",
            Field::Ipv6Src => "ipv6.src",
            Field::Ipv6Dst => "ipv6.dst",
            Field::TcpPort => "tcp.port",
            Field::TcpSrcPort => "tcp.srcport",
            Field::TcpDstPort => "tcp.dstport",
            Field::TcpStream => "tcp.stream",
            Field::TcpLen => "tcp.len",
            Field::TcpFlagsSyn => "tcp.flags.syn",
            Field::TcpFlagsAck => "tcp.flags.ack",
            Field::TcpFlagsReset => "tcp.flags.reset",
            Field::TcpFlagsFin => "tcp.flags.fin",
            Field::TcpAnalysisFlags => "tcp.analysis.flags",
            Field::TcpAnalysisRetransmission => "tcp.analysis.retransmission",
            Field::TcpAnalysisFastRetransmission => "tcp.analysis.fast_retransmission",
            Field::TcpAnalysisSpuriousRetransmission => "tcp.analysis.spurious_retransmission",
            Field::TcpAnalysisOutOfOrder => "tcp.analysis.out_of_order",
            Field::TcpAnalysisLostSegment => "tcp.analysis.lost_segment",
            Field::TcpAnalysisAckLostSegment => "tcp.analysis.ack_lost_segment",
            Field::TcpAnalysisDuplicateAck => "tcp.analysis.duplicate_ack",
            Field::TcpAnalysisDuplicateAckNum => "tcp.analysis.duplicate_ack_num",
            Field::TcpAnalysisDuplicateAckFrame => "tcp.analysis.duplicate_ack_frame",
            Field::TcpAnalysisZeroWindow => "tcp.analysis.zero_window",
            Field::TcpAnalysisZeroWindowProbe => "tcp.analysis.zero_window_probe",
            Field::TcpAnalysisZeroWindowProbeAck => "tcp.analysis.zero_window_probe_ack",
            Field::TcpAnalysisKeepAlive => "tcp.analysis.keep_alive",
            Field::TcpAnalysisKeepAliveAck => "tcp.analysis.keep_alive_ack",
            Field::TcpAnalysisWindowFull => "tcp.analysis.window_full",
            Field::TcpAnalysisWindowUpdate => "tcp.analysis.window_update",
            Field::TcpAnalysisReusedPorts => "tcp.analysis.reused_ports",
            Field::UdpPort => "udp.port",
            Field::UdpSrcPort => "udp.srcport",
            Field::UdpDstPort => "udp.dstport",
            Field::TlsHandshakeType => "tls.handshake.type",
            Field::TlsServerName => "tls.handshake.extensions_server_name",
            Field::TlsAlertDescription => "tls.alert_message.desc",
            Field::TlsHandshakeVersion => "tls.handshake.version",
            Field::HttpRequest => "http.request",
            Field::HttpResponse => "http.response",
            Field::HttpRequestMethod => "http.request.method",
            Field::HttpRequestUri => "http.request.uri",
            Field::HttpHost => "http.host",
            Field::HttpResponseCode => "http.response.code",
            Field::HttpRequestVersion => "http.request.version",
            Field::HttpResponseVersion => "http.response.version",
            Field::HttpConnection => "http.connection",
            Field::HttpAuthorization => "http.authorization",
            Field::HttpProxyAuthorization => "http.proxy_authorization",
            Field::HttpWwwAuthenticate => "http.www_authenticate",
            Field::HttpProxyAuthenticate => "http.proxy_authenticate",
            Field::HttpUserAgent => "http.user_agent",
            Field::HttpServer => "http.server",
            Field::HttpContentType => "http.content_type",
            Field::HttpContentLengthHeader => "http.content_length_header",
            Field::HttpContentLength => "http.content_length",
            Field::HttpTransferEncoding => "http.transfer_encoding",
            Field::HttpLocation => "http.location",
            Field::HttpUpgrade => "http.upgrade",
            Field::NtlmsspMessageType => "ntlmssp.messagetype",
            Field::NtlmsspAuthUsername => "ntlmssp.auth.username",
            Field::NtlmsspAuthDomain => "ntlmssp.auth.domain",
            Field::NtlmsspAuthHostname => "ntlmssp.auth.hostname",
        }
    }

    /// Looks a field up by its filter name (case-sensitive, as in Wireshark). Names starting with
    /// the deprecated `ssl.` are accepted for `tls.`.
    pub fn from_name(name: &str) -> Option<Field> {
        if let Some(rest) = name.strip_prefix("ssl.") {
            return Field::ALL
                .into_iter()
                .find(|f| f.name().strip_prefix("tls.") == Some(rest));
        }
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The protocol this field belongs to.
    pub fn protocol(self) -> Protocol {
        match self {
            Field::FrameNumber => Protocol::Frame,
            Field::IpAddr | Field::IpSrc | Field::IpDst => Protocol::Ip,
            Field::Ipv6Addr | Field::Ipv6Src | Field::Ipv6Dst => Protocol::Ipv6,
            Field::TcpPort
            | Field::TcpSrcPort
            | Field::TcpDstPort
            | Field::TcpStream
            | Field::TcpLen
            | Field::TcpFlagsSyn
            | Field::TcpFlagsAck
            | Field::TcpFlagsReset
            | Field::TcpFlagsFin
            | Field::TcpAnalysisDuplicateAckNum
            | Field::TcpAnalysisDuplicateAckFrame
            | tcp_analysis_labels!() => Protocol::Tcp,
            Field::UdpPort | Field::UdpSrcPort | Field::UdpDstPort => Protocol::Udp,
            Field::TlsHandshakeType
            | Field::TlsServerName
            | Field::TlsAlertDescription
            | Field::TlsHandshakeVersion => Protocol::Tls,
            Field::HttpRequest
            | Field::HttpResponse
            | Field::HttpRequestMethod
            | Field::HttpRequestUri
            | Field::HttpHost
            | Field::HttpResponseCode
            | Field::HttpRequestVersion
            | Field::HttpResponseVersion
            | Field::HttpContentLength
            | http_header_fields!() => Protocol::Http,
            Field::NtlmsspMessageType
            | Field::NtlmsspAuthUsername
            | Field::NtlmsspAuthDomain
            | Field::NtlmsspAuthHostname => Protocol::Ntlmssp,
        }
    }

    /// The type of this field's values.
    pub fn field_type(self) -> FieldType {
        match self {
            Field::FrameNumber
            | Field::TcpStream
            | Field::TcpLen
            | Field::NtlmsspMessageType
            | Field::TcpAnalysisDuplicateAckNum
            | Field::TcpAnalysisDuplicateAckFrame => U32,
            Field::IpAddr | Field::IpSrc | Field::IpDst => FieldType::Ipv4,
            Field::Ipv6Addr | Field::Ipv6Src | Field::Ipv6Dst => FieldType::Ipv6,
            Field::TcpPort
            | Field::TcpSrcPort
            | Field::TcpDstPort
            | Field::UdpPort
            | Field::UdpSrcPort
            | Field::UdpDstPort
            | Field::HttpResponseCode
            | Field::TlsHandshakeVersion => U16,
            Field::TlsHandshakeType | Field::TlsAlertDescription => U8,
            Field::HttpContentLength => FieldType::Unsigned { max: u64::MAX },
            Field::TcpFlagsSyn
            | Field::TcpFlagsAck
            | Field::TcpFlagsReset
            | Field::TcpFlagsFin
            | Field::HttpRequest
            | Field::HttpResponse => FieldType::Boolean,
            Field::TlsServerName
            | Field::HttpRequestMethod
            | Field::HttpRequestUri
            | Field::HttpHost
            | Field::HttpRequestVersion
            | Field::HttpResponseVersion
            | http_header_fields!()
            | Field::NtlmsspAuthUsername
            | Field::NtlmsspAuthDomain
            | Field::NtlmsspAuthHostname => FieldType::String,
            tcp_analysis_labels!() => FieldType::Label,
        }
    }

    /// The [`Marker`] this `tcp.analysis.*` label stands for (`None` for other fields,
    /// `tcp.analysis.flags` included).
    pub fn tcp_marker(self) -> Option<Marker> {
        Some(match self {
            Field::TcpAnalysisRetransmission => Marker::Retransmission,
            Field::TcpAnalysisFastRetransmission => Marker::FastRetransmission,
            Field::TcpAnalysisSpuriousRetransmission => Marker::SpuriousRetransmission,
            Field::TcpAnalysisOutOfOrder => Marker::OutOfOrder,
            Field::TcpAnalysisLostSegment => Marker::PreviousSegmentNotCaptured,
            Field::TcpAnalysisAckLostSegment => Marker::AckedUnseenSegment,
            Field::TcpAnalysisDuplicateAck => Marker::DuplicateAck,
            Field::TcpAnalysisZeroWindow => Marker::ZeroWindow,
            Field::TcpAnalysisZeroWindowProbe => Marker::ZeroWindowProbe,
            Field::TcpAnalysisZeroWindowProbeAck => Marker::ZeroWindowProbeAck,
            Field::TcpAnalysisKeepAlive => Marker::KeepAlive,
            Field::TcpAnalysisKeepAliveAck => Marker::KeepAliveAck,
            Field::TcpAnalysisWindowFull => Marker::WindowFull,
            Field::TcpAnalysisWindowUpdate => Marker::WindowUpdate,
            Field::TcpAnalysisReusedPorts => Marker::PortNumbersReused,
            _ => return None,
        })
    }

    /// Whether only a frame can have this field: tshark's TCP analysis (`tcp.analysis.*`)
    /// judges one segment against the ones before it, which an event (a message, a
    /// connection's step) does not stand for. `wiretale timeline` and `story` reject a filter
    /// that names one, rather than match nothing.
    pub fn frames_only(self) -> bool {
        matches!(
            self,
            Field::TcpAnalysisFlags
                | Field::TcpAnalysisDuplicateAckNum
                | Field::TcpAnalysisDuplicateAckFrame
        ) || self.tcp_marker().is_some()
    }

    /// The header whose values this field is (`Connection` for `http.connection`;
    /// `Content-Length` for `http.content_length` too, which keeps the numbers among them).
    pub fn http_header(self) -> Option<&'static str> {
        Some(match self {
            Field::HttpConnection => "Connection",
            Field::HttpAuthorization => "Authorization",
            Field::HttpProxyAuthorization => "Proxy-Authorization",
            Field::HttpWwwAuthenticate => "WWW-Authenticate",
            Field::HttpProxyAuthenticate => "Proxy-Authenticate",
            Field::HttpUserAgent => "User-Agent",
            Field::HttpServer => "Server",
            Field::HttpContentType => "Content-Type",
            Field::HttpContentLengthHeader | Field::HttpContentLength => "Content-Length",
            Field::HttpTransferEncoding => "Transfer-Encoding",
            Field::HttpLocation => "Location",
            Field::HttpUpgrade => "Upgrade",
            _ => return None,
        })
    }

    /// The pipeline layer that can supply this field.
    pub fn layer(self) -> Layer {
        match self {
            // tshark's TCP analysis needs each direction's state, not reassembly.
            Field::TcpStream => Layer::Connection,
            f if f.frames_only() => Layer::Connection,
            other => other.protocol().layer(),
        }
    }

    /// Names that may be written instead of numbers for this field, as `(value, name)` pairs
    /// (empty for most fields).
    pub fn value_names(self) -> &'static [(u64, &'static str)] {
        match self {
            Field::TlsHandshakeType => TLS_HANDSHAKE_TYPES,
            Field::TlsAlertDescription => TLS_ALERT_DESCRIPTIONS,
            Field::TlsHandshakeVersion => TLS_VERSIONS,
            Field::NtlmsspMessageType => NTLMSSP_MESSAGE_TYPES,
            _ => &[],
        }
    }

    /// The value a name from [`value_names`](Field::value_names) stands for, compared
    /// case-insensitively.
    pub fn value_for_name(self, name: &str) -> Option<u64> {
        self.value_names()
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(v, _)| *v)
    }

    fn index(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A set of [`Field`]s (a bit set, `Copy`, no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u128);

// One bit a field: a 129th field needs a wider set.
const _: () = assert!(Field::ALL.len() <= u128::BITS as usize);

impl FieldSet {
    /// The empty set.
    pub const EMPTY: FieldSet = FieldSet(0);

    /// Adds `field`.
    pub fn insert(&mut self, field: Field) {
        self.0 |= 1u128 << field.index();
    }

    /// Whether `field` is in the set.
    pub fn contains(self, field: Field) -> bool {
        self.0 & (1u128 << field.index()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many fields are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The fields in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Self {
        let mut set = FieldSet::EMPTY;
        for field in iter {
            set.insert(field);
        }
        set
    }
}

impl serde::Serialize for FieldSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A set of [`Protocol`]s (a bit set, `Copy`, no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ProtocolSet(u16);

impl ProtocolSet {
    /// The empty set.
    pub const EMPTY: ProtocolSet = ProtocolSet(0);

    /// Adds `protocol`.
    pub fn insert(&mut self, protocol: Protocol) {
        self.0 |= 1u16 << protocol.index();
    }

    /// Whether `protocol` is in the set.
    pub fn contains(self, protocol: Protocol) -> bool {
        self.0 & (1u16 << protocol.index()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many protocols are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The protocols in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Protocol> {
        Protocol::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Protocol> for ProtocolSet {
    fn from_iter<I: IntoIterator<Item = Protocol>>(iter: I) -> Self {
        let mut set = ProtocolSet::EMPTY;
        for protocol in iter {
            set.insert(protocol);
        }
        set
    }
}

impl serde::Serialize for ProtocolSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_name_resolves_back_to_its_field() {
        for field in Field::ALL {
            assert_eq!(Field::from_name(field.name()), Some(field), "{field}");
            assert!(
                field.name().starts_with(field.protocol().name()),
                "{field} should start with its protocol name"
            );
        }
        // ALL lists every variant exactly once: indices are 0..len in order.
        for (i, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(field.index() as usize, i);
        }
        for (i, protocol) in Protocol::ALL.into_iter().enumerate() {
            assert_eq!(protocol.index() as usize, i);
            assert_eq!(Protocol::from_name(protocol.name()), Some(protocol));
        }
    }

    #[test]
    fn names_are_case_sensitive_and_ssl_is_an_alias_for_tls() {
        assert_eq!(Field::from_name("TCP.PORT"), None);
        assert_eq!(Protocol::from_name("TCP"), None);
        assert_eq!(Protocol::from_name("ssl"), Some(Protocol::Tls));
        assert_eq!(
            Field::from_name("ssl.handshake.type"),
            Some(Field::TlsHandshakeType)
        );
        assert_eq!(Field::from_name("ssl.port"), None);
    }

    #[test]
    fn value_names_are_case_insensitive() {
        assert_eq!(
            Field::TlsHandshakeType.value_for_name("client hello"),
            Some(1)
        );
        assert_eq!(
            Field::TlsAlertDescription.value_for_name("Handshake Failure"),
            Some(40)
        );
        assert_eq!(
            Field::NtlmsspMessageType.value_for_name("ntlmssp_auth"),
            Some(3)
        );
        assert_eq!(Field::TcpPort.value_for_name("http"), None);
        // Every named value fits its field.
        for field in Field::ALL {
            if let FieldType::Unsigned { max } = field.field_type() {
                assert!(field.value_names().iter().all(|(v, _)| *v <= max));
            } else {
                assert!(field.value_names().is_empty());
            }
        }
    }

    #[test]
    fn layers_order_from_cheap_to_expensive() {
        assert_eq!(Field::TcpPort.layer(), Layer::Packet);
        assert_eq!(Field::FrameNumber.layer(), Layer::Packet);
        assert_eq!(Field::TcpStream.layer(), Layer::Connection);
        assert_eq!(Field::HttpHost.layer(), Layer::Application);
        assert_eq!(Protocol::Ntlmssp.layer(), Layer::Application);
        assert!(Layer::Packet < Layer::Connection && Layer::Connection < Layer::Application);
    }

    #[test]
    fn tcp_analysis_fields_are_tsharks_markers_known_of_frames_only() {
        let analysis: Vec<Field> = Field::ALL
            .into_iter()
            .filter(|f| f.name().starts_with("tcp.analysis."))
            .collect();
        assert_eq!(analysis.len(), Marker::ALL.len() + 3);
        for field in &analysis {
            assert!(field.frames_only(), "{field}");
            assert_eq!(field.layer(), Layer::Connection, "{field}");
            assert_eq!(field.protocol(), Protocol::Tcp, "{field}");
        }
        // Each marker has its label, named as in its frame listing's JSON.
        for marker in Marker::ALL {
            let field = analysis.iter().find(|f| f.tcp_marker() == Some(marker));
            assert_eq!(
                field.map(|f| f.name().trim_start_matches("tcp.analysis.")),
                Some(marker.field_name())
            );
            assert_eq!(field.map(|f| f.field_type()), Some(FieldType::Label));
        }
        assert_eq!(Field::TcpAnalysisFlags.field_type(), FieldType::Label);
        assert_eq!(Field::TcpAnalysisDuplicateAckNum.field_type(), U32);
        assert!(!Field::TcpLen.frames_only() && !Field::TcpStream.frames_only());
        assert!(!FieldType::Label.is_ordered());
    }

    #[test]
    fn sets_insert_and_iterate_in_order() {
        let set: FieldSet = [Field::HttpHost, Field::TcpPort, Field::TcpPort]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 2);
        assert!(set.contains(Field::TcpPort) && !set.contains(Field::IpAddr));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Field::TcpPort, Field::HttpHost]
        );
        let protocols: ProtocolSet = [Protocol::Http, Protocol::Frame].into_iter().collect();
        assert_eq!(
            protocols.iter().collect::<Vec<_>>(),
            [Protocol::Frame, Protocol::Http]
        );
        assert!(FieldSet::EMPTY.is_empty() && ProtocolSet::EMPTY.is_empty());
        assert_eq!(
            serde_json::to_string(&set).ok().as_deref(),
            Some(r#"["tcp.port","http.host"]"#)
        );
    }
}
