//! Large deterministic captures for benchmarks, written as they are scripted (constant memory
//! whatever the size).
//!
//! Three shapes (see [`Shape`]): `mixed` proxy/NTLM/TLS/HTTP traffic, `bulk-tls` (a few long TLS
//! connections that are almost all application data) and `many-conns` (short HTTP
//! connections). Every byte is real: valid TCP with handshakes, peer ACKs and orderly closes,
//! real HTTP messages, NTLM Type 1/2/3 tokens, TLS records with a certificate chain. Several
//! connections are open at a time and their steps interleave, as on a real link.
//!
//! `cargo run --release -p wiretale-fixtures --bin gen-workload -- mixed /tmp/mixed.pcap
//! --bytes 1G` writes one; [`write_workload`] does the same from code.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::capture::Capture;
use crate::error::Result;
use crate::linktype::LinkType;
use crate::payloads::tls::{
    self, cipher_suite, content_type, version, ClientHello, Extension, ServerHello,
};
use crate::payloads::{certs, deterministic_bytes, http, ntlm};
use crate::pcap::{PcapOptions, PcapWriter};
use crate::pcapng::{PcapngOptions, PcapngWriter};
use crate::session::{Dir, TcpSession};

/// What kind of traffic to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Many connections (~40 kB each on average): HTTP requests through a proxy with NTLM
    /// authentication (407, Type 1, 407 with Type 2, Type 3, 200), HTTPS through `CONNECT` and
    /// direct TLS (TLS 1.2 handshake with a two-certificate chain, then application data), and
    /// plain keep-alive HTTP.
    Mixed,
    /// Four long TLS connections whose bytes are almost all 16 kB application-data records.
    BulkTls,
    /// Short HTTP connections: handshake, one small request and response, close (10 frames).
    ManyConns,
}

impl Shape {
    /// Parses `mixed`, `bulk-tls` or `many-conns`.
    pub fn parse(name: &str) -> Option<Shape> {
        match name {
            "mixed" => Some(Shape::Mixed),
            "bulk-tls" => Some(Shape::BulkTls),
            "many-conns" => Some(Shape::ManyConns),
            _ => None,
        }
    }

    /// How many connections are open at once.
    fn concurrency(self) -> usize {
        match self {
            Shape::Mixed => 32,
            Shape::BulkTls => 4,
            Shape::ManyConns => 256,
        }
    }
}

/// When to stop starting connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Once the file has at least this many bytes (the open connections are then finished, so
    /// the file ends slightly larger).
    Bytes(u64),
    /// After this many connections.
    Connections(u64),
}

/// The file format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Classic pcap, microseconds, little-endian.
    #[default]
    Pcap,
    /// pcapng with Enhanced Packet Blocks.
    Pcapng,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Bytes of the file.
    pub bytes: u64,
    /// Frames (packet records).
    pub frames: u64,
    /// TCP connections.
    pub connections: u64,
}

/// Writes a capture of `shape` until `size` to `out` (wrap files in a `BufWriter`).
pub fn write_workload<W: Write>(
    shape: Shape,
    size: Size,
    format: Format,
    out: W,
) -> Result<Written> {
    let mut cap = Capture::new(LinkType::Ethernet);
    cap.set_step(Duration::from_micros(20));
    let mut sink = match format {
        Format::Pcap => Sink::Pcap(PcapWriter::new(out, &cap, PcapOptions::default())?),
        Format::Pcapng => {
            let options = PcapngOptions {
                user_application: Some("wiretale-fixtures gen-workload".into()),
                ..Default::default()
            };
            Sink::Pcapng(PcapngWriter::new(out, &cap, &options)?)
        }
    };
    let mut gen = Generator::new(shape, size)?;
    let mut written = Written::default();
    let mut active: Vec<Script> = Vec::with_capacity(shape.concurrency());
    loop {
        // Refill the open set, then give every open connection one step.
        while active.len() < shape.concurrency() && gen.wants_more(&written, sink.bytes()) {
            active.push(gen.next_script(written.connections)?);
            written.connections += 1;
        }
        if active.is_empty() {
            break;
        }
        let done = sink.bytes() >= gen.target_bytes();
        active.retain_mut(|script| script.step(&mut cap, &gen.templates, done));
        written.frames += sink.write(&mut cap)? as u64;
    }
    written.bytes = sink.bytes();
    sink.finish()?;
    Ok(written)
}

