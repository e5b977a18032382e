//! PriorityClasses and the priority admission plugin (upstream `pkg/apis/scheduling`,
//! `plugin/pkg/admission/priority/admission.go`).
//!
//! A pod's priority is decided once, when the API server admits it: from its
//! `priorityClassName`, else from the class marked `globalDefault`, else 0. The scheduler only
//! ever reads the resulting integer (and the preemption policy copied from the class).

/// Upstream `scheduling.HighestUserDefinablePriority`: user classes may not go above it.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
/// Upstream `scheduling.SystemCriticalPriority = 2 * HighestUserDefinablePriority`.
pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/// Upstream `scheduling.SystemClusterCritical`, value `SystemCriticalPriority`.
pub const SYSTEM_CLUSTER_CRITICAL: &str = "system-cluster-critical";
/// Upstream `scheduling.SystemNodeCritical`, value `SystemCriticalPriority + 1000`.
pub const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// Upstream `scheduling.DefaultPriorityWhenNoDefaultClassExists`.
pub const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS: i32 = 0;
/// Upstream `scheduling.SystemPriorityClassPrefix`: names reserved for the built-in classes.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";

/// Upstream `core.PreemptionPolicy`. A pod without one preempts (the scheduler treats a nil
/// policy as `PreemptLowerPriority`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreemptionPolicy {
    #[default]
    PreemptLowerPriority,
    Never,
}

impl PreemptionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PreemptionPolicy::PreemptLowerPriority => "PreemptLowerPriority",
            PreemptionPolicy::Never => "Never",
        }
    }

    pub fn parse(text: &str) -> Option<PreemptionPolicy> {
        match text {
            "PreemptLowerPriority" => Some(PreemptionPolicy::PreemptLowerPriority),
            "Never" => Some(PreemptionPolicy::Never),
            _ => None,
        }
    }
}

/// A `scheduling.k8s.io/v1` PriorityClass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityClass {
    pub name: String,
    pub value: i32,
    pub global_default: bool,
    /// Defaults to `PreemptLowerPriority` (upstream `SetDefaults_PriorityClass`).
    pub preemption_policy: PreemptionPolicy,
}

/// The classes the API server creates at start-up (upstream `SystemPriorityClasses`).
pub fn system_priority_classes() -> Vec<PriorityClass> {
    [
        (SYSTEM_NODE_CRITICAL, SYSTEM_CRITICAL_PRIORITY + 1000),
        (SYSTEM_CLUSTER_CRITICAL, SYSTEM_CRITICAL_PRIORITY),
    ]
    .into_iter()
    .map(|(name, value)| PriorityClass {
        name: name.to_string(),
        value,
        global_default: false,
        preemption_policy: PreemptionPolicy::PreemptLowerPriority,
    })
    .collect()
}

/// Checks one user-defined class as upstream validation (`ValidatePriorityClass`) does:
/// the `system-` prefix is reserved and values above 1e9 belong to system classes.
pub fn validate_class(class: &PriorityClass) -> Result<(), String> {
    if class.name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
        return Err(format!(
            "priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only ({SYSTEM_CLUSTER_CRITICAL} and {SYSTEM_NODE_CRITICAL} exist already)"
        ));
    }
    if class.value > HIGHEST_USER_DEFINABLE_PRIORITY {
        return Err(format!(
            "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"
        ));
    }
    Ok(())
}

/// What admission decided for one pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The class the pod ends up with (the global default's name when it named none).
    pub class_name: Option<String>,
    pub priority: i32,
    pub preemption_policy: PreemptionPolicy,
}

/// The cluster's PriorityClasses: the system ones plus those of the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityClasses {
    classes: Vec<PriorityClass>,
}

impl Default for PriorityClasses {
    fn default() -> Self {
        PriorityClasses {
            classes: system_priority_classes(),
        }
    }
}

