//! Pod, PodSpec and PodTemplateSpec validation (subset of upstream `pkg/apis/core/validation`) with exact paths and messages.
//!
//! Covered: volumes (names, one source, hostPath), containers and init containers (names, images,
//! ports, host-port conflicts, pull and termination-message policies, probes, resources,
//! volume mounts), restart/DNS policies, node selector, tolerations, service account, node name,
//! hostname/subdomain, activeDeadlineSeconds, and the pod update rules. Deeper checks
//! (security contexts, affinity terms, topology spread, env var sources) are not ported.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec, Toleration};

use super::container::{host_port_conflicts, mounts, ports, probes, resources};
use super::meta::{
    annotations_at, label_name, labels_at, object_meta, object_meta_update, taint_effect,
};
use super::{FieldError, Path, q};
use crate::defaults::volume_source_names;
use crate::labels::{is_dns1123_label, is_dns1123_subdomain, is_valid_label_value};

/// Upstream's forbidden-update message of `ValidatePodUpdate` (a spec diff follows it after `\n`).
pub const POD_UPDATE_FORBIDDEN_MESSAGE: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
const DNS_POLICIES: [&str; 4] = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES: [&str; 2] = ["File", "FallbackToLogsOnError"];
pub(super) const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
const HOST_PATH_TYPES: [&str; 8] = [
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
];
const MAX_INT32: i64 = i32::MAX as i64;

