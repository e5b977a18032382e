//! Upstream `pkg/controller/statefulset/stateful_set_utils.go` (and the claim checks of
//! `stateful_pod_control.go` built on it), as pure functions over small views of pods, claims
//! and owner references.
//!
//! Feature gates, as of Kubernetes 1.34 (`pkg/features/kube_features.go`):
//! - `StatefulSetStartOrdinal`: GA in 1.31 and removed, so `spec.ordinals.start` always applies.
//! - `StatefulSetAutoDeletePVC`: GA in 1.32, locked on: the retention policy always applies.
//! - `PodIndexLabel`: GA in 1.32, locked on: pods always get [`POD_INDEX_LABEL`].
//! - `MaxUnavailableStatefulSet`: alpha since 1.24, off by default in 1.34 (beta, on by
//!   default, only from 1.35); see [`super::control::FeatureGates`].

use std::cmp::Ordering;

use sim_core::{SimDuration, SimTime};

use crate::api::{IntOrPercent, PodPhase};

/// Upstream `apps.StatefulSetRevisionLabel` (= `ControllerRevisionHashLabelKey`): the revision a
/// pod was created from.
pub const STATEFUL_SET_REVISION_LABEL: &str = "controller-revision-hash";
/// Upstream `apps.StatefulSetPodNameLabel`, set by `updateIdentity` to the pod's name.
pub const STATEFUL_SET_POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Upstream `apps.PodIndexLabel`, set by `updateIdentity` to the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Upstream `MaxBatchSize`: the largest slow-start batch under `Parallel`.
pub const MAX_BATCH_SIZE: usize = 500;

/// `spec.podManagementPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodManagementPolicy {
    #[default]
    OrderedReady,
    Parallel,
}

/// Upstream `PersistentVolumeClaimRetentionPolicyType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetentionPolicyType {
    #[default]
    Retain,
    Delete,
}

/// `spec.persistentVolumeClaimRetentionPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub when_deleted: RetentionPolicyType,
    pub when_scaled: RetentionPolicyType,
}

/// Upstream `getPersistentVolumeClaimRetentionPolicy`: Retain/Retain when the set has none.
pub fn get_persistent_volume_claim_retention_policy(
    policy: Option<RetentionPolicy>,
) -> RetentionPolicy {
    policy.unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Names and ordinals
// ---------------------------------------------------------------------------------------------

/// Upstream `getParentNameAndOrdinal`: the regexp `(.*)-([0-9]+)$` on the pod's name; `("", -1)`
/// when it does not match, and ordinal -1 when the digits overflow `int32`
/// (`strconv.ParseInt(_, 10, 32)` fails) though the parent is still returned.
///
/// Go's `.` does not match a newline and its `$` is the end of the text, so the parent is what
/// lies between the last newline (if any) and the last `-`.
pub fn get_parent_name_and_ordinal(name: &str) -> (&str, i32) {
    let Some(dash) = name.rfind('-') else {
        return ("", -1);
    };
    let digits = &name[dash + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return ("", -1);
    }
    let start = name[..dash].rfind('\n').map_or(0, |nl| nl + 1);
    let parent = &name[start..dash];
    let ordinal = digits.parse::<i32>().unwrap_or(-1);
    (parent, ordinal)
}

/// Upstream `getParentName`.
pub fn get_parent_name(name: &str) -> &str {
    get_parent_name_and_ordinal(name).0
}

/// Upstream `getOrdinal`: -1 when the pod has none.
pub fn get_ordinal(name: &str) -> i32 {
    get_parent_name_and_ordinal(name).1
}

/// Upstream `getPodName`: `<set>-<ordinal>`.
pub fn get_pod_name(set_name: &str, ordinal: i32) -> String {
    format!("{set_name}-{ordinal}")
}

/// Upstream `getPersistentVolumeClaimName`: `<claim template>-<set>-<ordinal>`.
pub fn get_persistent_volume_claim_name(set_name: &str, claim_name: &str, ordinal: i32) -> String {
    format!("{claim_name}-{set_name}-{ordinal}")
}

/// Upstream test helper `getClaimPodName` (`stateful_set_utils_test.go`): the regexp
/// `.*-(<set>-[0-9]+)$` on the claim's name; `""` when it does not match. The set's name enters
/// the regexp unescaped, so a `.` in it matches any character but a newline, as upstream.
pub fn get_claim_pod_name(set_name: &str, claim_name: &str) -> String {
    let chars: Vec<char> = claim_name.chars().collect();
    let pattern: Vec<char> = set_name.chars().collect();
    let trailing_digits = chars
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    // The greedy `.*` leaves the shortest digit run that still matches.
    for k in 1..=trailing_digits {
        let digits_start = chars.len() - k;
        let Some(dash_after_set) = digits_start.checked_sub(1) else {
            continue;
        };
        let Some(set_start) = dash_after_set.checked_sub(pattern.len()) else {
            continue;
        };
        let Some(dash_before_set) = set_start.checked_sub(1) else {
            continue;
        };
        let set_matches = pattern
            .iter()
            .zip(&chars[set_start..dash_after_set])
            .all(|(p, c)| if *p == '.' { *c != '\n' } else { p == c });
        if chars[dash_after_set] == '-' && chars[dash_before_set] == '-' && set_matches {
            return chars[set_start..].iter().collect();
        }
    }
    String::new()
}

/// Upstream `isMemberOf`: the pod's parent (by name) is the set.
pub fn is_member_of(set_name: &str, pod_name: &str) -> bool {
    get_parent_name(pod_name) == set_name
}

/// Upstream `identityMatches`: the pod has a valid ordinal, the set's name as parent, the name
/// `getPodName` gives, the set's namespace, and [`STATEFUL_SET_POD_NAME_LABEL`] equal to its name.
pub fn identity_matches(
    set_name: &str,
    set_namespace: &str,
    pod_name: &str,
    pod_namespace: &str,
    pod_name_label: Option<&str>,
) -> bool {
    let (parent, ordinal) = get_parent_name_and_ordinal(pod_name);
    ordinal >= 0
        && parent == set_name
        && pod_name == get_pod_name(set_name, ordinal)
        && pod_namespace == set_namespace
        // A missing label reads as "" in Go, which never equals a valid pod name.
        && pod_name_label.unwrap_or("") == pod_name
}

/// A pod volume as `storageMatches` reads it: its name and, for a PVC volume, the claim's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodVolume {
    pub name: String,
    pub claim_name: Option<String>,
}

