//! Runs of bytes on connections whose protocol is not decoded: what each side sent, turn by
//! turn, so that the story tells an SMTP or PPTP conversation instead of a silence between
//! its handshake and its FIN.

use crate::capture::Timestamp;
use crate::tcp::{Dir, DATA_PREVIEW_CHARS, DATA_RUN_PAUSE_SECS};

/// A frame number and its time.
pub(crate) type FrameAt = (u64, Timestamp);

/// One direction's run of bytes so far.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpaqueRun {
    /// The frame of the run's first bytes.
    pub first: u64,
    /// The frame of its last bytes so far: where it is reported.
    pub last: FrameAt,
    pub bytes: u64,
    /// The first line of the run's first bytes, when they are text.
    pub preview: Option<String>,
}

/// The open runs of a connection's two directions (index: `Dir as usize`).
#[derive(Debug, Default)]
pub(crate) struct OpaqueRuns {
    runs: [Option<OpaqueRun>; 2],
}

impl OpaqueRuns {
    /// Adds `bytes` of `dir`, carried from frame `first` to frame `last`, and returns the runs
    /// they end, in the order of their last frames: the other direction's (the turn passed)
    /// and `dir`'s own when these bytes come [`DATA_RUN_PAUSE_SECS`] or more after its last
    /// ones.
    pub fn add(
        &mut self,
        dir: Dir,
        first: FrameAt,
        last: FrameAt,
        bytes: &[u8],
    ) -> [Option<(Dir, OpaqueRun)>; 2] {
        let d = dir as usize;
        let other = self.take(dir.flip()).map(|run| (dir.flip(), run));
        let paused = self.runs[d]
            .as_ref()
            .is_some_and(|run| first.1.seconds_since(run.last.1) >= DATA_RUN_PAUSE_SECS);
        let own = if paused { self.take(dir) } else { None }.map(|run| (dir, run));
        if !bytes.is_empty() {
            let run = self.runs[d].get_or_insert_with(|| OpaqueRun {
                first: first.0,
                last,
                bytes: 0,
                preview: text_preview(bytes),
            });
            run.last = last;
            run.bytes = run.bytes.saturating_add(bytes.len() as u64);
        }
        in_frame_order([other, own])
    }

    /// Ends both directions' runs, in the order of their last frames.
    pub fn take_all(&mut self) -> [Option<(Dir, OpaqueRun)>; 2] {
        let to_server = self.take(Dir::ToServer).map(|run| (Dir::ToServer, run));
        let to_client = self.take(Dir::ToClient).map(|run| (Dir::ToClient, run));
        in_frame_order([to_server, to_client])
    }

    /// Ends `dir`'s run, if it has one.
    pub fn take(&mut self, dir: Dir) -> Option<OpaqueRun> {
        self.runs.get_mut(dir as usize).and_then(Option::take)
    }
}

/// `runs` in the order of their last frames, as a single-threaded timeline tells them.
fn in_frame_order(runs: [Option<(Dir, OpaqueRun)>; 2]) -> [Option<(Dir, OpaqueRun)>; 2] {
    match runs {
        [Some(a), Some(b)] if b.1.last.0 < a.1.last.0 => [Some(b), Some(a)],
        runs => runs,
    }
}

