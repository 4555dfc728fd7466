//! Alignment: which conversations of the two captures are the same conversation, and which of
//! their steps are the same step.

use super::conversation::{Conversation, Identity};
use serde::Serialize;
use std::collections::BTreeMap;

/// The most steps of one conversation that are aligned (the alignment table is quadratic).
pub const MAX_ALIGNED_STEPS: usize = 2000;

/// How two conversations were paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBasis {
    /// Same role, service port, protocol and name.
    Identity,
    /// Same role, protocol and name on another service port.
    NameOnOtherPort,
    /// Different names, but the only unpaired conversation of that role, port and protocol in
    /// each capture.
    OnlyOneOnPort,
}

/// Conversations paired across the captures: (working index, failing index, basis), in
/// working order, and the indexes left over on each side.
#[derive(Debug, Clone, Default)]
pub struct Pairing {
    /// Paired conversations.
    pub pairs: Vec<(usize, usize, MatchBasis)>,
    /// Working conversations without a partner.
    pub only_working: Vec<usize>,
    /// Failing conversations without a partner.
    pub only_failing: Vec<usize>,
}

/// Pairs conversations: equal identities first, then equal names on other ports (in order of
/// first frame), then a conversation that is the only unpaired one of its role, port and
/// protocol in both captures.
///
/// The failing conversations are indexed by each key, so pairing takes time proportional to
/// the conversations, not to their product (a crawl can make every connection a conversation).
pub fn pair(working: &[Conversation], failing: &[Conversation]) -> Pairing {
    let mut links = Links {
        partner_of_w: vec![None; working.len()],
        taken_f: vec![false; failing.len()],
    };

    // Equal identities (unique within a capture made by `conversations`; the first free one
    // otherwise).
    let mut by_identity: BTreeMap<&Identity, Candidates> = BTreeMap::new();
    for (j, f) in failing.iter().enumerate() {
        by_identity.entry(&f.identity).or_default().list.push(j);
    }
    for (i, w) in working.iter().enumerate() {
        let free = by_identity.get_mut(&w.identity);
        if let Some(j) = free.and_then(|c| c.first_free(&links.taken_f)) {
            links.link(i, j, MatchBasis::Identity);
        }
    }

    // The same name on another port: the first failing one not yet taken, in failing order.
    let mut by_name: BTreeMap<NameKey<'_>, Candidates> = BTreeMap::new();
    for (j, f) in failing.iter().enumerate() {
        if let Some(key) = name_key(&f.identity) {
            by_name.entry(key).or_default().list.push(j);
        }
    }
    for (i, w) in working.iter().enumerate() {
        if links.paired(i) {
            continue;
        }
        let Some(key) = name_key(&w.identity) else {
            continue;
        };
        if let Some(j) = by_name
            .get_mut(&key)
            .and_then(|c| c.first_free(&links.taken_f))
        {
            links.link(i, j, MatchBasis::NameOnOtherPort);
        }
    }

    // The only unpaired conversation of its role, port and protocol on both sides. A link
    // leaves that slot with none on either side, so counting once is enough.
    let mut slots: BTreeMap<SlotKey<'_>, (usize, Vec<usize>)> = BTreeMap::new();
    for (i, w) in working.iter().enumerate() {
        if !links.paired(i) {
            slots.entry(slot_key(&w.identity)).or_default().0 += 1;
        }
    }
    for (j, f) in failing.iter().enumerate() {
        if !links.taken(j) {
            slots.entry(slot_key(&f.identity)).or_default().1.push(j);
        }
    }
    for (i, w) in working.iter().enumerate() {
        if links.paired(i) {
            continue;
        }
        if let Some((1, free)) = slots.get(&slot_key(&w.identity)) {
            if let [j] = free.as_slice() {
                links.link(i, *j, MatchBasis::OnlyOneOnPort);
            }
        }
    }

    let mut out = Pairing::default();
    for (i, p) in links.partner_of_w.iter().enumerate() {
        match p {
            Some((j, basis)) => out.pairs.push((i, *j, *basis)),
            None => out.only_working.push(i),
        }
    }
    out.only_failing = (0..failing.len()).filter(|&j| !links.taken(j)).collect();
    out
}

/// Who is paired with whom so far.
struct Links {
    partner_of_w: Vec<Option<(usize, MatchBasis)>>,
    taken_f: Vec<bool>,
}