impl PriorityClasses {
    /// Adds a user class. Errors as the API server would reject it: a reserved name or value,
    /// a duplicate name, or a second `globalDefault` (upstream admission:
    /// "PriorityClass %v is already marked as default. Only one default can exist").
    pub fn add(&mut self, class: PriorityClass) -> Result<(), String> {
        validate_class(&class)?;
        if self.get(&class.name).is_some() {
            return Err(format!("duplicate PriorityClass \"{}\"", class.name));
        }
        if class.global_default
            && let Some(other) = self.classes.iter().find(|c| c.global_default)
        {
            return Err(format!(
                "PriorityClass {} is already marked as default. Only one default can exist",
                other.name
            ));
        }
        self.classes.push(class);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&PriorityClass> {
        self.classes.iter().find(|c| c.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PriorityClass> {
        self.classes.iter()
    }

    /// Upstream `getDefaultPriorityClass`: the `globalDefault` class, the lowest value one
    /// should a race have left several.
    pub fn default_class(&self) -> Option<&PriorityClass> {
        self.classes
            .iter()
            .filter(|c| c.global_default)
            .min_by_key(|c| c.value)
    }

    /// Upstream `admitPod` for a create. The pod names a class (which must exist), or gets the
    /// global default, or priority 0 with `PreemptLowerPriority`. A priority or policy written
    /// in the spec must equal what the class gives, as upstream insists.
    ///
    /// One deliberate leniency: with no class named and no global default, a `spec.priority`
    /// is taken as is (upstream would reject anything but 0). Hand-written test pods and trace
    /// replays set priorities that way, as a cluster without the admission plugin would.
    pub fn admit(
        &self,
        class_name: Option<&str>,
        spec_priority: Option<i32>,
        spec_policy: Option<PreemptionPolicy>,
    ) -> Result<Admitted, String> {
        let (name, priority, policy) = match class_name.filter(|n| !n.is_empty()) {
            Some(name) => {
                let Some(class) = self.get(name) else {
                    return Err(format!("no PriorityClass with name {name} was found"));
                };
                (Some(name.to_string()), class.value, class.preemption_policy)
            }
            None => match self.default_class() {
                Some(class) => (
                    Some(class.name.clone()),
                    class.value,
                    class.preemption_policy,
                ),
                None => {
                    let policy = spec_policy.unwrap_or_default();
                    return Ok(Admitted {
                        class_name: None,
                        priority: spec_priority
                            .unwrap_or(DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS),
                        preemption_policy: policy,
                    });
                }
            },
        };
        if let Some(p) = spec_priority
            && p != priority
        {
            return Err(format!(
                "the integer value of priority ({p}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"
            ));
        }
        if let Some(p) = spec_policy
            && p != policy
        {
            return Err(format!(
                "the string value of PreemptionPolicy ({}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                p.as_str(),
                policy.as_str()
            ));
        }
        Ok(Admitted {
            class_name: name,
            priority,
            preemption_policy: policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, value: i32, global_default: bool) -> PriorityClass {
        PriorityClass {
            name: name.into(),
            value,
            global_default,
            preemption_policy: PreemptionPolicy::PreemptLowerPriority,
        }
    }

    #[test]
    fn system_classes_have_upstream_values() {
        // pkg/apis/scheduling/types.go: SystemCriticalPriority = 2 * 1e9; node-critical + 1000.
        let c = PriorityClasses::default();
        assert_eq!(
            c.get("system-cluster-critical").map(|c| c.value),
            Some(2_000_000_000)
        );
        assert_eq!(
            c.get("system-node-critical").map(|c| c.value),
            Some(2_000_001_000)
        );
    }

    #[test]
    fn admission_resolves_class_then_global_default_then_zero() {
        let mut classes = PriorityClasses::default();
        // No class named, no default: 0 and PreemptLowerPriority (getDefaultPriority).
        let a = classes.admit(None, None, None).unwrap();
        assert_eq!(
            (a.priority, a.preemption_policy),
            (0, PreemptionPolicy::PreemptLowerPriority)
        );
        classes.add(class("batch", 100, true)).unwrap();
        classes
            .add(PriorityClass {
                preemption_policy: PreemptionPolicy::Never,
                ..class("critical", 1_000_000, false)
            })
            .unwrap();
        // The global default applies to pods naming no class, and names it.
        let a = classes.admit(None, None, None).unwrap();
        assert_eq!((a.class_name.as_deref(), a.priority), (Some("batch"), 100));
        let a = classes.admit(Some("critical"), None, None).unwrap();
        assert_eq!(
            (a.priority, a.preemption_policy),
            (1_000_000, PreemptionPolicy::Never)
        );
        // A consistent spec.priority is fine; a different one is rejected as upstream does.
        assert!(
            classes
                .admit(Some("critical"), Some(1_000_000), None)
                .is_ok()
        );
        assert_eq!(
            classes.admit(Some("critical"), Some(5), None).unwrap_err(),
            "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000000 from the given PriorityClass name"
        );
        assert!(
            classes
                .admit(
                    Some("critical"),
                    None,
                    Some(PreemptionPolicy::PreemptLowerPriority)
                )
                .unwrap_err()
                .starts_with("the string value of PreemptionPolicy (PreemptLowerPriority)")
        );
        // Unknown class: "no PriorityClass with name %v was found".
        assert!(
            classes
                .admit(Some("critcal"), None, None)
                .unwrap_err()
                .starts_with("no PriorityClass with name critcal was found")
        );
        // Upstream picks the lowest default should several exist; we refuse the second.
        assert!(
            classes
                .add(class("other", 5, true))
                .unwrap_err()
                .contains("already marked as default")
        );
    }

    #[test]
    fn user_classes_cannot_take_system_names_or_values() {
        let mut classes = PriorityClasses::default();
        assert!(classes.add(class("system-mine", 1, false)).is_err());
        assert!(classes.add(class("huge", 1_000_000_001, false)).is_err());
        assert!(classes.add(class("max", 1_000_000_000, false)).is_ok());
    }
}
