//! kubesim's own scenario format, as serde sees it. Every struct denies unknown fields: a typo
//! in a scenario must never be silently ignored. Sections that hold Kubernetes objects or file
//! references stay `serde_yaml::Value`s and are interpreted by hand, so that their errors can
//! say precisely what is expected.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use sim_core::SimDuration;

use super::diagnostic::Diagnostic;
use super::source::{At, Seg, SourceRef, path_string, segs_from_path};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub seed: Option<Seed>,
    #[serde(default)]
    pub duration: Option<Dur>,
    #[serde(default)]
    pub cluster: Option<ClusterSection>,
    #[serde(default)]
    pub workloads: Option<Vec<serde_yaml::Value>>,
    #[serde(default)]
    pub scheduler: Option<serde_yaml::Value>,
    /// Read by hand (`behaviour.rs`): its keys are workload names.
    #[serde(default, alias = "behavior")]
    pub behaviour: Option<serde_yaml::Value>,
    /// Read entry by entry (`timeline.rs`), so that every bad entry is reported.
    #[serde(default)]
    pub timeline: Vec<serde_yaml::Value>,
    /// `{watchLatency, apiLatency}`, read by `behaviour.rs`.
    #[serde(default)]
    pub control_plane: Option<serde_yaml::Value>,
    #[serde(default)]
    pub compare: Option<CompareSection>,
    /// `startTime: 2025-11-28T00:00:00Z`: the wall-clock moment the run starts at.
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub storage: Option<StorageSection>,
    /// Stochastic faults, read entry by entry (`faults.rs`).
    #[serde(default)]
    pub faults: Vec<serde_yaml::Value>,
    /// Convergence checks, read by `control_plane.rs`.
    #[serde(default)]
    pub expect: Option<serde_yaml::Value>,
    /// Service-level objectives, read by `slo.rs`.
    #[serde(default)]
    pub slo: Option<serde_yaml::Value>,
    /// The cluster autoscaler's options, read by `autoscaler.rs`.
    #[serde(default)]
    pub cluster_autoscaler: Option<serde_yaml::Value>,
    /// The metrics recorder's settings, read by `metrics.rs`.
    #[serde(default)]
    pub metrics: Option<serde_yaml::Value>,
    /// Entry rates and the call graph, read by `traffic.rs`.
    #[serde(default)]
    pub traffic: Option<serde_yaml::Value>,
}

/// `storage: {defaultClass: false}` turns off the built-in default StorageClass.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct StorageSection {
    #[serde(default)]
    pub default_class: Option<bool>,
}