impl Links {
    fn link(&mut self, i: usize, j: usize, basis: MatchBasis) {
        if let (Some(slot), Some(t)) = (self.partner_of_w.get_mut(i), self.taken_f.get_mut(j)) {
            *slot = Some((j, basis));
            *t = true;
        }
    }

    fn paired(&self, i: usize) -> bool {
        self.partner_of_w.get(i).copied().flatten().is_some()
    }

    fn taken(&self, j: usize) -> bool {
        taken(&self.taken_f, j)
    }
}

/// Role, protocol and name: conversations that are the same on another port.
type NameKey<'a> = (&'static str, &'static str, &'a str);

fn name_key(id: &Identity) -> Option<NameKey<'_>> {
    Some((id.role, id.protocol, id.name.as_deref()?))
}

/// Role, service port and protocol.
type SlotKey<'a> = (&'static str, u16, &'static str);

fn slot_key(id: &Identity) -> SlotKey<'_> {
    (id.role, id.service_port, id.protocol)
}

/// Failing conversations with one key, in order; `next` skips those already taken (they
/// are never given back).
#[derive(Default)]
struct Candidates {
    list: Vec<usize>,
    next: usize,
}

impl Candidates {
    fn first_free(&mut self, taken_f: &[bool]) -> Option<usize> {
        while let Some(&j) = self.list.get(self.next) {
            if !taken(taken_f, j) {
                return Some(j);
            }
            self.next += 1;
        }
        None
    }
}

fn taken(taken_f: &[bool], j: usize) -> bool {
    taken_f.get(j).copied().unwrap_or(true)
}

