//! Finding where records start again after damage: a pure search over the bytes after a
//! damaged record, as `pcapfix` does, so that one bad length field does not cost the rest of
//! a capture.
//!
//! A position is taken only when a run of records starting there all look sound, or the run
//! ends exactly at the end of the file. A classic pcap record has no marker, so soundness
//! there is its header's fields: a fraction of a second below one second, a captured length
//! of at least one byte, no more than the original length and within the record limit, and
//! a time within [`MAX_TIME_STEP_SECS`] of the record before. The run's first record must be
//! that near the time of the records read before the damage ([`TimeAnchor`]), and then
//! [`PCAP_CONFIRMING`] records make a run; with no record before, it takes
//! [`PCAP_CONFIRMING_ALONE`]. The time matters most: a few bytes off a real header, the
//! fields of real headers make runs that agree with themselves. A pcapng block carries its
//! type and its length at both ends, which all have to agree ([`NG_CONFIRMING`] blocks).
//! The search is linear in the bytes it passes over and allocates nothing. Bytes before the
//! damaged record's header are not searched: a record that started there (a wrong length
//! before it ran past its start) is lost.

use super::read_u32;

/// How many classic pcap records in a row must look sound before reading resumes there,
/// when the first is near the time of the records before the damage.
pub(super) const PCAP_CONFIRMING: usize = 3;
/// How many, when no record came before the damage to compare times with.
pub(super) const PCAP_CONFIRMING_ALONE: usize = 8;
/// How many pcapng blocks in a row must look sound (each carries its length twice).
pub(super) const NG_CONFIRMING: usize = 2;
/// The largest time step between two neighbouring records of a run, and between the last
/// intact record and the first one found (one day).
pub(super) const MAX_TIME_STEP_SECS: u32 = 86_400;
/// The largest original length a found classic record may declare (a run may not rest on a
/// header whose lengths are noise).
const MAX_ORIGINAL_LEN: u32 = 16 << 20;

/// The time of the records read so far, as a search after damage compares with it: the
/// seconds of the last record, moved only by a record near it, or by two neighbouring records
/// near each other (a capture's time may jump, e.g. files merged end to end). A record read
/// from damage that went unnoticed (a smaller wrong length makes noise look like a record)
/// does not move it alone: its time is noise, and the records after the damage would be
/// judged by it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TimeAnchor {
    secs: Option<u32>,
    /// A record's time away from `secs`, which the next record may confirm.
    pending: Option<u32>,
}

impl TimeAnchor {
    /// Notes a record's seconds and captured length. An empty record is not noted: a run
    /// of zero bytes reads as empty records at time 0, which would agree with each other.
    #[inline]
    pub(super) fn note(&mut self, secs: u32, captured: usize) {
        // Most records fall in the same second as the one before: nothing to do (this runs
        // for every classic pcap record).
        if self.secs == Some(secs) || captured == 0 {
            return;
        }
        self.note_other(secs);
    }

    fn note_other(&mut self, secs: u32) {
        let near =
            |other: Option<u32>| other.is_some_and(|o| o.abs_diff(secs) <= MAX_TIME_STEP_SECS);
        if self.secs.is_none() || near(self.secs) || near(self.pending) {
            self.secs = Some(secs);
            self.pending = None;
        } else {
            self.pending = Some(secs);
        }
    }

    pub(super) fn secs(&self) -> Option<u32> {
        self.secs
    }
}

/// The outcome of a search over the bytes at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Search {
    /// Records start again at this position.
    Found(usize),
    /// The run starting at this position looks sound as far as the bytes go; more are needed
    /// to decide (never when the bytes reach the end of the file).
    NeedMore(usize),
    /// No position from the start of the search on can begin a run.
    NotFound,
}

/// What a classic pcap file's records look like.
#[derive(Debug, Clone, Copy)]
pub(super) struct PcapShape {
    pub big_endian: bool,
    /// 1 000 000, or 1 000 000 000 for nanosecond files.
    pub fraction_per_second: u32,
    /// The most captured bytes a record may declare.
    pub record_limit: u32,
    /// Seconds of the last intact record, if any.
    pub last_secs: Option<u32>,
    /// The most bytes a run may span from its start ([`Search::NeedMore`] never asks for
    /// more: the reader's largest buffer).
    pub horizon: usize,
}

