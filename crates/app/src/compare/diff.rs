//! The quick diff of two answers (pure, tested natively): Jaccard similarity of their word
//! sets, their length ratio and a word-level diff (longest common subsequence), bounded by
//! [`DIFF_MAX_CELLS`].

/// Whether a diff piece is in both answers or in one only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// In both.
    Same,
    /// Only in the first answer.
    Removed,
    /// Only in the second answer.
    Added,
}

/// A run of words of one kind, joined by single spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffPiece {
    /// Kind of the run.
    pub kind: DiffKind,
    /// The words.
    pub text: String,
}

/// How two answers compare at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickDiff {
    /// Words in the first answer.
    pub words_a: usize,
    /// Words in the second answer.
    pub words_b: usize,
    /// Characters in the first answer.
    pub chars_a: usize,
    /// Characters in the second answer.
    pub chars_b: usize,
    /// Jaccard similarity of the two sets of words (case and surrounding punctuation
    /// ignored), 0..=1; 1 when both are empty.
    pub jaccard: f64,
    /// Shorter word count over longer, 0..=1; 1 when both are empty.
    pub length_ratio: f64,
    /// Word-level diff from the first answer to the second.
    pub pieces: Vec<DiffPiece>,
    /// Whether the answers were too long and only their first words were diffed.
    pub truncated: bool,
}

/// Most cells of the diff's dynamic-programming table (words_a × words_b after removing the
/// common prefix and suffix).
pub const DIFF_MAX_CELLS: usize = 1_500_000;

fn norm_word(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()
}

/// Compares two answers: word-set Jaccard, length ratio and a word diff (see [`QuickDiff`]).
pub fn quick_diff(a: &str, b: &str) -> QuickDiff {
    use std::collections::HashSet;
    let wa: Vec<&str> = a.split_whitespace().collect();
    let wb: Vec<&str> = b.split_whitespace().collect();
    let set_a: HashSet<String> = wa.iter().map(|w| norm_word(w)).filter(|w| !w.is_empty()).collect();
    let set_b: HashSet<String> = wb.iter().map(|w| norm_word(w)).filter(|w| !w.is_empty()).collect();
    let union = set_a.union(&set_b).count();
    let jaccard = if union == 0 { 1.0 } else { set_a.intersection(&set_b).count() as f64 / union as f64 };
    let (lo, hi) = (wa.len().min(wb.len()), wa.len().max(wb.len()));
    let length_ratio = if hi == 0 { 1.0 } else { lo as f64 / hi as f64 };
    let (pieces, truncated) = word_diff(&wa, &wb);
    QuickDiff {
        words_a: wa.len(),
        words_b: wb.len(),
        chars_a: a.chars().count(),
        chars_b: b.chars().count(),
        jaccard,
        length_ratio,
        pieces,
        truncated,
    }
}

fn push_piece(out: &mut Vec<DiffPiece>, kind: DiffKind, word: &str) {
    match out.last_mut() {
        Some(last) if last.kind == kind => {
            last.text.push(' ');
            last.text.push_str(word);
        }
        _ => out.push(DiffPiece { kind, text: word.to_string() }),
    }
}

fn word_diff(a: &[&str], b: &[&str]) -> (Vec<DiffPiece>, bool) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let mut mid_a = &a[prefix..a.len() - suffix];
    let mut mid_b = &b[prefix..b.len() - suffix];
    let mut truncated = false;
    if mid_a.len().saturating_mul(mid_b.len()) > DIFF_MAX_CELLS {
        let side = (DIFF_MAX_CELLS as f64).sqrt() as usize;
        mid_a = &mid_a[..mid_a.len().min(side)];
        mid_b = &mid_b[..mid_b.len().min(side)];
        truncated = true;
    }
    let mut out = Vec::new();
    for w in &a[..prefix] {
        push_piece(&mut out, DiffKind::Same, w);
    }
    // lcs[i][j]: LCS length of mid_a[i..] and mid_b[j..].
    let (n, m) = (mid_a.len(), mid_b.len());
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if mid_a[i] == mid_b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && mid_a[i] == mid_b[j] {
            push_piece(&mut out, DiffKind::Same, mid_a[i]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i * width + j + 1] >= lcs[(i + 1) * width + j]) {
            push_piece(&mut out, DiffKind::Added, mid_b[j]);
            j += 1;
        } else {
            push_piece(&mut out, DiffKind::Removed, mid_a[i]);
            i += 1;
        }
    }
    if !truncated {
        for w in &a[a.len() - suffix..] {
            push_piece(&mut out, DiffKind::Same, w);
        }
    }
    (out, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn quick_diff_measures_and_diffs_words() {
        let d = quick_diff("The cat sat on the mat.", "the cat sat on a mat");
        assert_eq!((d.words_a, d.words_b), (6, 6));
        // sets: {the,cat,sat,on,mat} vs {the,cat,sat,on,a,mat} → 5/6
        assert!((d.jaccard - 5.0 / 6.0).abs() < 1e-12);
        assert!((d.length_ratio - 1.0).abs() < 1e-12);
        let rebuilt_a: Vec<&str> =
            d.pieces.iter().filter(|p| p.kind != DiffKind::Added).flat_map(|p| p.text.split(' ')).collect();
        let rebuilt_b: Vec<&str> =
            d.pieces.iter().filter(|p| p.kind != DiffKind::Removed).flat_map(|p| p.text.split(' ')).collect();
        assert_eq!(rebuilt_a.join(" "), "The cat sat on the mat.");
        assert_eq!(rebuilt_b.join(" "), "the cat sat on a mat");
        assert!(d.pieces.iter().any(|p| p.kind == DiffKind::Same && p.text == "cat sat on"));

        let same = quick_diff("a b  c", "a b c");
        assert_eq!(same.pieces, vec![DiffPiece { kind: DiffKind::Same, text: "a b c".into() }]);
        let empty = quick_diff("", "");
        assert_eq!((empty.jaccard, empty.length_ratio, empty.pieces.len()), (1.0, 1.0, 0));
        let one = quick_diff("", "hello there");
        assert_eq!(one.jaccard, 0.0);
        assert_eq!(one.length_ratio, 0.0);
        assert_eq!(one.pieces, vec![DiffPiece { kind: DiffKind::Added, text: "hello there".into() }]);

        // Long answers are diffed on their first words only, and say so.
        let long_a = (0..3000).map(|i| format!("a{i}")).collect::<Vec<_>>().join(" ");
        let long_b = (0..3000).map(|i| format!("b{i}")).collect::<Vec<_>>().join(" ");
        let big = quick_diff(&long_a, &long_b);
        assert!(big.truncated);
        assert_eq!(big.words_a, 3000);
    }

    #[test]
    fn quick_diff_is_a_valid_edit_script() {
        // Every piece sequence must rebuild both inputs, for a few tricky shapes.
        let cases = [
            ("x y z", "z y x"),
            ("a a a b", "a b b b"),
            ("one", "two"),
            ("p q r s t", "p r t"),
            ("same start and different end", "same start but other end"),
        ];
        for (a, b) in cases {
            let d = quick_diff(a, b);
            let side = |skip: DiffKind| {
                d.pieces.iter().filter(|p| p.kind != skip).flat_map(|p| p.text.split(' ')).collect::<Vec<_>>().join(" ")
            };
            assert_eq!(side(DiffKind::Added), a);
            assert_eq!(side(DiffKind::Removed), b);
            for w in d.pieces.windows(2) {
                assert_ne!(w[0].kind, w[1].kind, "pieces of one kind are merged");
            }
        }
    }
}
