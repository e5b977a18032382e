//! Located error messages and "did you mean" suggestions.

use std::fmt;

/// An error in a scenario or manifest file, located at a 1-based line and column (columns count
/// characters, as editors do). Displayed as `file:line:column: message`, the format editors and
/// terminals turn into a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line: line.max(1),
            column: column.max(1),
            message: message.into(),
        }
    }
}

/// How many problems one combined diagnostic shows; the rest are counted on a last line.
const MAX_SHOWN: usize = 100;

impl Diagnostic {
    /// Several problems as one diagnostic, so that a loader can report everything it found in
    /// one pass: the first problem's location and message, then every other problem on a line
    /// of its own as `file:line:column: message`. Displayed, each problem is one line in the
    /// `file:line:column: message` form. `None` when there is nothing to report.
    ///
    /// Repeated problems (same place, same message) are reported once; past 100 problems the
    /// rest are counted on a last line located at the first one left out.
    pub fn combine(problems: impl IntoIterator<Item = Diagnostic>) -> Option<Diagnostic> {
        let mut unique: Vec<Diagnostic> = Vec::new();
        for d in problems {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        let mut iter = unique.into_iter();
        let mut first = iter.next()?;
        let rest: Vec<Diagnostic> = iter.collect();
        let shown = rest.len().min(MAX_SHOWN - 1);
        for d in &rest[..shown] {
            first.message.push('\n');
            first.message.push_str(&d.to_string());
        }
        if let Some(next) = rest.get(shown) {
            let more = rest.len() - shown;
            first.message.push('\n');
            first.message.push_str(&format!(
                "{}:{}:{}: … and {more} more problem{} not shown",
                next.file,
                next.line,
                next.column,
                if more == 1 { "" } else { "s" }
            ));
        }
        Some(first)
    }

    /// Each problem this diagnostic reports, one `file:line:column: message` line apiece: itself
    /// first, then those [`Diagnostic::combine`] joined to it.
    pub fn problems(&self) -> Vec<String> {
        self.to_string().lines().map(str::to_string).collect()
    }

    /// How many problems this diagnostic reports (1 unless it was combined).
    pub fn count(&self) -> usize {
        1 + self.message.matches('\n').count()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
/// `replicsa` is one edit from `replicas`, as a human would count it.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[at(i - 1, j)] + 1)
                .min(d[at(i, j - 1)] + 1)
                .min(d[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[at(i - 2, j - 2)] + 1);
            }
            d[at(i, j)] = best;
        }
    }
    d[at(a.len(), b.len())]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo: a case-only
/// difference, or at most one edit per three characters (at least one, at most three).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let distance = if candidate.to_lowercase() == lower {
            0
        } else {
            edit_distance(word, candidate)
        };
        let limit = (candidate.chars().count() / 3).clamp(1, 3);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean "x"?)` or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpositions_and_small_typos_are_suggested() {
        assert_eq!(edit_distance("replicsa", "replicas"), 1);
        assert_eq!(edit_distance("cout", "count"), 1);
        assert_eq!(
            closest("replicsa", ["replicas", "selector"]),
            Some("replicas")
        );
        assert_eq!(closest("cout", ["name", "count", "zones"]), Some("count"));
        assert_eq!(closest("Replicas", ["replicas"]), Some("replicas"));
        assert_eq!(closest("banana", ["replicas", "selector"]), None);
    }

    #[test]
    fn combined_diagnostics_keep_the_first_location_and_list_the_others() {
        let a = Diagnostic::new("a.yaml", 3, 7, "first");
        let b = Diagnostic::new("b.yaml", 1, 2, "second");
        assert_eq!(Diagnostic::combine(Vec::new()), None);
        assert_eq!(Diagnostic::combine([a.clone()]), Some(a.clone()));
        let all = Diagnostic::combine([a.clone(), b.clone(), a.clone()]).unwrap();
        assert_eq!((all.file.as_str(), all.line, all.column), ("a.yaml", 3, 7));
        assert_eq!(all.count(), 2);
        assert_eq!(all.to_string(), "a.yaml:3:7: first\nb.yaml:1:2: second");
        assert_eq!(all.problems(), ["a.yaml:3:7: first", "b.yaml:1:2: second"]);
        let many = (1..=150).map(|i| Diagnostic::new("m.yaml", i, 1, "bad"));
        let all = Diagnostic::combine(many).unwrap();
        assert_eq!(all.count(), 101);
        assert_eq!(
            all.problems().last().map(String::as_str),
            Some("m.yaml:101:1: … and 50 more problems not shown")
        );
    }

    #[test]
    fn display_is_file_line_column_message() {
        let d = Diagnostic::new("a.yaml", 3, 7, "boom");
        assert_eq!(d.to_string(), "a.yaml:3:7: boom");
    }
}
