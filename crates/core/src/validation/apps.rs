//! DaemonSet and ControllerRevision validation (upstream `pkg/apis/apps/validation` + the DaemonSet registry strategy), spec `daemonset.md` §3.3.

use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{label_selector, object_meta, object_meta_update, selector_string};
use super::pod::pod_template_spec;
use super::{FIELD_IMMUTABLE, FieldError, Path, go_map, nonnegative, q};
use crate::defaults::{ON_DELETE, ROLLING_UPDATE};
use crate::labels::Selector;
use crate::labels::regex_error;
use crate::strategy::{semantic_eq, template_generation};

/// Upstream `ValidateDaemonSet` for a create (`Validate` of the strategy). A selector whose
/// `matchLabels` and `matchExpressions` are both absent is treated as a missing (nil) selector;
/// use [`daemon_set_create_with_selector`] when the request body says otherwise.
pub fn daemon_set_create(ds: &DaemonSet) -> Vec<FieldError> {
    daemon_set_create_with_selector(ds, selector_given(ds))
}

/// [`daemon_set_create`] with an explicit answer to "did the body contain `spec.selector`?"
/// (k8s-openapi decodes both `null` and `{}` to the same empty selector, but upstream reports a
/// nil selector as a template-labels mismatch and `{}` as "empty selector is invalid").
pub fn daemon_set_create_with_selector(ds: &DaemonSet, selector_present: bool) -> Vec<FieldError> {
    let mut errs = object_meta(&ds.metadata, true);
    errs.extend(spec_errors(ds, selector_present));
    errs
}

/// Upstream `ValidateUpdate` of the DaemonSet strategy for apps/v1: the create rules, the
/// metadata-update and templateGeneration rules, and an immutable selector. Run it after
/// [`crate::strategy::daemon_set_prepare_for_update`].
pub fn daemon_set_update(new: &DaemonSet, old: &DaemonSet) -> Vec<FieldError> {
    daemon_set_update_with_selector(new, old, selector_given(new))
}

/// [`daemon_set_update`] with explicit selector presence (see [`daemon_set_create_with_selector`]).
pub fn daemon_set_update_with_selector(
    new: &DaemonSet,
    old: &DaemonSet,
    selector_present: bool,
) -> Vec<FieldError> {
    // Upstream runs the full create validation again, then the update validation (which repeats
    // the spec checks); the aggregate message deduplicates, the causes do not.
    let mut errs = daemon_set_create_with_selector(new, selector_present);
    errs.extend(object_meta_update(&new.metadata, &old.metadata));
    errs.extend(template_generation_update(new, old));
    errs.extend(spec_errors(new, selector_present));
    let new_sel = new.spec.as_ref().map(|s| &s.selector);
    let old_sel = old.spec.as_ref().map(|s| &s.selector);
    if !semantic_eq(&new_sel, &old_sel) {
        let shown = match new_sel {
            Some(s) if selector_present => selector_string(s),
            _ => "null".to_string(),
        };
        errs.push(FieldError::invalid("spec.selector", shown, FIELD_IMMUTABLE));
    }
    errs
}

/// Upstream `ValidateDaemonSetStatusUpdate`: metadata update rules, non-negative counters and a
/// `collisionCount` that never decreases (§3.3 status validation).
pub fn daemon_set_status_update(new: &DaemonSet, old: &DaemonSet) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    let path = Path::new("status");
    let status = new.status.clone().unwrap_or_default();
    for (field, v) in [
        (
            "currentNumberScheduled",
            i64::from(status.current_number_scheduled),
        ),
        ("numberMisscheduled", i64::from(status.number_misscheduled)),
        (
            "desiredNumberScheduled",
            i64::from(status.desired_number_scheduled),
        ),
        ("numberReady", i64::from(status.number_ready)),
        (
            "observedGeneration",
            status.observed_generation.unwrap_or(0),
        ),
        (
            "updatedNumberScheduled",
            i64::from(status.updated_number_scheduled.unwrap_or(0)),
        ),
        (
            "numberAvailable",
            i64::from(status.number_available.unwrap_or(0)),
        ),
        (
            "numberUnavailable",
            i64::from(status.number_unavailable.unwrap_or(0)),
        ),
    ] {
        nonnegative(v, &path.child(field), &mut errs);
    }
    if let Some(c) = status.collision_count {
        nonnegative(i64::from(c), &path.child("collisionCount"), &mut errs);
    }
    let old_count = old.status.as_ref().and_then(|s| s.collision_count);
    let decremented = match (status.collision_count, old_count) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n < o,
        _ => false,
    };
    if decremented {
        errs.push(FieldError::invalid(
            "status.collisionCount",
            status.collision_count.unwrap_or(0).to_string(),
            "cannot be decremented",
        ));
    }
    errs
}