/// Upstream `storageMatches`: every claim template has a pod volume of its name that mounts the
/// claim `getPersistentVolumeClaimName` gives. Of duplicate volume names the last wins, as in
/// upstream's map.
pub fn storage_matches(
    set_name: &str,
    claim_templates: &[&str],
    pod_name: &str,
    volumes: &[PodVolume],
) -> bool {
    let ordinal = get_ordinal(pod_name);
    if ordinal < 0 {
        return false;
    }
    claim_templates.iter().all(|template| {
        volumes
            .iter()
            .rev()
            .find(|v| v.name == *template)
            .and_then(|v| v.claim_name.as_deref())
            .is_some_and(|claim| {
                claim == get_persistent_volume_claim_name(set_name, template, ordinal)
            })
    })
}

/// The labels upstream's `updateIdentity` puts on a pod (with `PodIndexLabel` locked on):
/// [`STATEFUL_SET_POD_NAME_LABEL`] and [`POD_INDEX_LABEL`], in that order.
pub fn identity_labels(set_name: &str, ordinal: i32) -> [(&'static str, String); 2] {
    [
        (STATEFUL_SET_POD_NAME_LABEL, get_pod_name(set_name, ordinal)),
        (POD_INDEX_LABEL, ordinal.to_string()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Ordinal range (spec.ordinals)
// ---------------------------------------------------------------------------------------------

/// Upstream `getStartOrdinal`: `spec.ordinals.start`, or 0 without `spec.ordinals`.
pub fn get_start_ordinal(ordinals_start: Option<i32>) -> i32 {
    ordinals_start.unwrap_or(0)
}

/// Upstream `getEndOrdinal`: the last ordinal of the range (inclusive), `start + replicas - 1`
/// (in `i64`, as Go's `int`, so no input overflows).
pub fn get_end_ordinal(start_ordinal: i32, replicas: i32) -> i64 {
    i64::from(start_ordinal) + i64::from(replicas) - 1
}

/// Upstream `podInOrdinalRange`: `start <= ordinal <= end`.
pub fn pod_in_ordinal_range(ordinal: i32, start_ordinal: i32, replicas: i32) -> bool {
    ordinal >= start_ordinal && i64::from(ordinal) <= get_end_ordinal(start_ordinal, replicas)
}

// ---------------------------------------------------------------------------------------------
// Pod state
// ---------------------------------------------------------------------------------------------

/// What the predicates read of a pod's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodState {
    /// `status.phase`; `None` is Go's `""` (a pod the API server has not yet stored).
    pub phase: Option<PodPhase>,
    /// The Ready condition is True.
    pub ready: bool,
    /// The Ready condition's `lastTransitionTime` (`None` is Go's zero time).
    pub ready_since: Option<SimTime>,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
}

/// Upstream `isRunningAndReady`: phase Running and Ready.
pub fn is_running_and_ready(pod: &PodState) -> bool {
    pod.phase == Some(PodPhase::Running) && pod.ready
}

/// Upstream `isRunningAndAvailable`, which is `podutil.IsPodAvailable(pod, minReadySeconds,
/// now)`: Ready, and either `minReadySeconds == 0` or Ready since a set time with
/// `lastTransitionTime + minReadySeconds` strictly before `now`. Despite its name it does not
/// look at the phase.
pub fn is_running_and_available(pod: &PodState, min_ready_seconds: i32, now: SimTime) -> bool {
    if !pod.ready {
        return false;
    }
    if min_ready_seconds == 0 {
        return true;
    }
    let Some(since) = pod.ready_since else {
        return false;
    };
    // i128 nanoseconds so a negative minReadySeconds (rejected by validation) cannot overflow.
    let offset = i128::from(min_ready_seconds) * 1_000_000_000;
    i128::from(since.as_nanos()) + offset < i128::from(now.as_nanos())
}

/// Upstream `isCreated`: the phase is set.
pub fn is_created(pod: &PodState) -> bool {
    pod.phase.is_some()
}

/// Upstream `isPending`.
pub fn is_pending(pod: &PodState) -> bool {
    pod.phase == Some(PodPhase::Pending)
}

/// Upstream `isFailed`.
pub fn is_failed(pod: &PodState) -> bool {
    pod.phase == Some(PodPhase::Failed)
}

/// Upstream `isSucceeded`.
pub fn is_succeeded(pod: &PodState) -> bool {
    pod.phase == Some(PodPhase::Succeeded)
}

/// Upstream `isTerminating`: the deletion timestamp is set.
pub fn is_terminating(pod: &PodState) -> bool {
    pod.terminating
}

/// Upstream `isHealthy`: running, ready and not terminating.
pub fn is_healthy(pod: &PodState) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

/// Upstream `isUnavailable` (added by kubernetes#130909; in the 1.34 source): not available for
/// `minReadySeconds`, or terminating.
pub fn is_unavailable(pod: &PodState, min_ready_seconds: i32, now: SimTime) -> bool {
    !is_running_and_available(pod, min_ready_seconds, now) || is_terminating(pod)
}

/// Upstream `allowsBurst`: the `Parallel` pod management policy.
pub fn allows_burst(policy: PodManagementPolicy) -> bool {
    policy == PodManagementPolicy::Parallel
}

/// Upstream `ascendingOrdinal.Less` on pod names: pods without an ordinal (-1) come first.
pub fn cmp_ascending_ordinal(a: &str, b: &str) -> Ordering {
    get_ordinal(a).cmp(&get_ordinal(b))
}

/// Upstream `descendingOrdinal.Less` on pod names: pods without an ordinal (-1) come last.
pub fn cmp_descending_ordinal(a: &str, b: &str) -> Ordering {
    get_ordinal(b).cmp(&get_ordinal(a))
}

/// Upstream `getStatefulSetMaxUnavailable`: `maxUnavailable` (default 1) scaled against the
/// replica count rounding down, and at least 1.
pub fn get_stateful_set_max_unavailable(
    max_unavailable: Option<IntOrPercent>,
    replica_count: i32,
) -> i32 {
    max_unavailable
        .unwrap_or(IntOrPercent::Int(1))
        .scaled_value(replica_count, false)
        .max(1)
}

/// The `RequeueAfter` upstream's `syncStatefulSet` (`stateful_set.go`) asks for after a sync:
/// `minReadySeconds` when it is positive and not every replica is available yet.
pub fn requeue_after_for_min_ready_seconds(
    min_ready_seconds: i32,
    available_replicas: i32,
    spec_replicas: i32,
) -> Option<SimDuration> {
    let secs = u64::try_from(min_ready_seconds).ok().filter(|s| *s > 0)?;
    (available_replicas != spec_replicas).then(|| SimDuration::from_secs(secs))
}

// ---------------------------------------------------------------------------------------------
// PVC retention: owner references on the claims
// ---------------------------------------------------------------------------------------------

/// An owner reference on a claim (`metav1.OwnerReference`), in upstream's strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimOwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    /// `controller`; `None` is the unset pointer.
    pub controller: Option<bool>,
}

/// The group-version-kind an owner reference is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerKind {
    pub api_version: &'static str,
    pub kind: &'static str,
}

/// Upstream `controllerKind`: `apps/v1` `StatefulSet`.
pub const CONTROLLER_KIND: OwnerKind = OwnerKind {
    api_version: "apps/v1",
    kind: "StatefulSet",
};
/// Upstream `podKind`: `v1` `Pod`.
pub const POD_KIND: OwnerKind = OwnerKind {
    api_version: "v1",
    kind: "Pod",
};

/// A possible owner: the set or a pod, by name and UID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner<'a> {
    pub name: &'a str,
    pub uid: &'a str,
}

