//! Micro-benchmarks of wiretale's hot paths, on workloads generated in memory:
//!
//! * `capture/records`: reading every record (pcap and pcapng);
//! * `net/decode`: link → IP → TCP decoding of every record;
//! * `tcp/reassembly`: decoding plus the flow table and reassembly, bytes consumed as they come;
//! * `pipeline/analyze`: the whole library analysis (decoders, events) with a discarding sink;
//! * `proto/tls`, `proto/http`, `proto/ntlm`: the decoders alone on real message bytes.
//!
//! `cargo bench -p wiretale-benches` (add `-- capture` to run one group). Under `cargo test`
//! criterion runs each benchmark once, as a smoke test.

use std::hint::black_box;
use std::io::Cursor;
use std::ops::Range;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wiretale::capture::{CaptureReader, Timestamp};
use wiretale::net::{Decoded, NetDecoder};
use wiretale::pipeline::{analyze, AnalyzerConfig};
use wiretale::proto::http::{HttpConfig, HttpConnectionParser};
use wiretale::proto::tls::TlsConnectionParser;
use wiretale::proto::{ntlm, ConnectionParser, Dir, Feed};
use wiretale::tcp::{
    ConnEvent, ConnInfo, EndReason, FlowSummary, FrameMap, Gap, StreamHandler, TcpConfig,
    TcpTracker,
};
use wiretale::timeline::EventSink;
use wiretale_benches::workload;
use wiretale_fixtures::payloads::tls::{
    self, cipher_suite, content_type, version, ClientHello, Extension, ServerHello,
};
use wiretale_fixtures::payloads::{certs, deterministic_bytes, http, ntlm as ntlm_tokens};
use wiretale_fixtures::workload::{Format, Shape};

/// Size of the in-memory workloads: big enough to leave the caches, small enough to build fast.
const WORKLOAD_BYTES: u64 = 8 << 20;

fn workloads() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "mixed",
            workload(Shape::Mixed, WORKLOAD_BYTES, Format::Pcap),
        ),
        (
            "mixed-pcapng",
            workload(Shape::Mixed, WORKLOAD_BYTES, Format::Pcapng),
        ),
        (
            "bulk-tls",
            workload(Shape::BulkTls, WORKLOAD_BYTES, Format::Pcap),
        ),
        (
            "many-conns",
            workload(Shape::ManyConns, WORKLOAD_BYTES, Format::Pcap),
        ),
    ]
}

fn reader(file: &[u8]) -> CaptureReader<'_> {
    match CaptureReader::new(Cursor::new(file)) {
        Ok(r) => r,
        Err(e) => panic!("workload is not a capture: {e}"),
    }
}

