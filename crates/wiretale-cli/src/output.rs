//! Output helpers shared by the commands.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

/// Buffered standard output.
pub fn stdout() -> BufWriter<Stdout> {
    BufWriter::with_capacity(1 << 16, Stdout::open())
}

/// Standard output for a command's results: on Unix a duplicate of its file descriptor,
/// written directly. The standard library's handle is line-buffered: each 64 KiB the
/// [`BufWriter`] hands it is searched for its last newline (`memrchr`, 1.5 % of
/// `story --format json`, whose document has none) and its tail copied into a second buffer.
/// Everything a command prints goes through one [`stdout`], so nothing is held in the
/// standard library's buffer to be overtaken.
pub enum Stdout {
    /// The descriptor, duplicated.
    Direct(std::fs::File),
    /// The standard library's handle, where the descriptor cannot be duplicated.
    Locked(io::StdoutLock<'static>),
}

impl Stdout {
    fn open() -> Self {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
                return Stdout::Direct(std::fs::File::from(fd));
            }
        }
        Stdout::Locked(io::stdout().lock())
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stdout::Direct(f) => f.write(buf),
            Stdout::Locked(l) => l.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stdout::Direct(f) => f.write_all(buf),
            Stdout::Locked(l) => l.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stdout::Direct(f) => f.flush(),
            Stdout::Locked(l) => l.flush(),
        }
    }
}

/// Writes one value as a JSON line.
pub fn json_line<W: Write, T: serde::Serialize>(out: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Lines built in a buffer and written to `out` a batch at a time: a `write` per line (or
/// per padded column, or per JSON key and value) cost a call and a copy each.
pub struct Batched<W: Write> {
    out: W,
    lines: Vec<u8>,
}

impl<W: Write> Batched<W> {
    /// Bytes of lines held before they are written.
    pub const BATCH: usize = 1 << 16;

    /// Lines for `out`.
    pub fn new(out: W) -> Self {
        Batched {
            out,
            lines: Vec::with_capacity(Self::BATCH + 4096),
        }
    }

    /// The buffer to append lines to.
    pub fn lines(&mut self) -> &mut Vec<u8> {
        &mut self.lines
    }

    /// Writes the held lines once they make a batch.
    pub fn write_if_full(&mut self) -> io::Result<()> {
        if self.lines.len() >= Self::BATCH {
            self.write_held()?;
        }
        Ok(())
    }

    /// Writes every held line and flushes `out`.
    pub fn finish(&mut self) -> io::Result<()> {
        self.write_held()?;
        self.out.flush()
    }

    fn write_held(&mut self) -> io::Result<()> {
        self.out.write_all(&self.lines)?;
        self.lines.clear();
        // One huge line (an event over thousands of frames) is not kept for the rest.
        self.lines.shrink_to(2 * Self::BATCH);
        Ok(())
    }
}

/// Seconds as `{:>+WIDTH.3}` writes them (sign, three decimals, right-aligned in `width`).
pub fn push_seconds(b: &mut Vec<u8>, secs: f64, width: usize) -> io::Result<()> {
    push_fixed(b, secs, width, Decimals::Three, Sign::Always)
}

/// Decimals [`push_fixed`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decimals {
    /// Tenths, as `{:.1}`.
    One,
    /// Milliseconds, as `{:.3}`.
    Three,
    /// Microseconds, as `{:.6}`.
    Six,
}

/// Whether [`push_fixed`] writes `+` before a positive number (`{:+}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// `+` or `-`.
    Always,
    /// `-` only.
    Negative,
}

/// `value` as `{:>WIDTH.N}` (with `{:+}` for [`Sign::Always`]) writes it, N the
/// [`Decimals`]. The standard library's exact decimal rounding costs over a thousand
/// instructions per number; [`FixedText`] gives the same digits for a fraction of that.
pub fn push_fixed(
    b: &mut Vec<u8>,
    value: f64,
    width: usize,
    decimals: Decimals,
    sign: Sign,
) -> io::Result<()> {
    let mut text = [0u8; 24];
    let Some(at) = write_fixed(&mut text, value, decimals, sign) else {
        let digits = decimals.digits();
        return match sign {
            Sign::Always => write!(b, "{value:>+width$.digits$}"),
            Sign::Negative => write!(b, "{value:>width$.digits$}"),
        };
    };
    let text = text.get(at..).unwrap_or_default();
    pad(b, width.saturating_sub(text.len()));
    b.extend_from_slice(text);
    Ok(())
}

