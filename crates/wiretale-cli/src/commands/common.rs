//! Opening captures and turning library results into CLI outcomes.

use crate::cli::{CaptureArgs, FilterArgs};
use crate::exit::{CliError, Outcome};
use wiretale::capture::CaptureReader;
use wiretale::filter::Filter;
use wiretale::pipeline::{
    analyze, analyze_parallel, AnalyzerConfig, AppProtocol, DecodeAs, Report,
};
use wiretale::timeline::EventSink;

/// Builds the analysis settings from the shared arguments.
pub fn config(args: &CaptureArgs) -> Result<AnalyzerConfig, CliError> {
    let mut config = AnalyzerConfig {
        threads: args.threads,
        ..AnalyzerConfig::default()
    };
    for spec in &args.decode_as {
        config.decode_as.push(parse_decode_as(spec)?);
    }
    for spec in &args.set {
        config
            .set_from_str(spec)
            .map_err(|e| CliError::new(format!("bad --set {spec:?}: {e}")))?;
    }
    Ok(config)
}

fn parse_decode_as(spec: &str) -> Result<DecodeAs, CliError> {
    let bad = || {
        CliError::new(format!(
            "bad --decode-as {spec:?}: expected PORT=tls, PORT=http or PORT=none"
        ))
    };
    let (port, proto) = spec.split_once('=').ok_or_else(bad)?;
    let port: u16 = port.trim().parse().map_err(|_| bad())?;
    let protocol = match proto.trim().to_ascii_lowercase().as_str() {
        "tls" | "ssl" => AppProtocol::Tls,
        "http" => AppProtocol::Http,
        "none" | "opaque" => AppProtocol::Opaque,
        _ => return Err(bad()),
    };
    Ok(DecodeAs { port, protocol })
}

/// Parses `-Y/--filter`, if given. A bad filter is an error (exit 2) whose text is the filter
/// with a caret under the offending column and Wireshark-like wording.
pub fn filter(args: &FilterArgs) -> Result<Option<Filter>, CliError> {
    let Some(text) = &args.filter else {
        return Ok(None);
    };
    wiretale::filter::parse(text)
        .map(Some)
        .map_err(|e| CliError::new(format!("bad filter:\n{}", e.render(text))))
}

/// Parses `-Y/--filter` for a command that filters events (`timeline`, `story`): as
/// [`filter`], and a field only frames have (`tcp.analysis.*`) is an error pointing to
/// `wiretale frames`, not a filter that silently matches nothing.
pub fn event_filter(args: &FilterArgs, command: &str) -> Result<Option<Filter>, CliError> {
    let filter = filter(args)?;
    let frames_only = filter
        .as_ref()
        .and_then(|f| f.fields().iter().find(|field| field.frames_only()));
    match frames_only {
        None => Ok(filter),
        Some(field) => Err(CliError::new(format!(
            "bad filter: {field} is known of frames only (tshark's TCP analysis judges each \
             segment), and `wiretale {command}` filters events (messages, connection steps); \
             list the frames with `wiretale frames -Y '{}' CAPTURE`",
            args.filter.as_deref().unwrap_or_default()
        ))),
    }
}

/// Opens the capture and runs the analysis into `sink`.
pub fn analyse(args: &CaptureArgs, sink: &mut dyn EventSink) -> Result<Report, CliError> {
    analyse_with(args, config(args)?, sink)
}

/// Like [`analyse`] with a prepared configuration.
pub fn analyse_with(
    args: &CaptureArgs,
    mut config: AnalyzerConfig,
    sink: &mut dyn EventSink,
) -> Result<Report, CliError> {
    let opened = if args.mmap {
        CaptureReader::open_mapped(&args.capture)
    } else {
        CaptureReader::open(&args.capture)
    };
    let mut reader = opened.map_err(|e| {
        CliError::new(format!(
            "cannot read {}: {}",
            args.capture.display(),
            e.kind
        ))
    })?;
    if config.progress.is_none() {
        let label = args
            .capture
            .file_name()
            .map_or_else(|| "-".into(), |n| n.to_string_lossy().into_owned());
        config.progress = crate::progress::stderr_hook(&label, reader.total_len());
    }
    if config.threads <= 1 {
        return Ok(analyze(&mut reader, &config, sink));
    }
    let (report, divergence) = analyze_parallel(&mut reader, &config, sink);
    if divergence.after_retirement > 0 || divergence.full_shards > 0 {
        eprintln!(
            "wiretale: warning: {}: with --threads {} the output may differ from --threads 1 \
             ({} packets of connections a single flow table had already let go, {} of {} \
             threads' flow tables full); run with --threads 1 for the single-table result",
            args.capture.display(),
            config.threads,
            divergence.after_retirement,
            divergence.full_shards,
            config.threads
        );
    } else if divergence.forgotten_for_port_reuse > 0 {
        eprintln!(
            "wiretale: note: {}: with --threads {} a [TCP Port numbers reused] marker may differ \
             from --threads 1 for ports reused after more than {} connections closed; run with \
             --threads 1 for the single-table result",
            args.capture.display(),
            config.threads,
            wiretale::tcp::MAX_RETIRED_CONNECTIONS_REMEMBERED
        );
    }
    Ok(report)
}

/// Reports damage on stderr (each place read past, up to [`DAMAGE_LINES`], and where reading
/// stopped) and picks the exit outcome: damage anywhere is exit 3.
pub fn finish(args: &CaptureArgs, report: &Report) -> Outcome {
    let s = &report.stats;
    let name = args.capture.display();
    for place in s.damage.iter().take(DAMAGE_LINES) {
        eprintln!(
            "wiretale: {name}: {} at byte offset {}; {} bytes skipped, reading resumed at byte offset {} with frame {}",
            place.kind,
            place.offset,
            place.skipped_bytes(),
            place.resumed_at.unwrap_or(place.offset),
            place.frame
        );
    }
    if s.damaged_places > DAMAGE_LINES as u64 {
        eprintln!(
            "wiretale: {name}: damaged in {} places in all, {} bytes skipped",
            s.damaged_places, s.damaged_bytes
        );
    }
    match &report.error {
        Some(e) => {
            eprintln!(
                "wiretale: {name}: {} at frame {} (byte offset {}); the {} frames before it were analysed",
                e.kind, e.frame, e.offset, s.frames_read
            );
            Outcome::Damaged
        }
        None if s.damaged_places > 0 => Outcome::Damaged,
        None => Outcome::Ok,
    }
}

/// Places of damage read past that [`finish`] names one per line (the rest are counted).
const DAMAGE_LINES: usize = 3;
