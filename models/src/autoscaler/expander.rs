//! Choosing among scale-up options (upstream `expander/`): `least-waste` (the default),
//! `most-pods`, `priority` and `random`. Each but `random` is a filter that keeps the equally
//! best options; as upstream's chain strategy, a single survivor wins and ties go to a random
//! pick (from the caller's seeded stream).

use std::collections::BTreeMap;

use rand::Rng;

/// `--expander`.
#[derive(Clone, Debug, Default)]
pub enum Expander {
    #[default]
    LeastWaste,
    MostPods,
    Random,
    /// The `cluster-autoscaler-priority-expander` ConfigMap's `priorities`: per priority, the
    /// node group name patterns.
    Priority(Priorities),
}

impl Expander {
    pub fn name(&self) -> &'static str {
        match self {
            Expander::LeastWaste => "least-waste",
            Expander::MostPods => "most-pods",
            Expander::Random => "random",
            Expander::Priority(_) => "priority",
        }
    }
}

/// Upstream `priorities`: priority → name regexps.
#[derive(Clone, Debug, Default)]
pub struct Priorities(pub BTreeMap<i64, Vec<regex::Regex>>);

impl Priorities {
    /// Compiles the patterns; the error names the priority and pattern as upstream does.
    pub fn compile(raw: &BTreeMap<i64, Vec<String>>) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        for (prio, list) in raw {
            let mut res = Vec::new();
            for re in list {
                let compiled = regex::Regex::new(re).map_err(|e| {
                    format!("Can't compile regexp rule for priority {prio} and rule {re}: {e}")
                })?;
                res.push(compiled);
            }
            out.insert(*prio, res);
        }
        Ok(Priorities(out))
    }
}

/// Upstream `expander.Option`, reduced to what the expanders read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpansionOption {
    pub group: String,
    pub node_count: usize,
    /// Pods the new nodes would take, and the sums of their cpu and memory requests.
    pub pods: usize,
    pub pods_cpu_milli: i64,
    pub pods_memory: i64,
    /// The template node's cpu and memory capacity.
    pub node_cpu_milli: i64,
    pub node_memory: i64,
}

/// Upstream `leastwaste.BestOptions`: the options whose new nodes leave the least fraction of
/// cpu plus memory unrequested.
pub fn least_waste(options: &[ExpansionOption]) -> Vec<usize> {
    let mut best: Vec<usize> = Vec::new();
    let mut least = 0.0;
    for (i, o) in options.iter().enumerate() {
        let n = i64::try_from(o.node_count).unwrap_or(i64::MAX);
        let avail_cpu = o.node_cpu_milli.saturating_mul(n);
        let avail_mem = o.node_memory.saturating_mul(n);
        let wasted_cpu = (avail_cpu - o.pods_cpu_milli) as f64 / avail_cpu as f64;
        let wasted_mem = (avail_mem - o.pods_memory) as f64 / avail_mem as f64;
        let score = wasted_cpu + wasted_mem;
        if score == least {
            best.push(i);
        }
        if best.is_empty() || score < least {
            least = score;
            best = vec![i];
        }
    }
    best
}

/// Upstream `mostpods.BestOptions`: the options that schedule the most pods.
pub fn most_pods(options: &[ExpansionOption]) -> Vec<usize> {
    let mut max = 0;
    let mut best = Vec::new();
    for (i, o) in options.iter().enumerate() {
        if o.pods == max {
            best.push(i);
        } else if o.pods > max {
            max = o.pods;
            best = vec![i];
        }
    }
    best
}

/// Upstream `priority.BestOptions`: the options whose group matches the highest priority;
/// every option when none matches. Also returns the groups no pattern matches, which upstream
/// reports with `PriorityConfigMapNotMatchedGroup`.
pub fn priority(options: &[ExpansionOption], priorities: &Priorities) -> (Vec<usize>, Vec<String>) {
    let mut max: Option<i64> = None;
    let mut best = Vec::new();
    let mut unmatched = Vec::new();
    for (i, o) in options.iter().enumerate() {
        let matched = priorities
            .0
            .iter()
            .rev()
            .find(|(_, res)| res.iter().any(|re| re.is_match(&o.group)))
            .map(|(p, _)| *p);
        let Some(p) = matched else {
            unmatched.push(o.group.clone());
            continue;
        };
        match max {
            Some(m) if p < m => {}
            Some(m) if p == m => best.push(i),
            _ => {
                max = Some(p);
                best = vec![i];
            }
        }
    }
    if best.is_empty() {
        return ((0..options.len()).collect(), unmatched);
    }
    (best, unmatched)
}

