//! Pod readiness, availability and lifecycle predicates (upstream `pkg/api/v1/pod/util.go`, `controller_utils.go`) and controller ownerRef lookup.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Container, Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::keys::{
    CONDITION_TRUE, CONTAINER_RESTART_POLICY_ALWAYS, POD_FAILED, POD_INITIALIZED, POD_READY,
    POD_SUCCEEDED,
};

/// The pod's phase, "" when unset.
pub fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Upstream `GetPodCondition`: the first condition of the given type.
pub fn pod_condition<'a>(status: Option<&'a PodStatus>, type_: &str) -> Option<&'a PodCondition> {
    status?
        .conditions
        .as_deref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// Upstream `GetPodReadyCondition`.
pub fn pod_ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod_condition(pod.status.as_ref(), POD_READY)
}

/// Upstream `IsPodReady`: the Ready condition is True.
pub fn is_pod_ready(pod: &Pod) -> bool {
    pod_ready_condition(pod).is_some_and(|c| c.status == CONDITION_TRUE)
}

/// Upstream `IsPodInitializedConditionTrue`-style check used by the pod printer.
pub fn is_pod_initialized(status: Option<&PodStatus>) -> bool {
    pod_condition(status, POD_INITIALIZED).is_some_and(|c| c.status == CONDITION_TRUE)
}

/// Upstream `IsPodAvailable` (spec §1.10 A1, newest form): Ready, and either
/// `min_ready_seconds == 0` or the Ready condition's lastTransitionTime is set and
/// `lastTransitionTime + min_ready_seconds <= now`.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let Some(since) = pod_ready_condition(pod).and_then(|c| c.last_transition_time.as_ref()) else {
        return false;
    };
    let ready_for = SignedDuration::from_secs(i64::from(min_ready_seconds));
    match since.0.checked_add(ready_for) {
        Ok(available_at) => available_at <= now,
        Err(_) => false,
    }
}

/// Upstream `IsPodPhaseTerminal`: Succeeded or Failed.
pub fn is_phase_terminal(phase: &str) -> bool {
    phase == POD_SUCCEEDED || phase == POD_FAILED
}

/// Upstream `IsPodTerminal`: phase Succeeded or Failed.
pub fn is_pod_terminal(pod: &Pod) -> bool {
    is_phase_terminal(pod_phase(pod))
}

/// Upstream `controller.IsPodActive`: not terminal and not being deleted.
pub fn is_pod_active(pod: &Pod) -> bool {
    !is_pod_terminal(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// Upstream `IsRestartableInitContainer`: an init container with `restartPolicy: Always` (a sidecar).
pub fn is_restartable_init_container(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some(CONTAINER_RESTART_POLICY_ALWAYS)
}

/// Upstream `metav1.GetControllerOf`: the first ownerReference with `controller: true`.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The controller ownerRef if it is of `kind` (e.g. `DaemonSet`), as the DaemonSet handlers
/// resolve it before looking the owner up by name and comparing UIDs (spec §1.1 C3).
pub fn controller_ref_of_kind<'a>(meta: &'a ObjectMeta, kind: &str) -> Option<&'a OwnerReference> {
    controller_ref(meta).filter(|r| r.kind == kind)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    fn pod_with(phase: &str, ready: Option<(&str, Option<&str>)>, deleting: bool) -> Pod {
        let conditions = ready.map(|(status, since)| {
            vec![PodCondition {
                type_: POD_READY.into(),
                status: status.into(),
                last_transition_time: since.map(|s| Time(ts(s))),
                ..PodCondition::default()
            }]
        });
        Pod {
            metadata: ObjectMeta {
                deletion_timestamp: deleting.then(|| Time(ts("2024-01-01T00:00:00Z"))),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: (!phase.is_empty()).then(|| phase.to_string()),
                conditions,
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn is_pod_available_like_upstream_pod_util_test() {
        let now = ts("2024-01-01T00:10:00Z");
        let cases = [
            (
                "not ready",
                pod_with(
                    "Running",
                    Some(("False", Some("2024-01-01T00:00:00Z"))),
                    false,
                ),
                0,
                false,
            ),
            (
                "no ready condition",
                pod_with("Running", None, false),
                0,
                false,
            ),
            (
                "ready, minReadySeconds 0",
                pod_with("Running", Some(("True", None)), false),
                0,
                true,
            ),
            (
                "ready long enough",
                pod_with(
                    "Running",
                    Some(("True", Some("2024-01-01T00:00:00Z"))),
                    false,
                ),
                1,
                true,
            ),
            (
                "ready exactly minReadySeconds ago",
                pod_with(
                    "Running",
                    Some(("True", Some("2024-01-01T00:09:00Z"))),
                    false,
                ),
                60,
                true,
            ),
            (
                "ready not long enough",
                pod_with(
                    "Running",
                    Some(("True", Some("2024-01-01T00:09:30Z"))),
                    false,
                ),
                60,
                false,
            ),
            (
                "ready without transition time",
                pod_with("Running", Some(("True", None)), false),
                1,
                false,
            ),
        ];
        for (name, pod, min_ready, want) in cases {
            assert_eq!(is_pod_available(&pod, min_ready, now), want, "{name}");
        }
    }

    #[test]
    fn lifecycle_predicates() {
        let cases = [
            ("running", pod_with("Running", None, false), false, true),
            ("pending", pod_with("Pending", None, false), false, true),
            ("succeeded", pod_with("Succeeded", None, false), true, false),
            ("failed", pod_with("Failed", None, false), true, false),
            ("terminating", pod_with("Running", None, true), false, false),
            ("no phase", pod_with("", None, false), false, true),
        ];
        for (name, pod, terminal, active) in cases {
            assert_eq!(is_pod_terminal(&pod), terminal, "{name}");
            assert_eq!(is_pod_active(&pod), active, "{name}");
        }
        assert!(is_pod_ready(&pod_with(
            "Running",
            Some(("True", None)),
            false
        )));
        assert!(!is_pod_ready(&pod_with(
            "Running",
            Some(("Unknown", None)),
            false
        )));
        assert!(!is_pod_ready(&Pod::default()));
        assert!(is_phase_terminal("Failed") && !is_phase_terminal("Unknown"));
    }

    #[test]
    fn controller_ref_picks_the_controller() {
        let owner = |kind: &str, name: &str, controller: Option<bool>| OwnerReference {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            controller,
            block_owner_deletion: None,
        };
        let meta = ObjectMeta {
            owner_references: Some(vec![
                owner("ReplicaSet", "rs", None),
                owner("ReplicaSet", "rs2", Some(false)),
                owner("DaemonSet", "ds", Some(true)),
            ]),
            ..ObjectMeta::default()
        };
        assert_eq!(controller_ref(&meta).map(|r| r.name.as_str()), Some("ds"));
        assert!(controller_ref_of_kind(&meta, "DaemonSet").is_some());
        assert!(controller_ref_of_kind(&meta, "ReplicaSet").is_none());
        assert!(controller_ref(&ObjectMeta::default()).is_none());
        let sidecar = Container {
            restart_policy: Some("Always".into()),
            ..Container::default()
        };
        assert!(is_restartable_init_container(&sidecar));
        assert!(!is_restartable_init_container(&Container::default()));
    }
}
