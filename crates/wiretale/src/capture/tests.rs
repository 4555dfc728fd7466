use super::*;
use crate::test_support::{oracle_rows, shared_capture_files};

/// Every record of every shared capture: frame count, captured and original lengths, interface
/// and time equal tshark's.
#[test]
fn records_match_tshark_for_every_shared_capture() {
    for path in shared_capture_files() {
        let oracle = oracle_rows(&path);
        let mut reader = CaptureReader::open(&path).unwrap();
        let mut n = 0usize;
        let mut error = None;
        loop {
            match reader.next_record() {
                Ok(Some(r)) => {
                    let row = oracle
                        .get(n)
                        .unwrap_or_else(|| panic!("{}: extra frame {}", path.display(), r.frame));
                    assert_eq!(row["frame.number"], r.frame.to_string());
                    assert_eq!(
                        row["frame.cap_len"],
                        r.data.len().to_string(),
                        "{} frame {}",
                        path.display(),
                        r.frame
                    );
                    assert_eq!(row["frame.len"], r.original_len.to_string());
                    let iface = row["frame.interface_id"].as_str();
                    if !iface.is_empty() {
                        assert_eq!(iface, r.interface.to_string());
                    }
                    let want: f64 = row["frame.time_epoch"].parse().unwrap();
                    assert!(
                        (want - r.time.as_secs_f64()).abs() < 1e-6,
                        "{} frame {}: time {} vs {}",
                        path.display(),
                        r.frame,
                        r.time,
                        want
                    );
                    n += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        assert_eq!(n, oracle.len(), "{}: frame count", path.display());
        if let Some(e) = error {
            // Only the deliberately damaged file may end in an error.
            assert!(
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("corrupt"),
                "{}: {e}",
                path.display()
            );
        }
    }
}

#[test]
fn not_a_capture_is_a_clear_error() {
    let err = CaptureReader::new(&b"GET / HTTP/1.1\r\n"[..]).unwrap_err();
    assert_eq!(
        err.kind.to_string(),
        "not a pcap or pcapng file (magic 0x47455420)"
    );
    let err = CaptureReader::new(&b"ab"[..]).unwrap_err();
    assert!(matches!(err.kind, CaptureErrorKind::TooShort { len: 2 }));
}

fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&0i32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v
}

fn pcap_record(v: &mut Vec<u8>, secs: u32, data: &[u8]) {
    v.extend_from_slice(&secs.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
}

#[test]
fn damage_reports_frame_and_offset_after_good_records() {
    let mut file = pcap_header(65535);
    pcap_record(&mut file, 1, &[0u8; 60]);
    pcap_record(&mut file, 2, &[0u8; 60]);
    let second_end = file.len();
    pcap_record(&mut file, 3, &[0u8; 60]);
    file.truncate(second_end + 30); // third record cut short
    let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    assert_eq!(reader.next_record().unwrap().unwrap().frame, 1);
    assert_eq!(reader.next_record().unwrap().unwrap().frame, 2);
    let err = reader.next_record().unwrap_err();
    assert_eq!(err.frame, 3);
    assert_eq!(err.offset, second_end as u64);
    assert!(reader.next_record().unwrap().is_none());
}

#[test]
fn huge_record_length_is_an_error_not_an_allocation() {
    let mut file = pcap_header(65535);
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    file.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    file.extend_from_slice(&[0u8; 100]);
    let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    let err = reader.next_record().unwrap_err();
    assert_eq!(err.frame, 1);
    assert_eq!(err.offset, 24);
}

/// A reader that returns one byte per `read` call, like a slow pipe.
struct Trickle<'a>(&'a [u8]);
impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(slot)) => {
                *slot = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn reads_from_a_trickling_stream() {
    let mut file = pcap_header(65535);
    for i in 0..5 {
        pcap_record(&mut file, i, &[i as u8; 100]);
    }
    let mut reader = CaptureReader::new(Trickle(&file)).unwrap();
    let mut frames = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        assert_eq!(r.data, &[(r.frame - 1) as u8; 100][..]);
        frames.push(r.frame);
    }
    assert_eq!(frames, vec![1, 2, 3, 4, 5]);
}

/// Everything a record says, owned, for comparing two reads of a file.
type RecordFacts = (u64, Timestamp, u32, LinkType, Vec<u8>, u32, u64);

/// Every record and every error (damage read past included, joined by `; `), and the comments.
fn read_all(reader: CaptureReader<'_>) -> (Vec<RecordFacts>, Option<String>, Vec<String>) {
    let mut reader = reader;
    let mut records = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(r)) => records.push((
                r.frame,
                r.time,
                r.interface,
                r.link_type,
                r.data.to_vec(),
                r.original_len,
                r.file_offset,
            )),
            Ok(None) => break,
            Err(e) => {
                errors.push(format!("{e:?}"));
                if e.resumed_at.is_none() {
                    // The reader is finished: it says so from now on.
                    assert!(reader.next_record().unwrap().is_none());
                    break;
                }
            }
        }
    }
    let error = (!errors.is_empty()).then(|| errors.join("; "));
    (records, error, reader.comments().to_vec())
}

