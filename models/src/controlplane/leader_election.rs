//! Leader election of kube-scheduler and kube-controller-manager, as client-go's
//! `tools/leaderelection` runs it over a Lease in `kube-system`.
//!
//! Upstream, every replica runs `LeaderElector.Run`: `acquire` calls `tryAcquireOrRenew` every
//! `RetryPeriod` with `wait.JitterUntil(…, JitterFactor 1.2, sliding)` until it succeeds; the
//! leader then `renew`s every `RetryPeriod` (`wait.Until`), each renewal retried for up to
//! `RenewDeadline`, after which it stops leading (and both components exit). A candidate takes
//! the Lease when it has seen the same record for `LeaseDuration`: `observedTime` is when it
//! last saw the record change, not the record's `renewTime`, so clocks need not agree.
//!
//! Renewals are kept lazily, like node Leases (`apiserver::leases`): while the leader renews,
//! `renewTime` is the last `RetryPeriod` tick at or before now. Standby candidates are lazy too
//! while a leader renews: every poll of theirs fails then (each sees a fresher record, since
//! polls are at least `RetryPeriod` apart), so their polls are replayed — jitter draws and
//! observations — only when the leader stops renewing, and only then become events.

use rand::Rng;
use sim_core::{SimDuration, SimTime};

/// Upstream defaults of kube-scheduler and kube-controller-manager
/// (`--leader-elect-lease-duration`, `--leader-elect-renew-deadline`,
/// `--leader-elect-retry-period`, component-base `RecommendedDefaultLeaderElectionConfiguration`).
pub const LEASE_DURATION: SimDuration = SimDuration::from_secs(15);
pub const RENEW_DEADLINE: SimDuration = SimDuration::from_secs(10);
pub const RETRY_PERIOD: SimDuration = SimDuration::from_secs(2);
/// Upstream `leaderelection.JitterFactor`.
pub const JITTER_FACTOR: f64 = 1.2;

/// The two components that elect a leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    Scheduler,
    ControllerManager,
}

impl Component {
    /// The Lease's name in `kube-system`.
    pub fn lease_name(self) -> &'static str {
        match self {
            Component::Scheduler => "kube-scheduler",
            Component::ControllerManager => "kube-controller-manager",
        }
    }

    /// The random stream of its candidates' retry jitter.
    pub fn stream(self) -> &'static str {
        match self {
            Component::Scheduler => "leaderelection/kube-scheduler",
            Component::ControllerManager => "leaderelection/kube-controller-manager",
        }
    }
}

/// `LeaderElectionConfig`'s durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    pub lease_duration: SimDuration,
    pub renew_deadline: SimDuration,
    pub retry_period: SimDuration,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        LeaderElectionConfig {
            lease_duration: LEASE_DURATION,
            renew_deadline: RENEW_DEADLINE,
            retry_period: RETRY_PERIOD,
        }
    }
}

/// A replica's identity: upstream `hostname_uuid`, with a fresh UUID at every start. kubesim
/// writes the replica's host `control-plane-<i>` and the number of the start instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Identity {
    pub replica: u8,
    pub incarnation: u32,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "control-plane-{}_{}", self.replica, self.incarnation)
    }
}

/// The fields of `LeaderElectionRecord` a candidate compares (upstream compares the raw
/// record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub holder: Option<Identity>,
    pub acquire_time: SimTime,
    pub renew_time: Option<SimTime>,
    pub leader_transitions: u32,
}

/// The Lease object (`kube-system/<component>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderLease {
    pub holder: Option<Identity>,
    pub acquire_time: SimTime,
    pub leader_transitions: u32,
    /// The leader's first renewal of its current run of renewals (may lie ahead: the retry
    /// that will succeed after an API server outage).
    renewing_since: Option<SimTime>,
    last_renew: Option<SimTime>,
    period: SimDuration,
}

impl LeaderLease {
    /// `spec.renewTime` as a reader sees it at `now`.
    pub fn renew_time(&self, now: SimTime) -> Option<SimTime> {
        match self.renewing_since {
            Some(since) if since <= now => {
                let period = self.period.as_nanos().max(1);
                let ticks = (now.as_nanos() - since.as_nanos()) / period;
                Some(SimTime::from_nanos(since.as_nanos() + ticks * period))
            }
            _ => self.last_renew,
        }
    }