/// What a pcapng section's blocks look like.
#[derive(Debug, Clone, Copy)]
pub(super) struct NgShape {
    pub big_endian: bool,
    /// Interfaces of the current section (an Enhanced Packet Block must name one of them).
    pub interfaces: usize,
    /// The largest block accepted.
    pub max_block_len: u32,
    /// The most bytes a run may span from its start (as [`PcapShape::horizon`]).
    pub horizon: usize,
}

/// Whether a run starting at one position is sound.
enum Verdict {
    Sound,
    Unsound,
    NeedMore,
}

/// Searches `data[from..]` for the first position where classic pcap records start again.
/// `at_eof`: `data` runs to the end of the file.
pub(super) fn find_pcap_record(
    data: &[u8],
    from: usize,
    at_eof: bool,
    shape: &PcapShape,
) -> Search {
    search(data, from, |start| pcap_run(data, start, at_eof, shape))
}

/// Searches `data[from..]` for the first position where pcapng blocks start again.
pub(super) fn find_ng_block(data: &[u8], from: usize, at_eof: bool, shape: &NgShape) -> Search {
    search(data, from, |start| ng_run(data, start, at_eof, shape))
}

fn search(data: &[u8], from: usize, mut run: impl FnMut(usize) -> Verdict) -> Search {
    for start in from..data.len() {
        match run(start) {
            Verdict::Sound => return Search::Found(start),
            Verdict::NeedMore => return Search::NeedMore(start),
            Verdict::Unsound => {}
        }
    }
    Search::NotFound
}

fn pcap_run(data: &[u8], start: usize, at_eof: bool, shape: &PcapShape) -> Verdict {
    // A run must start near the time of the records before the damage; with none before
    // it, a long run has to stand alone. (Headers read a few bytes off real ones make runs
    // that agree with themselves: four bytes off, each "time" is a fraction of a second.)
    let Some(first_secs) = read_u32(data, start, shape.big_endian) else {
        return more_or_unsound(at_eof);
    };
    let needed = match shape.last_secs {
        Some(last) if last.abs_diff(first_secs) <= MAX_TIME_STEP_SECS => PCAP_CONFIRMING,
        Some(_) => return Verdict::Unsound,
        None => PCAP_CONFIRMING_ALONE,
    };
    // A run that ends exactly at the end of the file may be shorter (a record cut by the
    // end is no confirmation: one byte off, a header's small fields often look sound).
    let enough_at_end = if shape.last_secs.is_some() {
        1
    } else {
        PCAP_CONFIRMING
    };
    let mut at = start;
    let mut previous_secs = None;
    for sound in 0..needed {
        if at_eof && at == data.len() && sound >= enough_at_end {
            return Verdict::Sound;
        }
        // A run longer than the reader can hold is judged on the records it has: sound if
        // two of them were (asking for more would make the reader shift its buffer for
        // every byte searched).
        if (at - start).saturating_add(16) > shape.horizon {
            return judged_on(sound, 2);
        }
        let field = |o: usize| read_u32(data, at + o, shape.big_endian);
        let (Some(secs), Some(fraction), Some(captured), Some(original)) =
            (field(0), field(4), field(8), field(12))
        else {
            return more_or_unsound(at_eof);
        };
        let lengths_sound = captured >= 1
            && captured <= shape.record_limit
            && captured <= original
            && original <= MAX_ORIGINAL_LEN;
        let time_sound = fraction < shape.fraction_per_second
            && previous_secs.is_none_or(|p: u32| p.abs_diff(secs) <= MAX_TIME_STEP_SECS);
        if !(lengths_sound && time_sound) {
            return Verdict::Unsound;
        }
        previous_secs = Some(secs);
        at = at.saturating_add(16).saturating_add(captured as usize);
    }
    Verdict::Sound
}

/// pcapng block types a search may land on.
const NG_BLOCK_TYPES: [u32; 11] = [
    0x0A0D_0D0A, // Section Header
    1,           // Interface Description
    2,           // Packet (obsolete)
    3,           // Simple Packet
    4,           // Name Resolution
    5,           // Interface Statistics
    6,           // Enhanced Packet
    9,           // systemd Journal Export
    10,          // Decryption Secrets
    0x0000_0BAD, // Custom
    0x4000_0BAD, // Custom, not to be copied
];