/// The fast path for plain packet records reads exactly what pcap-parser reads, on every
/// committed fixture and shared capture (pcap both byte orders, nanoseconds, pcapng with
/// several interfaces, comments, simple and obsolete blocks, a damaged file).
#[test]
fn fast_path_reads_what_the_general_path_reads() {
    let files = all_capture_files();
    assert!(files.len() > 15);
    for path in files {
        for open in [CaptureReader::open, CaptureReader::open_mapped] {
            let fast = read_all(open(&path).unwrap());
            let general = read_all(open(&path).unwrap().without_fast_path());
            assert!(!fast.0.is_empty(), "{}", path.display());
            assert_eq!(fast, general, "{}", path.display());
        }
    }
}

/// A record whose length field is damaged (larger than any record of the file may be) is
/// reported as such, at its frame and offset, on both paths, and not as a file cut short; a
/// record above the snapshot length but within libpcap's 256 KiB is read.
#[test]
fn a_damaged_record_length_is_named_at_its_frame() {
    for declared in [0x7fff_ffffu32, 262_145] {
        let mut file = pcap_header(65535);
        pcap_record(&mut file, 1, &[0u8; 60]);
        let damaged_at = file.len();
        pcap_record(&mut file, 2, &[0u8; 60]);
        pcap_record(&mut file, 3, &[0u8; 60]);
        file[damaged_at + 8..damaged_at + 12].copy_from_slice(&declared.to_le_bytes());
        for fast in [true, false] {
            let reader = CaptureReader::new(std::io::Cursor::new(file.clone())).unwrap();
            let mut reader = if fast {
                reader
            } else {
                reader.without_fast_path()
            };
            assert_eq!(reader.next_record().unwrap().unwrap().frame, 1);
            let err = reader.next_record().unwrap_err();
            assert!(
                matches!(err.kind, CaptureErrorKind::BadRecordLength { declared: d, limit: 262_144 } if d == declared),
                "{err}"
            );
            assert_eq!((err.frame, err.offset), (2, damaged_at as u64));
            assert!(err.to_string().contains("length field is damaged"), "{err}");
        }
    }
    let mut file = pcap_header(65535);
    pcap_record(&mut file, 1, &vec![0u8; 100_000]);
    let (records, error, _) = read_all(CaptureReader::new(std::io::Cursor::new(file)).unwrap());
    assert_eq!((records.len(), error), (1, None));
}

#[test]
fn fast_path_leaves_a_cut_record_to_the_general_path() {
    let mut file = pcap_header(65535);
    pcap_record(&mut file, 1, &[7; 60]);
    pcap_record(&mut file, 2, &[8; 60]);
    file.truncate(file.len() - 10);
    let (records, error, _) = read_all(CaptureReader::new(std::io::Cursor::new(file)).unwrap());
    assert_eq!(records.len(), 1);
    assert!(error.unwrap().contains("TruncatedRecord"));
}

/// Every committed fixture and shared capture.
fn all_capture_files() -> Vec<std::path::PathBuf> {
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut files: Vec<_> = std::fs::read_dir(&testdata)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    files.extend(shared_capture_files());
    files
}

