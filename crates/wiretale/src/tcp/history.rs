//! A compact connection history in the style of Zeek's `conn.log` `history` field.
//!
//! Letters (upper case when sent by the client, lower case by the server): `S` SYN, `H`
//! SYN-ACK, `A` pure ACK, `D` data, `F` FIN, `R` RST, `T` retransmitted data, `G` gap (bytes
//! never captured), `W` zero window, `Q` SYN combined with FIN or RST. Each letter is recorded
//! the first time it happens in a direction; `T`, `G` and `W` are recorded again at the 10th,
//! 100th, 1000th... occurrence, so repeated trouble shows as repeated letters.

use std::fmt;

/// Letters recorded at most this many times (bounds the string; fits the `u8` length).
const MAX_LEN: usize = 64;

/// The history of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// ASCII letters, inline: a heap string here cost an allocation and a regrowth for
    /// every connection.
    letters: [u8; MAX_LEN],
    len: u8,
    seen: u32,
    counts: [u32; 6],
}

impl Default for History {
    fn default() -> Self {
        History {
            letters: [0; MAX_LEN],
            len: 0,
            seen: 0,
            counts: [0; 6],
        }
    }
}

fn bit(letter: char, orig: bool) -> u32 {
    // Positions in "sh adfrtgwq" (called for every segment: a match, not a string search).
    let i: u32 = match letter {
        's' => 0,
        'h' => 1,
        ' ' => 2,
        'a' => 3,
        'd' => 4,
        'f' => 5,
        'r' => 6,
        't' => 7,
        'g' => 8,
        'w' => 9,
        _ => 10,
    };
    1 << (i * 2 + u32::from(orig))
}

impl History {
    /// Records `letter` (lower-case form) for the client (`orig`) or the server, once.
    pub fn note(&mut self, orig: bool, letter: char) {
        let b = bit(letter, orig);
        if self.seen & b == 0 {
            self.seen |= b;
            self.push(orig, letter);
        }
    }

    /// Records `letter` at its 1st, 10th, 100th... occurrence.
    pub fn note_counted(&mut self, orig: bool, letter: char) {
        let slot = match letter {
            't' => 0,
            'g' => 1,
            _ => 2,
        } * 2
            + usize::from(orig);
        let n = self.counts[slot].saturating_add(1);
        self.counts[slot] = n;
        if n == 1 || (n >= 10 && power_of_ten(n)) {
            self.push(orig, letter);
        }
    }

    fn push(&mut self, orig: bool, letter: char) {
        // Letters are ASCII (`bit` and `note_counted` name them all); anything else would be
        // a bug, recorded as `?` rather than breaking the string.
        let byte = u8::try_from(letter)
            .ok()
            .filter(u8::is_ascii)
            .unwrap_or(b'?');
        if let Some(slot) = self.letters.get_mut(usize::from(self.len)) {
            *slot = if orig {
                byte.to_ascii_uppercase()
            } else {
                byte
            };
            self.len += 1;
        }
    }

    /// The letters so far.
    pub fn as_str(&self) -> &str {
        let letters = self.letters.get(..usize::from(self.len)).unwrap_or(&[]);
        // Only ASCII is ever stored (see `push`).
        std::str::from_utf8(letters).unwrap_or("")
    }
}

fn power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeek_like_letters() {
        let mut h = History::default();
        h.note(true, 's');
        h.note(false, 'h');
        h.note(true, 'a');
        h.note(true, 'd');
        h.note(true, 'd');
        h.note(false, 'd');
        h.note(true, 'f');
        h.note(false, 'f');
        assert_eq!(h.to_string(), "ShADdFf");
        for _ in 0..100 {
            h.note_counted(true, 't');
        }
        assert_eq!(h.to_string(), "ShADdFfTTT");
        assert_eq!(h.as_str(), "ShADdFfTTT");
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::default();
        for _ in 0..1000 {
            h.note_counted(false, 'g');
        }
        assert_eq!(h.as_str(), "gggg", "1st, 10th, 100th, 1000th");
        for i in 0..100 {
            h.push(i % 2 == 0, 't');
        }
        assert_eq!(
            h.as_str().len(),
            MAX_LEN,
            "letters past the cap are dropped"
        );
        assert!(h.as_str().starts_with("ggggTtTt"));
    }
}
