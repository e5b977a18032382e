//! Upstream `pkg/controller/job/pod_failure_policy.go`: matching a failed pod against the Job's
//! `spec.podFailurePolicy` rules (batch/v1 `PodFailurePolicy`).

use std::fmt;

/// Upstream `features.JobBackoffLimitPerIndex`: GA and locked on, so a `FailIndex` rule always
/// applies.
pub const JOB_BACKOFF_LIMIT_PER_INDEX_ENABLED: bool = true;

/// batch/v1 `PodFailurePolicyAction`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodFailurePolicyAction {
    FailJob,
    FailIndex,
    Ignore,
    Count,
    /// A value this version does not know; upstream skips the rule.
    Unknown(String),
}

impl PodFailurePolicyAction {
    pub fn as_str(&self) -> &str {
        match self {
            PodFailurePolicyAction::FailJob => "FailJob",
            PodFailurePolicyAction::FailIndex => "FailIndex",
            PodFailurePolicyAction::Ignore => "Ignore",
            PodFailurePolicyAction::Count => "Count",
            PodFailurePolicyAction::Unknown(s) => s,
        }
    }
}

impl fmt::Display for PodFailurePolicyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// batch/v1 `PodFailurePolicyOnExitCodesOperator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodFailurePolicyOnExitCodesOperator {
    In,
    NotIn,
    /// Unknown to this version: matches no exit code.
    Unknown(String),
}

/// batch/v1 `PodFailurePolicyOnExitCodesRequirement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFailurePolicyOnExitCodesRequirement {
    /// `containerName`: only this container (regular or init) is checked when set.
    pub container_name: Option<String>,
    pub operator: PodFailurePolicyOnExitCodesOperator,
    pub values: Vec<i32>,
}

/// core/v1 `ConditionStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// Upstream `SetDefaults_Job`: an `onPodConditions` pattern without `status` matches `True`.
pub const DEFAULT_ON_POD_CONDITIONS_STATUS: ConditionStatus = ConditionStatus::True;

/// batch/v1 `PodFailurePolicyOnPodConditionsPattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFailurePolicyOnPodConditionsPattern {
    /// `type`, e.g. `DisruptionTarget`.
    pub condition_type: String,
    pub status: ConditionStatus,
}

/// batch/v1 `PodFailurePolicyRule`: one of `onExitCodes` / `onPodConditions` (upstream checks
/// `onExitCodes` first when both are set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFailurePolicyRule {
    pub action: PodFailurePolicyAction,
    pub on_exit_codes: Option<PodFailurePolicyOnExitCodesRequirement>,
    pub on_pod_conditions: Option<Vec<PodFailurePolicyOnPodConditionsPattern>>,
}

/// batch/v1 `PodFailurePolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodFailurePolicy {
    pub rules: Vec<PodFailurePolicyRule>,
}

/// One entry of a pod's `status.containerStatuses` or `status.initContainerStatuses`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerExit {
    pub name: String,
    /// `state.terminated.exitCode`; `None` while the container is not terminated.
    pub exit_code: Option<i32>,
    /// From `initContainerStatuses`.
    pub init: bool,
}

/// One entry of a pod's `status.conditions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodConditionView {
    pub condition_type: String,
    pub status: ConditionStatus,
}

/// A failed pod as the pod failure policy sees it.
#[derive(Clone, Copy, Debug)]
pub struct FailedPod<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// Container statuses in status order (regular and init, told apart by
    /// [`ContainerExit::init`]).
    pub containers: &'a [ContainerExit],
    pub conditions: &'a [PodConditionView],
}

/// What upstream `matchPodFailurePolicy` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFailurePolicyMatch {
    /// The Job failure message, when a `FailJob` rule matched.
    pub job_failure_message: Option<String>,
    /// Whether the failure counts towards `backoffLimit` (and `backoffLimitPerIndex`): false
    /// only for an `Ignore` rule.
    pub count_failed: bool,
    /// The matched rule's action; `None` when no rule matched (or without a policy).
    pub action: Option<PodFailurePolicyAction>,
}