    pub fn record(&self, now: SimTime) -> Record {
        Record {
            holder: self.holder,
            acquire_time: self.acquire_time,
            renew_time: self.renew_time(now),
            leader_transitions: self.leader_transitions,
        }
    }

    fn stop(&mut self, now: SimTime) {
        if self.renewing_since.is_some() {
            self.last_renew = self.renew_time(now);
            self.renewing_since = None;
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Replica {
    up: bool,
    incarnation: u32,
    /// The record last seen, and when it was first seen (`observedTime`).
    observed: Option<Record>,
    observed_time: SimTime,
    /// The candidate's next `tryAcquireOrRenew`.
    next_poll: SimTime,
    /// Its next poll is an engine event (`Effect::Retry`), not a lazy one.
    armed: bool,
}

/// What the cluster must do after a step of the election.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Schedule this candidate's next retry.
    Retry {
        at: SimTime,
        replica: u8,
        incarnation: u32,
    },
    /// Schedule the leader's renew deadline check.
    RenewDeadline(SimTime),
    /// Record `"<holder> became leader"`; the component resumes.
    BecameLeader(Identity),
    /// Record `"<holder> stopped leading"`; the component pauses until a new leader is elected.
    StoppedLeading(Identity),
}

/// One component's replicas and their Lease.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    pub component: Component,
    pub config: LeaderElectionConfig,
    pub lease: LeaderLease,
    replicas: Vec<Replica>,
    leader: Option<u8>,
    api_up: bool,
    /// The leader's first failed renewal: it gives up at this + `renewDeadline`.
    failing_since: Option<SimTime>,
    /// Leaders elected during the run (the one there at the start not counted).
    pub elections: u32,
}

impl LeaderElection {
    /// `replicas` replicas (at least one); replica 0 has led since before the run started, so
    /// the run's event log holds no election for it, and the others wait as candidates.
    pub fn new(component: Component, replicas: u8, config: LeaderElectionConfig) -> Self {
        let first = Identity {
            replica: 0,
            incarnation: 0,
        };
        let lease = LeaderLease {
            holder: Some(first),
            acquire_time: SimTime::ZERO,
            leader_transitions: 0,
            renewing_since: Some(SimTime::ZERO),
            last_renew: None,
            period: config.retry_period,
        };
        let replicas = (0..replicas.max(1))
            .map(|_| Replica {
                up: true,
                incarnation: 0,
                observed: None,
                observed_time: SimTime::ZERO,
                next_poll: SimTime::ZERO,
                armed: false,
            })
            .collect();
        LeaderElection {
            component,
            config,
            lease,
            replicas,
            leader: Some(0),
            api_up: true,
            failing_since: None,
            elections: 0,
        }
    }

    /// The leader, if one runs the component's loops now (a leader whose renewals fail keeps
    /// leading until its renew deadline).
    pub fn leader(&self) -> Option<Identity> {
        let r = self.leader?;
        Some(Identity {
            replica: r,
            incarnation: self.replicas[usize::from(r)].incarnation,
        })
    }

    pub fn has_leader(&self) -> bool {
        self.leader.is_some()
    }

    pub fn replicas(&self) -> usize {
        self.replicas.len()
    }

    /// Replicas whose process runs.
    pub fn replicas_up(&self) -> usize {
        self.replicas.iter().filter(|r| r.up).count()
    }

    /// A leader renews: candidates' polls all fail and need no events.
    fn healthy(&self) -> bool {
        self.leader.is_some() && self.api_up && self.lease.renewing_since.is_some()
    }

    fn identity(&self, r: usize) -> Identity {
        Identity {
            replica: u8::try_from(r).unwrap_or(u8::MAX),
            incarnation: self.replicas[r].incarnation,
        }
    }

    fn jittered(&self, rng: &mut impl Rng) -> SimDuration {
        // Upstream `wait.Jitter(period, 1.2)`: period + rand.Float64() × 1.2 × period.
        let p = self.config.retry_period.as_nanos();
        let f: f64 = rng.random();
        // f < 1, so the product fits in u64 for any period below 2^63 ns / 2.2.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let extra = (f * JITTER_FACTOR * p as f64) as u64;
        SimDuration::from_nanos(p.saturating_add(extra))
    }

