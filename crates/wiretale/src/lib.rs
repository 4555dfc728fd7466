//! wiretale: read packet captures, reassemble TCP, decode TLS / HTTP / NTLM and tell what happened.
//!
//! Data flows one way through the modules of this crate:
//!
//! ```text
//! capture  (records: frame number, time, link type, bytes)
//!   → net      (link layer → IPv4/IPv6, fragments → TCP segment views)
//!   → tcp      (flow table, per-direction reassembly, connection events)
//!   → proto    (TLS, HTTP, NTLM decoders: pure functions of bytes, no I/O)
//!   → timeline (one ordered stream of typed events)
//!   → analysis (findings, story, compare)
//! ```
//!
//! No module imports one further down the flow. Every decoder is sans-I/O and panic-free on any
//! input; damaged input yields typed errors or findings with frame numbers.
// No unsafe code, except two calls, each measured: the one that maps a capture file into
// memory (`capture::mapped`, only with `--mmap`) and a cache prefetch hint (`cache_hint`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod cache_hint;

pub mod analysis;
pub mod capture;
pub mod filter;
pub mod net;
pub mod pipeline;
pub mod proto;
pub mod summary;
pub mod tcp;
pub mod timeline;

#[cfg(test)]
mod test_support;
