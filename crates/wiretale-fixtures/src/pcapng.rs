//! pcapng writer: one section (SHB with optional comment), one IDB per interface, and each frame
//! as an Enhanced, Simple or obsolete Packet Block.

use std::io::Write;

use crate::capture::{BlockKind, Capture, Frame, Interface};
use crate::endian::Endian;
use crate::error::{FixtureError, Result};

/// How to write a pcapng file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PcapngOptions {
    /// Byte order of every block.
    pub endian: Endian,
    /// `opt_comment` of the Section Header Block.
    pub section_comment: Option<String>,
    /// `shb_userappl` of the Section Header Block.
    pub user_application: Option<String>,
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OBSOLETE_PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Options of one block, encoded as code/length/value padded to 4 bytes.
struct Options {
    endian: Endian,
    bytes: Vec<u8>,
}

impl Options {
    fn new(endian: Endian) -> Self {
        Options {
            endian,
            bytes: Vec::new(),
        }
    }

    fn add(&mut self, code: u16, value: &[u8]) -> Result<()> {
        let len = u16::try_from(value.len()).map_err(|_| FixtureError::TooLong {
            what: "pcapng option",
            len: value.len(),
            max: 65_535,
        })?;
        self.endian.put_u16(&mut self.bytes, code);
        self.endian.put_u16(&mut self.bytes, len);
        self.bytes.extend_from_slice(value);
        pad4(&mut self.bytes);
        Ok(())
    }

