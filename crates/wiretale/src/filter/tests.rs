//! Tests of the public filter API: parsing, precedence, every field and operator, errors with
//! their exact columns and messages, canonical text round-trips, evaluation semantics, and
//! property tests for robustness.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

/// A frame for tests: which protocols it carries and its field values.
#[derive(Debug, Default, Clone)]
struct TestFrame {
    protocols: Vec<Protocol>,
    values: Vec<(Field, Value<'static>)>,
}

impl TestFrame {
    fn new(protocols: &[Protocol]) -> TestFrame {
        TestFrame {
            protocols: protocols.to_vec(),
            values: Vec::new(),
        }
    }

    fn with(mut self, field: Field, value: Value<'static>) -> TestFrame {
        self.values.push((field, value));
        self
    }

    fn num(self, field: Field, n: u64) -> TestFrame {
        self.with(field, Value::Unsigned(n))
    }

    fn text(self, field: Field, s: &'static str) -> TestFrame {
        self.with(field, Value::Str(s))
    }

    fn flag(self, field: Field, b: bool) -> TestFrame {
        self.with(field, Value::Bool(b))
    }

    /// IPv4 header fields for `src` → `dst`.
    fn ipv4(self, src: [u8; 4], dst: [u8; 4]) -> TestFrame {
        let (s, d) = (
            IpAddr::V4(Ipv4Addr::from(src)),
            IpAddr::V4(Ipv4Addr::from(dst)),
        );
        self.with(Field::IpSrc, Value::Addr(s))
            .with(Field::IpDst, Value::Addr(d))
            .with(Field::IpAddr, Value::Addr(s))
            .with(Field::IpAddr, Value::Addr(d))
    }

    /// IPv6 header fields for `src` → `dst`.
    fn ipv6(self, src: Ipv6Addr, dst: Ipv6Addr) -> TestFrame {
        let (s, d) = (IpAddr::V6(src), IpAddr::V6(dst));
        self.with(Field::Ipv6Src, Value::Addr(s))
            .with(Field::Ipv6Dst, Value::Addr(d))
            .with(Field::Ipv6Addr, Value::Addr(s))
            .with(Field::Ipv6Addr, Value::Addr(d))
    }

    /// TCP header fields.
    fn tcp(self, src: u16, dst: u16, stream: u64, len: u64, flags: [bool; 4]) -> TestFrame {
        let [syn, ack, reset, fin] = flags;
        self.num(Field::TcpSrcPort, src.into())
            .num(Field::TcpDstPort, dst.into())
            .num(Field::TcpPort, src.into())
            .num(Field::TcpPort, dst.into())
            .num(Field::TcpStream, stream)
            .num(Field::TcpLen, len)
            .flag(Field::TcpFlagsSyn, syn)
            .flag(Field::TcpFlagsAck, ack)
            .flag(Field::TcpFlagsReset, reset)
            .flag(Field::TcpFlagsFin, fin)
    }
}

impl FieldSource for TestFrame {
    fn has_protocol(&self, protocol: Protocol) -> bool {
        self.protocols.contains(&protocol)
    }

    fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>)) {
        for (f, v) in &self.values {
            if *f == field {
                out(*v);
            }
        }
    }
}

const ACK: [bool; 4] = [false, true, false, false];

/// The case study's SIP-over-TLS client hello: 10.0.0.5:49152 → 10.0.0.9:5061.
fn sip_client_hello() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Tcp, Tls])
        .num(Field::FrameNumber, 12)
        .ipv4([10, 0, 0, 5], [10, 0, 0, 9])
        .tcp(49152, 5061, 3, 517, ACK)
        .num(Field::TlsHandshakeType, 1)
        .num(Field::TlsHandshakeVersion, 0x0303)
        .text(Field::TlsServerName, "sip.example.com")
}

/// A server hello and certificate completed by the same segment, then a fatal alert.
fn sip_server_flight() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Tcp, Tls])
        .num(Field::FrameNumber, 14)
        .ipv4([10, 0, 0, 9], [10, 0, 0, 5])
        .tcp(5061, 49152, 3, 2896, ACK)
        .num(Field::TlsHandshakeType, 2)
        .num(Field::TlsHandshakeType, 11)
        .num(Field::TlsAlertDescription, 40)
}

/// An HTTP CONNECT through a proxy at 192.168.1.10:8080.
fn proxy_connect() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Tcp, Http])
        .num(Field::FrameNumber, 40)
        .ipv4([10, 0, 0, 5], [192, 168, 1, 10])
        .tcp(51000, 8080, 7, 120, ACK)
        .flag(Field::HttpRequest, true)
        .text(Field::HttpRequestMethod, "CONNECT")
        .text(Field::HttpRequestUri, "sip.example.com:5061")
        .text(Field::HttpRequestVersion, "HTTP/1.0")
        .text(Field::HttpHost, "sip.example.com:5061")
        .text(Field::HttpConnection, "close")
        .text(Field::HttpAuthorization, "Basic [redacted]")
        .text(Field::HttpUserAgent, "Entrust Certificate Revocation")
        .text(Field::HttpUpgrade, "websocket")
}

/// The proxy's 407 answer carrying an NTLM challenge.
fn proxy_407() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Tcp, Http, Ntlmssp])
        .num(Field::FrameNumber, 42)
        .ipv4([192, 168, 1, 10], [10, 0, 0, 5])
        .tcp(8080, 51000, 7, 300, ACK)
        .flag(Field::HttpResponse, true)
        .num(Field::HttpResponseCode, 407)
        .text(Field::HttpResponseVersion, "HTTP/1.1")
        .text(Field::HttpProxyAuthenticate, "NTLM TlRMTVNTUAACAAAA")
        .text(Field::HttpWwwAuthenticate, "Basic realm=\"intranet\"")
        .text(Field::HttpServer, "squid/5.7")
        .text(Field::HttpContentType, "text/html; charset=utf-8")
        .text(Field::HttpContentLengthHeader, "179")
        .num(Field::HttpContentLength, 179)
        .text(Field::HttpTransferEncoding, "chunked")
        .text(Field::HttpLocation, "http://intranet/login")
        .num(Field::NtlmsspMessageType, 2)
}