fn ng_run(data: &[u8], start: usize, at_eof: bool, shape: &NgShape) -> Verdict {
    let mut at = start;
    let mut big_endian = shape.big_endian;
    for sound in 0..NG_CONFIRMING {
        if at_eof && sound > 0 && at == data.len() {
            return Verdict::Sound;
        }
        // Beyond what the reader can hold, a run is judged on the blocks it has (as for
        // classic pcap; one block whose lengths agree is enough here).
        if (at - start).saturating_add(12) > shape.horizon {
            return judged_on(sound, 1);
        }
        let Some(type_word) = data.get(at..at.saturating_add(4)) else {
            return more_or_unsound(at_eof);
        };
        // The type is the same read either way for a Section Header; its byte-order magic
        // (after the length) decides how its length reads.
        let le_type = u32::from_le_bytes([type_word[0], type_word[1], type_word[2], type_word[3]]);
        if le_type == 0x0A0D_0D0A {
            match data.get(at + 8..at + 12) {
                Some([0x1A, 0x2B, 0x3C, 0x4D]) => big_endian = true,
                Some([0x4D, 0x3C, 0x2B, 0x1A]) => big_endian = false,
                Some(_) => return Verdict::Unsound,
                None => return more_or_unsound(at_eof),
            }
        } else {
            let block_type = if big_endian {
                le_type.swap_bytes()
            } else {
                le_type
            };
            if !NG_BLOCK_TYPES.contains(&block_type) {
                return Verdict::Unsound;
            }
        }
        let Some(len) = read_u32(data, at + 4, big_endian) else {
            return more_or_unsound(at_eof);
        };
        if len < 12 || len % 4 != 0 || len > shape.max_block_len {
            return Verdict::Unsound;
        }
        if (at - start).saturating_add(len as usize) > shape.horizon {
            return judged_on(sound, 1);
        }
        let end = at.saturating_add(len as usize);
        let Some(trailer) = read_u32(data, end - 4, big_endian) else {
            return more_or_unsound(at_eof);
        };
        if trailer != len {
            return Verdict::Unsound;
        }
        let enhanced = le_type == 6 || le_type == 6u32.swap_bytes();
        if enhanced && !enhanced_packet_sound(data, at, len, big_endian, shape) {
            return Verdict::Unsound;
        }
        at = end;
    }
    Verdict::Sound
}

/// An Enhanced Packet Block names a known interface and fits its captured bytes.
fn enhanced_packet_sound(
    data: &[u8],
    at: usize,
    len: u32,
    big_endian: bool,
    shape: &NgShape,
) -> bool {
    let (Some(interface), Some(captured)) = (
        read_u32(data, at + 8, big_endian),
        read_u32(data, at + 20, big_endian),
    ) else {
        return false;
    };
    (interface as usize) < shape.interfaces.max(1) && u64::from(captured) + 32 <= u64::from(len)
}

/// A run cut short by the horizon after `sound` records: sound if `enough` were.
fn judged_on(sound: usize, enough: usize) -> Verdict {
    if sound >= enough {
        Verdict::Sound
    } else {
        Verdict::Unsound
    }
}