/// Upstream `ValidatePodTemplateSpec` at `path` (e.g. `spec.template`). Note upstream reports
/// template label errors under `<path>.labels`, not `<path>.metadata.labels`.
pub fn pod_template_spec(template: &PodTemplateSpec, path: &str) -> Vec<FieldError> {
    let path = Path::new(path);
    let meta = template.metadata.as_ref();
    let mut errs = labels_at(meta.and_then(|m| m.labels.as_ref()), &path.child("labels"));
    errs.extend(annotations_at(
        meta.and_then(|m| m.annotations.as_ref()),
        &path.child("annotations"),
    ));
    let default_spec = PodSpec::default();
    let spec = template.spec.as_ref().unwrap_or(&default_spec);
    errs.extend(spec_at(spec, &path.child("spec")));
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            path.child("spec").child("ephemeralContainers").as_str(),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// Upstream `ValidatePodSpec` at `path` (e.g. `spec`).
pub fn pod_spec(spec: &PodSpec, path: &str) -> Vec<FieldError> {
    spec_at(spec, &Path::new(path))
}

/// Upstream `ValidatePodCreate`: metadata, spec, and no ephemeral containers on create.
pub fn pod_create(pod: &Pod) -> Vec<FieldError> {
    let mut errs = metadata_and_spec(pod);
    let spec = pod.spec.as_ref();
    if spec
        .and_then(|s| s.ephemeral_containers.as_ref())
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    errs
}

fn metadata_and_spec(pod: &Pod) -> Vec<FieldError> {
    let mut errs = object_meta(&pod.metadata, true);
    let default_spec = PodSpec::default();
    errs.extend(spec_at(
        pod.spec.as_ref().unwrap_or(&default_spec),
        &Path::new("spec"),
    ));
    errs
}

/// Upstream `ValidatePodUpdate`: metadata update rules, the spec rules, then only images,
/// `activeDeadlineSeconds`, added tolerations, `terminationGracePeriodSeconds` (negative → 1)
/// and removed scheduling gates may change.
pub fn pod_update(new: &Pod, old: &Pod) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    errs.extend(metadata_and_spec(new));
    let default_spec = PodSpec::default();
    let new_spec = new.spec.as_ref().unwrap_or(&default_spec);
    let old_spec = old.spec.as_ref().unwrap_or(&default_spec);
    let spec_path = Path::new("spec");

    let init_new = new_spec.init_containers.as_deref().unwrap_or_default();
    let init_old = old_spec.init_containers.as_deref().unwrap_or_default();
    for (field, n, o) in [
        (
            "containers",
            new_spec.containers.as_slice(),
            old_spec.containers.as_slice(),
        ),
        ("initContainers", init_new, init_old),
    ] {
        let p = spec_path.child(field);
        if n.len() != o.len() {
            errs.push(FieldError::forbidden(
                p.as_str(),
                "pod updates may not add or remove containers",
            ));
            return errs;
        }
        for (i, c) in n.iter().enumerate() {
            let image = c.image.as_deref().unwrap_or("");
            if image.is_empty() {
                errs.push(FieldError::required(p.index(i).child("image").as_str(), ""));
            } else if image.trim() != image {
                errs.push(FieldError::invalid(
                    p.index(i).child("image").as_str(),
                    q(image),
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }

    let ads = spec_path.child("activeDeadlineSeconds");
    match (
        new_spec.active_deadline_seconds,
        old_spec.active_deadline_seconds,
    ) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            errs.push(FieldError::invalid(
                ads.as_str(),
                n.to_string(),
                &range_error(0, MAX_INT32),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                ads.as_str(),
                n.to_string(),
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            ads.as_str(),
            "null",
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }

    // Build the old spec with every allowed change applied; anything left is forbidden.
    let mut munged = old_spec.clone();
    for (m, n) in munged.containers.iter_mut().zip(&new_spec.containers) {
        m.image.clone_from(&n.image);
    }
    for (m, n) in munged.init_containers.iter_mut().flatten().zip(init_new) {
        m.image.clone_from(&n.image);
    }
    munged.active_deadline_seconds = new_spec.active_deadline_seconds;
    let old_tolerations = old_spec.tolerations.as_deref().unwrap_or_default();
    let new_tolerations = new_spec.tolerations.as_deref().unwrap_or_default();
    if old_tolerations.iter().all(|t| new_tolerations.contains(t)) {
        munged.tolerations.clone_from(&new_spec.tolerations);
    }
    if old_spec
        .termination_grace_period_seconds
        .is_some_and(|g| g < 0)
        && new_spec.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = Some(1);
    }
    let old_gates = old_spec.scheduling_gates.as_deref().unwrap_or_default();
    let new_gates = new_spec.scheduling_gates.as_deref().unwrap_or_default();
    if new_gates.iter().all(|g| old_gates.contains(g)) {
        munged
            .scheduling_gates
            .clone_from(&new_spec.scheduling_gates);
    }
    let changed = crate::strategy::changed_fields(&munged, new_spec);
    if !changed.is_empty() {
        let mut msg = POD_UPDATE_FORBIDDEN_MESSAGE.to_string();
        // Upstream appends a go-cmp diff of the spec; we list the changed spec fields instead.
        msg.push('\n');
        for field in changed {
            msg.push_str(&format!("  spec.{field}: changed\n"));
        }
        errs.push(FieldError::forbidden("spec", &msg));
    }
    errs
}

/// Upstream `InclusiveRangeError`.
pub(super) fn range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

fn spec_at(spec: &PodSpec, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let volumes = volumes(spec, &path.child("volumes"), &mut errs);
    let containers_path = path.child("containers");
    if spec.containers.is_empty() {
        errs.push(FieldError::required(containers_path.as_str(), ""));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let p = containers_path.index(i);
        container_common(c, &volumes, &p, &mut errs);
        if names.contains(&c.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name").as_str(), q(&c.name)));
        } else {
            names.push(&c.name);
        }
        probes(c, &p, &mut errs);
        if c.restart_policy.is_some() {
            errs.push(FieldError::forbidden(
                p.child("restartPolicy").as_str(),
                "may not be set for non-init containers",
            ));
        }
    }
    host_port_conflicts(&spec.containers, &containers_path, &mut errs);
    let init_path = path.child("initContainers");
    let init = spec.init_containers.as_deref().unwrap_or_default();
    for (i, c) in init.iter().enumerate() {
        let p = init_path.index(i);
        container_common(c, &volumes, &p, &mut errs);
        if names.contains(&c.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name").as_str(), q(&c.name)));
        } else {
            names.push(&c.name);
        }
        match c.restart_policy.as_deref() {
            Some("Always") => probes(c, &p, &mut errs),
            Some(other) => errs.push(FieldError::not_supported(
                p.child("restartPolicy").as_str(),
                q(other),
                &["Always"],
            )),
            None => {
                let why = "may not be set for init containers without restartPolicy=Always";
                if c.lifecycle.is_some() {
                    errs.push(FieldError::forbidden(p.child("lifecycle").as_str(), why));
                }
                for (field, probe) in [
                    ("livenessProbe", &c.liveness_probe),
                    ("readinessProbe", &c.readiness_probe),
                    ("startupProbe", &c.startup_probe),
                ] {
                    if probe.is_some() {
                        errs.push(FieldError::forbidden(p.child(field).as_str(), why));
                    }
                }
            }
        }
    }
    host_port_conflicts(init, &init_path, &mut errs);
    enum_field(
        spec.restart_policy.as_deref(),
        &RESTART_POLICIES,
        &path.child("restartPolicy"),
        &mut errs,
    );
    enum_field(
        spec.dns_policy.as_deref(),
        &DNS_POLICIES,
        &path.child("dnsPolicy"),
        &mut errs,
    );
    errs.extend(labels_at(
        spec.node_selector.as_ref(),
        &path.child("nodeSelector"),
    ));
    for (field, value) in [
        ("serviceAccountName", &spec.service_account_name),
        ("nodeName", &spec.node_name),
    ] {
        let v = value.as_deref().unwrap_or("");
        if !v.is_empty() {
            for msg in is_dns1123_subdomain(v) {
                errs.push(FieldError::invalid(path.child(field).as_str(), q(v), &msg));
            }
        }
    }
    if let Some(ads) = spec.active_deadline_seconds
        && !(1..=MAX_INT32).contains(&ads)
    {
        errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds").as_str(),
            ads.to_string(),
            &range_error(1, MAX_INT32),
        ));
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        let v = value.as_deref().unwrap_or("");
        if !v.is_empty() {
            for msg in is_dns1123_label(v) {
                errs.push(FieldError::invalid(path.child(field).as_str(), q(v), &msg));
            }
        }
    }
    tolerations(
        spec.tolerations.as_deref().unwrap_or_default(),
        &path.child("tolerations"),
        &mut errs,
    );
    errs
}

/// Required / NotSupported check of an enum-like string field.
pub(super) fn enum_field(
    value: Option<&str>,
    supported: &[&str],
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    match value.unwrap_or("") {
        "" => errs.push(FieldError::required(path.as_str(), "")),
        v if supported.contains(&v) => {}
        v => errs.push(FieldError::not_supported(path.as_str(), q(v), supported)),
    }
}

/// Upstream `ValidateVolumes`; returns the names of the valid volumes (for mount checks).
fn volumes(spec: &PodSpec, path: &Path, errs: &mut Vec<FieldError>) -> Vec<String> {
    let mut valid: Vec<String> = Vec::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let p = path.index(i);
        let mut el = Vec::new();
        let sources: Vec<String> = volume_source_names(v).collect();
        match sources.as_slice() {
            [] => el.push(FieldError::required(
                p.as_str(),
                "must specify a volume type",
            )),
            [_] => {}
            [_, rest @ ..] => {
                for s in rest {
                    el.push(FieldError::forbidden(
                        p.child(s).as_str(),
                        "may not specify more than 1 volume type",
                    ));
                }
            }
        }
        if let Some(hp) = v.host_path.as_ref() {
            if hp.path.is_empty() {
                el.push(FieldError::required(
                    p.child("hostPath").child("path").as_str(),
                    "",
                ));
            }
            let t = hp.type_.as_deref().unwrap_or("");
            if !HOST_PATH_TYPES.contains(&t) {
                el.push(FieldError::not_supported(
                    p.child("hostPath").child("type").as_str(),
                    q(t),
                    &HOST_PATH_TYPES,
                ));
            }
        }
        let name_path = p.child("name");
        if v.name.is_empty() {
            el.push(FieldError::required(name_path.as_str(), ""));
        } else {
            for msg in is_dns1123_label(&v.name) {
                el.push(FieldError::invalid(name_path.as_str(), q(&v.name), &msg));
            }
        }
        if valid.contains(&v.name) {
            el.push(FieldError::duplicate(name_path.as_str(), q(&v.name)));
        }
        if el.is_empty() {
            valid.push(v.name.clone());
        } else {
            errs.extend(el);
        }
    }
    valid
}

/// Upstream `validateContainerCommon` (name, image, termination policy, ports, mounts, pull
/// policy, resources).
fn container_common(c: &Container, volumes: &[String], path: &Path, errs: &mut Vec<FieldError>) {
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(FieldError::required(name_path.as_str(), ""));
    } else {
        for msg in is_dns1123_label(&c.name) {
            errs.push(FieldError::invalid(name_path.as_str(), q(&c.name), &msg));
        }
    }
    if c.image.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::required(path.child("image").as_str(), ""));
    }
    enum_field(
        c.termination_message_policy.as_deref(),
        &TERMINATION_MESSAGE_POLICIES,
        &path.child("terminationMessagePolicy"),
        errs,
    );
    ports(c, &path.child("ports"), errs);
    mounts(c, volumes, &path.child("volumeMounts"), errs);
    enum_field(
        c.image_pull_policy.as_deref(),
        &PULL_POLICIES,
        &path.child("imagePullPolicy"),
        errs,
    );
    resources(c, &path.child("resources"), errs);
}

