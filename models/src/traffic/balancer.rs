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

#[cfg(test)]
mod tests {
    use super::*;

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
