//! Taints and tolerations: upstream `Toleration.ToleratesTaint`, `FindMatchingUntoleratedTaint`, `AddOrUpdateTolerationInPodSpec` and the DaemonSet's automatic tolerations.
//!
//! k8s-openapi models optional strings as `Option<String>`; everywhere here `None` and `""` mean
//! the same thing, as the Go zero value does upstream.

use k8s_openapi::api::core::v1::{PodSpec, Taint, Toleration};

use crate::keys::{
    EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE, TAINT_NODE_DISK_PRESSURE, TAINT_NODE_MEMORY_PRESSURE,
    TAINT_NODE_NETWORK_UNAVAILABLE, TAINT_NODE_NOT_READY, TAINT_NODE_PID_PRESSURE,
    TAINT_NODE_UNREACHABLE, TAINT_NODE_UNSCHEDULABLE, TOLERATION_OP_EQUAL, TOLERATION_OP_EXISTS,
};

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// Upstream `Toleration.ToleratesTaint` (comparison operators feature gate off):
/// an empty effect matches every effect, an empty key matches every key, `Exists` matches any
/// value, `Equal` or empty operator needs equal values; any other operator tolerates nothing.
pub fn toleration_tolerates_taint(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = opt(&toleration.effect);
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = opt(&toleration.key);
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match opt(&toleration.operator) {
        "" | TOLERATION_OP_EQUAL => opt(&toleration.value) == opt(&taint.value),
        TOLERATION_OP_EXISTS => true,
        // Gt/Lt sit behind the alpha `TaintTolerationComparisonOperators` gate, off by default.
        _ => false,
    }
}

/// Upstream `TolerationsTolerateTaint`: some toleration tolerates the taint.
pub fn tolerations_tolerate_taint(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations
        .iter()
        .any(|t| toleration_tolerates_taint(t, taint))
}

/// Upstream `FindMatchingUntoleratedTaint`: the first taint passing `filter` that no toleration
/// tolerates.
pub fn find_untolerated_taint<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .find(|taint| filter(taint) && !tolerations_tolerate_taint(tolerations, taint))
}

/// Whether a taint's effect is NoSchedule or NoExecute, the only effects the DaemonSet
/// controller considers (spec §1.3 N4; PreferNoSchedule is ignored).
pub fn is_no_schedule_or_no_execute(taint: &Taint) -> bool {
    taint.effect == EFFECT_NO_SCHEDULE || taint.effect == EFFECT_NO_EXECUTE
}

/// The taint half of upstream `NodeShouldRunDaemonPod` (spec §1.3 N4):
/// `(should_run, should_continue_running)`. Every NoSchedule/NoExecute taint tolerated →
/// `(true, true)`; otherwise `should_run` is false and the pod may continue only if every
/// NoExecute taint is tolerated.
pub fn daemon_taints_fit(taints: &[Taint], tolerations: &[Toleration]) -> (bool, bool) {
    if find_untolerated_taint(taints, tolerations, is_no_schedule_or_no_execute).is_none() {
        return (true, true);
    }
    let no_execute_untolerated =
        find_untolerated_taint(taints, tolerations, |t| t.effect == EFFECT_NO_EXECUTE).is_some();
    (false, !no_execute_untolerated)
}

/// Upstream `Toleration.MatchToleration`: same key, effect, operator and value.
pub fn toleration_matches(a: &Toleration, b: &Toleration) -> bool {
    opt(&a.key) == opt(&b.key)
        && opt(&a.effect) == opt(&b.effect)
        && opt(&a.operator) == opt(&b.operator)
        && opt(&a.value) == opt(&b.value)
}

/// Upstream `AddOrUpdateTolerationInPodSpec`: every matching toleration (same key, effect,
/// operator, value) is replaced in place by `toleration`; with no match it is appended.
/// Returns whether the list changed.
pub fn add_or_update_toleration(spec: &mut PodSpec, toleration: &Toleration) -> bool {
    let existing = spec.tolerations.take().unwrap_or_default();
    let mut updated = false;
    let mut changed = false;
    let mut next = Vec::with_capacity(existing.len() + 1);
    for t in existing {
        if toleration_matches(toleration, &t) {
            changed |= t != *toleration;
            next.push(toleration.clone());
            updated = true;
        } else {
            next.push(t);
        }
    }
    if !updated {
        next.push(toleration.clone());
        changed = true;
    }
    spec.tolerations = Some(next);
    changed
}