    /// `tryAcquireOrRenew` of a candidate at `now`; true if it took the Lease.
    fn try_acquire(&mut self, r: usize, now: SimTime) -> bool {
        if !self.api_up {
            // The Get fails: nothing observed.
            return false;
        }
        let record = self.lease.record(now);
        let replica = &mut self.replicas[r];
        if replica.observed != Some(record) {
            replica.observed = Some(record);
            replica.observed_time = now;
        }
        if record.holder.is_some()
            && replica
                .observed_time
                .saturating_add(self.config.lease_duration)
                > now
        {
            return false;
        }
        let me = self.identity(r);
        self.lease.holder = Some(me);
        self.lease.acquire_time = now;
        self.lease.leader_transitions += 1;
        self.lease.renewing_since = Some(now);
        self.lease.last_renew = Some(now);
        let record = self.lease.record(now);
        let replica = &mut self.replicas[r];
        replica.observed = Some(record);
        replica.observed_time = now;
        replica.armed = false;
        self.leader = Some(me.replica);
        self.failing_since = None;
        self.elections += 1;
        true
    }

    /// Replays the standby candidates' polls before `now` made while a leader renewed.
    fn catch_up(&mut self, now: SimTime, rng: &mut impl Rng) {
        for r in 0..self.replicas.len() {
            let c = self.replicas[r];
            if !c.up || c.armed || self.leader == u8::try_from(r).ok() {
                continue;
            }
            while self.replicas[r].next_poll < now {
                let at = self.replicas[r].next_poll;
                // While the leader renews, every poll fails; it only observes.
                let record = self.lease.record(at);
                let replica = &mut self.replicas[r];
                if replica.observed != Some(record) {
                    replica.observed = Some(record);
                    replica.observed_time = at;
                }
                let d = self.jittered(rng);
                self.replicas[r].next_poll = at.saturating_add(d);
            }
        }
    }

    /// Makes every waiting candidate's next poll an event, unless a leader renews.
    fn arm(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.healthy() {
            return;
        }
        for r in 0..self.replicas.len() {
            let c = &mut self.replicas[r];
            if !c.up || c.armed || self.leader == u8::try_from(r).ok() {
                continue;
            }
            c.armed = true;
            let at = c.next_poll.max(now);
            c.next_poll = at;
            out.push(Effect::Retry {
                at,
                replica: u8::try_from(r).unwrap_or(u8::MAX),
                incarnation: c.incarnation,
            });
        }
    }

    /// A candidate's retry is due.
    pub fn retry(
        &mut self,
        now: SimTime,
        replica: u8,
        incarnation: u32,
        rng: &mut impl Rng,
        out: &mut Vec<Effect>,
    ) {
        let r = usize::from(replica);
        let Some(c) = self.replicas.get(r) else {
            return;
        };
        if !c.up || c.incarnation != incarnation || !c.armed || c.next_poll != now {
            return;
        }
        self.replicas[r].armed = false;
        if self.leader == Some(replica) {
            return;
        }
        if self.try_acquire(r, now) {
            out.push(Effect::BecameLeader(self.identity(r)));
            return;
        }
        let d = self.jittered(rng);
        self.replicas[r].next_poll = now.saturating_add(d);
        self.arm(now, out);
    }

    /// The leader's process dies (`Outage::Leader`); the Lease keeps its last renewal.
    pub fn kill_leader(&mut self, now: SimTime, rng: &mut impl Rng, out: &mut Vec<Effect>) {
        self.catch_up(now, rng);
        if let Some(r) = self.leader.take() {
            self.lease.stop(now);
            self.failing_since = None;
            let c = &mut self.replicas[usize::from(r)];
            c.up = false;
            c.armed = false;
        }
        self.arm(now, out);
    }

    /// Every replica's process dies (`Outage::All`).
    pub fn kill_all(&mut self, now: SimTime) {
        if self.leader.take().is_some() {
            self.lease.stop(now);
            self.failing_since = None;
        }
        for c in &mut self.replicas {
            c.up = false;
            c.armed = false;
        }
    }

