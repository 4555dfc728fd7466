//! A bounded list of per-field problems found while decoding one message.

/// At most this many problems are kept per message; one more line says that others were dropped.
pub(crate) const MAX_PROBLEMS: usize = 16;

/// Collects human-readable notes about fields that could not be decoded as the spec says.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    notes: Vec<String>,
    dropped: usize,
}

impl Problems {
    /// Records a problem, or counts it when the list is full.
    pub(crate) fn push(&mut self, note: impl Into<String>) {
        if self.notes.len() < MAX_PROBLEMS {
            self.notes.push(note.into());
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The notes, with a last line counting those that did not fit.
    pub(crate) fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.notes
                .push(format!("{} further problems not listed", self.dropped));
        }
        self.notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_max_problems_and_counts_the_rest() {
        let mut problems = Problems::default();
        for i in 0..MAX_PROBLEMS + 5 {
            problems.push(format!("problem {i}"));
        }
        let notes = problems.into_vec();
        assert_eq!(notes.len(), MAX_PROBLEMS + 1);
        assert_eq!(notes[0], "problem 0");
        assert_eq!(notes[MAX_PROBLEMS], "5 further problems not listed");
    }
}