/// Upstream `matchPodFailurePolicy` with the `JobBackoffLimitPerIndex` gate at its default (on).
pub fn match_pod_failure_policy(
    policy: Option<&PodFailurePolicy>,
    pod: &FailedPod<'_>,
) -> PodFailurePolicyMatch {
    match_pod_failure_policy_gated(policy, pod, JOB_BACKOFF_LIMIT_PER_INDEX_ENABLED)
}

/// Upstream `matchPodFailurePolicy`: the first rule (in order) whose requirement the failed pod
/// meets decides; a rule with an unknown action, or a `FailIndex` rule while
/// `JobBackoffLimitPerIndex` is off, is skipped.
pub fn match_pod_failure_policy_gated(
    policy: Option<&PodFailurePolicy>,
    pod: &FailedPod<'_>,
    backoff_limit_per_index_enabled: bool,
) -> PodFailurePolicyMatch {
    let no_match = PodFailurePolicyMatch {
        job_failure_message: None,
        count_failed: true,
        action: None,
    };
    let Some(policy) = policy else {
        return no_match;
    };
    for (index, rule) in policy.rules.iter().enumerate() {
        // The FailJob message names what matched: the container and its exit code, or the
        // pod condition.
        let matched: Option<String> = if let Some(requirement) = &rule.on_exit_codes {
            match_on_exit_codes(pod.containers, requirement).map(|(name, code)| {
                format!(
                    "Container {name} for pod {}/{} failed with exit code {code} matching {} rule at index {index}",
                    pod.namespace, pod.name, rule.action
                )
            })
        } else if let Some(patterns) = &rule.on_pod_conditions {
            match_on_pod_conditions(pod.conditions, patterns).map(|condition_type| {
                format!(
                    "Pod {}/{} has condition {condition_type} matching {} rule at index {index}",
                    pod.namespace, pod.name, rule.action
                )
            })
        } else {
            None
        };
        let Some(message) = matched else { continue };
        match &rule.action {
            PodFailurePolicyAction::Ignore => {
                return PodFailurePolicyMatch {
                    job_failure_message: None,
                    count_failed: false,
                    action: Some(PodFailurePolicyAction::Ignore),
                };
            }
            PodFailurePolicyAction::FailIndex if backoff_limit_per_index_enabled => {
                return PodFailurePolicyMatch {
                    job_failure_message: None,
                    count_failed: true,
                    action: Some(PodFailurePolicyAction::FailIndex),
                };
            }
            PodFailurePolicyAction::Count => {
                return PodFailurePolicyMatch {
                    job_failure_message: None,
                    count_failed: true,
                    action: Some(PodFailurePolicyAction::Count),
                };
            }
            PodFailurePolicyAction::FailJob => {
                return PodFailurePolicyMatch {
                    job_failure_message: Some(message),
                    count_failed: true,
                    action: Some(PodFailurePolicyAction::FailJob),
                };
            }
            PodFailurePolicyAction::FailIndex | PodFailurePolicyAction::Unknown(_) => {}
        }
    }
    no_match
}

/// Upstream `matchOnExitCodes`: the first terminated, non-zero container (regular containers
/// first, then init containers) whose exit code meets the requirement, as `(name, exit code)`.
fn match_on_exit_codes<'a>(
    containers: &'a [ContainerExit],
    requirement: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<(&'a str, i32)> {
    let matching = |init: bool| {
        containers
            .iter()
            .filter(move |c| c.init == init)
            .find_map(|c| {
                let code = c.exit_code?;
                let name_matches = requirement
                    .container_name
                    .as_deref()
                    .is_none_or(|n| n == c.name);
                (name_matches && code != 0 && is_on_exit_codes_operator_matching(code, requirement))
                    .then_some((c.name.as_str(), code))
            })
    };
    matching(false).or_else(|| matching(true))
}