fn exists_toleration(key: &str, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.to_string()),
        operator: Some(TOLERATION_OP_EXISTS.to_string()),
        effect: Some(effect.to_string()),
        ..Toleration::default()
    }
}

/// The automatic daemon pod tolerations of spec §1.4, in upstream order: not-ready and
/// unreachable NoExecute, disk/memory/pid pressure and unschedulable NoSchedule, and
/// network-unavailable NoSchedule for host-network pods. All `Exists`, no `tolerationSeconds`.
pub fn daemon_pod_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut tolerations = vec![
        exists_toleration(TAINT_NODE_NOT_READY, EFFECT_NO_EXECUTE),
        exists_toleration(TAINT_NODE_UNREACHABLE, EFFECT_NO_EXECUTE),
        exists_toleration(TAINT_NODE_DISK_PRESSURE, EFFECT_NO_SCHEDULE),
        exists_toleration(TAINT_NODE_MEMORY_PRESSURE, EFFECT_NO_SCHEDULE),
        exists_toleration(TAINT_NODE_PID_PRESSURE, EFFECT_NO_SCHEDULE),
        exists_toleration(TAINT_NODE_UNSCHEDULABLE, EFFECT_NO_SCHEDULE),
    ];
    if host_network {
        tolerations.push(exists_toleration(
            TAINT_NODE_NETWORK_UNAVAILABLE,
            EFFECT_NO_SCHEDULE,
        ));
    }
    tolerations
}

