//! Writes to Node objects and their Leases: what the kubelet reports (Lease renewals, the
//! Ready and pressure conditions) and what the node lifecycle controller writes (Ready=Unknown,
//! the `not-ready` / `unreachable` taints).

use sim_core::Context;

use super::leases::ConditionStatus;
use super::{ApiResult, ApiServer, ObjectKind, Op, Subscriber};
use crate::api::{NodeId, Taint, TaintEffect};
use crate::cluster::Event;

impl ApiServer {
    /// The kubelet (re)starts renewing its node's Lease: its first renewal is now.
    pub fn start_lease_renewal(
        &mut self,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
    ) -> ApiResult<()> {
        self.check_available()?;
        if !self.leases.get(node).is_renewing() {
            self.leases.start(node, ctx.now());
            self.changed(ctx, ObjectKind::Lease, node.0, Op::Modified);
        }
        Ok(())
    }

    /// The node's kubelet can no longer renew its Lease (it crashed, stalled or lost the API
    /// server). Not a write — a dead kubelet writes nothing — but the Lease stops changing
    /// from here, which a polling reader notices at its next look; the change in the log
    /// wakes the node lifecycle controller, which then polls on its own 5 s grid, so its
    /// decisions are those of a controller that had polled all along.
    pub fn lease_renewals_stopped(&mut self, ctx: &mut Context<'_, Event>, node: NodeId) {
        // Also forgets renewals paused by an API server outage: this kubelet will not resume,
        // and the node lifecycle controller must look at it again once it runs.
        if self.leases.stop(node, ctx.now()) {
            self.changed(ctx, ObjectKind::Lease, node.0, Op::Modified);
        }
    }

    /// Sets the node's `Ready` condition (the kubelet's status, or the node lifecycle
    /// controller's `Unknown`). Unchanged status is not a write.
    pub fn set_node_ready(
        &mut self,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        status: ConditionStatus,
    ) -> ApiResult<()> {
        if self.store.node(node).conditions.ready == status {
            return Ok(());
        }
        self.check_available()?;
        let now = ctx.now();
        let info = &mut self.store.nodes[node.index()];
        info.conditions.ready = status;
        info.conditions.ready_transition = now;
        self.changed(ctx, ObjectKind::Node, node.0, Op::Modified);
        Ok(())
    }

    /// Sets the `MemoryPressure` / `DiskPressure` conditions the kubelet's eviction manager
    /// reports.
    pub fn set_node_pressure(
        &mut self,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        memory: bool,
        disk: bool,
    ) -> ApiResult<()> {
        let c = self.store.node(node).conditions;
        if c.memory_pressure == memory && c.disk_pressure == disk {
            return Ok(());
        }
        self.check_available()?;
        let info = &mut self.store.nodes[node.index()];
        info.conditions.memory_pressure = memory;
        info.conditions.disk_pressure = disk;
        if memory || disk {
            // A pressure condition is news to the node lifecycle controller even while every
            // Lease is renewed: it taints the node (upstream TaintNodesByCondition).
            self.log.wake(Subscriber::NodeLifecycleController);
        }
        self.changed(ctx, ObjectKind::Node, node.0, Op::Modified);
        Ok(())
    }

    /// Adds a taint unless one with its key and effect is there; `Ok(false)` if it was.
    pub fn add_node_taint(
        &mut self,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        taint: Taint,
    ) -> ApiResult<bool> {
        let present = self
            .store
            .node(node)
            .node
            .taints
            .iter()
            .any(|t| t.key == taint.key && t.effect == taint.effect);
        if present {
            return Ok(false);
        }
        self.check_available()?;
        self.store.nodes[node.index()].node.taints.push(taint);
        self.store.touch_nodes();
        self.changed(ctx, ObjectKind::Node, node.0, Op::Modified);
        Ok(true)
    }

    /// Removes the taint with this key and effect; `Ok(false)` if there was none.
    pub fn remove_node_taint(
        &mut self,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        key: &str,
        effect: TaintEffect,
    ) -> ApiResult<bool> {
        let present = self
            .store
            .node(node)
            .node
            .taints
            .iter()
            .any(|t| t.key == key && t.effect == effect);
        if !present {
            return Ok(false);
        }
        self.check_available()?;
        self.store.nodes[node.index()]
            .node
            .taints
            .retain(|t| !(t.key == key && t.effect == effect));
        self.store.touch_nodes();
        self.changed(ctx, ObjectKind::Node, node.0, Op::Modified);
        Ok(true)
    }

    /// Whether the API server takes writes now.
    pub fn is_available(&self) -> bool {
        self.available
    }
}
