//! API-server defaulting (upstream `SetDefaults_*` of `pkg/apis/apps/v1` and `pkg/apis/core/v1`) for the kinds everynode serves.
//!
//! Defaulting runs on every decoded request body before the registry strategy and validation
//! (spec `daemonset.md` §3.1). Every function only fills fields that are unset, so applying it twice
//! is the same as applying it once — the API server may default both on write and on read.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, RollingUpdateDaemonSet};
use k8s_openapi::api::core::v1::{
    Container, DownwardAPIVolumeFile, EmptyDirVolumeSource, HTTPGetAction, Lifecycle, Namespace,
    Node, ObjectFieldSelector, Pod, PodSecurityContext, PodSpec, Probe, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::keys::DEFAULT_SCHEDULER_NAME;

mod rbac;
pub use rbac::{cluster_role_binding, role_binding};

#[cfg(test)]
mod tests;

/// `RollingUpdate` DaemonSet strategy type (upstream `RollingUpdateDaemonSetStrategyType`).
pub const ROLLING_UPDATE: &str = "RollingUpdate";
/// `OnDelete` DaemonSet strategy type.
pub const ON_DELETE: &str = "OnDelete";
/// Default `spec.revisionHistoryLimit` of a DaemonSet (§3.1).
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Default pod `terminationGracePeriodSeconds` (upstream `DefaultTerminationGracePeriodSeconds`).
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// Default container `terminationMessagePath` (upstream `TerminationMessagePathDefault`).
pub const DEFAULT_TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// Default volume file mode 0644 (upstream `*VolumeSourceDefaultMode`).
pub const DEFAULT_VOLUME_MODE: i32 = 0o644;
/// Default projected service-account token lifetime.
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// Label every namespace carries with its own name (upstream `LabelMetadataName`).
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// Namespace phase set on create and by defaulting.
pub const NAMESPACE_ACTIVE: &str = "Active";

/// Upstream `SetDefaults_DaemonSet` plus the pod-template defaults of `SetDefaults_PodSpec` and
/// friends (§3.1). apps/v1 does not default the selector or labels from the template.
pub fn daemon_set(ds: &mut DaemonSet) {
    let spec = ds.spec.get_or_insert_with(Default::default);
    let strategy = spec.update_strategy.get_or_insert_with(Default::default);
    let strategy_type = strategy
        .type_
        .get_or_insert_with(|| ROLLING_UPDATE.to_string());
    // OnDelete (or an unknown type, rejected later by validation) gets no rollingUpdate block.
    if strategy_type == ROLLING_UPDATE {
        let rolling = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDaemonSet::default);
        rolling.max_unavailable.get_or_insert(IntOrString::Int(1));
        rolling.max_surge.get_or_insert(IntOrString::Int(0));
    }
    spec.revision_history_limit
        .get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    // Upstream PodTemplateSpec.Spec is a value, so even an absent template spec is defaulted.
    pod_spec(spec.template.spec.get_or_insert_with(Default::default));
}

/// Upstream `SetDefaults_PodSpec` and the per-field defaults reachable from a PodSpec (containers,
/// probes, ports, volumes, downward-API field refs). This is what pod *templates* get; real pods
/// get [`pod`] on top (§3.1 "NOT applied to templates").
pub fn pod_spec(spec: &mut PodSpec) {
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.security_context
        .get_or_insert_with(PodSecurityContext::default);
    spec.termination_grace_period_seconds
        .get_or_insert(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
    spec.scheduler_name
        .get_or_insert_with(|| DEFAULT_SCHEDULER_NAME.into());
    // v1 conversion keeps the deprecated `serviceAccount` mirror of `serviceAccountName`.
    match (&spec.service_account_name, &spec.service_account) {
        (Some(name), _) if !name.is_empty() => spec.service_account = Some(name.clone()),
        (_, Some(old)) if !old.is_empty() => spec.service_account_name = Some(old.clone()),
        _ => {}
    }
    for c in spec.containers.iter_mut() {
        container(c);
    }
    for c in spec.init_containers.iter_mut().flatten() {
        container(c);
    }
    for v in spec.volumes.iter_mut().flatten() {
        volume(v);
    }
}

/// Upstream `SetDefaults_Pod`: the pod spec defaults plus what only real pods get —
/// `enableServiceLinks: true`, container requests copied from limits, and host ports copied from
/// container ports under `hostNetwork`.
pub fn pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    pod_spec(spec);
    spec.enable_service_links.get_or_insert(true);
    let host_network = spec.host_network == Some(true);
    let init = spec.init_containers.iter_mut().flatten();
    for c in spec.containers.iter_mut().chain(init) {
        requests_from_limits(c);
        if host_network {
            for port in c.ports.iter_mut().flatten() {
                if port.host_port.unwrap_or(0) == 0 {
                    port.host_port = Some(port.container_port);
                }
            }
        }
    }
}

/// Upstream `SetDefaults_Namespace` + `SetDefaults_NamespaceStatus`: the
/// `kubernetes.io/metadata.name` label and phase `Active`. (The `kubernetes` finalizer is added by
/// the strategy, see [`crate::strategy::namespace_prepare_for_create`].)
pub fn namespace(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.clone().filter(|n| !n.is_empty()) {
        ns.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(NAMESPACE_NAME_LABEL.to_string(), name);
    }
    let status = ns.status.get_or_insert_with(Default::default);
    status.phase.get_or_insert_with(|| NAMESPACE_ACTIVE.into());
}

/// Upstream `SetDefaults_NodeStatus`: allocatable defaults to capacity.
pub fn node(node: &mut Node) {
    if let Some(status) = node.status.as_mut()
        && status.allocatable.is_none()
    {
        status.allocatable = status.capacity.clone();
    }
}