/// The client's retry with an NTLM AUTHENTICATE message.
fn ntlm_auth() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Tcp, Http, Ntlmssp])
        .num(Field::FrameNumber, 44)
        .ipv4([10, 0, 0, 5], [192, 168, 1, 10])
        .tcp(51000, 8080, 7, 600, ACK)
        .flag(Field::HttpRequest, true)
        .text(Field::HttpRequestMethod, "CONNECT")
        .text(Field::HttpProxyAuthorization, "NTLM TlRMTVNTUAADAAAA")
        .num(Field::NtlmsspMessageType, 3)
        .text(Field::NtlmsspAuthUsername, "alice")
        .text(Field::NtlmsspAuthDomain, "CORP")
        .text(Field::NtlmsspAuthHostname, "NULL")
}

/// An IPv6 SYN fe80::1:49200 → 2001:db8::2:443.
fn ipv6_syn() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ipv6, Tcp])
        .num(Field::FrameNumber, 3)
        .ipv6(
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
        )
        .tcp(49200, 443, 0, 0, [true, false, false, false])
}

/// A TCP reset with FIN, for flag tests.
fn reset() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Tcp])
        .num(Field::FrameNumber, 99)
        .ipv4([10, 0, 0, 9], [10, 0, 0, 5])
        .tcp(5061, 49152, 3, 0, [false, true, true, true])
}

/// A DNS query over UDP.
fn dns() -> TestFrame {
    use Protocol::*;
    TestFrame::new(&[Frame, Ip, Udp])
        .num(Field::FrameNumber, 1)
        .ipv4([10, 0, 0, 5], [10, 0, 0, 1])
        .num(Field::UdpSrcPort, 53000)
        .num(Field::UdpDstPort, 53)
        .num(Field::UdpPort, 53000)
        .num(Field::UdpPort, 53)
}

/// A frame with every `tcp.analysis.*` label set, and a duplicate ACK's numbers: not a
/// segment tshark would ever mark so, but one on which each of those fields is present.
fn every_tcp_marker() -> TestFrame {
    use Protocol::*;
    let labels = Field::ALL
        .into_iter()
        .filter(|f| f.field_type() == FieldType::Label);
    labels
        .fold(TestFrame::new(&[Frame, Ip, Tcp]), |frame, field| {
            frame.with(field, Value::Present)
        })
        .num(Field::FrameNumber, 10)
        .ipv4([10, 0, 0, 5], [10, 0, 0, 9])
        .tcp(49152, 5061, 3, 0, ACK)
        .num(Field::TcpAnalysisDuplicateAckNum, 2)
        .num(Field::TcpAnalysisDuplicateAckFrame, 8)
}

fn ok(text: &str) -> Filter {
    match parse(text) {
        Ok(f) => f,
        Err(e) => panic!("{text:?} should parse:\n{}", e.render(text)),
    }
}

fn err(text: &str) -> FilterError {
    match parse(text) {
        Ok(f) => panic!("{text:?} should not parse, got {f}"),
        Err(e) => e,
    }
}

fn eq(field: Field, n: u64) -> Expr {
    Expr::Compare(Comparison {
        field,
        quantifier: Quantifier::Any,
        predicate: Predicate::Eq(Literal::Unsigned(n)),
    })
}

