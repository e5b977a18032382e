//! `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`), decoded strictly as
//! kube-scheduler does: a field upstream does not have is an error, fields upstream has but
//! kubesim does not model (leader election, client connection, profiling…) are accepted and
//! ignored, and the plugin arguments kubesim models are typed, defaulted and validated as
//! upstream `pkg/scheduler/apis/config/v1/defaults.go` and `validation/validation_pluginargs.go`
//! do.
//!
//! Every error carries the path of the offending field (`profiles[0].pluginConfig[1].args.
//! scoringStrategy.type`) so the scenario loader can point at a file, line and column.

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

use crate::api::{
    NodeAffinity, NodeSelector, NodeSelectorTerm, Operator, PreferredSchedulingTerm, Requirement,
};
use crate::scheduler::plugins::helper::qualified_name_error;
use crate::scheduler::plugins::node_affinity::{field_requirement_error, label_requirement_error};

/// The only API version kubesim reads.
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
pub const KIND: &str = "KubeSchedulerConfiguration";
/// Upstream `v1.DefaultSchedulerName`.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// Upstream `config.DefaultPercentageOfNodesToScore`: 0 means "adaptive".
pub const DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE: i32 = 0;
/// Upstream `config.MaxCustomPriorityScore`: RequestedToCapacityRatio shape scores are 0–10.
pub const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;

/// A configuration problem at `path` (empty for the whole document).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error under a parent path (`args` + `scoringStrategy.type`).
    pub fn within(mut self, parent: &str) -> Self {
        self.path = join(parent, &self.path);
        self
    }
}

fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (_, true) => parent.to_string(),
        // `[0].x` appends without a dot, like serde_path_to_error's own rendering.
        _ if child.starts_with('[') => format!("{parent}{child}"),
        _ => format!("{parent}.{child}"),
    }
}

/// Decodes `value` into `T`, reporting the path of the first problem.
pub(crate) fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ConfigError::new(path, e.into_inner().to_string())
    })
}

/// YAML's `enabled:` with nothing after it is `null`; Go decodes that as an empty list.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Upstream `componentbaseconfigv1alpha1.LeaderElectionConfiguration`: accepted, ignored.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LeaderElectionConfiguration {
    pub leader_elect: Option<IgnoredAny>,
    pub lease_duration: Option<IgnoredAny>,
    pub renew_deadline: Option<IgnoredAny>,
    pub retry_period: Option<IgnoredAny>,
    pub resource_lock: Option<IgnoredAny>,
    pub resource_name: Option<IgnoredAny>,
    pub resource_namespace: Option<IgnoredAny>,
}

/// Upstream `componentbaseconfigv1alpha1.ClientConnectionConfiguration`: `qps` and `burst`
/// rate-limit the scheduler's binds (see `crate::scheduler::cost`); the rest is accepted and
/// ignored.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientConnectionConfiguration {
    pub kubeconfig: Option<IgnoredAny>,
    pub accept_content_types: Option<IgnoredAny>,
    pub content_type: Option<IgnoredAny>,
    pub qps: Option<f64>,
    pub burst: Option<i64>,
}

/// Upstream `configv1.KubeSchedulerConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeSchedulerConfiguration {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    /// Goroutines for filtering and scoring upstream; a kubesim cycle is sequential.
    pub parallelism: Option<i32>,
    pub leader_election: Option<LeaderElectionConfiguration>,
    pub client_connection: Option<ClientConnectionConfiguration>,
    pub enable_profiling: Option<bool>,
    pub enable_contention_profiling: Option<bool>,
    /// `None` or 0: upstream's adaptive percentage.
    pub percentage_of_nodes_to_score: Option<i32>,
    /// Defaults 1 s and 10 s upstream; read by the scheduling queue.
    pub pod_initial_backoff_seconds: Option<i64>,
    pub pod_max_backoff_seconds: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub profiles: Vec<KubeSchedulerProfile>,
    /// Must be empty: extenders are HTTP services kubesim cannot call.
    #[serde(default, deserialize_with = "null_default")]
    pub extenders: Vec<Value>,
    pub delay_cache_until_active: Option<bool>,
}

/// Upstream `configv1.KubeSchedulerProfile`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeSchedulerProfile {
    pub scheduler_name: Option<String>,
    pub percentage_of_nodes_to_score: Option<i32>,
    pub plugins: Option<Plugins>,
    #[serde(default, deserialize_with = "null_default")]
    pub plugin_config: Vec<PluginConfig>,
}