    /// The dead replicas start again (fresh processes: new identities, nothing observed);
    /// each tries to acquire at once, as `wait.JitterUntil` runs its function first.
    pub fn restore(&mut self, now: SimTime, rng: &mut impl Rng, out: &mut Vec<Effect>) {
        self.catch_up(now, rng);
        for c in &mut self.replicas {
            if !c.up {
                *c = Replica {
                    up: true,
                    incarnation: c.incarnation + 1,
                    observed: None,
                    observed_time: now,
                    next_poll: now,
                    armed: false,
                };
            }
        }
        self.arm(now, out);
    }

    /// The API server goes down: renewals and acquisitions fail from now on.
    pub fn api_down(&mut self, now: SimTime, rng: &mut impl Rng, out: &mut Vec<Effect>) {
        self.catch_up(now, rng);
        self.api_up = false;
        if self.leader.is_some() {
            match (self.lease.renewing_since, self.failing_since) {
                // Back from an earlier outage but its next retry has not come yet: that retry
                // fails too and the earlier deadline stands.
                (Some(since), Some(_)) if since > now => self.lease.renewing_since = None,
                (Some(_), _) => {
                    let last = self.lease.renew_time(now).unwrap_or(now);
                    self.lease.stop(now);
                    let first_failure = last.saturating_add(self.config.retry_period);
                    self.failing_since = Some(first_failure);
                    out.push(Effect::RenewDeadline(
                        first_failure.saturating_add(self.config.renew_deadline),
                    ));
                }
                (None, _) => {}
            }
        }
        self.arm(now, out);
    }

    /// The API server is back: a leader still within its renew deadline renews at its next
    /// retry (every `RetryPeriod` from its first failure); candidates' next polls succeed.
    pub fn api_up(&mut self, now: SimTime) {
        self.api_up = true;
        let (Some(_), Some(first)) = (self.leader, self.failing_since) else {
            return;
        };
        if self.lease.renewing_since.is_some() {
            return;
        }
        let p = self.config.retry_period.as_nanos().max(1);
        let k = now.as_nanos().saturating_sub(first.as_nanos()).div_ceil(p);
        let retry = SimTime::from_nanos(first.as_nanos().saturating_add(k.saturating_mul(p)));
        // `PollImmediateUntil` gives up when the deadline's context is done.
        if retry < first.saturating_add(self.config.renew_deadline) {
            self.lease.renewing_since = Some(retry);
        }
    }