fn more_or_unsound(at_eof: bool) -> Verdict {
    if at_eof {
        Verdict::Unsound
    } else {
        Verdict::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(v: &mut Vec<u8>, secs: u32, data: &[u8]) {
        for word in [secs, 0, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&word.to_le_bytes());
        }
        v.extend_from_slice(data);
    }

    fn shape(last_secs: Option<u32>) -> PcapShape {
        PcapShape {
            big_endian: false,
            fraction_per_second: 1_000_000,
            record_limit: 262_144,
            last_secs,
            horizon: 16 << 20,
        }
    }

    /// Noise, then three records: the search lands on the first record, not inside the noise,
    /// even where the noise holds a header that looks sound on its own.
    #[test]
    fn finds_the_first_record_after_noise() {
        let mut data = vec![0xffu8; 37];
        // A lone sound-looking header whose "next record" is noise.
        record(&mut data, 1_000, &[0xee; 20]);
        data.extend_from_slice(&[0xffu8; 9]);
        let first = data.len();
        for secs in 1_000..1_003 {
            record(&mut data, secs, &[secs as u8; 60]);
        }
        let found = find_pcap_record(&data, 0, true, &shape(Some(999)));
        assert_eq!(found, Search::Found(first));
    }

    /// A run of zero bytes is not a record (zero captured bytes), nor is a header whose time
    /// is a day away from the last intact record.
    #[test]
    fn zeros_and_distant_times_are_not_records() {
        let zeros = vec![0u8; 4096];
        assert_eq!(
            find_pcap_record(&zeros, 0, true, &shape(None)),
            Search::NotFound
        );
        let mut data = Vec::new();
        for secs in 0..3 {
            record(&mut data, 1_700_000_000 + secs, &[1; 60]);
        }
        assert_eq!(
            find_pcap_record(&data, 0, true, &shape(Some(1_000))).clone(),
            Search::NotFound
        );
        assert_eq!(
            find_pcap_record(&data, 0, true, &shape(Some(1_699_999_000))),
            Search::Found(0)
        );
    }

    /// A run that looks sound as far as the bytes go asks for more; at the end of the file a
    /// run is enough if it ends exactly there, and a record cut by the end confirms nothing.
    #[test]
    fn a_run_cut_by_the_bytes_at_hand_needs_more() {
        let secs = 1_700_000_000;
        let mut data = vec![0xffu8; 3];
        record(&mut data, secs, &[2; 100]);
        record(&mut data, secs + 1, &[2; 100]);
        let whole = data.clone();
        data.truncate(data.len() - 50);
        let near = shape(Some(secs));
        assert_eq!(
            find_pcap_record(&data, 0, false, &near),
            Search::NeedMore(3)
        );
        assert_eq!(find_pcap_record(&data, 0, true, &near), Search::NotFound);
        assert_eq!(find_pcap_record(&whole, 0, true, &near), Search::Found(3));
        // Past the first record's start, the second one, which ends the file, is found.
        assert_eq!(find_pcap_record(&whole, 4, true, &near), Search::Found(119));
    }

    /// One byte off a real record, its small fields (fraction, lengths) can read as a sound
    /// header; with times as small as the shift's, only the run's next header tells.
    #[test]
    fn a_header_one_byte_off_is_not_confirmed_by_the_end_of_the_file() {
        let mut data = vec![0xffu8; 3];
        record(&mut data, 5, &[2; 100]);
        record(&mut data, 6, &[2; 100]);
        assert_eq!(
            find_pcap_record(&data, 0, true, &shape(Some(5))),
            Search::Found(3)
        );
        data.truncate(data.len() - 50);
        assert_eq!(
            find_pcap_record(&data, 0, true, &shape(Some(5))),
            Search::NotFound
        );
        assert_eq!(
            find_pcap_record(&data, 0, false, &shape(Some(5))),
            Search::NeedMore(2)
        );
    }

    fn block(v: &mut Vec<u8>, block_type: u32, body: &[u8]) {
        let len = (12 + body.len()) as u32;
        v.extend_from_slice(&block_type.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&len.to_le_bytes());
    }

    fn enhanced(v: &mut Vec<u8>, interface: u32, data: &[u8]) {
        let mut body = Vec::new();
        for word in [interface, 0, 0, data.len() as u32, data.len() as u32] {
            body.extend_from_slice(&word.to_le_bytes());
        }
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        block(v, 6, &body);
    }

    const NG: NgShape = NgShape {
        big_endian: false,
        interfaces: 1,
        max_block_len: 16 << 20,
        horizon: 16 << 20,
    };

    #[test]
    fn finds_the_next_pcapng_block_whose_lengths_agree() {
        let mut data = vec![6, 0, 0, 0, 0xff, 0, 0, 0, 1, 2];
        let first = data.len();
        enhanced(&mut data, 0, &[9; 61]);
        enhanced(&mut data, 0, &[9; 62]);
        assert_eq!(find_ng_block(&data, 0, true, &NG), Search::Found(first));
        // An interface the section never described is not a sound packet block.
        let mut unknown = Vec::new();
        enhanced(&mut unknown, 3, &[9; 61]);
        enhanced(&mut unknown, 3, &[9; 61]);
        assert_eq!(find_ng_block(&unknown, 0, true, &NG), Search::NotFound);
        // Cut before the second block's end: more is needed, or at the end of the file the
        // first block alone is not enough.
        let cut = &data[..data.len() - 8];
        assert_eq!(find_ng_block(cut, 0, false, &NG), Search::NeedMore(first));
        assert_eq!(find_ng_block(cut, 0, true, &NG), Search::NotFound);
    }

    /// A section header found in the noise, in either byte order, starts a run.
    #[test]
    fn a_section_header_sets_the_byte_order_of_its_run() {
        let mut data = vec![0u8; 5];
        let shb_at = data.len();
        // Big-endian section header: type, length 28, magic, version 1.0, section length -1.
        data.extend_from_slice(&0x0A0D_0D0Au32.to_be_bytes());
        data.extend_from_slice(&28u32.to_be_bytes());
        data.extend_from_slice(&0x1A2B_3C4Du32.to_be_bytes());
        data.extend_from_slice(&[0, 1, 0, 0]);
        data.extend_from_slice(&u64::MAX.to_be_bytes());
        data.extend_from_slice(&28u32.to_be_bytes());
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&20u32.to_be_bytes());
        data.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0xff, 0xff]);
        data.extend_from_slice(&20u32.to_be_bytes());
        assert_eq!(find_ng_block(&data, 0, true, &NG), Search::Found(shb_at));
    }

    #[test]
    fn the_time_anchor_moves_with_records_near_it_or_with_two_that_agree() {
        let mut anchor = TimeAnchor::default();
        assert_eq!(anchor.secs(), None);
        anchor.note(1_700_000_000, 60);
        anchor.note(1_700_000_100, 60);
        assert_eq!(anchor.secs(), Some(1_700_000_100));
        // Noise read as a record does not move it, nor noise after noise far apart, nor
        // zeros read as empty records, however many.
        anchor.note(0, 60);
        anchor.note(3_000_000_000, 60);
        anchor.note(0, 0);
        anchor.note(0, 0);
        assert_eq!(anchor.secs(), Some(1_700_000_100));
        // A real jump does, once a second record confirms it.
        anchor.note(1_800_000_000, 60);
        assert_eq!(anchor.secs(), Some(1_700_000_100));
        anchor.note(1_800_000_001, 60);
        assert_eq!(anchor.secs(), Some(1_800_000_001));
    }

    /// A run is never asked to span more than the horizon: records beyond it are not waited
    /// for; two sound ones before it make a run, one does not.
    #[test]
    fn a_run_past_the_horizon_is_judged_on_what_it_has() {
        let secs = 1_700_000_000;
        let mut data = Vec::new();
        for i in 0..3 {
            record(&mut data, secs + i, &[1; 1000]);
        }
        let near = PcapShape {
            horizon: 2 * 1016 + 8,
            ..shape(Some(secs))
        };
        // Two records fit, the third's header does not: sound, without asking for more.
        assert_eq!(
            find_pcap_record(&data[..2100], 0, false, &near),
            Search::Found(0)
        );
        let one = PcapShape {
            horizon: 1016 + 8,
            ..near
        };
        assert_eq!(
            find_pcap_record(&data[..1100], 0, true, &one),
            Search::NotFound
        );
        let mut blocks = Vec::new();
        enhanced(&mut blocks, 0, &[9; 100]);
        enhanced(&mut blocks, 0, &[9; 100]);
        let short = NgShape { horizon: 150, ..NG };
        assert_eq!(
            find_ng_block(&blocks[..140], 0, false, &short),
            Search::Found(0)
        );
        let shorter = NgShape { horizon: 100, ..NG };
        assert_eq!(
            find_ng_block(&blocks[..140], 0, true, &shorter),
            Search::NotFound
        );
    }

    /// No byte sequence makes the search panic or return a position outside the bytes.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..600 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 7) as u8 // small values make plausible-looking fields common
                })
                .collect();
            for at_eof in [false, true] {
                for s in [shape(None), shape(Some(0))] {
                    if let Search::Found(p) | Search::NeedMore(p) =
                        find_pcap_record(&data, 0, at_eof, &s)
                    {
                        assert!(p < data.len());
                    }
                }
                if let Search::Found(p) | Search::NeedMore(p) = find_ng_block(&data, 0, at_eof, &NG)
                {
                    assert!(p < data.len());
                }
            }
        }
    }
}