/// Upstream `configv1.Plugins`: one plugin set per extension point, plus `multiPoint`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Plugins {
    #[serde(default, deserialize_with = "null_default")]
    pub pre_enqueue: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub queue_sort: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub pre_filter: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub filter: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub post_filter: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub pre_score: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub score: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub reserve: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub permit: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub pre_bind: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub bind: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub post_bind: PluginSet,
    #[serde(default, deserialize_with = "null_default")]
    pub multi_point: PluginSet,
}

/// The configuration names of the extension points, in `Plugins` field order.
pub const EXTENSION_POINT_FIELDS: [&str; 12] = [
    "preEnqueue",
    "queueSort",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
    "reserve",
    "permit",
    "preBind",
    "bind",
    "postBind",
];

impl Plugins {
    /// The plugin set of an extension point by its configuration name (`"filter"`,
    /// `"multiPoint"`…).
    pub fn point(&self, field: &str) -> Option<&PluginSet> {
        Some(match field {
            "preEnqueue" => &self.pre_enqueue,
            "queueSort" => &self.queue_sort,
            "preFilter" => &self.pre_filter,
            "filter" => &self.filter,
            "postFilter" => &self.post_filter,
            "preScore" => &self.pre_score,
            "score" => &self.score,
            "reserve" => &self.reserve,
            "permit" => &self.permit,
            "preBind" => &self.pre_bind,
            "bind" => &self.bind,
            "postBind" => &self.post_bind,
            "multiPoint" => &self.multi_point,
            _ => return None,
        })
    }
}

/// Upstream `configv1.PluginSet`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSet {
    #[serde(default, deserialize_with = "null_default")]
    pub enabled: Vec<PluginRef>,
    #[serde(default, deserialize_with = "null_default")]
    pub disabled: Vec<PluginRef>,
}

/// Upstream `configv1.Plugin`: a name and, for score plugins, a weight (0 or absent means 1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginRef {
    pub name: String,
    pub weight: Option<i32>,
}

impl PluginRef {
    pub fn new(name: &str, weight: Option<i32>) -> Self {
        PluginRef {
            name: name.to_string(),
            weight,
        }
    }
}

/// Upstream `configv1.PluginConfig`: arguments stay JSON until the plugin's factory reads them.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginConfig {
    pub name: String,
    #[serde(default)]
    pub args: Option<Value>,
}

/// Decodes and validates a configuration (plugin names are checked against the registry by
/// `Scheduler::new`).
pub fn parse_config(value: &Value) -> Result<KubeSchedulerConfiguration, ConfigError> {
    let config: KubeSchedulerConfiguration = decode(value)?;
    validate(&config)?;
    Ok(config)
}