fn selector_given(ds: &DaemonSet) -> bool {
    ds.spec.as_ref().is_some_and(|s| {
        s.selector.match_labels.is_some() || s.selector.match_expressions.is_some()
    })
}

/// Upstream `ValidateDaemonSetSpec`.
fn spec_errors(ds: &DaemonSet, selector_present: bool) -> Vec<FieldError> {
    let default_spec = DaemonSetSpec::default();
    let spec = ds.spec.as_ref().unwrap_or(&default_spec);
    let path = Path::new("spec");
    let selector: Option<&LabelSelector> = selector_present.then_some(&spec.selector);
    let mut errs = label_selector(selector, "spec.selector");
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref());
    // A nil selector converts to "nothing", so it never matches (§3.3).
    if let Ok(sel) = Selector::from_label_selector(selector)
        && !sel.matches_opt(template_labels)
    {
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            go_map(template_labels),
            "`selector` does not match template `labels`",
        ));
    }
    if let Some(s) = selector {
        let n = s.match_labels.as_ref().map_or(0, |m| m.len())
            + s.match_expressions.as_ref().map_or(0, |e| e.len());
        if n == 0 {
            errs.push(FieldError::invalid(
                "spec.selector",
                selector_string(s),
                "empty selector is invalid for daemonset",
            ));
        }
    }
    errs.extend(pod_template_spec(&spec.template, "spec.template"));
    let pod_spec = spec.template.spec.as_ref();
    let restart = pod_spec
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("");
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            q(restart),
            &["Always"],
        ));
    }
    if pod_spec.and_then(|s| s.active_deadline_seconds).is_some() {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    nonnegative(
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &path.child("minReadySeconds"),
        &mut errs,
    );
    nonnegative(
        template_generation(ds).unwrap_or(0),
        &path.child("templateGeneration"),
        &mut errs,
    );
    errs.extend(update_strategy(spec.update_strategy.as_ref()));
    if let Some(limit) = spec.revision_history_limit {
        // Zero is a valid revisionHistoryLimit.
        nonnegative(
            i64::from(limit),
            &path.child("revisionHistoryLimit"),
            &mut errs,
        );
    }
    errs
}

/// Upstream `ValidateDaemonSetSpecUpdate`: templateGeneration moves with the template only.
fn template_generation_update(new: &DaemonSet, old: &DaemonSet) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (n, o) = (
        template_generation(new).unwrap_or(0),
        template_generation(old).unwrap_or(0),
    );
    let path = "spec.templateGeneration";
    if n < o {
        errs.push(FieldError::invalid(
            path,
            n.to_string(),
            "must not be decremented",
        ));
    }
    let new_t = new.spec.as_ref().map(|s| &s.template);
    let old_t = old.spec.as_ref().map(|s| &s.template);
    let template_updated = !semantic_eq(&new_t, &old_t);
    if n == o && template_updated {
        errs.push(FieldError::invalid(
            path,
            n.to_string(),
            "must be incremented upon template update",
        ));
    } else if n > o && !template_updated {
        errs.push(FieldError::invalid(
            path,
            n.to_string(),
            "must not be incremented without template update",
        ));
    }
    errs
}

/// Go's `%#v` of the internal `apps.DaemonSetUpdateStrategy` (the bad value of NotSupported).
fn strategy_value(s: Option<&DaemonSetUpdateStrategy>) -> String {
    let t = s.and_then(|s| s.type_.as_deref()).unwrap_or("");
    let rolling = if s.is_some_and(|s| s.rolling_update.is_some()) {
        // A pointer prints as its address upstream; any fixed address keeps messages stable.
        "(*apps.RollingUpdateDaemonSet)(0xc000000000)"
    } else {
        "(*apps.RollingUpdateDaemonSet)(nil)"
    };
    format!(
        "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{rolling}}}",
        q(t)
    )
}

