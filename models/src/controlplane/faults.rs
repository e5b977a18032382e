//! The cluster's side of the control plane: fault entry points, the election's effects, and
//! resuming what a paused component left waiting.

use sim_core::{Context, SimTime};

use super::expectations::{CHECK_INTERVAL, holds};
use super::{Component, ControlPlaneEvent, ControlPlaneFault, Effect, Expectation, Outage};
use crate::cluster::{Cluster, Event};
use crate::events::EventType;

impl Cluster {
    /// Kills the scheduler's leader (`Outage::Leader`) or every replica (`Outage::All`).
    pub fn scheduler_outage(&mut self, ctx: &mut Context<'_, Event>, which: Outage) {
        self.component_outage(ctx, Component::Scheduler, which);
    }

    /// Starts the scheduler's dead replicas again; they campaign for the Lease.
    pub fn scheduler_restore(&mut self, ctx: &mut Context<'_, Event>) {
        self.component_restore(ctx, Component::Scheduler);
    }

    /// Kills the controller manager's leader (`Outage::Leader`) or every replica.
    pub fn controller_manager_outage(&mut self, ctx: &mut Context<'_, Event>, which: Outage) {
        self.component_outage(ctx, Component::ControllerManager, which);
    }

    /// Starts the controller manager's dead replicas again.
    pub fn controller_manager_restore(&mut self, ctx: &mut Context<'_, Event>) {
        self.component_restore(ctx, Component::ControllerManager);
    }

    /// The API server goes down: writes fail (`ApiError::Unavailable`), no watch delivers,
    /// kubelets cannot renew their node Leases, and the leaders' Lease renewals start failing
    /// (each gives up after `renewDeadline`). Nothing if it is down already.
    pub fn api_server_outage_start(&mut self, ctx: &mut Context<'_, Event>) {
        if self.control_plane.api_down {
            return;
        }
        let now = ctx.now();
        self.control_plane.api_down = true;
        self.api.set_available(false);
        self.api.leases.pause_renewals(now);
        for c in [Component::Scheduler, Component::ControllerManager] {
            let mut out = Vec::new();
            self.control_plane
                .election_mut(c)
                .api_down(now, ctx.rng(c.stream()), &mut out);
            self.apply_effects(ctx, c, &out);
        }
    }

    /// The API server is back: writes succeed, held watch deliveries resume, the kubelets
    /// renew their Leases at once, and leaders within their renew deadline renew at their
    /// next retry. Nothing if it is up.
    pub fn api_server_outage_end(&mut self, ctx: &mut Context<'_, Event>) {
        if !self.control_plane.api_down {
            return;
        }
        let now = ctx.now();
        self.control_plane.api_down = false;
        self.api.set_available(true);
        self.api.leases.resume_renewals(now);
        self.control_plane.scheduler.api_up(now);
        self.control_plane.controller_manager.api_up(now);
        self.resume_held(ctx);
    }

    /// Applies a fault (the form a fault driver can schedule as an event).
    pub fn control_plane_fault(&mut self, ctx: &mut Context<'_, Event>, fault: ControlPlaneFault) {
        match fault {
            ControlPlaneFault::Outage(c, which) => self.component_outage(ctx, c, which),
            ControlPlaneFault::Restore(c) => self.component_restore(ctx, c),
            ControlPlaneFault::ApiServerDown => self.api_server_outage_start(ctx),
            ControlPlaneFault::ApiServerUp => self.api_server_outage_end(ctx),
        }
    }

