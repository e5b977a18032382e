//! Queueing formulas for the fluid mode and for validating the request mode: M/M/1, Erlang C,
//! M/M/c mean response time and response-time percentiles. Rates are per second, times in
//! seconds; every function returns `None` (or infinity) instead of panicking when the queue is
//! unstable (ρ ≥ 1) or an argument is out of range.

/// M/M/1 mean response time (waiting + service), `1 / (μ − λ)`.
pub fn mm1_mean_response(lambda: f64, mu: f64) -> Option<f64> {
    (lambda >= 0.0 && mu > 0.0 && lambda < mu).then(|| 1.0 / (mu - lambda))
}

/// Erlang C: the probability that an arrival waits, for `c` servers and offered load
/// `a = λ/μ` erlangs. Computed through the Erlang B recursion `B(0) = 1`,
/// `B(k) = a·B(k−1) / (k + a·B(k−1))`, which is stable for any `c`, then
/// `C = c·B / (c − a·(1 − B))`.
pub fn erlang_c(c: u32, a: f64) -> Option<f64> {
    if c == 0 || a.is_nan() || a < 0.0 || a >= f64::from(c) {
        return None;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let c = f64::from(c);
    Some(c * b / (c - a * (1.0 - b)))
}

/// M/M/c mean waiting time in the queue, `C(c, a) / (cμ − λ)`.
pub fn mmc_mean_wait(c: u32, lambda: f64, mu: f64) -> Option<f64> {
    if mu <= 0.0 {
        return None;
    }
    let pw = erlang_c(c, lambda / mu)?;
    Some(pw / (f64::from(c) * mu - lambda))
}

/// M/M/c mean response time: mean wait plus the mean service time `1/μ`.
pub fn mmc_mean_response(c: u32, lambda: f64, mu: f64) -> Option<f64> {
    Some(mmc_mean_wait(c, lambda, mu)? + 1.0 / mu)
}

/// `P(W > t)` for the M/M/c FCFS waiting time: `C(c, a)·e^{−(cμ−λ)t}`.
pub fn mmc_wait_exceeds(c: u32, lambda: f64, mu: f64, t: f64) -> Option<f64> {
    let pw = erlang_c(c, lambda / mu)?;
    Some(pw * (-(f64::from(c) * mu - lambda) * t.max(0.0)).exp())
}

/// The `q`-quantile of the M/M/c waiting time: 0 when `q ≤ 1 − C`, else
/// `ln(C / (1 − q)) / (cμ − λ)`.
pub fn mmc_wait_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&q) {
        return None;
    }
    let pw = erlang_c(c, lambda / mu)?;
    if 1.0 - q >= pw {
        return Some(0.0);
    }
    Some((pw / (1.0 - q)).ln() / (f64::from(c) * mu - lambda))
}

/// `P(T > t)` for the M/M/c response time `T = W + S` with exponential service: with
/// probability `1 − C` there is no wait and `T = S`; otherwise `T` is the sum of two
/// exponentials with rates `θ = cμ − λ` and `μ` (hypoexponential).
pub fn mmc_response_exceeds(c: u32, lambda: f64, mu: f64, t: f64) -> Option<f64> {
    let pw = erlang_c(c, lambda / mu)?;
    let t = t.max(0.0);
    let theta = f64::from(c) * mu - lambda;
    let no_wait = (-mu * t).exp();
    let sum = if (theta - mu).abs() < 1e-12 * mu {
        (-mu * t).exp() * (1.0 + mu * t)
    } else {
        (mu * (-theta * t).exp() - theta * (-mu * t).exp()) / (mu - theta)
    };
    Some((1.0 - pw) * no_wait + pw * sum)
}