    /// The options followed by opt_endofopt, or nothing if there were none.
    fn finish(mut self) -> Vec<u8> {
        if !self.bytes.is_empty() {
            self.endian.put_u16(&mut self.bytes, OPT_END);
            self.endian.put_u16(&mut self.bytes, 0);
        }
        self.bytes
    }
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// Appends a block: type, total length, `body` (already padded), total length.
fn block(out: &mut Vec<u8>, endian: Endian, kind: u32, body: &[u8]) -> Result<()> {
    let total =
        u32::try_from(body.len().saturating_add(12)).map_err(|_| FixtureError::TooLong {
            what: "pcapng block",
            len: body.len(),
            max: u32::MAX as usize,
        })?;
    endian.put_u32(out, kind);
    endian.put_u32(out, total);
    out.extend_from_slice(body);
    endian.put_u32(out, total);
    Ok(())
}

fn section_header(out: &mut Vec<u8>, o: &PcapngOptions) -> Result<()> {
    let e = o.endian;
    let mut body = Vec::new();
    e.put_u32(&mut body, 0x1a2b_3c4d);
    e.put_u16(&mut body, 1);
    e.put_u16(&mut body, 0);
    e.put_i64(&mut body, -1); // section length not specified
    let mut opts = Options::new(e);
    if let Some(c) = &o.section_comment {
        opts.add(OPT_COMMENT, c.as_bytes())?;
    }
    if let Some(a) = &o.user_application {
        opts.add(SHB_USERAPPL, a.as_bytes())?;
    }
    body.extend_from_slice(&opts.finish());
    block(out, e, SHB, &body)
}

fn interface_description(out: &mut Vec<u8>, e: Endian, iface: &Interface) -> Result<()> {
    let link = u16::try_from(iface.link_type.number()).map_err(|_| FixtureError::TooLong {
        what: "pcapng link type",
        len: iface.link_type.number() as usize,
        max: 65_535,
    })?;
    let mut body = Vec::new();
    e.put_u16(&mut body, link);
    e.put_u16(&mut body, 0);
    e.put_u32(&mut body, iface.snaplen);
    let mut opts = Options::new(e);
    if let Some(name) = &iface.name {
        opts.add(IF_NAME, name.as_bytes())?;
    }
    if let Some(r) = iface.tsresol {
        if r > 9 {
            return Err(FixtureError::TsResolution(r));
        }
        opts.add(IF_TSRESOL, &[r])?;
    }
    body.extend_from_slice(&opts.finish());
    block(out, e, IDB, &body)
}

fn packet(out: &mut Vec<u8>, e: Endian, iface: &Interface, f: &Frame) -> Result<()> {
    let orig_len = u32::try_from(f.data.len()).map_err(|_| FixtureError::TooLong {
        what: "pcapng packet",
        len: f.data.len(),
        max: u32::MAX as usize,
    })?;
    let cap_len = if iface.snaplen == 0 {
        orig_len
    } else {
        orig_len.min(iface.snaplen)
    };
    let data = f
        .data
        .get(..usize::try_from(cap_len).unwrap_or(0))
        .unwrap_or_default();
    let resol = iface.tsresol.unwrap_or(6);
    let units = f
        .timestamp
        .in_decimal_units(resol)
        .ok_or(FixtureError::TimestampOutOfRange {
            secs: f.timestamp.secs(),
            format: "pcapng timestamp",
        })?;
    let (high, low) = ((units >> 32) as u32, (units & 0xffff_ffff) as u32);
    let mut body = Vec::new();
    let kind = match f.block {
        BlockKind::Simple => {
            if f.interface != 0 {
                return Err(FixtureError::SimpleBlockInterface {
                    frame: f.number,
                    interface: f.interface,
                });
            }
            e.put_u32(&mut body, orig_len);
            body.extend_from_slice(data);
            pad4(&mut body);
            return block(out, e, SPB, &body);
        }
        BlockKind::Enhanced => {
            e.put_u32(&mut body, f.interface);
            EPB
        }
        BlockKind::ObsoletePacket => {
            let id = u16::try_from(f.interface)
                .map_err(|_| FixtureError::UnknownInterface(f.interface))?;
            e.put_u16(&mut body, id);
            e.put_u16(&mut body, 0); // drops count
            OBSOLETE_PB
        }
    };
    e.put_u32(&mut body, high);
    e.put_u32(&mut body, low);
    e.put_u32(&mut body, cap_len);
    e.put_u32(&mut body, orig_len);
    body.extend_from_slice(data);
    pad4(&mut body);
    let mut opts = Options::new(e);
    if let Some(c) = &f.comment {
        opts.add(OPT_COMMENT, c.as_bytes())?;
    }
    body.extend_from_slice(&opts.finish());
    block(out, e, kind, &body)
}

fn file_header(out: &mut Vec<u8>, capture: &Capture, options: &PcapngOptions) -> Result<()> {
    section_header(out, options)?;
    for iface in capture.interfaces() {
        interface_description(out, options.endian, iface)?;
    }
    Ok(())
}

fn frame_packet(out: &mut Vec<u8>, e: Endian, interfaces: &[Interface], f: &Frame) -> Result<()> {
    let iface = usize::try_from(f.interface)
        .ok()
        .and_then(|i| interfaces.get(i))
        .ok_or(FixtureError::UnknownInterface(f.interface))?;
    packet(out, e, iface, f)
}

impl Capture {
    /// The capture as a pcapng file: SHB, every IDB, then the frames in order.
    pub fn to_pcapng(&self, options: &PcapngOptions) -> Result<Vec<u8>> {
        self.check()?;
        let mut out = Vec::new();
        file_header(&mut out, self, options)?;
        for f in self.frames() {
            frame_packet(&mut out, options.endian, self.interfaces(), f)?;
        }
        Ok(out)
    }
}

/// Writes a pcapng file as it is scripted (see [`crate::pcap::PcapWriter`]): the section
/// header and the capture's interfaces when created (add interfaces before), then each
/// [`PcapngWriter::write_frames`] drains the frames scripted since. The bytes are the same as
/// [`Capture::to_pcapng`] of the whole script.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    endian: Endian,
    interfaces: Vec<Interface>,
    /// Encoding buffer reused across frames.
    buf: Vec<u8>,
    bytes_written: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and one interface description per interface of `capture`.
    pub fn new(mut out: W, capture: &Capture, options: &PcapngOptions) -> Result<Self> {
        let mut buf = Vec::with_capacity(64 * 1024);
        file_header(&mut buf, capture, options)?;
        out.write_all(&buf).map_err(FixtureError::write)?;
        Ok(PcapngWriter {
            out,
            endian: options.endian,
            interfaces: capture.interfaces().to_vec(),
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
            frame_packet(&mut self.buf, self.endian, &self.interfaces, &f)?;
            count += 1;
        }
        self.out.write_all(&self.buf).map_err(FixtureError::write)?;
        self.bytes_written = self.bytes_written.saturating_add(self.buf.len() as u64);
        self.buf.clear();
        Ok(count)
    }

    /// Bytes written so far, headers included.
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
    use crate::link::{ethertype, LinkMeta, NetPacket};
    use crate::linktype::LinkType;
    use crate::time::Timestamp;

    fn u32le(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// Walks the blocks, checking both length fields agree; returns (type, body) pairs.
    fn blocks(file: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < file.len() {
            let kind = u32le(file, at);
            let len = u32le(file, at + 4) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(u32le(file, at + len - 4) as usize, len);
            out.push((kind, file[at + 8..at + len - 4].to_vec()));
            at += len;
        }
        out
    }

    fn capture() -> Capture {
        let mut c = Capture::new(LinkType::Raw);
        c.set_time(Timestamp::from_unix(1, 500));
        let mut i = Interface::new(LinkType::Ipv4);
        i.tsresol = Some(9);
        i.name = Some("tun0".into());
        c.add_interface(i);
        let p = NetPacket {
            ethertype: ethertype::IPV4,
            bytes: vec![0x45, 1, 2],
        };
        c.push(0, &p, &LinkMeta::default(), "");
        c.push(1, &p, &LinkMeta::default(), "");
        c.push(0, &p, &LinkMeta::default(), "");
        c.push(1, &p, &LinkMeta::default(), "");
        c.comment(2, "hello");
        c.set_block(3, BlockKind::Simple);
        c.set_block(4, BlockKind::ObsoletePacket);
        c
    }

    #[test]
    fn block_structure() {
        let opts = PcapngOptions {
            section_comment: Some("sec".into()),
            ..Default::default()
        };
        let file = capture().to_pcapng(&opts).unwrap();
        let b = blocks(&file);
        let kinds: Vec<u32> = b.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [SHB, IDB, IDB, EPB, EPB, SPB, OBSOLETE_PB]);
        assert_eq!(&b[0].1[16..24], &[1, 0, 3, 0, b's', b'e', b'c', 0]);
        // IDB 1: link 228, options if_name "tun0", if_tsresol 9.
        assert_eq!(&b[2].1[..2], &[228, 0]);
        assert_eq!(&b[2].1[8..16], &[2, 0, 4, 0, b't', b'u', b'n', b'0']);
        assert_eq!(&b[2].1[16..21], &[9, 0, 1, 0, 9]);
        // EPB on interface 1 in nanoseconds: 1 s + 1 ms step + 500 ns.
        let epb = &b[4].1;
        assert_eq!(u32le(epb, 0), 1);
        let ts = (u64::from(u32le(epb, 4)) << 32) | u64::from(u32le(epb, 8));
        assert_eq!(ts, 1_001_000_500);
        assert_eq!(&epb[20..28], &[0x45, 1, 2, 0, 1, 0, 5, 0]);
        // SPB: original length then data.
        assert_eq!(u32le(&b[5].1, 0), 3);
        // Obsolete PB: interface 1 as u16, drops 0, ts in ns.
        assert_eq!(&b[6].1[..4], &[1, 0, 0, 0]);
        let ts = (u64::from(u32le(&b[6].1, 4)) << 32) | u64::from(u32le(&b[6].1, 8));
        assert_eq!(ts, 1_003_000_500);
    }

    #[test]
    fn streaming_writer_matches_to_pcapng() {
        let opts = PcapngOptions {
            section_comment: Some("sec".into()),
            ..Default::default()
        };
        let whole = capture();
        let mut streamed = capture();
        let frames: Vec<Frame> = streamed.drain_frames().collect();
        let mut w = PcapngWriter::new(Vec::new(), &streamed, &opts).unwrap();
        for f in frames {
            // Re-insert one frame at a time, as a script would produce them.
            streamed.push_link_frame(f.interface, f.data.clone(), "");
            let n = streamed.next_frame_number() - 1;
            let g = streamed.frame_mut(n).unwrap();
            g.timestamp = f.timestamp;
            g.block = f.block;
            g.comment = f.comment.clone();
            assert_eq!(w.write_frames(&mut streamed).unwrap(), 1);
        }
        assert_eq!(w.finish().unwrap(), whole.to_pcapng(&opts).unwrap());
    }

    #[test]
    fn simple_block_off_interface_zero_is_refused() {
        let mut c = capture();
        c.set_block(2, BlockKind::Simple);
        assert!(matches!(
            c.to_pcapng(&PcapngOptions::default()),
            Err(FixtureError::SimpleBlockInterface { .. })
        ));
    }

    #[test]
    fn classic_pcap_refuses_second_interface() {
        assert!(capture()
            .to_pcap(&crate::pcap::PcapOptions::default())
            .is_err());
    }
}
