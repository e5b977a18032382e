//! A scheduling profile: the plugins of one scheduler name per extension point, with score
//! weights, built from a `KubeSchedulerProfile` the way upstream does it — the profile's plugin
//! sets merged into the default set (`mergePlugins` in `apis/config/v1/default_plugins.go`),
//! then `multiPoint` expanded onto every extension point each plugin implements
//! (`expandMultiPointPlugins` in `framework/runtime/framework.go`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::scheduler::ConfigError;
use crate::scheduler::config::{KubeSchedulerProfile, PluginRef, PluginSet, Plugins};
use crate::scheduler::framework::{ExtensionPoints, MAX_NODE_SCORE, Plugin};
use crate::scheduler::registry::{
    REMOVED_UPSTREAM_PLUGINS, Registry, default_multi_point, is_upstream_plugin,
};

/// The extension points with their configuration field and upstream interface names.
pub const POINTS: [(ExtensionPoints, &str, &str); 12] = [
    (
        ExtensionPoints::PRE_ENQUEUE,
        "preEnqueue",
        "PreEnqueuePlugin",
    ),
    (ExtensionPoints::QUEUE_SORT, "queueSort", "QueueSortPlugin"),
    (ExtensionPoints::PRE_FILTER, "preFilter", "PreFilterPlugin"),
    (ExtensionPoints::FILTER, "filter", "FilterPlugin"),
    (
        ExtensionPoints::POST_FILTER,
        "postFilter",
        "PostFilterPlugin",
    ),
    (ExtensionPoints::PRE_SCORE, "preScore", "PreScorePlugin"),
    (ExtensionPoints::SCORE, "score", "ScorePlugin"),
    (ExtensionPoints::RESERVE, "reserve", "ReservePlugin"),
    (ExtensionPoints::PERMIT, "permit", "PermitPlugin"),
    (ExtensionPoints::PRE_BIND, "preBind", "PreBindPlugin"),
    (ExtensionPoints::BIND, "bind", "BindPlugin"),
    (ExtensionPoints::POST_BIND, "postBind", "PostBindPlugin"),
];

fn point_index(point: ExtensionPoints) -> Option<usize> {
    POINTS.iter().position(|(p, _, _)| *p == point)
}

/// A plugin enabled at an extension point, with its score weight (1 outside Score).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnabledPlugin {
    pub name: String,
    pub weight: i64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub plugin: usize,
    pub weight: i64,
}

pub struct Profile {
    pub scheduler_name: String,
    /// The profile's own `percentageOfNodesToScore`; `None` defers to the global one.
    pub percentage_of_nodes_to_score: Option<i32>,
    pub(crate) plugins: Vec<Box<dyn Plugin>>,
    /// Per entry of `POINTS`, the plugins in the order upstream runs them.
    pub(crate) points: [Vec<Slot>; 12],
    /// Plugins that run at Filter (Score) without their PreFilter (PreScore) point: the
    /// framework still calls that point for their cycle state, ignoring its status.
    pub(crate) pre_filter_state_only: Vec<usize>,
    pub(crate) pre_score_state_only: Vec<usize>,
    unmodelled: Vec<String>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("scheduler_name", &self.scheduler_name)
            .field(
                "percentage_of_nodes_to_score",
                &self.percentage_of_nodes_to_score,
            )
            .field(
                "plugins",
                &self
                    .plugins
                    .iter()
                    .map(|p| p.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .field("unmodelled", &self.unmodelled)
            .finish()
    }
}

/// Upstream `mergePluginSet`: drop disabled defaults (all of them for `*`), let a custom entry
/// of the same name replace a default in place, append the other custom entries.
pub fn merge_plugin_set(default: &PluginSet, custom: &PluginSet) -> PluginSet {
    let disabled: Vec<PluginRef> = custom
        .disabled
        .iter()
        .chain(&default.disabled)
        .map(|p| PluginRef::new(&p.name, None))
        .collect();
    let disabled_names: BTreeSet<&str> = disabled.iter().map(|p| p.name.as_str()).collect();
    // A map keeps the last of duplicated custom entries, as upstream's does.
    let custom_by_name: BTreeMap<&str, (usize, &PluginRef)> = custom
        .enabled
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), (i, p)))
        .collect();
    let mut replaced = BTreeSet::new();
    let mut enabled = Vec::new();
    if !disabled_names.contains("*") {
        for d in &default.enabled {
            if disabled_names.contains(d.name.as_str()) {
                continue;
            }
            match custom_by_name.get(d.name.as_str()) {
                Some((i, p)) => {
                    replaced.insert(*i);
                    enabled.push((*p).clone());
                }
                None => enabled.push(d.clone()),
            }
        }
    }
    enabled.extend(
        custom
            .enabled
            .iter()
            .enumerate()
            .filter(|(i, _)| !replaced.contains(i))
            .map(|(_, p)| p.clone()),
    );
    PluginSet { enabled, disabled }
}

