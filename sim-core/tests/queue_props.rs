//! The event queue against a trivially correct model: a BTreeMap keyed by
//! `(time, seq)`.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sim_core::{EventKey, EventQueue, SimTime};

#[derive(Clone, Debug)]
enum Op {
    /// Push at `now + delta`, where `now` is the time of the last pop, as the
    /// engine does (it never schedules into the past).
    Push(u64),
    /// Cancel the `n % pushed`-th key ever issued: may be live, popped or
    /// already cancelled.
    Cancel(usize),
    Pop,
    Peek,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Small deltas so that equal times (ties broken by seq) are common.
        4 => (0u64..4).prop_map(Op::Push),
        2 => (0u64..1_000_000).prop_map(Op::Push),
        3 => any::<usize>().prop_map(Op::Cancel),
        2 => Just(Op::Pop),
        1 => Just(Op::Peek),
    ]
}

struct Harness {
    queue: EventQueue<u64>,
    model: BTreeMap<(u64, u64), u64>,
    issued: Vec<(EventKey, u64)>,
    now: u64,
    last_popped: Option<(u64, u64)>,
}

impl Harness {
    fn check_pop(&mut self) {
        let expected = self.model.pop_first();
        let got = self
            .queue
            .pop()
            .map(|(t, k, p)| ((t.as_nanos(), k.seq()), p));
        assert_eq!(got, expected);
        if let Some((key, _)) = got {
            assert!(
                self.last_popped.is_none_or(|last| last < key),
                "pop order went backwards"
            );
            self.last_popped = Some(key);
            self.now = key.0;
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Push(delta) => {
                let time = self.now + delta;
                let payload = self.issued.len() as u64;
                let key = self.queue.push(SimTime::from_nanos(time), payload);
                // seq is a global counter: its value is the number of earlier pushes.
                assert_eq!(key.seq(), payload);
                self.model.insert((time, key.seq()), payload);
                self.issued.push((key, time));
            }
            Op::Cancel(n) => {
                if self.issued.is_empty() {
                    return;
                }
                let (key, time) = self.issued[n % self.issued.len()];
                let expected = self.model.remove(&(time, key.seq()));
                assert_eq!(self.queue.cancel(key), expected);
            }
            Op::Pop => self.check_pop(),
            Op::Peek => {
                let expected = self.model.keys().next().map(|&(t, _)| t);
                assert_eq!(self.queue.peek_time().map(SimTime::as_nanos), expected);
            }
        }
        assert_eq!(self.queue.len(), self.model.len());
        assert_eq!(self.queue.is_empty(), self.model.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn queue_matches_reference_model(ops in prop::collection::vec(op(), 0..600)) {
        let mut h = Harness {
            queue: EventQueue::new(),
            model: BTreeMap::new(),
            issued: Vec::new(),
            now: 0,
            last_popped: None,
        };
        for op in &ops {
            h.apply(op);
        }
        // Drain: everything not cancelled comes out exactly once, in order.
        while !h.model.is_empty() {
            h.check_pop();
        }
        prop_assert!(h.queue.pop().is_none());
        prop_assert_eq!(h.queue.len(), 0);
    }

    /// Cancel-heavy runs with many pending events, so that the bulk purge of
    /// stale heap entries kicks in repeatedly mid-sequence.
    #[test]
    fn queue_survives_mass_cancellation(
        times in prop::collection::vec(0u64..50, 100..400),
        cancel_mask in prop::collection::vec(prop::bool::weighted(0.8), 400),
        pops_between in 0usize..5,
    ) {
        let mut q = EventQueue::new();
        let mut model = BTreeMap::new();
        let mut keys = Vec::new();
        for (i, &t) in times.iter().enumerate() {
            let k = q.push(SimTime::from_nanos(t), i);
            model.insert((t, k.seq()), i);
            keys.push((k, t));
        }
        for (i, &(k, t)) in keys.iter().enumerate() {
            if cancel_mask[i] {
                prop_assert_eq!(q.cancel(k), model.remove(&(t, k.seq())));
            }
            if i % 50 == 0 {
                for _ in 0..pops_between {
                    let got = q.pop().map(|(t, k, p)| ((t.as_nanos(), k.seq()), p));
                    prop_assert_eq!(got, model.pop_first());
                }
            }
            prop_assert_eq!(q.len(), model.len());
        }
        while let Some(expected) = model.pop_first() {
            let got = q.pop().map(|(t, k, p)| ((t.as_nanos(), k.seq()), p));
            prop_assert_eq!(got, Some(expected));
        }
        prop_assert!(q.pop().is_none());
    }
}