/// Upstream `AddOrUpdateDaemonPodTolerations`: merges [`daemon_pod_tolerations`] into the spec.
pub fn add_or_update_daemon_pod_tolerations(spec: &mut PodSpec) {
    let host_network = spec.host_network.unwrap_or(false);
    for toleration in daemon_pod_tolerations(host_network) {
        add_or_update_toleration(spec, &toleration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.to_string()),
            effect: effect.into(),
            time_added: None,
        }
    }

    fn tol(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        let s = |v: &str| (!v.is_empty()).then(|| v.to_string());
        Toleration {
            key: s(key),
            operator: s(op),
            value: s(value),
            effect: s(effect),
            toleration_seconds: None,
        }
    }

    #[test]
    fn tolerates_taint_like_upstream_toleration_test() {
        let cases = [
            (
                "same key and effect, Exists, taint without value",
                tol("foo", "Exists", "", "NoExecute"),
                taint("foo", "", "NoExecute"),
                true,
            ),
            (
                "same key and effect, Exists, taint with value",
                tol("foo", "Exists", "", "NoExecute"),
                taint("foo", "bar", "NoExecute"),
                true,
            ),
            (
                "empty key and Exists match every key",
                tol("", "Exists", "", "NoExecute"),
                taint("foo", "bar", "NoExecute"),
                true,
            ),
            (
                "empty key, Exists, empty effect matches everything",
                tol("", "Exists", "", ""),
                taint("any", "x", "NoSchedule"),
                true,
            ),
            (
                "same key, effect and value with Equal",
                tol("foo", "Equal", "bar", "NoExecute"),
                taint("foo", "bar", "NoExecute"),
                true,
            ),
            (
                "different value with Equal",
                tol("foo", "Equal", "value1", "NoExecute"),
                taint("foo", "value2", "NoExecute"),
                false,
            ),
            (
                "different effect",
                tol("foo", "Equal", "bar", "NoExecute"),
                taint("foo", "bar", "NoSchedule"),
                false,
            ),
            (
                "empty operator means Equal",
                tol("foo", "", "bar", "NoSchedule"),
                taint("foo", "bar", "NoSchedule"),
                true,
            ),
            (
                "empty operator with different value",
                tol("foo", "", "bar", "NoSchedule"),
                taint("foo", "baz", "NoSchedule"),
                false,
            ),
            (
                "empty effect matches every effect",
                tol("foo", "Exists", "", ""),
                taint("foo", "", "PreferNoSchedule"),
                true,
            ),
            (
                "different key",
                tol("foo", "Exists", "", "NoSchedule"),
                taint("bar", "", "NoSchedule"),
                false,
            ),
            (
                "Gt is gated off",
                tol("foo", "Gt", "1", "NoSchedule"),
                taint("foo", "2", "NoSchedule"),
                false,
            ),
            (
                "unknown operator",
                tol("foo", "Bogus", "", "NoSchedule"),
                taint("foo", "", "NoSchedule"),
                false,
            ),
        ];
        for (name, t, ta, want) in cases {
            assert_eq!(toleration_tolerates_taint(&t, &ta), want, "{name}");
        }
    }

    #[test]
    fn find_untolerated_taint_respects_filter_and_order() {
        let taints = vec![
            taint("a", "", "PreferNoSchedule"),
            taint("b", "", "NoSchedule"),
            taint("c", "", "NoExecute"),
        ];
        let none: Vec<Toleration> = vec![];
        assert_eq!(
            find_untolerated_taint(&taints, &none, is_no_schedule_or_no_execute)
                .map(|t| t.key.as_str()),
            Some("b")
        );
        let tolerate_b = vec![tol("b", "Exists", "", "")];
        assert_eq!(
            find_untolerated_taint(&taints, &tolerate_b, is_no_schedule_or_no_execute)
                .map(|t| t.key.as_str()),
            Some("c")
        );
        let tolerate_all = vec![tol("", "Exists", "", "")];
        assert!(find_untolerated_taint(&taints, &tolerate_all, |_| true).is_none());
        assert!(find_untolerated_taint(&[], &none, |_| true).is_none());
    }

    #[test]
    fn daemon_taints_fit_like_spec_n4() {
        let none: Vec<Toleration> = vec![];
        let cases = [
            ("no taints", vec![], none.clone(), (true, true)),
            (
                "prefer no schedule ignored",
                vec![taint("a", "", "PreferNoSchedule")],
                none.clone(),
                (true, true),
            ),
            (
                "untolerated NoSchedule keeps the pod",
                vec![taint("a", "", "NoSchedule")],
                none.clone(),
                (false, true),
            ),
            (
                "untolerated NoExecute evicts",
                vec![taint("a", "", "NoExecute")],
                none.clone(),
                (false, false),
            ),
            (
                "tolerated NoExecute, untolerated NoSchedule",
                vec![taint("a", "", "NoExecute"), taint("b", "", "NoSchedule")],
                vec![tol("a", "Exists", "", "NoExecute")],
                (false, true),
            ),
            (
                "all tolerated",
                vec![taint("a", "", "NoExecute"), taint("b", "v", "NoSchedule")],
                vec![
                    tol("a", "Exists", "", ""),
                    tol("b", "Equal", "v", "NoSchedule"),
                ],
                (true, true),
            ),
            (
                "daemon tolerations cover unreachable and cordon",
                vec![
                    taint(TAINT_NODE_UNREACHABLE, "", "NoExecute"),
                    taint(TAINT_NODE_UNSCHEDULABLE, "", "NoSchedule"),
                ],
                daemon_pod_tolerations(false),
                (true, true),
            ),
            (
                "network unavailable needs host network",
                vec![taint(TAINT_NODE_NETWORK_UNAVAILABLE, "", "NoSchedule")],
                daemon_pod_tolerations(false),
                (false, true),
            ),
            (
                "network unavailable with host network",
                vec![taint(TAINT_NODE_NETWORK_UNAVAILABLE, "", "NoSchedule")],
                daemon_pod_tolerations(true),
                (true, true),
            ),
        ];
        for (name, taints, tolerations, want) in cases {
            assert_eq!(daemon_taints_fit(&taints, &tolerations), want, "{name}");
        }
    }

    #[test]
    fn add_or_update_toleration_like_upstream_helpers_test() {
        // Append a new toleration.
        let mut spec = PodSpec {
            tolerations: Some(vec![tol("foo", "Exists", "", "NoSchedule")]),
            ..PodSpec::default()
        };
        assert!(add_or_update_toleration(
            &mut spec,
            &tol("bar", "Exists", "", "NoSchedule")
        ));
        assert_eq!(
            spec.tolerations,
            Some(vec![
                tol("foo", "Exists", "", "NoSchedule"),
                tol("bar", "Exists", "", "NoSchedule")
            ])
        );

        // Replace a matching one that differs only in tolerationSeconds, in place.
        let mut with_seconds = tol("foo", "Exists", "", "NoExecute");
        with_seconds.toleration_seconds = Some(300);
        let mut spec = PodSpec {
            tolerations: Some(vec![
                tol("a", "Exists", "", ""),
                with_seconds,
                tol("z", "Exists", "", ""),
            ]),
            ..PodSpec::default()
        };
        assert!(add_or_update_toleration(
            &mut spec,
            &tol("foo", "Exists", "", "NoExecute")
        ));
        assert_eq!(
            spec.tolerations,
            Some(vec![
                tol("a", "Exists", "", ""),
                tol("foo", "Exists", "", "NoExecute"),
                tol("z", "Exists", "", "")
            ])
        );

        // An identical toleration changes nothing.
        let before = spec.clone();
        assert!(!add_or_update_toleration(
            &mut spec,
            &tol("foo", "Exists", "", "NoExecute")
        ));
        assert_eq!(spec, before);

        // No tolerations at all.
        let mut spec = PodSpec::default();
        assert!(add_or_update_toleration(
            &mut spec,
            &tol("x", "Exists", "", "")
        ));
        assert_eq!(spec.tolerations, Some(vec![tol("x", "Exists", "", "")]));
    }

    #[test]
    fn daemon_pod_tolerations_in_spec_order() {
        let keys = |v: &[Toleration]| {
            v.iter()
                .map(|t| (opt(&t.key).to_string(), opt(&t.effect).to_string()))
                .collect::<Vec<_>>()
        };
        let mut spec = PodSpec {
            tolerations: Some(vec![tol("user", "Exists", "", "")]),
            ..PodSpec::default()
        };
        add_or_update_daemon_pod_tolerations(&mut spec);
        let got = spec.tolerations.clone().unwrap_or_default();
        assert_eq!(
            keys(&got),
            vec![
                ("user".to_string(), String::new()),
                (TAINT_NODE_NOT_READY.to_string(), "NoExecute".to_string()),
                (TAINT_NODE_UNREACHABLE.to_string(), "NoExecute".to_string()),
                (
                    TAINT_NODE_DISK_PRESSURE.to_string(),
                    "NoSchedule".to_string()
                ),
                (
                    TAINT_NODE_MEMORY_PRESSURE.to_string(),
                    "NoSchedule".to_string()
                ),
                (
                    TAINT_NODE_PID_PRESSURE.to_string(),
                    "NoSchedule".to_string()
                ),
                (
                    TAINT_NODE_UNSCHEDULABLE.to_string(),
                    "NoSchedule".to_string()
                ),
            ]
        );
        assert!(got.iter().all(|t| t.toleration_seconds.is_none()));
        // Idempotent.
        let again = spec.clone();
        add_or_update_daemon_pod_tolerations(&mut spec);
        assert_eq!(spec, again);

        let mut host = PodSpec {
            host_network: Some(true),
            ..PodSpec::default()
        };
        add_or_update_daemon_pod_tolerations(&mut host);
        let got = host.tolerations.unwrap_or_default();
        assert_eq!(got.len(), 7);
        assert_eq!(opt(&got[6].key), TAINT_NODE_NETWORK_UNAVAILABLE);

        // A user toleration with tolerationSeconds for not-ready is replaced in place.
        let mut limited = tol(TAINT_NODE_NOT_READY, "Exists", "", "NoExecute");
        limited.toleration_seconds = Some(300);
        let mut spec = PodSpec {
            tolerations: Some(vec![limited]),
            ..PodSpec::default()
        };
        add_or_update_daemon_pod_tolerations(&mut spec);
        let got = spec.tolerations.unwrap_or_default();
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], tol(TAINT_NODE_NOT_READY, "Exists", "", "NoExecute"));
    }
}