/// The set as the retention decisions see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimSet<'a> {
    pub owner: Owner<'a>,
    pub policy: Option<RetentionPolicy>,
    pub start_ordinal: i32,
    pub replicas: i32,
}

impl ClaimSet<'_> {
    /// Whether `pod` lies outside the ordinal range, i.e. is being scaled away
    /// (upstream `!podInOrdinalRange(pod, set)`).
    fn scaled_down(&self, pod: &Owner<'_>) -> bool {
        !pod_in_ordinal_range(get_ordinal(pod.name), self.start_ordinal, self.replicas)
    }
}

/// Upstream `matchesRef`: same API version, kind and name (the UID is not compared).
pub fn matches_ref(r: &ClaimOwnerRef, name: &str, kind: OwnerKind) -> bool {
    r.api_version == kind.api_version && r.kind == kind.kind && r.name == name
}

/// Upstream `hasOwnerRef`: some reference has the owner's UID (controller or not).
pub fn has_owner_ref(refs: &[ClaimOwnerRef], owner: &Owner<'_>) -> bool {
    refs.iter().any(|r| r.uid == owner.uid)
}

/// Upstream `hasStaleOwnerRef`: the first reference that matches the owner by kind and name has
/// another UID.
pub fn has_stale_owner_ref(refs: &[ClaimOwnerRef], owner: &Owner<'_>, kind: OwnerKind) -> bool {
    refs.iter()
        .find(|r| matches_ref(r, owner.name, kind))
        .is_some_and(|r| r.uid != owner.uid)
}

fn is_retain_retain(policy: RetentionPolicy) -> bool {
    policy.when_scaled == RetentionPolicyType::Retain
        && policy.when_deleted == RetentionPolicyType::Retain
}

/// Upstream `hasUnexpectedController`: under any policy but Retain/Retain, a reference to the
/// set or the pod with a stale UID, or a controller reference to anything else.
pub fn has_unexpected_controller(
    refs: &[ClaimOwnerRef],
    set: &ClaimSet<'_>,
    pod: &Owner<'_>,
) -> bool {
    let policy = get_persistent_volume_claim_retention_policy(set.policy);
    if is_retain_retain(policy) {
        return false;
    }
    refs.iter().any(|r| {
        if matches_ref(r, set.owner.name, CONTROLLER_KIND) {
            return r.uid != set.owner.uid;
        }
        if matches_ref(r, pod.name, POD_KIND) {
            return r.uid != pod.uid;
        }
        r.controller == Some(true)
    })
}

/// Upstream `hasNonControllerOwner`: the set or the pod (by UID) owns the claim without being
/// its controller.
pub fn has_non_controller_owner(refs: &[ClaimOwnerRef], set: &Owner<'_>, pod: &Owner<'_>) -> bool {
    refs.iter()
        .any(|r| (r.uid == set.uid || r.uid == pod.uid) && r.controller != Some(true))
}

/// Which of the set and the pod should own (as controller) a claim under the retention policy:
/// the decision behind `isClaimOwnerUpToDate` and `updateClaimOwnerRefForSetAndPod`. A claim
/// owned by the set is deleted with the set; one owned by the pod is deleted with the pod,
/// i.e. when the pod is scaled away.
///
/// | whenScaled | whenDeleted | pod in range | pod scaled down |
/// |---|---|---|---|
/// | Retain | Retain | none | none |
/// | Retain | Delete | set | set |
/// | Delete | Retain | none | pod |
/// | Delete | Delete | set | pod |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimOwnership {
    pub set_owns: bool,
    pub pod_owns: bool,
}

/// See [`ClaimOwnership`].
pub fn claim_ownership(policy: Option<RetentionPolicy>, pod_scaled_down: bool) -> ClaimOwnership {
    let policy = get_persistent_volume_claim_retention_policy(policy);
    let (set_owns, pod_owns) = match (policy.when_scaled, policy.when_deleted) {
        (RetentionPolicyType::Retain, RetentionPolicyType::Retain) => (false, false),
        (RetentionPolicyType::Retain, RetentionPolicyType::Delete) => (true, false),
        (RetentionPolicyType::Delete, RetentionPolicyType::Retain) => (false, pod_scaled_down),
        (RetentionPolicyType::Delete, RetentionPolicyType::Delete) => {
            (!pod_scaled_down, pod_scaled_down)
        }
    };
    ClaimOwnership { set_owns, pod_owns }
}

/// Upstream `isClaimOwnerUpToDate` (the successor of `claimOwnerMatchesSetAndPod`): true when
/// the claim's owner references agree with the retention policy, and also when the claim must
/// not be touched (a stale reference left by an earlier set or pod of the same name, or another
/// controller with no reference to ours to clean up).
pub fn is_claim_owner_up_to_date(
    refs: &[ClaimOwnerRef],
    set: &ClaimSet<'_>,
    pod: &Owner<'_>,
) -> bool {
    if has_stale_owner_ref(refs, &set.owner, CONTROLLER_KIND)
        || has_stale_owner_ref(refs, pod, POD_KIND)
    {
        return true;
    }
    if has_unexpected_controller(refs, set, pod) {
        // Our references must go; otherwise leave the other controller alone.
        return !(has_owner_ref(refs, &set.owner) || has_owner_ref(refs, pod));
    }
    if has_non_controller_owner(refs, &set.owner, pod) {
        return false;
    }
    let want = claim_ownership(set.policy, set.scaled_down(pod));
    has_owner_ref(refs, &set.owner) == want.set_owns && has_owner_ref(refs, pod) == want.pod_owns
}

