//! Deployment and ReplicaSet validation (upstream `pkg/apis/apps/validation`: `ValidateDeployment`, `ValidateReplicaSet` and their update and status forms).

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{label_selector, object_meta, object_meta_update, selector_string};
use super::pod::pod_template_spec;
use super::{FIELD_IMMUTABLE, FieldError, Path, go_map, nonnegative, q};
use crate::labels::Selector;
use crate::strategy::semantic_eq;
use crate::workloads::{RECREATE, ROLLING_UPDATE};

/// Upstream `ValidateDeployment` (create).
pub fn deployment_create(d: &Deployment, selector_present: bool) -> Vec<FieldError> {
    let mut errs = object_meta(&d.metadata, true);
    errs.extend(deployment_spec(d, selector_present));
    errs
}

/// Upstream `ValidateDeploymentUpdate`: the create rules plus an immutable selector (apps/v1).
pub fn deployment_update(
    new: &Deployment,
    old: &Deployment,
    selector_present: bool,
) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    errs.extend(deployment_spec(new, selector_present));
    let new_sel = new.spec.as_ref().map(|s| &s.selector);
    let old_sel = old.spec.as_ref().map(|s| &s.selector);
    errs.extend(immutable_selector(new_sel, old_sel, selector_present));
    errs
}

/// Upstream `ValidateDeploymentStatusUpdate`: non-negative counters.
pub fn deployment_status_update(new: &Deployment, old: &Deployment) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    let status = new.status.clone().unwrap_or_default();
    let path = Path::new("status");
    for (name, value) in [
        ("replicas", status.replicas),
        ("updatedReplicas", status.updated_replicas),
        ("readyReplicas", status.ready_replicas),
        ("availableReplicas", status.available_replicas),
        ("unavailableReplicas", status.unavailable_replicas),
    ] {
        nonnegative(i64::from(value.unwrap_or(0)), &path.child(name), &mut errs);
    }
    errs
}

/// Upstream `ValidateReplicaSet` (create).
pub fn replica_set_create(rs: &ReplicaSet, selector_present: bool) -> Vec<FieldError> {
    let mut errs = object_meta(&rs.metadata, true);
    errs.extend(replica_set_spec(rs, selector_present));
    errs
}

/// Upstream `ValidateReplicaSetUpdate`: the create rules plus an immutable selector (apps/v1).
pub fn replica_set_update(
    new: &ReplicaSet,
    old: &ReplicaSet,
    selector_present: bool,
) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    errs.extend(replica_set_spec(new, selector_present));
    let new_sel = new.spec.as_ref().map(|s| &s.selector);
    let old_sel = old.spec.as_ref().map(|s| &s.selector);
    errs.extend(immutable_selector(new_sel, old_sel, selector_present));
    errs
}

/// Upstream `ValidateReplicaSetStatusUpdate`: non-negative counters.
pub fn replica_set_status_update(new: &ReplicaSet, old: &ReplicaSet) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    let status = new.status.clone().unwrap_or_default();
    let path = Path::new("status");
    nonnegative(
        i64::from(status.replicas),
        &path.child("replicas"),
        &mut errs,
    );
    for (name, value) in [
        ("fullyLabeledReplicas", status.fully_labeled_replicas),
        ("readyReplicas", status.ready_replicas),
        ("availableReplicas", status.available_replicas),
    ] {
        nonnegative(i64::from(value.unwrap_or(0)), &path.child(name), &mut errs);
    }
    errs
}

fn immutable_selector(
    new: Option<&LabelSelector>,
    old: Option<&LabelSelector>,
    selector_present: bool,
) -> Vec<FieldError> {
    if semantic_eq(&new, &old) {
        return Vec::new();
    }
    let shown = match new {
        Some(s) if selector_present => selector_string(s),
        _ => "null".to_owned(),
    };
    vec![FieldError::invalid("spec.selector", shown, FIELD_IMMUTABLE)]
}

/// The selector and template rules shared by both kinds (upstream `ValidateDeploymentSpec` and
/// `ValidateReplicaSetSpec` open the same way): a non-empty selector that matches the template's
/// labels, a valid template whose restartPolicy is Always.
fn selector_and_template(
    selector: Option<&LabelSelector>,
    template: Option<&PodTemplateSpec>,
    kind: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match selector {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => {
            errs.extend(label_selector(Some(s), "spec.selector"));
            let n = s.match_labels.as_ref().map_or(0, |m| m.len())
                + s.match_expressions.as_ref().map_or(0, |e| e.len());
            if n == 0 {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    selector_string(s),
                    &format!("empty selector is invalid for {kind}"),
                ));
            }
        }
    }
    let Some(template) = template else {
        errs.push(FieldError::required("spec.template", ""));
        return errs;
    };
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    if let Ok(sel) = Selector::from_label_selector(selector)
        && !sel.matches_opt(labels)
    {
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            go_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
    errs.extend(pod_template_spec(template, "spec.template"));
    let restart = template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("");
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            q(restart),
            &["Always"],
        ));
    }
    if template
        .spec
        .as_ref()
        .and_then(|s| s.active_deadline_seconds)
        .is_some()
    {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
    errs
}

