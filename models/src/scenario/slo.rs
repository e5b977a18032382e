//! The `slo:` section (see [`crate::slo`]):
//!
//! ```yaml
//! slo:
//!   availability: 99.9%        # every service where traffic enters, as its clients see it
//!   latencyP99: 300ms          # also latencyP50, latencyP90, latencyP95, latencyP999
//!   window: 1h                 # optional: every 1h window must meet it too
//!   warmUp: 1h                 # optional: windows starting before 1h are not judged
//!   services:                  # objectives for one service, by Service name
//!     checkout: {availability: 99.5%, latencyP95: 500ms}
//! ```
//!
//! Availability is a percentage (`99.9%`) or a fraction (`0.999`), above 0 and at most 100%.

use serde_yaml::Value;
use sim_core::SimDuration;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::source::{At, Seg, SourceRef};
use crate::slo::{Objective, Quantile, SloSpec, Target};

const AVAILABILITY: &str = "availability";
const WINDOW: &str = "window";
const WARM_UP: &str = "warmUp";
const SERVICES: &str = "services";

fn objective_keys() -> impl Iterator<Item = &'static str> {
    std::iter::once(AVAILABILITY).chain(Quantile::ALL.iter().map(|q| q.key()))
}

/// Reads `slo:`; problems go to `errors` (every one found, not only the first).
pub(crate) fn slo(
    src: &SourceRef,
    value: Option<&Value>,
    errors: &mut Vec<Diagnostic>,
) -> Option<SloSpec> {
    let value = value?;
    let root = [Seg::key("slo")];
    let Value::Mapping(map) = value else {
        errors.push(src.at(
            &root,
            At::Value,
            "slo: expected a mapping such as {availability: 99.9%, latencyP99: 300ms}",
        ));
        return None;
    };
    let mut spec = SloSpec::default();
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            errors.push(src.at(&root, At::Value, "slo: keys must be strings"));
            continue;
        };
        let at: Vec<Seg> = root.iter().cloned().chain([Seg::key(key)]).collect();
        match key {
            WINDOW => match duration(v) {
                Some(d) if !d.is_zero() => spec.window = Some(d),
                _ => errors.push(src.at(
                    &at,
                    At::Value,
                    "slo.window: expected a positive duration such as 1h or 5m",
                )),
            },
            WARM_UP => match duration(v) {
                Some(d) => spec.warm_up = d,
                None => errors.push(src.at(
                    &at,
                    At::Value,
                    "slo.warmUp: expected a duration such as 30m (windows that start before it are not judged)",
                )),
            },
            SERVICES => {
                let Value::Mapping(services) = v else {
                    errors.push(src.at(
                        &at,
                        At::Value,
                        "slo.services: expected a mapping from Service name to objectives, e.g. {checkout: {availability: 99.5%}}",
                    ));
                    continue;
                };
                for (name, objectives) in services {
                    let Some(name) = name.as_str() else {
                        errors.push(src.at(
                            &at,
                            At::Value,
                            "slo.services: keys must be Service names",
                        ));
                        continue;
                    };
                    let at: Vec<Seg> = at.iter().cloned().chain([Seg::key(name)]).collect();
                    let Value::Mapping(objectives) = objectives else {
                        errors.push(src.at(
                            &at,
                            At::Value,
                            format!("slo.services.{name}: expected objectives such as {{availability: 99.5%, latencyP95: 500ms}}"),
                        ));
                        continue;
                    };
                    for (k, v) in objectives {
                        let key = k.as_str().unwrap_or("");
                        let at: Vec<Seg> = at.iter().cloned().chain([Seg::key(key)]).collect();
                        match target(src, key, v, &at) {
                            Ok(target) => spec.objectives.push(Objective {
                                service: Some(name.to_string()),
                                target,
                            }),
                            Err(d) => errors.push(d),
                        }
                    }
                }
            }
            _ => match target(src, key, v, &at) {
                Ok(target) => spec.objectives.push(Objective {
                    service: None,
                    target,
                }),
                Err(d) => errors.push(d),
            },
        }
    }
    Some(spec)
}

