//! Writes a large deterministic benchmark capture (see `wiretale_fixtures::workload`).
//!
//! ```text
//! gen-workload SHAPE OUT [--bytes SIZE | --conns N] [--pcapng]
//!   SHAPE  mixed | bulk-tls | many-conns
//!   OUT    output file (`-` for standard output)
//!   SIZE   e.g. 1G, 300M, 50k (binary units); default 1G (many-conns: --conns 1000000)
//! ```
//!
//! Same arguments, same bytes. Memory stays small whatever the size: frames are written as
//! they are scripted.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use wiretale_fixtures::workload::{parse_bytes, write_workload, Format, Shape, Size};

const USAGE: &str =
    "usage: gen-workload mixed|bulk-tls|many-conns OUT [--bytes SIZE | --conns N] [--pcapng]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gen-workload: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [shape, out, rest @ ..] = args.as_slice() else {
        return Err(USAGE.into());
    };
    let shape = Shape::parse(shape).ok_or_else(|| format!("unknown shape {shape:?}\n{USAGE}"))?;
    let mut size = match shape {
        Shape::ManyConns => Size::Connections(1_000_000),
        _ => Size::Bytes(1 << 30),
    };
    let mut format = Format::Pcap;
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        match flag.as_str() {
            "--bytes" => {
                let v = rest.next().ok_or("--bytes needs a value")?;
                size = Size::Bytes(parse_bytes(v).ok_or_else(|| format!("bad size {v:?}"))?);
            }
            "--conns" => {
                let v = rest.next().ok_or("--conns needs a value")?;
                size = Size::Connections(v.parse().map_err(|_| format!("bad count {v:?}"))?);
            }
            "--pcapng" => format = Format::Pcapng,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let sink: Box<dyn Write> = if out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(File::create(out).map_err(|e| format!("{out}: {e}"))?)
    };
    let written = write_workload(shape, size, format, BufWriter::with_capacity(1 << 20, sink))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "{out}: {} bytes, {} frames, {} connections",
        written.bytes, written.frames, written.connections
    );
    Ok(())
}