/// Records, error and comments of `path` read with `read` calls, and through a map: as
/// `open_mapped` maps it, and with a small buffer and window (crossing windows and growing the
/// buffer often), by the fast path and the general one.
fn assert_mapped_reads_what_read_reads(path: &std::path::Path) {
    let read = read_all(CaptureReader::open(path).unwrap());
    let mapped = CaptureReader::open_mapped(path).unwrap();
    assert!(
        mapped.inner.reader_exhausted() || mapped.total_len().is_some(),
        "{}",
        path.display()
    );
    assert_eq!(read_all(mapped), read, "{}: mapped", path.display());
    // Capacities that double up to exactly MAX_BLOCK_LEN, as the real 256 KiB buffer does
    // (others would stop growing below it and refuse a block the real reader takes).
    for (capacity, window) in [(64, 64), (128, 4096), (4096, 4096), (8192, 1 << 16)] {
        let Some(small) = CaptureReader::open_mapped_with(path, capacity, window) else {
            // The header does not parse: `open_mapped` reads such a file without a map.
            assert!(read.0.is_empty(), "{}", path.display());
            continue;
        };
        assert_eq!(
            read_all(small),
            read,
            "{}: {capacity}/{window}",
            path.display()
        );
        let copied = CaptureReader::open_copying_windows(path, capacity, window).unwrap();
        assert_eq!(
            read_all(copied),
            read,
            "{}: {capacity}/{window}, windows copied (no map could be made)",
            path.display()
        );
        let general = CaptureReader::open_mapped_with(path, capacity, window).unwrap();
        assert_eq!(
            read_all(general.without_fast_path()),
            read,
            "{}: {capacity}/{window}, general path",
            path.display()
        );
    }
}

/// A capture read through a memory map gives the same records, errors and comments as read
/// with `read` calls, on every committed fixture and shared capture.
#[test]
fn mapped_files_read_like_read_files() {
    let files = all_capture_files();
    assert!(files.len() > 15);
    for path in files {
        assert_mapped_reads_what_read_reads(&path);
    }
}

/// Damaged files end the same way mapped or read: cut at every length up to a few records
/// and at spots further in, and with bytes flipped in headers and lengths.
#[test]
fn damaged_mapped_files_end_like_read_files() {
    let dir = tempfile::tempdir().unwrap();
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    for name in [
        "tcp-basic-v4.pcap",
        "nanosecond-multi-if.pcapng",
        "big-endian-nano.pcap",
    ] {
        let bytes = std::fs::read(testdata.join(name)).unwrap();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        let cuts = (0..bytes.len().min(400)).chain((400..bytes.len()).step_by(97));
        variants.extend(cuts.map(|cut| bytes[..cut].to_vec()));
        // Deterministic spots: every byte of the first 200, then a stride through the rest.
        let spots = (0..bytes.len().min(200)).chain((200..bytes.len()).step_by(131));
        for at in spots {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xa5;
            variants.push(damaged);
        }
        for (i, variant) in variants.iter().enumerate() {
            let path = dir.path().join(format!("{i}-{name}"));
            std::fs::write(&path, variant).unwrap();
            match CaptureReader::open(&path) {
                Ok(_) => assert_mapped_reads_what_read_reads(&path),
                Err(e) => {
                    let mapped = CaptureReader::open_mapped(&path)
                        .err()
                        .map(|e| format!("{e:?}"));
                    assert_eq!(mapped, Some(format!("{e:?}")), "{}", path.display());
                }
            }
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// A file with pcap's "modified" magic, which pcap-parser reads but the read path rejects as
/// not a capture, is rejected the same way when mapped (found by a review).
#[test]
fn a_modified_pcap_magic_is_rejected_mapped_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modified.pcap");
    let mut file = pcap_header(65535);
    file[..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    pcap_record(&mut file, 1, &[1; 60]);
    pcap_record(&mut file, 2, &[2; 60]);
    std::fs::write(&path, &file).unwrap();
    let read = CaptureReader::open(&path)
        .map(read_all)
        .map_err(|e| format!("{e:?}"));
    let mapped = CaptureReader::open_mapped(&path)
        .map(read_all)
        .map_err(|e| format!("{e:?}"));
    assert!(
        read.as_ref().is_err_and(|e| e.contains("NotACapture")),
        "{read:?}"
    );
    assert_eq!(mapped, read);
}

/// Where no map can be made, a window is copied from the file; a file truncated meanwhile then
/// ends in a read error, not a crash.
#[test]
fn a_copied_window_of_a_truncated_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.pcap");
    let mut file = pcap_header(65535);
    for i in 0..2000u32 {
        pcap_record(&mut file, i, &[i as u8; 100]);
    }
    std::fs::write(&path, &file).unwrap();
    // The first window (the header's 64 KiB) is mapped; past it, windows are copied.
    let mut reader = CaptureReader::open_copying_windows(&path, 128, 128).unwrap();
    let mut frames = 0u64;
    let end = loop {
        match reader.next_record() {
            Ok(Some(r)) => {
                frames = r.frame;
                assert_eq!(r.data, [(r.frame - 1) as u8; 100]);
                if r.frame == 700 {
                    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                    f.set_len(100_000).unwrap();
                }
            }
            other => break other.map(|r| r.map(|r| r.frame)),
        }
    };
    let err = end.unwrap_err();
    assert!(matches!(err.kind, CaptureErrorKind::Read), "{err:?}");
    // Every whole record before the cut was read.
    assert!((855..=862).contains(&frames), "{frames}");
}

/// A mapped capture that grows while it is read (still being written) is read to its new
/// end, as with `read` calls.
#[test]
fn a_mapped_file_that_grows_is_read_to_its_new_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.pcap");
    let mut file = pcap_header(65535);
    pcap_record(&mut file, 1, &[1; 60]);
    pcap_record(&mut file, 2, &[2; 60]);
    std::fs::write(&path, &file).unwrap();
    let mut reader = CaptureReader::open_mapped_with(&path, 64, 64).unwrap();
    let mut more = Vec::new();
    pcap_record(&mut more, 3, &[3; 600]);
    let mut frames = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        frames.push((r.frame, r.data[0]));
        if r.frame == 1 {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(&more).unwrap();
        }
    }
    assert_eq!(frames, [(1, 1), (2, 2), (3, 3)]);
}

