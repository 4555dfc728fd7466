//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Reads packet captures (pcap/pcapng), reassembles TCP, decodes TLS, HTTP/1.x and NTLM, and
/// tells what happened, frame by frame, with Wireshark's frame numbers.
#[derive(Debug, Parser)]
#[command(name = "wiretale", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok; 1 findings at --fail-on severity (compare: the captures differ);\n\
2 bad input or usage; 3 capture damaged (damaged bytes skipped where records were found again\n\
after them, else what came before was analysed)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: what happened, frame by frame across all connections, then findings
    /// and the root cause.
    #[command(
        after_help = "Examples:\n  wiretale story testdata/case-study.pcapng\n  wiretale story --format json capture.pcap | jq '.findings[].id'\n  wiretale story --format mermaid capture.pcap > story.md\n  wiretale story --fail-on error capture.pcap || echo 'problems found'"
    )]
    Story(StoryArgs),
    /// One row per TCP connection: endpoints, timing, packets and bytes each way, history,
    /// how it ended.
    #[command(
        after_help = "Examples:\n  wiretale flows capture.pcapng\n  wiretale flows --format json capture.pcap | jq '.flows[] | select(.ending.how == \"rst\")'"
    )]
    Flows(FlowsArgs),
    /// One line per frame, like tshark's summary (frame, time, source, destination, protocol,
    /// info).
    #[command(
        after_help = "Examples:\n  wiretale frames capture.pcap\n  wiretale frames --format jsonl capture.pcap | head"
    )]
    Frames(FramesArgs),
    /// Every decoded event as it is decoded: TCP connection events, TLS handshake messages and
    /// application-data runs, HTTP requests and responses, NTLM messages, runs of bytes of
    /// protocols not decoded, each at the frame that completed it (a run, or what a
    /// connection's end completes, comes out once known).
    #[command(
        after_help = "Examples:\n  wiretale timeline capture.pcapng\n  wiretale timeline --format jsonl capture.pcap | jq 'select(.proto == \"ntlm\")'"
    )]
    Timeline(TimelineArgs),
    /// One row per TLS connection: SNI, versions offered and chosen, cipher, ALPN, resumption,
    /// server certificate, mutual TLS, handshake progress and timing, alerts, application data,
    /// JA3/JA4.
    #[command(
        after_help = "Examples:\n  wiretale tls capture.pcapng\n  wiretale tls --format json capture.pcap | jq '.connections[] | select(.handshake.completed | not)'"
    )]
    Tls(SummaryArgs),
    /// One row per HTTP exchange: request and response frames, client, server or proxy, method,
    /// target, status, authentication, keep-alive, body sizes, who closed.
    #[command(
        after_help = "Examples:\n  wiretale http capture.pcap\n  wiretale http --format json capture.pcap | jq '.exchanges[] | select(.status == 407)'"
    )]
    Http(SummaryArgs),
    /// One row per NTLM exchange per TCP connection: Type 1, Type 2 (challenge), Type 3 (user,
    /// NTLMv1/v2, connection), and the outcome.
    #[command(
        after_help = "Examples:\n  wiretale ntlm capture.pcap\n  wiretale ntlm --format json capture.pcap | jq '.exchanges[].outcome'"
    )]
    Ntlm(SummaryArgs),
    /// Compare a capture where things work with one where they fail: where the failing one
    /// first departs from the working one, connections and findings only one has, and timings
    /// that differ enough to matter. Connections are aligned by what they are for (service
    /// port, proxy or server, TLS SNI, HTTP host and path, CONNECT target), never by
    /// addresses, ports or frame numbers. Exit 0: no meaningful difference; 1: different;
    /// 2: error (like diff).
    #[command(
        after_help = "Examples:\n  wiretale compare testdata/case-study-working.pcapng testdata/case-study.pcapng\n  wiretale compare --format json good.pcapng bad.pcapng | jq '.first_departure.summary'\n  wiretale compare good.pcap bad.pcap > /dev/null || echo 'the captures differ'\n  wiretale compare --slower-factor 2 --slower-min 0.5 good.pcap bad.pcap\n\nExit codes: 0 no meaningful difference, 1 the captures differ, 2 error (unreadable file,\nbad arguments). A damaged capture is compared as far as it could be read (with a warning)."
    )]
    Compare(CompareArgs),
}

