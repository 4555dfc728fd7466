//! The receiving side's view of a byte stream: what arrived, where the holes are, and so which
//! acknowledgment number is honest.

/// What one side has received from its peer, to compute honest acknowledgment numbers.
#[derive(Debug, Clone, Default)]
pub(super) struct Receiver {
    pub(super) syn: bool,
    /// Stream bytes received without a hole, from offset 0.
    contiguous: u64,
    /// Received ranges beyond a hole.
    pending: Vec<(u64, u64)>,
    /// Offset at which the peer's FIN sits, once seen.
    pub(super) fin_at: Option<u64>,
}

impl Receiver {
    pub(super) fn receive(&mut self, start: u64, end: u64) {
        if end <= start {
            return;
        }
        self.pending.push((start, end));
        self.merge();
    }

    fn merge(&mut self) {
        let mut changed = true;
        while changed {
            changed = false;
            let contiguous = self.contiguous;
            let mut grow = contiguous;
            self.pending.retain(|&(s, e)| {
                if s <= contiguous {
                    grow = grow.max(e);
                    false
                } else {
                    true
                }
            });
            if grow > contiguous {
                self.contiguous = grow;
                changed = true;
            }
        }
    }

    /// Offset acknowledged: all contiguous data, plus one for a FIN right after it.
    pub(super) fn ack_offset(&self) -> u64 {
        let fin = self.fin_at == Some(self.contiguous);
        self.contiguous.saturating_add(u64::from(fin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_merges_ranges() {
        let mut r = Receiver::default();
        r.receive(10, 20);
        r.receive(30, 40);
        assert_eq!(r.ack_offset(), 0);
        r.receive(0, 10);
        assert_eq!(r.ack_offset(), 20);
        r.receive(15, 35);
        assert_eq!(r.ack_offset(), 40);
        r.fin_at = Some(40);
        assert_eq!(r.ack_offset(), 41);
    }
}
