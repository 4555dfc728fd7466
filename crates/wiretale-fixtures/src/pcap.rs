//! Classic libpcap file writer (any byte order, micro- or nanosecond magic, snaplen truncation).

use crate::capture::Capture;
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
    let e = options.endian;
    let mut out = Vec::new();
    e.put_u32(
        &mut out,
        match options.resolution {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        },
    );
    e.put_u16(&mut out, 2);
    e.put_u16(&mut out, 4);
    e.put_u32(&mut out, 0); // thiszone
    e.put_u32(&mut out, 0); // sigfigs
    e.put_u32(&mut out, snaplen);
    e.put_u32(&mut out, link.number());
    for r in records {
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
        e.put_u32(&mut out, secs);
        e.put_u32(&mut out, frac);
        e.put_u32(&mut out, incl_len);
        e.put_u32(&mut out, orig_len);
        out.extend_from_slice(kept);
    }
    Ok(out)
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
            if f.interface != 0 {
                return Err(FixtureError::PcapSingleInterface {
                    frame: f.number,
                    interface: f.interface,
                });
            }
            records.push(PcapRecord {
                timestamp: f.timestamp,
                data: &f.data,
            });
        }
        write_pcap(iface.link_type, iface.snaplen, options, &records)
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
    fn timestamps_past_2106_are_refused() {
        let r = PcapRecord {
            timestamp: Timestamp::from_unix(1 << 32, 0),
            data: &[],
        };
        assert!(write_pcap(LinkType::Raw, 10, &PcapOptions::default(), &[r]).is_err());
    }
}
