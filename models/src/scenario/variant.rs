//! A comparison variant's `set:`: scenario values it overrides, each a dotted path to a value
//! (`cluster.nodePools.general.count: 6`), applied to the scenario's document before it is
//! loaded, so that a variant may change anything the scenario says and is checked like it.
//!
//! A path segment selects a mapping's key (the longest key that matches, so that keys holding
//! dots such as `nvidia.com/gpu` are found) or, in a list, the element whose `name` it is or
//! the element at that index. The last segment may name a key the mapping does not have yet
//! (`traffic.mode` where the scenario leaves the mode to its default); any other segment that
//! selects nothing is an error listing what is there.

use serde_yaml::Value;

use super::diagnostic::Diagnostic;
use super::source::{At, Document, Seg, SourceRef};

/// One entry of a variant's `set:`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetValue {
    /// The dotted path as written.
    pub path: String,
    pub value: Value,
    /// 1-based line and column of the path's key in the scenario file.
    pub key_at: (usize, usize),
    /// 1-based line and column of the `set:` key: where problems of the patched scenario
    /// are reported.
    pub set_at: (usize, usize),
}

/// Whether any variant of the document's `compare:` has a `set:` (only then is the document
/// kept for the variants).
pub(crate) fn has_set(doc: &Value) -> bool {
    doc.get("compare")
        .and_then(|c| c.get("variants"))
        .and_then(Value::as_sequence)
        .is_some_and(|vs| {
            vs.iter()
                .any(|v| v.get("set").is_some_and(|s| !s.is_null()))
        })
}

