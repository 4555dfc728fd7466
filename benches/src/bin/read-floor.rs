//! The read floor of benches/e2e.sh: the least work any capture analysis must do. Walks every
//! record with pcap-parser and slices every packet with etherparse (link, IP and TCP headers,
//! no reassembly), then prints what it saw so the work cannot be optimised away.
//!
//! `read-floor FILE [--records-only]`: `--records-only` skips the etherparse slicing (pure
//! record iteration).

use std::fs::File;
use std::process::ExitCode;

use etherparse::{LaxSlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

#[derive(Default)]
struct Counts {
    packets: u64,
    bytes: u64,
    tcp: u64,
    tcp_payload: u64,
}

impl Counts {
    fn packet(&mut self, data: &[u8], slice: bool) {
        self.packets += 1;
        self.bytes += data.len() as u64;
        if !slice {
            return;
        }
        if let Ok(p) = LaxSlicedPacket::from_ethernet(data) {
            if let Some(TransportSlice::Tcp(tcp)) = p.transport {
                self.tcp += 1;
                self.tcp_payload += tcp.payload().len() as u64;
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: read-floor FILE [--records-only]");
        return ExitCode::FAILURE;
    };
    let slice = !args.iter().any(|a| a == "--records-only");
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut reader = match create_reader(1 << 20, file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: {e:?}");
            return ExitCode::FAILURE;
        }
    };
    let mut counts = Counts::default();
    loop {
        match reader.next() {
            Ok((len, block)) => {
                match block {
                    PcapBlockOwned::Legacy(b) => counts.packet(b.data, slice),
                    PcapBlockOwned::NG(Block::EnhancedPacket(b)) => counts.packet(b.data, slice),
                    PcapBlockOwned::NG(Block::SimplePacket(b)) => counts.packet(b.data, slice),
                    _ => {}
                }
                reader.consume(len);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if let Err(e) = reader.refill() {
                    eprintln!("{path}: {e:?}");
                    return ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("{path}: {e:?}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "{} packets, {} bytes captured, {} TCP segments, {} TCP payload bytes",
        counts.packets, counts.bytes, counts.tcp, counts.tcp_payload
    );
    ExitCode::SUCCESS
}
