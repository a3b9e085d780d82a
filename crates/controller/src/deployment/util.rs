//! Deployment helpers: revisions, fenceposts, replica counts, conditions and status (upstream `pkg/controller/deployment/util/deployment_util.go`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use everynode_core::strategy::semantic_eq;
use everynode_core::workloads::{
    DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, POD_TEMPLATE_HASH_LABEL, RECREATE,
    REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION,
};

/// Condition type `Available`.
pub const AVAILABLE: &str = "Available";
/// Condition type `Progressing`.
pub const PROGRESSING: &str = "Progressing";
/// Upstream `MinimumReplicasAvailable`.
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
/// Upstream `MinimumReplicasUnavailable`.
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
/// Upstream `NewReplicaSetReason`.
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
/// Upstream `FoundNewRSReason`.
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
/// Upstream `NewRSAvailableReason`.
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// Upstream `ReplicaSetUpdatedReason`.
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
/// Upstream `TimedOutReason`.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// Upstream `PausedDeployReason`.
pub const PAUSED: &str = "DeploymentPaused";
/// Upstream `ResumedDeployReason`.
pub const RESUMED: &str = "DeploymentResumed";
/// Condition status values.
pub const TRUE: &str = "True";
/// Condition status `False`.
pub const FALSE: &str = "False";
/// Condition status `Unknown`.
pub const UNKNOWN: &str = "Unknown";

/// Annotations a Deployment does not copy onto its ReplicaSets (upstream `skipCopyAnnotation`).
const SKIP_COPY: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    REVISION_HISTORY_ANNOTATION,
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    "deprecated.deployment.rollback.to",
];

pub fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

pub fn set_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(n);
}

pub fn desired(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn status_of(rs: &ReplicaSet) -> k8s_openapi::api::apps::v1::ReplicaSetStatus {
    rs.status.clone().unwrap_or_default()
}

/// Upstream `GetReplicaCountForReplicaSets`: the sum of spec.replicas.
pub fn spec_sum<'a>(rses: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rses.into_iter().map(replicas).sum()
}

/// Upstream `GetActualReplicaCountForReplicaSets`: the sum of status.replicas.
pub fn actual_sum<'a>(rses: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rses.into_iter().map(|rs| status_of(rs).replicas).sum()
}

/// The sum of status.readyReplicas.
pub fn ready_sum<'a>(rses: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rses.into_iter()
        .map(|rs| status_of(rs).ready_replicas.unwrap_or(0))
        .sum()
}

/// The sum of status.availableReplicas.
pub fn available_sum<'a>(rses: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rses.into_iter()
        .map(|rs| status_of(rs).available_replicas.unwrap_or(0))
        .sum()
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// The revision a ReplicaSet stands for (0 without a valid annotation).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION_ANNOTATION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Upstream `GetDesiredReplicasAnnotation`.
pub fn desired_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, DESIRED_REPLICAS_ANNOTATION).and_then(|r| r.parse().ok())
}

/// Upstream `getMaxReplicasAnnotation`.
fn max_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, MAX_REPLICAS_ANNOTATION).and_then(|r| r.parse().ok())
}

/// Upstream `SetReplicasAnnotations`: true when either annotation changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in [
        (DESIRED_REPLICAS_ANNOTATION, desired),
        (MAX_REPLICAS_ANNOTATION, max),
    ] {
        let value = value.to_string();
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.to_owned(), value);
            changed = true;
        }
    }
    changed
}

/// Upstream `copyDeploymentAnnotationsToReplicaSet`.
fn copy_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let mut changed = false;
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if SKIP_COPY.contains(&k.as_str()) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Upstream `SetNewReplicaSetAnnotations`: copies the Deployment's annotations, raises the
/// revision (recording the old one in the revision history on a rollback), and for a new
/// ReplicaSet sets the replicas annotations.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_annotations(d, rs);
    let old = annotation(rs, REVISION_ANNOTATION).map(str::to_owned);
    let old_revision = match old.as_deref() {
        None | Some("") => 0,
        Some(r) => match r.parse::<i64>() {
            Ok(r) => r,
            Err(_) => return false,
        },
    };
    if old_revision < new_revision {
        let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert(REVISION_ANNOTATION.to_owned(), new_revision.to_string());
        changed = true;
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            let history = annotations
                .get(REVISION_HISTORY_ANNOTATION)
                .filter(|h| !h.is_empty())
                .map_or(old.clone(), |h| format!("{h},{old}"));
            annotations.insert(REVISION_HISTORY_ANNOTATION.to_owned(), history);
        }
    }
    if !exists && set_replicas_annotations(rs, desired(d), desired(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

/// Upstream `SetDeploymentRevision`.
pub fn set_deployment_revision(d: &mut Deployment, revision: &str) -> bool {
    let annotations = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(REVISION_ANNOTATION).map(String::as_str) == Some(revision) {
        return false;
    }
    annotations.insert(REVISION_ANNOTATION.to_owned(), revision.to_owned());
    true
}

/// The template without the `pod-template-hash` label.
fn without_hash(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = template.clone();
    if let Some(meta) = t.metadata.as_mut()
        && let Some(labels) = meta.labels.as_mut()
    {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
        if labels.is_empty() {
            meta.labels = None;
        }
    }
    t
}

/// Upstream `EqualIgnoreHash`.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    semantic_eq(&without_hash(a), &without_hash(b))
}

fn created(rs: &ReplicaSet) -> Option<Timestamp> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// Upstream `ReplicaSetsByCreationTimestamp`: oldest first, then by name.
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> std::cmp::Ordering {
    created(a)
        .cmp(&created(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Upstream `ReplicaSetsBySizeNewer`/`Older`: larger first, ties by age.
pub fn by_size(newer_first: bool) -> impl Fn(&ReplicaSet, &ReplicaSet) -> std::cmp::Ordering {
    move |a, b| {
        replicas(b).cmp(&replicas(a)).then_with(|| {
            if newer_first {
                by_creation(b, a)
            } else {
                by_creation(a, b)
            }
        })
    }
}

/// Upstream `GetValueFromIntOrPercent`.
pub fn scaled_value(value: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match value {
        None => 0,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let product = percent * i64::from(total);
            let v = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(v).unwrap_or(i32::MAX)
        }
    }
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        != Some(RECREATE)
}

/// Upstream `ResolveFenceposts`: (maxSurge, maxUnavailable), never both 0.
fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let total = desired(d);
    let surge = scaled_value(rolling.and_then(|r| r.max_surge.as_ref()), total, true);
    let unavailable = scaled_value(
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        total,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// Upstream `MaxUnavailable`.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || desired(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(desired(d))
}

/// Upstream `MaxSurge`.
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d).0
}

/// Upstream `NewRSNewReplicas`: how big the new ReplicaSet may be now.
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new_rs: &ReplicaSet) -> i32 {
    if !is_rolling(d) {
        return desired(d);
    }
    let current = spec_sum(all.iter().copied());
    let max_total = desired(d) + max_surge(d);
    if current >= max_total {
        return replicas(new_rs);
    }
    let up = (max_total - current).min(desired(d) - replicas(new_rs));
    replicas(new_rs) + up
}