/// The checks `parse_config` applies after decoding; `Scheduler::new` repeats them for
/// configurations built in code.
pub(crate) fn validate(config: &KubeSchedulerConfiguration) -> Result<(), ConfigError> {
    if let Some(v) = config.api_version.as_deref()
        && v != API_VERSION
    {
        return Err(ConfigError::new(
            "apiVersion",
            format!(
                "unsupported apiVersion {v:?}: kubesim reads {API_VERSION:?} (convert older versions first)"
            ),
        ));
    }
    if let Some(k) = config.kind.as_deref()
        && k != KIND
    {
        return Err(ConfigError::new(
            "kind",
            format!("kind must be {KIND:?}, got {k:?}"),
        ));
    }
    if let Some(p) = config.parallelism
        && p <= 0
    {
        return Err(ConfigError::new(
            "parallelism",
            format!("Invalid value: {p}: should be an integer value greater than zero"),
        ));
    }
    validate_percentage(
        "percentageOfNodesToScore",
        config.percentage_of_nodes_to_score,
    )?;
    let initial = config.pod_initial_backoff_seconds.unwrap_or(1);
    if initial <= 0 {
        return Err(ConfigError::new(
            "podInitialBackoffSeconds",
            format!("Invalid value: {initial}: must be greater than 0"),
        ));
    }
    let max = config.pod_max_backoff_seconds.unwrap_or(10);
    if max < initial {
        return Err(ConfigError::new(
            "podMaxBackoffSeconds",
            format!(
                "Invalid value: {max}: must be greater than or equal to PodInitialBackoffSeconds"
            ),
        ));
    }
    if !config.extenders.is_empty() {
        return Err(ConfigError::new(
            "extenders",
            "extenders are not supported: kubesim cannot call out to extender services (model the policy as a plugin instead)",
        ));
    }
    let mut names: Vec<(&str, usize)> = Vec::new();
    for (i, profile) in config.profiles.iter().enumerate() {
        let path = format!("profiles[{i}]");
        let name = match profile.scheduler_name.as_deref() {
            Some(n) => n,
            // Upstream defaults the name only when there is a single profile.
            None if config.profiles.len() == 1 => DEFAULT_SCHEDULER_NAME,
            None => "",
        };
        if name.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.schedulerName"),
                "Required value",
            ));
        }
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
            return Err(ConfigError::new(
                format!("{path}.schedulerName"),
                format!("Duplicate value: {name:?} (also the name of profiles[{first}])"),
            ));
        }
        names.push((name, i));
        validate_percentage(
            &format!("{path}.percentageOfNodesToScore"),
            profile.percentage_of_nodes_to_score,
        )?;
        validate_plugin_config(&path, profile)?;
    }
    // Upstream validateCommonQueueSort: one queue for all profiles, so one ordering.
    let queue_sort = |p: &KubeSchedulerProfile| {
        p.plugins
            .as_ref()
            .map(|p| p.queue_sort.clone())
            .unwrap_or_default()
    };
    if let Some(first) = config.profiles.first() {
        for (i, profile) in config.profiles.iter().enumerate().skip(1) {
            if queue_sort(profile) != queue_sort(first) {
                return Err(ConfigError::new(
                    format!("profiles[{i}].plugins.queueSort"),
                    "Invalid value: has to match for all profiles",
                ));
            }
        }
    }
    Ok(())
}

fn validate_percentage(path: &str, value: Option<i32>) -> Result<(), ConfigError> {
    match value {
        Some(p) if !(0..=100).contains(&p) => Err(ConfigError::new(
            path,
            format!("Invalid value: {p}: not in valid range [0-100]"),
        )),
        _ => Ok(()),
    }
}

fn validate_plugin_config(path: &str, profile: &KubeSchedulerProfile) -> Result<(), ConfigError> {
    for (j, pc) in profile.plugin_config.iter().enumerate() {
        let pc_path = format!("{path}.pluginConfig[{j}]");
        if profile.plugin_config[..j]
            .iter()
            .any(|other| other.name == pc.name)
        {
            return Err(ConfigError::new(
                pc_path,
                format!("Duplicate value: {:?}", pc.name),
            ));
        }
        let args_path = format!("{pc_path}.args");
        let args = pc.args.as_ref();
        match pc.name.as_str() {
            "NodeResourcesFit" => NodeResourcesFitArgs::parse(args).map(drop),
            "NodeResourcesBalancedAllocation" => {
                NodeResourcesBalancedAllocationArgs::parse(args).map(drop)
            }
            "NodeAffinity" => NodeAffinityArgs::parse(args).map(drop),
            "PodTopologySpread" => {
                crate::scheduler::plugins::pod_topology_spread::PodTopologySpreadArgs::parse(args)
                    .map(drop)
            }
            "InterPodAffinity" => {
                crate::scheduler::plugins::inter_pod_affinity::InterPodAffinityArgs::parse(args)
                    .map(drop)
            }
            _ => Ok(()),
        }
        .map_err(|e| e.within(&args_path))?;
    }
    Ok(())
}

/// Checks the optional `apiVersion` / `kind` of plugin arguments.
fn check_args_type(
    api_version: Option<&str>,
    kind: Option<&str>,
    want: &str,
) -> Result<(), ConfigError> {
    if let Some(v) = api_version
        && v != API_VERSION
    {
        return Err(ConfigError::new(
            "apiVersion",
            format!("unsupported apiVersion {v:?}, expected {API_VERSION:?}"),
        ));
    }
    if let Some(k) = kind
        && k != want
    {
        return Err(ConfigError::new(
            "kind",
            format!("kind must be {want:?}, got {k:?}"),
        ));
    }
    Ok(())
}

/// Upstream `config.ScoringStrategyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoringStrategyType {
    LeastAllocated,
    MostAllocated,
    RequestedToCapacityRatio,
}

impl ScoringStrategyType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringStrategyType::LeastAllocated => "LeastAllocated",
            ScoringStrategyType::MostAllocated => "MostAllocated",
            ScoringStrategyType::RequestedToCapacityRatio => "RequestedToCapacityRatio",
        }
    }
}

