//! Table tests of the simulated pod lifecycle.

use super::*;
use serde_json::json;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).expect("timestamp")
}

fn pod(v: serde_json::Value) -> Pod {
    serde_json::from_value(v).expect("pod")
}

fn timing(startup: u64) -> PodTiming {
    PodTiming {
        startup_delay: Duration::from_secs(startup),
        crash_backoff: Duration::from_secs(10),
    }
}

fn cond<'a>(s: &'a PodStatus, type_: &str) -> Option<&'a PodCondition> {
    s.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

fn state(s: &PodStatus) -> (String, i32, bool) {
    let c = &s.container_statuses.as_ref().expect("statuses")[0];
    let st = c.state.clone().unwrap_or_default();
    let kind = if st.running.is_some() {
        "running".to_string()
    } else {
        st.waiting.and_then(|w| w.reason).unwrap_or_default()
    };
    (kind, c.restart_count, c.ready)
}

const BASIC: &str = r#"{"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}"#;

#[test]
fn pending_then_running_and_ready_with_transition_times() {
    let p: Pod = serde_json::from_str(BASIC).expect("pod");
    let s = simulate_pod(&p, t(0), t(1), "10.244.0.2", "172.18.0.2", &timing(5));
    assert_eq!(s.status.phase.as_deref(), Some("Pending"));
    assert_eq!(state(&s.status).0, "ContainerCreating");
    assert_eq!(s.next_change, Some(t(5)));
    let s = simulate_pod(&p, t(0), t(6), "10.244.0.2", "172.18.0.2", &timing(5));
    assert_eq!(s.status.phase.as_deref(), Some("Running"));
    assert_eq!(state(&s.status), ("running".to_string(), 0, true));
    let ready = cond(&s.status, "Ready").expect("ready");
    assert_eq!(
        (ready.status.as_str(), ready.last_transition_time.clone()),
        ("True", Some(Time(t(5))))
    );
    assert_eq!(
        cond(&s.status, "ContainersReady").map(|c| c.status.as_str()),
        Some("True")
    );
    assert_eq!(
        cond(&s.status, "PodScheduled").map(|c| c.status.as_str()),
        Some("True")
    );
    assert_eq!(s.status.pod_ip.as_deref(), Some("10.244.0.2"));
    assert_eq!(s.status.start_time, Some(Time(t(0))));
    assert!(s.next_change.is_none());
    let c = &s.status.container_statuses.as_ref().expect("statuses")[0];
    assert!(
        c.container_id
            .as_deref()
            .is_some_and(|id| id.starts_with("containerd://"))
    );
    assert!(c.image_id.contains("@sha256:"));
    assert_eq!(c.started, Some(true));
}

#[test]
fn readiness_probe_initial_delay() {
    let p = pod(
        json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": [{"name": "c", "image": "x", "readinessProbe": {"initialDelaySeconds": 10, "exec": {"command": ["true"]}}}]}}),
    );
    let s = simulate_pod(&p, t(0), t(5), "ip", "h", &timing(0));
    assert_eq!(state(&s.status), ("running".to_string(), 0, false));
    assert_eq!(s.next_change, Some(t(10)));
    let s = simulate_pod(&p, t(0), t(10), "ip", "h", &timing(0));
    assert!(state(&s.status).2);
    assert_eq!(
        cond(&s.status, "Ready").and_then(|c| c.last_transition_time.clone()),
        Some(Time(t(10)))
    );
}

#[test]
fn failure_injection() {
    let image = pod(
        json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"containers": [{"name": "c", "image": "registry:5000/foo:non-existent"}]}}),
    );
    let s = simulate_pod(&image, t(0), t(1), "ip", "h", &timing(0));
    assert_eq!(
        (state(&s.status).0.as_str(), s.status.phase.as_deref()),
        ("ErrImagePull", Some("Pending"))
    );
    let s = simulate_pod(&image, t(0), t(60), "ip", "h", &timing(0));
    assert_eq!(state(&s.status), ("ImagePullBackOff".to_string(), 0, false));
    assert_eq!(
        cond(&s.status, "Ready").map(|c| c.status.as_str()),
        Some("False")
    );

    let never = pod(
        json!({"metadata": {"name": "p", "uid": "u", "annotations": {"everynode.dev/simulate": "never-ready"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
    );
    let s = simulate_pod(&never, t(0), t(600), "ip", "h", &timing(0));
    assert_eq!(
        (state(&s.status), s.status.phase.as_deref()),
        (("running".to_string(), 0, false), Some("Running"))
    );

    let crash = pod(
        json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u", "annotations": {"everynode.dev/simulate": "crash-loop"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}),
    );
    // Run 0: 0–1 s; restart at once; run 1: 1–2 s; back-off 10 s; run 2: 12–13 s; back-off 20 s.
    let cases = [
        (0, "running", 0),
        (1, "running", 1),
        (3, "CrashLoopBackOff", 1),
        (12, "running", 2),
        (20, "CrashLoopBackOff", 2),
        (33, "running", 3),
    ];
    for (at, kind, restarts) in cases {
        let s = simulate_pod(&crash, t(0), t(at), "ip", "h", &timing(0));
        assert_eq!(
            state(&s.status),
            (kind.to_string(), restarts, false),
            "at {at}s"
        );
        assert_eq!(s.status.phase.as_deref(), Some("Running"));
    }
    let s = simulate_pod(&crash, t(0), t(3), "ip", "h", &timing(0));
    let last = s.status.container_statuses.as_ref().expect("statuses")[0]
        .last_state
        .clone()
        .and_then(|l| l.terminated)
        .expect("terminated");
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    assert_eq!(s.next_change, Some(t(12)));
}

#[test]
fn differs_ignores_timestamps_but_not_readiness() {
    let p: Pod = serde_json::from_str(BASIC).expect("pod");
    let a = simulate_pod(&p, t(0), t(1), "ip", "h", &timing(0)).status;
    let b = simulate_pod(&p, t(0), t(100), "ip", "h", &timing(0)).status;
    assert!(!pod_status_differs(Some(&a), &b));
    let mut not_ready = a.clone();
    for c in not_ready.conditions.iter_mut().flatten() {
        if c.type_ == "Ready" {
            c.status = "False".into();
        }
    }
    assert!(pod_status_differs(Some(&not_ready), &b));
    assert!(pod_status_differs(None, &b));
}

#[test]
fn ready_again_after_node_controller_marked_not_ready_is_a_new_transition() {
    let mut p: Pod = serde_json::from_str(BASIC).expect("pod");
    let running = simulate_pod(&p, t(0), t(1), "ip", "h", &timing(0)).status;
    let mut marked = running.clone();
    for c in marked.conditions.iter_mut().flatten() {
        if c.type_ == "Ready" {
            c.status = "False".into();
            c.last_transition_time = Some(Time(t(50)));
        }
    }
    p.status = Some(marked);
    let s = simulate_pod(&p, t(0), t(60), "ip", "h", &timing(0));
    let ready = cond(&s.status, "Ready").expect("ready");
    assert_eq!(
        (ready.status.as_str(), ready.last_transition_time.clone()),
        ("True", Some(Time(t(60))))
    );
    // ContainersReady never flipped: it keeps its time.
    assert_eq!(
        cond(&s.status, "ContainersReady").and_then(|c| c.last_transition_time.clone()),
        Some(Time(t(0)))
    );
}