fn proto(p: Protocol) -> Expr {
    Expr::Protocol(p)
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

#[test]
fn case_study_filter() {
    let filter = ok("tcp.port==5061 || http");
    assert_eq!(
        filter.expr(),
        &Expr::Or(vec![eq(Field::TcpPort, 5061), proto(Protocol::Http)])
    );
    assert_eq!(filter.to_string(), "tcp.port == 5061 || http");
    assert!(filter.matches(&sip_client_hello()));
    assert!(filter.matches(&sip_server_flight()));
    assert!(filter.matches(&proxy_connect()));
    assert!(filter.matches(&ntlm_auth()));
    assert!(!filter.matches(&ipv6_syn()));
    assert!(!filter.matches(&dns()));
    // The first filter of the case study drops the proxy conversation.
    assert!(!ok("tcp.port==5061").matches(&proxy_connect()));
}

#[test]
fn precedence_is_not_then_and_then_xor_then_or() {
    use Protocol::{Http, Ip, Ipv6, Tcp, Tls, Udp};
    assert_eq!(
        ok("tcp && udp || http").expr(),
        &Expr::Or(vec![Expr::And(vec![proto(Tcp), proto(Udp)]), proto(Http)])
    );
    assert_eq!(
        ok("tcp || udp && http").expr(),
        &Expr::Or(vec![proto(Tcp), Expr::And(vec![proto(Udp), proto(Http)])])
    );
    assert_eq!(
        ok("!tcp && udp").expr(),
        &Expr::And(vec![not(proto(Tcp)), proto(Udp)])
    );
    assert_eq!(
        ok("tcp ^^ udp || http").expr(),
        &Expr::Or(vec![Expr::Xor(vec![proto(Tcp), proto(Udp)]), proto(Http)])
    );
    assert_eq!(
        ok("tcp && udp ^^ http").expr(),
        &Expr::Xor(vec![Expr::And(vec![proto(Tcp), proto(Udp)]), proto(Http)])
    );
    assert_eq!(
        ok("(tcp || udp) && http").expr(),
        &Expr::And(vec![Expr::Or(vec![proto(Tcp), proto(Udp)]), proto(Http)])
    );
    // The example from Wireshark's manual page:
    // "A and B or not C or D and not E or F" is "(A and B) or (not C) or (D and (not E)) or F".
    assert_eq!(
        ok("tcp and udp or not http or tls and not ip or ipv6").expr(),
        &Expr::Or(vec![
            Expr::And(vec![proto(Tcp), proto(Udp)]),
            not(proto(Http)),
            Expr::And(vec![proto(Tls), not(proto(Ip))]),
            proto(Ipv6),
        ])
    );
    // A comparison binds tighter than `!`.
    assert_eq!(ok("!tcp.port == 80").expr(), &not(eq(Field::TcpPort, 80)));
    assert_eq!(ok("not not tcp").expr(), &not(not(proto(Tcp))));
    // Chains and same-operator parentheses are flattened.
    assert_eq!(
        ok("tcp && (udp && http) && tls").expr(),
        &Expr::And(vec![proto(Tcp), proto(Udp), proto(Http), proto(Tls)])
    );
    assert_eq!(ok("((tcp))").expr(), &proto(Tcp));
}

#[test]
fn xor_is_true_for_an_odd_number_of_operands() {
    let f = ok("tcp ^^ http ^^ ntlmssp");
    assert!(f.matches(&sip_client_hello())); // tcp only
    assert!(!f.matches(&proxy_connect())); // tcp, http
    assert!(f.matches(&ntlm_auth())); // all three
    assert!(!f.matches(&dns())); // none
    assert!(ok("tcp xor udp").matches(&dns()));
}

#[test]
fn every_field_and_protocol() {
    type Case = (&'static str, fn() -> TestFrame, bool);
    let cases: &[Case] = &[
        ("frame", dns, true),
        ("ip", dns, true),
        ("ip", ipv6_syn, false),
        ("ipv6", ipv6_syn, true),
        ("tcp", dns, false),
        ("udp", dns, true),
        ("tls", sip_client_hello, true),
        ("ssl", sip_client_hello, true),
        ("http", proxy_connect, true),
        ("ntlmssp", ntlm_auth, true),
        ("ntlmssp", proxy_connect, false),
        ("frame.number == 12", sip_client_hello, true),
        ("frame.number >= 13", sip_client_hello, false),
        ("ip.addr == 10.0.0.9", sip_client_hello, true),
        ("ip.src == 10.0.0.9", sip_client_hello, false),
        ("ip.dst == 10.0.0.9", sip_client_hello, true),
        ("ipv6.addr == 2001:db8::2", ipv6_syn, true),
        ("ipv6.src == fe80::1", ipv6_syn, true),
        ("ipv6.dst == fe80::1", ipv6_syn, false),
        ("tcp.port == 5061", sip_client_hello, true),
        ("tcp.srcport == 5061", sip_client_hello, false),
        ("tcp.dstport == 5061", sip_client_hello, true),
        ("tcp.stream == 3", sip_client_hello, true),
        ("tcp.stream == 7", sip_client_hello, false),
        ("tcp.len > 500", sip_client_hello, true),
        ("tcp.len == 0", ipv6_syn, true),
        ("tcp.flags.syn == 1", ipv6_syn, true),
        ("tcp.flags.syn == 1", sip_client_hello, false),
        ("tcp.flags.ack == true", sip_client_hello, true),
        ("tcp.flags.reset == 1", reset, true),
        ("tcp.flags.fin == 1", reset, true),
        ("tcp.flags.fin == 0", sip_client_hello, true),
        ("udp.port == 53", dns, true),
        ("udp.srcport == 53", dns, false),
        ("udp.dstport == 53", dns, true),
        ("tls.handshake.type == 1", sip_client_hello, true),
        ("tls.handshake.type == 11", sip_server_flight, true),
        (
            "tls.handshake.extensions_server_name == \"sip.example.com\"",
            sip_client_hello,
            true,
        ),
        ("tls.alert_message.desc == 40", sip_server_flight, true),
        ("http.request", proxy_connect, true),
        ("http.request", proxy_407, false),
        ("http.response", proxy_407, true),
        ("http.request.method == \"CONNECT\"", proxy_connect, true),
        ("http.request.uri contains \":5061\"", proxy_connect, true),
        ("http.host == \"sip.example.com:5061\"", proxy_connect, true),
        ("http.response.code == 407", proxy_407, true),
        ("http.response.code == 200", proxy_407, false),
        ("ntlmssp.messagetype == 2", proxy_407, true),
        ("ntlmssp.auth.username == \"alice\"", ntlm_auth, true),
        ("ntlmssp.auth.domain == \"CORP\"", ntlm_auth, true),
        ("ntlmssp.auth.hostname == \"NULL\"", ntlm_auth, true),
        ("tls.handshake.version == 0x0303", sip_client_hello, true),
        (
            "tls.handshake.version == \"TLS 1.2\"",
            sip_client_hello,
            true,
        ),
        (
            "tls.handshake.version >= \"TLS 1.3\"",
            sip_client_hello,
            false,
        ),
        ("http.request.version == \"HTTP/1.0\"", proxy_connect, true),
        ("http.response.version == \"HTTP/1.1\"", proxy_407, true),
        ("http.connection == \"close\"", proxy_connect, true),
        ("http.connection", proxy_407, false),
        ("http.authorization contains \"Basic\"", proxy_connect, true),
        (
            "http.proxy_authorization contains \"NTLM\"",
            ntlm_auth,
            true,
        ),
        ("http.proxy_authenticate contains \"NTLM\"", proxy_407, true),
        ("http.www_authenticate contains \"realm\"", proxy_407, true),
        (
            "http.user_agent contains \"Revocation\"",
            proxy_connect,
            true,
        ),
        ("http.server contains squid", proxy_407, true),
        ("http.content_type contains \"text/html\"", proxy_407, true),
        ("http.content_length_header == \"179\"", proxy_407, true),
        ("http.content_length > 100", proxy_407, true),
        ("http.content_length > 100", proxy_connect, false),
        ("http.transfer_encoding == chunked", proxy_407, true),
        ("http.location contains login", proxy_407, true),
        ("http.upgrade == websocket", proxy_connect, true),
        ("ntlmssp.auth.username contains \"alice\"", ntlm_auth, true),
        ("tcp.analysis.flags", every_tcp_marker, true),
        ("tcp.analysis.flags", sip_client_hello, false),
        ("tcp.analysis.retransmission", every_tcp_marker, true),
        ("tcp.analysis.retransmission", sip_client_hello, false),
        ("tcp.analysis.fast_retransmission", every_tcp_marker, true),
        (
            "tcp.analysis.spurious_retransmission",
            every_tcp_marker,
            true,
        ),
        ("tcp.analysis.out_of_order", every_tcp_marker, true),
        ("tcp.analysis.lost_segment", every_tcp_marker, true),
        ("tcp.analysis.ack_lost_segment", every_tcp_marker, true),
        ("tcp.analysis.duplicate_ack", every_tcp_marker, true),
        (
            "tcp.analysis.duplicate_ack_num >= 2",
            every_tcp_marker,
            true,
        ),
        (
            "tcp.analysis.duplicate_ack_num > 2",
            every_tcp_marker,
            false,
        ),
        (
            "tcp.analysis.duplicate_ack_frame == 8",
            every_tcp_marker,
            true,
        ),
        ("tcp.analysis.zero_window", every_tcp_marker, true),
        ("tcp.analysis.zero_window_probe", every_tcp_marker, true),
        ("tcp.analysis.zero_window_probe_ack", every_tcp_marker, true),
        ("tcp.analysis.keep_alive", every_tcp_marker, true),
        ("tcp.analysis.keep_alive_ack", every_tcp_marker, true),
        ("tcp.analysis.window_full", every_tcp_marker, true),
        (
            "tcp.analysis.flags && !tcp.analysis.window_update",
            every_tcp_marker,
            false,
        ),
        ("!tcp.analysis.reused_ports", every_tcp_marker, false),
        ("!tcp.analysis.reused_ports", sip_client_hello, true),
    ];
    let mut fields_seen = FieldSet::EMPTY;
    let mut protocols_seen = ProtocolSet::EMPTY;
    for (text, frame, want) in cases {
        let filter = ok(text);
        assert_eq!(filter.matches(&frame()), *want, "{text}");
        for f in filter.fields().iter() {
            fields_seen.insert(f);
        }
        for p in filter.protocols().iter() {
            protocols_seen.insert(p);
        }
    }
    assert_eq!(
        fields_seen.len(),
        Field::ALL.len(),
        "a field is not covered"
    );
    assert_eq!(protocols_seen.len(), Protocol::ALL.len());
}

#[test]
fn every_comparison_operator_with_multi_valued_ports() {
    // tcp.port has two values here: 49152 and 5061.
    let frame = sip_client_hello();
    let cases = [
        ("tcp.port == 5061", true),
        ("tcp.port eq 5061", true),
        ("tcp.port any_eq 5061", true),
        ("tcp.port == 80", false),
        ("tcp.port != 5061", false),
        ("tcp.port ne 5061", false),
        ("tcp.port all_ne 5061", false),
        ("tcp.port != 80", true),
        ("tcp.port === 5061", false),
        ("tcp.port all_eq 5061", false),
        ("tcp.port !== 5061", true),
        ("tcp.port any_ne 5061", true),
        ("tcp.port < 5062", true),
        ("tcp.port lt 5061", false),
        ("tcp.port <= 5061", true),
        ("tcp.port le 5060", false),
        ("tcp.port > 49151", true),
        ("tcp.port gt 49152", false),
        ("tcp.port >= 49152", true),
        ("tcp.port ge 49153", false),
        ("all tcp.port > 1024", true),
        ("all tcp.port > 5061", false),
        ("any tcp.port > 5061", true),
        ("all tcp.port == 5061", false),
        ("any tcp.port != 5061", true),
        ("all tcp.port in {5061, 49152}", true),
        ("all tcp.port in {5061}", false),
        ("tcp.port in {80, 443, 5061}", true),
        ("tcp.port in {80 443 5061}", true),
        ("tcp.port in {5000..5100}", true),
        ("tcp.port in {1..1024, 8080}", false),
        ("tcp.port not in {80, 443}", true),
        ("tcp.port not in {5061}", false),
        (
            "tls.handshake.extensions_server_name contains \"example\"",
            true,
        ),
        (
            "tls.handshake.extensions_server_name contains \"EXAMPLE\"",
            false,
        ),
        ("tls.handshake.extensions_server_name > \"sip.a\"", true),
        (
            "tls.handshake.extensions_server_name in {\"a\"..\"t\"}",
            true,
        ),
        ("ip.addr in {10.0.0.5..10.0.0.6}", true),
        ("ip.addr > 10.0.0.8", true),
        ("ip.addr < 10.0.0.5", false),
    ];
    for (text, want) in cases {
        assert_eq!(ok(text).matches(&frame), want, "{text}");
    }
}

#[test]
fn not_equal_requires_the_field_like_wireshark() {
    // On an IPv6 frame there is no ip.addr: "!=" is false (implicit exists), "!(==)" is true.
    let v6 = ipv6_syn();
    assert!(!ok("ip.addr != 10.0.0.5").matches(&v6));
    assert!(ok("!(ip.addr == 10.0.0.5)").matches(&v6));
    assert!(!ok("ip.addr == 10.0.0.5").matches(&v6));
    // On a frame that has the address as one of its two values, "!=" is false: all must differ.
    let v4 = sip_client_hello();
    assert!(!ok("ip.addr != 10.0.0.5").matches(&v4));
    assert!(ok("ip.addr != 10.0.0.77").matches(&v4));
    // "!=" equals "!(==)" whenever the field is present.
    for text in [
        "10.0.0.5",
        "10.0.0.9",
        "10.0.0.1",
        "10.0.0.0/8",
        "11.0.0.0/8",
    ] {
        let ne = ok(&format!("ip.addr != {text}"));
        let not_eq = ok(&format!("!(ip.addr == {text})"));
        for frame in [sip_client_hello(), proxy_connect(), dns()] {
            assert_eq!(ne.matches(&frame), not_eq.matches(&frame), "{text}");
        }
    }
    // "not in" is "!(in)", so it is true without the field.
    assert!(ok("tcp.port not in {80}").matches(&dns()));
}

#[test]
fn hex_binary_octal_and_value_names() {
    let hello = sip_client_hello();
    for text in [
        "tcp.port == 0x13c5",
        "tcp.port == 0X13C5",
        "tcp.port == 0b1001111000101",
        "tcp.port == 011705",
        "tls.handshake.type == 0x01",
        "tls.handshake.type == \"Client Hello\"",
        "tls.handshake.type == \"client hello\"",
        "tls.handshake.type in {\"Client Hello\", \"Server Hello\"}",
    ] {
        assert!(ok(text).matches(&hello), "{text}");
    }
    assert_eq!(ok("tcp.port == 0x16").to_string(), "tcp.port == 22");
    assert_eq!(
        ok("tls.handshake.type == \"Client Hello\"").to_string(),
        "tls.handshake.type == 1"
    );
    assert!(ok("tls.handshake.type == Certificate").matches(&sip_server_flight()));
    assert!(ok("tls.alert_message.desc == \"Handshake Failure\"").matches(&sip_server_flight()));
    assert!(ok("ntlmssp.messagetype == NTLMSSP_AUTH").matches(&ntlm_auth()));
    assert!(!ok("ntlmssp.messagetype == NTLMSSP_AUTH").matches(&proxy_407()));
}

#[test]
fn ipv4_and_ipv6_addresses_and_networks() {
    let v6 = ipv6_syn();
    for (text, want) in [
        ("ipv6.addr == fe80::1", true),
        ("ipv6.addr == fe80:0:0:0:0:0:0:1", true),
        ("ipv6.src == fe80::/10", true),
        ("ipv6.dst == fe80::/10", false),
        ("ipv6.dst == 2001:db8::/32", true),
        ("ipv6.addr in {::1, 2001:db8::/32}", true),
        ("ipv6.addr > fe80::", true),
        ("ipv6.addr in {fe80::1..fe80::ff}", true),
        ("ipv6.src == ::/0", true),
    ] {
        assert_eq!(ok(text).matches(&v6), want, "{text}");
    }
    let v4 = proxy_connect();
    for (text, want) in [
        ("ip.addr == 192.168.0.0/16", true),
        ("ip.src == 192.168.0.0/16", false),
        ("ip.addr == 10.0.0.0/8 && ip.addr == 192.168.1.10", true),
        ("ip.addr == 10.99.0.5/8", true), // host bits are ignored
        ("ip.addr in {172.16.0.0/12, 192.168.1.0/24}", true),
        ("ip.addr == 0.0.0.0/0", true),
    ] {
        assert_eq!(ok(text).matches(&v4), want, "{text}");
    }
    assert_eq!(
        ok("ipv6.addr == fe80:0:0:0:0:0:0:1").to_string(),
        "ipv6.addr == fe80::1"
    );
    assert_eq!(
        ok("ip.addr == 10.1.2.3/8").to_string(),
        "ip.addr == 10.1.2.3/8"
    );
}

#[test]
fn bare_field_tests_presence_not_value() {
    // Like Wireshark, `tcp.flags.syn` is true for every TCP segment: the field is present.
    assert!(ok("tcp.flags.syn").matches(&sip_client_hello()));
    assert!(!ok("tcp.flags.syn").matches(&dns()));
    assert!(ok("tls.handshake.extensions_server_name").matches(&sip_client_hello()));
    assert!(!ok("tls.handshake.extensions_server_name").matches(&sip_server_flight()));
}

#[test]
fn strings_bare_quoted_and_escaped() {
    let connect = proxy_connect();
    assert!(ok("http.request.method == CONNECT").matches(&connect));
    assert!(!ok("http.request.method == connect").matches(&connect));
    assert!(ok("http.request.method == \"\\x43ONNECT\"").matches(&connect));
    assert!(ok("http.host contains example").matches(&connect));
    assert!(ok("http.request.uri == sip.example.com:5061").matches(&connect));
    let unc = TestFrame::new(&[Protocol::Http]).text(Field::HttpRequestUri, "\\\\srv\\share");
    assert!(ok(r#"http.request.uri == r"\\srv\share""#).matches(&unc));
    let spaced = TestFrame::new(&[Protocol::Http]).text(Field::HttpRequestUri, "/a b?c=\"d\"");
    assert!(ok(r#"http.request.uri == "/a b?c=\"d\"""#).matches(&spaced));
    assert_eq!(
        ok("http.request.method == GET").to_string(),
        "http.request.method == \"GET\""
    );
}

#[test]
fn values_of_the_wrong_type_are_ignored() {
    let odd = TestFrame::new(&[Protocol::Ip])
        .with(Field::IpAddr, Value::Addr(IpAddr::V6(Ipv6Addr::LOCALHOST)))
        .with(Field::TcpPort, Value::Str("80"))
        .with(Field::TcpFlagsSyn, Value::Unsigned(2));
    assert!(!ok("ip.addr").matches(&odd));
    assert!(!ok("ip.addr != 10.0.0.1").matches(&odd));
    assert!(!ok("tcp.port == 80").matches(&odd));
    // Booleans may come as integers: non-zero is true.
    assert!(ok("tcp.flags.syn == 1").matches(&odd));
}

#[test]
fn fields_protocols_and_layer() {
    let f = ok("tcp.port == 80 && ip.addr == 10.0.0.1 || frame.number < 10");
    assert_eq!(
        f.fields().iter().collect::<Vec<_>>(),
        [Field::FrameNumber, Field::IpAddr, Field::TcpPort]
    );
    assert!(f.protocols().is_empty());
    assert_eq!(f.layer(), Layer::Packet);
    assert!(f.is_frame_level());

    let f = ok("tcp.stream == 3 and tcp");
    assert_eq!(f.layer(), Layer::Connection);
    assert!(!f.is_frame_level());
    assert_eq!(f.protocols().iter().collect::<Vec<_>>(), [Protocol::Tcp]);

    let f = ok("tcp.port == 5061 || http");
    assert_eq!(f.layer(), Layer::Application);
    assert_eq!(ok("!tls.handshake.type").layer(), Layer::Application);
    assert!(ok("frame && udp && ipv6").is_frame_level());
}

/// Records which fields and protocols evaluation asks for.
struct Recorder<'a> {
    frame: &'a TestFrame,
    fields: Cell<FieldSet>,
    protocols: Cell<ProtocolSet>,
}

impl FieldSource for Recorder<'_> {
    fn has_protocol(&self, protocol: Protocol) -> bool {
        let mut set = self.protocols.get();
        set.insert(protocol);
        self.protocols.set(set);
        self.frame.has_protocol(protocol)
    }

    fn values(&self, field: Field, out: &mut dyn FnMut(Value<'_>)) {
        let mut set = self.fields.get();
        set.insert(field);
        self.fields.set(set);
        self.frame.values(field, out);
    }
}

#[test]
fn evaluation_only_asks_for_the_listed_fields() {
    let f = ok("(tcp.port in {1..100} || !http.host contains x) && ntlmssp ^^ tls.handshake.type");
    for frame in [sip_client_hello(), proxy_connect(), ntlm_auth(), dns()] {
        let recorder = Recorder {
            frame: &frame,
            fields: Cell::new(FieldSet::EMPTY),
            protocols: Cell::new(ProtocolSet::EMPTY),
        };
        let _ = f.matches(&recorder);
        assert!(recorder.fields.get().iter().all(|x| f.fields().contains(x)));
        assert!(recorder
            .protocols
            .get()
            .iter()
            .all(|p| f.protocols().contains(p)));
    }
}

/// `(filter, kind, column, width, message)` for filters that must be rejected.
#[test]
fn errors_point_at_the_right_column_with_wireshark_messages() {
    use FilterErrorKind::*;
    let cases: &[(&str, FilterErrorKind, usize, usize, &str)] = &[
        ("tcp.prot == 80", UnknownName, 0, 8, "\"tcp.prot\" is neither a field nor a protocol name."),
        ("tcp && htp", UnknownName, 7, 3, "\"htp\" is neither a field nor a protocol name."),
        ("tcp.port == ", UnexpectedEnd, 12, 1, "expected a value after \"==\""),
        ("tcp.port ==", UnexpectedEnd, 11, 1, "expected a value after \"==\""),
        ("tcp.port eq", UnexpectedEnd, 11, 1, "expected a value after \"eq\""),
        ("tcp.port == )", Syntax, 12, 1, "expected a value after \"==\""),
        ("tcp.port == foo", InvalidValue, 12, 3, "\"foo\" is not a valid number."),
        ("tcp.port == 70000", InvalidValue, 12, 5, "\"70000\" too big for this field, maximum 65535."),
        ("tcp.port == -1", InvalidValue, 12, 2, "Unsigned numbers cannot be negative."),
        ("frame.number == 99999999999999999999", InvalidValue, 16, 20, "\"99999999999999999999\" causes an integer overflow."),
        ("ip.addr == 10.0.0.256", InvalidValue, 11, 10, "\"10.0.0.256\" is not a valid IPv4 address."),
        ("ip.src == fe80::1", InvalidValue, 10, 7, "\"fe80::1\" is not a valid IPv4 address."),
        ("ipv6.addr == 10.0.0.1", InvalidValue, 13, 8, "\"10.0.0.1\" is not a valid IPv6 address."),
        ("ip.addr == 10.0.0.0/40", InvalidValue, 11, 11, "\"10.0.0.0/40\" is not a valid IPv4 network: the prefix length must be 0 to 32."),
        ("tcp.flags.syn == yes", InvalidValue, 17, 3, "\"yes\" is not a valid Boolean."),
        ("ntlmssp.messagetype == NTLMSSP_BOGUS", InvalidValue, 23, 13, "\"NTLMSSP_BOGUS\" cannot be found among the possible values for ntlmssp.messagetype."),
        ("(tcp.port == 80", Unbalanced, 0, 1, "Unbalanced parentheses: this \"(\" is never closed."),
        ("tcp || ((udp) && (http)", Unbalanced, 7, 1, "Unbalanced parentheses: this \"(\" is never closed."),
        ("tcp.port == 80)", Unbalanced, 14, 1, "Unbalanced parentheses: this \")\" has no matching \"(\"."),
        (")", Unbalanced, 0, 1, "Unbalanced parentheses: this \")\" has no matching \"(\"."),
        ("()", Syntax, 1, 1, "\")\" was unexpected in this context."),
        ("tcp &&", UnexpectedEnd, 6, 1, "Unexpected end of filter expression."),
        ("not", UnexpectedEnd, 3, 1, "Unexpected end of filter expression."),
        ("", Empty, 0, 1, "The filter expression is empty."),
        (" \t\n", Empty, 0, 1, "The filter expression is empty."),
        ("tcp udp", Syntax, 4, 3, "\"udp\" was unexpected in this context."),
        ("tcp not udp", Syntax, 4, 3, "\"not\" was unexpected in this context."),
        ("== 80", Syntax, 0, 2, "\"==\" was unexpected in this context."),
        ("tcp.port == 80 == 81", Syntax, 15, 2, "\"==\" was unexpected in this context."),
        ("tcp.port = 80", Syntax, 9, 1, "\"=\" was unexpected in this context."),
        ("tcp & udp", Syntax, 4, 1, "\"&\" was unexpected in this context."),
        ("tcp.port == 80 $", Syntax, 15, 1, "\"$\" was unexpected in this context."),
        ("\"tcp\"", Syntax, 0, 5, "\"\"tcp\"\" was unexpected in this context."),
        ("http.host == \"abc", Syntax, 13, 1, "The string is missing its closing double quote."),
        ("http.host == \"a\\qb\"", Syntax, 15, 2, "\"\\q\" is not a valid escape sequence."),
        ("ip.addr contains \"10\"", TypeMismatch, 8, 8, "\"ip.addr\" (type=IPv4 address) cannot participate in \"contains\" comparison."),
        ("tcp.port contains 80", TypeMismatch, 9, 8, "\"tcp.port\" (type=Unsigned integer (16 bits)) cannot participate in \"contains\" comparison."),
        ("tcp.flags.syn > 0", TypeMismatch, 14, 1, "\"tcp.flags.syn\" (type=Boolean) cannot participate in \">\" comparison."),
        ("tcp.analysis.flags == 1", TypeMismatch, 19, 2, "\"tcp.analysis.flags\" (type=Label) cannot participate in \"==\" comparison."),
        ("tcp.analysis.retransmission in {1}", TypeMismatch, 28, 2, "\"tcp.analysis.retransmission\" (type=Label) cannot participate in \"in\" comparison."),
        ("tcp.analysis.lost_segment not in {1}", TypeMismatch, 26, 3, "\"tcp.analysis.lost_segment\" (type=Label) cannot participate in \"not\" comparison."),
        ("tcp.analysis.zero_window contains \"x\"", TypeMismatch, 25, 8, "\"tcp.analysis.zero_window\" (type=Label) cannot participate in \"contains\" comparison."),
        ("tcp.flags.syn in {0..1}", TypeMismatch, 19, 2, "\"tcp.flags.syn\" (type=Boolean) cannot be used with a range."),
        ("http == 1", TypeMismatch, 0, 4, "\"http\" is a protocol; it can only be tested for presence, not compared with a value."),
        ("http.host matches \"x\"", Unsupported, 10, 7, "The \"matches\" operator (regular expressions) is not supported."),
        ("http.host ~ \"x\"", Unsupported, 10, 1, "The \"~\" operator (regular expressions) is not supported."),
        ("ip.src == ip.dst", Unsupported, 10, 6, "\"ip.dst\" is a field name; comparing with another field or protocol is not supported."),
        ("len(http.host) > 5", Unsupported, 0, 3, "Functions such as \"len()\" are not supported."),
        ("frame[0:2] == 00:01", Unsupported, 5, 1, "Slices (\"[...]\") are not supported."),
        ("ip.addr > 10.0.0.0/8", InvalidValue, 10, 10, "CIDR notation can only be used with \"==\", \"!=\", \"===\", \"!==\" and in a set."),
        ("tcp.port in 80", Syntax, 12, 2, "expected \"{\" after \"in\""),
        ("tcp.port in", UnexpectedEnd, 11, 1, "expected \"{\" after \"in\""),
        ("tcp.port in {}", Syntax, 13, 1, "A set must contain at least one value."),
        ("tcp.port in {80,", Unbalanced, 12, 1, "Unbalanced braces: this \"{\" is never closed."),
        ("tcp.port in {80,}", Syntax, 16, 1, "expected a value after \",\""),
        ("tcp.port in {80,,81}", Syntax, 16, 1, "\",\" was unexpected in this context."),
        ("tcp.port in {80..}", Syntax, 17, 1, "expected a value after \"..\""),
        ("tcp.port == {80}", Syntax, 12, 1, "expected a value after \"==\""),
        ("all tcp.port", UnexpectedEnd, 12, 1, "expected a comparison after \"tcp.port\""),
        ("all (tcp)", Syntax, 4, 1, "expected a field name after \"all\""),
        ("5061", UnknownName, 0, 4, "\"5061\" is neither a field nor a protocol name."),
        // Columns count characters, not bytes.
        ("http.host == \"é\" && x", UnknownName, 20, 1, "\"x\" is neither a field nor a protocol name."),
    ];
    for (text, kind, column, width, message) in cases {
        let e = err(text);
        assert_eq!(
            (e.kind, e.column, e.width, e.message.as_str()),
            (*kind, *column, *width, *message),
            "for {text:?}:\n{}",
            e.render(text)
        );
    }
}

#[test]
fn hints_suggest_fixes() {
    let hint = |text: &str| err(text).hint.unwrap_or_default();
    assert_eq!(
        hint("tcp.analysis.flags != 0"),
        "a label is only tested alone: tcp.analysis.flags"
    );
    assert_eq!(hint("tcp.prot == 80"), "did you mean \"tcp.port\"?");
    assert_eq!(hint("tcp AND udp"), "operators are lowercase: \"and\"");
    assert_eq!(hint("tcp udp"), "join tests with \"&&\" or \"||\"");
    assert_eq!(hint("tcp.port = 80"), "use \"==\" to test equality");
    assert_eq!(
        hint("5061"),
        "a value needs a field to compare with, e.g. tcp.port == 5061"
    );
    assert_eq!(
        hint("10.0.0.1"),
        "a value needs a field to compare with, e.g. ip.addr == 10.0.0.1"
    );
    assert_eq!(
        hint("http == 1"),
        "compare one of its fields, e.g. http.request"
    );
    assert_eq!(
        hint("ip.src == fe80::1"),
        "ip.src holds IPv4 addresses; use ipv6.src for this one"
    );
    assert_eq!(
        hint("http.host == http.request"),
        "quote it to compare with the text: \"http.request\""
    );
    assert!(hint("ntlmssp.domain == x").starts_with("the ntlmssp fields wiretale knows are: "));
    assert!(hint("tcp.port == 80 $").is_empty());
    assert_eq!(
        hint("http.request.uri == /a?b=1"),
        "put values with special characters in double quotes"
    );
}

#[test]
fn render_shows_the_filter_and_a_caret() {
    let text = "tcp.port == ";
    assert_eq!(
        err(text).render(text),
        "tcp.port == \n            ^ expected a value after \"==\""
    );
    let text = "tcp.port == 80 && http.hots";
    assert_eq!(
        err(text).render(text),
        "tcp.port == 80 && http.hots\n                  ^~~~~~~~~ \"http.hots\" is neither a field nor a protocol name.\nhint: did you mean \"http.host\"?"
    );
    // A tab or newline in the filter does not shift the caret.
    let text = "tcp\t&&\nudp )";
    assert_eq!(
        err(text).render(text),
        "tcp && udp )\n           ^ Unbalanced parentheses: this \")\" has no matching \"(\"."
    );
}

#[test]
fn nesting_and_length_limits() {
    let nested = |n: usize| format!("{}tcp{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    let e = err(&nested(MAX_DEPTH + 1));
    assert_eq!((e.kind, e.column), (FilterErrorKind::TooDeep, MAX_DEPTH));
    let negated = |n: usize| format!("{}tcp", "!".repeat(n));
    assert!(parse(&negated(MAX_DEPTH)).is_ok());
    let e = err(&negated(MAX_DEPTH + 1));
    assert_eq!((e.kind, e.column), (FilterErrorKind::TooDeep, MAX_DEPTH));
    // Mixed: each "!(" counts twice.
    let e = err(&format!("{}tcp", "!(".repeat(MAX_DEPTH)));
    assert_eq!(e.kind, FilterErrorKind::TooDeep);

    // Without the length cap, the depth guard alone stops very deep input.
    let e = parser::parse_expr(&"(".repeat(200_000)).err();
    assert_eq!(e.map(|e| e.kind), Some(FilterErrorKind::TooDeep));
    let e = parser::parse_expr(&"!".repeat(200_000)).err();
    assert_eq!(e.map(|e| e.kind), Some(FilterErrorKind::TooDeep));

    // A long flat chain is fine up to the length cap...
    let chain = vec!["tcp.port == 80"; 200].join(" || ");
    assert!(chain.len() < MAX_FILTER_CHARS);
    let f = ok(&chain);
    assert!(matches!(f.expr(), Expr::Or(v) if v.len() == 200));
    // ...and over it, the error is at the limit.
    let long = vec!["tcp"; 2000].join(" || ");
    let e = err(&long);
    assert_eq!(
        (e.kind, e.column),
        (FilterErrorKind::TooLong, MAX_FILTER_CHARS)
    );
    // The cap counts characters, not bytes.
    let wide = format!("http.host == \"{}\"", "é".repeat(3000));
    assert!(wide.len() > MAX_FILTER_CHARS && parse(&wide).is_ok());
}

#[test]
fn canonical_text_round_trips() {
    let cases = [
        ("tcp.port==5061 || http", "tcp.port == 5061 || http"),
        ("tcp.port eq 80 and not tls", "tcp.port == 80 && !tls"),
        ("not tcp.port == 80", "!(tcp.port == 80)"),
        ("not (tcp or udp)", "!(tcp || udp)"),
        ("(tcp or udp) and http", "(tcp || udp) && http"),
        ("tcp and udp or http", "tcp && udp || http"),
        ("tcp xor udp or http", "tcp ^^ udp || http"),
        ("(tcp or udp) xor http", "(tcp || udp) ^^ http"),
        ("!!tcp", "!!tcp"),
        ("tcp.port all_eq 80", "tcp.port === 80"),
        ("tcp.port any_ne 80", "tcp.port !== 80"),
        ("tcp.port ne 80", "tcp.port != 80"),
        ("all tcp.port != 80", "tcp.port != 80"),
        ("any tcp.port != 80", "tcp.port !== 80"),
        ("all tcp.port ge 1024", "all tcp.port >= 1024"),
        (
            "tcp.port in {80 443 8000..8080}",
            "tcp.port in {80, 443, 8000..8080}",
        ),
        ("tcp.port not in {80}", "tcp.port not in {80}"),
        ("!(tcp.port in {80})", "tcp.port not in {80}"),
        ("all tcp.port not in {80}", "!(all tcp.port in {80})"),
        (
            "ip.addr in {10.0.0.0/8, 192.168.1.1 .. 192.168.1.9}",
            "ip.addr in {10.0.0.0/8, 192.168.1.1..192.168.1.9}",
        ),
        ("tcp.flags.syn == true", "tcp.flags.syn == 1"),
        ("tcp.flags.syn == False", "tcp.flags.syn == 0"),
        ("http.host contains foo", "http.host contains \"foo\""),
        (
            "http.request.uri == \"a\\\"b\\\\c\\n\"",
            "http.request.uri == \"a\\\"b\\\\c\\n\"",
        ),
        ("ssl.handshake.type == 0x02", "tls.handshake.type == 2"),
        ("ssl", "tls"),
        ("ipv6.addr == FE80::0:1", "ipv6.addr == fe80::1"),
        ("  tcp  ", "tcp"),
    ];
    for (input, canonical) in cases {
        let f = ok(input);
        assert_eq!(f.to_string(), canonical, "{input}");
        assert_eq!(ok(canonical), f, "{input}");
        assert_eq!(ok(&f.to_string()).to_string(), canonical);
    }
    assert_eq!(
        serde_json::to_string(&ok("tcp.port eq 80")).ok().as_deref(),
        Some("\"tcp.port == 80\"")
    );
    assert_eq!("tcp".parse::<Filter>(), parse("tcp"));
}

/// Valid filter fragments covering every field, operator and value form.
const LEAVES: &[&str] = &[
    "frame",
    "ip",
    "ipv6",
    "tcp",
    "udp",
    "tls",
    "http",
    "ntlmssp",
    "frame.number <= 100",
    "ip.addr == 10.0.0.0/8",
    "ip.src != 192.168.1.10",
    "ip.dst in {10.0.0.1..10.0.0.9, 172.16.0.0/12}",
    "ipv6.addr == fe80::/10",
    "ipv6.src === ::1",
    "ipv6.dst > 2001:db8::",
    "tcp.port == 5061",
    "tcp.srcport !== 0x50",
    "tcp.dstport in {80 443}",
    "tcp.stream ge 3",
    "tcp.len > 0",
    "tcp.flags.syn == 1",
    "tcp.flags.ack",
    "tcp.flags.reset eq true",
    "tcp.flags.fin != 0",
    "udp.port == 53",
    "udp.srcport < 1024",
    "udp.dstport not in {53, 5353}",
    "tls.handshake.type == \"Client Hello\"",
    "tls.handshake.extensions_server_name contains \"sip\"",
    "tls.alert_message.desc == 40",
    "http.request",
    "http.response",
    "http.request.method in {\"GET\", \"CONNECT\"}",
    "http.request.uri contains \"/\\x41\\u00e9\"",
    "http.host == r\"proxy\\corp\"",
    "http.response.code >= 400",
    "ntlmssp.messagetype == NTLMSSP_AUTH",
    "ntlmssp.auth.username == \"\"",
    "all tcp.port > 1024",
    "any ip.addr != 10.0.0.1",
];

/// Random well-formed filters built from [`LEAVES`] with every logical operator form.
fn filter_text() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(LEAVES).prop_map(str::to_string);
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} || {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} ^^ {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) xor ({b})")),
        ]
    })
}

/// Tokens, valid and not, glued together at random.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(
        &[
            "tcp",
            "tcp.port",
            "ip.addr",
            "http.host",
            "tls.handshake.type",
            "tcp.flags.syn",
            "==",
            "!=",
            "===",
            "!==",
            "<",
            ">=",
            "eq",
            "contains",
            "matches",
            "in",
            "not",
            "!",
            "&&",
            "||",
            "^^",
            "and",
            "or",
            "any",
            "all",
            "(",
            ")",
            "{",
            "}",
            ",",
            "..",
            "80",
            "0x16",
            "10.0.0.0/8",
            "fe80::1",
            "\"x\"",
            "\"\\",
            "r\"",
            "-1",
            "true",
            "=",
            "&",
            "[",
            "'",
            "é",
            "\t",
        ][..],
    );
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        check_consistent(&text)?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_consistent(&text)?;
    }

    #[test]
    fn generated_filters_parse_and_round_trip(text in filter_text()) {
        let filter = parse(&text).map_err(|e| TestCaseError::fail(e.render(&text)))?;
        let canonical = filter.to_string();
        let again = parse(&canonical).map_err(|e| TestCaseError::fail(e.render(&canonical)))?;
        prop_assert_eq!(&again, &filter);
        prop_assert_eq!(again.to_string(), canonical);
        for frame in [sip_client_hello(), proxy_connect(), ntlm_auth(), ipv6_syn(), dns()] {
            prop_assert_eq!(filter.matches(&frame), again.matches(&frame));
        }
    }
}