fn duration(v: &Value) -> Option<SimDuration> {
    v.as_str()?.trim().parse().ok()
}

fn target(src: &SourceRef, key: &str, v: &Value, at: &[Seg]) -> Result<Target, Diagnostic> {
    if key == AVAILABILITY {
        return availability(v).map(Target::Availability).ok_or_else(|| {
            src.at(
                at,
                At::Value,
                "availability: expected a percentage above 0 and at most 100%, such as 99.9%",
            )
        });
    }
    if let Some(q) = Quantile::ALL.into_iter().find(|q| q.key() == key) {
        return match duration(v) {
            Some(d) if !d.is_zero() => Ok(Target::Latency(q, d)),
            _ => Err(src.at(
                at,
                At::Value,
                format!("{key}: expected a positive duration such as 300ms"),
            )),
        };
    }
    let mut expected: Vec<&str> = objective_keys().collect();
    if at.len() == 2 {
        expected.extend([WINDOW, WARM_UP, SERVICES]);
    }
    Err(src.at(
        at,
        At::Key,
        format!(
            "unknown field \"{key}\", expected one of {}{}",
            expected.join(", "),
            did_you_mean(key, expected.iter().copied())
        ),
    ))
}

fn availability(v: &Value) -> Option<f64> {
    let fraction = match v {
        Value::String(s) => {
            let s = s.trim();
            match s.strip_suffix('%') {
                // Rounded to 1e-8 so that `99.9%` is exactly the double nearest 0.999.
                Some(p) => (p.trim().parse::<f64>().ok()? * 1e6).round() / 1e8,
                None => s.parse::<f64>().ok()?,
            }
        }
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (fraction.is_finite() && fraction > 0.0 && fraction <= 1.0).then_some(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Option<SloSpec>, Vec<String>) {
        let docs = super::super::source::parse_documents("s.yaml", text).expect("test YAML");
        let (value, src) = (&docs[0].value, &docs[0].source);
        let mut errors = Vec::new();
        let spec = slo(src, value.get("slo"), &mut errors);
        (spec, errors.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn reads_objectives_for_entry_services_and_named_ones() {
        let (spec, errors) = read(
            "slo:\n  availability: 99.9%\n  latencyP99: 300ms\n  window: 1h\n  services:\n    checkout: {availability: 0.995, latencyP95: 500ms}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let spec = spec.unwrap();
        assert_eq!(spec.window, Some(SimDuration::from_secs(3600)));
        assert_eq!(
            spec.objectives,
            vec![
                Objective {
                    service: None,
                    target: Target::Availability(0.999)
                },
                Objective {
                    service: None,
                    target: Target::Latency(Quantile::P99, SimDuration::from_millis(300))
                },
                Objective {
                    service: Some("checkout".into()),
                    target: Target::Availability(0.995)
                },
                Objective {
                    service: Some("checkout".into()),
                    target: Target::Latency(Quantile::P95, SimDuration::from_millis(500))
                },
            ]
        );
    }

    #[test]
    fn bad_values_are_located_with_the_likely_fix() {
        let (_, errors) = read(
            "slo:\n  availability: 120%\n  latencyP98: 1s\n  window: soon\n  services:\n    web: {latencyP99: 0s}\n",
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("s.yaml:2:17:"), "{}", errors[0]);
        assert!(errors[0].contains("at most 100%"));
        assert!(errors[1].starts_with("s.yaml:3:3:"), "{}", errors[1]);
        assert!(errors[1].contains("did you mean"), "{}", errors[1]);
        assert!(errors[2].contains("slo.window"));
        assert!(errors[3].starts_with("s.yaml:6:23:"), "{}", errors[3]);
    }
}
