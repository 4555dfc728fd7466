//! Alignment: which conversations of the two captures are the same conversation, and which of
//! their steps are the same step.

use super::conversation::Conversation;
use serde::Serialize;

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
pub fn pair(working: &[Conversation], failing: &[Conversation]) -> Pairing {
    let mut partner_of_w: Vec<Option<(usize, MatchBasis)>> = vec![None; working.len()];
    let mut taken_f: Vec<bool> = vec![false; failing.len()];
    let link = |pw: &mut Vec<Option<(usize, MatchBasis)>>,
                tf: &mut Vec<bool>,
                i: usize,
                j: usize,
                basis: MatchBasis| {
        if let (Some(slot), Some(t)) = (pw.get_mut(i), tf.get_mut(j)) {
            *slot = Some((j, basis));
            *t = true;
        }
    };
    for (i, w) in working.iter().enumerate() {
        let found = failing
            .iter()
            .enumerate()
            .find(|(j, f)| !taken(&taken_f, *j) && f.identity == w.identity);
        if let Some((j, _)) = found {
            link(&mut partner_of_w, &mut taken_f, i, j, MatchBasis::Identity);
        }
    }
    for (i, w) in working.iter().enumerate() {
        if partner_of_w.get(i).copied().flatten().is_some() || w.identity.name.is_none() {
            continue;
        }
        let found = failing.iter().enumerate().find(|(j, f)| {
            !taken(&taken_f, *j)
                && f.identity.role == w.identity.role
                && f.identity.protocol == w.identity.protocol
                && f.identity.name == w.identity.name
        });
        if let Some((j, _)) = found {
            link(
                &mut partner_of_w,
                &mut taken_f,
                i,
                j,
                MatchBasis::NameOnOtherPort,
            );
        }
    }
    for (i, w) in working.iter().enumerate() {
        if partner_of_w.get(i).copied().flatten().is_some() {
            continue;
        }
        let same_slot = |c: &Conversation| {
            c.identity.role == w.identity.role
                && c.identity.service_port == w.identity.service_port
                && c.identity.protocol == w.identity.protocol
        };
        let w_count = working
            .iter()
            .enumerate()
            .filter(|(k, c)| partner_of_w.get(*k).copied().flatten().is_none() && same_slot(c))
            .count();
        let f_free: Vec<usize> = failing
            .iter()
            .enumerate()
            .filter(|(j, c)| !taken(&taken_f, *j) && same_slot(c))
            .map(|(j, _)| j)
            .collect();
        if let ([j], 1) = (f_free.as_slice(), w_count) {
            link(
                &mut partner_of_w,
                &mut taken_f,
                i,
                *j,
                MatchBasis::OnlyOneOnPort,
            );
        }
    }
    let mut out = Pairing::default();
    for (i, p) in partner_of_w.iter().enumerate() {
        match p {
            Some((j, basis)) => out.pairs.push((i, *j, *basis)),
            None => out.only_working.push(i),
        }
    }
    out.only_failing = (0..failing.len())
        .filter(|&j| !taken(&taken_f, j))
        .collect();
    out
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