enum Sink<W: Write> {
    Pcap(PcapWriter<W>),
    Pcapng(PcapngWriter<W>),
}

impl<W: Write> Sink<W> {
    fn write(&mut self, cap: &mut Capture) -> Result<usize> {
        match self {
            Sink::Pcap(w) => w.write_frames(cap),
            Sink::Pcapng(w) => w.write_frames(cap),
        }
    }
    fn bytes(&self) -> u64 {
        match self {
            Sink::Pcap(w) => w.bytes_written(),
            Sink::Pcapng(w) => w.bytes_written(),
        }
    }
    fn finish(self) -> Result<()> {
        match self {
            Sink::Pcap(w) => w.finish().map(drop),
            Sink::Pcapng(w) => w.finish().map(drop),
        }
    }
}

/// One step of a connection's script.
enum Step {
    Handshake,
    Send(Dir, Vec<u8>),
    Wait(Duration),
    /// Bulk: one server record (and now and then a client record) per turn until the file is
    /// large enough.
    Bulk {
        turn: u64,
    },
    Close,
}

/// A connection and what it still has to do.
struct Script {
    session: TcpSession,
    steps: VecDeque<Step>,
}

impl Script {
    /// Runs one step; false once the script is over.
    fn step(&mut self, cap: &mut Capture, templates: &Templates, size_reached: bool) -> bool {
        let Some(step) = self.steps.pop_front() else {
            return false;
        };
        match step {
            Step::Handshake => {
                self.session.handshake(cap);
            }
            Step::Send(dir, bytes) => {
                self.session.send(cap, dir, &bytes);
            }
            Step::Wait(d) => cap.advance(d),
            Step::Bulk { turn } if !size_reached => {
                if turn % 32 == 0 {
                    self.session
                        .send(cap, Dir::ToServer, &templates.bulk_request);
                }
                let records = &templates.bulk_records;
                if let Some(record) = records.get((turn as usize) % records.len().max(1)) {
                    self.session.send(cap, Dir::ToClient, record);
                }
                self.steps.push_front(Step::Bulk { turn: turn + 1 });
            }
            Step::Bulk { .. } => {}
            Step::Close => {
                self.session.close(cap);
            }
        }
        // Nothing is retransmitted: keep no history (bulk connections send gigabytes).
        self.session.forget_history();
        !self.steps.is_empty()
    }
}

/// SplitMix64: the deterministic choices of the generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        let span = high.saturating_sub(low).saturating_add(1);
        low.saturating_add(self.next() % span.max(1))
    }
}

/// Messages built once and reused by every connection.
struct Templates {
    offer_407: Vec<u8>,
    challenge_407: Vec<u8>,
    /// `Proxy-Authorization` values with Type 3 tokens of a few users.
    type3: Vec<String>,
    connect_ok: Vec<u8>,
    server_flight: Vec<u8>,
    client_finish: Vec<u8>,
    server_finish: Vec<u8>,
    close_notify: Vec<u8>,
    /// Application-data records of 16 kB of ciphertext.
    bulk_records: Vec<Vec<u8>>,
    bulk_request: Vec<u8>,
    pages: Vec<Vec<u8>>,
}

