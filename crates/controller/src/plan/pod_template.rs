//! The pods the controller creates: template + automatic tolerations + revision labels, pinned to a node by `metadata.name` affinity (spec §1.8 K2–K3, §1.4).

use std::collections::BTreeMap;

use everynode_core::affinity::pin_pod_spec_to_node;
use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, DAEMONSET_API_VERSION, DAEMONSET_KIND,
    POD_TEMPLATE_GENERATION_LABEL,
};
use everynode_core::labels::is_dns1123_subdomain;
use everynode_core::taints::add_or_update_daemon_pod_tolerations;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::snapshot::template_generation;

/// Why a pod cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Upstream refuses to create pods from a template without labels (spec §1.8 K3).
    #[error("unable to create pods, no labels")]
    NoLabels,
}

/// The controller ownerRef put on every created pod and CR (spec §0).
pub fn controller_owner_ref(ds: &DaemonSet) -> OwnerReference {
    OwnerReference {
        api_version: DAEMONSET_API_VERSION.to_string(),
        kind: DAEMONSET_KIND.to_string(),
        name: ds.metadata.name.clone().unwrap_or_default(),
        uid: ds.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// spec §1.8 K2: the template deep copy with automatic tolerations, the
/// `pod-template-generation` label (only if the annotation parses) and the hash label.
pub fn creation_template(ds: &DaemonSet, hash: &str) -> PodTemplateSpec {
    let mut template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let spec = template.spec.get_or_insert_with(Default::default);
    add_or_update_daemon_pod_tolerations(spec);
    let meta = template.metadata.get_or_insert_with(Default::default);
    let labels = meta.labels.get_or_insert_with(BTreeMap::new);
    if let Some(generation) = template_generation(ds) {
        labels.insert(POD_TEMPLATE_GENERATION_LABEL.to_string(), generation);
    }
    if !hash.is_empty() {
        labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash.to_string());
    }
    template
}

/// Upstream `getPodsPrefix`: `"<ds>-"` if it is a valid pod name prefix, else the bare name.
pub fn generate_name(ds_name: &str) -> String {
    // A prefix is validated with its trailing dash masked (upstream `maskTrailingDash`).
    if is_dns1123_subdomain(&format!("{ds_name}a")).is_empty() {
        format!("{ds_name}-")
    } else {
        ds_name.to_string()
    }
}

/// spec §1.8 K3: the pod to create on `node` from a [`creation_template`]: required node
/// affinity replaced by `metadata.name In [node]`, `spec.nodeName` left for the scheduler.
pub fn pod_for_node(
    ds: &DaemonSet,
    template: &PodTemplateSpec,
    node: &str,
) -> Result<Pod, TemplateError> {
    let meta = template.metadata.as_ref();
    let labels = meta.and_then(|m| m.labels.clone());
    if labels.as_ref().is_none_or(BTreeMap::is_empty) {
        return Err(TemplateError::NoLabels);
    }
    let mut spec = template.spec.clone().unwrap_or_default();
    pin_pod_spec_to_node(&mut spec, node);
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name(ds.metadata.name.as_deref().unwrap_or(""))),
            namespace: ds.metadata.namespace.clone(),
            labels,
            annotations: meta.and_then(|m| m.annotations.clone()),
            finalizers: meta.and_then(|m| m.finalizers.clone()),
            owner_references: Some(vec![controller_owner_ref(ds)]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}