/// Upstream `isOnExitCodesOperatorMatching`.
fn is_on_exit_codes_operator_matching(
    exit_code: i32,
    requirement: &PodFailurePolicyOnExitCodesRequirement,
) -> bool {
    match requirement.operator {
        PodFailurePolicyOnExitCodesOperator::In => requirement.values.contains(&exit_code),
        PodFailurePolicyOnExitCodesOperator::NotIn => !requirement.values.contains(&exit_code),
        PodFailurePolicyOnExitCodesOperator::Unknown(_) => false,
    }
}

/// Upstream `matchOnPodConditions`: the type of the first pod condition (in status order) that
/// some pattern matches by type and status.
fn match_on_pod_conditions<'a>(
    conditions: &'a [PodConditionView],
    patterns: &[PodFailurePolicyOnPodConditionsPattern],
) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| {
            patterns
                .iter()
                .any(|p| p.condition_type == c.condition_type && p.status == c.status)
        })
        .map(|c| c.condition_type.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    use ConditionStatus::{False, True, Unknown};
    use PodFailurePolicyAction::{Count, FailIndex, FailJob, Ignore};
    use PodFailurePolicyOnExitCodesOperator::{In, NotIn};

    fn exit_rule(
        action: PodFailurePolicyAction,
        operator: PodFailurePolicyOnExitCodesOperator,
        values: &[i32],
    ) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action,
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator,
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    fn condition_rule(
        action: PodFailurePolicyAction,
        condition_type: &str,
        status: ConditionStatus,
    ) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action,
            on_exit_codes: None,
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                condition_type: condition_type.to_string(),
                status,
            }]),
        }
    }

    fn container(name: &str, exit_code: Option<i32>) -> ContainerExit {
        ContainerExit {
            name: name.to_string(),
            exit_code,
            init: false,
        }
    }

    fn init_container(name: &str, exit_code: Option<i32>) -> ContainerExit {
        ContainerExit {
            init: true,
            ..container(name, exit_code)
        }
    }

    fn condition(condition_type: &str, status: ConditionStatus) -> PodConditionView {
        PodConditionView {
            condition_type: condition_type.to_string(),
            status,
        }
    }

    struct Case {
        name: &'static str,
        gate: bool,
        rules: Option<Vec<PodFailurePolicyRule>>,
        containers: Vec<ContainerExit>,
        conditions: Vec<PodConditionView>,
        want_message: Option<&'static str>,
        want_count_failed: bool,
        want_action: Option<PodFailurePolicyAction>,
    }

    fn case(name: &'static str, rules: Vec<PodFailurePolicyRule>) -> Case {
        Case {
            name,
            gate: true,
            rules: Some(rules),
            containers: vec![],
            conditions: vec![],
            want_message: None,
            want_count_failed: true,
            want_action: None,
        }
    }

    // upstream pkg/controller/job/pod_failure_policy_test.go TestMatchPodFailurePolicy; the
    // failed pod is always default/mypod.
    #[test]
    fn match_pod_failure_policy_table() {
        let main2 = || vec![container("main-container", Some(2))];
        let disruption = |s| vec![condition("DisruptionTarget", s)];
        let cases = vec![
            Case {
                containers: main2(),
                want_message: Some(
                    "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 1",
                ),
                want_action: Some(FailJob),
                ..case(
                    "unknown action for rule matching by exit codes - skip rule with unknown action",
                    vec![
                        exit_rule(
                            PodFailurePolicyAction::Unknown("UnknownAction".into()),
                            In,
                            &[1, 2],
                        ),
                        exit_rule(FailJob, In, &[2, 3]),
                    ],
                )
            },
            Case {
                conditions: disruption(True),
                want_count_failed: false,
                want_action: Some(Ignore),
                ..case(
                    "unknown action for rule matching by pod conditions - skip rule with unknown action",
                    vec![
                        condition_rule(
                            PodFailurePolicyAction::Unknown("UnkonwnAction".into()),
                            "DisruptionTarget",
                            True,
                        ),
                        condition_rule(Ignore, "DisruptionTarget", True),
                    ],
                )
            },
            Case {
                containers: main2(),
                want_message: Some(
                    "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 1",
                ),
                want_action: Some(FailJob),
                ..case(
                    "unknown operator - rule with unknown action is skipped for onExitCodes",
                    vec![
                        exit_rule(
                            Ignore,
                            PodFailurePolicyOnExitCodesOperator::Unknown("UnknownOperator".into()),
                            &[1, 2],
                        ),
                        exit_rule(FailJob, In, &[2, 3]),
                    ],
                )
            },
            Case {
                rules: None,
                containers: vec![container("", Some(2))],
                ..case("no policy rules", vec![])
            },
            Case {
                containers: vec![container("", Some(2))],
                want_count_failed: false,
                want_action: Some(Ignore),
                ..case(
                    "ignore rule matched for exit codes",
                    vec![exit_rule(Ignore, In, &[1, 2, 3])],
                )
            },
            Case {
                containers: main2(),
                want_message: Some(
                    "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 0",
                ),
                want_action: Some(FailJob),
                ..case(
                    "FailJob rule matched for exit codes",
                    vec![exit_rule(FailJob, In, &[1, 2, 3])],
                )
            },
            Case {
                containers: vec![
                    init_container("init-container", Some(0)),
                    container("main-container", Some(111)),
                    container("suppport-container", Some(0)),
                ],
                ..case(
                    "successful containers are skipped by the rules",
                    vec![exit_rule(FailJob, NotIn, &[111])],
                )
            },
            Case {
                containers: vec![container("", Some(2))],
                want_action: Some(FailIndex),
                ..case(
                    "FailIndex rule matched for exit codes; JobBackoffLimitPerIndex enabled",
                    vec![exit_rule(FailIndex, In, &[1, 2, 3])],
                )
            },
            Case {
                gate: false,
                containers: vec![container("", Some(2))],
                ..case(
                    "FailIndex rule matched for exit codes; JobBackoffLimitPerIndex disabled",
                    vec![exit_rule(FailIndex, In, &[1, 2, 3])],
                )
            },
            Case {
                containers: vec![
                    container("main-container", Some(1)),
                    container("suppport-container", Some(0)),
                ],
                want_message: Some(
                    "Container main-container for pod default/mypod failed with exit code 1 matching FailJob rule at index 0",
                ),
                want_action: Some(FailJob),
                ..case(
                    "pod failure policy with NotIn operator and value 0",
                    vec![exit_rule(FailJob, NotIn, &[0])],
                )
            },
            Case {
                containers: vec![container("main-container", Some(6))],
                want_message: Some(
                    "Container main-container for pod default/mypod failed with exit code 6 matching FailJob rule at index 1",
                ),
                want_action: Some(FailJob),
                ..case(
                    "second jobfail rule matched for exit codes",
                    vec![
                        exit_rule(Count, In, &[1, 2, 3]),
                        exit_rule(FailJob, In, &[4, 5, 6]),
                    ],
                )
            },
            Case {
                containers: vec![container("foo", None), container("bar", Some(2))],
                want_action: Some(Count),
                ..case(
                    "count rule matched for exit codes",
                    vec![exit_rule(Count, In, &[1, 2, 3])],
                )
            },
            Case {
                conditions: disruption(True),
                want_action: Some(FailIndex),
                ..case(
                    "FailIndex rule matched for pod conditions; JobBackoffLimitPerIndex enabled",
                    vec![condition_rule(FailIndex, "DisruptionTarget", True)],
                )
            },
            Case {
                gate: false,
                conditions: disruption(True),
                ..case(
                    "FailIndex rule matched for pod conditions; JobBackoffLimitPerIndex disabled",
                    vec![condition_rule(FailIndex, "DisruptionTarget", True)],
                )
            },
            Case {
                conditions: disruption(True),
                want_count_failed: false,
                want_action: Some(Ignore),
                ..case(
                    "ignore rule matched for pod conditions",
                    vec![condition_rule(Ignore, "DisruptionTarget", True)],
                )
            },
            Case {
                conditions: disruption(False),
                want_count_failed: false,
                want_action: Some(Ignore),
                ..case(
                    "ignore rule matches by the status=False",
                    vec![condition_rule(Ignore, "DisruptionTarget", False)],
                )
            },
            Case {
                conditions: disruption(Unknown),
                want_count_failed: false,
                want_action: Some(Ignore),
                ..case(
                    "ignore rule matches by the status=Unknown",
                    vec![condition_rule(Ignore, "DisruptionTarget", Unknown)],
                )
            },
            Case {
                conditions: disruption(True),
                ..case(
                    "ignore rule does not match when status for pattern is False, but actual True",
                    vec![condition_rule(Ignore, "DisruptionTarget", False)],
                )
            },
            Case {
                conditions: disruption(False),
                ..case(
                    "ignore rule does not match when status for pattern is True, but actual False",
                    vec![condition_rule(Ignore, "DisruptionTarget", True)],
                )
            },
            Case {
                conditions: disruption(False),
                ..case(
                    "default - do not match condition with status=False",
                    vec![condition_rule(Ignore, "DisruptionTarget", True)],
                )
            },
            Case {
                conditions: disruption(True),
                want_message: Some(
                    "Pod default/mypod has condition DisruptionTarget matching FailJob rule at index 0",
                ),
                want_action: Some(FailJob),
                ..case(
                    "job fail rule matched for pod conditions",
                    vec![condition_rule(FailJob, "DisruptionTarget", True)],
                )
            },
            Case {
                conditions: disruption(True),
                want_action: Some(Count),
                ..case(
                    "count rule matched for pod conditions",
                    vec![condition_rule(Count, "DisruptionTarget", True)],
                )
            },
            Case {
                containers: vec![container("", Some(32))],
                want_action: Some(Count),
                ..case(
                    "no rule matched",
                    vec![
                        exit_rule(Count, NotIn, &[8]),
                        exit_rule(Ignore, In, &[1, 2, 3]),
                        exit_rule(FailJob, NotIn, &[5, 6, 7]),
                        condition_rule(Count, "ResourceLimitExceeded", True),
                        condition_rule(Ignore, "DisruptionTarget", True),
                    ],
                )
            },
        ];
        assert!(cases.len() >= 12);
        for c in cases {
            let policy = c.rules.map(|rules| PodFailurePolicy { rules });
            let pod = FailedPod {
                namespace: "default",
                name: "mypod",
                containers: &c.containers,
                conditions: &c.conditions,
            };
            let got = match_pod_failure_policy_gated(policy.as_ref(), &pod, c.gate);
            let want = PodFailurePolicyMatch {
                job_failure_message: c.want_message.map(str::to_string),
                count_failed: c.want_count_failed,
                action: c.want_action,
            };
            assert_eq!(got, want, "{}", c.name);
        }
    }

    #[test]
    fn container_name_restricts_the_exit_code_rule_to_that_container() {
        let rule = PodFailurePolicyRule {
            action: FailJob,
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: Some("init".to_string()),
                operator: In,
                values: vec![3],
            }),
            on_pod_conditions: None,
        };
        let policy = PodFailurePolicy { rules: vec![rule] };
        let containers = [container("main", Some(3)), init_container("init", Some(3))];
        let pod = FailedPod {
            namespace: "ns",
            name: "p",
            containers: &containers,
            conditions: &[],
        };
        let got = match_pod_failure_policy(Some(&policy), &pod);
        assert_eq!(
            got.job_failure_message.as_deref(),
            Some(
                "Container init for pod ns/p failed with exit code 3 matching FailJob rule at index 0"
            )
        );
    }
}
