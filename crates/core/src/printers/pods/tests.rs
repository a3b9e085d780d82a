//! Table tests ported from upstream `printers_test.go` (`TestPrintPod`, `TestPrintPodwide`,
//! `TestPrintPodConditions`, restartable init container and Terminating cases).

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Pod, PodCondition, PodIP, PodReadinessGate, PodSpec,
    PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::json;

use super::*;

fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("valid")
}

fn ago(secs: i64) -> Time {
    Time(
        now()
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .expect("in range"),
    )
}

fn running() -> Option<ContainerState> {
    Some(ContainerState {
        running: Some(ContainerStateRunning::default()),
        ..ContainerState::default()
    })
}

fn waiting(reason: &str) -> Option<ContainerState> {
    Some(ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            ..Default::default()
        }),
        ..ContainerState::default()
    })
}

fn terminated(reason: &str, exit_code: i32, signal: i32) -> Option<ContainerState> {
    Some(ContainerState {
        terminated: Some(ContainerStateTerminated {
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            exit_code,
            signal: (signal != 0).then_some(signal),
            ..Default::default()
        }),
        ..ContainerState::default()
    })
}

fn last_terminated(finished: Time) -> Option<ContainerState> {
    Some(ContainerState {
        terminated: Some(ContainerStateTerminated {
            finished_at: Some(finished),
            ..Default::default()
        }),
        ..ContainerState::default()
    })
}

fn cs(name: &str, ready: bool, restarts: i32, state: Option<ContainerState>) -> ContainerStatus {
    ContainerStatus {
        name: name.into(),
        ready,
        restart_count: restarts,
        state,
        ..ContainerStatus::default()
    }
}

fn container(name: &str) -> Container {
    Container {
        name: name.into(),
        ..Container::default()
    }
}

fn sidecar(name: &str) -> Container {
    Container {
        name: name.into(),
        restart_policy: Some("Always".into()),
        ..Container::default()
    }
}

fn pod(
    containers: usize,
    init: Vec<Container>,
    phase: &str,
    statuses: Vec<ContainerStatus>,
    init_statuses: Vec<ContainerStatus>,
) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("test1".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: (0..containers)
                .map(|i| container(&format!("c{i}")))
                .collect(),
            init_containers: (!init.is_empty()).then_some(init),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some(phase.into()),
            container_statuses: Some(statuses),
            init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
            ..PodStatus::default()
        }),
    }
}

fn first_four(p: &Pod) -> Vec<String> {
    row_cells(p, now())
        .into_iter()
        .take(4)
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .collect()
}