/// [`push_fixed`] into a table cell, unpadded: `value` as `{:.N}` writes it.
pub fn push_fixed_str(cell: &mut String, value: f64, decimals: Decimals) {
    match FixedText::new(value, decimals, Sign::Negative) {
        Some(text) => cell.push_str(text.as_str()),
        None => {
            let digits = decimals.digits();
            let _ = write!(cell, "{value:.digits$}");
        }
    }
}

impl Decimals {
    fn digits(self) -> usize {
        match self {
            Decimals::One => 1,
            Decimals::Three => 3,
            Decimals::Six => 6,
        }
    }
}

/// A number with a fixed count of decimals, written into a stack buffer as the standard
/// library's `{:.N}` writes it. Whole units from one multiplication give the same digits
/// except next to a rounding tie, decided there by a fused multiply-add.
pub struct FixedText {
    text: [u8; 24],
    at: usize,
}

impl FixedText {
    /// The text of `value`; `None` for NaN and for values of 2^36 units or more (left to
    /// the standard library).
    pub fn new(value: f64, decimals: Decimals, sign: Sign) -> Option<Self> {
        let mut text = [0u8; 24];
        let at = write_fixed(&mut text, value, decimals, sign)?;
        Some(FixedText { text, at })
    }

    /// The text's bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        self.text.get(self.at..).unwrap_or_default()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Digits, a point and a sign: always ASCII.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// Writes [`FixedText`]'s text at the end of `text` and gives where it starts (`None`: NaN,
/// or 2^36 units or more): into the caller's buffer, so that [`push_fixed`], which runs for
/// every line of a story, copies no struct.
#[inline(always)]
fn write_fixed(text: &mut [u8; 24], value: f64, decimals: Decimals, sign: Sign) -> Option<usize> {
    let units = rounded_units(value, decimals)?;
    Some(write_units(
        text,
        units,
        value.is_sign_negative(),
        decimals,
        sign,
    ))
}

/// `|value|` in units of the last decimal, rounded as the standard library's `{:.N}` rounds
/// it (`None`: NaN, or 2^36 units or more).
#[inline(always)]
fn rounded_units(value: f64, decimals: Decimals) -> Option<u64> {
    // Below 2^36 units the product is off by far less (2^-17) than the 0.001 unit kept
    // from a tie.
    const LIMIT: f64 = 68_719_476_736.0;
    let scale = match decimals {
        Decimals::One => 1e1,
        Decimals::Three => 1e3,
        Decimals::Six => 1e6,
    };
    let units = (value * scale).abs();
    if units.is_nan() || units >= LIMIT {
        return None;
    }
    // `units` is neither negative nor beyond 2^36: the conversion truncates exactly, as
    // `floor` would (a library call on this target, a twentieth of writing a story line).
    let whole_units = units as u64;
    let whole = whole_units as f64;
    let up = if (units - whole - 0.5).abs() < 1e-3 {
        // Next to a tie the rounded product cannot tell: the fused multiply-add's single
        // rounding keeps the sign of the exact |value| × scale − (whole + ½), which is 0
        // only for an exact tie, rounded to even as the standard library rounds it (its
        // exact decimal expansion cost over a thousand instructions, one line in fifty
        // on a capture with timestamps in steps of 20 µs).
        let above = value.abs().mul_add(scale, -(whole + 0.5));
        above > 0.0 || (above == 0.0 && whole_units % 2 == 1)
    } else {
        units - whole > 0.5
    };
    Some(whole_units + u64::from(up))
}

/// Writes `units` (from [`rounded_units`]) with its point, and the sign (`negative`: the
/// value's), at the end of `text`; gives where the text starts.
#[inline(always)]
fn write_units(
    text: &mut [u8; 24],
    units: u64,
    negative: bool,
    decimals: Decimals,
    sign: Sign,
) -> usize {
    let (scale, digits) = match decimals {
        Decimals::One => (10, 1),
        Decimals::Three => (1_000, 3),
        Decimals::Six => (1_000_000, 6),
    };
    // Built backwards (`Vec` growth checks per digit cost more than the digits): the
    // decimals, the point, the integer part (itoa, as `push_u64`; at most 36 bits: 11
    // digits), the sign.
    let mut at = text.len();
    let (integer, mut fraction) = (units / scale, units % scale);
    for _ in 0..digits {
        at -= 1;
        text[at] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    at -= 1;
    text[at] = b'.';
    let mut digits_of_integer = itoa::Buffer::new();
    let integer = digits_of_integer.format(integer).as_bytes();
    at -= integer.len();
    if let Some(place) = text.get_mut(at..at + integer.len()) {
        place.copy_from_slice(integer);
    }
    if sign == Sign::Always || negative {
        at -= 1;
        text[at] = if negative { b'-' } else { b'+' };
    }
    at
}

/// [`push_fixed`] remembering the text of the last value written: a story's times repeat
/// to the millisecond from line to line (a thousand lines a second of capture share a
/// thousand texts), and making the digits was half of writing a time.
pub struct RepeatedFixed {
    /// What `text` is the text of: the rounded units, the value's sign, the format.
    key: Option<(u64, bool, Decimals, Sign)>,
    /// The text at the end, spaces before it: a width up to the whole buffer is copied in
    /// one piece, padding included.
    text: [u8; 24],
    at: usize,
}

impl Default for RepeatedFixed {
    fn default() -> Self {
        RepeatedFixed {
            key: None,
            text: [b' '; 24],
            at: 24,
        }
    }
}

impl RepeatedFixed {
    /// [`push_fixed`].
    pub fn push(
        &mut self,
        b: &mut Vec<u8>,
        value: f64,
        width: usize,
        decimals: Decimals,
        sign: Sign,
    ) -> io::Result<()> {
        let Some(units) = rounded_units(value, decimals) else {
            return push_fixed(b, value, width, decimals, sign);
        };
        let key = (units, value.is_sign_negative(), decimals, sign);
        if self.key != Some(key) {
            let at = write_units(&mut self.text, units, key.1, decimals, sign);
            // A shorter text than the last leaves the room before it to spaces again.
            if let Some(room) = self.text.get_mut(self.at..at) {
                room.fill(b' ');
            }
            self.at = at;
            self.key = Some(key);
        }
        let padded = self.text.len().saturating_sub(width).min(self.at);
        let text = self.text.get(padded..).unwrap_or_default();
        pad(b, width.saturating_sub(text.len()));
        b.extend_from_slice(text);
        Ok(())
    }
}

/// `n` in decimal (itoa: two digits a step, from a table); gives the number of digits.
pub fn push_u64(b: &mut Vec<u8>, n: u64) -> usize {
    let mut text = itoa::Buffer::new();
    let text = text.format(n).as_bytes();
    b.extend_from_slice(text);
    text.len()
}

/// `n` spaces.
pub fn pad(b: &mut Vec<u8>, n: usize) {
    b.resize(b.len() + n, b' ');
}

/// Seconds with millisecond precision, e.g. `12.345`.
pub fn secs(s: f64) -> String {
    let mut text = String::new();
    push_secs(&mut text, s);
    text
}

/// [`secs`] appended to `cell`.
pub fn push_secs(cell: &mut String, s: f64) {
    push_fixed_str(cell, s, Decimals::Three);
}

/// A byte count for people: `1.2 kB`, `3.4 MB`.
pub fn bytes(n: u64) -> String {
    let mut text = String::new();
    push_bytes(&mut text, n);
    text
}

/// [`bytes`] appended to `cell`.
pub fn push_bytes(cell: &mut String, n: u64) {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        cell.push_str(itoa::Buffer::new().format(n));
    } else {
        push_fixed_str(cell, v, Decimals::One);
    }
    cell.push(' ');
    cell.push_str(UNITS[unit]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that records the size of each write.
    #[derive(Default)]
    struct Writes {
        bytes: Vec<u8>,
        sizes: Vec<usize>,
        flushes: usize,
    }

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            self.sizes.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    /// Lines go out as soon as they make a batch, never one by one, in order; `finish`
    /// writes the rest and flushes.
    #[test]
    fn lines_go_out_in_batches_and_in_order() {
        let mut out = Writes::default();
        let mut want = Vec::new();
        let mut lines = Batched::new(&mut out);
        for n in 1..=6000u64 {
            let line = format!("line {n:<6} {}\n", "x".repeat(n as usize % 50));
            lines.lines().extend_from_slice(line.as_bytes());
            want.extend_from_slice(line.as_bytes());
            lines.write_if_full().unwrap();
        }
        lines.finish().unwrap();
        assert_eq!(out.bytes, want);
        assert_eq!(out.flushes, 1);
        let (last, full) = out.sizes.split_last().unwrap();
        assert!(full.len() >= 2, "{} batches", full.len());
        for size in full {
            // A batch is at least BATCH bytes, and less than one more line.
            assert!((Batched::<Vec<u8>>::BATCH..Batched::<Vec<u8>>::BATCH + 64).contains(size));
        }
        assert!(*last < Batched::<Vec<u8>>::BATCH);
    }

    #[test]
    fn numbers_are_written_like_the_standard_library() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            255,
            1000,
            65535,
            1 << 32,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = b"x".to_vec();
            push_u64(&mut out, n);
            assert_eq!(out, format!("x{n}").as_bytes());
        }
    }

