//! `metrics:` — the recorder's settings (see [`crate::metrics`]):
//!
//! ```yaml
//! metrics: {resolution: 15s, nodes: false}   # the defaults; `enabled: false` records nothing
//! ```

use serde::Deserialize;
use serde_yaml::Value;

use super::diagnostic::Diagnostic;
use super::format::{Dur, section};
use super::source::{At, Seg, SourceRef};
use crate::metrics::MetricsConfig;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    resolution: Option<Dur>,
    #[serde(default)]
    nodes: Option<bool>,
}

/// Reads `metrics:`; problems go to `errors` and leave the defaults.
pub(crate) fn metrics(
    src: &SourceRef,
    value: Option<&Value>,
    errors: &mut Vec<Diagnostic>,
) -> MetricsConfig {
    let mut config = MetricsConfig::default();
    let Some(value) = value else {
        return config;
    };
    let at = [Seg::key("metrics")];
    let s: Section = match section(src, value, &at) {
        Ok(s) => s,
        Err(d) => {
            errors.push(d);
            return config;
        }
    };
    if let Some(enabled) = s.enabled {
        config.enabled = enabled;
    }
    if let Some(nodes) = s.nodes {
        config.nodes = nodes;
    }
    if let Some(Dur(d)) = s.resolution {
        if d.is_zero() {
            errors.push(src.at(
                &[Seg::key("metrics"), Seg::key("resolution")],
                At::Value,
                "metrics.resolution: must be more than 0 (for example 15s; long runs sample more coarsely on their own)",
            ));
        } else {
            config.resolution = d;
        }
    }
    config
}