#[test]
fn print_pod_like_upstream_test_print_pod() {
    let ready_condition = |status: &str| PodCondition {
        type_: "Ready".into(),
        status: status.into(),
        ..PodCondition::default()
    };
    let mut with_ready = pod(
        2,
        vec![],
        "Running",
        vec![
            cs("c0", true, 0, terminated("Completed", 0, 0)),
            cs("c1", true, 0, running()),
        ],
        vec![],
    );
    if let Some(s) = with_ready.status.as_mut() {
        s.conditions = Some(vec![ready_condition("True")]);
    }
    let mut init_restarting = cs("i0", false, 3, running());
    init_restarting.last_state = last_terminated(ago(10));
    let mut init_restarting2 = init_restarting.clone();
    init_restarting2.name = "i1".into();
    let mut done_with_restarts = cs("i0", false, 2, terminated("Completed", 0, 0));
    done_with_restarts.last_state = last_terminated(ago(120));
    let mut second_restarting = cs("i1", false, 3, running());
    second_restarting.last_state = last_terminated(ago(60));

    let cases: Vec<(&str, Pod, [&str; 4])> = vec![
        (
            "name, containers, restarts, ready",
            pod(
                2,
                vec![],
                "podPhase",
                vec![cs("c0", true, 3, running()), cs("c1", false, 3, None)],
                vec![],
            ),
            ["test1", "1/2", "podPhase", "6"],
        ),
        (
            "waiting reason",
            pod(
                2,
                vec![],
                "podPhase",
                vec![
                    cs("c0", false, 3, waiting("ContainerWaitingReason")),
                    cs("c1", false, 3, None),
                ],
                vec![],
            ),
            ["test1", "0/2", "ContainerWaitingReason", "6"],
        ),
        (
            "terminated reason",
            pod(
                2,
                vec![],
                "podPhase",
                vec![
                    cs("c0", true, 3, running()),
                    cs(
                        "c1",
                        false,
                        3,
                        terminated("ContainerTerminatedReason", 0, 0),
                    ),
                ],
                vec![],
            ),
            ["test1", "1/2", "ContainerTerminatedReason", "6"],
        ),
        (
            "terminated without reason shows signal",
            pod(
                2,
                vec![],
                "podPhase",
                vec![
                    cs("c0", true, 3, running()),
                    cs("c1", false, 3, terminated("", 0, 1)),
                ],
                vec![],
            ),
            ["test1", "1/2", "Signal:1", "6"],
        ),
        (
            "terminated without reason shows exit code",
            pod(
                2,
                vec![],
                "podPhase",
                vec![
                    cs("c0", true, 3, running()),
                    cs("c1", false, 3, terminated("", 2, 0)),
                ],
                vec![],
            ),
            ["test1", "1/2", "ExitCode:2", "6"],
        ),
        (
            "one running, one completed, no ready condition",
            pod(
                2,
                vec![],
                "Running",
                vec![
                    cs("c0", true, 0, terminated("Completed", 0, 0)),
                    cs("c1", true, 0, running()),
                ],
                vec![],
            ),
            ["test1", "1/2", "NotReady", "0"],
        ),
        (
            "one running, one completed, ready condition",
            with_ready,
            ["test1", "1/2", "Running", "0"],
        ),
        (
            "one init container restarting",
            pod(
                1,
                vec![container("i0")],
                "Pending",
                vec![cs("c0", false, 0, waiting("PodInitializing"))],
                vec![init_restarting.clone()],
            ),
            ["test1", "0/1", "Init:0/1", "3 (10s ago)"],
        ),
        (
            "two init containers, one restarting",
            pod(
                1,
                vec![container("i0"), container("i1")],
                "Pending",
                vec![cs("c0", false, 0, None)],
                vec![init_restarting.clone(), cs("i1", false, 0, None)],
            ),
            ["test1", "0/1", "Init:0/2", "3 (10s ago)"],
        ),
        (
            "one init completed without restarts, other restarting",
            pod(
                1,
                vec![container("i0"), container("i1")],
                "Pending",
                vec![cs("c0", false, 0, None)],
                vec![
                    cs("i0", false, 0, terminated("Completed", 0, 0)),
                    init_restarting2,
                ],
            ),
            ["test1", "0/1", "Init:1/2", "3 (10s ago)"],
        ),
        (
            "one init completed with restarts, other restarting",
            pod(
                1,
                vec![container("i0"), container("i1")],
                "Pending",
                vec![cs("c0", false, 0, None)],
                vec![done_with_restarts, second_restarting],
            ),
            ["test1", "0/1", "Init:1/2", "5 (60s ago)"],
        ),
        (
            "init container failed with reason",
            pod(
                1,
                vec![container("i0")],
                "Pending",
                vec![],
                vec![cs("i0", false, 0, terminated("Error", 1, 0))],
            ),
            ["test1", "0/1", "Init:Error", "0"],
        ),
        (
            "init container failed with exit code",
            pod(
                1,
                vec![container("i0")],
                "Pending",
                vec![],
                vec![cs("i0", false, 0, terminated("", 3, 0))],
            ),
            ["test1", "0/1", "Init:ExitCode:3", "0"],
        ),
        (
            "init container failed with signal",
            pod(
                1,
                vec![container("i0")],
                "Pending",
                vec![],
                vec![cs("i0", false, 0, terminated("", 137, 9))],
            ),
            ["test1", "0/1", "Init:Signal:9", "0"],
        ),
        (
            "init container waiting with reason",
            pod(
                1,
                vec![container("i0")],
                "Pending",
                vec![],
                vec![cs("i0", false, 0, waiting("CrashLoopBackOff"))],
            ),
            ["test1", "0/1", "Init:CrashLoopBackOff", "0"],
        ),
        (
            "init container waiting in PodInitializing",
            pod(
                1,
                vec![container("i0")],
                "Pending",
                vec![],
                vec![cs("i0", false, 0, waiting("PodInitializing"))],
            ),
            ["test1", "0/1", "Init:0/1", "0"],
        ),
    ];
    for (name, p, want) in cases {
        assert_eq!(first_four(&p), want.map(str::to_string).to_vec(), "{name}");
    }
}

#[test]
fn print_pod_with_restartable_init_containers_like_upstream() {
    let mut started = cs("i0", false, 3, running());
    started.started = Some(true);
    started.last_state = last_terminated(ago(10));
    let mut started_ready = started.clone();
    started_ready.ready = true;
    let mut not_started = started.clone();
    not_started.started = Some(false);
    let mut second = cs("i1", false, 0, waiting("PodInitializing"));
    second.started = Some(false);
    let cases: Vec<(&str, Pod, [&str; 4])> = vec![
        (
            "started sidecar, container not running",
            pod(
                1,
                vec![sidecar("i0")],
                "Pending",
                vec![cs("c0", false, 0, None)],
                vec![started.clone()],
            ),
            ["test1", "0/2", "Pending", "3 (10s ago)"],
        ),
        (
            "sidecar not started",
            pod(
                1,
                vec![sidecar("i0")],
                "Pending",
                vec![cs("c0", false, 0, None)],
                vec![not_started],
            ),
            ["test1", "0/2", "Init:0/1", "3 (10s ago)"],
        ),
        (
            "started ready sidecar and running container",
            pod(
                1,
                vec![sidecar("i0")],
                "Running",
                vec![cs("c0", true, 0, running())],
                vec![started_ready.clone()],
            ),
            ["test1", "2/2", "Running", "3 (10s ago)"],
        ),
        (
            "started sidecar then a regular init container",
            pod(
                1,
                vec![sidecar("i0"), container("i1")],
                "Pending",
                vec![cs("c0", false, 0, None)],
                vec![started_ready, second],
            ),
            ["test1", "1/2", "Init:1/2", "3 (10s ago)"],
        ),
    ];
    for (name, p, want) in cases {
        assert_eq!(first_four(&p), want.map(str::to_string).to_vec(), "{name}");
    }
}

