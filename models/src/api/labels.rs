//! Labels and label selectors, equality- and set-based, as in apimachinery `pkg/labels`.
//!
//! Label keys and values are interned: every distinct string in use is stored once for the
//! whole process (a reference-counted copy registered in a global set behind a `Mutex`) and a
//! label or requirement holds a counted reference to that one copy. Two interned strings are
//! equal exactly when their addresses are, so selector matching compares integers, and a pod's
//! labels cost two pointers per pair instead of two heap strings. Addresses differ between runs,
//! so they are only ever compared for equality, never ordered or hashed: every observable order
//! (labels by key, a requirement's values) is still the strings' order, and decisions do not
//! depend on which thread or test interned a string first.
//!
//! A string leaves the set when its last handle outside the set is dropped, so the set holds
//! the label strings of live objects only. A long run makes a fresh Job every minute whose
//! labels and selector carry its uid and name: were the set only to grow, it would grow by
//! those strings for as long as the run lasts.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// The one copy of every interned string still held somewhere. The set's own reference is one
/// of each string's count.
static INTERNED: Mutex<BTreeSet<Arc<str>>> = Mutex::new(BTreeSet::new());

fn interned_set() -> MutexGuard<'static, BTreeSet<Arc<str>>> {
    // A poisoned lock only means another thread panicked while holding it; every step under
    // the lock leaves the set a valid set of strings.
    INTERNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many distinct strings are interned now (live label keys and values).
pub fn interned_count() -> usize {
    interned_set().len()
}

/// An interned label key or value (see the module doc): equality is the address of the one
/// shared copy, ordering is the string's. Cloning counts one more holder; dropping the last
/// holder outside the set takes the string out of the set.
#[derive(Clone)]
pub struct Interned(Arc<str>);

impl Interned {
    /// The interned copy of `s`, made on first use.
    pub fn new(s: &str) -> Self {
        let mut set = interned_set();
        if let Some(found) = set.get(s) {
            return Interned(Arc::clone(found));
        }
        let copy: Arc<str> = Arc::from(s);
        set.insert(Arc::clone(&copy));
        Interned(copy)
    }