/// Upstream `config.ResourceSpec`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceSpec {
    pub name: String,
    /// Absent or 0 is defaulted to 1, as upstream's `SetDefaults_*Args` do.
    #[serde(default)]
    pub weight: i64,
}

/// Upstream `config.UtilizationShapePoint`: utilization 0–100, score 0–10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UtilizationShapePoint {
    #[serde(default)]
    pub utilization: i32,
    #[serde(default)]
    pub score: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RequestedToCapacityRatioRaw {
    #[serde(default, deserialize_with = "null_default")]
    shape: Vec<UtilizationShapePoint>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScoringStrategyRaw {
    #[serde(default, rename = "type")]
    type_: String,
    #[serde(default, deserialize_with = "null_default")]
    resources: Vec<ResourceSpec>,
    requested_to_capacity_ratio: Option<RequestedToCapacityRatioRaw>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeResourcesFitArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    ignored_resources: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    ignored_resource_groups: Vec<String>,
    scoring_strategy: Option<ScoringStrategyRaw>,
}

/// Upstream `config.ScoringStrategy`, defaulted: `shape` is present exactly for
/// RequestedToCapacityRatio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringStrategy {
    pub type_: ScoringStrategyType,
    pub resources: Vec<ResourceSpec>,
    pub shape: Vec<UtilizationShapePoint>,
}

/// Upstream `config.NodeResourcesFitArgs`, defaulted and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeResourcesFitArgs {
    pub ignored_resources: Vec<String>,
    pub ignored_resource_groups: Vec<String>,
    pub scoring_strategy: ScoringStrategy,
}

/// Upstream `defaultResourceSpec`: cpu and memory, weight 1.
pub fn default_resource_spec() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            name: "cpu".into(),
            weight: 1,
        },
        ResourceSpec {
            name: "memory".into(),
            weight: 1,
        },
    ]
}

impl Default for NodeResourcesFitArgs {
    /// Upstream `SetDefaults_NodeResourcesFitArgs`: LeastAllocated over cpu and memory.
    fn default() -> Self {
        NodeResourcesFitArgs {
            ignored_resources: Vec::new(),
            ignored_resource_groups: Vec::new(),
            scoring_strategy: ScoringStrategy {
                type_: ScoringStrategyType::LeastAllocated,
                resources: default_resource_spec(),
                shape: Vec::new(),
            },
        }
    }
}

/// Upstream `SetDefaults_*Args`: a missing or zero weight is 1.
fn default_weights(resources: &mut [ResourceSpec]) {
    for r in resources {
        if r.weight == 0 {
            r.weight = 1;
        }
    }
}

/// Upstream `validateFunctionShape`.
fn validate_shape(shape: &[UtilizationShapePoint]) -> Result<(), ConfigError> {
    if shape.is_empty() {
        return Err(ConfigError::new(
            "",
            "Required value: at least one point must be specified",
        ));
    }
    for i in 1..shape.len() {
        if shape[i - 1].utilization >= shape[i].utilization {
            return Err(ConfigError::new(
                format!("[{i}].utilization"),
                format!(
                    "Invalid value: {}: values must be sorted in increasing order",
                    shape[i].utilization
                ),
            ));
        }
    }
    for (i, p) in shape.iter().enumerate() {
        if !(0..=100).contains(&p.utilization) {
            return Err(ConfigError::new(
                format!("[{i}].utilization"),
                format!(
                    "Invalid value: {}: not in valid range [0, 100]",
                    p.utilization
                ),
            ));
        }
        if !(0..=MAX_CUSTOM_PRIORITY_SCORE).contains(&i64::from(p.score)) {
            return Err(ConfigError::new(
                format!("[{i}].score"),
                format!(
                    "Invalid value: {}: not in valid range [0, {MAX_CUSTOM_PRIORITY_SCORE}]",
                    p.score
                ),
            ));
        }
    }
    Ok(())
}

