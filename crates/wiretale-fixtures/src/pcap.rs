//! Classic libpcap file writer (any byte order, micro- or nanosecond magic, snaplen truncation).

use std::io::Write;

use crate::capture::{Capture, Frame};
use crate::endian::Endian;
use crate::error::{FixtureError, Result};
use crate::linktype::LinkType;
use crate::time::Timestamp;

/// Timestamp resolution of a classic pcap file, chosen by its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TsResolution {
    /// Magic 0xa1b2c3d4: the second field of each record counts microseconds.
    #[default]
    Micro,
    /// Magic 0xa1b23c4d: it counts nanoseconds.
    Nano,
}

/// How to write a classic pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PcapOptions {
    /// Byte order of the file header and record headers.
    pub endian: Endian,
    /// Timestamp resolution.
    pub resolution: TsResolution,
}

/// One record to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapRecord<'a> {
    /// Capture time.
    pub timestamp: Timestamp,
    /// The whole frame; bytes past the snaplen are not written but counted in `orig_len`.
    pub data: &'a [u8],
}

/// Writes a classic pcap file (version 2.4).
pub fn write_pcap(
    link: LinkType,
    snaplen: u32,
    options: &PcapOptions,
    records: &[PcapRecord<'_>],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    put_file_header(&mut out, link, snaplen, options);
    for r in records {
        put_record(&mut out, snaplen, options, r)?;
    }
    Ok(out)
}

fn put_file_header(out: &mut Vec<u8>, link: LinkType, snaplen: u32, options: &PcapOptions) {
    let e = options.endian;
    e.put_u32(
        out,
        match options.resolution {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        },
    );
    e.put_u16(out, 2);
    e.put_u16(out, 4);
    e.put_u32(out, 0); // thiszone
    e.put_u32(out, 0); // sigfigs
    e.put_u32(out, snaplen);
    e.put_u32(out, link.number());
}

fn put_record(
    out: &mut Vec<u8>,
    snaplen: u32,
    options: &PcapOptions,
    r: &PcapRecord<'_>,
) -> Result<()> {
    let e = options.endian;
    let secs =
        u32::try_from(r.timestamp.secs()).map_err(|_| FixtureError::TimestampOutOfRange {
            secs: r.timestamp.secs(),
            format: "classic pcap",
        })?;
    let frac = match options.resolution {
        TsResolution::Micro => r.timestamp.subsec_nanos() / 1000,
        TsResolution::Nano => r.timestamp.subsec_nanos(),
    };
    let orig_len = u32::try_from(r.data.len()).map_err(|_| FixtureError::TooLong {
        what: "pcap record",
        len: r.data.len(),
        max: u32::MAX as usize,
    })?;
    let incl_len = orig_len.min(snaplen);
    let kept = r
        .data
        .get(..usize::try_from(incl_len).unwrap_or(0))
        .unwrap_or_default();
    e.put_u32(out, secs);
    e.put_u32(out, frac);
    e.put_u32(out, incl_len);
    e.put_u32(out, orig_len);
    out.extend_from_slice(kept);
    Ok(())
}

/// Frames whose interface is not 0 cannot go in a classic pcap file.
fn single_interface(f: &Frame) -> Result<()> {
    if f.interface != 0 {
        return Err(FixtureError::PcapSingleInterface {
            frame: f.number,
            interface: f.interface,
        });
    }
    Ok(())
}

impl Capture {
    /// The capture as a classic pcap file. Every frame must be on interface 0, whose link type
    /// and snaplen are used.
    pub fn to_pcap(&self, options: &PcapOptions) -> Result<Vec<u8>> {
        self.check()?;
        let iface = self
            .interfaces()
            .first()
            .ok_or(FixtureError::UnknownInterface(0))?;
        let mut records = Vec::with_capacity(self.frames().len());
        for f in self.frames() {
            single_interface(f)?;
            records.push(PcapRecord {
                timestamp: f.timestamp,
                data: &f.data,
            });
        }
        write_pcap(iface.link_type, iface.snaplen, options, &records)
    }
}

/// Writes a classic pcap file as it is scripted, for captures too large to hold in memory:
/// script a batch of frames, then [`PcapWriter::write_frames`] drains them from the capture
/// into the output. The bytes are the same as [`Capture::to_pcap`] of the whole script.
///
/// ```
/// use wiretale_fixtures::{pcap::PcapWriter, Capture, Dir, LinkType, PcapOptions, TcpSession};
/// let mut cap = Capture::new(LinkType::Ethernet);
/// let mut out = PcapWriter::new(Vec::new(), &cap, PcapOptions::default())?;
/// for port in 40000..40003 {
///     let mut s = TcpSession::new(([10, 0, 0, 1], port).into(), ([10, 0, 0, 2], 80).into());
///     s.handshake(&mut cap);
///     s.send(&mut cap, Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n");
///     s.close(&mut cap);
///     out.write_frames(&mut cap)?; // the frames leave the capture
/// }
/// let file: Vec<u8> = out.finish()?;
/// # Ok::<(), wiretale_fixtures::FixtureError>(())
/// ```
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
    options: PcapOptions,
    /// Encoding buffer reused across frames.
    buf: Vec<u8>,
    bytes_written: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for `capture`'s interface 0 (link type and snaplen).
    pub fn new(mut out: W, capture: &Capture, options: PcapOptions) -> Result<Self> {
        let iface = capture
            .interfaces()
            .first()
            .ok_or(FixtureError::UnknownInterface(0))?;
        let mut buf = Vec::with_capacity(64 * 1024);
        put_file_header(&mut buf, iface.link_type, iface.snaplen, &options);
        out.write_all(&buf).map_err(FixtureError::write)?;
        Ok(PcapWriter {
            out,
            snaplen: iface.snaplen,
            options,
            bytes_written: buf.len() as u64,
            buf,
        })
    }

    /// Drains every frame held by `capture` into the file (after checking the capture's
    /// script error). Returns the number of frames written.
    pub fn write_frames(&mut self, capture: &mut Capture) -> Result<usize> {
        capture.check()?;
        let mut count = 0;
        self.buf.clear();
        for f in capture.drain_frames() {
            single_interface(&f)?;
            let record = PcapRecord {
                timestamp: f.timestamp,
                data: &f.data,
            };
            put_record(&mut self.buf, self.snaplen, &self.options, &record)?;
            count += 1;
        }
        self.out.write_all(&self.buf).map_err(FixtureError::write)?;
        self.bytes_written = self.bytes_written.saturating_add(self.buf.len() as u64);
        self.buf.clear();
        Ok(count)
    }

    /// Bytes written so far, file header included.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(FixtureError::write)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(data: &[u8]) -> PcapRecord<'_> {
        PcapRecord {
            timestamp: Timestamp::from_unix(0x0102_0304, 123_456_789),
            data,
        }
    }

    #[test]
    fn little_endian_micro() {
        let out = write_pcap(
            LinkType::Ethernet,
            65535,
            &PcapOptions::default(),
            &[rec(&[9, 8, 7])],
        )
        .unwrap();
        assert_eq!(&out[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&out[4..8], &[2, 0, 4, 0]);
        assert_eq!(&out[16..24], &[0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            &out[24..40],
            &[4, 3, 2, 1, 0x40, 0xe2, 1, 0, 3, 0, 0, 0, 3, 0, 0, 0]
        );
        assert_eq!(&out[40..], &[9, 8, 7]);
    }

    #[test]
    fn big_endian_nano_with_truncation() {
        let opts = PcapOptions {
            endian: Endian::Big,
            resolution: TsResolution::Nano,
        };
        let out = write_pcap(LinkType::Raw, 2, &opts, &[rec(&[9, 8, 7])]).unwrap();
        assert_eq!(&out[..4], &[0xa1, 0xb2, 0x3c, 0x4d]);
        assert_eq!(&out[20..24], &[0, 0, 0, 101]);
        assert_eq!(&out[28..32], &123_456_789u32.to_be_bytes());
        assert_eq!(
            &out[32..40],
            &[0, 0, 0, 2, 0, 0, 0, 3],
            "incl_len 2 < orig_len 3"
        );
        assert_eq!(&out[40..], &[9, 8]);
    }

    #[test]
    fn streaming_writer_matches_to_pcap() {
        use crate::{Dir, TcpSession};
        let script = |cap: &mut Capture, port: u16| {
            let mut s = TcpSession::new(([10, 0, 0, 1], port).into(), ([10, 0, 0, 2], 80).into());
            s.handshake(cap);
            s.send(cap, Dir::ToServer, &[b'x'; 3000]);
            s.close(cap);
        };
        let mut whole = Capture::new(LinkType::Ethernet);
        let mut streamed = Capture::new(LinkType::Ethernet);
        let mut w = PcapWriter::new(Vec::new(), &streamed, PcapOptions::default()).unwrap();
        for port in [1000, 1001, 1002] {
            script(&mut whole, port);
            script(&mut streamed, port);
            assert!(w.write_frames(&mut streamed).unwrap() > 0);
            assert!(streamed.frames().is_empty());
        }
        let expected = whole.to_pcap(&PcapOptions::default()).unwrap();
        assert_eq!(w.bytes_written(), expected.len() as u64);
        assert_eq!(w.finish().unwrap(), expected);
    }

    #[test]
    fn timestamps_past_2106_are_refused() {
        let r = PcapRecord {
            timestamp: Timestamp::from_unix(1 << 32, 0),
            data: &[],
        };
        assert!(write_pcap(LinkType::Raw, 10, &PcapOptions::default(), &[r]).is_err());
    }
}