/// Reads a variant's `set:` section at `at`.
pub(crate) fn set_values(
    src: &SourceRef,
    section: &Value,
    at: &[Seg],
) -> Result<Vec<SetValue>, Diagnostic> {
    let Value::Mapping(map) = section else {
        return Err(src.at(
            at,
            At::Value,
            "set must be a mapping from a dotted path to a value, e.g. `set: {cluster.nodePools.general.count: 6}`",
        ));
    };
    let set_pos = src.pos(at, At::Key);
    let mut out = Vec::with_capacity(map.len());
    for (k, value) in map {
        let Some(path) = k.as_str() else {
            return Err(src.at(
                at,
                At::Value,
                "set: each key is a dotted path (text), e.g. `cluster.nodePools.general.count`",
            ));
        };
        let mut key_path = at.to_vec();
        key_path.push(Seg::key(path));
        let problem = if path.is_empty() || path.split('.').any(str::is_empty) {
            Some(format!(
                "set: \"{path}\" is not a dotted path (segments separated by single dots, e.g. `cluster.nodePools.general.count`)"
            ))
        } else if path == "compare" || path.starts_with("compare.") {
            Some(format!(
                "set: \"{path}\": a variant cannot change the comparison itself"
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(src.at(&key_path, At::Key, message));
        }
        let key_pos = src.pos(&key_path, At::Key);
        out.push(SetValue {
            path: path.to_string(),
            value: value.clone(),
            key_at: (key_pos.line, key_pos.column),
            set_at: (set_pos.line, set_pos.column),
        });
    }
    Ok(out)
}

/// The scenario document with `variant`'s values set and without `compare:`, located at the
/// variant's `set:` key (positions in the patched document are not the file's).
pub(crate) fn patched(
    file: &str,
    doc: &Value,
    variant: &super::Variant,
) -> Result<Document, Diagnostic> {
    let mut value = doc.clone();
    if let Value::Mapping(m) = &mut value {
        m.remove("compare");
    }
    let mut set_at = (1, 1);
    for s in &variant.set {
        set_at = s.set_at;
        set_path(&mut value, &s.path, "", s.value.clone()).map_err(|why| {
            Diagnostic::new(
                file,
                s.key_at.0,
                s.key_at.1,
                format!("variant \"{}\": set {}: {why}", variant.name, s.path),
            )
        })?;
    }
    Ok(Document {
        value,
        source: SourceRef::unlocated(file, set_at.0, set_at.1),
    })
}

/// A problem of the patched scenario, said to be the variant's: every problem line of it.
pub(crate) fn in_variant(name: &str, mut d: Diagnostic) -> Diagnostic {
    let prefix = format!("variant \"{name}\": ");
    let mut lines = d.message.split('\n');
    let mut message = format!("{prefix}{}", lines.next().unwrap_or_default());
    for line in lines {
        message.push('\n');
        // Further problems are `file:line:column: message` lines (of the scenario file, or of
        // a manifest it names).
        match line.match_indices(": ").find(|(i, _)| {
            let mut parts = line[..*i].rsplitn(3, ':');
            let column = parts.next().unwrap_or_default();
            let row = parts.next().unwrap_or_default();
            [column, row]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        }) {
            Some((i, _)) => {
                message.push_str(&line[..i + 2]);
                message.push_str(&prefix);
                message.push_str(&line[i + 2..]);
            }
            None => message.push_str(line),
        }
    }
    d.message = message;
    d
}

/// Sets `value` at the dotted `path` below `node`; `walked` is the path so far, for messages.
fn set_path(node: &mut Value, path: &str, walked: &str, value: Value) -> Result<(), String> {
    let here = if walked.is_empty() {
        "the scenario".to_string()
    } else {
        walked.to_string()
    };
    let join = |seg: &str| {
        if walked.is_empty() {
            seg.to_string()
        } else {
            format!("{walked}.{seg}")
        }
    };
    if node.is_null() {
        // An empty section (`traffic:`) is a mapping still to be written.
        *node = Value::Mapping(serde_yaml::Mapping::new());
    }
    match node {
        Value::Mapping(map) => {
            let key = map
                .keys()
                .filter_map(Value::as_str)
                .filter(|k| {
                    path.strip_prefix(*k)
                        .is_some_and(|t| t.is_empty() || t.starts_with('.'))
                })
                .max_by_key(|k| k.len())
                .map(str::to_string);
            match key {
                Some(k) if k.len() == path.len() => {
                    map.insert(Value::String(k), value);
                    Ok(())
                }
                Some(k) => {
                    let rest = &path[k.len() + 1..];
                    let child = map
                        .get_mut(k.as_str())
                        .expect("the key was just found in this mapping");
                    set_path(child, rest, &join(&k), value)
                }
                None if !path.contains('.') => {
                    map.insert(Value::String(path.to_string()), value);
                    Ok(())
                }
                None => {
                    let seg = path.split('.').next().unwrap_or(path);
                    let names: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
                    Err(format!(
                        "{here} has no \"{seg}\"{} (it has: {})",
                        super::diagnostic::did_you_mean(seg, names.iter().copied()),
                        if names.is_empty() {
                            "nothing".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                }
            }
        }
        Value::Sequence(items) => {
            let names: Vec<Option<String>> = items
                .iter()
                .map(|i| i.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            // The longest name that matches, as for keys: names may hold dots.
            let by_name = names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| Some((i, n.as_deref()?)))
                .filter(|(_, n)| {
                    path.strip_prefix(*n)
                        .is_some_and(|t| t.is_empty() || t.starts_with('.'))
                })
                .max_by_key(|(_, n)| n.len())
                .map(|(i, n)| (i, n.len()));
            let seg = path.split('.').next().unwrap_or(path);
            let (index, len) = match by_name {
                Some(found) => found,
                None => match seg.parse::<usize>() {
                    Ok(i) if i < items.len() => (i, seg.len()),
                    _ => {
                        let listed: Vec<&str> =
                            names.iter().flatten().map(String::as_str).collect();
                        let indices = match items.len() {
                            0 => "the list is empty".to_string(),
                            1 => "or index 0".to_string(),
                            n => format!("or an index 0 to {}", n - 1),
                        };
                        return Err(format!(
                            "{here} has no element named \"{seg}\"{} (names: {}; {indices})",
                            super::diagnostic::did_you_mean(seg, listed.iter().copied()),
                            if listed.is_empty() {
                                "none".to_string()
                            } else {
                                listed.join(", ")
                            }
                        ));
                    }
                },
            };
            let child = &mut items[index];
            if len == path.len() {
                *child = value;
                Ok(())
            } else {
                set_path(child, &path[len + 1..], &join(&path[..len]), value)
            }
        }
        _ => Err(format!(
            "{here} is a single value, with nothing below it to set"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_yaml::from_str(
            "cluster:\n  nodePools:\n    - {name: general, count: 2, resources: {nvidia.com/gpu: 1}}\n    - {name: gpu.big, count: 1}\ntraffic:\n",
        )
        .expect("yaml")
    }

    fn set(path: &str, value: &str) -> Result<Value, String> {
        let mut d = doc();
        set_path(
            &mut d,
            path,
            "",
            serde_yaml::from_str(value).expect("value"),
        )?;
        Ok(d)
    }

    #[test]
    fn paths_select_keys_names_and_indices() {
        let d = set("cluster.nodePools.general.count", "6").expect("set");
        assert_eq!(d["cluster"]["nodePools"][0]["count"], Value::from(6));
        let d = set("cluster.nodePools.1.count", "3").expect("set");
        assert_eq!(d["cluster"]["nodePools"][1]["count"], Value::from(3));
        // Names and keys holding dots are matched whole.
        let d = set("cluster.nodePools.gpu.big.count", "4").expect("set");
        assert_eq!(d["cluster"]["nodePools"][1]["count"], Value::from(4));
        let d = set("cluster.nodePools.general.resources.nvidia.com/gpu", "2").expect("set");
        assert_eq!(
            d["cluster"]["nodePools"][0]["resources"]["nvidia.com/gpu"],
            Value::from(2)
        );
        // A last key the scenario leaves out, under an empty section.
        let d = set("traffic.mode", "request").expect("set");
        assert_eq!(d["traffic"]["mode"], Value::from("request"));
    }

    #[test]
    fn a_path_that_selects_nothing_lists_what_is_there() {
        let e = set("cluster.nodePools.genral.count", "6").expect_err("no such pool");
        assert!(
            e.contains("cluster.nodePools has no element named \"genral\""),
            "{e}"
        );
        assert!(
            e.contains("general, gpu.big") && e.contains("0 to 1"),
            "{e}"
        );
        let e = set("clustr.nodePools.general.count", "6").expect_err("no such key");
        assert!(e.contains("the scenario has no \"clustr\""), "{e}");
        assert!(e.contains("cluster, traffic"), "{e}");
        let e = set("cluster.nodePools.general.count.more", "6").expect_err("a leaf");
        assert!(
            e.contains("cluster.nodePools.general.count is a single value"),
            "{e}"
        );
    }

    #[test]
    fn problems_of_the_patched_scenario_name_the_variant() {
        let d = Diagnostic::new("f.yaml", 3, 5, "first problem\nf.yaml:3:5: second problem");
        let d = in_variant("six", d);
        assert_eq!(
            d.message,
            "variant \"six\": first problem\nf.yaml:3:5: variant \"six\": second problem"
        );
    }
}