fn deployment_spec(d: &Deployment, selector_present: bool) -> Vec<FieldError> {
    let spec = d.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    let mut errs = Vec::new();
    nonnegative(
        i64::from(spec.replicas.unwrap_or(0)),
        &path.child("replicas"),
        &mut errs,
    );
    errs.extend(selector_and_template(
        selector_present.then_some(&spec.selector),
        Some(&spec.template),
        "deployment",
    ));
    errs.extend(strategy(spec.strategy.as_ref()));
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    nonnegative(
        i64::from(min_ready),
        &path.child("minReadySeconds"),
        &mut errs,
    );
    if let Some(limit) = spec.revision_history_limit {
        nonnegative(
            i64::from(limit),
            &path.child("revisionHistoryLimit"),
            &mut errs,
        );
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        let p = path.child("progressDeadlineSeconds");
        nonnegative(i64::from(deadline), &p, &mut errs);
        if deadline <= min_ready {
            errs.push(FieldError::invalid(
                p.as_str(),
                deadline.to_string(),
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

fn replica_set_spec(rs: &ReplicaSet, selector_present: bool) -> Vec<FieldError> {
    let spec = rs.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    let mut errs = Vec::new();
    nonnegative(
        i64::from(spec.replicas.unwrap_or(0)),
        &path.child("replicas"),
        &mut errs,
    );
    nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &path.child("minReadySeconds"),
        &mut errs,
    );
    // A ReplicaSet with no replicas may omit its template (upstream checks it only when set).
    if spec.template.is_some() || spec.replicas.unwrap_or(0) > 0 {
        errs.extend(selector_and_template(
            selector_present.then_some(&spec.selector),
            spec.template.as_ref(),
            // Upstream `ValidateReplicaSetSpec` words its empty-selector error "for deployment" too.
            "deployment",
        ));
    }
    errs
}

/// Upstream `ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`.
fn strategy(s: Option<&DeploymentStrategy>) -> Vec<FieldError> {
    let path = Path::new("spec").child("strategy");
    let mut errs = Vec::new();
    let type_ = s.and_then(|s| s.type_.as_deref()).unwrap_or("");
    let rolling = s.and_then(|s| s.rolling_update.as_ref());
    match type_ {
        RECREATE => {
            if rolling.is_some() {
                errs.push(FieldError::forbidden(
                    path.child("rollingUpdate").as_str(),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        ROLLING_UPDATE => {
            let Some(r) = rolling else {
                errs.push(FieldError::required(
                    path.child("rollingUpdate").as_str(),
                    "this should be defaulted and never be nil",
                ));
                return errs;
            };
            let zero = IntOrString::Int(0);
            let unavailable = r.max_unavailable.as_ref().unwrap_or(&zero);
            let surge = r.max_surge.as_ref().unwrap_or(&zero);
            let rpath = path.child("rollingUpdate");
            for (v, name) in [(unavailable, "maxUnavailable"), (surge, "maxSurge")] {
                match v {
                    IntOrString::Int(i) => nonnegative(i64::from(*i), &rpath.child(name), &mut errs),
                    IntOrString::String(text) => match percent(text) {
                        None => errs.push(FieldError::invalid(
                            rpath.child(name).as_str(),
                            text,
                            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                        )),
                        Some(p) if p > 100 && name == "maxUnavailable" => {
                            errs.push(FieldError::invalid(
                                rpath.child(name).as_str(),
                                text,
                                "must not be greater than 100%",
                            ));
                        }
                        Some(_) => {}
                    },
                }
            }
            if value(unavailable) == 0 && value(surge) == 0 {
                errs.push(FieldError::invalid(
                    rpath.child("maxUnavailable").as_str(),
                    "0",
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
        }
        _ => errs.push(FieldError::not_supported(
            path.child("type").as_str(),
            q(type_),
            &[RECREATE, ROLLING_UPDATE],
        )),
    }
    errs
}

fn percent(text: &str) -> Option<i64> {
    let digits = text.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn value(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => percent(s).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::workloads::default_deployment;

    fn deployment(spec: serde_json::Value) -> Deployment {
        let mut d: Deployment = serde_json::from_value(
            json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec}),
        )
        .expect("valid deployment");
        default_deployment(&mut d);
        d
    }

    fn template() -> serde_json::Value {
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    #[test]
    fn a_defaulted_deployment_is_valid() {
        let d = deployment(
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": template()}),
        );
        assert_eq!(deployment_create(&d, true), Vec::new());
    }

    #[test]
    fn selector_must_match_template_and_replicas_nonnegative() {
        let d = deployment(
            json!({"replicas": -1, "selector": {"matchLabels": {"app": "other"}}, "template": template()}),
        );
        let fields: Vec<String> = deployment_create(&d, true)
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec!["spec.replicas", "spec.template.metadata.labels"]
        );
    }

    #[test]
    fn selector_is_immutable() {
        let old = deployment(
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": template()}),
        );
        let mut t = template();
        t["metadata"]["labels"]["tier"] = json!("x");
        let new = deployment(
            json!({"selector": {"matchLabels": {"app": "web", "tier": "x"}}, "template": t}),
        );
        let errs = deployment_update(&new, &old, true);
        assert!(
            errs.iter()
                .any(|e| e.field == "spec.selector" && e.message.ends_with(FIELD_IMMUTABLE)),
            "{errs:?}"
        );
    }
}
