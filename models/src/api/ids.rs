//! Dense typed ids: objects live in `Vec`s indexed by these, never in hash maps.

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

typed_id!(
    /// Index of a node in the cluster store.
    NodeId
);
typed_id!(
    /// Index of a pod in the cluster store; pods are never reused, so ids stay unique per run.
    PodId
);
typed_id!(
    /// Index of a workload (ReplicaSet or Deployment) in the cluster store.
    WorkloadId
);

impl WorkloadId {
    /// An owner named in a manifest, not yet resolved by the API server.
    pub const UNRESOLVED: WorkloadId = WorkloadId(u32::MAX);
}