/// Upstream `IsSaturated`.
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    desired_annotation(rs) == Some(desired(d))
        && status_of(rs).available_replicas.unwrap_or(0) == desired(d)
        && replicas(rs) == desired(d)
}

/// Upstream `getReplicaSetFraction`.
fn fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if desired(d) == 0 {
        return -replicas(rs);
    }
    let deployment_replicas = desired(d) + max_surge(d);
    let annotated = max_annotation(rs)
        .unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
    // Upstream `integer.RoundToInt32`: half away from zero.
    size.round() as i32 - replicas(rs)
}

/// Upstream `GetProportion`.
pub fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let f = fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        f.min(allowed)
    } else {
        f.max(allowed)
    }
}

/// Upstream `HasProgressDeadline`.
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|s| s != i32::MAX)
}

pub fn condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
}

pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
    }
}

/// Upstream `NewDeploymentCondition`.
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// Upstream `SetDeploymentCondition`: same status and reason is no change; same status keeps
/// the transition time.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(current) = condition(status, &c.type_) {
        if current.status == c.status && current.reason == c.reason {
            return;
        }
        if current.status == c.status {
            c.last_transition_time
                .clone_from(&current.last_transition_time);
        }
    }
    remove_condition(status, &c.type_);
    status.conditions.get_or_insert_with(Vec::new).push(c);
}

/// Upstream `calculateStatus` of the Deployment controller.
pub fn calculate_status(
    all: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    now: Timestamp,
) -> DeploymentStatus {
    let available = available_sum(all.iter().copied());
    let total = spec_sum(all.iter().copied());
    let old = d.status.clone().unwrap_or_default();
    // Every counter is `omitempty` upstream: a zero is left out.
    let nz = |n: i32| (n != 0).then_some(n);
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: nz(actual_sum(all.iter().copied())),
        updated_replicas: nz(actual_sum(new_rs)),
        ready_replicas: nz(ready_sum(all.iter().copied())),
        available_replicas: nz(available),
        unavailable_replicas: nz((total - available).max(0)),
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        terminating_replicas: None,
    };
    if available >= desired(d) - max_unavailable(d) {
        set_condition(
            &mut status,
            new_condition(
                AVAILABLE,
                TRUE,
                MINIMUM_REPLICAS_AVAILABLE,
                "Deployment has minimum availability.".to_owned(),
                now,
            ),
        );
    } else {
        set_condition(
            &mut status,
            new_condition(
                AVAILABLE,
                FALSE,
                MINIMUM_REPLICAS_UNAVAILABLE,
                "Deployment does not have minimum availability.".to_owned(),
                now,
            ),
        );
    }
    status
}

/// Upstream `DeploymentComplete`.
pub fn complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let n = desired(d);
    status.updated_replicas.unwrap_or(0) == n
        && status.replicas.unwrap_or(0) == n
        && status.available_replicas.unwrap_or(0) == n
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Upstream `DeploymentProgressing`.
pub fn progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let v = |x: Option<i32>| x.unwrap_or(0);
    let old_old = v(old.replicas) - v(old.updated_replicas);
    let new_old = v(new.replicas) - v(new.updated_replicas);
    v(new.updated_replicas) > v(old.updated_replicas)
        || new_old < old_old
        || v(new.ready_replicas) > v(old.ready_replicas)
        || v(new.available_replicas) > v(old.available_replicas)
}

/// Upstream `DeploymentTimedOut`.
pub fn timed_out(d: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(c) = condition(status, PROGRESSING) else {
        return false;
    };
    match c.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => return false,
        Some(TIMED_OUT) => return true,
        _ => {}
    }
    let deadline = d
        .spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .unwrap_or(0);
    let Some(from) = c.last_update_time.as_ref() else {
        return false;
    };
    from.0
        .checked_add(jiff::SignedDuration::from_secs(i64::from(deadline)))
        .is_ok_and(|t| t < now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_values_round_like_upstream() {
        let pct = IntOrString::String("25%".into());
        assert_eq!(scaled_value(Some(&pct), 3, true), 1);
        assert_eq!(scaled_value(Some(&pct), 3, false), 0);
        assert_eq!(scaled_value(Some(&pct), 10, true), 3);
        assert_eq!(scaled_value(Some(&pct), 10, false), 2);
    }
}
