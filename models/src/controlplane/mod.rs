//! The HA control plane: kube-scheduler and kube-controller-manager each run N replicas of
//! which the elected leader works ([`leader_election`]), and the API server may go down. While
//! a component has no leader its loops are paused — nothing it would have done is lost: watch
//! deliveries stay in the log and timers are held, and all of it resumes when a leader is
//! elected. While the API server is down, no watch delivers and no node Lease is renewed.
//!
//! Entry points for fault injection are methods of [`crate::cluster::Cluster`]:
//! `scheduler_outage`, `scheduler_restore`, `controller_manager_outage`,
//! `controller_manager_restore`, `api_server_outage_start`, `api_server_outage_end`, or the
//! event `Event::ControlPlane(ControlPlaneEvent::Fault(…))` scheduled at the fault's time.
//!
//! Expectations (`expect:`) are checked here too ([`expectations`]).

pub mod expectations;
mod faults;
pub mod leader_election;

pub use expectations::{Conditions, Expectation, ExpectationState};
pub use leader_election::{
    Component, Effect, Identity, LeaderElection, LeaderElectionConfig, LeaderLease,
};

use crate::apiserver::Subscriber;
use crate::cluster::SchedulerEvent;
use crate::controllers::ControllerId;

/// Which replicas an outage takes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// The current leader's process dies; standbys take over after the lease expires.
    Leader,
    /// Every replica dies: the component is down until restored.
    All,
}

/// A control-plane fault, for drivers that schedule faults as events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlPlaneFault {
    Outage(Component, Outage),
    /// The component's dead replicas start again.
    Restore(Component),
    ApiServerDown,
    ApiServerUp,
}

/// The control plane's engine events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlPlaneEvent {
    /// A candidate's `tryAcquireOrRenew` retry.
    Retry {
        component: Component,
        replica: u8,
        incarnation: u32,
    },
    /// The leader's renew deadline, while its renewals fail.
    RenewDeadline(Component),
    /// Check the expectation with this index.
    CheckExpectation(u16),
    Fault(ControlPlaneFault),
}

impl ControlPlaneEvent {
    /// Tag and key for the run digest.
    pub(crate) fn digest_key(&self) -> (u64, &'static str, u64) {
        match *self {
            ControlPlaneEvent::Retry {
                component,
                replica,
                incarnation,
            } => (
                12,
                "LeaderElectionRetry",
                (component as u64) << 40 | u64::from(replica) << 32 | u64::from(incarnation),
            ),
            ControlPlaneEvent::RenewDeadline(c) => (13, "RenewDeadline", c as u64),
            ControlPlaneEvent::CheckExpectation(i) => (14, "CheckExpectation", u64::from(i)),
            ControlPlaneEvent::Fault(f) => (
                15,
                "ControlPlaneFault",
                match f {
                    ControlPlaneFault::Outage(c, Outage::Leader) => c as u64,
                    ControlPlaneFault::Outage(c, Outage::All) => 2 + c as u64,
                    ControlPlaneFault::Restore(c) => 4 + c as u64,
                    ControlPlaneFault::ApiServerDown => 6,
                    ControlPlaneFault::ApiServerUp => 7,
                },
            ),
        }
    }
}

/// Replica counts of the scenario (`controlPlane: {scheduler: {replicas: 3},
/// controllerManager: {replicas: 3}}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPlaneSettings {
    pub scheduler_replicas: u8,
    pub controller_manager_replicas: u8,
}

impl Default for ControlPlaneSettings {
    fn default() -> Self {
        ControlPlaneSettings {
            scheduler_replicas: 1,
            controller_manager_replicas: 1,
        }
    }
}

/// Which component a watcher belongs to.
pub fn owner(s: Subscriber) -> Option<Component> {
    match s {
        Subscriber::Scheduler => Some(Component::Scheduler),
        Subscriber::Kubelet | Subscriber::Proxy => None,
        _ => Some(Component::ControllerManager),
    }
}

const SCHEDULER_EVENTS: [SchedulerEvent; 4] = [
    SchedulerEvent::ScheduleNext,
    SchedulerEvent::FlushBackoff,
    SchedulerEvent::FlushUnschedulable,
    SchedulerEvent::BindingDone,
];

/// Leader elections, the API server's availability as faults set it, what is held while a
/// component is paused, and the expectations.
#[derive(Clone, Debug)]
pub struct ControlPlane {
    pub scheduler: LeaderElection,
    pub controller_manager: LeaderElection,
    pub(crate) api_down: bool,
    /// Watchers whose due delivery came while they could not take it (bit per subscriber).
    held_watches: u32,
    /// Controllers whose work-queue wake-up came while the controller manager had no leader.
    held_reconciles: std::collections::BTreeSet<ControllerId>,
    /// Scheduler timers that came while the scheduler had no leader.
    held_scheduler: u8,
    pub expectations: Vec<ExpectationState>,
}

impl Default for ControlPlane {
    fn default() -> Self {
        ControlPlane::new(ControlPlaneSettings::default())
    }
}

impl ControlPlane {
    pub fn new(settings: ControlPlaneSettings) -> Self {
        let config = LeaderElectionConfig::default();
        ControlPlane {
            scheduler: LeaderElection::new(
                Component::Scheduler,
                settings.scheduler_replicas,
                config,
            ),
            controller_manager: LeaderElection::new(
                Component::ControllerManager,
                settings.controller_manager_replicas,
                config,
            ),
            api_down: false,
            held_watches: 0,
            held_reconciles: std::collections::BTreeSet::new(),
            held_scheduler: 0,
            expectations: Vec::new(),
        }
    }

    pub fn election(&self, c: Component) -> &LeaderElection {
        match c {
            Component::Scheduler => &self.scheduler,
            Component::ControllerManager => &self.controller_manager,
        }
    }

    pub fn election_mut(&mut self, c: Component) -> &mut LeaderElection {
        match c {
            Component::Scheduler => &mut self.scheduler,
            Component::ControllerManager => &mut self.controller_manager,
        }
    }

    /// Whether `s` takes its deliveries now: the API server is up and its component leads.
    pub fn watch_open(&self, s: Subscriber) -> bool {
        !self.api_down && owner(s).is_none_or(|c| self.election(c).has_leader())
    }

    pub(crate) fn hold_watch(&mut self, s: Subscriber) {
        self.held_watches |= 1 << s as u32;
    }

    pub(crate) fn hold_reconcile(&mut self, id: ControllerId) {
        self.held_reconciles.insert(id);
    }

    pub(crate) fn hold_scheduler(&mut self, e: SchedulerEvent) {
        self.held_scheduler |= 1 << e as u8;
    }

    /// Takes what was held and may run now.
    pub(crate) fn release(&mut self) -> (Vec<Subscriber>, Vec<ControllerId>, Vec<SchedulerEvent>) {
        let watches: Vec<Subscriber> = Subscriber::ALL
            .into_iter()
            .filter(|&s| self.held_watches & (1 << s as u32) != 0 && self.watch_open(s))
            .collect();
        for &s in &watches {
            self.held_watches &= !(1 << s as u32);
        }
        let mut reconciles = Vec::new();
        if self.controller_manager.has_leader() {
            reconciles = std::mem::take(&mut self.held_reconciles)
                .into_iter()
                .collect();
        }
        let mut timers = Vec::new();
        if self.scheduler.has_leader() {
            timers = SCHEDULER_EVENTS
                .into_iter()
                .filter(|&e| self.held_scheduler & (1 << e as u8) != 0)
                .collect();
            self.held_scheduler = 0;
        }
        (watches, reconciles, timers)
    }
}