/// Upstream `mergePlugins(getDefaultPlugins(), custom)`: defaults live only in `multiPoint`.
pub fn merge_plugins(custom: Option<&Plugins>) -> Plugins {
    let default_multi = PluginSet {
        enabled: default_multi_point(),
        disabled: Vec::new(),
    };
    let Some(custom) = custom else {
        return Plugins {
            multi_point: default_multi,
            ..Plugins::default()
        };
    };
    let empty = PluginSet::default();
    let m = |c: &PluginSet| merge_plugin_set(&empty, c);
    Plugins {
        pre_enqueue: m(&custom.pre_enqueue),
        queue_sort: m(&custom.queue_sort),
        pre_filter: m(&custom.pre_filter),
        filter: m(&custom.filter),
        post_filter: m(&custom.post_filter),
        pre_score: m(&custom.pre_score),
        score: m(&custom.score),
        reserve: m(&custom.reserve),
        permit: m(&custom.permit),
        pre_bind: m(&custom.pre_bind),
        bind: m(&custom.bind),
        post_bind: m(&custom.post_bind),
        multi_point: merge_plugin_set(&default_multi, &custom.multi_point),
    }
}

fn check_name(
    name: &str,
    registry: &Registry,
    path: String,
    allow_star: bool,
) -> Result<(), ConfigError> {
    if (allow_star && name == "*") || registry.contains(name) || is_upstream_plugin(name) {
        return Ok(());
    }
    if REMOVED_UPSTREAM_PLUGINS.contains(&name) {
        return Err(ConfigError::new(
            path,
            format!(
                "plugin {name:?} was removed from kube-scheduler and cannot be used in a kubescheduler.config.k8s.io/v1 profile"
            ),
        ));
    }
    let registered: Vec<&str> = registry.names().collect();
    Err(ConfigError::new(
        path,
        format!(
            "unknown plugin {name:?}: it is neither an upstream kube-scheduler plugin nor registered with kubesim (registered: {})",
            registered.join(", ")
        ),
    ))
}

fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}.{rest}")
    }
}