/// A longest common subsequence of two key lists: the matched (a, b) index pairs, ascending.
/// Common prefixes and suffixes are matched directly; the middle is solved by dynamic
/// programming on at most [`MAX_ALIGNED_STEPS`] keys a side (the rest stays unmatched).
pub fn lcs(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let rest_a = a.get(prefix..).unwrap_or_default();
    let rest_b = b.get(prefix..).unwrap_or_default();
    let suffix = rest_a
        .iter()
        .rev()
        .zip(rest_b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mid_a = rest_a
        .get(..rest_a.len().saturating_sub(suffix))
        .unwrap_or_default();
    let mid_b = rest_b
        .get(..rest_b.len().saturating_sub(suffix))
        .unwrap_or_default();
    let mut out: Vec<(usize, usize)> = (0..prefix).map(|i| (i, i)).collect();
    let mid_a = mid_a
        .get(..mid_a.len().min(MAX_ALIGNED_STEPS))
        .unwrap_or_default();
    let mid_b = mid_b
        .get(..mid_b.len().min(MAX_ALIGNED_STEPS))
        .unwrap_or_default();
    for (i, j) in lcs_table(mid_a, mid_b) {
        out.push((prefix.saturating_add(i), prefix.saturating_add(j)));
    }
    let a_start = a.len().saturating_sub(suffix);
    let b_start = b.len().saturating_sub(suffix);
    out.extend((0..suffix).map(|k| (a_start.saturating_add(k), b_start.saturating_add(k))));
    out
}

/// Classic quadratic LCS over short lists (both at most [`MAX_ALIGNED_STEPS`] long). Ties
/// skip the first list's element first, so a step the failing capture adds shows after what
/// the working capture did at that point.
fn lcs_table(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Vec::new();
    }
    let width = m.saturating_add(1);
    // Suffix lengths: cell (i, j) = LCS of a[i..] and b[j..]; at most 2000, fits u16.
    let mut table = vec![0u16; n.saturating_add(1).saturating_mul(width)];
    let at = |t: &[u16], i: usize, j: usize| {
        t.get(i.saturating_mul(width).saturating_add(j))
            .copied()
            .unwrap_or(0)
    };
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let v = if a.get(i) == b.get(j) {
                at(&table, i + 1, j + 1).saturating_add(1)
            } else {
                at(&table, i + 1, j).max(at(&table, i, j + 1))
            };
            if let Some(cell) = table.get_mut(i.saturating_mul(width).saturating_add(j)) {
                *cell = v;
            }
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a.get(i) == b.get(j) {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if at(&table, i + 1, j) >= at(&table, i, j + 1) {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The pairing rules written as scans (how `pair` was first written), to check the
    /// indexed version against.
    fn pair_by_scanning(working: &[Conversation], failing: &[Conversation]) -> Pairing {
        let mut pw: Vec<Option<(usize, MatchBasis)>> = vec![None; working.len()];
        let mut tf: Vec<bool> = vec![false; failing.len()];
        for (i, w) in working.iter().enumerate() {
            if let Some(j) =
                (0..failing.len()).find(|&j| !tf[j] && failing[j].identity == w.identity)
            {
                pw[i] = Some((j, MatchBasis::Identity));
                tf[j] = true;
            }
        }
        for (i, w) in working.iter().enumerate() {
            if pw[i].is_some() || w.identity.name.is_none() {
                continue;
            }
            let found = (0..failing.len()).find(|&j| {
                let f = &failing[j].identity;
                !tf[j]
                    && f.role == w.identity.role
                    && f.protocol == w.identity.protocol
                    && f.name == w.identity.name
            });
            if let Some(j) = found {
                pw[i] = Some((j, MatchBasis::NameOnOtherPort));
                tf[j] = true;
            }
        }
        for i in 0..working.len() {
            if pw[i].is_some() {
                continue;
            }
            let w = &working[i].identity;
            let same = |c: &Identity| {
                c.role == w.role && c.service_port == w.service_port && c.protocol == w.protocol
            };
            let w_count = (0..working.len())
                .filter(|&k| pw[k].is_none() && same(&working[k].identity))
                .count();
            let free: Vec<usize> = (0..failing.len())
                .filter(|&j| !tf[j] && same(&failing[j].identity))
                .collect();
            if let ([j], 1) = (free.as_slice(), w_count) {
                pw[i] = Some((*j, MatchBasis::OnlyOneOnPort));
                tf[*j] = true;
            }
        }
        let mut out = Pairing::default();
        for (i, p) in pw.iter().enumerate() {
            match p {
                Some((j, b)) => out.pairs.push((i, *j, *b)),
                None => out.only_working.push(i),
            }
        }
        out.only_failing = (0..failing.len()).filter(|&j| !tf[j]).collect();
        out
    }

    fn conversation((role, port, protocol, name): (u8, u8, u8, Option<u8>)) -> Conversation {
        Conversation {
            identity: Identity {
                role: ["server", "proxy"][usize::from(role % 2)],
                service_port: [80, 443, 8080][usize::from(port % 3)],
                protocol: ["http", "tls", "tcp"][usize::from(protocol % 3)],
                name: name.map(|n| format!("host{}", n % 4)),
            },
            streams: Vec::new(),
            first_frame: 0,
            last_frame: 0,
            steps: Vec::new(),
            truncated: false,
            tls_handshake_secs: None,
        }
    }

    fn conversations() -> impl Strategy<Value = Vec<Conversation>> {
        proptest::collection::vec(
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                proptest::option::of(any::<u8>()),
            )
                .prop_map(conversation),
            0..24,
        )
    }

    proptest! {
        /// Small alphabets of roles, ports, protocols and names make every rule fire,
        /// duplicates included.
        #[test]
        fn indexed_pairing_equals_the_scans(w in conversations(), f in conversations()) {
            let indexed = pair(&w, &f);
            let scanned = pair_by_scanning(&w, &f);
            prop_assert_eq!(indexed.pairs, scanned.pairs);
            prop_assert_eq!(indexed.only_working, scanned.only_working);
            prop_assert_eq!(indexed.only_failing, scanned.only_failing);
        }
    }

    #[test]
    fn lcs_matches_common_steps_in_order() {
        let a = ["syn", "get", "407", "get1", "407t2", "get3", "200", "fin"];
        let b = ["syn", "get", "407", "fin", "syn", "get1", "407t2", "fin"];
        let m = lcs(&a, &b);
        let pairs: Vec<(&str, &str)> = m.iter().map(|&(i, j)| (a[i], b[j])).collect();
        assert!(pairs.iter().all(|(x, y)| x == y));
        assert_eq!(m.len(), 6, "{pairs:?}");
        assert!(m.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    }

    #[test]
    fn lcs_edge_cases() {
        assert!(lcs(&[], &["a"]).is_empty());
        assert_eq!(lcs(&["a", "b"], &["a", "b"]), vec![(0, 0), (1, 1)]);
        assert_eq!(lcs(&["x", "a"], &["a"]), vec![(1, 0)]);
        assert!(lcs(&["x"], &["y"]).is_empty());
    }

    #[test]
    fn lcs_caps_the_middle() {
        let a: Vec<String> = (0..MAX_ALIGNED_STEPS + 50).map(|i| i.to_string()).collect();
        let b: Vec<String> = (0..MAX_ALIGNED_STEPS + 50)
            .rev()
            .map(|i| i.to_string())
            .collect();
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        assert!(lcs(&a, &b).len() <= 1);
    }
}