    #[test]
    fn seconds_are_written_like_the_standard_library() {
        let mut values = vec![
            0.0,
            -0.0,
            0.0004,
            0.0005,
            0.0015,
            0.0025,
            -0.0005,
            0.9995,
            1.0,
            9.9995,
            12345.6785,
            99999.9994,
            99999.9996,
            1e-9,
            -1e-9,
            30.0004999,
            2147483.6475,
            2147483.648,
            1e12,
            -1e12,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // Deterministic spread over magnitudes: xorshift bits as mantissas and exponents.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let scale = 10f64.powi((x % 13) as i32 - 4);
            let v = (x >> 11) as f64 / (1u64 << 53) as f64 * scale;
            values.push(if x & 1 == 0 { v } else { -v });
            // Exact milliseconds and ties, as timestamps in microseconds make them.
            values.push((x % 100_000_000) as f64 / 1e6);
        }
        // Exact ties and their neighbours: binary fractions whose thousandths (and
        // millionths) end in 5, over magnitudes, both signs.
        for j in 1..=24 {
            for k in [1u64, 3, 5, 7, 9, 11, 13, 15, 17, 31, 63, 127, 255] {
                let fraction = k as f64 / (1u64 << j) as f64;
                for whole in [0.0, 1.0, 2.0, 7.0, 30.0, 1234.0, 65535.0, 2147483.0] {
                    let v = whole + fraction;
                    values.extend([
                        v,
                        -v,
                        f64::from_bits(v.to_bits() + 1),
                        f64::from_bits(v.to_bits() - 1),
                    ]);
                }
            }
        }
        // The story's column (9) and the timeline's (10).
        for width in [9, 10] {
            for &v in &values {
                let mut out = Vec::new();
                push_seconds(&mut out, v, width).unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format!("{v:>+width$.3}"),
                    "{v:e} in {width}"
                );
            }
        }
        // Remembered texts: the same values in order, sorted (runs of one text), with
        // values beyond the fast path and the formats changing under one `RepeatedFixed`,
        // in columns narrower and wider than its buffer.
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let mut repeated = RepeatedFixed::default();
        let formats = [
            (Decimals::Three, Sign::Always),
            (Decimals::Six, Sign::Negative),
            (Decimals::One, Sign::Always),
        ];
        let odd = [f64::NAN, 1e12, -1e12, -0.0, 0.0, -0.0004];
        for (i, &v) in values.iter().chain(&sorted).chain(&odd).enumerate() {
            let (decimals, sign) = formats[(i / 1000) % formats.len()];
            let width = [11, 0, 9, 24, 30][(i / 7) % 5];
            let (mut want, mut got) = (Vec::new(), Vec::new());
            push_fixed(&mut want, v, width, decimals, sign).unwrap();
            repeated.push(&mut got, v, width, decimals, sign).unwrap();
            assert_eq!(got, want, "{v:e} {decimals:?} {sign:?}");
        }
        // The frame listing's relative times: six decimals, no `+`, in 12.
        values.extend([0.0000005, 0.0000015, 1.0000005, 12.3456785, 68719.476736]);
        for &v in &values {
            let mut out = Vec::new();
            push_fixed(&mut out, v, 12, Decimals::Six, Sign::Negative).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{v:>12.6}"),
                "{v:e}"
            );
        }
        // Table cells: three decimals (durations, starts) and one (byte counts), unpadded.
        for &v in &values {
            for (decimals, want) in [
                (Decimals::One, format!("{v:.1}")),
                (Decimals::Three, format!("{v:.3}")),
            ] {
                let mut cell = String::from("x");
                push_fixed_str(&mut cell, v, decimals);
                assert_eq!(cell, format!("x{want}"), "{v:e} {decimals:?}");
            }
        }
    }

    #[test]
    fn byte_counts_read_as_before() {
        // What `bytes` wrote with `format!`, before it was built by hand.
        fn by_format(n: u64) -> String {
            const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
            let mut v = n as f64;
            let mut unit = 0;
            while v >= 1000.0 && unit < UNITS.len() - 1 {
                v /= 1000.0;
                unit += 1;
            }
            if unit == 0 {
                format!("{n} B")
            } else {
                format!("{v:.1} {}", UNITS[unit])
            }
        }
        let mut ns: Vec<u64> = vec![0, 1, 999, 1000, 1049, 1050, 1051, 1150, 1250, 999_949];
        ns.extend([
            999_950,
            999_999,
            1_000_000,
            123_456_789,
            u64::MAX / 3,
            u64::MAX,
        ]);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ns.push(x >> (x % 64));
        }
        for n in ns {
            assert_eq!(bytes(n), by_format(n), "{n}");
        }
    }
}
