//! Benchmarks of wiretale (not part of the test suite):
//!
//! * `cargo bench -p wiretale-benches`: criterion micro-benchmarks of the hot paths (record
//!   reading, network decoding, TCP reassembly, the TLS/HTTP/NTLM decoders) on workloads
//!   generated in memory;
//! * `benches/e2e.sh`: end-to-end runs of wiretale, tshark and the read floor on gigabyte
//!   workloads (see `docs/performance.md`);
//! * `read-floor` and `analyze-null`: the binaries e2e.sh measures besides the CLI.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};

/// A workload capture of `shape` of about `bytes` bytes, in memory (for micro-benchmarks).
pub fn workload(shape: Shape, bytes: u64, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    match write_workload(shape, Size::Bytes(bytes), format, &mut out) {
        Ok(_) => out,
        Err(e) => panic!("workload generation failed: {e}"),
    }
}
