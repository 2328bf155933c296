//! Votes on the answers (pure, tested natively): under each question, which pane answered
//! best. With one API pane: local better / API better / tie / both bad; with more: the best
//! answer's pane, or none good. The tally gives the decision grid its verdict on the local
//! model's quality.

use arbitre_pricing::QualityVerdict;

/// One vote on one question's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote {
    /// The local answer is the best (or better than the API's).
    Local,
    /// This API pane's answer is the best.
    Api(usize),
    /// As good as each other (both good).
    Tie,
    /// None of the answers does the job.
    AllBad,
}

impl Vote {
    /// The name used in the page (`data-vote`).
    pub fn as_str(self) -> String {
        match self {
            Self::Local => "local".into(),
            Self::Api(i) => format!("api-{i}"),
            Self::Tie => "tie".into(),
            Self::AllBad => "bad".into(),
        }
    }

    /// Whether the local answer did the job in this vote.
    fn local_ok(self) -> bool {
        matches!(self, Self::Local | Self::Tie)
    }
}

/// The choices offered under a question, with their labels, for `n_apis` API panes.
pub fn choices(n_apis: usize) -> Vec<(Vote, String)> {
    if n_apis == 1 {
        return vec![
            (Vote::Local, "Local better".into()),
            (Vote::Api(0), "API better".into()),
            (Vote::Tie, "Tie".into()),
            (Vote::AllBad, "Both bad".into()),
        ];
    }
    let mut out = vec![(Vote::Local, "Best: local".into())];
    out.extend((0..n_apis).map(|i| (Vote::Api(i), format!("Best: API {}", i + 1))));
    out.push((Vote::AllBad, "None good".into()));
    out
}

/// Counts of the votes: (local did the job, it did not).
pub fn tally(votes: &[Option<Vote>]) -> (usize, usize) {
    let cast: Vec<Vote> = votes.iter().flatten().copied().collect();
    let ok = cast.iter().filter(|v| v.local_ok()).count();
    (ok, cast.len() - ok)
}

/// The decision grid's quality verdict from the votes: none before three votes; acceptable
/// when the local answer did the job in at least two thirds of them, not acceptable when in at
/// most one third, unsure in between.
pub fn verdict(votes: &[Option<Vote>]) -> Option<QualityVerdict> {
    let (ok, not_ok) = tally(votes);
    let n = ok + not_ok;
    if n < 3 {
        return None;
    }
    Some(if 3 * ok >= 2 * n {
        QualityVerdict::Acceptable
    } else if 3 * ok <= n {
        QualityVerdict::NotAcceptable
    } else {
        QualityVerdict::Unsure
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_depend_on_the_number_of_panes() {
        let two: Vec<_> = choices(1).into_iter().map(|(v, _)| v).collect();
        assert_eq!(two, [Vote::Local, Vote::Api(0), Vote::Tie, Vote::AllBad]);
        let four: Vec<_> = choices(3).into_iter().map(|(v, l)| (v.as_str(), l)).collect();
        assert_eq!(four.len(), 5);
        assert_eq!(four[3], ("api-2".to_string(), "Best: API 3".to_string()));
    }

    #[test]
    fn the_tally_gives_the_quality_verdict() {
        use Vote::*;
        assert_eq!(verdict(&[Some(Local), Some(Tie), None]), None, "two votes: no verdict yet");
        assert_eq!(verdict(&[Some(Local), Some(Tie), Some(Api(0))]), Some(QualityVerdict::Acceptable));
        assert_eq!(verdict(&[Some(Local), Some(AllBad), Some(Api(1)), None]), Some(QualityVerdict::NotAcceptable));
        assert_eq!(verdict(&[Some(Local), Some(Tie), Some(AllBad), Some(Api(0))]), Some(QualityVerdict::Unsure));
        assert_eq!(tally(&[Some(Tie), None, Some(AllBad)]), (1, 1));
    }
}
