//! A story step as a line of text, built in a reused buffer: a story can have millions of
//! lines, and `write!` with padding and address formatting cost thousands of instructions per
//! line (a quarter of `story` on a capture of short connections).

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use wiretale::analysis::{Party, StoryLine};
use wiretale::net::SocketAddrText;

use crate::output::{pad, push_u64, Decimals, RepeatedFixed, Sign};

/// Builds step lines at the end of a buffer of lines ([`crate::output::Batched`]), with
/// the text of recent parties at hand.
#[derive(Default)]
pub(super) struct StepLines {
    parties: PartyTexts,
    /// The time column (`{:>+WIDTH.3}`), whose text repeats from line to line.
    seconds: RepeatedFixed,
}

impl StepLines {
    /// Appends `Frame N  +S.SSS s  FROM → TO  PROTO  TEXT` to `b`, columns padded to the
    /// given widths.
    pub(super) fn push(
        &mut self,
        b: &mut Vec<u8>,
        l: &StoryLine,
        frame_w: usize,
        time_w: usize,
        from_w: usize,
        to_w: usize,
    ) -> io::Result<()> {
        b.extend_from_slice(b"Frame ");
        let frame_digits = push_u64(b, l.frame);
        pad(b, frame_w.saturating_sub(frame_digits));
        b.extend_from_slice(b"  ");
        (self.seconds).push(b, l.relative, time_w, Decimals::Three, Sign::Always)?;
        b.extend_from_slice(b" s  ");
        self.parties.push(b, &l.from, from_w);
        b.extend_from_slice(" → ".as_bytes());
        self.parties.push(b, &l.to, to_w);
        push_proto_cell(b, l.proto);
        b.extend_from_slice(l.text.as_bytes());
        b.push(b'\n');
        Ok(())
    }
}

/// `  PROTO  `, the protocol padded to four characters: built as one cell of a known size
/// when the name is ASCII and fits (every protocol the library names), a copy of a few
/// moves rather than a library call, a character count and a padding.
fn push_proto_cell(b: &mut Vec<u8>, proto: &str) {
    const CELL: usize = 2 + 4 + 2;
    if proto.len() <= 4 && proto.is_ascii() {
        let mut cell = [b' '; CELL];
        for (at, byte) in cell[2..].iter_mut().zip(proto.bytes()) {
            *at = byte;
        }
        b.extend_from_slice(&cell);
    } else {
        b.extend_from_slice(b"  ");
        b.extend_from_slice(proto.as_bytes());
        pad(b, 4usize.saturating_sub(proto.chars().count()));
        b.extend_from_slice(b"  ");
    }
}

/// The text of IPv4 parties recently written, by address: a story names each party on
/// several lines (a short connection's client on all five of its lines, its server on
/// thousands), and formatting the address was a fifth of a line's cost. Direct-mapped: a
/// slot holds the last party whose address hashed to it.
struct PartyTexts {
    slots: Vec<Option<PartyText>>,
}

/// `role address` of one party, as [`push_party`] writes it.
struct PartyText {
    addr: SocketAddrV4,
    role: &'static str,
    len: u8,
    /// The text, then spaces: a column up to the whole room is copied in one piece,
    /// padding included.
    text: [u8; PARTY_TEXT_ROOM],
}

/// Room for `server 255.255.255.255:65535` with a role of up to ten bytes: a party whose text
/// is longer than this is formatted each time.
const PARTY_TEXT_ROOM: usize = 32;

impl Default for PartyTexts {
    fn default() -> Self {
        PartyTexts {
            slots: std::iter::repeat_with(|| None).take(Self::SLOTS).collect(),
        }
    }
}

impl PartyTexts {
    /// Slots (a power of two): far more than the parties a capture's interleaved
    /// connections name within a few thousand lines.
    const SLOTS: usize = 2048;

    /// [`push_party`], from the slot of `p`'s address when it holds `p`.
    fn push(&mut self, b: &mut Vec<u8>, p: &Option<Party>, width: usize) {
        let Some(Party {
            role,
            addr: SocketAddr::V4(addr),
        }) = *p
        else {
            return push_party(b, p, width);
        };
        let key = u64::from(u32::from(*addr.ip())) << 16 | u64::from(addr.port());
        // Fibonacci hashing: the top bits of the product mix every bit of the key.
        let bits = Self::SLOTS.trailing_zeros();
        let at = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize;
        let Some(slot) = self.slots.get_mut(at) else {
            return push_party(b, p, width);
        };
        // Roles are nearly always the same static names: the pointers decide without a
        // byte comparison.
        let same_role = |r: &'static str| std::ptr::eq(r, role) || r == role;
        if let Some(hit) = slot
            .as_ref()
            .filter(|t| t.addr == addr && same_role(t.role))
        {
            let len = usize::from(hit.len);
            let padded = width.min(PARTY_TEXT_ROOM).max(len);
            // The whole room is copied, then cut to the column: a copy of a known size is a
            // few moves, one of a varying size a library call.
            b.extend_from_slice(&hit.text);
            b.truncate(b.len() - (PARTY_TEXT_ROOM - padded));
            pad(b, width.saturating_sub(padded));
            return;
        }
        let start = b.len();
        push_party(b, p, 0);
        let written = b.get(start..).unwrap_or_default();
        if written.len() <= PARTY_TEXT_ROOM {
            let mut text = [b' '; PARTY_TEXT_ROOM];
            text[..written.len()].copy_from_slice(written);
            *slot = Some(PartyText {
                addr,
                role,
                len: written.len() as u8,
                text,
            });
        }
        pad(b, width.saturating_sub(b.len() - start));
    }
}