/// Upstream `addControllerRef`: appends a controller reference to `owner` unless one with its
/// UID is already there.
pub fn add_controller_ref(refs: &mut Vec<ClaimOwnerRef>, owner: &Owner<'_>, kind: OwnerKind) {
    if refs.iter().any(|r| r.uid == owner.uid) {
        return;
    }
    refs.push(ClaimOwnerRef {
        api_version: kind.api_version.to_string(),
        kind: kind.kind.to_string(),
        name: owner.name.to_string(),
        uid: owner.uid.to_string(),
        controller: Some(true),
    });
}

/// Upstream `updateClaimOwnerRefForSetAndPod`: the claim's new owner references. Every
/// reference to the set or the pod (by kind and name) is dropped; unless another controller is
/// present, controller references are then added as [`claim_ownership`] says.
pub fn update_claim_owner_ref_for_set_and_pod(
    refs: &[ClaimOwnerRef],
    set: &ClaimSet<'_>,
    pod: &Owner<'_>,
) -> Vec<ClaimOwnerRef> {
    let unexpected_controller = has_unexpected_controller(refs, set, pod);
    let mut out: Vec<ClaimOwnerRef> = refs
        .iter()
        .filter(|r| {
            !matches_ref(r, set.owner.name, CONTROLLER_KIND) && !matches_ref(r, pod.name, POD_KIND)
        })
        .cloned()
        .collect();
    if unexpected_controller {
        return out;
    }
    let want = claim_ownership(set.policy, set.scaled_down(pod));
    if want.pod_owns {
        add_controller_ref(&mut out, pod, POD_KIND);
    }
    if want.set_owns {
        add_controller_ref(&mut out, &set.owner, CONTROLLER_KIND);
    }
    out
}

/// Upstream `StatefulPodControl.PodClaimIsStale`: under `whenScaled: Delete`, some existing
/// claim of the pod carries a stale reference to the pod (another UID, including a pod not yet
/// created, whose UID is empty). Such a claim blocks the pod's creation. `claims` holds the
/// owner references of each of the pod's claims that exists.
pub fn pod_claim_is_stale(
    policy: Option<RetentionPolicy>,
    claims: &[&[ClaimOwnerRef]],
    pod: &Owner<'_>,
) -> bool {
    let policy = get_persistent_volume_claim_retention_policy(policy);
    if policy.when_scaled == RetentionPolicyType::Retain {
        return false;
    }
    claims
        .iter()
        .any(|refs| has_stale_owner_ref(refs, pod, POD_KIND))
}

#[cfg(test)]
mod tests {
    // Upstream: pkg/controller/statefulset/stateful_set_utils_test.go.
    use super::*;

    fn r(
        api_version: &str,
        kind: &str,
        name: &str,
        uid: &str,
        controller: Option<bool>,
    ) -> ClaimOwnerRef {
        ClaimOwnerRef {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            uid: uid.to_string(),
            controller,
        }
    }

    fn policy(
        when_scaled: RetentionPolicyType,
        when_deleted: RetentionPolicyType,
    ) -> RetentionPolicy {
        RetentionPolicy {
            when_deleted,
            when_scaled,
        }
    }

    use RetentionPolicyType::{Delete, Retain};

    #[test]
    fn get_parent_name_and_ordinal_table() {
        // upstream TestGetParentNameAndOrdinal: newStatefulSetPod(set "foo", 1) parses as
        // ("foo", 1); "1-bar" has no parent and ordinal -1.
        assert_eq!(get_parent_name_and_ordinal("foo-1"), ("foo", 1));
        assert_eq!(get_parent_name_and_ordinal("1-bar"), ("", -1));
        // The regexp's own edges: the last dash wins, digits overflowing int32 give -1.
        assert_eq!(get_parent_name_and_ordinal("a-b-12"), ("a-b", 12));
        assert_eq!(get_parent_name_and_ordinal("web-"), ("", -1));
        assert_eq!(get_parent_name_and_ordinal("-3"), ("", 3));
        assert_eq!(get_parent_name_and_ordinal("web-99999999999"), ("web", -1));
        assert_eq!(get_parent_name_and_ordinal("x\nweb-2"), ("web", 2));
        assert_eq!(get_parent_name_and_ordinal("web-2\n"), ("", -1));
    }

    #[test]
    fn get_claim_pod_name_table() {
        // upstream TestGetClaimPodName
        assert_eq!(get_claim_pod_name("my-set", "volume-my-set-2"), "my-set-2");
        assert_eq!(
            get_claim_pod_name("my-set", "long-volume-my-set-20"),
            "my-set-20"
        );
        assert_eq!(get_claim_pod_name("my-set", "volume-2-my-set"), "");
        assert_eq!(get_claim_pod_name("my-set", "volume-pod-2"), "");
    }

    #[test]
    fn names() {
        // upstream getPodName / getPersistentVolumeClaimName formats, as used by
        // TestGetPersistentVolumeClaims ("datadir-foo-0" for template datadir, set foo, pod 0).
        assert_eq!(get_pod_name("foo", 0), "foo-0");
        assert_eq!(
            get_persistent_volume_claim_name("foo", "datadir", 0),
            "datadir-foo-0"
        );
        assert_eq!(
            identity_labels("foo", 3),
            [
                (STATEFUL_SET_POD_NAME_LABEL, "foo-3".to_string()),
                (POD_INDEX_LABEL, "3".to_string())
            ]
        );
    }

    #[test]
    fn is_member_of_table() {
        // upstream TestIsMemberOf: pod 1 of "foo" is a member of foo, not of foo2.
        assert!(is_member_of("foo", "foo-1"));
        assert!(!is_member_of("foo2", "foo-1"));
    }

    #[test]
    fn identity_matches_table() {
        // upstream TestIdentityMatches: set foo in "default", pod foo-1.
        assert!(identity_matches(
            "foo",
            "default",
            "foo-1",
            "default",
            Some("foo-1")
        ));
        // wrong name
        assert!(!identity_matches(
            "foo",
            "default",
            "foo",
            "default",
            Some("foo-1")
        ));
        // wrong namespace
        assert!(!identity_matches(
            "foo",
            "default",
            "foo-1",
            "",
            Some("foo-1")
        ));
        // missing statefulSetPodNameLabel
        assert!(!identity_matches(
            "foo", "default", "foo-1", "default", None
        ));
    }

