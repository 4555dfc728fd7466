//! A story step as a line of text, built in a reused buffer: a story can have millions of
//! lines, and `write!` with padding and address formatting cost thousands of instructions per
//! line (a quarter of `story` on a capture of short connections).

use std::io::{self, Write};
use std::net::SocketAddr;
use wiretale::analysis::{Party, StoryLine};

/// Writes step lines; the buffer is reused from line to line.
#[derive(Default)]
pub(super) struct StepWriter {
    line: Vec<u8>,
}

impl StepWriter {
    /// `Frame N  +S.SSS s  FROM → TO  PROTO  TEXT`, columns padded to the given widths.
    pub(super) fn write(
        &mut self,
        out: &mut impl Write,
        l: &StoryLine,
        frame_w: usize,
        from_w: usize,
        to_w: usize,
    ) -> io::Result<()> {
        let b = &mut self.line;
        b.clear();
        b.extend_from_slice(b"Frame ");
        push_u64(b, l.frame);
        pad(b, frame_w.saturating_sub(digits(l.frame)));
        b.extend_from_slice(b"  ");
        // Floats keep the standard library's formatting (its rounding is exact).
        write!(b, "{:>+9.3}", l.relative)?;
        b.extend_from_slice(b" s  ");
        push_party(b, &l.from, from_w);
        b.extend_from_slice(" → ".as_bytes());
        push_party(b, &l.to, to_w);
        b.extend_from_slice(b"  ");
        b.extend_from_slice(l.proto.as_bytes());
        pad(b, 4usize.saturating_sub(l.proto.chars().count()));
        b.extend_from_slice(b"  ");
        b.extend_from_slice(l.text.as_bytes());
        b.push(b'\n');
        out.write_all(b)
    }
}

/// `role address`, padded with spaces to `width`.
pub(super) fn push_party(b: &mut Vec<u8>, p: &Option<Party>, width: usize) {
    if let Some(p) = p {
        b.extend_from_slice(p.role.as_bytes());
        b.push(b' ');
        match p.addr {
            SocketAddr::V4(a) => {
                for (i, octet) in a.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        b.push(b'.');
                    }
                    push_u64(b, u64::from(octet));
                }
                b.push(b':');
                push_u64(b, u64::from(a.port()));
            }
            // Rare enough to format (`[addr%scope]:port`, with `::` compression).
            SocketAddr::V6(a) => {
                let _ = write!(b, "{a}");
            }
        }
    }
    pad(b, width.saturating_sub(party_width(p)));
}

/// The width of `role address` (0 for no party), counted rather than formatted.
pub(super) fn party_width(p: &Option<Party>) -> usize {
    let Some(p) = p else { return 0 };
    let addr = match p.addr {
        SocketAddr::V4(a) => {
            let octets: usize = a.ip().octets().iter().map(|&o| digits(u64::from(o))).sum();
            octets + 3 + 1 + digits(u64::from(a.port()))
        }
        SocketAddr::V6(a) => a.to_string().len(),
    };
    p.role.len() + 1 + addr
}

/// Decimal digits of `n`.
pub(super) fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn push_u64(b: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&digits[at..]);
}

fn pad(b: &mut Vec<u8>, n: usize) {
    b.resize(b.len() + n, b' ');
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
                let p = Some(Party { role, addr });
                assert_eq!(party_width(&p), format!("{role} {addr}").len(), "{addr}");
                let mut out = Vec::new();
                push_party(&mut out, &p, 40);
                assert_eq!(out, format!("{:<40}", format!("{role} {addr}")).as_bytes());
            }
        }
        assert_eq!(party_width(&None), 0);
        let mut out = Vec::new();
        push_party(&mut out, &None, 3);
        assert_eq!(out, b"   ");
    }

    #[test]
    fn a_step_line_is_what_write_made_of_it() {
        let party = |role, addr: &str| {
            Some(Party {
                role,
                addr: addr.parse().unwrap(),
            })
        };
        let mut w = StepWriter::default();
        for (frame, relative, proto) in [
            (1, 0.0, "TCP"),
            (18_446_744_073_709_551_615, -0.0005, "HTTP"),
            (1234, 12345.6785, "NTLM"),
            (9, 1e-9, "TLSv"),
            (70, 30.0004999, "X"),
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
            let mut out = Vec::new();
            w.write(&mut out, &l, 22, 30, 31).unwrap();
            let want = format!(
                "Frame {:<22}  {:>+9.3} s  {:<30} → {:<31}  {:<4}  {}\n",
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
