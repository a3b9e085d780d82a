//! Table tests of heartbeat, taint and eviction decisions.

use super::*;
use serde_json::json;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).expect("timestamp")
}

fn node(ready: Option<&str>, extra: serde_json::Value) -> Node {
    let mut v = json!({"metadata": {"name": "n"}, "spec": extra});
    if let Some(status) = ready {
        v["status"] = json!({"conditions": [
            {"type": "Ready", "status": status, "reason": "KubeletReady"},
            {"type": "MemoryPressure", "status": "False"},
        ]});
    }
    serde_json::from_value(v).expect("node")
}

fn keys(taints: &[Taint]) -> Vec<String> {
    taints
        .iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect()
}

#[test]
fn taints_follow_conditions() {
    let not_ready_ns =
        json!({"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]});
    let cases: Vec<(&str, Node, Option<Vec<&str>>)> = vec![
        (
            "new node keeps creation taint",
            node(None, not_ready_ns.clone()),
            None,
        ),
        (
            "ready removes creation taint",
            node(Some("True"), not_ready_ns.clone()),
            Some(vec![]),
        ),
        (
            "ready and clean: no change",
            node(Some("True"), json!({})),
            None,
        ),
        (
            "unknown → unreachable both effects",
            node(
                Some("Unknown"),
                json!({"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}),
            ),
            Some(vec![
                "dedicated:NoSchedule",
                "node.kubernetes.io/unreachable:NoSchedule",
                "node.kubernetes.io/unreachable:NoExecute",
            ]),
        ),
        (
            "false → not-ready both effects",
            node(Some("False"), json!({})),
            Some(vec![
                "node.kubernetes.io/not-ready:NoSchedule",
                "node.kubernetes.io/not-ready:NoExecute",
            ]),
        ),
        (
            "cordon",
            node(Some("True"), json!({"unschedulable": true})),
            Some(vec!["node.kubernetes.io/unschedulable:NoSchedule"]),
        ),
        (
            "uncordon",
            node(
                Some("True"),
                json!({"taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}),
            ),
            Some(vec![]),
        ),
        (
            "recovery removes unreachable",
            node(
                Some("True"),
                json!({"taints": [
                    {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2023-11-14T22:13:20Z"},
                ]}),
            ),
            Some(vec![]),
        ),
    ];
    for (name, n, want) in cases {
        let got = desired_taints(&n, t(0)).map(|ts| keys(&ts));
        let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(got, want, "{name}");
    }
    let added = desired_taints(&node(Some("Unknown"), json!({})), t(7)).expect("taints");
    let no_execute = added
        .iter()
        .find(|t| t.effect == "NoExecute")
        .expect("NoExecute");
    assert_eq!(no_execute.time_added, Some(Time(t(7))));
    // Existing NoExecute keeps its timeAdded (eviction is measured from it).
    let mut tainted = node(Some("Unknown"), json!({}));
    tainted.spec.get_or_insert_with(Default::default).taints = Some(added.clone());
    assert_eq!(desired_taints(&tainted, t(100)), None);
}

#[test]
fn unknown_conditions_after_grace() {
    let n = node(Some("True"), json!({}));
    let cs = unknown_conditions(&n, t(60)).expect("changed");
    let ready = cs.iter().find(|c| c.type_ == "Ready").expect("ready");
    assert_eq!(
        (
            ready.status.as_str(),
            ready.reason.as_deref(),
            ready.message.as_deref()
        ),
        (
            "Unknown",
            Some("NodeStatusUnknown"),
            Some("Kubelet stopped posting node status.")
        )
    );
    let never = cs.iter().find(|c| c.type_ == "DiskPressure").expect("disk");
    assert_eq!(never.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    let mut again = n.clone();
    again.status.get_or_insert_with(Default::default).conditions = Some(cs);
    assert_eq!(unknown_conditions(&again, t(70)), None);
}

#[test]
fn eviction_timing() {
    let taint = |key: &str, added: i64| -> Taint {
        serde_json::from_value(
            json!({"key": key, "effect": "NoExecute", "timeAdded": Time(t(added))}),
        )
        .expect("taint")
    };
    let tol = |key: &str, secs: Option<i64>| -> Toleration {
        serde_json::from_value(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": secs})).expect("toleration")
    };
    let unreachable = "node.kubernetes.io/unreachable";
    let cases: Vec<(&str, Vec<Toleration>, Vec<Taint>, Eviction)> = vec![
        ("no taints", vec![], vec![], Eviction::Never),
        (
            "untolerated",
            vec![],
            vec![taint(unreachable, 0)],
            Eviction::Now,
        ),
        (
            "tolerated forever",
            vec![tol(unreachable, None)],
            vec![taint(unreachable, 0)],
            Eviction::Never,
        ),
        (
            "tolerated 300s from timeAdded",
            vec![tol(unreachable, Some(300))],
            vec![taint(unreachable, 0)],
            Eviction::At(t(300)),
        ),
        (
            "already past",
            vec![tol(unreachable, Some(5))],
            vec![taint(unreachable, 0)],
            Eviction::Now,
        ),
        (
            "negative is zero",
            vec![tol(unreachable, Some(-1))],
            vec![taint(unreachable, 9)],
            Eviction::Now,
        ),
        (
            "one of two untolerated",
            vec![tol(unreachable, None)],
            vec![taint(unreachable, 0), taint("other", 0)],
            Eviction::Now,
        ),
        (
            "tolerationSeconds past the end of time never runs out",
            vec![tol(unreachable, Some(i64::MAX))],
            vec![taint(unreachable, 0)],
            Eviction::Never,
        ),
        (
            "minimum of used tolerations",
            vec![tol(unreachable, Some(100)), tol("", Some(50))],
            vec![taint(unreachable, 0)],
            Eviction::At(t(50)),
        ),
    ];
    for (name, tols, taints, want) in cases {
        assert_eq!(eviction_time(&tols, &taints, t(10)), want, "{name}");
    }
}