/// Upstream `ValidateDaemonSetUpdateStrategy`.
fn update_strategy(s: Option<&DaemonSetUpdateStrategy>) -> Vec<FieldError> {
    let path = Path::new("spec").child("updateStrategy");
    match s.and_then(|s| s.type_.as_deref()).unwrap_or("") {
        ON_DELETE => Vec::new(),
        ROLLING_UPDATE => match s.and_then(|s| s.rolling_update.as_ref()) {
            None => vec![FieldError::required(
                path.child("rollingUpdate").as_str(),
                "",
            )],
            Some(r) => rolling_update(r, &path.child("rollingUpdate")),
        },
        _ => vec![FieldError::not_supported(
            path.as_str(),
            strategy_value(s),
            &[ROLLING_UPDATE, ON_DELETE],
        )],
    }
}

/// `IntOrString.String()`: the number, or the string unquoted.
fn int_or_string_text(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// Upstream `getPercentValue`: `Some(n)` for a valid `^[0-9]+%$` string.
fn percent_value(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) => {
            let digits = s.strip_suffix('%')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse::<i64>().unwrap_or(i64::MAX))
        }
        IntOrString::Int(_) => None,
    }
}

/// Upstream `getIntOrPercentValue` (a non-percent string counts as its integer value, or 0).
fn int_or_percent_value(v: &IntOrString) -> i64 {
    match (percent_value(v), v) {
        (Some(p), _) => p,
        (None, IntOrString::Int(i)) => i64::from(*i),
        (None, IntOrString::String(s)) => s.parse::<i64>().unwrap_or(0),
    }
}

/// Upstream `ValidateRollingUpdateDaemonSet`.
fn rolling_update(r: &RollingUpdateDaemonSet, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    // The internal type holds values, not pointers: an unset field reads as int 0.
    let zero = IntOrString::Int(0);
    let unavailable = r.max_unavailable.as_ref().unwrap_or(&zero);
    let surge = r.max_surge.as_ref().unwrap_or(&zero);
    let unavailable_path = path.child("maxUnavailable");
    let surge_path = path.child("maxSurge");
    for (v, p) in [(unavailable, &unavailable_path), (surge, &surge_path)] {
        match v {
            IntOrString::String(s) => {
                if percent_value(v).is_none() {
                    errs.push(FieldError::invalid(
                        p.as_str(),
                        s,
                        &regex_error(
                            "a valid percent string must be a numeric string followed by an ending '%'",
                            "[0-9]+%",
                            &["1%", "93%"],
                        ),
                    ));
                }
            }
            IntOrString::Int(i) => nonnegative(i64::from(*i), p, &mut errs),
        }
    }
    for (v, p) in [(unavailable, &unavailable_path), (surge, &surge_path)] {
        if percent_value(v).is_some_and(|pct| pct > 100) {
            errs.push(FieldError::invalid(
                p.as_str(),
                int_or_string_text(v),
                "must not be greater than 100%",
            ));
        }
    }
    let has_unavailable = int_or_percent_value(unavailable) != 0;
    let has_surge = int_or_percent_value(surge) != 0;
    if has_unavailable && has_surge {
        errs.push(FieldError::invalid(
            surge_path.as_str(),
            int_or_string_text(surge),
            "may not be set when maxUnavailable is non-zero",
        ));
    } else if !has_unavailable && !has_surge {
        errs.push(FieldError::required(
            unavailable_path.as_str(),
            "cannot be 0 when maxSurge is 0",
        ));
    }
    errs
}

/// Upstream `ValidateControllerRevision`: namespaced subdomain name, `data` required, `revision` ≥ 0.
pub fn controller_revision(cr: &ControllerRevision) -> Vec<FieldError> {
    let mut errs = object_meta(&cr.metadata, true);
    if cr.data.is_none() {
        errs.push(FieldError::required("data", "data is mandatory"));
    }
    nonnegative(cr.revision, &Path::new("revision"), &mut errs);
    errs
}

/// Upstream `ValidateControllerRevisionUpdate`: metadata update, the create rules, immutable `data`.
pub fn controller_revision_update(
    new: &ControllerRevision,
    old: &ControllerRevision,
) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    errs.extend(controller_revision(new));
    if !semantic_eq(&new.data, &old.data) {
        let shown = new
            .data
            .as_ref()
            .map_or_else(|| "null".to_string(), |d| d.0.to_string());
        errs.push(FieldError::invalid("data", shown, FIELD_IMMUTABLE));
    }
    errs
}