/// Variants of the scenario to run side by side on the same seeds (`kubesim compare`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CompareSection {
    /// A list of seeds, or a count `n` meaning the scenario's seed and the `n - 1` after it.
    #[serde(default)]
    pub seeds: Option<serde_yaml::Value>,
    pub variants: Vec<VariantSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct VariantSection {
    pub name: String,
    /// `{config: …}` or `{file: …}` like the top-level `scheduler`; absent = the scenario's own.
    #[serde(default)]
    pub scheduler: Option<serde_yaml::Value>,
    /// `{dotted.path: value}`: scenario values this variant overrides (`variant.rs`).
    #[serde(default)]
    pub set: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ClusterSection {
    #[serde(default)]
    pub node_pools: Option<Vec<NodePoolSection>>,
    #[serde(default)]
    pub nodes: Option<Vec<serde_yaml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NodePoolSection {
    pub name: String,
    pub count: i64,
    pub resources: BTreeMap<String, QuantityText>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    /// `topology.kubernetes.io/region`; derived from each node's zone when absent.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub cost_per_hour: Option<f64>,
    #[serde(default)]
    pub taints: Vec<TaintSection>,
    /// `{min, max, provisioningDelay, maxNodeProvisionTime}`, read by `autoscaler.rs`.
    #[serde(default)]
    pub autoscaling: Option<serde_yaml::Value>,
    #[serde(default)]
    pub spot: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaintSection {
    pub key: String,
    #[serde(default)]
    pub value: String,
    pub effect: String,
}

/// A seed: any 64-bit unsigned integer.
#[derive(Debug)]
pub(crate) struct Seed(pub u64);

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number from 0 to 18446744073709551615")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seed, E> {
                Ok(Seed(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seed, E> {
                u64::try_from(v)
                    .map(Seed)
                    .map_err(|_| E::custom(format!("seed must be 0 or more, got {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration written the Kubernetes way (`250ms`, `1h30m`, `7d`).
#[derive(Debug)]
pub(crate) struct Dur(pub SimDuration);

fn parse_duration<E: de::Error>(text: &str) -> Result<SimDuration, E> {
    text.trim().parse::<SimDuration>().map_err(E::custom)
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\", \"5m\" or \"1h30m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                if v == 0 {
                    return Ok(Dur(SimDuration::ZERO));
                }
                Err(E::custom(format!(
                    "duration {v} needs a unit, e.g. \"{v}s\", \"{v}m\" or \"{v}h\""
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!("negative duration {v} is not allowed")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration or an inclusive range `lo..hi` of durations.
#[derive(Debug)]
pub(crate) struct DurRange(pub SimDuration, pub SimDuration);

impl<'de> Deserialize<'de> for DurRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"2s\" or a range such as \"1s..3s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurRange, E> {
                let Some((lo, hi)) = v.split_once("..") else {
                    let d = parse_duration(v)?;
                    return Ok(DurRange(d, d));
                };
                let (lo, hi) = (parse_duration::<E>(lo)?, parse_duration::<E>(hi)?);
                if lo > hi {
                    return Err(E::custom(format!(
                        "the range \"{v}\" is empty: its lower bound must not exceed its upper bound"
                    )));
                }
                Ok(DurRange(lo, hi))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurRange, E> {
                Dur::deserialize(de::value::U64Deserializer::<E>::new(v))
                    .map(|d| DurRange(d.0, d.0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurRange, E> {
                Dur::deserialize(de::value::I64Deserializer::<E>::new(v))
                    .map(|d| DurRange(d.0, d.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A resource quantity as written: `"4"`, `4`, `0.5` and `16Gi` are all quantities in
/// Kubernetes manifests, so numbers are accepted and kept as their text.
#[derive(Debug)]
pub(crate) struct QuantityText(pub String);

impl<'de> Deserialize<'de> for QuantityText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QuantityText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as \"4\", \"500m\" or \"16Gi\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<QuantityText, E> {
                Ok(QuantityText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes the part of the scenario at `at` (whose value is `value`) into `T`, locating a
/// type error or an unknown field at its place in the file.
pub(crate) fn section<T: de::DeserializeOwned>(
    src: &SourceRef,
    value: &serde_yaml::Value,
    at: &[Seg],
) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(value.clone()).map_err(|err| {
        let mut segs = at.to_vec();
        segs.extend(segs_from_path(err.path()));
        let (message, unknown) =
            describe_serde_error(&path_string(&segs), &err.inner().to_string());
        src.at(
            &segs,
            if unknown.is_some() {
                At::Key
            } else {
                At::Value
            },
            message,
        )
    })
}

/// Rewrites serde's messages into the style of our diagnostics. Returns the message and, for
/// an unknown field, its name (the error then points at the key).
pub(crate) fn describe_serde_error(path: &str, message: &str) -> (String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let expected = expected.trim_start_matches(", expected ");
        let names: Vec<&str> = expected
            .trim_start_matches("one of ")
            .split(['`', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "or")
            .collect();
        let list = if expected.starts_with("there are no fields") {
            "no fields are allowed here".to_string()
        } else {
            format!("expected one of {}", names.join(", "))
        };
        let hint = super::diagnostic::did_you_mean(field, names.iter().copied());
        return (
            format!("unknown field \"{field}\", {list}{hint}"),
            Some(field.to_string()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.trim_end_matches('`');
        let place = if path.is_empty() {
            "the scenario".to_string()
        } else {
            path.to_string()
        };
        return (
            format!("{place} is missing the required field \"{field}\""),
            None,
        );
    }
    let mut text = super::source::in_user_words(message);
    if text.contains("expected a string")
        && ["integer", "floating point", "boolean"]
            .iter()
            .any(|t| text.contains(&format!("invalid type: {t}")))
    {
        text.push_str(" (quote the value to make it a string)");
    }
    if path.is_empty() {
        (text, None)
    } else {
        (format!("{path}: {text}"), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_messages_list_fields_and_suggest() {
        let (msg, field) = describe_serde_error(
            "cluster.nodePools[0].cout",
            "unknown field `cout`, expected one of `name`, `count`, `resources`",
        );
        assert_eq!(field.as_deref(), Some("cout"));
        assert_eq!(
            msg,
            "unknown field \"cout\", expected one of name, count, resources (did you mean \"count\"?)"
        );
        let (msg, _) =
            describe_serde_error("x", "unknown field `fiel`, expected `file` or `inline`");
        assert_eq!(
            msg,
            "unknown field \"fiel\", expected one of file, inline (did you mean \"file\"?)"
        );
    }

    #[test]
    fn durations_and_ranges() {
        let r: DurRange = serde_yaml::from_str("\"1s..3s\"").unwrap();
        assert_eq!(
            (r.0, r.1),
            (SimDuration::from_secs(1), SimDuration::from_secs(3))
        );
        let r: DurRange = serde_yaml::from_str("2s").unwrap();
        assert_eq!(
            (r.0, r.1),
            (SimDuration::from_secs(2), SimDuration::from_secs(2))
        );
        assert!(serde_yaml::from_str::<DurRange>("3s..1s").is_err());
        assert!(
            serde_yaml::from_str::<Dur>("30")
                .unwrap_err()
                .to_string()
                .contains("needs a unit")
        );
        assert!(
            serde_yaml::from_str::<Seed>("-1")
                .unwrap_err()
                .to_string()
                .contains("seed must be 0 or more")
        );
        assert_eq!(
            serde_yaml::from_str::<QuantityText>("0.5").unwrap().0,
            "0.5"
        );
    }
}
