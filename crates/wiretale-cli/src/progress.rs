//! The progress bar on stderr for long captures.
//!
//! Shown only when stderr is a terminal (never in pipes, files or CI logs, so scripts see
//! nothing extra) and `WIRETALE_NO_PROGRESS` is unset; it appears once an analysis has run
//! for a moment (indicatif draws nothing for fast runs) and is cleared when the analysis ends,
//! so the output that follows is not interleaved with it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;
use wiretale::pipeline::{Progress, ProgressHook};

/// How often the library reports progress: every 4 MiB read (≈ every few ms at full speed).
const REPORT_EVERY_BYTES: u64 = 4 << 20;

/// Captures smaller than this finish before a bar would be readable.
const MIN_BYTES_FOR_BAR: u64 = 64 << 20;

/// A progress hook that draws a bar on stderr, or `None` when stderr is not a terminal or
/// progress is disabled. `label` is the capture's name.
pub fn stderr_hook(label: &str, size: Option<u64>) -> Option<ProgressHook> {
    if !std::io::stderr().is_terminal() || std::env::var_os("WIRETALE_NO_PROGRESS").is_some() {
        return None;
    }
    if size.is_some_and(|s| s < MIN_BYTES_FOR_BAR) {
        return None;
    }
    let bar = new_bar(label, size, ProgressDrawTarget::stderr());
    Some(ProgressHook::new(REPORT_EVERY_BYTES, move |p| {
        update(&bar, p)
    }))
}

fn new_bar(label: &str, size: Option<u64>, target: ProgressDrawTarget) -> ProgressBar {
    let bar = match size {
        Some(total) => ProgressBar::with_draw_target(Some(total), target).with_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:32}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::with_draw_target(None, target).with_style(
            ProgressStyle::with_template("{prefix} {spinner} {bytes} {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn update(bar: &ProgressBar, p: &Progress) {
    if p.done {
        bar.finish_and_clear();
    } else {
        bar.set_position(p.bytes_read);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_follows_the_analysis_and_is_cleared_at_the_end() {
        let bar = new_bar("x.pcap", Some(1000), ProgressDrawTarget::hidden());
        let at = |bytes_read, done| Progress {
            bytes_read,
            total_bytes: Some(1000),
            frames: 1,
            done,
        };
        update(&bar, &at(400, false));
        assert_eq!(bar.position(), 400);
        assert!(!bar.is_finished());
        update(&bar, &at(1000, true));
        assert!(bar.is_finished());
    }

    #[test]
    fn no_bar_when_stderr_is_not_a_terminal() {
        // The test harness captures stderr; in CI it is never a terminal.
        if !std::io::stderr().is_terminal() {
            assert!(stderr_hook("x.pcap", Some(1 << 40)).is_none());
        }
    }
}