impl NodeResourcesFitArgs {
    /// Decodes, defaults and validates the arguments (`None`: all defaults). Error paths are
    /// relative to `args`.
    pub fn parse(args: Option<&Value>) -> Result<Self, ConfigError> {
        let Some(value) = args else {
            return Ok(Self::default());
        };
        let raw: NodeResourcesFitArgsRaw = decode(value)?;
        check_args_type(
            raw.api_version.as_deref(),
            raw.kind.as_deref(),
            "NodeResourcesFitArgs",
        )?;
        for (i, r) in raw.ignored_resources.iter().enumerate() {
            if let Some(msg) = qualified_name_error(r) {
                return Err(ConfigError::new(
                    format!("ignoredResources[{i}]"),
                    format!("Invalid value: {r:?}: {msg}"),
                ));
            }
        }
        for (i, g) in raw.ignored_resource_groups.iter().enumerate() {
            let path = format!("ignoredResourceGroups[{i}]");
            if g.contains('/') {
                return Err(ConfigError::new(
                    path,
                    format!("Invalid value: {g:?}: resource group name can't contain '/'"),
                ));
            }
            if let Some(msg) = qualified_name_error(g) {
                return Err(ConfigError::new(
                    path,
                    format!("Invalid value: {g:?}: {msg}"),
                ));
            }
        }
        let mut args = NodeResourcesFitArgs {
            ignored_resources: raw.ignored_resources,
            ignored_resource_groups: raw.ignored_resource_groups,
            ..Self::default()
        };
        if let Some(strategy) = raw.scoring_strategy {
            let type_ = match strategy.type_.as_str() {
                "LeastAllocated" => ScoringStrategyType::LeastAllocated,
                "MostAllocated" => ScoringStrategyType::MostAllocated,
                "RequestedToCapacityRatio" => ScoringStrategyType::RequestedToCapacityRatio,
                other => {
                    return Err(ConfigError::new(
                        "scoringStrategy.type",
                        format!(
                            "Unsupported value: {other:?}: supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""
                        ),
                    ));
                }
            };
            let mut resources = strategy.resources;
            if resources.is_empty() {
                resources = default_resource_spec();
            }
            default_weights(&mut resources);
            for (i, r) in resources.iter().enumerate() {
                if r.weight <= 0 || r.weight > 100 {
                    return Err(ConfigError::new(
                        format!("scoringStrategy.resources[{i}].weight"),
                        format!(
                            "Invalid value: {}: resource weight of {} not in valid range (0, 100]",
                            r.weight, r.name
                        ),
                    ));
                }
            }
            let shape = match strategy.requested_to_capacity_ratio {
                Some(rtcr) => {
                    validate_shape(&rtcr.shape)
                        .map_err(|e| e.within("scoringStrategy.requestedToCapacityRatio.shape"))?;
                    rtcr.shape
                }
                None if type_ == ScoringStrategyType::RequestedToCapacityRatio => {
                    // Upstream dereferences the missing shape and panics; say what is missing.
                    return Err(ConfigError::new(
                        "scoringStrategy.requestedToCapacityRatio",
                        "Required value: the RequestedToCapacityRatio strategy needs requestedToCapacityRatio.shape",
                    ));
                }
                None => Vec::new(),
            };
            args.scoring_strategy = ScoringStrategy {
                type_,
                resources,
                shape: if type_ == ScoringStrategyType::RequestedToCapacityRatio {
                    shape
                } else {
                    Vec::new()
                },
            };
        }
        Ok(args)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeResourcesBalancedAllocationArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    resources: Vec<ResourceSpec>,
}

/// Upstream `config.NodeResourcesBalancedAllocationArgs`, defaulted and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeResourcesBalancedAllocationArgs {
    pub resources: Vec<ResourceSpec>,
}

impl Default for NodeResourcesBalancedAllocationArgs {
    fn default() -> Self {
        NodeResourcesBalancedAllocationArgs {
            resources: default_resource_spec(),
        }
    }
}

