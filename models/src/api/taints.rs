//! Taints and tolerations (k8s.io/api/core/v1/toleration.go).

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    pub fn parse(s: &str) -> Option<TaintEffect> {
        match s {
            "NoSchedule" => Some(TaintEffect::NoSchedule),
            "PreferNoSchedule" => Some(TaintEffect::PreferNoSchedule),
            "NoExecute" => Some(TaintEffect::NoExecute),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// Upstream's well-known taints (`k8s.io/api/core/v1/well_known_taints.go`), set by the node
/// lifecycle controller (and the kubelet's conditions) and tolerated by DaemonSet pods.
pub const TAINT_NODE_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_NODE_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_NODE_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_NODE_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_NODE_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
pub const TAINT_NODE_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOperator {
    /// `""` or `Equal`: the values must be equal.
    Equal,
    Exists,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    /// Empty means "any key" (only valid with `Exists`).
    pub key: String,
    pub operator: TolerationOperator,
    pub value: String,
    /// `None` matches every effect.
    pub effect: Option<TaintEffect>,
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// Upstream `Toleration.ToleratesTaint`:
    /// ```go
    /// if len(t.Effect) > 0 && t.Effect != taint.Effect { return false }
    /// if len(t.Key) > 0 && t.Key != taint.Key { return false }
    /// switch t.Operator {
    /// case "", TolerationOpEqual: return t.Value == taint.Value
    /// case TolerationOpExists: return true
    /// ```
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator {
            TolerationOperator::Equal => self.value == taint.value,
            TolerationOperator::Exists => true,
        }
    }
}

/// Upstream `v1helper.TolerationsTolerateTaint`.
pub fn tolerations_tolerate(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| t.tolerates(taint))
}

/// Upstream `v1helper.FindMatchingUntoleratedTaint` with `DoNotScheduleTaintsFilterFunc`: the
/// first NoSchedule/NoExecute taint, in the node's order, that no toleration tolerates.
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
) -> Option<&'a Taint> {
    taints.iter().find(|t| {
        matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
            && !tolerations_tolerate(tolerations, t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }

    #[test]
    fn tolerates_taint_matches_upstream_rules() {
        let t = taint("gpu", "true", TaintEffect::NoSchedule);
        let tol = |key: &str, op, value: &str, effect| Toleration {
            key: key.into(),
            operator: op,
            value: value.into(),
            effect,
            toleration_seconds: None,
        };
        assert!(tol("gpu", TolerationOperator::Equal, "true", None).tolerates(&t));
        assert!(!tol("gpu", TolerationOperator::Equal, "false", None).tolerates(&t));
        assert!(
            tol(
                "gpu",
                TolerationOperator::Exists,
                "",
                Some(TaintEffect::NoSchedule)
            )
            .tolerates(&t)
        );
        assert!(
            !tol(
                "gpu",
                TolerationOperator::Exists,
                "",
                Some(TaintEffect::NoExecute)
            )
            .tolerates(&t)
        );
        // Empty key with Exists tolerates everything.
        assert!(tol("", TolerationOperator::Exists, "", None).tolerates(&t));
        assert!(!tol("other", TolerationOperator::Exists, "", None).tolerates(&t));
    }
}
