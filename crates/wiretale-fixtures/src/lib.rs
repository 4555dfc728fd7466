//! Deterministic builders of small packet captures for wiretale's tests.
//!
//! A test scripts what happens on the wire and gets the bytes of a pcap or pcapng file:
//!
//! ```
//! use wiretale_fixtures::{payloads::http, Capture, Dir, LinkType, PcapOptions, TcpSession};
//!
//! let mut cap = Capture::new(LinkType::Ethernet);
//! let mut web = TcpSession::new("10.0.0.1:49152".parse()?, "10.0.0.2:80".parse()?);
//! web.handshake(&mut cap); // frames 1-3
//! web.send(&mut cap, Dir::ToServer, &http::request("GET", "/", "HTTP/1.1", &[("Host", "a")], b""));
//! cap.advance(std::time::Duration::from_millis(20));
//! web.send(&mut cap, Dir::ToClient, &http::response("HTTP/1.1", 204, "No Content", &[], b""));
//! web.close(&mut cap);
//! let pcap: Vec<u8> = cap.to_pcap(&PcapOptions::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The pieces, lowest first:
//!
//! * [`wire`]: encoders of IPv4 (with fragmentation), IPv6 (with extension headers and
//!   fragmentation), TCP (options, checksums), UDP, ICMP, ARP, DNS.
//! * [`link`]: Ethernet II with 802.1Q/802.1ad tags, Linux SLL and SLL2, BSD loopback, raw IP.
//! * [`Capture`]: interfaces, frames in call order and a clock; [`Filler`] for background
//!   frames and exact frame numbers ([`Capture::fill_until`]).
//! * [`TcpSession`]: a scripted connection (handshake, segmented sends with peer ACKs,
//!   retransmissions, reordering, loss, keep-alives, zero windows, FIN, RST, refused and
//!   unanswered SYNs) whose sequence and acknowledgment numbers stay right.
//! * Writers: [`Capture::to_pcap`] (either byte order, micro/nano magic, snaplen truncation)
//!   and [`Capture::to_pcapng`] (SHB comment, several IDBs with `if_tsresol`, Enhanced, Simple
//!   and obsolete Packet Blocks, packet comments).
//! * [`payloads`]: application messages to send.
//! * [`scenarios`]: the captures committed in `testdata/`, rebuilt by
//!   `cargo run -p wiretale-fixtures --bin build-testdata`.
//! * [`workload`]: gigabyte-sized benchmark captures streamed to a file
//!   ([`pcap::PcapWriter`], [`pcapng::PcapngWriter`]), by
//!   `cargo run --release -p wiretale-fixtures --bin gen-workload`.
//!
//! Everything is deterministic: no randomness, no wall clock. Scripting calls never fail; the
//! first error is kept by the capture and returned by [`Capture::check`] and the writers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod capture;
pub mod endian;
pub mod error;
pub mod files;
pub mod filler;
pub mod link;
pub mod linktype;
pub mod payloads;
pub mod pcap;
pub mod pcapng;
pub mod scenarios;
pub mod session;
pub mod time;
pub mod wire;
pub mod workload;

pub use capture::{BlockKind, Capture, Frame, Interface};
pub use endian::Endian;
pub use error::{FixtureError, Result};
pub use filler::Filler;
pub use link::{LinkMeta, Mac, NetPacket, NullFormat, VlanTag};
pub use linktype::LinkType;
pub use pcap::{PcapOptions, TsResolution};
pub use pcapng::PcapngOptions;
pub use session::{AckPolicy, Dir, Sent, TcpSession};
pub use time::Timestamp;
