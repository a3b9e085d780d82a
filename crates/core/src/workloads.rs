//! Deployment and ReplicaSet API rules: well-known keys, defaults (upstream `pkg/apis/apps/v1/defaults.go`) and registry strategies (`pkg/registry/apps/{deployment,replicaset}/strategy.go`).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, RollingUpdateDeployment};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::defaults::pod_spec;
use crate::strategy::{generation_on_update, semantic_eq};

/// Label the Deployment controller adds to a ReplicaSet's selector, template and pods
/// (upstream `DefaultDeploymentUniqueLabelKey`).
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// Annotation holding a ReplicaSet's (and its Deployment's) revision (upstream `RevisionAnnotation`).
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Older revisions a ReplicaSet stood for (upstream `RevisionHistoryAnnotation`).
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas, copied on each of its ReplicaSets (upstream `DesiredReplicasAnnotation`).
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// replicas + maxSurge of the Deployment, copied on its ReplicaSets (upstream `MaxReplicasAnnotation`).
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
/// The `kubernetes.io/change-cause` annotation that `rollout history` shows.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";

/// Deployment strategy `RollingUpdate` (upstream `RollingUpdateDeploymentStrategyType`).
pub const ROLLING_UPDATE: &str = "RollingUpdate";
/// Deployment strategy `Recreate` (upstream `RecreateDeploymentStrategyType`).
pub const RECREATE: &str = "Recreate";
/// Default maxSurge and maxUnavailable of a rolling Deployment.
pub const DEFAULT_MAX_SURGE_UNAVAILABLE: &str = "25%";
/// Default `spec.revisionHistoryLimit` of an apps/v1 Deployment.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Default `spec.progressDeadlineSeconds` of an apps/v1 Deployment.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;

// === Defaults ===

/// Upstream `SetDefaults_Deployment` (apps/v1) plus the pod-template defaults.
pub fn default_deployment(deployment: &mut Deployment) {
    let spec = deployment.spec.get_or_insert_with(Default::default);
    spec.replicas.get_or_insert(1);
    let strategy = spec.strategy.get_or_insert_with(Default::default);
    let strategy_type = strategy
        .type_
        .get_or_insert_with(|| ROLLING_UPDATE.to_owned());
    if strategy_type == ROLLING_UPDATE {
        let rolling = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDeployment::default);
        let default = || IntOrString::String(DEFAULT_MAX_SURGE_UNAVAILABLE.to_owned());
        rolling.max_unavailable.get_or_insert_with(default);
        rolling.max_surge.get_or_insert_with(default);
    }
    spec.revision_history_limit
        .get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    spec.progress_deadline_seconds
        .get_or_insert(DEFAULT_PROGRESS_DEADLINE_SECONDS);
    pod_spec(spec.template.spec.get_or_insert_with(Default::default));
}

/// Upstream `SetDefaults_ReplicaSet` (apps/v1) plus the pod-template defaults.
pub fn default_replica_set(rs: &mut ReplicaSet) {
    let spec = rs.spec.get_or_insert_with(Default::default);
    spec.replicas.get_or_insert(1);
    if let Some(template) = spec.template.as_mut() {
        pod_spec(template.spec.get_or_insert_with(Default::default));
    }
}

// === Strategies ===

/// Upstream `deploymentStrategy.PrepareForCreate`: empty status, generation 1.
pub fn deployment_prepare_for_create(deployment: &mut Deployment) {
    deployment.status = Some(Default::default());
    deployment.metadata.generation = Some(1);
}

/// Upstream `deploymentStrategy.PrepareForUpdate`: status comes from the stored object; any
/// spec change bumps generation.
pub fn deployment_prepare_for_update(new: &mut Deployment, old: &Deployment) {
    new.status.clone_from(&old.status);
    let changed = !semantic_eq(&new.spec, &old.spec);
    new.metadata.generation = Some(generation_on_update(
        changed,
        old.metadata.generation.unwrap_or(0),
    ));
}

/// Upstream `deploymentStatusStrategy.PrepareForUpdate`: spec and labels come from the stored
/// object; annotations may change (the controller writes the revision annotation this way).
pub fn deployment_prepare_for_status_update(new: &mut Deployment, old: &Deployment) {
    new.spec.clone_from(&old.spec);
    new.metadata.labels.clone_from(&old.metadata.labels);
    new.metadata.generation = old.metadata.generation;
}

/// Upstream `rsStrategy.PrepareForCreate`: empty status, generation 1.
pub fn replica_set_prepare_for_create(rs: &mut ReplicaSet) {
    rs.status = Some(Default::default());
    rs.metadata.generation = Some(1);
}

/// Upstream `rsStrategy.PrepareForUpdate`: status from the stored object; spec change bumps generation.
pub fn replica_set_prepare_for_update(new: &mut ReplicaSet, old: &ReplicaSet) {
    new.status.clone_from(&old.status);
    let changed = !semantic_eq(&new.spec, &old.spec);
    new.metadata.generation = Some(generation_on_update(
        changed,
        old.metadata.generation.unwrap_or(0),
    ));
}

/// Upstream `rsStatusStrategy.PrepareForUpdate`: only status changes.
pub fn replica_set_prepare_for_status_update(new: &mut ReplicaSet, old: &ReplicaSet) {
    new.spec.clone_from(&old.spec);
    new.metadata.generation = old.metadata.generation;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults_follow_apps_v1() {
        let mut d = Deployment::default();
        default_deployment(&mut d);
        let spec = d.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.revision_history_limit, Some(10));
        assert_eq!(spec.progress_deadline_seconds, Some(600));
        let strategy = spec.strategy.as_ref().expect("strategy");
        assert_eq!(strategy.type_.as_deref(), Some(ROLLING_UPDATE));
        let rolling = strategy.rolling_update.as_ref().expect("rolling");
        assert_eq!(rolling.max_surge, Some(IntOrString::String("25%".into())));
        assert_eq!(
            rolling.max_unavailable,
            Some(IntOrString::String("25%".into()))
        );
    }

    #[test]
    fn recreate_gets_no_rolling_update_block() {
        let mut d: Deployment = serde_json::from_value(
            serde_json::json!({"spec": {"strategy": {"type": "Recreate"}, "selector": {}, "template": {}}}),
        )
        .expect("valid");
        default_deployment(&mut d);
        let strategy = d.spec.and_then(|s| s.strategy).expect("strategy");
        assert!(strategy.rolling_update.is_none());
    }

    #[test]
    fn only_spec_changes_bump_generation() {
        let mut old = Deployment::default();
        default_deployment(&mut old);
        old.metadata.generation = Some(3);
        let mut new = old.clone();
        new.metadata.labels = Some([("a".to_owned(), "b".to_owned())].into());
        deployment_prepare_for_update(&mut new, &old);
        assert_eq!(new.metadata.generation, Some(3));
        if let Some(spec) = new.spec.as_mut() {
            spec.replicas = Some(5);
        }
        deployment_prepare_for_update(&mut new, &old);
        assert_eq!(new.metadata.generation, Some(4));
    }
}