    /// The renew deadline set by [`Effect::RenewDeadline`] has come: a leader that has not
    /// renewed since stops leading and its process exits; its container is restarted (at
    /// once, here) and the fresh process campaigns again.
    pub fn renew_deadline(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let Some(first) = self.failing_since else {
            return;
        };
        if first.saturating_add(self.config.renew_deadline) != now {
            return;
        }
        self.failing_since = None;
        if self.lease.renewing_since.is_some_and(|s| s < now) {
            return;
        }
        let Some(r) = self.leader.take() else {
            return;
        };
        let old = self.identity(usize::from(r));
        self.lease.renewing_since = None;
        let c = &mut self.replicas[usize::from(r)];
        *c = Replica {
            up: true,
            incarnation: c.incarnation + 1,
            observed: None,
            observed_time: now,
            next_poll: now,
            armed: false,
        };
        out.push(Effect::StoppedLeading(old));
        self.arm(now, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> sim_core::StreamRng {
        sim_core::derive_stream(7, "test")
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    /// Runs the scheduled effects in time order up to `until` (later ones stay in `pending`);
    /// returns the first election.
    fn drive(
        le: &mut LeaderElection,
        pending: &mut Vec<Effect>,
        rng: &mut sim_core::StreamRng,
        until: SimTime,
    ) -> Option<(SimTime, Identity)> {
        let due = |e: &Effect| match e {
            Effect::Retry { at, .. } | Effect::RenewDeadline(at) => *at,
            _ => SimTime::ZERO,
        };
        loop {
            pending.sort_by_key(due);
            if pending.first().is_none_or(|e| due(e) > until) {
                return None;
            }
            let e = pending.remove(0);
            let mut out = Vec::new();
            match e {
                Effect::Retry {
                    at,
                    replica,
                    incarnation,
                } => {
                    le.retry(at, replica, incarnation, rng, &mut out);
                    if let Some(Effect::BecameLeader(id)) = out.first() {
                        return Some((at, *id));
                    }
                }
                Effect::RenewDeadline(at) => le.renew_deadline(at, &mut out),
                _ => {}
            }
            pending.extend(out);
        }
    }

    #[test]
    fn jitter_stays_within_upstream_bounds() {
        // upstream apimachinery wait.Jitter: duration + rand.Float64()*maxFactor*duration.
        let le = LeaderElection::new(Component::Scheduler, 1, LeaderElectionConfig::default());
        let mut rng = rng();
        for _ in 0..1000 {
            let d = le.jittered(&mut rng);
            assert!(d >= SimDuration::from_secs(2) && d < SimDuration::from_millis(4400));
        }
    }

    #[test]
    fn a_standby_takes_over_one_lease_duration_after_it_last_saw_a_renewal() {
        let mut le = LeaderElection::new(Component::Scheduler, 3, LeaderElectionConfig::default());
        let mut rng = rng();
        let mut out = Vec::new();
        le.kill_leader(secs(3600), &mut rng, &mut out);
        assert!(!le.has_leader());
        assert_eq!(out.len(), 2, "both standbys poll: {out:?}");
        let (at, id) =
            drive(&mut le, &mut out, &mut rng, secs(4000)).expect("a standby is elected");
        assert_ne!(id.replica, 0);
        // It last saw a fresh record at most one retry (≤ 4.4 s) before the kill, and polls
        // at most 4.4 s after the lease duration has passed.
        assert!(
            at >= secs(3600 + 15 - 5) && at <= secs(3600 + 15 + 5),
            "{at}"
        );
        assert_eq!(le.lease.leader_transitions, 1);
        assert_eq!(le.lease.holder, Some(id));
    }

    #[test]
    fn a_restarted_single_replica_waits_a_lease_duration_for_its_own_old_lease() {
        let mut le = LeaderElection::new(
            Component::ControllerManager,
            1,
            LeaderElectionConfig::default(),
        );
        let mut rng = rng();
        let mut out = Vec::new();
        le.kill_all(secs(100));
        le.restore(secs(200), &mut rng, &mut out);
        // The fresh process sees the dead holder's record first at 200 s: it must wait 15 s.
        let (at, id) = drive(&mut le, &mut out, &mut rng, secs(300)).expect("elected");
        assert!(at >= secs(215) && at < secs(215) + SimDuration::from_millis(4400));
        assert_eq!(
            id,
            Identity {
                replica: 0,
                incarnation: 1
            }
        );
        assert_eq!(id.to_string(), "control-plane-0_1");
    }

    #[test]
    fn a_short_api_outage_keeps_the_leader() {
        let mut le = LeaderElection::new(Component::Scheduler, 2, LeaderElectionConfig::default());
        let mut rng = rng();
        let mut out = Vec::new();
        le.api_down(secs(101), &mut rng, &mut out);
        // Last renewal at 100 s; first failure at 102 s; deadline 112 s.
        assert!(out.contains(&Effect::RenewDeadline(secs(112))));
        le.api_up(secs(105));
        let mut more = Vec::new();
        le.renew_deadline(secs(112), &mut more);
        assert!(more.is_empty());
        assert_eq!(le.leader().map(|i| i.replica), Some(0));
        // It renewed at its retry at 106 s.
        assert_eq!(le.lease.renew_time(secs(107)), Some(secs(106)));
    }

    #[test]
    fn a_long_api_outage_costs_the_leader_its_lease_at_the_renew_deadline() {
        let mut le = LeaderElection::new(Component::Scheduler, 1, LeaderElectionConfig::default());
        let mut rng = rng();
        let mut out = Vec::new();
        le.api_down(secs(101), &mut rng, &mut out);
        let mut more = Vec::new();
        le.renew_deadline(secs(112), &mut more);
        assert!(!le.has_leader());
        assert!(matches!(more[0], Effect::StoppedLeading(_)));
        // While the API server is down nobody acquires; after it returns at 160 s, the
        // restarted process has never seen this record: 15 s more.
        let mut retries: Vec<Effect> = more[1..].to_vec();
        assert_eq!(drive(&mut le, &mut retries, &mut rng, secs(160)), None);
        le.api_up(secs(160));
        let (at, _) = drive(&mut le, &mut retries, &mut rng, secs(300)).expect("elected");
        assert!(at >= secs(175) && at < secs(184), "{at}");
    }
}