#[test]
fn print_pod_terminating_node_lost_and_gated() {
    let mut terminating = pod(
        1,
        vec![],
        "Running",
        vec![cs("c0", true, 0, running())],
        vec![],
    );
    terminating.metadata.deletion_timestamp = Some(ago(5));
    assert_eq!(first_four(&terminating)[2], "Terminating");

    let mut lost = terminating.clone();
    if let Some(s) = lost.status.as_mut() {
        s.reason = Some("NodeLost".into());
    }
    assert_eq!(first_four(&lost)[2], "Unknown");

    let mut finished = pod(
        1,
        vec![],
        "Succeeded",
        vec![cs("c0", false, 0, terminated("Completed", 0, 0))],
        vec![],
    );
    finished.metadata.deletion_timestamp = Some(ago(5));
    assert_eq!(first_four(&finished)[2], "Completed");

    let mut gated = pod(1, vec![], "Pending", vec![], vec![]);
    if let Some(s) = gated.status.as_mut() {
        s.conditions = Some(vec![PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("SchedulingGated".into()),
            ..PodCondition::default()
        }]);
    }
    assert_eq!(first_four(&gated)[2], "SchedulingGated");

    let mut evicted = pod(1, vec![], "Failed", vec![], vec![]);
    if let Some(s) = evicted.status.as_mut() {
        s.reason = Some("Evicted".into());
    }
    assert_eq!(first_four(&evicted)[2], "Evicted");
    assert_eq!(first_four(&Pod::default()), ["", "0/0", "", "0"]);

    // An init container that exited 0 counts as done, whatever its signal.
    let done = pod(
        1,
        vec![container("i0")],
        "Running",
        vec![cs("c0", true, 0, running())],
        vec![cs("i0", false, 0, terminated("", 0, 9))],
    );
    assert_eq!(first_four(&done), ["test1", "1/1", "Running", "0"]);
}

#[test]
fn print_pod_wide_like_upstream_test_print_pod_wide() {
    let mut p = pod(
        2,
        vec![],
        "podPhase",
        vec![cs("c0", true, 3, running()), cs("c1", false, 3, None)],
        vec![],
    );
    p.metadata.creation_timestamp = Some(ago(300));
    if let Some(spec) = p.spec.as_mut() {
        spec.node_name = Some("test1".into());
        spec.readiness_gates = Some(vec![
            PodReadinessGate {
                condition_type: "condition1".into(),
            },
            PodReadinessGate {
                condition_type: "condition2".into(),
            },
        ]);
    }
    if let Some(s) = p.status.as_mut() {
        s.pod_ips = Some(vec![
            PodIP {
                ip: "1.1.1.1".into(),
            },
            PodIP {
                ip: "2001:db8::".into(),
            },
        ]);
        s.conditions = Some(vec![
            PodCondition {
                type_: "condition1".into(),
                status: "True".into(),
                ..PodCondition::default()
            },
            PodCondition {
                type_: "condition2".into(),
                status: "False".into(),
                ..PodCondition::default()
            },
        ]);
    }
    assert_eq!(
        Value::from(row_cells(&p, now())),
        json!([
            "test1", "1/2", "podPhase", "6", "5m", "1.1.1.1", "test1", "<none>", "1/2"
        ])
    );
    let mut bare = pod(1, vec![], "Pending", vec![], vec![]);
    if let Some(s) = bare.status.as_mut() {
        s.nominated_node_name = Some("node2".into());
    }
    assert_eq!(
        Value::from(row_cells(&bare, now())),
        json!([
            "test1",
            "0/1",
            "Pending",
            "0",
            "<unknown>",
            "<none>",
            "<none>",
            "node2",
            "<none>"
        ])
    );
}

#[test]
fn pod_row_conditions_like_upstream_test_print_pod_conditions() {
    let cases = [
        ("Running", None),
        ("Pending", None),
        (
            "Succeeded",
            Some(("Succeeded", "The pod has completed successfully.")),
        ),
        ("Failed", Some(("Failed", "The pod failed."))),
    ];
    for (phase, want) in cases {
        let got = row_conditions(&pod(1, vec![], phase, vec![], vec![]));
        let want: Vec<RowCondition> = want
            .map(|(reason, message)| RowCondition {
                type_: "Completed",
                status: "True",
                reason,
                message,
            })
            .into_iter()
            .collect();
        assert_eq!(got, want, "{phase}");
    }
}