/// Upstream `SetDefaults_Container` (+ ports, probes, lifecycle handlers, env field refs).
fn container(c: &mut Container) {
    if c.image_pull_policy.as_deref().unwrap_or("").is_empty() {
        c.image_pull_policy = Some(default_pull_policy(c.image.as_deref().unwrap_or("")).into());
    }
    c.termination_message_path
        .get_or_insert_with(|| DEFAULT_TERMINATION_MESSAGE_PATH.into());
    c.termination_message_policy
        .get_or_insert_with(|| "File".into());
    for port in c.ports.iter_mut().flatten() {
        port.protocol.get_or_insert_with(|| "TCP".into());
    }
    for probe_slot in [
        &mut c.liveness_probe,
        &mut c.readiness_probe,
        &mut c.startup_probe,
    ] {
        if let Some(p) = probe_slot.as_mut() {
            probe(p);
        }
    }
    if let Some(lc) = c.lifecycle.as_mut() {
        lifecycle(lc);
    }
    for env in c.env.iter_mut().flatten() {
        if let Some(field_ref) = env.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            field_selector(field_ref);
        }
    }
}

/// Upstream `SetDefaults_Probe` (+ `SetDefaults_HTTPGetAction` for its handler).
fn probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(h) = p.http_get.as_mut() {
        http_get(h);
    }
}

fn lifecycle(lc: &mut Lifecycle) {
    for handler in [lc.post_start.as_mut(), lc.pre_stop.as_mut()]
        .into_iter()
        .flatten()
    {
        if let Some(h) = handler.http_get.as_mut() {
            http_get(h);
        }
    }
}

/// Upstream `SetDefaults_HTTPGetAction`: path `/`, scheme `HTTP`.
fn http_get(h: &mut HTTPGetAction) {
    if h.path.as_deref().unwrap_or("").is_empty() {
        h.path = Some("/".into());
    }
    if h.scheme.as_deref().unwrap_or("").is_empty() {
        h.scheme = Some("HTTP".into());
    }
}

/// Upstream `SetDefaults_ObjectFieldSelector`: apiVersion `v1`.
fn field_selector(f: &mut ObjectFieldSelector) {
    if f.api_version.as_deref().unwrap_or("").is_empty() {
        f.api_version = Some("v1".into());
    }
}

fn downward_items(items: &mut Option<Vec<DownwardAPIVolumeFile>>) {
    for item in items.iter_mut().flatten() {
        if let Some(f) = item.field_ref.as_mut() {
            field_selector(f);
        }
    }
}

/// Upstream `SetDefaults_Volume` and the per-source defaults (modes, hostPath type, token TTL).
fn volume(v: &mut Volume) {
    if !has_volume_source(v) {
        v.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(s) = v.secret.as_mut() {
        s.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(s) = v.config_map.as_mut() {
        s.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(s) = v.downward_api.as_mut() {
        s.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        downward_items(&mut s.items);
    }
    if let Some(s) = v.host_path.as_mut() {
        // Upstream `HostPathUnset` is the empty string, and it is written out explicitly.
        s.type_.get_or_insert_with(String::new);
    }
    if let Some(p) = v.projected.as_mut() {
        p.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for source in p.sources.iter_mut().flatten() {
            if let Some(t) = source.service_account_token.as_mut() {
                t.expiration_seconds
                    .get_or_insert(DEFAULT_TOKEN_EXPIRATION_SECONDS);
            }
            if let Some(d) = source.downward_api.as_mut() {
                downward_items(&mut d.items);
            }
        }
    }
}

/// True when the volume names at least one source. Checked through the JSON form so that new
/// k8s-openapi source fields are counted without listing them here.
pub(crate) fn has_volume_source(v: &Volume) -> bool {
    volume_source_names(v).next().is_some()
}

/// The JSON names of the sources set on a volume (every key except `name`).
pub(crate) fn volume_source_names(v: &Volume) -> impl Iterator<Item = String> {
    let keys: Vec<String> = match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter(|(k, val)| k != "name" && !val.is_null())
            .map(|(k, _)| k)
            .collect(),
        _ => Vec::new(),
    };
    keys.into_iter()
}

/// Upstream `SetDefaults_Container` pull policy: `Always` for tag `latest` or an untagged,
/// undigested image; `IfNotPresent` otherwise, including images that fail to parse.
pub fn default_pull_policy(image: &str) -> &'static str {
    match image_tag(image) {
        Some(tag) if tag == "latest" => "Always",
        _ => "IfNotPresent",
    }
}

/// The tag the upstream image parser reports: the explicit tag, `latest` when neither tag nor
/// digest is present, `""` for digest-only references, `None` when the reference is invalid.
fn image_tag(image: &str) -> Option<String> {
    if image.is_empty() || image.chars().any(|c| c.is_whitespace()) {
        return None;
    }
    let (name_and_tag, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_and_tag[..last_slash + i],
            Some(&name_and_tag[last_slash + i + 1..]),
        ),
        None => (name_and_tag, None),
    };
    // Repository path components must be lowercase; only a registry host may use capitals.
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let path_ok = name
        .split('/')
        .skip(usize::from(has_domain))
        .all(|p| !p.is_empty() && !p.chars().any(|c| c.is_ascii_uppercase()));
    if !path_ok || tag == Some("") {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => Some(String::new()),
        (None, None) => Some("latest".to_string()),
    }
}

/// Upstream `SetDefaults_Pod`: a container's missing requests default to its limits.
fn requests_from_limits(c: &mut Container) {
    let Some(resources) = c.resources.as_mut() else {
        return;
    };
    let Some(limits) = resources.limits.as_ref() else {
        return;
    };
    let requests = resources.requests.get_or_insert_with(BTreeMap::new);
    for (name, value) in limits {
        requests
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
}