fn capture_and_net(c: &mut Criterion) {
    let files = workloads();
    let mut group = c.benchmark_group("capture");
    for (name, file) in &files {
        group.throughput(Throughput::Bytes(file.len() as u64));
        group.bench_with_input(BenchmarkId::new("records", name), file, |b, file| {
            b.iter(|| {
                let mut r = reader(file);
                let mut bytes = 0usize;
                while let Ok(Some(rec)) = r.next_record() {
                    bytes += rec.data.len();
                }
                black_box(bytes)
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("net");
    for (name, file) in &files {
        group.throughput(Throughput::Bytes(file.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", name), file, |b, file| {
            b.iter(|| {
                let mut r = reader(file);
                let mut net = NetDecoder::default();
                let mut payload = 0usize;
                while let Ok(Some(rec)) = r.next_record() {
                    if let Decoded::Tcp(seg) = net.decode(&rec) {
                        payload += seg.payload.len();
                    }
                }
                black_box(payload)
            })
        });
    }
    group.finish();
}

/// Takes every byte as it comes: the reassembler's cost without a decoder.
struct ConsumeAll(u64);

impl StreamHandler for ConsumeAll {
    type Conn = ();
    fn open(&mut self, _: &ConnInfo) {}
    fn data(&mut self, _: &mut (), _: &ConnInfo, _: Dir, input: &[u8], _: FrameMap<'_>) -> Feed {
        self.0 += input.len() as u64;
        Feed {
            consumed: input.len(),
            skip: 0,
        }
    }
    fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: &Gap) {}
    fn end(&mut self, _: &mut (), _: &ConnInfo, _: Dir, _: EndReason, _: &[u8], _: FrameMap<'_>) {}
    fn event(&mut self, _: &mut (), _: &ConnInfo, _: u64, _: Timestamp, _: ConnEvent) {}
    fn closed(&mut self, _: (), _: FlowSummary) {}
}

struct Discard;
impl EventSink for Discard {}

fn tcp_and_pipeline(c: &mut Criterion) {
    let files = workloads();
    let mut group = c.benchmark_group("tcp");
    for (name, file) in &files {
        group.throughput(Throughput::Bytes(file.len() as u64));
        group.bench_with_input(BenchmarkId::new("reassembly", name), file, |b, file| {
            b.iter(|| {
                let mut r = reader(file);
                let mut net = NetDecoder::default();
                let mut handler = ConsumeAll(0);
                let mut tcp = TcpTracker::new(TcpConfig::default());
                let mut last = Timestamp::default();
                while let Ok(Some(rec)) = r.next_record() {
                    last = rec.time;
                    if let Decoded::Tcp(seg) = net.decode(&rec) {
                        tcp.segment(rec.frame, rec.time, &seg, &mut handler);
                    }
                }
                tcp.finish(&mut handler, last);
                black_box(handler.0)
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("pipeline");
    for (name, file) in &files {
        group.throughput(Throughput::Bytes(file.len() as u64));
        group.bench_with_input(BenchmarkId::new("analyze", name), file, |b, file| {
            b.iter(|| {
                let report = analyze(&mut reader(file), &AnalyzerConfig::default(), &mut Discard);
                black_box(report.stats.frames_read)
            })
        });
    }
    group.finish();
}

/// Feeds a scripted exchange to a parser the way the reassembler does: unconsumed bytes stay
/// buffered, skipped bytes are dropped. Returns the messages reported.
fn drive<P: ConnectionParser>(parser: &mut P, script: &[(Dir, Vec<u8>)]) -> usize {
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut skip = [0u64; 2];
    let mut messages = 0;
    for (dir, bytes) in script {
        let i = usize::from(*dir == Dir::ToClient);
        let drop = usize::try_from(skip[i])
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        skip[i] -= drop as u64;
        pending[i].extend_from_slice(&bytes[drop..]);
        let mut count = |_: Range<usize>, _: P::Message| messages += 1;
        let feed = parser.feed(*dir, &pending[i], &mut count);
        pending[i].drain(..feed.consumed.min(pending[i].len()));
        let drop = usize::try_from(feed.skip)
            .unwrap_or(usize::MAX)
            .min(pending[i].len());
        pending[i].drain(..drop);
        skip[i] = feed.skip - drop as u64;
    }
    messages
}

fn unwrap<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("building the benchmark input failed: {e:?}"),
    }
}

/// A TLS 1.2 connection: hellos, a two-certificate chain, finishes, 4 × 16 kB of application
/// data each way, close_notify.
fn tls_script() -> Vec<(Dir, Vec<u8>)> {
    let v = version::TLS1_2;
    let mut ch = ClientHello::new(v, 1);
    ch.cipher_suites = vec![cipher_suite::ECDHE_RSA_WITH_AES_128_GCM_SHA256];
    ch.extensions = vec![
        unwrap(Extension::server_name("www.example.com")),
        unwrap(Extension::supported_groups(&[29, 23])),
        Extension::ec_point_formats(),
        Extension::extended_master_secret(),
    ];
    let hello = unwrap(tls::record(
        content_type::HANDSHAKE,
        tls::version::TLS1_0,
        &unwrap(ch.encode()),
    ));
    let mut flight =
        unwrap(ServerHello::new(v, cipher_suite::RSA_WITH_AES_128_GCM_SHA256, 2).encode());
    flight.extend_from_slice(&unwrap(tls::certificate(&[
        certs::HTTPS_SERVER,
        certs::HTTPS_INTERMEDIATE,
    ])));
    flight.extend_from_slice(&tls::server_hello_done());
    let flight = unwrap(tls::record(content_type::HANDSHAKE, v, &flight));
    let mut finish = unwrap(tls::record(
        content_type::HANDSHAKE,
        v,
        &unwrap(tls::client_key_exchange_rsa(&deterministic_bytes(3, 256))),
    ));
    finish.extend_from_slice(&tls::change_cipher_spec(v));
    finish.extend_from_slice(&unwrap(tls::encrypted_record(
        content_type::HANDSHAKE,
        v,
        40,
        4,
    )));
    let mut server_finish = tls::change_cipher_spec(v);
    server_finish.extend_from_slice(&unwrap(tls::encrypted_record(
        content_type::HANDSHAKE,
        v,
        40,
        5,
    )));
    let data = unwrap(tls::encrypted_record(
        content_type::APPLICATION_DATA,
        v,
        tls::MAX_FRAGMENT + 24,
        6,
    ));
    let mut script = vec![
        (Dir::ToServer, hello),
        (Dir::ToClient, flight),
        (Dir::ToServer, finish),
        (Dir::ToClient, server_finish),
    ];
    for _ in 0..4 {
        script.push((Dir::ToServer, data.clone()));
        script.push((Dir::ToClient, data.clone()));
    }
    script.push((
        Dir::ToServer,
        unwrap(tls::encrypted_record(content_type::ALERT, v, 26, 7)),
    ));
    script
}

/// NTLM proxy authentication on one keep-alive connection: 407, Type 1, 407 with Type 2,
/// Type 3, 200 with a 9 kB page.
fn http_script() -> Vec<(Dir, Vec<u8>)> {
    let get = |auth: Option<&str>| {
        let mut h = vec![
            ("Host", "www.example.com"),
            ("Proxy-Connection", "Keep-Alive"),
        ];
        if let Some(a) = auth {
            h.push(("Proxy-Authorization", a));
        }
        http::request("GET", "http://www.example.com/", "HTTP/1.1", &h, b"")
    };
    let denied = http::response(
        "HTTP/1.1",
        407,
        "Proxy Authentication Required",
        &[("Proxy-Authenticate", "NTLM"), ("Content-Length", "0")],
        b"",
    );
    let challenge = format!("NTLM {}", ntlm_tokens::CASE_STUDY_TYPE2);
    let challenged = http::response(
        "HTTP/1.1",
        407,
        "Proxy Authentication Required",
        &[("Proxy-Authenticate", &challenge), ("Content-Length", "0")],
        b"",
    );
    let page = http::html_page("bench", 9000);
    let ok = http::response(
        "HTTP/1.1",
        200,
        "OK",
        &[("Content-Length", &page.len().to_string())],
        &page,
    );
    let type1 = format!("NTLM {}", ntlm_tokens::CASE_STUDY_TYPE1);
    let type3 = format!("NTLM {}", ntlm_tokens::base64_encode(&type3_token()));
    vec![
        (Dir::ToServer, get(None)),
        (Dir::ToClient, denied),
        (Dir::ToServer, get(Some(&type1))),
        (Dir::ToClient, challenged),
        (Dir::ToServer, get(Some(&type3))),
        (Dir::ToClient, ok),
    ]
}

fn type3_token() -> Vec<u8> {
    let creds = ntlm_tokens::Credentials {
        user: "jdoe",
        domain: "MAPLE",
        workstation: "T6CK943Y",
        password: "Fixture-Passw0rd",
        client_challenge: [7; 8],
        timestamp: 133_540_000_000_000_000,
    };
    unwrap(ntlm_tokens::answer_case_study_type2(&creds))
}

fn decoders(c: &mut Criterion) {
    let mut group = c.benchmark_group("proto");
    let tls = tls_script();
    // The inputs must decode, or the benchmarks would time error paths.
    let messages = drive(&mut TlsConnectionParser::new(), &tls);
    assert!(messages >= 6, "TLS script decoded to {messages} messages");
    group.throughput(Throughput::Bytes(
        tls.iter().map(|(_, b)| b.len() as u64).sum(),
    ));
    group.bench_function("tls/connection", |b| {
        b.iter(|| drive(&mut TlsConnectionParser::new(), black_box(&tls)))
    });
    let http = http_script();
    let messages = drive(&mut HttpConnectionParser::new(HttpConfig::default()), &http);
    assert!(messages >= 6, "HTTP script decoded to {messages} messages");
    group.throughput(Throughput::Bytes(
        http.iter().map(|(_, b)| b.len() as u64).sum(),
    ));
    group.bench_function("http/ntlm-proxy-exchange", |b| {
        b.iter(|| {
            drive(
                &mut HttpConnectionParser::new(HttpConfig::default()),
                black_box(&http),
            )
        })
    });
    let tokens = [
        unwrap(ntlm_tokens::base64_decode(ntlm_tokens::CASE_STUDY_TYPE1)),
        unwrap(ntlm_tokens::base64_decode(ntlm_tokens::CASE_STUDY_TYPE2)),
        type3_token(),
    ];
    group.throughput(Throughput::Bytes(
        tokens.iter().map(|t| t.len() as u64).sum(),
    ));
    group.bench_function("ntlm/type1-2-3", |b| {
        b.iter(|| {
            tokens
                .iter()
                .filter(|t| ntlm::parse_message(black_box(t)).is_ok())
                .count()
        })
    });
    let header = format!("NTLM {}", ntlm_tokens::base64_encode(&type3_token()));
    group.bench_function("ntlm/auth-header", |b| {
        b.iter(|| ntlm::decode_auth_header_value(black_box(&header)).is_some())
    });
    group.finish();
}

criterion_group!(benches, capture_and_net, tcp_and_pipeline, decoders);
criterion_main!(benches);