proptest! {
    // Fewer cases: each one generates up to 1500 elements.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deep_nesting_is_an_error_not_a_crash(
        opens in prop::collection::vec(prop::sample::select(&["(", "!", "not ", "( !"][..]), 65..1500),
    ) {
        let text = format!("{}tcp{}", opens.concat(), ")".repeat(opens.len()));
        let want = if text.chars().count() > MAX_FILTER_CHARS {
            FilterErrorKind::TooLong
        } else {
            FilterErrorKind::TooDeep
        };
        match parse(&text) {
            Err(e) => prop_assert_eq!(e.kind, want),
            Ok(f) => prop_assert!(false, "parsed {} levels: {}", opens.len(), f),
        }
        // The depth guard holds on its own, without the length cap in front of it.
        let e = parser::parse_expr(&text).err();
        prop_assert_eq!(e.map(|e| e.kind), Some(FilterErrorKind::TooDeep));
    }
}

/// Parsing never panics; errors point inside (or just past) the text; accepted filters
/// round-trip through their canonical text and evaluate without panicking.
fn check_consistent(text: &str) -> Result<(), TestCaseError> {
    match parse(text) {
        Ok(filter) => {
            let canonical = filter.to_string();
            let again = parse(&canonical).map_err(|e| TestCaseError::fail(e.render(&canonical)))?;
            prop_assert_eq!(&again, &filter);
            let _ = filter.matches(&sip_client_hello());
            let _ = filter.matches(&TestFrame::default());
        }
        Err(e) => {
            prop_assert!(e.column <= text.chars().count().max(MAX_FILTER_CHARS));
            prop_assert!(e.width >= 1);
            prop_assert!(!e.message.is_empty());
            let _ = e.render(text);
        }
    }
    Ok(())
}