    #[test]
    fn storage_matches_table() {
        // upstream TestStorageMatches: set foo with claim template "datadir"; pod foo-1 also
        // mounts a host-path volume "home".
        let good = vec![
            PodVolume {
                name: "datadir".into(),
                claim_name: Some("datadir-foo-1".into()),
            },
            PodVolume {
                name: "home".into(),
                claim_name: None,
            },
        ];
        assert!(storage_matches("foo", &["datadir"], "foo-1", &good));
        // Volumes nil
        assert!(!storage_matches("foo", &["datadir"], "foo-1", &[]));
        // PersistentVolumeClaim nil
        let no_claim: Vec<PodVolume> = good
            .iter()
            .map(|v| PodVolume {
                name: v.name.clone(),
                claim_name: None,
            })
            .collect();
        assert!(!storage_matches("foo", &["datadir"], "foo-1", &no_claim));
        // ClaimName "foo"
        let wrong: Vec<PodVolume> = good
            .iter()
            .map(|v| PodVolume {
                name: v.name.clone(),
                claim_name: v.claim_name.as_ref().map(|_| "foo".to_string()),
            })
            .collect();
        assert!(!storage_matches("foo", &["datadir"], "foo-1", &wrong));
        // invalid ordinal: pod named "bar"
        assert!(!storage_matches("foo", &["datadir"], "bar", &good));
    }

    #[test]
    fn get_persistent_volume_claim_retention_policy_table() {
        // upstream TestGetPersistentVolumeClaimRetentionPolicy
        let retain = policy(Retain, Retain);
        let scaledown = policy(Delete, Retain);
        assert_eq!(
            get_persistent_volume_claim_retention_policy(Some(retain)),
            retain
        );
        assert_eq!(
            get_persistent_volume_claim_retention_policy(Some(scaledown)),
            scaledown
        );
        assert_eq!(get_persistent_volume_claim_retention_policy(None), retain);
    }

    #[test]
    fn matches_ref_table() {
        // upstream TestMatchesRef (schema podKind)
        let cases = [
            (
                "full match",
                r("v1", "Pod", "fred", "abc", None),
                "fred",
                true,
            ),
            (
                "match without UID",
                r("v1", "Pod", "fred", "abc", None),
                "fred",
                true,
            ),
            (
                "mismatch name",
                r("v1", "Pod", "fred", "abc", None),
                "joan",
                false,
            ),
            (
                "wrong schema",
                r("beta2", "Pod", "fred", "abc", None),
                "fred",
                false,
            ),
        ];
        for (name, reference, obj, want) in cases {
            assert_eq!(matches_ref(&reference, obj, POD_KIND), want, "{name}");
        }
    }

