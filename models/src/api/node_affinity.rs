//! Node selectors and required node affinity as upstream's `component-helpers/scheduling/corev1/
//! nodeaffinity` matches them: shared by the scheduler's NodeAffinity plugin and the DaemonSet
//! controller (which decides where daemon pods belong with the same rules).

use super::validation::{label_value_error, qualified_name_error};
use super::{Node, NodeSelector, NodeSelectorTerm, Operator, Pod};

/// Upstream `metav1.ObjectNameField`, the only node field a selector can use.
pub const OBJECT_NAME_FIELD: &str = "metadata.name";

/// Why a label requirement would fail upstream `labels.NewRequirement`: the offending field
/// (`key`, `values`, `values[1]`) and the message. Such a term never matches a node.
pub fn label_requirement_error(
    key: &str,
    operator: Operator,
    values: &[String],
) -> Option<(String, String)> {
    if let Some(msg) = qualified_name_error(key) {
        return Some(("key".into(), format!("Invalid value: {key:?}: {msg}")));
    }
    let problem = match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            Some("Required value: for 'in', 'notin' operators, values set can't be empty")
        }
        Operator::Equals | Operator::NotEquals if values.len() != 1 => {
            Some("Invalid value: exact-match compatibility requires one single value")
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            Some("Forbidden: values set must be empty for exists and does not exist")
        }
        Operator::Gt | Operator::Lt if values.len() != 1 => {
            Some("Required value: for 'Gt', 'Lt' operators, exactly one value is required")
        }
        _ => None,
    };
    if let Some(msg) = problem {
        return Some(("values".into(), msg.to_string()));
    }
    for (i, v) in values.iter().enumerate() {
        if matches!(operator, Operator::Gt | Operator::Lt) && v.parse::<i64>().is_err() {
            return Some((
                format!("values[{i}]"),
                format!(
                    "Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                ),
            ));
        }
        if let Some(msg) = label_value_error(v) {
            return Some((
                format!("values[{i}]"),
                format!("Invalid value: {v:?}: {msg}"),
            ));
        }
    }
    None
}

/// Why a field requirement would fail upstream `nodeSelectorRequirementsAsFieldSelector`.
pub fn field_requirement_error(operator: Operator, values: &[String]) -> Option<(String, String)> {
    if !matches!(operator, Operator::In | Operator::NotIn) {
        return Some((
            "operator".into(),
            "Unsupported value: supported values: \"In\", \"NotIn\"".into(),
        ));
    }
    if values.len() != 1 {
        return Some((
            "values".into(),
            format!("Invalid value: {values:?}: must have one element"),
        ));
    }
    None
}

/// The first parse error of a term, as `matchExpressions[0].key: message`.
pub fn term_error(term: &NodeSelectorTerm) -> Option<String> {
    for (i, r) in term.match_expressions.iter().enumerate() {
        if let Some((field, msg)) = label_requirement_error(&r.key, r.operator, &r.values) {
            return Some(format!("matchExpressions[{i}].{field}: {msg}"));
        }
    }
    for (i, r) in term.match_fields.iter().enumerate() {
        if let Some((field, msg)) = field_requirement_error(r.operator, &r.values) {
            return Some(format!("matchFields[{i}].{field}: {msg}"));
        }
    }
    None
}

pub fn is_empty_term(term: &NodeSelectorTerm) -> bool {
    term.match_expressions.is_empty() && term.match_fields.is_empty()
}

/// Upstream `nodeSelectorTerm.match` for a term that parsed: expressions against the labels,
/// fields against `metadata.name` (absent fields read as ""), ignored for a nameless node.
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    if !term
        .match_expressions
        .iter()
        .all(|r| r.matches(&node.labels))
    {
        return false;
    }
    if !term.match_fields.is_empty() && !node.name.is_empty() {
        return term.match_fields.iter().all(|r| {
            let value = if r.key == OBJECT_NAME_FIELD {
                node.name.as_str()
            } else {
                ""
            };
            let wanted = r.values.first().map_or("", String::as_str);
            match r.operator {
                Operator::In => value == wanted,
                Operator::NotIn => value != wanted,
                _ => false,
            }
        });
    }
    true
}

/// Upstream `LazyErrorNodeSelector.Match`: terms are ORed; empty terms and terms that do not
/// parse match nothing. `valid[i]` caches whether term `i` parses.
pub fn selector_matches(selector: &NodeSelector, valid: &[bool], node: &Node) -> bool {
    selector.terms.iter().enumerate().any(|(i, t)| {
        let ok = match valid.get(i) {
            Some(v) if valid.len() == selector.terms.len() => *v,
            _ => term_error(t).is_none(),
        };
        ok && !is_empty_term(t) && term_matches(t, node)
    })
}

/// Upstream `RequiredNodeAffinity.Match`: `spec.nodeSelector` (equality on every pair) and the
/// required affinity terms.
pub fn required_matches(pod: &Pod, node: &Node, valid: &[bool]) -> bool {
    if !pod.node_selector.iter().all(|r| r.matches(&node.labels)) {
        return false;
    }
    match pod.node_affinity.as_ref().and_then(|a| a.required.as_ref()) {
        Some(selector) => selector_matches(selector, valid, node),
        None => true,
    }
}
