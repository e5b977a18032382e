//! Labels and label selectors, equality- and set-based, as in apimachinery `pkg/labels`.

use std::collections::BTreeMap;

/// A set of labels, kept sorted by key for deterministic iteration and binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// Removes a label, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        // BTreeMap iterates in key order, which is exactly our invariant.
        Labels(map.into_iter().collect())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut labels = Labels::new();
        for (k, v) in iter {
            labels.insert(k, v);
        }
        labels
    }
}

/// Selector operators. `Gt`/`Lt` exist only in node selector requirements upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Equals,
    NotEquals,
    Gt,
    Lt,
}

/// One requirement of a selector: `key op values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    /// Sorted and deduplicated for `In`/`NotIn`; one value for `Equals`/`NotEquals`/`Gt`/`Lt`.
    pub values: Vec<String>,
}

impl Requirement {
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Self {
        let mut values = values;
        values.sort();
        values.dedup();
        Requirement {
            key: key.into(),
            operator,
            values,
        }
    }

    /// Upstream `Requirement.Matches` (apimachinery/pkg/labels/selector.go): `NotIn` and
    /// `DoesNotExist` match when the key is absent; `Gt`/`Lt` compare the label as an integer
    /// and fail when it does not parse.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals => {
                value.is_some_and(|v| self.values.binary_search_by(|x| x.as_str().cmp(v)).is_ok())
            }
            Operator::NotIn | Operator::NotEquals => {
                value.is_none_or(|v| self.values.binary_search_by(|x| x.as_str().cmp(v)).is_err())
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::Gt | Operator::Lt => {
                let (Some(v), Some(bound)) = (value, self.values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::Gt {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

/// A label selector: all requirements must match (logical AND). An empty selector matches
/// everything, as `metav1.LabelSelectorAsSelector` gives for `{}`; a nil selector is modelled by
/// the owner as `Option<LabelSelector>` = `None` and matches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Selector from `matchLabels` only.
    pub fn from_match_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        LabelSelector {
            requirements: labels
                .into_iter()
                .map(|(k, v)| Requirement::new(k, Operator::Equals, vec![v.to_string()]))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().copied().collect()
    }

    #[test]
    fn set_based_operators_follow_upstream_semantics() {
        let l = labels(&[("env", "prod"), ("tier", "web"), ("gen", "5")]);
        let req = |k: &str, op, vs: &[&str]| {
            Requirement::new(k, op, vs.iter().map(|s| s.to_string()).collect())
        };
        assert!(req("env", Operator::In, &["prod", "dev"]).matches(&l));
        assert!(!req("env", Operator::In, &["dev"]).matches(&l));
        assert!(req("env", Operator::NotIn, &["dev"]).matches(&l));
        // NotIn matches a missing key (selector.go: "NotIn ... returns true if the key is absent").
        assert!(req("zone", Operator::NotIn, &["a"]).matches(&l));
        assert!(req("tier", Operator::Exists, &[]).matches(&l));
        assert!(req("zone", Operator::DoesNotExist, &[]).matches(&l));
        assert!(req("env", Operator::NotEquals, &["dev"]).matches(&l));
        assert!(req("gen", Operator::Gt, &["4"]).matches(&l));
        assert!(!req("gen", Operator::Lt, &["5"]).matches(&l));
        assert!(
            !req("env", Operator::Gt, &["1"]).matches(&l),
            "non-integer label never matches Gt"
        );
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::default().matches(&labels(&[("a", "b")])));
        assert!(LabelSelector::default().matches(&Labels::new()));
    }

    #[test]
    fn insert_keeps_keys_sorted_and_replaces() {
        let mut l = labels(&[("b", "1"), ("a", "2")]);
        l.insert("a", "3");
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![("a", "3"), ("b", "1")]);
    }
}