    #[test]
    fn is_claim_owner_up_to_date_table() {
        // upstream TestIsClaimOwnerUpToDate: (name, scaleDownPolicy, setDeletePolicy,
        // needsPodRef, needsSetRef, replicas, ordinal); pod "pod-<ordinal>" uid pod-123, set
        // "stateful-set" uid ss-456; every combination of pod ref, set ref and two other
        // (non-controller) pod refs.
        let cases = [
            ("retain", Retain, Retain, false, false, 0, 0),
            ("on SS delete", Retain, Delete, false, true, 0, 0),
            (
                "on scaledown only, condemned",
                Delete,
                Retain,
                true,
                false,
                2,
                2,
            ),
            (
                "on scaledown only, remains",
                Delete,
                Retain,
                false,
                false,
                2,
                1,
            ),
            ("on both, condemned", Delete, Delete, true, false, 2, 2),
            ("on both, remains", Delete, Delete, false, true, 2, 1),
        ];
        for (name, scaled, deleted, needs_pod, needs_set, replicas, ordinal) in cases {
            let pod_name = format!("pod-{ordinal}");
            let pod = Owner {
                name: &pod_name,
                uid: "pod-123",
            };
            let set = ClaimSet {
                owner: Owner {
                    name: "stateful-set",
                    uid: "ss-456",
                },
                policy: Some(policy(scaled, deleted)),
                start_ordinal: 0,
                replicas,
            };
            for use_other_refs in [false, true] {
                for set_pod_ref in [false, true] {
                    for set_set_ref in [false, true] {
                        let mut refs = Vec::new();
                        if set_pod_ref {
                            add_controller_ref(&mut refs, &pod, POD_KIND);
                        }
                        if set_set_ref {
                            add_controller_ref(&mut refs, &set.owner, CONTROLLER_KIND);
                        }
                        if use_other_refs {
                            refs.push(r("v1", "Pod", "rand1", "rand1-uid", None));
                            refs.push(r("v1", "Pod", "rand2", "rand2-uid", None));
                        }
                        let should_match = set_pod_ref == needs_pod && set_set_ref == needs_set;
                        assert_eq!(
                            is_claim_owner_up_to_date(&refs, &set, &pod),
                            should_match,
                            "{name} pod={set_pod_ref} set={set_set_ref} others={use_other_refs}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn claim_owner_up_to_date_edge_cases() {
        // upstream TestClaimOwnerUpToDateEdgeCases: pod "pod-1" uid pod-123, set "stateful-set"
        // uid ss-456, replicas 1.
        let dd = policy(Delete, Delete);
        let rd = policy(Retain, Delete);
        let cases = [
            (
                "normal controller, pod",
                vec![r("v1", "Pod", "pod-1", "pod-123", Some(true))],
                dd,
                true,
            ),
            (
                "non-controller causes policy mismatch, pod",
                vec![r("v1", "Pod", "pod-1", "pod-123", None)],
                dd,
                false,
            ),
            (
                "stale controller does not affect policy, pod",
                vec![r("v1", "Pod", "pod-1", "pod-stale", Some(true))],
                dd,
                true,
            ),
            (
                "unexpected controller causes policy mismatch, pod",
                vec![
                    r("v1", "Pod", "pod-1", "pod-123", Some(true)),
                    r("v1", "Pod", "Random", "random", Some(true)),
                ],
                dd,
                false,
            ),
            (
                "normal controller, set",
                vec![r(
                    "apps/v1",
                    "StatefulSet",
                    "stateful-set",
                    "ss-456",
                    Some(true),
                )],
                rd,
                true,
            ),
            (
                "non-controller causes policy mismatch, set",
                vec![r("appsv1", "StatefulSet", "stateful-set", "ss-456", None)],
                rd,
                false,
            ),
            (
                "stale controller ignored, set",
                vec![r(
                    "apps/v1",
                    "StatefulSet",
                    "stateful-set",
                    "set-stale",
                    Some(true),
                )],
                rd,
                true,
            ),
            (
                "unexpected controller causes policy mismatch, set",
                vec![
                    r(
                        "apps/v1",
                        "StatefulSet",
                        "stateful-set",
                        "ss-456",
                        Some(true),
                    ),
                    r("apps/v1", "StatefulSet", "Random", "random", Some(true)),
                ],
                rd,
                false,
            ),
        ];
        let pod = Owner {
            name: "pod-1",
            uid: "pod-123",
        };
        for (name, refs, p, want) in cases {
            let set = ClaimSet {
                owner: Owner {
                    name: "stateful-set",
                    uid: "ss-456",
                },
                policy: Some(p),
                start_ordinal: 0,
                replicas: 1,
            };
            assert_eq!(is_claim_owner_up_to_date(&refs, &set, &pod), want, "{name}");
        }
    }

    #[test]
    fn update_claim_owner_ref_for_set_and_pod_table() {
        // upstream TestUpdateClaimOwnerRefForSetAndPod: (name, scaleDownPolicy, setDeletePolicy,
        // condemned, needsPodRef, needsSetRef, unexpectedController); set "ss" uid ss-123 with 5
        // replicas; pod "pod-8" when condemned, else "pod-1", uid pod-456.
        let cases = [
            ("retain", Retain, Retain, false, false, false, false),
            ("delete with set", Retain, Delete, false, false, true, false),
            (
                "delete with scaledown, not condemned",
                Delete,
                Retain,
                false,
                false,
                false,
                false,
            ),
            (
                "delete on scaledown, condemned",
                Delete,
                Retain,
                true,
                true,
                false,
                false,
            ),
            (
                "delete on both, not condemned",
                Delete,
                Delete,
                false,
                false,
                true,
                false,
            ),
            (
                "delete on both, condemned",
                Delete,
                Delete,
                true,
                true,
                false,
                false,
            ),
            (
                "unexpected controller",
                Delete,
                Delete,
                true,
                false,
                false,
                true,
            ),
        ];
        for (name, scaled, deleted, condemned, needs_pod, needs_set, unexpected) in cases {
            let set = ClaimSet {
                owner: Owner {
                    name: "ss",
                    uid: "ss-123",
                },
                policy: Some(policy(scaled, deleted)),
                start_ordinal: 0,
                replicas: 5,
            };
            let pod = Owner {
                name: if condemned { "pod-8" } else { "pod-1" },
                uid: "pod-456",
            };
            for variations in 0..8 {
                let has_pod_ref = variations & 1 != 0;
                let has_set_ref = variations & 2 != 0;
                let extra_owner = variations & 3 != 0;
                let mut refs = Vec::new();
                if has_pod_ref {
                    add_controller_ref(&mut refs, &pod, POD_KIND);
                }
                if has_set_ref {
                    add_controller_ref(&mut refs, &set.owner, CONTROLLER_KIND);
                }
                if extra_owner {
                    refs.push(r("custom/v1", "random", "random", "abc", None));
                }
                if unexpected {
                    refs.push(r("custom/v1", "Unknown", "unknown", "xyz", Some(true)));
                }
                let out = update_claim_owner_ref_for_set_and_pod(&refs, &set, &pod);
                let check = |owner: &Owner<'_>| {
                    out.iter()
                        .find(|x| x.uid == owner.uid)
                        .is_some_and(|x| x.controller == Some(true))
                };
                assert_eq!(
                    check(&pod),
                    needs_pod,
                    "{name} pod={has_pod_ref} set={has_set_ref}"
                );
                assert_eq!(
                    check(&set.owner),
                    needs_set,
                    "{name} pod={has_pod_ref} set={has_set_ref}"
                );
            }
        }
    }

    /// Upstream test helper `ownerRefsChanged`: the same (apiVersion, kind, name) multiset.
    fn owner_refs_changed(a: &[ClaimOwnerRef], b: &[ClaimOwnerRef]) -> bool {
        let key = |x: &ClaimOwnerRef| (x.api_version.clone(), x.kind.clone(), x.name.clone());
        let mut ka: Vec<_> = a.iter().map(key).collect();
        let mut kb: Vec<_> = b.iter().map(key).collect();
        ka.sort();
        kb.sort();
        ka != kb
    }

    #[test]
    fn update_claim_controller_ref_table() {
        // upstream TestUpdateClaimControllerRef: set "sts" uid 123, Delete/Delete, replicas 1;
        // pod "pod-0" uid 456.
        let sts = |uid: &str, controller| r("apps/v1", "StatefulSet", "sts", uid, controller);
        let cases = [
            (
                "set correctly",
                vec![
                    sts("123", Some(true)),
                    r("someone", "Else", "foo", "", None),
                ],
                vec![
                    sts("123", Some(true)),
                    r("someone", "Else", "foo", "", None),
                ],
            ),
            (
                "missing controller",
                vec![sts("123", None)],
                vec![sts("123", Some(true))],
            ),
            (
                "matching name but missing",
                vec![r("someone", "else", "sts", "456", None)],
                vec![
                    r("someone", "else", "sts", "456", None),
                    sts("123", Some(true)),
                ],
            ),
            ("not present", vec![], vec![sts("123", Some(true))]),
            ("controller, but no UID", vec![sts("", Some(true))], vec![]),
            ("neither controller nor UID", vec![sts("", None)], vec![]),
        ];
        let set = ClaimSet {
            owner: Owner {
                name: "sts",
                uid: "123",
            },
            policy: Some(policy(Delete, Delete)),
            start_ordinal: 0,
            replicas: 1,
        };
        let pod = Owner {
            name: "pod-0",
            uid: "456",
        };
        for (name, original, expected) in cases {
            let out = update_claim_owner_ref_for_set_and_pod(&original, &set, &pod);
            assert!(!owner_refs_changed(&expected, &out), "{name}: {out:?}");
        }
    }

    #[test]
    fn has_owner_ref_table() {
        // upstream TestHasOwnerRef
        let refs = [
            r("", "", "", "123", Some(true)),
            r("", "", "", "456", Some(false)),
            r("", "", "", "789", None),
        ];
        for (uid, want) in [("123", true), ("456", true), ("789", true), ("012", false)] {
            assert_eq!(
                has_owner_ref(&refs, &Owner { name: "", uid }),
                want,
                "{uid}"
            );
        }
    }

    #[test]
    fn has_unexpected_controller_table() {
        // upstream TestHasUnexpectedController: set "set" uid set-uid, pod "pod" uid pod-uid.
        let cases = [
            (
                "custom controller",
                vec![r(
                    "chipmunks/v1",
                    "CustomController",
                    "simon",
                    "other-uid",
                    Some(true),
                )],
                true,
            ),
            (
                "custom non-controller",
                vec![r(
                    "chipmunks/v1",
                    "CustomController",
                    "simon",
                    "other-uid",
                    Some(false),
                )],
                false,
            ),
            (
                "custom unspecified controller",
                vec![r(
                    "chipmunks/v1",
                    "CustomController",
                    "simon",
                    "other-uid",
                    None,
                )],
                false,
            ),
            (
                "other pod controller",
                vec![r("v1", "Pod", "simon", "other-uid", Some(true))],
                true,
            ),
            (
                "other set controller",
                vec![r("apps/v1", "Set", "simon", "other-uid", Some(true))],
                true,
            ),
            (
                "own set controller",
                vec![r("apps/v1", "StatefulSet", "set", "set-uid", Some(true))],
                false,
            ),
            (
                "own set controller, stale uid",
                vec![r("apps/v1", "StatefulSet", "set", "stale-uid", Some(true))],
                true,
            ),
            (
                "own pod controller",
                vec![r("v1", "Pod", "pod", "pod-uid", Some(true))],
                false,
            ),
            (
                "own pod controller, stale uid",
                vec![r("v1", "Pod", "pod", "stale-uid", Some(true))],
                true,
            ),
            (
                "own controller and another",
                vec![
                    r("v1", "Pod", "pod", "pod-uid", Some(true)),
                    r(
                        "chipmunks/v1",
                        "CustomController",
                        "simon",
                        "other-uid",
                        Some(true),
                    ),
                ],
                true,
            ),
            (
                "own controller and a non-controller",
                vec![
                    r("v1", "Pod", "pod", "pod-uid", Some(true)),
                    r(
                        "chipmunks/v1",
                        "CustomController",
                        "simon",
                        "other-uid",
                        Some(false),
                    ),
                ],
                false,
            ),
        ];
        let pod = Owner {
            name: "pod",
            uid: "pod-uid",
        };
        for (name, refs, want) in cases {
            let mut set = ClaimSet {
                owner: Owner {
                    name: "set",
                    uid: "set-uid",
                },
                policy: None,
                start_ordinal: 0,
                replicas: 0,
            };
            assert!(
                !has_unexpected_controller(&refs, &set, &pod),
                "{name} (no policy)"
            );
            for p in [
                policy(Delete, Retain),
                policy(Retain, Delete),
                policy(Delete, Delete),
            ] {
                set.policy = Some(p);
                assert_eq!(
                    has_unexpected_controller(&refs, &set, &pod),
                    want,
                    "{name} {p:?}"
                );
            }
        }
    }

    #[test]
    fn non_controller_table() {
        // upstream TestNonController: set uid "set", pod uid "pod".
        let cases = [
            (
                "set and pod controller",
                vec![
                    r("v1", "Pod", "pod", "pod", Some(true)),
                    r("apps/v1", "Set", "set", "set", Some(true)),
                ],
                false,
            ),
            (
                "set controller, pod noncontroller",
                vec![
                    r("v1", "Pod", "pod", "pod", None),
                    r("apps/v1", "Set", "set", "set", Some(true)),
                ],
                true,
            ),
            (
                "set noncontroller, pod controller",
                vec![
                    r("v1", "Pod", "pod", "pod", Some(true)),
                    r("apps/v1", "Set", "set", "set", None),
                ],
                true,
            ),
            (
                "set controller",
                vec![r("apps/v1", "Set", "set", "set", Some(true))],
                false,
            ),
            (
                "pod controller",
                vec![r("v1", "Pod", "pod", "pod", Some(true))],
                false,
            ),
            ("nothing", vec![], false),
            (
                "set noncontroller",
                vec![r("apps/v1", "Set", "set", "set", None)],
                true,
            ),
            (
                "set noncontroller with ptr",
                vec![r("apps/v1", "Set", "set", "set", Some(false))],
                true,
            ),
            (
                "pod noncontroller",
                vec![r("v1", "pod", "pod", "pod", None)],
                true,
            ),
            (
                "other noncontroller",
                vec![r("v1", "pod", "pod", "not-matching", None)],
                false,
            ),
        ];
        let set = Owner {
            name: "set",
            uid: "set",
        };
        let pod = Owner {
            name: "pod",
            uid: "pod",
        };
        for (name, refs, want) in cases {
            assert_eq!(has_non_controller_owner(&refs, &set, &pod), want, "{name}");
        }
    }

    #[test]
    fn has_stale_owner_ref_table() {
        // upstream TestHasStaleOwnerRef
        let refs = [
            r("v1", "Pod", "bob", "123", None),
            r("v1", "Pod", "shirley", "456", None),
        ];
        assert!(!has_stale_owner_ref(
            &refs,
            &Owner {
                name: "bob",
                uid: "123"
            },
            POD_KIND
        ));
        assert!(has_stale_owner_ref(
            &refs,
            &Owner {
                name: "shirley",
                uid: "789"
            },
            POD_KIND
        ));
        assert!(!has_stale_owner_ref(
            &refs,
            &Owner {
                name: "yvonne",
                uid: "345"
            },
            POD_KIND
        ));
    }

    #[test]
    fn pod_claim_is_stale_follows_when_scaled() {
        // upstream PodClaimIsStale: Retain on scale-down never blocks; Delete blocks on a claim
        // whose pod reference has another UID (a pod not yet created has none).
        let stale = [r("v1", "Pod", "foo-0", "old-uid", Some(true))];
        let pod = Owner {
            name: "foo-0",
            uid: "",
        };
        let claims: [&[ClaimOwnerRef]; 1] = [&stale];
        assert!(!pod_claim_is_stale(None, &claims, &pod));
        assert!(!pod_claim_is_stale(
            Some(policy(Retain, Delete)),
            &claims,
            &pod
        ));
        assert!(pod_claim_is_stale(
            Some(policy(Delete, Retain)),
            &claims,
            &pod
        ));
        assert!(!pod_claim_is_stale(Some(policy(Delete, Retain)), &[], &pod));
    }

    #[test]
    fn is_running_and_ready_table() {
        // upstream TestIsRunningAndReady: a new pod (no phase) is not; Running without the
        // condition is not; Running and Ready is.
        let mut pod = PodState::default();
        assert!(!is_running_and_ready(&pod));
        pod.phase = Some(PodPhase::Running);
        assert!(!is_running_and_ready(&pod));
        pod.ready = true;
        assert!(is_running_and_ready(&pod));
        assert!(is_healthy(&pod));
        pod.terminating = true;
        assert!(!is_healthy(&pod));
    }

    #[test]
    fn is_running_and_available_table() {
        // upstream TestStatefulSetAvailability (stateful_set_control_test.go): minReadySeconds
        // 3600, Ready since 120 minutes ago is available, since 30 minutes ago is not; and
        // podutil.IsPodAvailable's zero cases.
        let now = SimTime::from_nanos(10 * 3600 * 1_000_000_000);
        let ready_since = |mins: u64| PodState {
            phase: Some(PodPhase::Running),
            ready: true,
            ready_since: Some(SimTime::from_nanos(
                now.as_nanos() - mins * 60 * 1_000_000_000,
            )),
            terminating: false,
        };
        assert!(is_running_and_available(&ready_since(120), 3600, now));
        assert!(!is_running_and_available(&ready_since(30), 3600, now));
        // exactly minReadySeconds ago: upstream requires "Before", so not yet
        assert!(!is_running_and_available(&ready_since(60), 3600, now));
        assert!(is_running_and_available(&ready_since(0), 0, now));
        let not_ready = PodState {
            ready: false,
            ..ready_since(120)
        };
        assert!(!is_running_and_available(&not_ready, 0, now));
        let zero_time = PodState {
            ready_since: None,
            ..ready_since(120)
        };
        assert!(!is_running_and_available(&zero_time, 10, now));
        assert!(is_unavailable(&ready_since(30), 3600, now));
        let terminating = PodState {
            terminating: true,
            ..ready_since(120)
        };
        assert!(is_unavailable(&terminating, 3600, now));
    }

    #[test]
    fn phase_predicates() {
        // upstream isCreated / isPending / isFailed / isSucceeded
        let with = |phase| PodState {
            phase,
            ..PodState::default()
        };
        assert!(!is_created(&with(None)));
        assert!(is_created(&with(Some(PodPhase::Pending))));
        assert!(is_pending(&with(Some(PodPhase::Pending))));
        assert!(is_failed(&with(Some(PodPhase::Failed))));
        assert!(is_succeeded(&with(Some(PodPhase::Succeeded))));
        assert!(!is_failed(&with(Some(PodPhase::Succeeded))));
        assert!(allows_burst(PodManagementPolicy::Parallel));
        assert!(!allows_burst(PodManagementPolicy::OrderedReady));
    }

    #[test]
    fn ordinal_range() {
        // upstream getStartOrdinal / getEndOrdinal / podInOrdinalRange, as TestStatefulSetControl
        // WithStartOrdinal uses them (start 2, 3 replicas: ordinals 2, 3, 4).
        assert_eq!(get_start_ordinal(None), 0);
        assert_eq!(get_start_ordinal(Some(2)), 2);
        assert_eq!(get_end_ordinal(2, 3), 4);
        assert!(!pod_in_ordinal_range(1, 2, 3));
        assert!(pod_in_ordinal_range(2, 2, 3));
        assert!(pod_in_ordinal_range(4, 2, 3));
        assert!(!pod_in_ordinal_range(5, 2, 3));
        assert!(!pod_in_ordinal_range(0, 0, 0));
        assert!(!pod_in_ordinal_range(-1, 0, 3));
    }

    #[test]
    fn ascending_and_descending_ordinal() {
        // upstream TestAscendingOrdinal: sorting puts ordinals in order; -1 first (ascending)
        // or last (descending).
        let mut names = vec!["foo-3", "foo-10", "bar", "foo-0", "foo-2"];
        names.sort_by(|a, b| cmp_ascending_ordinal(a, b));
        assert_eq!(names, ["bar", "foo-0", "foo-2", "foo-3", "foo-10"]);
        names.sort_by(|a, b| cmp_descending_ordinal(a, b));
        assert_eq!(names, ["foo-10", "foo-3", "foo-2", "foo-0", "bar"]);
    }

    #[test]
    fn get_stateful_set_max_unavailable_table() {
        // upstream TestGetStatefulSetMaxUnavailable
        let cases = [
            (None, 10, 1),
            (Some(IntOrPercent::Int(3)), 10, 3),
            (Some(IntOrPercent::Int(3)), 0, 3),
            (Some(IntOrPercent::Int(0)), 0, 1),
            (Some(IntOrPercent::Percent(10)), 25, 2),
            (Some(IntOrPercent::Percent(100)), 5, 5),
            (Some(IntOrPercent::Percent(50)), 5, 2),
            (Some(IntOrPercent::Percent(10)), 5, 1),
            (Some(IntOrPercent::Percent(1)), 0, 1),
            (Some(IntOrPercent::Percent(0)), 0, 1),
        ];
        for (i, (max_unavailable, replicas, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                get_stateful_set_max_unavailable(max_unavailable, replicas),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn requeue_after_min_ready_seconds() {
        // upstream syncStatefulSet: requeue after minReadySeconds while not all are available.
        assert_eq!(
            requeue_after_for_min_ready_seconds(10, 2, 3),
            Some(SimDuration::from_secs(10))
        );
        assert_eq!(requeue_after_for_min_ready_seconds(10, 3, 3), None);
        assert_eq!(requeue_after_for_min_ready_seconds(0, 0, 3), None);
    }

    #[test]
    fn claim_ownership_table() {
        // The four policies of upstream's isClaimOwnerUpToDate comment.
        let cases = [
            (Retain, Retain, false, (false, false)),
            (Retain, Retain, true, (false, false)),
            (Retain, Delete, false, (true, false)),
            (Retain, Delete, true, (true, false)),
            (Delete, Retain, false, (false, false)),
            (Delete, Retain, true, (false, true)),
            (Delete, Delete, false, (true, false)),
            (Delete, Delete, true, (false, true)),
        ];
        for (scaled, deleted, down, (set_owns, pod_owns)) in cases {
            assert_eq!(
                claim_ownership(Some(policy(scaled, deleted)), down),
                ClaimOwnership { set_owns, pod_owns },
                "{scaled:?}/{deleted:?} scaled down {down}"
            );
        }
    }
}
