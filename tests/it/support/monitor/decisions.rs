//! The surge rollout's decisions, judged one by one as the watch shows them (spec daemonset.md §2.5): budgeted surge creations and deletions of available pods.
//!
//! With maxSurge, upstream bounds its *decisions*, not the resulting state: an unavailable old
//! pod is replaced outside the budget and may turn available afterwards, so counting surging
//! nodes or unavailable nodes at any moment over-reports once templates change mid-rollout.
//! These checks instead judge each creation and deletion against the state the controller saw:
//!
//! - **creation** — a new pod beside an old *available* pod spends surge budget, so at that moment
//!   fewer than maxSurge other nodes may be surging as upstream counts them (an old pod beside a
//!   new unavailable one, or two outdated pods);
//! - **deletion** — an available pod is deleted only when its node keeps an available pod, or
//!   when it is the younger of two outdated pods (manage keeps the oldest by creation second,
//!   then name, upstream `podByCreationTimestampAndPhase`, ready or not).
//!
//! The controller decides on a cache that may lag this watch. A pod counts as available only
//! once the monitor has seen it Ready for [`SETTLED`] and it was already available [`SETTLED`]
//! ago; pods available in the monitor's initial list count at once, because the monitor starts
//! after a finished rollout, whose status says the controller has seen them available. Nodes with a pod the test broke, or that lost one within [`SETTLED`], and
//! nodes that left are not judged, so every check errs towards passing an upstream-faithful
//! controller.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::{State, active_by_node, describe, hash_of, is_active, is_available, target_node};

/// How long a change must be old before a decision that contradicts it counts: longer than the
/// controller's cache may plausibly lag the monitor's watch.
const SETTLED: SignedDuration = SignedDuration::from_secs(2);