/// The first line of `bytes` when it is printable text (ASCII letters, digits, punctuation,
/// spaces and tabs, ended by a line break or by the bytes' end), at least 3 characters long:
/// up to [`DATA_PREVIEW_CHARS`] characters, with `…` where cut. `None` for binary data,
/// which is what most protocols not decoded carry.
pub(crate) fn text_preview(bytes: &[u8]) -> Option<String> {
    let line_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = bytes.get(..line_end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let shown = line.get(..DATA_PREVIEW_CHARS).unwrap_or(line);
    let printable = |b: &u8| (0x20..0x7f).contains(b) || *b == b'\t';
    // A cut line must be text up to the cut only; bytes past it are not looked at (a binary
    // record after a text banner is still a banner).
    if shown.len() < 3 || !shown.iter().all(printable) {
        return None;
    }
    let mut text: String = shown.iter().map(|&b| char::from(b)).collect();
    let text_trimmed = text.trim_end().len();
    text.truncate(text_trimmed);
    if text.is_empty() {
        return None;
    }
    if shown.len() < line.len() {
        text.push('…');
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(frame: u64, secs: f64) -> FrameAt {
        (
            frame,
            Timestamp::from_parts(0, (secs * 1e6).round() as u64, 1_000_000),
        )
    }

    #[test]
    fn a_run_ends_when_the_other_side_sends() {
        let mut runs = OpaqueRuns::default();
        assert_eq!(
            runs.add(Dir::ToClient, at(4, 0.1), at(4, 0.1), b"220 mail ESMTP\r\n"),
            [None, None]
        );
        assert_eq!(
            runs.add(Dir::ToClient, at(5, 0.2), at(6, 0.3), b"more"),
            [None, None]
        );
        let [ended, none] = runs.add(Dir::ToServer, at(8, 0.4), at(8, 0.4), b"EHLO x\r\n");
        assert_eq!(none, None);
        let (dir, run) = ended.unwrap();
        assert_eq!(dir, Dir::ToClient);
        assert_eq!((run.first, run.last.0, run.bytes), (4, 6, 20));
        assert_eq!(run.preview.as_deref(), Some("220 mail ESMTP"));
        let run = runs.take(Dir::ToServer).unwrap();
        assert_eq!((run.first, run.last.0, run.bytes), (8, 8, 8));
        assert_eq!(runs.take(Dir::ToServer), None);
    }

    #[test]
    fn a_pause_ends_a_run_and_runs_come_in_the_order_of_their_last_frames() {
        let mut runs = OpaqueRuns::default();
        runs.add(Dir::ToServer, at(1, 0.0), at(1, 0.0), &[0u8; 10]);
        // Still the same run 0.9 s later.
        assert_eq!(
            runs.add(Dir::ToServer, at(2, 0.9), at(2, 0.9), &[0u8; 10]),
            [None, None]
        );
        runs.add(Dir::ToClient, at(3, 1.0), at(3, 1.0), &[0u8; 5]);
        // The server's run is still open when the client speaks again, after a pause: both
        // end, the client's first (its last frame is earlier).
        let ended = runs.add(Dir::ToServer, at(9, 2.0), at(9, 2.0), &[0u8; 7]);
        let order: Vec<_> = ended
            .iter()
            .flatten()
            .map(|(d, r)| (*d, r.last.0))
            .collect();
        assert_eq!(order, [(Dir::ToClient, 3)]);
        // A pause of the client's own run.
        let ended = runs.add(Dir::ToServer, at(12, 3.5), at(12, 3.5), &[0u8; 1]);
        let order: Vec<_> = ended.iter().flatten().map(|(d, r)| (*d, r.bytes)).collect();
        assert_eq!(order, [(Dir::ToServer, 7)]);
    }

    #[test]
    fn both_runs_end_together_in_frame_order() {
        let mut runs = OpaqueRuns::default();
        runs.add(Dir::ToServer, at(1, 0.0), at(1, 0.0), b"a");
        runs.add(Dir::ToClient, at(2, 0.1), at(2, 0.1), b"b");
        // Hand-built: both open (a capture's reordered delivery), then the client pauses.
        runs.runs[0] = Some(OpaqueRun {
            first: 1,
            last: at(1, 0.0),
            bytes: 1,
            preview: None,
        });
        let ended = runs.add(Dir::ToServer, at(5, 9.0), at(5, 9.0), b"c");
        let order: Vec<_> = ended
            .iter()
            .flatten()
            .map(|(d, r)| (*d, r.last.0))
            .collect();
        assert_eq!(order, [(Dir::ToServer, 1), (Dir::ToClient, 2)]);
    }

    #[test]
    fn previews_show_text_lines_only() {
        assert_eq!(
            text_preview(b"SSH-2.0-OpenSSH_9.6\r\n\0\0").as_deref(),
            Some("SSH-2.0-OpenSSH_9.6")
        );
        assert_eq!(text_preview(b"+OK ready").as_deref(), Some("+OK ready"));
        assert_eq!(text_preview(b"\x16\x03\x01\x00"), None);
        assert_eq!(text_preview(b"ab\0cdef"), None);
        assert_eq!(text_preview(b"ok"), None);
        assert_eq!(text_preview(b"   \r\n"), None);
        assert_eq!(text_preview(b""), None);
        let long = [b'x'; 100];
        let preview = text_preview(&long).unwrap();
        assert_eq!(preview.chars().count(), DATA_PREVIEW_CHARS + 1);
        assert!(preview.ends_with('…'));
        // Text up to the cut is enough.
        let mut mixed = vec![b'y'; DATA_PREVIEW_CHARS];
        mixed.extend_from_slice(&[0, 1, 2]);
        assert!(text_preview(&mixed).unwrap().ends_with('…'));
    }
}