/// The `q`-quantile of the M/M/c response time, by bisection on [`mmc_response_exceeds`]
/// (monotone in `t`), to a relative precision of 1e-9.
pub fn mmc_response_quantile(c: u32, lambda: f64, mu: f64, q: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&q) {
        return None;
    }
    let target = 1.0 - q;
    let mut hi = 1.0 / mu;
    while mmc_response_exceeds(c, lambda, mu, hi)? > target {
        hi *= 2.0;
        if !hi.is_finite() {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mmc_response_exceeds(c, lambda, mu, mid)? > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-9 * hi {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn mm1_mean_response_is_one_over_mu_minus_lambda() {
        // Kleinrock, Queueing Systems Vol. 1 (1975), eq. 3.26: T = (1/μ)/(1−ρ).
        assert_eq!(mm1_mean_response(5.0, 10.0), Some(0.2));
        assert_eq!(mm1_mean_response(8.0, 10.0), Some(0.5));
        assert_eq!(mm1_mean_response(10.0, 10.0), None);
        assert_eq!(mm1_mean_response(12.0, 10.0), None);
    }

    #[test]
    fn erlang_c_of_one_server_is_rho() {
        for rho in [0.1, 0.5, 0.9] {
            assert!(close(erlang_c(1, rho).expect("stable"), rho, 1e-12));
        }
        // And M/M/c with c = 1 reduces to M/M/1.
        let t = mmc_mean_response(1, 8.0, 10.0).expect("stable");
        assert!(close(t, 0.5, 1e-12));
    }

    #[test]
    fn erlang_c_matches_textbook_values() {
        // The recursion against the textbook sum
        // C(c,a) = (a^c/c!)(c/(c−a)) / (Σ_{k<c} a^k/k! + (a^c/c!)(c/(c−a))).
        fn direct(c: u32, a: f64) -> f64 {
            let mut sum = 0.0;
            let mut term = 1.0; // a^k / k!
            for k in 0..c {
                if k > 0 {
                    term *= a / f64::from(k);
                }
                sum += term;
            }
            let top = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
            top / (sum + top)
        }
        for (c, a) in [(2, 1.0), (5, 4.0), (10, 8.0), (50, 45.0)] {
            assert!(close(erlang_c(c, a).expect("stable"), direct(c, a), 1e-10));
        }
        // Two servers at a = 1 erlang (λ = μ = 1): C(2, a) = a²/(2 + a) = 1/3, so
        // Wq = C/(cμ − λ) = 1/3 and W = 4/3 (Gross & Harris, Fundamentals of Queueing Theory,
        // M/M/c section).
        assert!(close(erlang_c(2, 1.0).expect("stable"), 1.0 / 3.0, 1e-12));
        assert!(close(
            mmc_mean_response(2, 1.0, 1.0).expect("stable"),
            4.0 / 3.0,
            1e-12
        ));
        // Erlang C tables (delay probability, e.g. the ITU-T Teletraffic Engineering
        // Handbook): 10 servers, 8 erlangs → 0.4092.
        assert!(close(erlang_c(10, 8.0).expect("stable"), 0.4092, 1e-3));
        // 5 servers, 4 erlangs → C ≈ 0.5541.
        assert!(close(erlang_c(5, 4.0).expect("stable"), 0.5541, 1e-3));
        assert_eq!(erlang_c(3, 3.0), None);
        assert_eq!(erlang_c(0, 0.5), None);
    }

    #[test]
    fn response_quantiles_match_closed_forms() {
        // M/M/1 response time is exponential with rate μ − λ: q-quantile −ln(1−q)/(μ−λ).
        let q99 = mmc_response_quantile(1, 8.0, 10.0, 0.99).expect("stable");
        assert!(close(q99, -(0.01f64).ln() / 2.0, 1e-6));
        let q50 = mmc_response_quantile(1, 5.0, 10.0, 0.5).expect("stable");
        assert!(close(q50, (2.0f64).ln() / 5.0, 1e-6));
        // The waiting time quantile: zero below the no-wait mass.
        assert_eq!(mmc_wait_quantile(1, 5.0, 10.0, 0.4), Some(0.0));
        let w = mmc_wait_quantile(1, 5.0, 10.0, 0.9).expect("stable");
        assert!(close(w, (0.5f64 / 0.1).ln() / 5.0, 1e-12));
        // The survival function starts at one.
        assert!(close(
            mmc_response_exceeds(4, 3.0, 1.0, 0.0).expect("stable"),
            1.0,
            1e-12
        ));
    }
}