/// Arbitrary bytes after a real header, read through a map with small buffers and windows,
/// end exactly as they do when read with `read` calls: the same records, then the same error
/// or end. Headers from committed fixtures (pcap both byte orders, pcapng), the rest random.
mod mapped_arbitrary {
    use super::*;
    use proptest::prelude::*;

    fn header_of(name: &str, len: usize) -> Vec<u8> {
        let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let bytes = std::fs::read(testdata.join(name)).unwrap();
        bytes[..len.min(bytes.len())].to_vec()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn mapped_reads_what_read_reads_on_arbitrary_tails(
            which in 0usize..3,
            keep in 0usize..600,
            tail in proptest::collection::vec(any::<u8>(), 0..3000),
            capacity_bits in 5u32..12,
            window in 1usize..8192,
        ) {
            // Headers and the first records of real files, cut anywhere, then random bytes.
            let (name, header) = [
                ("tcp-basic-v4.pcap", 24),
                ("big-endian-nano.pcap", 24),
                ("nanosecond-multi-if.pcapng", 0),
            ][which];
            let mut bytes = header_of(name, header.max(keep));
            bytes.extend_from_slice(&tail);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let read = CaptureReader::open(&path).map(read_all).map_err(|e| format!("{e:?}"));
            let mapped = CaptureReader::open_mapped(&path).map(read_all).map_err(|e| format!("{e:?}"));
            prop_assert_eq!(&mapped, &read);
            if let (Ok(read), Some(small)) =
                (&read, CaptureReader::open_mapped_with(&path, 1 << capacity_bits, window))
            {
                prop_assert_eq!(&read_all(small), read);
                let copied = CaptureReader::open_copying_windows(&path, 1 << capacity_bits, window);
                prop_assert_eq!(&read_all(copied.unwrap()), read);
            }
        }
    }
}