/// Upstream `ValidateTolerations`.
fn tolerations(tolerations: &[Toleration], path: &Path, errs: &mut Vec<FieldError>) {
    for (i, t) in tolerations.iter().enumerate() {
        let p = path.index(i);
        let key = t.key.as_deref().unwrap_or("");
        let operator = t.operator.as_deref().unwrap_or("");
        let value = t.value.as_deref().unwrap_or("");
        let effect = t.effect.as_deref().unwrap_or("");
        if !key.is_empty() {
            label_name(key, &p.child("key"), errs);
        }
        if key.is_empty() && operator != "Exists" {
            errs.push(FieldError::invalid(
                p.child("operator").as_str(),
                q(operator),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                p.child("effect").as_str(),
                q(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        p.child("operator").as_str(),
                        q(value),
                        &msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    let seconds = t
                        .toleration_seconds
                        .map_or_else(|| "(*int64)(nil)".to_string(), |s| format!("&{s}"));
                    let shown = format!(
                        "core.Toleration{{Key:{}, Operator:{}, Value:{}, Effect:{}, TolerationSeconds:{seconds}}}",
                        q(key),
                        q(operator),
                        q(value),
                        q(effect)
                    );
                    errs.push(FieldError::invalid(
                        p.child("operator").as_str(),
                        shown,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                p.child("operator").as_str(),
                q(other),
                &["Equal", "Exists"],
            )),
        }
        taint_effect(effect, true, &p.child("effect"), errs);
    }
}