    /// The interned copy of `s` if there is one: a string not interned is no live label's key
    /// or value, so a lookup by it can stop here.
    pub fn existing(s: &str) -> Option<Self> {
        interned_set()
            .get(s)
            .map(|found| Interned(Arc::clone(found)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for Interned {
    fn drop(&mut self) {
        // Two counts are the set's and this handle's: no other holder is left. Under the lock
        // the count cannot grow, since a new handle is made only by cloning a live one (there
        // is none besides this) or by `new`/`existing`, which hold the lock; so the recheck
        // there is exact. The count only falls once this returns and the field is dropped.
        //
        // Two handles dropped at once on different threads may each see three and both leave
        // the entry, with the set's count alone. It is still a valid copy: the next handle made
        // from it takes it out when dropped. A run is single-threaded, so this only concerns
        // tests running side by side.
        if Arc::strong_count(&self.0) != 2 {
            return;
        }
        let mut set = interned_set();
        if Arc::strong_count(&self.0) == 2 {
            set.remove(&*self.0);
        }
    }
}

impl PartialEq for Interned {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Interned {}

impl PartialOrd for Interned {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Interned {
    fn cmp(&self, other: &Self) -> Ordering {
        if self == other {
            Ordering::Equal
        } else {
            self.as_str().cmp(other.as_str())
        }
    }
}

impl fmt::Debug for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::ops::Deref for Interned {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Below this many labels a linear scan of addresses beats a binary search of strings.
const LINEAR_LOOKUP: usize = 8;

/// A set of labels, kept sorted by key string for deterministic iteration and binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Vec<(Interned, Interned)>);

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

    /// The value of an interned key, compared by address.
    pub fn get_interned(&self, key: &Interned) -> Option<&Interned> {
        if self.0.len() <= LINEAR_LOOKUP {
            return self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        }
        self.0
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        self.insert_interned(Interned::new(key.as_ref()), Interned::new(value.as_ref()));
    }

    pub fn insert_interned(&mut self, key: Interned, value: Interned) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// Removes a label, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k.as_str() == key)?;
        Some(self.0.remove(i).1.as_str().to_owned())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The labels as interned pairs, in key order.
    pub fn iter_interned(&self) -> impl Iterator<Item = (&Interned, &Interned)> {
        self.0.iter().map(|(k, v)| (k, v))
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
        Labels(
            map.iter()
                .map(|(k, v)| (Interned::new(k), Interned::new(v)))
                .collect(),
        )
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Labels {
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
///
/// `key` and `values` are the strings callers read and display; matching uses their interned
/// copies, made once by [`Requirement::new`] (so build requirements with it).
#[derive(Clone)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    /// Sorted and deduplicated for `In`/`NotIn`; one value for `Equals`/`NotEquals`/`Gt`/`Lt`.
    pub values: Vec<String>,
    key_id: Interned,
    /// `values` interned, in the same order.
    value_ids: Vec<Interned>,
}

impl fmt::Debug for Requirement {
    /// The strings only: the interned copies say nothing more, and this text feeds hashes
    /// (a template's `pod-template-hash`) that must not change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requirement")
            .field("key", &self.key)
            .field("operator", &self.operator)
            .field("values", &self.values)
            .finish()
    }
}

impl PartialEq for Requirement {
    /// The interned copies are equal exactly when the strings are.
    fn eq(&self, other: &Self) -> bool {
        self.key_id == other.key_id
            && self.operator == other.operator
            && self.value_ids == other.value_ids
    }
}

impl Eq for Requirement {}

impl Requirement {
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Self {
        let mut values = values;
        values.sort();
        values.dedup();
        let key = key.into();
        Requirement {
            key_id: Interned::new(&key),
            value_ids: values.iter().map(|v| Interned::new(v)).collect(),
            key,
            operator,
            values,
        }
    }

    /// The interned key.
    pub fn key_id(&self) -> &Interned {
        &self.key_id
    }

    /// The interned values, in the order of `values`.
    pub fn value_ids(&self) -> &[Interned] {
        &self.value_ids
    }

    /// Upstream `Requirement.Matches` (apimachinery/pkg/labels/selector.go): `NotIn` and
    /// `DoesNotExist` match when the key is absent; `Gt`/`Lt` compare the label as an integer
    /// and fail when it does not parse.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get_interned(&self.key_id))
    }

    /// [`Requirement::matches`] given the label's value (`None` when the key is absent).
    pub fn matches_value(&self, value: Option<&Interned>) -> bool {
        let listed = |v: &Interned| self.value_ids.contains(v);
        match self.operator {
            Operator::In | Operator::Equals => value.is_some_and(listed),
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !listed(v)),
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
    fn interned_strings_are_equal_exactly_when_their_text_is() {
        let a = Interned::new("app");
        let b = Interned::new(&String::from("app"));
        assert_eq!(a, b);
        assert_ne!(a, Interned::new("apps"));
        assert_eq!(Interned::existing("app").as_ref(), Some(&a));
        assert!(Interned::new("b") > Interned::new("a"), "ordered by text");
        let l = labels(&[("app", "web")]);
        assert_eq!(l.get_interned(&a), Some(&Interned::new("web")));
    }

    fn is_interned(s: &str) -> bool {
        interned_set().contains(s)
    }

    // Strings below are unique to their test: tests run side by side and share the set.

    #[test]
    fn a_string_no_one_holds_leaves_the_set() {
        let uid = "controller-uid-3f1c2a9e-only-in-this-test";
        let l = labels(&[("controller-uid", uid)]);
        let r = Requirement::new("controller-uid", Operator::In, vec![uid.into()]);
        assert!(r.matches(&l));
        assert!(is_interned(uid));
        drop(l);
        assert!(is_interned(uid), "the requirement still holds it");
        drop(r);
        assert!(!is_interned(uid));
        assert_eq!(Interned::existing(uid), None);
    }

    #[test]
    fn any_live_handle_keeps_a_string() {
        let s = "job-name-7d2b-only-in-this-test";
        let a = Interned::new(s);
        let b = a.clone();
        let c = Interned::new(s);
        assert!(a == c && b == c);
        drop(a);
        assert!(is_interned(s));
        drop(c);
        assert!(is_interned(s), "one live handle keeps it");
        assert_eq!(Interned::existing(s).as_ref(), Some(&b));
        drop(b);
        assert!(!is_interned(s));
        // Interned again, it is a fresh copy equal to any made from now on.
        let again = Interned::new(s);
        assert_eq!(Interned::new(s), again);
        assert!(interned_count() >= 1);
    }

    #[test]
    fn debug_text_is_that_of_the_strings() {
        // `pod-template-hash` hashes a template's debug text, which must not depend on the
        // interning.
        let r = Requirement::new("k", Operator::In, vec!["b".into(), "a".into()]);
        assert_eq!(
            format!("{r:?}"),
            r#"Requirement { key: "k", operator: In, values: ["a", "b"] }"#
        );
        assert_eq!(
            format!("{:?}", labels(&[("x", "1")])),
            r#"Labels([("x", "1")])"#
        );
    }

    #[test]
    fn many_labels_are_found_by_binary_search() {
        let l: Labels = (0..20)
            .map(|i| (format!("k{i:02}"), format!("v{i}")))
            .collect();
        assert_eq!(
            l.get_interned(&Interned::new("k13")),
            Some(&Interned::new("v13"))
        );
        assert_eq!(l.get_interned(&Interned::new("k99")), None);
        assert_eq!(l.get("k07"), Some("v7"));
    }

    #[test]
    fn insert_keeps_keys_sorted_and_replaces() {
        let mut l = labels(&[("b", "1"), ("a", "2")]);
        l.insert("a", "3");
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![("a", "3"), ("b", "1")]);
    }
}