/// A record whose length field is damaged no longer costs the rest of the file: the reader
/// reports it (kind, frame, offset) with where it found records again, skips to there and
/// numbers the records found on from the damaged one's number; the same on both paths, and
/// from a stream that trickles in a byte at a time.
#[test]
fn reading_resumes_after_a_damaged_record_length() {
    let secs = 1_700_000_000;
    let mut file = pcap_header(65535);
    pcap_record(&mut file, secs, &[1u8; 60]);
    let damaged_at = file.len();
    pcap_record(&mut file, secs + 1, &[2u8; 60]);
    let resumed_at = file.len();
    for i in 3..6u8 {
        pcap_record(&mut file, secs + u32::from(i), &[i; 70]);
    }
    file[damaged_at + 8..damaged_at + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    for how in ["fast", "general", "trickle"] {
        let reader = match how {
            "trickle" => CaptureReader::new(Trickle(&file)).unwrap(),
            _ => CaptureReader::new(std::io::Cursor::new(file.clone())).unwrap(),
        };
        let (records, error, _) = read_all(if how == "general" {
            reader.without_fast_path()
        } else {
            reader
        });
        let frames: Vec<(u64, u8, u64)> = records.iter().map(|r| (r.0, r.4[0], r.6)).collect();
        assert_eq!(
            frames,
            [
                (1, 1, 24),
                (2, 3, resumed_at as u64),
                (3, 4, resumed_at as u64 + 86),
                (4, 5, resumed_at as u64 + 172)
            ],
            "{how}"
        );
        let error = error.unwrap();
        assert!(error.contains("BadRecordLength"), "{how}: {error}");
        assert!(
            error.contains(&format!(
                "frame: 2, offset: {damaged_at}, resumed_at: Some({resumed_at})"
            )),
            "{how}: {error}"
        );
    }
    let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    reader.next_record().unwrap();
    let err = reader.next_record().unwrap_err();
    assert_eq!(err.skipped_bytes(), 76);
    assert_eq!(
        err.to_string(),
        format!(
            "record declares 2147483647 captured bytes, more than the 262144 a record may hold: \
             its length field is damaged (frame 2, byte offset {damaged_at}); 76 bytes skipped, \
             reading resumed at byte offset {resumed_at}"
        )
    );
}

/// When nothing after the damage looks like records (noise to the end of the file), reading
/// stops at the damage, as it did before the reader could resume, and says nothing resumed.
#[test]
fn damage_followed_by_noise_stops_reading() {
    let mut file = pcap_header(65535);
    pcap_record(&mut file, 1_700_000_000, &[1u8; 60]);
    let damaged_at = file.len();
    file.extend_from_slice(&[0xffu8; 16]);
    file.extend((0..5000u32).map(|i| (i * 7 % 251) as u8 | 0x80));
    let (records, error, _) = read_all(CaptureReader::new(std::io::Cursor::new(file)).unwrap());
    assert_eq!(records.len(), 1);
    let error = error.unwrap();
    assert!(
        error.contains(&format!("offset: {damaged_at}, resumed_at: None")),
        "{error}"
    );
}

/// pcapng: a block whose leading length is damaged (too small, or larger than the rest of the
/// file) is skipped and the blocks after it are read, numbered on; the damaged copy of the
/// fixture reads as the intact one without the damaged packet.
#[test]
fn reading_resumes_after_a_damaged_pcapng_block() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/nanosecond-multi-if.pcapng");
    let bytes = std::fs::read(&path).unwrap();
    let (intact, none, _) = read_all(CaptureReader::new(std::io::Cursor::new(&bytes)).unwrap());
    assert!(none.is_none() && intact.len() >= 4);
    let victim = &intact[intact.len() / 2];
    let at = victim.6 as usize;
    for damaged_len in [8u32, 0x00ff_fff0] {
        let mut damaged = bytes.clone();
        damaged[at + 4..at + 8].copy_from_slice(&damaged_len.to_le_bytes());
        let (records, error, _) =
            read_all(CaptureReader::new(std::io::Cursor::new(&damaged)).unwrap());
        let want: Vec<(u64, Vec<u8>, u64)> = (intact.iter())
            .filter(|r| r.6 != victim.6)
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r.4.clone(), r.6))
            .collect();
        let got: Vec<(u64, Vec<u8>, u64)> =
            records.iter().map(|r| (r.0, r.4.clone(), r.6)).collect();
        assert_eq!(got, want, "length {damaged_len}");
        let error = error.unwrap();
        assert!(
            error.contains(&format!(
                "frame: {}, offset: {at}, resumed_at: Some(",
                victim.0
            )),
            "length {damaged_len}: {error}"
        );
    }
}

/// Bytes made so that every fourth position after the damage starts a run of records that
/// looks sound for two records of about a megabyte and fails at the third: each position
/// needs just under 2 MiB read ahead, about the buffer's size once grown for it. The search
/// must not move the reader's buffer for every few positions (it did: a 2 MiB move for each
/// 8 bytes searched, 7 s for these 3 MB in a debug build; quadratic in the bytes so made);
/// it takes under a second.
#[test]
fn a_search_over_long_runs_that_fail_late_is_linear() {
    // Nanosecond timestamps, so a fraction of a second can be as large as the lengths.
    // A run of three spans 2 × (16 + word) + 16 = 2 MiB - 8: the buffer grows to 2 MiB for it.
    let word = 1_048_548u32;
    let mut file = pcap_header(0x7fff_ffff);
    file[..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    pcap_record(&mut file, word, &[1u8; 60]);
    let damaged_at = file.len();
    pcap_record(&mut file, word, &[2u8; 60]);
    file[damaged_at + 8..damaged_at + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    // Shorter than a run of three, so no run fits in it: every run fails at its third.
    for _ in 0..(2 * word / 4) {
        file.extend_from_slice(&word.to_le_bytes());
    }
    file.extend(std::iter::repeat_n(0xffu8, 1_000_000));
    let started = std::time::Instant::now();
    let (records, error, _) = read_all(CaptureReader::new(std::io::Cursor::new(&file)).unwrap());
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    assert!(error.is_some());
    assert!(!records.is_empty());
}
