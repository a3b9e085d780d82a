//! The Deployment planner: one sync of upstream `pkg/controller/deployment` (`sync.go`, `rolling.go`, `recreate.go`, `progress.go`) as a pure function from (Deployment, its ReplicaSets, now) to ReplicaSet writes and the Deployment's new annotations and status.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use everynode_core::labels::Selector;
use everynode_core::pod::controller_ref;
use everynode_core::workloads::{POD_TEMPLATE_HASH_LABEL, RECREATE};

use super::util::{self, *};
use crate::plan::hash::compute_hash;
use crate::replicaset::plan::controller_owner;

/// One write the sync decided on, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create this ReplicaSet.
    Create(ReplicaSet),
    /// Replace this ReplicaSet (replicas, annotations, minReadySeconds).
    Update(ReplicaSet),
    /// Delete this old ReplicaSet (revision history cleanup).
    Delete(String),
}

/// What one sync of a Deployment should do.
#[derive(Debug, Default)]
pub struct DeploymentPlan {
    /// ReplicaSet adoptions and releases (names), then the writes.
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    pub actions: Vec<Action>,
    /// The Deployment with its new annotations and status, when either changed.
    pub deployment: Option<Deployment>,
    /// Sync again after this many seconds (the progress deadline).
    pub requeue_after_seconds: Option<u64>,
    /// Normal events to record on the Deployment once the writes succeeded: (reason, message).
    pub events: Vec<(&'static str, String)>,
}

/// Event reason of every ReplicaSet resize (upstream `ScalingReplicaSet`).
pub const SCALING_REPLICA_SET: &str = "ScalingReplicaSet";

/// The working state of one sync: the Deployment copy and its ReplicaSets as the sync changes them.
struct Sync<'a> {
    original: &'a Deployment,
    d: Deployment,
    rses: Vec<ReplicaSet>,
    actions: Vec<Action>,
    events: Vec<(&'static str, String)>,
    now: Timestamp,
}

/// Plans one sync. `namespace_rses` are all ReplicaSets in the Deployment's namespace;
/// `old_pods_running` says whether pods of ReplicaSets other than the newest still run (Recreate).
pub fn plan(
    d: &Deployment,
    namespace_rses: &[ReplicaSet],
    old_pods_running: &dyn Fn(&[&ReplicaSet], Option<&ReplicaSet>) -> bool,
    now: Timestamp,
) -> DeploymentPlan {
    let mut out = DeploymentPlan::default();
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let deleting = d.metadata.deletion_timestamp.is_some();
    let selector = d
        .spec
        .as_ref()
        .map(|s| &s.selector)
        .and_then(|s| Selector::from_label_selector(Some(s)).ok())
        .filter(|s| !s.is_empty());
    let Some(selector) = selector else {
        // Upstream refuses to act on an empty selector (it would select everything).
        return out;
    };
    let mut owned = Vec::new();
    for rs in namespace_rses {
        let labels = rs.metadata.labels.as_ref();
        let matches = selector.matches_opt(labels);
        match controller_ref(&rs.metadata) {
            Some(r) if r.uid == uid => {
                if matches {
                    owned.push(rs.clone());
                } else if !deleting {
                    out.release
                        .push(rs.metadata.name.clone().unwrap_or_default());
                }
            }
            Some(_) => {}
            None if matches && !deleting && rs.metadata.deletion_timestamp.is_none() => {
                out.adopt.push(rs.metadata.name.clone().unwrap_or_default());
                owned.push(rs.clone());
            }
            None => {}
        }
    }
    let mut sync = Sync {
        original: d,
        d: d.clone(),
        rses: owned,
        actions: Vec::new(),
        events: Vec::new(),
        now,
    };
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if deleting {
        sync.sync_status_only();
    } else {
        sync.check_paused_conditions(paused);
        if paused || sync.is_scaling_event() {
            sync.scale_sync(paused);
        } else if strategy_type(d) == RECREATE {
            sync.rollout_recreate(old_pods_running);
        } else {
            sync.rollout_rolling();
        }
    }
    out.actions = sync.actions;
    out.events = sync.events;
    if !everynode_core::strategy::semantic_eq(&sync.d, d) {
        out.deployment = Some(sync.d.clone());
    }
    // Check the progress deadline again when it could pass (upstream `requeueStuckDeployment`).
    let status = sync.d.status.clone().unwrap_or_default();
    if has_progress_deadline(&sync.d)
        && !complete(&sync.d, &status)
        && condition(&status, PROGRESSING).is_some_and(|c| c.reason.as_deref() != Some(TIMED_OUT))
    {
        let deadline = sync
            .d
            .spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(0);
        out.requeue_after_seconds = Some(u64::try_from(deadline).unwrap_or(0).max(1));
    }
    out
}

fn strategy_type(d: &Deployment) -> &str {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("")
}

impl Sync<'_> {
    /// Upstream `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's.
    fn new_rs_index(&self) -> Option<usize> {
        let template = &self.d.spec.as_ref()?.template;
        let mut order: Vec<usize> = (0..self.rses.len()).collect();
        order.sort_by(|&a, &b| by_creation(&self.rses[a], &self.rses[b]));
        order.into_iter().find(|&i| {
            self.rses[i]
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignore_hash(t, template))
        })
    }

    fn old_indices(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rses.len()).filter(|i| Some(*i) != new).collect()
    }

    fn write(&mut self, i: usize) {
        let rs = self.rses[i].clone();
        let name = rs.metadata.name.clone();
        // A ReplicaSet created in this sync is created with its final form.
        for action in self.actions.iter_mut() {
            if let Action::Create(created) = action
                && created.metadata.name == name
            {
                *created = rs;
                return;
            }
        }
        self.actions
            .retain(|a| !matches!(a, Action::Update(u) if u.metadata.name == name));
        self.actions.push(Action::Update(rs));
    }

    /// Upstream `getNewReplicaSet` (+ revision sync of `getAllReplicaSetsAndSyncRevision`).
    fn sync_revision(&mut self, create: bool) -> Option<usize> {
        let new = self.new_rs_index();
        let max_old = self
            .old_indices(new)
            .into_iter()
            .map(|i| revision(&self.rses[i]))
            .max()
            .unwrap_or(0);
        let new_revision = max_old + 1;
        if let Some(i) = new {
            let mut rs = self.rses[i].clone();
            let annotations_changed = set_new_rs_annotations(&self.d, &mut rs, new_revision, true);
            let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            let spec = rs.spec.get_or_insert_with(Default::default);
            let min_ready_changed = spec.min_ready_seconds.unwrap_or(0) != min_ready.unwrap_or(0);
            if annotations_changed || min_ready_changed {
                spec.min_ready_seconds = min_ready;
                self.rses[i] = rs;
                self.write(i);
                // Upstream returns after updating the ReplicaSet; the next sync finishes.
            }
            let rev = revision(&self.rses[i]).to_string();
            set_deployment_revision(&mut self.d, &rev);
            let status = self.d.status.get_or_insert_with(Default::default);
            if has_progress_deadline(self.original) && condition(status, PROGRESSING).is_none() {
                let name = self.rses[i].metadata.name.clone().unwrap_or_default();
                set_condition(
                    status,
                    new_condition(
                        PROGRESSING,
                        TRUE,
                        FOUND_NEW_RS,
                        format!("Found new replica set {}", go_quote(&name)),
                        self.now,
                    ),
                );
            }
            return Some(i);
        }
        if !create {
            return None;
        }
        let spec = self.d.spec.clone().unwrap_or_default();
        let collision_count = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = compute_hash(&spec.template, collision_count).ok()?;
        let mut template = spec.template.clone();
        template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.to_owned(), hash.clone());
        let mut selector = spec.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH_LABEL.to_owned(), hash.clone());
        let d_name = self.d.metadata.name.clone().unwrap_or_default();
        let name = format!("{d_name}-{hash}");
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                owner_references: Some(vec![controller_owner(
                    "Deployment",
                    &d_name,
                    self.d.metadata.uid.as_deref().unwrap_or_default(),
                )]),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: spec.min_ready_seconds,
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let all: Vec<&ReplicaSet> = self.rses.iter().collect();
        let new_replicas = new_rs_new_replicas(&self.d, &all, &rs);
        set_replicas(&mut rs, new_replicas);
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        if new_replicas > 0 {
            self.events.push((
                SCALING_REPLICA_SET,
                format!("Scaled up replica set {name} from 0 to {new_replicas}"),
            ));
        }
        self.actions.push(Action::Create(rs.clone()));
        self.rses.push(rs);
        set_deployment_revision(&mut self.d, &new_revision.to_string());
        if has_progress_deadline(self.original) {
            let status = self.d.status.get_or_insert_with(Default::default);
            set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    TRUE,
                    NEW_RS_CREATED,
                    format!("Created new replica set {}", go_quote(&name)),
                    self.now,
                ),
            );
        }
        Some(self.rses.len() - 1)
    }

    fn is_active(&self, i: usize) -> bool {
        replicas(&self.rses[i]) > 0
    }

    /// Upstream `isScalingEvent`.
    fn is_scaling_event(&mut self) -> bool {
        let n = desired(&self.d);
        (0..self.rses.len())
            .filter(|&i| self.is_active(i))
            .any(|i| desired_annotation(&self.rses[i]).is_some_and(|a| a != n))
    }

    /// Upstream `scaleReplicaSet`: replicas and the replicas annotations.
    fn scale_rs(&mut self, i: usize, to: i32) -> bool {
        let n = desired(&self.d);
        let max = n + max_surge(&self.d);
        let mut rs = self.rses[i].clone();
        let from = replicas(&rs);
        let size_changed = from != to;
        if size_changed {
            let direction = if to > from { "up" } else { "down" };
            let rs_name = rs.metadata.name.as_deref().unwrap_or_default();
            self.events.push((
                SCALING_REPLICA_SET,
                format!("Scaled {direction} replica set {rs_name} from {from} to {to}"),
            ));
        }
        set_replicas(&mut rs, to);
        let annotations_changed = set_replicas_annotations(&mut rs, n, max);
        if size_changed || annotations_changed {
            self.rses[i] = rs;
            self.write(i);
        }
        size_changed
    }

    fn all(&self) -> Vec<&ReplicaSet> {
        self.rses.iter().collect()
    }

    /// Upstream `checkPausedConditions`.
    fn check_paused_conditions(&mut self, paused: bool) {
        if !has_progress_deadline(&self.d) {
            return;
        }
        let status = self.d.status.get_or_insert_with(Default::default);
        let current = condition(status, PROGRESSING).cloned();
        if current
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT))
        {
            return;
        }
        let paused_now = current
            .as_ref()
            .is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
        if paused && !paused_now {
            set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    UNKNOWN,
                    PAUSED,
                    "Deployment is paused".to_owned(),
                    self.now,
                ),
            );
        } else if !paused && paused_now {
            set_condition(
                status,
                new_condition(
                    PROGRESSING,
                    UNKNOWN,
                    RESUMED,
                    "Deployment is resumed".to_owned(),
                    self.now,
                ),
            );
        }
    }

    /// Upstream `syncStatusOnly`.
    fn sync_status_only(&mut self) {
        let new = self.sync_revision(false);
        self.sync_status(new);
    }

    /// Upstream `sync`: scaling (and cleanup while paused).
    fn scale_sync(&mut self, paused: bool) {
        let new = self.sync_revision(false);
        self.scale(new);
        if paused {
            let old = self.old_indices(new);
            self.cleanup(&old);
        }
        self.sync_status(new);
    }

    /// Upstream `scale`: proportional scaling across the active ReplicaSets.
    fn scale(&mut self, new: Option<usize>) {
        let n = desired(&self.d);
        let mut old = self.old_indices(new);
        old.sort_by(|&a, &b| by_creation(&self.rses[b], &self.rses[a]));
        let mut active: Vec<usize> = old
            .iter()
            .copied()
            .chain(new)
            .filter(|&i| self.is_active(i))
            .collect();
        // Upstream `FindActiveOrLatest`.
        let target = match active.len() {
            0 => new.or_else(|| old.first().copied()),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(i) = target {
            if replicas(&self.rses[i]) != n {
                self.scale_rs(i, n);
            }
            return;
        }
        if is_saturated(&self.d, new.map(|i| &self.rses[i])) {
            let active_old: Vec<usize> = old.into_iter().filter(|&i| self.is_active(i)).collect();
            for i in active_old {
                self.scale_rs(i, 0);
            }
            return;
        }
        if strategy_type(&self.d) == RECREATE {
            return;
        }
        let total = spec_sum(active.iter().map(|&i| &self.rses[i]));
        let allowed = if n > 0 { n + max_surge(&self.d) } else { 0 };
        let to_add = allowed - total;
        active.sort_by(|&a, &b| by_size(to_add > 0)(&self.rses[a], &self.rses[b]));
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for &i in &active {
            let rs = &self.rses[i];
            let p = if to_add != 0 {
                util::proportion(rs, &self.d, to_add, added)
            } else {
                0
            };
            added += p;
            sizes.push((i, replicas(rs) + p));
        }
        if let Some(first) = sizes.first_mut()
            && to_add != added
        {
            first.1 = (first.1 + to_add - added).max(0);
        }
        for (i, size) in sizes {
            self.scale_rs(i, size);
        }
    }

    /// Upstream `rolloutRolling`.
    fn rollout_rolling(&mut self) {
        let Some(new) = self.sync_revision(true) else {
            return;
        };
        if self.reconcile_new(new) || self.reconcile_old(new) {
            self.sync_rollout_status(Some(new));
            return;
        }
        let status = self.d.status.clone().unwrap_or_default();
        if complete(&self.d, &status) {
            let old = self.old_indices(Some(new));
            self.cleanup(&old);
        }
        self.sync_rollout_status(Some(new));
    }

    /// Upstream `reconcileNewReplicaSet`.
    fn reconcile_new(&mut self, new: usize) -> bool {
        let n = desired(&self.d);
        let current = replicas(&self.rses[new]);
        if current == n {
            return false;
        }
        if current > n {
            return self.scale_rs(new, n);
        }
        let all = self.all();
        let to = new_rs_new_replicas(&self.d, &all, &self.rses[new]);
        self.scale_rs(new, to)
    }

    /// Upstream `reconcileOldReplicaSets` with `cleanupUnhealthyReplicas` and
    /// `scaleDownOldReplicaSetsForRollingUpdate`.
    fn reconcile_old(&mut self, new: usize) -> bool {
        let mut old: Vec<usize> = self
            .old_indices(Some(new))
            .into_iter()
            .filter(|&i| self.is_active(i))
            .collect();
        if spec_sum(old.iter().map(|&i| &self.rses[i])) == 0 {
            return false;
        }
        let all_pods = spec_sum(self.rses.iter());
        let min_available = desired(&self.d) - max_unavailable(&self.d);
        let new_rs = &self.rses[new];
        let new_unavailable = replicas(new_rs)
            - new_rs
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        old.sort_by(|&a, &b| by_creation(&self.rses[a], &self.rses[b]));
        let mut cleaned = 0;
        for &i in &old {
            if cleaned >= max_scaled_down {
                break;
            }
            let size = replicas(&self.rses[i]);
            let available = self.rses[i]
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
            if size == 0 || size == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(size - available);
            self.scale_rs(i, size - down);
            cleaned += down;
        }
        let available = available_sum(self.rses.iter());
        let mut scaled = 0;
        if available > min_available {
            let total = available - min_available;
            for &i in &old {
                if scaled >= total {
                    break;
                }
                let size = replicas(&self.rses[i]);
                if size == 0 {
                    continue;
                }
                let down = size.min(total - scaled);
                self.scale_rs(i, size - down);
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    /// Upstream `rolloutRecreate`.
    fn rollout_recreate(
        &mut self,
        old_pods_running: &dyn Fn(&[&ReplicaSet], Option<&ReplicaSet>) -> bool,
    ) {
        let new = self.sync_revision(false);
        let old: Vec<usize> = self
            .old_indices(new)
            .into_iter()
            .filter(|&i| self.is_active(i))
            .collect();
        let mut scaled_down = false;
        for &i in &old {
            scaled_down |= self.scale_rs(i, 0);
        }
        if scaled_down {
            self.sync_rollout_status(new);
            return;
        }
        let old_rses: Vec<&ReplicaSet> = self
            .old_indices(new)
            .into_iter()
            .map(|i| &self.rses[i])
            .collect();
        if old_pods_running(&old_rses, new.map(|i| &self.rses[i])) {
            self.sync_rollout_status(new);
            return;
        }
        let new = match new {
            Some(i) => Some(i),
            None => self.sync_revision(true),
        };
        if let Some(i) = new {
            let n = desired(&self.d);
            self.scale_rs(i, n);
        }
        let status = self.d.status.clone().unwrap_or_default();
        if complete(&self.d, &status) {
            let old = self.old_indices(new);
            self.cleanup(&old);
        }
        self.sync_rollout_status(new);
    }

    /// Upstream `cleanupDeployment`: deletes the oldest empty ReplicaSets beyond revisionHistoryLimit.
    fn cleanup(&mut self, old: &[usize]) {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else {
            return;
        };
        let mut cleanable: Vec<usize> = old
            .iter()
            .copied()
            .filter(|&i| self.rses[i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = cleanable.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return;
        }
        cleanable.sort_by_key(|&i| revision(&self.rses[i]));
        for &i in cleanable.iter().take(usize::try_from(diff).unwrap_or(0)) {
            let rs = &self.rses[i];
            let status = rs.status.clone().unwrap_or_default();
            // Never delete a ReplicaSet that still has (or is about to have) pods.
            if status.replicas != 0
                || replicas(rs) != 0
                || rs.metadata.generation > status.observed_generation
            {
                continue;
            }
            self.actions
                .push(Action::Delete(rs.metadata.name.clone().unwrap_or_default()));
        }
    }

    /// Upstream `syncDeploymentStatus`.
    fn sync_status(&mut self, new: Option<usize>) {
        let all = self.all();
        let status = calculate_status(&all, new.map(|i| &self.rses[i]), &self.d, self.now);
        self.d.status = Some(status);
    }

    /// Upstream `syncRolloutStatus`: the Available and Progressing conditions.
    fn sync_rollout_status(&mut self, new: Option<usize>) {
        let all = self.all();
        let new_rs = new.map(|i| &self.rses[i]);
        let mut status = calculate_status(&all, new_rs, &self.d, self.now);
        if !has_progress_deadline(&self.d) {
            remove_condition(&mut status, PROGRESSING);
        }
        let current = self
            .d
            .status
            .as_ref()
            .and_then(|s| condition(s, PROGRESSING))
            .cloned();
        let is_complete = status.replicas == status.updated_replicas
            && current
                .as_ref()
                .is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
        let what = |suffix: &str| match new_rs {
            Some(rs) => format!(
                "ReplicaSet {} {suffix}",
                go_quote(rs.metadata.name.as_deref().unwrap_or(""))
            ),
            None => format!(
                "Deployment {} {suffix}",
                go_quote(self.d.metadata.name.as_deref().unwrap_or(""))
            ),
        };
        if has_progress_deadline(&self.d) && !is_complete {
            if complete(&self.d, &status) {
                set_condition(
                    &mut status,
                    new_condition(
                        PROGRESSING,
                        TRUE,
                        NEW_RS_AVAILABLE,
                        what("has successfully progressed."),
                        self.now,
                    ),
                );
            } else if progressing(&self.d, &status) {
                let mut c = new_condition(
                    PROGRESSING,
                    TRUE,
                    RS_UPDATED,
                    what("is progressing."),
                    self.now,
                );
                if let Some(current) = &current {
                    if current.status == TRUE {
                        c.last_transition_time
                            .clone_from(&current.last_transition_time);
                    }
                    remove_condition(&mut status, PROGRESSING);
                }
                set_condition(&mut status, c);
            } else if timed_out(&self.d, &status, self.now) {
                set_condition(
                    &mut status,
                    new_condition(
                        PROGRESSING,
                        FALSE,
                        TIMED_OUT,
                        what("has timed out progressing."),
                        self.now,
                    ),
                );
            }
        }
        self.d.status = Some(status);
    }
}

/// Go's `%q` of a name (names are plain ASCII, so quoting is enough).
fn go_quote(s: &str) -> String {
    everynode_core::labels::go_quote(s)
}

#[cfg(test)]
mod tests;
