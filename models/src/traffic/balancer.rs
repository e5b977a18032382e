//! How the proxy spreads a service's requests over its endpoints: round-robin, random and
//! least-request, each weighted by the endpoints' weights. Pure: the state (a cursor) and the
//! random draw come from the caller.
//!
//! - round-robin: a cursor walks the endpoints' cumulative weights, so an endpoint of weight
//!   `w` takes `w` consecutive turns per cycle (IPVS `wrr` spreads them; the shares are the
//!   same);
//! - random: an endpoint with probability `w / Σw` (kube-proxy's iptables mode, with equal
//!   weights);
//! - least-request: the endpoint with the fewest requests in flight per unit of weight
//!   (`(in_flight + 1) / w`, as Envoy's weighted least-request scores hosts), joining the
//!   least loaded of all rather than Envoy's default power-of-two choices; ties go to the
//!   first after a round-robin cursor, so equal endpoints share turns.

/// The balancing policy of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Balancer {
    #[default]
    RoundRobin,
    Random,
    LeastRequest,
}

impl Balancer {
    pub fn parse(text: &str) -> Option<Balancer> {
        match text {
            "roundRobin" | "round-robin" | "rr" => Some(Balancer::RoundRobin),
            "random" => Some(Balancer::Random),
            "leastRequest" | "least-request" => Some(Balancer::LeastRequest),
            _ => None,
        }
    }
}

/// Cumulative weights: `cum[i] = w[0] + … + w[i]`.
pub fn cumulative(weights: impl IntoIterator<Item = u32>, out: &mut Vec<u64>) {
    out.clear();
    let mut sum = 0u64;
    for w in weights {
        sum += u64::from(w);
        out.push(sum);
    }
}

/// The endpoint whose cumulative-weight range holds `x` (`x < total`).
fn by_cumulative(cum: &[u64], x: u64) -> Option<usize> {
    let i = cum.partition_point(|&c| c <= x);
    (i < cum.len()).then_some(i)
}

/// Weighted round-robin: the endpoint at `cursor` in the cycle of total weight; advances it.
pub fn pick_round_robin(cum: &[u64], cursor: &mut u64) -> Option<usize> {
    let total = *cum.last()?;
    if total == 0 {
        return None;
    }
    let x = *cursor % total;
    *cursor = cursor.wrapping_add(1);
    by_cumulative(cum, x)
}

/// Weighted random: `draw` is a uniform 64-bit number; endpoint `i` with probability
/// `w[i] / Σw` (up to 2^-64 bias from the multiply-shift reduction).
pub fn pick_random(cum: &[u64], draw: u64) -> Option<usize> {
    let total = *cum.last()?;
    if total == 0 {
        return None;
    }
    let x = ((u128::from(draw) * u128::from(total)) >> 64) as u64;
    by_cumulative(cum, x)
}

/// Weighted least-request: the endpoint minimising `(in_flight(i) + 1) / weight(i)` over
/// endpoints of non-zero weight; among equals, the first at or after `cursor` (mod n), which
/// then advances.
pub fn pick_least_request(
    n: usize,
    weight: impl Fn(usize) -> u32,
    in_flight: impl Fn(usize) -> u32,
    cursor: &mut u64,
) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let start = (*cursor % n as u64) as usize;
    *cursor = cursor.wrapping_add(1);
    let mut best: Option<(usize, u64, u64)> = None; // (index, in_flight + 1, weight)
    for k in 0..n {
        let i = (start + k) % n;
        let w = u64::from(weight(i));
        if w == 0 {
            continue;
        }
        let f = u64::from(in_flight(i)) + 1;
        let better = match best {
            None => true,
            // f / w < bf / bw without division.
            Some((_, bf, bw)) => u128::from(f) * u128::from(bw) < u128::from(bf) * u128::from(w),
        };
        if better {
            best = Some((i, f, w));
        }
    }
    best.map(|b| b.0)
}

/// Least-request over equally weighted endpoints, in O(log n) per pick and per load change:
/// the pick of [`pick_least_request`] (fewest in flight; among equals the first at or after
/// `cursor`, cyclically), kept as a min-tree over the endpoints' loads so that a pick need not
/// scan every endpoint (with least-request the loads are even, so a scan rarely stops early).
#[derive(Clone, Debug, Default)]
pub struct LeastLoaded {
    n: usize,
    /// Leaves at `[size, size + n)`, padding leaves `u32::MAX`; node `k` holds the minimum of
    /// its children `2k` and `2k + 1`.
    tree: Vec<u32>,
}

impl LeastLoaded {
    pub fn new(loads: impl ExactSizeIterator<Item = u32>) -> LeastLoaded {
        let n = loads.len();
        let size = n.next_power_of_two().max(1);
        let mut tree = vec![u32::MAX; 2 * size];
        for (i, l) in loads.enumerate() {
            tree[size + i] = l;
        }
        for k in (1..size).rev() {
            tree[k] = tree[2 * k].min(tree[2 * k + 1]);
        }
        LeastLoaded { n, tree }
    }

    fn size(&self) -> usize {
        self.tree.len() / 2
    }