/// Options shared by every command that reads a capture.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The capture file (pcap or pcapng); `-` reads standard input.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
    /// Decode a TCP port as a protocol, overriding detection by content: PORT=tls|http|none.
    /// May be repeated.
    #[arg(long = "decode-as", value_name = "PORT=PROTO")]
    pub decode_as: Vec<String>,
    /// Threads that analyse connections, each its share (plus one that reads the capture);
    /// 1: everything on one thread. The output is the same for any N. Default: the cores
    /// minus two with 4 cores or more, else 1 (see docs/cli.md).
    #[arg(long, value_name = "N", default_value_t = default_threads(), value_parser = parse_threads)]
    pub threads: usize,
    /// Raise (or lower) one of the analysis limits, e.g. `tls.max_handshake_message=1M`
    /// when a `limits-reached` finding names it. VALUE is a count or a size (K, M, G: KiB,
    /// MiB, GiB). May be repeated; the settings and defaults are listed in docs/cli.md.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Read the capture through a memory map instead of `read` calls: faster on some
    /// machines, slower on others (docs/performance.md). Only for a file no program will
    /// truncate while it is read: that kills a mapped read (SIGBUS).
    #[arg(long = "mmap", overrides_with_all = ["mmap", "no_mmap"])]
    pub mmap: bool,
    /// Read the capture with `read` calls (the default; undoes an earlier `--mmap`).
    #[arg(long = "no-mmap", overrides_with_all = ["mmap", "no_mmap"])]
    pub no_mmap: bool,
}

/// The default of `--threads`: with at least 4 cores, all but two (the reader and the merger
/// have a thread each); with fewer, 1, because there the sharded run is slower than one thread
/// (it does more work in total and has no spare core to do it on; docs/performance.md).
pub fn default_threads() -> usize {
    match std::thread::available_parallelism().map_or(1, |n| n.get()) {
        cores if cores >= 4 => cores - 2,
        _ => 1,
    }
}

/// `--idle`: a finite number of seconds above zero (zero would put an idle line between every
/// two steps).
fn parse_idle(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(secs),
        _ => Err("expected a number of seconds above zero, e.g. 5 or 0.5".to_string()),
    }
}

fn parse_threads(text: &str) -> Result<usize, String> {
    let max = wiretale::pipeline::MAX_THREADS;
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of threads from 1 to {max}")),
    }
}

/// The display filter option (`frames`, `timeline`, `story`).
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Show only what matches this Wireshark display filter, e.g. 'tcp.port==5061 || http',
    /// 'ntlmssp.messagetype == 2', 'ip.addr == 10.0.0.0/8 && !tls'. `frames` tests each frame
    /// (and knows tshark's TCP analysis: 'tcp.analysis.retransmission', 'tcp.analysis.flags');
    /// `timeline` and `story` test each event (an NTLM event also has the fields of the HTTP
    /// message that carried it); `story`'s findings still read every event.
    #[arg(short = 'Y', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned table for people.
    Text,
    /// One JSON document for programs.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineFormat {
    /// Aligned lines for people.
    Text,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

#[derive(Debug, Args)]
pub struct FramesArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LineFormat::Text)]
    pub format: LineFormat,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LineFormat::Text)]
    pub format: LineFormat,
    /// Show Basic-auth passwords instead of redacting them.
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoryFormat {
    /// The narrative, findings and root cause for people.
    Text,
    /// One JSON document: events, story, findings, root cause, stats.
    Json,
    /// A Mermaid sequence diagram of the story (renders on GitHub).
    Mermaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when any warning or error finding exists.
    Warning,
    /// Exit 1 when any error finding exists.
    Error,
}