    /// Arms the checks of the scenario's expectations (the first at each one's `after`).
    pub fn install_expectations(
        &mut self,
        ctx: &mut Context<'_, Event>,
        expectations: &[Expectation],
    ) {
        for (i, e) in expectations.iter().enumerate() {
            let Ok(index) = u16::try_from(i) else { break };
            self.control_plane
                .expectations
                .push(super::ExpectationState {
                    expectation: *e,
                    met_at: None,
                    checks: 0,
                });
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(e.after),
                Event::ControlPlane(ControlPlaneEvent::CheckExpectation(index)),
            );
        }
    }

    pub(crate) fn control_plane_event(
        &mut self,
        ctx: &mut Context<'_, Event>,
        event: ControlPlaneEvent,
    ) {
        let now = ctx.now();
        match event {
            ControlPlaneEvent::Retry {
                component,
                replica,
                incarnation,
            } => {
                let mut out = Vec::new();
                self.control_plane.election_mut(component).retry(
                    now,
                    replica,
                    incarnation,
                    ctx.rng(component.stream()),
                    &mut out,
                );
                self.apply_effects(ctx, component, &out);
            }
            ControlPlaneEvent::RenewDeadline(component) => {
                let mut out = Vec::new();
                self.control_plane
                    .election_mut(component)
                    .renew_deadline(now, &mut out);
                self.apply_effects(ctx, component, &out);
            }
            ControlPlaneEvent::CheckExpectation(i) => self.check_expectation(ctx, i),
            ControlPlaneEvent::Fault(f) => self.control_plane_fault(ctx, f),
        }
    }

    fn check_expectation(&mut self, ctx: &mut Context<'_, Event>, index: u16) {
        let now = ctx.now();
        let Some(state) = self.control_plane.expectations.get_mut(usize::from(index)) else {
            return;
        };
        if state.met_at.is_some() {
            return;
        }
        state.checks += 1;
        let e = state.expectation;
        if holds(&e.conditions, &self.api, &self.scheduler.queue) {
            state.met_at = Some(now);
            return;
        }
        let next = now.saturating_add(CHECK_INTERVAL);
        if next <= e.deadline() {
            ctx.schedule_at(
                next,
                Event::ControlPlane(ControlPlaneEvent::CheckExpectation(index)),
            );
        }
    }

    fn component_outage(&mut self, ctx: &mut Context<'_, Event>, c: Component, which: Outage) {
        let now = ctx.now();
        let mut out = Vec::new();
        let election = self.control_plane.election_mut(c);
        match which {
            Outage::Leader => election.kill_leader(now, ctx.rng(c.stream()), &mut out),
            Outage::All => election.kill_all(now),
        }
        self.apply_effects(ctx, c, &out);
    }

    fn component_restore(&mut self, ctx: &mut Context<'_, Event>, c: Component) {
        let now = ctx.now();
        let mut out = Vec::new();
        self.control_plane
            .election_mut(c)
            .restore(now, ctx.rng(c.stream()), &mut out);
        self.apply_effects(ctx, c, &out);
    }

    fn apply_effects(&mut self, ctx: &mut Context<'_, Event>, c: Component, effects: &[Effect]) {
        let now = ctx.now();
        let object = || format!("lease/{}", c.lease_name());
        for e in effects {
            match *e {
                Effect::Retry {
                    at,
                    replica,
                    incarnation,
                } => {
                    ctx.schedule_at(
                        at,
                        Event::ControlPlane(ControlPlaneEvent::Retry {
                            component: c,
                            replica,
                            incarnation,
                        }),
                    );
                }
                Effect::RenewDeadline(at) => {
                    ctx.schedule_at(
                        at.max(now),
                        Event::ControlPlane(ControlPlaneEvent::RenewDeadline(c)),
                    );
                }
                Effect::BecameLeader(id) => {
                    // Upstream `RecordEvent("became leader")` on the Lease.
                    self.api.record(
                        now,
                        EventType::Normal,
                        "LeaderElection",
                        object(),
                        format!("{id} became leader"),
                    );
                    if c == Component::ControllerManager {
                        // A new process: the controllers that keep timers in memory (the
                        // node lifecycle controller's probe times and taint queues, the
                        // taint eviction controller's pending deletions) start afresh.
                        self.controllers.node_lifecycle.restart(&self.api, ctx);
                        self.controllers.taint_eviction.restart(&self.api, ctx);
                        self.controllers.endpoint_slice.restart(&self.api, ctx);
                    }
                    self.resume_held(ctx);
                }
                Effect::StoppedLeading(id) => {
                    // An Event is a write: while the API server is down it is lost.
                    if self.api.is_available() {
                        self.api.record(
                            now,
                            EventType::Normal,
                            "LeaderElection",
                            object(),
                            format!("{id} stopped leading"),
                        );
                    }
                }
            }
        }
    }

    /// Re-arms what was held and may run now: watch deliveries (their changes never left the
    /// log), controller work-queue wake-ups and scheduler timers.
    fn resume_held(&mut self, ctx: &mut Context<'_, Event>) {
        let (watches, reconciles, timers) = self.control_plane.release();
        for s in watches {
            ctx.schedule_at(ctx.now(), Event::Watch(s));
        }
        for id in reconciles {
            ctx.schedule_at(ctx.now(), Event::Reconcile(id));
        }
        for e in timers {
            ctx.schedule_at(ctx.now(), Event::Scheduler(e));
        }
    }
}