    /// Endpoint `i` now has `load` requests in flight.
    pub fn set(&mut self, i: usize, load: u32) {
        if i >= self.n {
            return;
        }
        let mut k = self.size() + i;
        self.tree[k] = load;
        while k > 1 {
            k /= 2;
            let m = self.tree[2 * k].min(self.tree[2 * k + 1]);
            if self.tree[k] == m {
                break;
            }
            self.tree[k] = m;
        }
    }

    /// The first endpoint at or after `from` whose load is `target` (the tree's minimum).
    fn first_from(&self, from: usize, target: u32) -> Option<usize> {
        let size = self.size();
        // Walk up from the leaf: find the first subtree right of (or at) `from` holding the
        // target, then descend into its leftmost such leaf.
        let mut k = size + from;
        if self.tree[k] != target {
            loop {
                // Move to the next subtree to the right at this level, climbing while `k` is
                // a right child.
                while k % 2 == 1 {
                    k /= 2;
                    if k == 0 {
                        return None;
                    }
                }
                k += 1;
                if self.tree[k] == target {
                    break;
                }
            }
            while k < size {
                k = if self.tree[2 * k] == target {
                    2 * k
                } else {
                    2 * k + 1
                };
            }
        }
        (k - size < self.n).then_some(k - size)
    }

    /// The least-loaded endpoint, ties to the first at or after `cursor` (mod n); advances
    /// `cursor`.
    pub fn pick(&self, cursor: &mut u64) -> Option<usize> {
        if self.n == 0 {
            return None;
        }
        let start = (*cursor % self.n as u64) as usize;
        *cursor = cursor.wrapping_add(1);
        let min = self.tree[1];
        self.first_from(start, min)
            .or_else(|| self.first_from(0, min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_loaded_index_picks_what_a_scan_picks() {
        // Against pick_least_request on equal weights, over loads changing at random.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [1usize, 2, 3, 5, 8, 13, 64, 100] {
            let mut loads: Vec<u32> = (0..n).map(|_| (next() % 4) as u32).collect();
            let mut index = LeastLoaded::new(loads.iter().copied());
            let (mut c1, mut c2) = (7u64, 7u64);
            for _ in 0..2000 {
                let i = (next() % n as u64) as usize;
                loads[i] = (next() % 5) as u32;
                index.set(i, loads[i]);
                let scan = pick_least_request(n, |_| 1, |k| loads[k], &mut c1);
                assert_eq!(index.pick(&mut c2), scan, "n {n}, loads {loads:?}");
            }
        }
        assert_eq!(LeastLoaded::new(std::iter::empty()).pick(&mut 0), None);
    }

    fn cum(w: &[u32]) -> Vec<u64> {
        let mut c = Vec::new();
        cumulative(w.iter().copied(), &mut c);
        c
    }

    #[test]
    fn round_robin_cycles_by_weight() {
        let c = cum(&[1, 2, 1]);
        let mut cursor = 0;
        let picks: Vec<usize> = (0..8)
            .filter_map(|_| pick_round_robin(&c, &mut cursor))
            .collect();
        assert_eq!(picks, vec![0, 1, 1, 2, 0, 1, 1, 2]);
        assert_eq!(pick_round_robin(&cum(&[]), &mut cursor), None);
        assert_eq!(pick_round_robin(&cum(&[0, 0]), &mut cursor), None);
        // A zero-weight endpoint never gets a turn.
        let mut cursor = 0;
        let c = cum(&[1, 0, 1]);
        let picks: Vec<usize> = (0..4)
            .filter_map(|_| pick_round_robin(&c, &mut cursor))
            .collect();
        assert_eq!(picks, vec![0, 2, 0, 2]);
    }

    #[test]
    fn random_spreads_by_weight() {
        let c = cum(&[1, 3]);
        assert_eq!(pick_random(&c, 0), Some(0));
        assert_eq!(pick_random(&c, u64::MAX / 4 - 1), Some(0));
        assert_eq!(pick_random(&c, u64::MAX / 4 + 1), Some(1));
        assert_eq!(pick_random(&c, u64::MAX), Some(1));
        assert_eq!(pick_random(&cum(&[0]), 7), None);
    }

    #[test]
    fn least_request_joins_the_least_loaded_and_rotates_ties() {
        let load = [3u32, 1, 1, 2];
        let mut cursor = 0;
        let pick = |cursor: &mut u64| pick_least_request(4, |_| 1, |i| load[i], cursor);
        assert_eq!(pick(&mut cursor), Some(1));
        assert_eq!(pick(&mut cursor), Some(1));
        assert_eq!(pick(&mut cursor), Some(2)); // the cursor is now past 1
        assert_eq!(pick(&mut cursor), Some(1)); // wraps around
        // Weight doubles an endpoint's share: (2+1)/2 < (1+1)/1.
        let mut cursor = 0;
        assert_eq!(
            pick_least_request(2, |i| [1, 2][i], |i| [1, 2][i], &mut cursor),
            Some(1)
        );
        assert_eq!(pick_least_request(0, |_| 1, |_| 0, &mut cursor), None);
        assert_eq!(pick_least_request(2, |_| 0, |_| 0, &mut cursor), None);
    }
}