#[derive(Debug, Args)]
pub struct StoryArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StoryFormat::Text)]
    pub format: StoryFormat,
    /// Exit with code 1 when findings of this severity or worse exist.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Idle periods on a connection (nothing told between two of its steps) at least this
    /// long (seconds) get their own line, naming the frame they began after.
    #[arg(long, default_value_t = 5.0, value_parser = parse_idle, allow_negative_numbers = true)]
    pub idle: f64,
    /// Show Basic-auth passwords instead of redacting them.
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Arguments of the summary tables (`tls`, `http`, `ntlm`).
#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The capture where things work (pcap or pcapng; `-` reads standard input).
    #[arg(value_name = "WORKING")]
    pub working: PathBuf,
    /// The capture where they fail (pcap or pcapng; `-` reads standard input).
    #[arg(value_name = "FAILING")]
    pub failing: PathBuf,
    /// Decode a TCP port as a protocol in both captures: PORT=tls|http|none. May be repeated.
    #[arg(long = "decode-as", value_name = "PORT=PROTO")]
    pub decode_as: Vec<String>,
    /// Threads that analyse connections in each capture (plus one that reads it); 1:
    /// everything on one thread. The output is the same for any N. Default: the cores minus
    /// two with 4 cores or more, else 1.
    #[arg(long, value_name = "N", default_value_t = default_threads(), value_parser = parse_threads)]
    pub threads: usize,
    /// Set one of the analysis limits in both captures: NAME=VALUE (see `--set` of the other
    /// commands). May be repeated.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Read the captures through a memory map (see the other commands).
    #[arg(long = "mmap", overrides_with_all = ["mmap", "no_mmap"])]
    pub mmap: bool,
    /// Read the captures with `read` calls (the default; undoes an earlier `--mmap`).
    #[arg(long = "no-mmap", overrides_with_all = ["mmap", "no_mmap"])]
    pub no_mmap: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
    /// Report a duration when the failing one is more than this many times the working one
    /// (and longer by more than --slower-min seconds).
    #[arg(long, default_value_t = 3.0, value_name = "FACTOR")]
    pub slower_factor: f64,
    /// Report a duration only when the failing one is longer by more than this many seconds.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub slower_min: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mmap_of(args: &[&str]) -> bool {
        match Cli::try_parse_from(args).unwrap().command {
            Command::Story(story) => story.capture.mmap,
            Command::Compare(compare) => compare.mmap,
            other => panic!("{other:?}"),
        }
    }

    /// Reading is the default; `--mmap` maps, and of `--mmap` and `--no-mmap` the last wins.
    #[test]
    fn mmap_is_asked_for_and_the_last_flag_wins() {
        assert!(!mmap_of(&["wiretale", "story", "x.pcap"]));
        assert!(mmap_of(&["wiretale", "story", "--mmap", "x.pcap"]));
        assert!(!mmap_of(&[
            "wiretale",
            "story",
            "--mmap",
            "--no-mmap",
            "x.pcap"
        ]));
        assert!(mmap_of(&[
            "wiretale",
            "story",
            "--no-mmap",
            "--mmap",
            "x.pcap"
        ]));
        assert!(!mmap_of(&["wiretale", "story", "--no-mmap", "x.pcap"]));
        assert!(mmap_of(&[
            "wiretale", "story", "--mmap", "--mmap", "x.pcap"
        ]));
        assert!(!mmap_of(&[
            "wiretale",
            "story",
            "--no-mmap",
            "--no-mmap",
            "x.pcap"
        ]));
        assert!(mmap_of(&[
            "wiretale", "compare", "--mmap", "a.pcap", "b.pcap"
        ]));
        assert!(!mmap_of(&["wiretale", "compare", "a.pcap", "b.pcap"]));
    }
}