impl State {
    /// Records when `pod` was first seen Ready (for [`SETTLED`]), and which pods the initial
    /// list showed available.
    pub(super) fn note_readiness(&mut self, pod: &Pod, now: Timestamp) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if is_active(pod) && is_available(pod, 0, now) {
            let since = if self.pods_synced {
                now
            } else {
                if is_available(pod, self.min_ready_seconds, now) {
                    self.listed_available.insert(uid.clone());
                }
                now.checked_sub(SETTLED).unwrap_or(now)
            };
            self.ready_seen_since.entry(uid).or_insert(since);
        } else {
            self.ready_seen_since.remove(&uid);
            self.listed_available.remove(&uid);
        }
    }

    /// Notes that a pod left the watch: if the test broke it, its node's next decisions are not
    /// the controller's to answer for until [`SETTLED`] has passed (the controller may have
    /// planned with the pod still there).
    pub(super) fn note_removal(&mut self, pod: &Pod, now: Timestamp) {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        if self.faulted.contains(uid) || self.faulted_unready.contains(uid) {
            let until = now.checked_add(SETTLED).unwrap_or(now);
            self.disturbed_until
                .insert(target_node(pod).to_string(), until);
        }
    }

    /// How long the monitor has known `pod`.
    fn seen_for(&self, pod: &Pod, now: Timestamp) -> SignedDuration {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        self.first_seen
            .get(uid)
            .map_or(SignedDuration::ZERO, |since| now.duration_since(*since))
    }

    /// Whether the pod has been seen Ready for at least [`SETTLED`], was available already
    /// [`SETTLED`] ago, and the test has not broken it.
    fn settled_available(&self, pod: &Pod, now: Timestamp) -> bool {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let then = now.checked_sub(SETTLED).unwrap_or(now);
        !self.faulted.contains(uid)
            && !self.faulted_unready.contains(uid)
            && self
                .ready_seen_since
                .get(uid)
                .is_some_and(|since| *since <= then)
            && (self.listed_available.contains(uid)
                || is_available(pod, self.min_ready_seconds, then))
    }

    /// Nodes whose state is not the controller's doing: they hold a pod the test broke, lost
    /// one within [`SETTLED`], or left.
    fn disturbed_nodes(&self, now: Timestamp) -> BTreeSet<String> {
        let broken = self.pods.values().filter(|p| {
            let uid = p.metadata.uid.as_deref().unwrap_or_default();
            self.faulted.contains(uid) || self.faulted_unready.contains(uid)
        });
        broken
            .map(target_node)
            .chain(self.left_nodes.iter().map(String::as_str))
            .chain(
                self.disturbed_until
                    .iter()
                    .filter(|(_, until)| now < **until)
                    .map(|(node, _)| node.as_str()),
            )
            .map(str::to_owned)
            .collect()
    }

    /// Judges a pod the watch shows for the first time (call before it is stored).
    pub(super) fn judge_creation(&mut self, pod: &Pod, max_surge: usize, now: Timestamp) {
        let node = target_node(pod);
        let hash = hash_of(pod);
        let others: Vec<&Pod> = self
            .pods
            .values()
            .filter(|p| is_active(p) && target_node(p) == node)
            .collect();
        // A pod on an empty node is the manage loop's; beside an unavailable old pod it is an
        // allowed replacement outside the budget.
        let [old] = others.as_slice() else { return };
        let disturbed = self.disturbed_nodes(now);
        if hash_of(old) == hash || !self.settled_available(old, now) || disturbed.contains(node) {
            return;
        }
        self.judged.0 += 1;
        let mut surging = Vec::new();
        for (other, pods) in &active_by_node(&self.pods) {
            if *other == node || disturbed.contains(*other) {
                continue;
            }
            // Upstream's numSurge: two outdated pods, or an outdated one beside an unavailable
            // new one. The latter counts only where the controller surely counted it: its new
            // pod is not this sync's allowed replacement (created in the same batch, outside the
            // budget) but was spent from the budget or made by an earlier sync.
            let outdated: Vec<&&Pod> = pods.iter().filter(|p| hash_of(p) != hash).collect();
            let new_unavailable: Vec<&&Pod> = pods
                .iter()
                .filter(|p| hash_of(p) == hash && !is_available(p, self.min_ready_seconds, now))
                .collect();
            let counted = match (outdated.as_slice(), new_unavailable.as_slice()) {
                ([_, _, ..], _) => true,
                ([old], [new]) => {
                    self.settled_available(old, now) || self.seen_for(new, now) >= SETTLED
                }
                _ => false,
            };
            if counted {
                surging.push(other.to_string());
            }
        }
        if surging.len() >= max_surge {
            self.violation(
                now,
                format!(
                    "surge pod {} created on {node} beside available {} while {} nodes already \
                     surge (maxSurge {max_surge}): {surging:?}",
                    describe(pod),
                    describe(old),
                    surging.len()
                ),
            );
        }
    }

    /// Judges the deletion of `pod` (as it was before the deletion; call before it is stored).
    pub(super) fn judge_deletion(&mut self, pod: &Pod, now: Timestamp) {
        let node = target_node(pod);
        if !self.settled_available(pod, now) || self.disturbed_nodes(now).contains(node) {
            return;
        }
        self.judged.1 += 1;
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        let justified = self
            .pods
            .values()
            .filter(|p| is_active(p) && target_node(p) == node)
            .filter(|p| p.metadata.uid.as_deref() != Some(uid))
            .any(|p| {
                is_available(p, self.min_ready_seconds, now)
                    || (hash_of(p) != hash_of(pod) && kept_before(p, pod) == Ordering::Less)
            });
        if !justified {
            let beside: Vec<String> = self
                .pods
                .values()
                .filter(|p| target_node(p) == node && p.metadata.uid.as_deref() != Some(uid))
                .map(describe)
                .collect();
            self.violation(
                now,
                format!(
                    "available {} deleted on {node}, leaving no available pod: {beside:?}",
                    describe(pod)
                ),
            );
        }
    }
}

/// Upstream `podByCreationTimestampAndPhase`: scheduled pods first, then by creation second,
/// then by name. The manage loop keeps the first.
fn kept_before(a: &Pod, b: &Pod) -> Ordering {
    let scheduled = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    scheduled(b)
        .cmp(&scheduled(a))
        .then_with(|| created(a).cmp(&created(b)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}
