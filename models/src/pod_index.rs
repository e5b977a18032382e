//! Pods not deleted, by namespace and label, so that listing what a selector matches (an
//! informer's `Pods(namespace).List(selector)`) costs the pods that carry one of its labels
//! rather than every pod ever created. The HPA lists its target's pods every 15 s per HPA: with
//! 50 HPAs over 150,000 pods a scan was the run's largest cost.
//!
//! Pods' labels do not change once created here (controllers set them on the template), so a
//! pod is indexed when it is created and taken out when it is deleted.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::labels::{Interned, LabelSelector, Operator};
use crate::api::{Pod, PodId};

#[derive(Clone, Debug, Default)]
pub struct PodLabelIndex {
    by_namespace: BTreeMap<String, Postings>,
}

#[derive(Clone, Debug, Default)]
struct Postings {
    all: BTreeSet<PodId>,
    /// By label key, then value: nested rather than keyed by the pair so that a lookup borrows
    /// the selector's interned strings instead of copying them into a key.
    by_label: BTreeMap<Interned, BTreeMap<Interned, BTreeSet<PodId>>>,
}

impl PodLabelIndex {
    pub fn insert(&mut self, id: PodId, pod: &Pod) {
        // Looked up before inserting, so that a pod in a known namespace costs no String.
        if !self.by_namespace.contains_key(pod.namespace.as_str()) {
            self.by_namespace
                .insert(pod.namespace.clone(), Postings::default());
        }
        let Some(p) = self.by_namespace.get_mut(pod.namespace.as_str()) else {
            return;
        };
        p.all.insert(id);
        for (k, v) in pod.labels.iter_interned() {
            // Looked up before inserting, so that a label already indexed costs no new handle.
            let values = match p.by_label.get_mut(k) {
                Some(values) => values,
                None => p.by_label.entry(k.clone()).or_default(),
            };
            match values.get_mut(v) {
                Some(ids) => {
                    ids.insert(id);
                }
                None => {
                    values.insert(v.clone(), BTreeSet::from([id]));
                }
            }
        }
    }

    pub fn remove(&mut self, id: PodId, pod: &Pod) {
        let Some(p) = self.by_namespace.get_mut(pod.namespace.as_str()) else {
            return;
        };
        p.all.remove(&id);
        for (k, v) in pod.labels.iter_interned() {
            let Some(values) = p.by_label.get_mut(k) else {
                continue;
            };
            if let Some(ids) = values.get_mut(v) {
                ids.remove(&id);
                if ids.is_empty() {
                    values.remove(v);
                }
            }
            if values.is_empty() {
                p.by_label.remove(k);
            }
        }
        if p.all.is_empty() {
            self.by_namespace.remove(pod.namespace.as_str());
        }
    }

    /// Every indexed pod, namespace by namespace, in id order within each.
    pub fn all(&self) -> impl Iterator<Item = PodId> + '_ {
        self.by_namespace
            .values()
            .flat_map(|p| p.all.iter().copied())
    }

    /// Pods of `namespace` that may match `selector`, in id order: those carrying the label of
    /// its most selective `key = value` requirement (every pod of the namespace when it has
    /// none). A superset: callers still match the whole selector.
    pub fn candidates<'s>(
        &'s self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Iterator<Item = PodId> + 's {
        let postings = self.by_namespace.get(namespace);
        let narrowest = postings.and_then(|p| {
            selector
                .requirements
                .iter()
                .filter(|r| {
                    matches!(r.operator, Operator::Equals | Operator::In)
                        && r.value_ids().len() == 1
                })
                .map(|r| {
                    p.by_label
                        .get(r.key_id())
                        .and_then(|values| values.get(&r.value_ids()[0]))
                })
                .min_by_key(|ids| ids.map_or(0, BTreeSet::len))
        });
        // `Some(None)`: a required label no pod carries, so nothing matches.
        let set = match (postings, narrowest) {
            (None, _) => None,
            (Some(_), Some(ids)) => ids,
            (Some(p), None) => Some(&p.all),
        };
        set.into_iter().flatten().copied()
    }
}