impl Profile {
    /// Builds the profile. `path` locates `profile` in the configuration (`profiles[0]`), empty
    /// for the implicit default profile.
    pub fn build(
        profile: &KubeSchedulerProfile,
        scheduler_name: &str,
        registry: &Registry,
        path: &str,
    ) -> Result<Profile, ConfigError> {
        if let Some(custom) = &profile.plugins {
            for field in POINTS.iter().map(|(_, f, _)| *f).chain(["multiPoint"]) {
                let Some(set) = custom.point(field) else {
                    continue;
                };
                for (j, p) in set.enabled.iter().enumerate() {
                    check_name(
                        &p.name,
                        registry,
                        join(path, &format!("plugins.{field}.enabled[{j}].name")),
                        false,
                    )?;
                }
                for (j, p) in set.disabled.iter().enumerate() {
                    check_name(
                        &p.name,
                        registry,
                        join(path, &format!("plugins.{field}.disabled[{j}].name")),
                        true,
                    )?;
                }
            }
        }
        let mut args_by_name = BTreeMap::new();
        for (j, pc) in profile.plugin_config.iter().enumerate() {
            check_name(
                &pc.name,
                registry,
                join(path, &format!("pluginConfig[{j}].name")),
                false,
            )?;
            if args_by_name
                .insert(pc.name.as_str(), (j, pc.args.as_ref()))
                .is_some()
            {
                return Err(ConfigError::new(
                    join(path, &format!("pluginConfig[{j}]")),
                    format!("repeated config for plugin {}", pc.name),
                ));
            }
        }
        let merged = merge_plugins(profile.plugins.as_ref());

        // Upstream `pluginsNeeded`, then one instance per plugin shared by all its points.
        let mut plugins: Vec<Box<dyn Plugin>> = Vec::new();
        let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut unmodelled: Vec<String> = Vec::new();
        let all_sets = std::iter::once(&merged.multi_point)
            .chain(POINTS.iter().filter_map(|(_, f, _)| merged.point(f)));
        for set in all_sets {
            for p in &set.enabled {
                if index_of.contains_key(&p.name) || unmodelled.contains(&p.name) {
                    continue;
                }
                let Some(factory) = registry.get(&p.name) else {
                    unmodelled.push(p.name.clone());
                    continue;
                };
                let (args_path, args) = match args_by_name.get(p.name.as_str()) {
                    Some((j, args)) => (join(path, &format!("pluginConfig[{j}].args")), *args),
                    None => (path.to_string(), None),
                };
                let plugin = factory(args).map_err(|e| {
                    ConfigError::new(args_path, format!("initializing plugin {:?}: {e}", p.name))
                })?;
                index_of.insert(p.name.clone(), plugins.len());
                plugins.push(plugin);
            }
        }
        unmodelled.sort();

        let implements =
            |i: usize, point: ExtensionPoints| plugins[i].extension_points().contains(point);
        let mut points: [Vec<Slot>; 12] = Default::default();
        for (k, (point, field, iface)) in POINTS.iter().enumerate() {
            let Some(set) = merged.point(field) else {
                continue;
            };
            // updatePluginList: the plugins enabled at this very point.
            let mut explicit: Vec<usize> = Vec::new();
            for (j, p) in set.enabled.iter().enumerate() {
                let Some(&i) = index_of.get(&p.name) else {
                    continue;
                };
                let at = || join(path, &format!("plugins.{field}.enabled[{j}]"));
                if !implements(i, *point) {
                    return Err(ConfigError::new(
                        at(),
                        format!("plugin {:?} does not extend {iface} plugin", p.name),
                    ));
                }
                if explicit.contains(&i) {
                    return Err(ConfigError::new(
                        at(),
                        format!("plugin {:?} already registered as {iface:?}", p.name),
                    ));
                }
                explicit.push(i);
            }
            let disabled: BTreeSet<&str> = set.disabled.iter().map(|p| p.name.as_str()).collect();
            let order = if disabled.contains("*") {
                explicit
            } else {
                let mut multi = Vec::new();
                let mut overridden = Vec::new();
                for p in &merged.multi_point.enabled {
                    let Some(&i) = index_of.get(&p.name) else {
                        continue;
                    };
                    if !implements(i, *point) || disabled.contains(p.name.as_str()) {
                        continue;
                    }
                    if explicit.contains(&i) {
                        overridden.push(i);
                        continue;
                    }
                    if multi.contains(&i) {
                        return Err(ConfigError::new(
                            join(path, "plugins.multiPoint"),
                            format!("plugin {:?} already registered as {iface:?}", p.name),
                        ));
                    }
                    multi.push(i);
                }
                // Overrides first (in their explicit order), then multiPoint, then the rest.
                let mut order: Vec<usize> = explicit
                    .iter()
                    .copied()
                    .filter(|i| overridden.contains(i))
                    .collect();
                order.extend(multi);
                order.extend(explicit.iter().copied().filter(|i| !overridden.contains(i)));
                order
            };
            points[k] = order
                .into_iter()
                .map(|plugin| Slot { plugin, weight: 1 })
                .collect();
        }

        // getScoreWeights: Score-point weights take precedence over multiPoint ones; 0 means 1.
        let mut weights: BTreeMap<usize, i64> = BTreeMap::new();
        let mut total: i64 = 0;
        for p in merged
            .score
            .enabled
            .iter()
            .chain(&merged.multi_point.enabled)
        {
            let Some(&i) = index_of.get(&p.name) else {
                continue;
            };
            if !implements(i, ExtensionPoints::SCORE) || weights.contains_key(&i) {
                continue;
            }
            let weight = match i64::from(p.weight.unwrap_or(0)) {
                0 => 1,
                w => w,
            };
            let added = weight
                .checked_mul(MAX_NODE_SCORE)
                .and_then(|w| total.checked_add(w));
            total = added.ok_or_else(|| {
                ConfigError::new(
                    join(path, "plugins"),
                    "total score of Score plugins could overflow",
                )
            })?;
            weights.insert(i, weight);
        }
        let score_index = point_index(ExtensionPoints::SCORE).unwrap_or(6);
        for slot in &mut points[score_index] {
            slot.weight = weights.get(&slot.plugin).copied().unwrap_or(1);
        }

        let count = |point| point_index(point).map_or(0, |k| points[k].len());
        let queue_sorts = count(ExtensionPoints::QUEUE_SORT);
        if queue_sorts != 1 {
            return Err(ConfigError::new(
                join(path, "plugins"),
                format!(
                    "only one queue sort plugin required for profile with scheduler name {scheduler_name:?}, but got {queue_sorts}"
                ),
            ));
        }
        if count(ExtensionPoints::BIND) == 0 {
            return Err(ConfigError::new(
                join(path, "plugins"),
                format!(
                    "at least one bind plugin is needed for profile with scheduler name {scheduler_name:?}"
                ),
            ));
        }

        let at = |point| {
            point_index(point)
                .map(|k| points[k].iter().map(|s| s.plugin).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let (pre_filter, filter) = (at(ExtensionPoints::PRE_FILTER), at(ExtensionPoints::FILTER));
        let pre_filter_state_only = filter
            .iter()
            .copied()
            .filter(|&i| implements(i, ExtensionPoints::PRE_FILTER) && !pre_filter.contains(&i))
            .collect();
        let (pre_score, score) = (at(ExtensionPoints::PRE_SCORE), at(ExtensionPoints::SCORE));
        let pre_score_state_only = score
            .iter()
            .copied()
            .filter(|&i| implements(i, ExtensionPoints::PRE_SCORE) && !pre_score.contains(&i))
            .collect();

        Ok(Profile {
            scheduler_name: scheduler_name.to_string(),
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score,
            plugins,
            points,
            pre_filter_state_only,
            pre_score_state_only,
            unmodelled,
        })
    }

    pub(crate) fn slots(&self, point: ExtensionPoints) -> &[Slot] {
        point_index(point).map_or(&[], |k| &self.points[k])
    }

    /// The plugins enabled at `point`, in the order they run, with score weights.
    pub fn enabled(&self, point: ExtensionPoints) -> Vec<EnabledPlugin> {
        self.slots(point)
            .iter()
            .map(|s| EnabledPlugin {
                name: self.plugins[s.plugin].name().to_string(),
                weight: s.weight,
            })
            .collect()
    }

    /// Upstream plugins this profile enables that kubesim does not model yet (sorted); the
    /// profile runs without them.
    pub fn unmodelled_plugins(&self) -> &[String] {
        &self.unmodelled
    }
}