impl NodeResourcesBalancedAllocationArgs {
    /// Decodes, defaults and validates (`ValidateNodeResourcesBalancedAllocationArgs`).
    pub fn parse(args: Option<&Value>) -> Result<Self, ConfigError> {
        let Some(value) = args else {
            return Ok(Self::default());
        };
        let raw: NodeResourcesBalancedAllocationArgsRaw = decode(value)?;
        check_args_type(
            raw.api_version.as_deref(),
            raw.kind.as_deref(),
            "NodeResourcesBalancedAllocationArgs",
        )?;
        let mut resources = raw.resources;
        if resources.is_empty() {
            return Ok(Self::default());
        }
        default_weights(&mut resources);
        for (i, r) in resources.iter().enumerate() {
            if resources[..i].iter().any(|o| o.name == r.name) {
                return Err(ConfigError::new(
                    format!("resources[{i}].name"),
                    format!("Duplicate value: {:?}", r.name),
                ));
            }
            if r.weight != 1 {
                return Err(ConfigError::new(
                    format!("resources[{i}].weight"),
                    format!("Invalid value: {}: must be 1", r.weight),
                ));
            }
        }
        Ok(NodeResourcesBalancedAllocationArgs { resources })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RequirementJson {
    key: String,
    operator: String,
    #[serde(default, deserialize_with = "null_default")]
    values: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TermJson {
    #[serde(default, deserialize_with = "null_default")]
    match_expressions: Vec<RequirementJson>,
    #[serde(default, deserialize_with = "null_default")]
    match_fields: Vec<RequirementJson>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeSelectorJson {
    #[serde(default, deserialize_with = "null_default")]
    node_selector_terms: Vec<TermJson>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PreferredTermJson {
    #[serde(default)]
    weight: i32,
    #[serde(default)]
    preference: TermJson,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeAffinityJson {
    required_during_scheduling_ignored_during_execution: Option<NodeSelectorJson>,
    #[serde(default, deserialize_with = "null_default")]
    preferred_during_scheduling_ignored_during_execution: Vec<PreferredTermJson>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeAffinityArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    added_affinity: Option<NodeAffinityJson>,
}

/// Upstream `config.NodeAffinityArgs`: node affinity the profile adds to every pod's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinityArgs {
    pub added_affinity: Option<NodeAffinity>,
}

fn parse_operator(op: &str) -> Option<Operator> {
    Some(match op {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        "Gt" => Operator::Gt,
        "Lt" => Operator::Lt,
        _ => return None,
    })
}

/// Upstream `newNodeSelectorTerm` with its parse errors made fatal, as `ValidateNodeAffinityArgs`
/// does for the added affinity.
fn convert_term(term: &TermJson) -> Result<NodeSelectorTerm, ConfigError> {
    let mut out = NodeSelectorTerm::default();
    for (i, r) in term.match_expressions.iter().enumerate() {
        let path = format!("matchExpressions[{i}]");
        let Some(op) = parse_operator(&r.operator) else {
            return Err(ConfigError::new(
                format!("{path}.operator"),
                format!(
                    "Unsupported value: {:?}: supported values: \"DoesNotExist\", \"Exists\", \"Gt\", \"In\", \"Lt\", \"NotIn\"",
                    r.operator
                ),
            ));
        };
        if let Some((field, msg)) = label_requirement_error(&r.key, op, &r.values) {
            return Err(ConfigError::new(format!("{path}.{field}"), msg));
        }
        out.match_expressions
            .push(Requirement::new(r.key.clone(), op, r.values.clone()));
    }
    for (i, r) in term.match_fields.iter().enumerate() {
        let path = format!("matchFields[{i}]");
        let op = parse_operator(&r.operator).unwrap_or(Operator::Exists);
        if let Some((field, msg)) = field_requirement_error(op, &r.values) {
            let msg = if field == "operator" {
                format!(
                    "Unsupported value: {:?}: supported values: \"In\", \"NotIn\"",
                    r.operator
                )
            } else {
                msg
            };
            return Err(ConfigError::new(format!("{path}.{field}"), msg));
        }
        out.match_fields
            .push(Requirement::new(r.key.clone(), op, r.values.clone()));
    }
    Ok(out)
}

impl NodeAffinityArgs {
    /// Decodes and validates (`ValidateNodeAffinityArgs`). Error paths are relative to `args`.
    pub fn parse(args: Option<&Value>) -> Result<Self, ConfigError> {
        let Some(value) = args else {
            return Ok(Self::default());
        };
        let raw: NodeAffinityArgsRaw = decode(value)?;
        check_args_type(
            raw.api_version.as_deref(),
            raw.kind.as_deref(),
            "NodeAffinityArgs",
        )?;
        let Some(added) = raw.added_affinity else {
            return Ok(Self::default());
        };
        let mut affinity = NodeAffinity::default();
        if let Some(required) = &added.required_during_scheduling_ignored_during_execution {
            let base =
                "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
            let mut terms = Vec::new();
            for (i, t) in required.node_selector_terms.iter().enumerate() {
                terms.push(convert_term(t).map_err(|e| e.within(&format!("{base}[{i}]")))?);
            }
            affinity.required = Some(NodeSelector { terms });
        }
        let base = "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution";
        for (i, t) in added
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .enumerate()
        {
            let preference = convert_term(&t.preference)
                .map_err(|e| e.within(&format!("{base}[{i}].preference")))?;
            affinity.preferred.push(PreferredSchedulingTerm {
                weight: t.weight,
                preference,
            });
        }
        Ok(NodeAffinityArgs {
            added_affinity: Some(affinity),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: Value) -> ConfigError {
        parse_config(&value).expect_err("config should be rejected")
    }

    #[test]
    fn accepts_upstream_fields_it_does_not_model() {
        let config = parse_config(&json!({
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "parallelism": 16,
            "leaderElection": {"leaderElect": false, "resourceLock": "leases"},
            "clientConnection": {"kubeconfig": "/etc/kubernetes/scheduler.conf", "qps": 50},
            "enableProfiling": true,
            "podInitialBackoffSeconds": 1,
            "podMaxBackoffSeconds": 10,
            "delayCacheUntilActive": false,
            "extenders": [],
            "profiles": [{"schedulerName": "default-scheduler", "plugins": {"filter": {"enabled": null}}}],
        }))
        .unwrap();
        assert_eq!(config.profiles.len(), 1);
    }

    #[test]
    fn unknown_fields_are_errors_with_their_path() {
        let e = err(json!({"profiles": [{"schedulerName": "a", "plugins": {"filtre": {}}}]}));
        assert_eq!(e.path, "profiles[0].plugins.filtre");
        assert!(e.message.contains("unknown field `filtre`"), "{e}");
        let e = err(json!({"leaderElection": {"leaderElection": true}}));
        assert_eq!(e.path, "leaderElection.leaderElection");
        // Removed in v1 (it was a v1beta3 field).
        let e = err(json!({"healthzBindAddress": "0.0.0.0:10251"}));
        assert_eq!(e.path, "healthzBindAddress");
    }

    #[test]
    fn extenders_and_other_api_versions_are_rejected() {
        assert_eq!(
            err(json!({"extenders": [{"urlPrefix": "http://x"}]})).path,
            "extenders"
        );
        assert_eq!(
            err(json!({"apiVersion": "kubescheduler.config.k8s.io/v1beta3"})).path,
            "apiVersion"
        );
        assert_eq!(
            err(json!({"percentageOfNodesToScore": 101})).path,
            "percentageOfNodesToScore"
        );
    }

    #[test]
    fn profiles_need_unique_names() {
        let e = err(json!({"profiles": [{"schedulerName": "a"}, {}]}));
        assert_eq!(e.path, "profiles[1].schedulerName");
        let e = err(json!({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]}));
        assert_eq!(e.path, "profiles[1].schedulerName");
        let e = err(json!({"profiles": [
            {"schedulerName": "a"},
            {"schedulerName": "b", "plugins": {"queueSort": {"disabled": [{"name": "*"}]}}}
        ]}));
        assert_eq!(e.path, "profiles[1].plugins.queueSort");
        let e = err(json!({"profiles": [{"schedulerName": "a", "percentageOfNodesToScore": -1}]}));
        assert_eq!(e.path, "profiles[0].percentageOfNodesToScore");
    }

    #[test]
    fn bad_scoring_strategy_type_points_at_the_field() {
        let e = err(json!({"profiles": [{"pluginConfig": [
            {"name": "NodeAffinity", "args": {}},
            {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "Spread"}}}
        ]}]}));
        assert_eq!(
            e.path,
            "profiles[0].pluginConfig[1].args.scoringStrategy.type"
        );
        assert_eq!(
            e.message,
            "Unsupported value: \"Spread\": supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""
        );
    }

    #[test]
    fn fit_args_default_and_validate_as_upstream() {
        let a = NodeResourcesFitArgs::parse(None).unwrap();
        assert_eq!(a, NodeResourcesFitArgs::default());
        assert_eq!(
            a.scoring_strategy.type_,
            ScoringStrategyType::LeastAllocated
        );
        // SetDefaults_NodeResourcesFitArgs: empty resources → cpu, memory; weight 0 → 1.
        let a = NodeResourcesFitArgs::parse(Some(&json!({
            "scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu"}, {"name": "nvidia.com/gpu", "weight": 5}]}
        })))
        .unwrap();
        assert_eq!(a.scoring_strategy.resources[0].weight, 1);
        assert_eq!(a.scoring_strategy.resources[1].weight, 5);
        let a = NodeResourcesFitArgs::parse(Some(
            &json!({"scoringStrategy": {"type": "MostAllocated"}}),
        ))
        .unwrap();
        assert_eq!(a.scoring_strategy.resources, default_resource_spec());
        // least_allocated_test.go "resource with negative weight" / "resource weight larger
        // than MaxNodeScore": Invalid at scoringStrategy.resources[i].weight.
        let bad = |v: Value| NodeResourcesFitArgs::parse(Some(&v)).unwrap_err();
        let e = bad(
            json!({"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "memory", "weight": -1}, {"name": "cpu", "weight": 1}]}}),
        );
        assert_eq!(e.path, "scoringStrategy.resources[0].weight");
        let e = bad(
            json!({"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "memory", "weight": 1}, {"name": "cpu", "weight": 101}]}}),
        );
        assert_eq!(e.path, "scoringStrategy.resources[1].weight");
        assert_eq!(
            bad(json!({"scoringStrategy": {"resources": []}})).path,
            "scoringStrategy.type"
        );
        assert_eq!(
            bad(json!({"ignoredResourceGroups": ["example.com/x"]})).path,
            "ignoredResourceGroups[0]"
        );
        assert_eq!(
            bad(json!({"ignoredResources": ["bad name"]})).path,
            "ignoredResources[0]"
        );
        assert_eq!(bad(json!({"kind": "NodeAffinityArgs"})).path, "kind");
    }

    #[test]
    fn shapes_are_validated_as_upstream() {
        let bad = |shape: Value| {
            NodeResourcesFitArgs::parse(Some(&json!({"scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {"shape": shape}
            }})))
            .unwrap_err()
        };
        let base = "scoringStrategy.requestedToCapacityRatio.shape";
        assert_eq!(bad(json!([])).path, base);
        assert_eq!(
            bad(json!([{"utilization": 50, "score": 1}, {"utilization": 50, "score": 2}])).path,
            format!("{base}[1].utilization")
        );
        assert_eq!(
            bad(json!([{"utilization": 0, "score": 11}])).path,
            format!("{base}[0].score")
        );
        assert_eq!(
            bad(json!([{"utilization": 101, "score": 1}])).path,
            format!("{base}[0].utilization")
        );
        let e = NodeResourcesFitArgs::parse(Some(
            &json!({"scoringStrategy": {"type": "RequestedToCapacityRatio"}}),
        ))
        .unwrap_err();
        assert_eq!(e.path, "scoringStrategy.requestedToCapacityRatio");
        let ok = NodeResourcesFitArgs::parse(Some(&json!({"scoringStrategy": {
            "type": "RequestedToCapacityRatio",
            "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]}
        }})))
        .unwrap();
        assert_eq!(ok.scoring_strategy.shape.len(), 2);
    }

    #[test]
    fn balanced_allocation_args_validate_as_upstream() {
        assert_eq!(
            NodeResourcesBalancedAllocationArgs::parse(None)
                .unwrap()
                .resources,
            default_resource_spec()
        );
        let e = NodeResourcesBalancedAllocationArgs::parse(Some(
            &json!({"resources": [{"name": "cpu"}, {"name": "cpu"}]}),
        ))
        .unwrap_err();
        assert_eq!(e.path, "resources[1].name");
        let e = NodeResourcesBalancedAllocationArgs::parse(Some(
            &json!({"resources": [{"name": "cpu", "weight": 2}]}),
        ))
        .unwrap_err();
        assert_eq!(e.path, "resources[0].weight");
    }

    #[test]
    fn added_affinity_is_converted_and_validated() {
        let a = NodeAffinityArgs::parse(Some(&json!({"addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
            ]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 3, "preference": {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}}
            ]
        }})))
        .unwrap();
        let added = a.added_affinity.unwrap();
        assert_eq!(
            added.required.unwrap().terms[0].match_expressions[0].values,
            ["a", "b"]
        );
        assert_eq!(added.preferred[0].weight, 3);
        let e = NodeAffinityArgs::parse(Some(&json!({"addedAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}
            ]}
        }})))
        .unwrap_err();
        assert_eq!(
            e.path,
            "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator"
        );
        let e = NodeAffinityArgs::parse(Some(&json!({"addedAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "preference": {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}}
            ]
        }})))
        .unwrap_err();
        assert_eq!(
            e.path,
            "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchFields[0].values"
        );
    }
}