const HOSTS: [&str; 6] = [
    "www.example.com",
    "intranet.example.org",
    "cdn.example.net",
    "login.example.com",
    "api.example.org",
    "static.example.net",
];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Templates {
    fn new() -> Result<Self> {
        let denied = b"<html><head><title>Proxy Authentication Required</title></head>\n<body><h1>407 Proxy Authentication Required</h1></body></html>\n";
        let denied_len = denied.len().to_string();
        let offer_407 = http::response(
            "HTTP/1.1",
            407,
            "Proxy Authentication Required",
            &[
                ("Proxy-Authenticate", "NTLM"),
                ("Proxy-Authenticate", "BASIC realm=\"FG\""),
                ("Content-Type", "text/html; charset=utf-8"),
                ("Proxy-Connection", "Keep-Alive"),
                ("Content-Length", &denied_len),
            ],
            denied,
        );
        let challenge_header = format!("NTLM {}", ntlm::CASE_STUDY_TYPE2);
        let challenge_407 = http::response(
            "HTTP/1.1",
            407,
            "Proxy Authentication Required",
            &[
                ("Proxy-Authenticate", &challenge_header),
                ("Content-Type", "text/html; charset=utf-8"),
                ("Proxy-Connection", "Keep-Alive"),
                ("Content-Length", &denied_len),
            ],
            denied,
        );
        let challenge = ntlm::Challenge::parse(&ntlm::base64_decode(ntlm::CASE_STUDY_TYPE2)?)?;
        let mut type3 = Vec::new();
        for (i, user) in ["jdoe", "asmith", "bwong", "svc-backup"].iter().enumerate() {
            let mut client_challenge = [0u8; 8];
            client_challenge.copy_from_slice(
                deterministic_bytes(0x7e57 + i as u64, 8)
                    .get(..8)
                    .unwrap_or(&[0; 8]),
            );
            let creds = ntlm::Credentials {
                user,
                domain: "MAPLE",
                workstation: "T6CK943Y",
                password: "Fixture-Passw0rd",
                client_challenge,
                timestamp: 133_540_000_000_000_000 + i as u64,
            };
            let token = ntlm::authenticate_ntlmv2(&challenge, &creds)?;
            type3.push(format!("NTLM {}", ntlm::base64_encode(&token)));
        }
        let connect_ok = http::response(
            "HTTP/1.1",
            200,
            "Connection established",
            &[("Proxy-Agent", "FG/1.0")],
            b"",
        );
        let v = version::TLS1_2;
        let mut sh = ServerHello::new(v, cipher_suite::ECDHE_RSA_WITH_AES_128_GCM_SHA256, 0x5eed);
        sh.extensions = vec![
            Extension::renegotiation_info(),
            Extension::extended_master_secret(),
        ];
        let mut hs = sh.encode()?;
        hs.extend_from_slice(&tls::certificate(&[
            certs::HTTPS_SERVER,
            certs::HTTPS_INTERMEDIATE,
        ])?);
        hs.extend_from_slice(&tls::handshake(
            tls::handshake_type::SERVER_KEY_EXCHANGE,
            &ecdhe_server_params(),
        )?);
        hs.extend_from_slice(&tls::server_hello_done());
        let server_flight = tls::record(content_type::HANDSHAKE, v, &hs)?;
        let mut client_finish = tls::record(
            content_type::HANDSHAKE,
            v,
            &tls::handshake(
                tls::handshake_type::CLIENT_KEY_EXCHANGE,
                &ecdhe_client_public(),
            )?,
        )?;
        client_finish.extend_from_slice(&tls::change_cipher_spec(v));
        client_finish.extend_from_slice(&tls::encrypted_record(
            content_type::HANDSHAKE,
            v,
            40,
            0xf1,
        )?);
        let mut server_finish = tls::change_cipher_spec(v);
        server_finish.extend_from_slice(&tls::encrypted_record(
            content_type::HANDSHAKE,
            v,
            40,
            0xf2,
        )?);
        let close_notify = tls::encrypted_record(content_type::ALERT, v, 26, 0xc0)?;
        let bulk_records = (0..8)
            .map(|i| {
                tls::encrypted_record(
                    content_type::APPLICATION_DATA,
                    v,
                    tls::MAX_FRAGMENT + 24,
                    0xb0 + i,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let bulk_request = tls::encrypted_record(content_type::APPLICATION_DATA, v, 120, 0xb1)?;
        let pages = [1_200, 4_000, 9_000, 16_000, 32_000]
            .iter()
            .map(|&n| http::html_page("Workload", n))
            .collect();
        Ok(Templates {
            offer_407,
            challenge_407,
            type3,
            connect_ok,
            server_flight,
            client_finish,
            server_finish,
            close_notify,
            bulk_records,
            bulk_request,
            pages,
        })
    }
}

/// ECDHE ServerKeyExchange body: named curve x25519, a 32-byte public key, and an
/// rsa_pkcs1_sha256 signature of 256 bytes.
fn ecdhe_server_params() -> Vec<u8> {
    let mut body = vec![3, 0, 29, 32];
    body.extend_from_slice(&deterministic_bytes(0x5e, 32));
    body.extend_from_slice(&[0x04, 0x01, 0x01, 0x00]);
    body.extend_from_slice(&deterministic_bytes(0x5f, 256));
    body
}

/// ECDHE ClientKeyExchange body: a length-prefixed 32-byte x25519 public key.
fn ecdhe_client_public() -> Vec<u8> {
    let mut body = vec![32];
    body.extend_from_slice(&deterministic_bytes(0xc1, 32));
    body
}

struct Generator {
    shape: Shape,
    size: Size,
    rng: Rng,
    templates: Templates,
}

impl Generator {
    fn new(shape: Shape, size: Size) -> Result<Self> {
        Ok(Generator {
            shape,
            size,
            rng: Rng(0x776f_726b_6c6f_6164),
            templates: Templates::new()?,
        })
    }

    fn target_bytes(&self) -> u64 {
        match self.size {
            Size::Bytes(n) => n,
            Size::Connections(_) => u64::MAX,
        }
    }

    fn wants_more(&self, written: &Written, bytes: u64) -> bool {
        match (self.shape, self.size) {
            // Bulk connections run until the size is reached; start them once.
            (Shape::BulkTls, Size::Bytes(_)) => written.connections < 4,
            (_, Size::Bytes(n)) => bytes < n,
            (_, Size::Connections(n)) => written.connections < n,
        }
    }

    /// Client `index`: a distinct address and port for every connection (2^37 before reuse).
    fn client(index: u64) -> SocketAddr {
        let host = index >> 14;
        let ip = Ipv4Addr::new(
            10,
            (host >> 8) as u8,
            host as u8,
            1 + (host >> 16 & 0x7f) as u8,
        );
        let port = 49_152 + (index & 0x3fff) as u16;
        SocketAddr::new(ip.into(), port)
    }

    fn next_script(&mut self, index: u64) -> Result<Script> {
        let client = Self::client(index);
        let proxy: SocketAddr = ([10, 3, 3, 3], 8080).into();
        let server =
            |port: u16, n: u64| -> SocketAddr { ([192, 0, 2, 10 + (n % 6) as u8], port).into() };
        let pick = self.rng.next();
        let host = HOSTS
            .get((pick >> 8) as usize % HOSTS.len())
            .copied()
            .unwrap_or("a");
        let (server, steps) = match self.shape {
            Shape::ManyConns => (server(80, pick), self.short_http(host)),
            Shape::BulkTls => (server(443, pick), self.bulk_tls(host, index)?),
            Shape::Mixed => match pick % 10 {
                0..=2 => (proxy, self.ntlm_proxy(host)),
                3..=5 => (proxy, self.connect_tls(host, index)?),
                6 | 7 => (server(443, pick), self.direct_tls(host, index)?),
                _ => (server(80, pick), self.plain_http(host)),
            },
        };
        Ok(Script {
            session: TcpSession::new(client, server),
            steps,
        })
    }

    fn page(&mut self) -> Vec<u8> {
        let pages = &self.templates.pages;
        let i = (self.rng.next() as usize) % pages.len().max(1);
        pages.get(i).cloned().unwrap_or_default()
    }

    fn ok_response(&mut self) -> Vec<u8> {
        let page = self.page();
        http::response(
            "HTTP/1.1",
            200,
            "OK",
            &[
                ("Content-Type", "text/html"),
                ("Content-Length", &page.len().to_string()),
                ("Connection", "Keep-Alive"),
            ],
            &page,
        )
    }

    fn get(target: &str, host: &str, auth: Option<&str>) -> Vec<u8> {
        let mut headers = vec![
            ("Host", host),
            ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            ("Accept", "*/*"),
            ("Proxy-Connection", "Keep-Alive"),
        ];
        if let Some(a) = auth {
            headers.push(("Proxy-Authorization", a));
        }
        http::request("GET", target, "HTTP/1.1", &headers, b"")
    }

    /// GET through the proxy: 407, Type 1, 407 with Type 2, Type 3, 200; then more requests.
    fn ntlm_proxy(&mut self, host: &str) -> VecDeque<Step> {
        let t = &self.templates;
        let url = format!("http://{host}/app/index.html");
        let type1 = format!("NTLM {}", ntlm::CASE_STUDY_TYPE1);
        let type3 = t
            .type3
            .get((self.rng.next() as usize) % t.type3.len().max(1))
            .cloned()
            .unwrap_or_default();
        let mut steps = VecDeque::from([
            Step::Handshake,
            Step::Send(Dir::ToServer, Self::get(&url, host, None)),
            Step::Wait(ms(2)),
            Step::Send(Dir::ToClient, t.offer_407.clone()),
            Step::Send(Dir::ToServer, Self::get(&url, host, Some(&type1))),
            Step::Wait(ms(2)),
            Step::Send(Dir::ToClient, t.challenge_407.clone()),
            Step::Send(Dir::ToServer, Self::get(&url, host, Some(&type3))),
            Step::Wait(ms(20)),
        ]);
        steps.push_back(Step::Send(Dir::ToClient, self.ok_response()));
        for n in 0..self.rng.range(0, 3) {
            let url = format!("http://{host}/app/asset{n}.js");
            steps.push_back(Step::Send(Dir::ToServer, Self::get(&url, host, None)));
            steps.push_back(Step::Send(Dir::ToClient, self.ok_response()));
        }
        steps.push_back(Step::Close);
        steps
    }

    fn client_hello(host: &str, seed: u64) -> Result<Vec<u8>> {
        let mut ch = ClientHello::new(version::TLS1_2, seed);
        ch.cipher_suites = vec![
            cipher_suite::ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::RSA_WITH_AES_128_CBC_SHA,
        ];
        ch.extensions = vec![
            Extension::server_name(host)?,
            Extension::supported_groups(&[29, 23, 24])?,
            Extension::ec_point_formats(),
            Extension::signature_algorithms(&[0x0403, 0x0804, 0x0401, 0x0503])?,
            Extension::extended_master_secret(),
            Extension::renegotiation_info(),
        ];
        tls::record(content_type::HANDSHAKE, version::TLS1_0, &ch.encode()?)
    }

    /// A TLS 1.2 handshake with the certificate chain, then `exchanges` request/response
    /// rounds of application data.
    fn tls_session(&mut self, host: &str, seed: u64, steps: &mut VecDeque<Step>) -> Result<()> {
        let t = &self.templates;
        steps.push_back(Step::Send(Dir::ToServer, Self::client_hello(host, seed)?));
        steps.push_back(Step::Wait(ms(3)));
        steps.push_back(Step::Send(Dir::ToClient, t.server_flight.clone()));
        steps.push_back(Step::Send(Dir::ToServer, t.client_finish.clone()));
        steps.push_back(Step::Send(Dir::ToClient, t.server_finish.clone()));
        for _ in 0..self.rng.range(1, 4) {
            let request = tls::encrypted_record(
                content_type::APPLICATION_DATA,
                version::TLS1_2,
                self.rng.range(200, 900) as usize,
                self.rng.next(),
            )?;
            steps.push_back(Step::Send(Dir::ToServer, request));
            steps.push_back(Step::Wait(ms(5)));
            let mut response = Vec::new();
            for _ in 0..self.rng.range(1, 6) {
                let len = self.rng.range(1_000, tls::MAX_FRAGMENT as u64) as usize;
                response.extend_from_slice(&tls::encrypted_record(
                    content_type::APPLICATION_DATA,
                    version::TLS1_2,
                    len + 24,
                    self.rng.next(),
                )?);
            }
            steps.push_back(Step::Send(Dir::ToClient, response));
        }
        steps.push_back(Step::Send(
            Dir::ToServer,
            self.templates.close_notify.clone(),
        ));
        Ok(())
    }

    /// CONNECT host:443 through the proxy, 200, then TLS in the tunnel.
    fn connect_tls(&mut self, host: &str, seed: u64) -> Result<VecDeque<Step>> {
        let authority = format!("{host}:443");
        let connect = http::request(
            "CONNECT",
            &authority,
            "HTTP/1.1",
            &[
                ("Host", &authority),
                ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
                ("Proxy-Connection", "keep-alive"),
            ],
            b"",
        );
        let mut steps = VecDeque::from([
            Step::Handshake,
            Step::Send(Dir::ToServer, connect),
            Step::Wait(ms(30)),
            Step::Send(Dir::ToClient, self.templates.connect_ok.clone()),
        ]);
        self.tls_session(host, seed, &mut steps)?;
        steps.push_back(Step::Close);
        Ok(steps)
    }

    fn direct_tls(&mut self, host: &str, seed: u64) -> Result<VecDeque<Step>> {
        let mut steps = VecDeque::from([Step::Handshake]);
        self.tls_session(host, seed, &mut steps)?;
        steps.push_back(Step::Close);
        Ok(steps)
    }

    /// Keep-alive HTTP straight to a server: a few GET / 200 rounds.
    fn plain_http(&mut self, host: &str) -> VecDeque<Step> {
        let mut steps = VecDeque::from([Step::Handshake]);
        for n in 0..self.rng.range(1, 4) {
            let target = format!("/static/page{n}.html");
            let request = http::request(
                "GET",
                &target,
                "HTTP/1.1",
                &[
                    ("Host", host),
                    ("User-Agent", "curl/8.5.0"),
                    ("Accept", "*/*"),
                ],
                b"",
            );
            steps.push_back(Step::Send(Dir::ToServer, request));
            steps.push_back(Step::Wait(ms(4)));
            steps.push_back(Step::Send(Dir::ToClient, self.ok_response()));
        }
        steps.push_back(Step::Close);
        steps
    }

    fn short_http(&mut self, host: &str) -> VecDeque<Step> {
        let request = http::request(
            "GET",
            "/health",
            "HTTP/1.1",
            &[("Host", host), ("Connection", "close")],
            b"",
        );
        let response = http::response(
            "HTTP/1.1",
            200,
            "OK",
            &[("Content-Length", "2"), ("Connection", "close")],
            b"ok",
        );
        VecDeque::from([
            Step::Handshake,
            Step::Send(Dir::ToServer, request),
            Step::Send(Dir::ToClient, response),
            Step::Close,
        ])
    }

    fn bulk_tls(&mut self, host: &str, seed: u64) -> Result<VecDeque<Step>> {
        let t = &self.templates;
        Ok(VecDeque::from([
            Step::Handshake,
            Step::Send(Dir::ToServer, Self::client_hello(host, seed)?),
            Step::Send(Dir::ToClient, t.server_flight.clone()),
            Step::Send(Dir::ToServer, t.client_finish.clone()),
            Step::Send(Dir::ToClient, t.server_finish.clone()),
            Step::Bulk { turn: 0 },
            Step::Send(Dir::ToServer, t.close_notify.clone()),
            Step::Close,
        ]))
    }
}

/// Parses a size like `1G`, `512M`, `300k` or `12345` (binary units: 1G = 2^30 bytes).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (text.get(..i)?, text.get(i..)?),
        None => (text, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(shape: Shape, size: Size) -> (Vec<u8>, Written) {
        let mut out = Vec::new();
        let w = write_workload(shape, size, Format::Pcap, &mut out).unwrap();
        (out, w)
    }

    #[test]
    fn same_bytes_every_run() {
        let (a, wa) = small(Shape::Mixed, Size::Bytes(300_000));
        let (b, wb) = small(Shape::Mixed, Size::Bytes(300_000));
        assert_eq!(a, b);
        assert_eq!(wa, wb);
        assert_eq!(wa.bytes, a.len() as u64);
        assert!(wa.bytes >= 300_000 && wa.connections > 3, "{wa:?}");
    }

    #[test]
    fn many_conns_counts_connections_and_frames() {
        let (file, w) = small(Shape::ManyConns, Size::Connections(300));
        assert_eq!(w.connections, 300);
        assert_eq!(
            w.frames, 3000,
            "handshake 3 + request/ack 2 + response/ack 2 + close 3"
        );
        assert_eq!(&file[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    }

    #[test]
    fn bulk_tls_is_mostly_application_data() {
        let (_, w) = small(Shape::BulkTls, Size::Bytes(2_000_000));
        assert_eq!(w.connections, 4);
        assert!(w.bytes >= 2_000_000 && w.bytes < 2_200_000, "{w:?}");
        assert!(w.frames > 1_300, "full-size segments: {w:?}");
    }

    #[test]
    fn pcapng_format_has_a_section_header() {
        let mut out = Vec::new();
        write_workload(
            Shape::ManyConns,
            Size::Connections(2),
            Format::Pcapng,
            &mut out,
        )
        .unwrap();
        assert_eq!(&out[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
    }

    #[test]
    fn client_endpoints_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..3_000_000u64).step_by(7) {
            assert!(seen.insert(Generator::client(i)), "client {i} reused");
        }
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("300k"), Some(300 << 10));
        assert_eq!(parse_bytes("42"), Some(42));
        assert_eq!(parse_bytes("1T"), None);
        assert_eq!(parse_bytes("G"), None);
    }
}