/// Upstream's chain strategy: the expander's filter, then a random pick among ties. Returns
/// the chosen option and the groups the priority expander found no pattern for.
pub fn best_option(
    expander: &Expander,
    options: &[ExpansionOption],
    rng: &mut impl Rng,
) -> (Option<usize>, Vec<String>) {
    if options.is_empty() {
        return (None, Vec::new());
    }
    let (kept, unmatched) = match expander {
        Expander::LeastWaste => (least_waste(options), Vec::new()),
        Expander::MostPods => (most_pods(options), Vec::new()),
        Expander::Random => ((0..options.len()).collect(), Vec::new()),
        Expander::Priority(p) => priority(options, p),
    };
    let chosen = match kept.len() {
        0 => None,
        1 => Some(kept[0]),
        n => Some(kept[rng.random_range(0..n)]),
    };
    (chosen, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(group: &str, node: (i64, i64), count: usize, pods: &[(i64, i64)]) -> ExpansionOption {
        ExpansionOption {
            group: group.into(),
            node_count: count,
            pods: pods.len(),
            pods_cpu_milli: pods.iter().map(|p| p.0).sum(),
            pods_memory: pods.iter().map(|p| p.1).sum(),
            node_cpu_milli: node.0,
            node_memory: node.1,
        }
    }

    // upstream expander/waste/waste_test.go TestLeastWaste: pods of 500m / 1000Mi; a
    // "balanced" node of 16 pods' worth beats "highmem" (twice the memory); "lowcpu" (half the
    // cpu) beats both.
    #[test]
    fn least_waste_table() {
        let (cpu, mem) = (500, 1000 * 1024 * 1024);
        let balanced = option("balanced", (16 * cpu, 16 * mem), 1, &[]);
        assert_eq!(least_waste(std::slice::from_ref(&balanced)), vec![0]);
        let pod = [(cpu, mem)];
        let balanced = option("balanced", (16 * cpu, 16 * mem), 1, &pod);
        assert_eq!(least_waste(std::slice::from_ref(&balanced)), vec![0]);
        let highmem = option("highmem", (16 * cpu, 32 * mem), 1, &pod);
        assert_eq!(least_waste(&[balanced.clone(), highmem.clone()]), vec![0]);
        let lowcpu = option("lowcpu", (8 * cpu, 16 * mem), 1, &pod);
        assert_eq!(least_waste(&[balanced, highmem, lowcpu]), vec![2]);
    }

    // upstream expander/mostpods/mostpods.go BestOptions: the options with the most pods, all
    // of them on a tie.
    #[test]
    fn most_pods_keeps_ties() {
        let a = option("a", (1000, 1000), 1, &[(1, 1)]);
        let b = option("b", (1000, 1000), 1, &[(1, 1), (1, 1)]);
        let c = option("c", (1000, 1000), 2, &[(1, 1), (1, 1)]);
        assert_eq!(most_pods(&[a.clone(), b, c]), vec![1, 2]);
        assert_eq!(most_pods(&[a]), vec![0]);
        assert!(most_pods(&[]).is_empty());
    }

    fn prio(config: &[(i64, &[&str])]) -> Priorities {
        let raw = config
            .iter()
            .map(|(p, l)| (*p, l.iter().map(|s| s.to_string()).collect()))
            .collect();
        Priorities::compile(&raw).expect("valid")
    }

    // upstream expander/priority/priority_test.go, config
    // {5: [".*t2\\.micro.*"], 10: [".*t2\\.large.*", ".*t3\\.large.*"], 50: [".*m4\\.4xlarge.*"]}.
    #[test]
    fn priority_table() {
        let config = prio(&[
            (5, &[r".*t2\.micro.*"]),
            (10, &[r".*t2\.large.*", r".*t3\.large.*"]),
            (50, &[r".*m4\.4xlarge.*"]),
        ]);
        let o = |g: &str| option(g, (1, 1), 1, &[]);
        let (micro, large, t3, m4) = (
            o("my-asg.t2.micro"),
            o("my-asg.t2.large"),
            o("my-asg.t3.large"),
            o("my-asg.m4.4xlarge"),
        );
        // TestPriorityExpanderCorrecltyFiltersSingleMatchingOptionOutOfOne
        assert_eq!(priority(std::slice::from_ref(&large), &config).0, vec![0]);
        // ...SingleMatchingOptionOutOfMany
        assert_eq!(priority(&[large.clone(), m4.clone()], &config).0, vec![1]);
        // ...TwoMatchingOptionsOutOfMany
        assert_eq!(
            priority(&[large.clone(), t3.clone(), micro.clone()], &config).0,
            vec![0, 1]
        );
        // ...FallsBackToAllWhenNoMatches
        assert_eq!(
            priority(&[large.clone(), t3.clone()], &config).0,
            vec![0, 1]
        );
        // TestPriorityExpanderFiltersToHigherPriorityMatch: {5: [".*"], 10: [".t2\\.large.*"]}
        let wildcard = prio(&[(5, &[".*"]), (10, &[r".t2\.large.*"])]);
        assert_eq!(
            priority(&[large.clone(), micro.clone()], &wildcard).0,
            vec![0]
        );
        // TestPriorityExpanderCorrecltyHandlesConfigUpdate: {10: [".*t2\\.large.*"]} keeps
        // t2.large and reports the other two groups as not found.
        let one = prio(&[(10, &[r".*t2\.large.*"])]);
        let (best, unmatched) = priority(&[large, t3, m4], &one);
        assert_eq!(best, vec![0]);
        assert_eq!(unmatched, vec!["my-asg.t3.large", "my-asg.m4.4xlarge"]);
    }

    #[test]
    fn bad_pattern_names_priority_and_rule() {
        let raw = BTreeMap::from([(10, vec!["(".to_string()])]);
        let err = Priorities::compile(&raw).expect_err("bad regexp");
        assert!(
            err.starts_with("Can't compile regexp rule for priority 10 and rule (:"),
            "{err}"
        );
    }

    #[test]
    fn chain_picks_single_survivor_or_random_tie() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let a = option("a", (1000, 1000), 1, &[(500, 500)]);
        let b = option("b", (2000, 2000), 1, &[(500, 500)]);
        let (chosen, _) = best_option(&Expander::LeastWaste, &[a.clone(), b.clone()], &mut rng);
        assert_eq!(chosen, Some(0));
        let mut seen = [false; 2];
        for _ in 0..50 {
            let (c, _) = best_option(&Expander::Random, &[a.clone(), b.clone()], &mut rng);
            seen[c.expect("an option")] = true;
        }
        assert_eq!(seen, [true, true]);
        assert_eq!(best_option(&Expander::Random, &[], &mut rng).0, None);
    }
}