/// `role address`, padded with spaces to `width`.
pub(super) fn push_party(b: &mut Vec<u8>, p: &Option<Party>, width: usize) {
    let start = b.len();
    if let Some(p) = p {
        b.extend_from_slice(p.role.as_bytes());
        b.push(b' ');
        b.extend_from_slice(SocketAddrText::new(&p.addr).as_bytes());
    }
    // The text is ASCII: its width is the bytes just written.
    pad(b, width.saturating_sub(b.len() - start));
}

/// Decimal digits of `n`.
pub(super) fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiretale::analysis::LineKind;

    #[test]
    fn parties_are_formatted_and_padded_like_the_standard_library() {
        for addr in [
            "0.0.0.0:0",
            "10.1.1.7:1210",
            "255.255.255.255:65535",
            "192.168.100.9:80",
            "[::1]:443",
            "[fe80::1%3]:8080",
            "[2001:db8:85a3::8a2e:370:7334]:5061",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            for role in ["client", "server", "proxy"] {
                let party = Party { role, addr };
                assert_eq!(party.text_len(), format!("{role} {addr}").len(), "{addr}");
                let p = Some(party);
                let mut out = Vec::new();
                push_party(&mut out, &p, 40);
                assert_eq!(out, format!("{:<40}", format!("{role} {addr}")).as_bytes());
            }
        }
        for n in 0..=255u8 {
            let addr = SocketAddr::from(([n, 255 - n, n / 3, n % 10], u16::from(n) * 257));
            let mut out = Vec::new();
            push_party(
                &mut out,
                &Some(Party {
                    role: "server",
                    addr,
                }),
                0,
            );
            assert_eq!(out, format!("server {addr}").as_bytes());
        }
        let mut out = Vec::new();
        push_party(&mut out, &None, 3);
        assert_eq!(out, b"   ");
    }

    #[test]
    fn remembered_parties_are_written_as_formatted_ones() {
        // Repeats, addresses sharing a slot, one address under two roles, a role too long
        // to remember, IPv6 and no party: every text equals a fresh push_party.
        let mut texts = PartyTexts::default();
        let mut parties: Vec<Option<Party>> = vec![None];
        for i in 0..6000u32 {
            let addr = SocketAddr::from((i.wrapping_mul(2_654_435_761).to_be_bytes(), i as u16));
            let role = ["client", "server", "proxy"][i as usize % 3];
            parties.push(Some(Party { role, addr }));
        }
        parties.push(Some(Party {
            role: "a-role-of-more-than-ten-bytes",
            addr: "10.0.0.1:80".parse().unwrap(),
        }));
        parties.push(Some(Party {
            role: "server",
            addr: "[2001:db8::1]:443".parse().unwrap(),
        }));
        let same = "10.0.0.1:80".parse().unwrap();
        for role in ["client", "proxy", "client"] {
            parties.push(Some(Party { role, addr: same }));
        }
        for round in 0..3 {
            for (i, p) in parties.iter().enumerate() {
                let width = (i + round) % 40;
                let (mut want, mut got) = (b"x".to_vec(), b"x".to_vec());
                push_party(&mut want, p, width);
                texts.push(&mut got, p, width);
                assert_eq!(got, want, "{p:?} width {width}");
            }
        }
        assert!(texts.slots.iter().filter(|s| s.is_some()).count() > PartyTexts::SLOTS / 2);
    }

    #[test]
    fn a_step_line_is_what_format_makes_of_it() {
        let party = |role, addr: &str| {
            Some(Party {
                role,
                addr: addr.parse().unwrap(),
            })
        };
        let mut w = StepLines::default();
        for (frame, relative, proto) in [
            (1, 0.0, "TCP"),
            (18_446_744_073_709_551_615, -0.0005, "HTTP"),
            (1234, 12345.6785, "NTLM"),
            (9, 1e-9, "TLSv"),
            (70, 30.0004999, "X"),
            // Not a name the library gives: longer than the column, or not ASCII.
            (71, 1.5, "SMTPS"),
            (72, 1.5, "ÉTÉ"),
        ] {
            let l = StoryLine {
                kind: LineKind::Step,
                frame,
                frames: vec![frame],
                time: Default::default(),
                relative,
                stream: Some(3),
                from: party("client", "10.0.0.1:50000"),
                to: party("proxy", "[2001:db8::1]:8080"),
                proto,
                text: "GET http://crl.example.com/ca.crl HTTP/1.0 … ✓".to_string(),
                idle_secs: None,
            };
            for time_w in [9, 14] {
                let mut out = Vec::new();
                w.push(&mut out, &l, 22, time_w, 30, 31).unwrap();
                let want = format!(
                    "Frame {:<22}  {:>+time_w$.3} s  {:<30} → {:<31}  {:<4}  {}\n",
                    l.frame,
                    l.relative,
                    "client 10.0.0.1:50000",
                    "proxy [2001:db8::1]:8080",
                    l.proto,
                    l.text
                );
                assert_eq!(String::from_utf8(out).unwrap(), want);
            }
        }
    }
}
