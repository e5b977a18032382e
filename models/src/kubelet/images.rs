//! The image manager (upstream `pkg/kubelet/images/image_manager.go` `EnsureImageExists`):
//! by the container's `imagePullPolicy` an image is used as present, pulled, or refused;
//! pulls on one node go one at a time (`serializeImagePulls`), and an image pulled once
//! stays on the node.

use rand::Rng;
use sim_core::{Context, SimDuration, SimTime};

use super::Kubelets;
use crate::api::pod::{ContainerSpec, PullPolicy};
use crate::api::{NodeId, PodId};
use crate::apiserver::ApiServer;
use crate::cluster::Event;
use crate::events::EventType;

/// What the image manager did for one container.
pub(super) enum Ensured {
    /// The image is there (already, or no pull is simulated).
    Present,
    /// A pull was queued; it ends at `done`.
    Pulling(Pull),
    /// The container cannot start (ErrImagePull, ErrImageNeverPull).
    Failed,
}

/// A pull in progress, for its `Pulled` event.
#[derive(Clone, Debug)]
pub(super) struct Pull {
    pub image: String,
    pub queued: SimTime,
    pub pulling: SimDuration,
    pub done: SimTime,
    pub size: i64,
}

/// Upstream's events when a pull fails: `Failed` with the runtime's error, `Failed`
/// `Error: ErrImagePull`, then `BackOff` while the kubelet waits to retry.
pub(super) fn record_pull_failure(api: &mut ApiServer, now: SimTime, object: String, image: &str) {
    api.record(
        now,
        EventType::Warning,
        "Failed",
        object.clone(),
        format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"),
    );
    api.record(
        now,
        EventType::Warning,
        "Failed",
        object.clone(),
        "Error: ErrImagePull".into(),
    );
    api.record(
        now,
        EventType::Normal,
        "BackOff",
        object,
        format!("Back-off pulling image \"{image}\""),
    );
}

impl Kubelets {
    /// Whether pulls are simulated for this pod: some image has a pull time
    /// (`behaviour.images`, `imagePullRate`) or its workload has `imagePull`.
    pub(super) fn pulls_simulated(&self, api: &ApiServer, pod: PodId) -> bool {
        self.behaviour.images.is_set()
            || self
                .workload_behaviour(api, pod)
                .is_some_and(|b| b.lifecycle.image_pull.is_some())
    }

    fn image_present(&self, api: &ApiServer, node: NodeId, image: &str) -> bool {
        self.node_images
            .get(&node)
            .is_some_and(|set| set.contains(image))
            || api
                .store
                .node(node)
                .node
                .images
                .iter()
                .any(|(name, _)| name == image)
    }

    /// Upstream `EnsureImageExists` for one container, with its events.
    pub(super) fn ensure_image(
        &mut self,
        node: NodeId,
        pod: PodId,
        container: &ContainerSpec,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Ensured {
        let now = ctx.now();
        let image = container.image.as_str();
        let object = format!("pod/{}", api.store.pod(pod).pod.name);
        let present = self.image_present(api, node, image);
        let pull = match container.image_pull_policy {
            PullPolicy::Always => true,
            PullPolicy::IfNotPresent => !present,
            PullPolicy::Never => {
                if !present {
                    api.record(
                        now,
                        EventType::Warning,
                        "ErrImageNeverPull",
                        object.clone(),
                        format!(
                            "Container image \"{image}\" is not present with pull policy of Never"
                        ),
                    );
                    api.record(
                        now,
                        EventType::Warning,
                        "Failed",
                        object,
                        "Error: ErrImageNeverPull".into(),
                    );
                    return Ensured::Failed;
                }
                false
            }
        };
        if !pull {
            api.record(
                now,
                EventType::Normal,
                "Pulled",
                object,
                format!("Container image \"{image}\" already present on machine"),
            );
            return Ensured::Present;
        }
        api.record(
            now,
            EventType::Normal,
            "Pulling",
            object.clone(),
            format!("Pulling image \"{image}\""),
        );
        if self.behaviour.failing_images.contains(image) {
            record_pull_failure(api, now, object, image);
            return Ensured::Failed;
        }
        let (pulling, size) = self.pull_time(node, pod, image, api, ctx);
        let free = self
            .pull_free_at
            .get(&node)
            .copied()
            .unwrap_or(now)
            .max(now);
        let done = free + pulling;
        self.pull_free_at.insert(node, done);
        Ensured::Pulling(Pull {
            image: image.to_string(),
            queued: now,
            pulling,
            done,
            size,
        })
    }

    /// How long pulling `image` takes on `node`, and its size in bytes (0 when unknown):
    /// its `behaviour.images` pull time, else size over `imagePullRate`, else the
    /// workload's `imagePull`, else no time; slowed by a pull-slowdown fault.
    fn pull_time(
        &self,
        node: NodeId,
        pod: PodId,
        image: &str,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> (SimDuration, i64) {
        let entry = self.behaviour.images.images.get(image);
        let size = entry.and_then(|e| e.size).unwrap_or(0);
        let range = entry.and_then(|e| e.pull).or_else(|| {
            let rate = self.behaviour.images.pull_rate?;
            (size > 0).then(|| {
                let secs = u128::try_from(size).unwrap_or(0) * 1_000_000_000
                    / u128::try_from(rate.max(1)).unwrap_or(1);
                let d = SimDuration::from_nanos(u64::try_from(secs).unwrap_or(u64::MAX));
                (d, d)
            })
        });
        let range = range.or_else(|| {
            self.workload_behaviour(api, pod)
                .and_then(|b| b.lifecycle.image_pull)
        });
        let slowdown = self
            .pull_slowdown
            .as_ref()
            .filter(|(nodes, _, _)| nodes.as_ref().is_none_or(|n| n.contains(&node)));
        let Some((lo, hi)) = range else {
            // A slowed registry delays even pulls that took no time.
            let extra = slowdown.map_or(SimDuration::ZERO, |s| s.2);
            return (extra, size);
        };
        let stream = format!("kubelet/{}/pulls", api.store.node(node).name());
        let mut d = if hi > lo {
            SimDuration::from_nanos(ctx.rng(&stream).random_range(lo.as_nanos()..=hi.as_nanos()))
        } else {
            lo
        };
        if let Some((_, factor, extra)) = slowdown {
            // Durations are far below 2^53 ns, so the float round trip is exact enough.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let slowed = (d.as_nanos() as f64 * factor) as u64;
            d = SimDuration::from_nanos(slowed).saturating_add(*extra);
        }
        (d, size)
    }

    /// A pull finished: the image stays on the node; upstream's `Pulled` event.
    pub(super) fn pull_done(&mut self, node: NodeId, pod: PodId, pull: &Pull, api: &mut ApiServer) {
        self.node_images
            .entry(node)
            .or_default()
            .insert(pull.image.clone());
        let object = format!("pod/{}", api.store.pod(pod).pod.name);
        api.record(
            pull.done,
            EventType::Normal,
            "Pulled",
            object,
            format!(
                "Successfully pulled image \"{}\" in {} ({} including waiting). Image size: {} bytes.",
                pull.image,
                pull.pulling,
                pull.done.since(pull.queued),
                pull.size
            ),
        );
    }
}
