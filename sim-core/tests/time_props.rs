use proptest::prelude::*;
use sim_core::{SimDuration, SimTime};

const SEC: u64 = 1_000_000_000;

/// Uniform u64s are almost all "213503d..."-sized with 9 fractional digits,
/// so mix in values built from round components, which exercise the
/// omitted-zero-component and fraction-trimming paths.
fn duration() -> impl Strategy<Value = SimDuration> {
    prop_oneof![
        any::<u64>().prop_map(SimDuration::from_nanos),
        (0u64..1_000_000).prop_map(SimDuration::from_nanos),
        (0u64..100_000).prop_map(SimDuration::from_millis),
        (0u64..1_000_000).prop_map(SimDuration::from_secs),
        (
            0u64..400,
            0u64..24,
            0u64..60,
            0u64..60,
            prop::sample::select(vec![0, 1, 10, 500, 250_000_000, 999_999_999])
        )
            .prop_map(|(d, h, m, s, ns)| {
                SimDuration::from_days(d)
                    + SimDuration::from_hours(h)
                    + SimDuration::from_mins(m)
                    + SimDuration::from_secs(s)
                    + SimDuration::from_nanos(ns)
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn display_then_parse_round_trips(d in duration()) {
        let shown = d.to_string();
        prop_assert_eq!(shown.parse::<SimDuration>(), Ok(d), "via {}", shown);
        // SimTime shares the format.
        prop_assert_eq!(SimTime::from_nanos(d.as_nanos()).to_string(), shown);
    }

    #[test]
    fn display_is_canonical(d in duration()) {
        let shown = d.to_string();
        // No zero components: nothing starts with 0 (bar "0s" itself), and
        // no unit is followed by a 0.
        prop_assert!(shown == "0s" || !shown.starts_with('0'), "{}", shown);
        let chars: Vec<char> = shown.chars().collect();
        prop_assert!(!chars.windows(2).any(|w| w[0].is_alphabetic() && w[1] == '0'), "{}", shown);
        if let Some(frac) = shown.split('.').nth(1) {
            let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
            prop_assert!(!digits.ends_with('0'), "{}", shown);
        }
    }

    #[test]
    fn whole_seconds_parse_like_from_secs(s in 0u64..(u64::MAX / SEC)) {
        prop_assert_eq!(format!("{s}s").parse::<SimDuration>(), Ok(SimDuration::from_secs(s)));
    }
}
