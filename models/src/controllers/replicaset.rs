//! ReplicaSet controller (upstream `pkg/controller/replicaset/replica_set.go`): keeps the number
//! of active pods matching the selector equal to `spec.replicas`.

use std::cmp::Reverse;

use crate::api::{PodId, PodPhase, ReplicaSet};
use crate::store::Store;

/// Upstream `BurstReplicas`: at most this many creations or deletions per sync.
pub const BURST_REPLICAS: usize = 500;

#[derive(Clone, Debug)]
pub struct ReplicaSetState {
    pub rs: ReplicaSet,
    /// Active pods this ReplicaSet owns, in creation order.
    pub pods: Vec<PodId>,
}

/// What one sync decided; the world carries it out (creating pods needs names and events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaSetAction {
    Create(usize),
    Delete(Vec<PodId>),
    None,
}

impl ReplicaSetState {
    pub fn new(rs: ReplicaSet) -> Self {
        ReplicaSetState {
            rs,
            pods: Vec::new(),
        }
    }

    /// Upstream `manageReplicas`: create or delete the difference, at most a burst at a time.
    pub fn sync(&mut self, store: &Store) -> ReplicaSetAction {
        // Upstream `FilterActivePods`: a terminating pod (deletionTimestamp set) is replaced.
        self.pods
            .retain(|p| store.pod(*p).is_active() && store.pod(*p).deletion_timestamp.is_none());
        let want = usize::try_from(self.rs.replicas.max(0)).unwrap_or(0);
        let have = self.pods.len();
        if have < want {
            ReplicaSetAction::Create((want - have).min(BURST_REPLICAS))
        } else if have > want {
            let n = (have - want).min(BURST_REPLICAS);
            ReplicaSetAction::Delete(pods_to_delete(&self.pods, store, n))
        } else {
            ReplicaSetAction::None
        }
    }
}

/// Upstream `getPodsToDelete` ranks by `ActivePods` order and deletes the first: unassigned
/// before assigned, Pending before Running, then the most recently created first.
pub fn pods_to_delete(pods: &[PodId], store: &Store, n: usize) -> Vec<PodId> {
    let mut ranked: Vec<PodId> = pods.to_vec();
    ranked.sort_by_key(|p| {
        let r = store.pod(*p);
        (
            r.node.is_some(),
            r.phase == PodPhase::Running,
            Reverse(r.created_at),
            Reverse(*p),
        )
    });
    ranked.truncate(n);
    ranked
}
