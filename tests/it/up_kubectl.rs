//! The tutorials' stories, told with the real kubectl against a real `everynode up`: placement,
//! nodes joining and leaving, selectors, taints, cordon and drain, heartbeats, orphaning and
//! adoption, and scheduling failures.

use std::time::Duration;

use crate::support::{Kubectl, Server, wait_for};

mod seed_commands;

const DEADLINE: Duration = Duration::from_secs(30);

fn daemon_set(name: &str, extra_pod_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
{extra_pod_spec}      containers:
      - name: agent
        image: busybox:1.36
"
    )
}

/// `node-name pod-phase` lines of the DaemonSet's pods, sorted.
fn placement(kubectl: &Kubectl, app: &str) -> Vec<String> {
    let out = kubectl.jsonpath(
        &["get", "pods", "-l", &format!("app={app}")],
        r#"{range .items[*]}{.spec.nodeName} {.status.phase}{"\n"}{end}"#,
    );
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn wait_for_placement(kubectl: &Kubectl, app: &str, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|n| format!("{n} Running")).collect();
    wait_for(&format!("{app} pods on {expected:?}"), DEADLINE, || {
        (placement(kubectl, app) == expected).then_some(())
    });
}

fn ds_counts(kubectl: &Kubectl, name: &str) -> String {
    kubectl.jsonpath(
        &["get", "ds", name],
        "{.status.desiredNumberScheduled}/{.status.currentNumberScheduled}/{.status.numberReady}/{.status.updatedNumberScheduled}/{.status.numberAvailable}",
    )
}

fn node_manifest(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}}}\n"
    )
}

#[test]
fn one_pod_per_node_follows_nodes_joining_leaving_and_matching() {
    let server = Server::start(&["up", "--nodes", "3"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2", "node-3"]);
    wait_for("get ds 3/3/3/3/3", DEADLINE, || {
        (ds_counts(&kubectl, "agent") == "3/3/3/3/3").then_some(())
    });
    let table = kubectl.run(&["get", "ds", "agent"]).ok();
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        &row[..7],
        ["agent", "3", "3", "3", "3", "3", "<none>"],
        "{table}"
    );

    // A node joins (`minikube node add` becomes applying a Node): a pod follows.
    kubectl.apply(&node_manifest("node-4")).ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2", "node-3", "node-4"]);

    // A node leaves: its pod goes.
    kubectl.run(&["delete", "node", "node-2"]).ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-3", "node-4"]);

    // A nodeSelector DaemonSet runs only where the label is, and follows the label.
    kubectl
        .apply(&daemon_set("ssd", "      nodeSelector: {disktype: ssd}\n"))
        .ok();
    kubectl
        .run(&["label", "nodes", "node-1", "disktype=ssd"])
        .ok();
    wait_for_placement(&kubectl, "ssd", &["node-1"]);
    kubectl
        .run(&["label", "nodes", "node-3", "disktype=ssd"])
        .ok();
    wait_for_placement(&kubectl, "ssd", &["node-1", "node-3"]);
    kubectl.run(&["label", "nodes", "node-1", "disktype-"]).ok();
    wait_for_placement(&kubectl, "ssd", &["node-3"]);
    let selector = kubectl.run(&["get", "ds", "ssd"]).ok();
    assert!(selector.contains("disktype=ssd"), "{selector}");
}

#[test]
fn taints_tolerations_cordon_and_drain() {
    let server = Server::start(&["up", "--nodes", "2", "--control-plane"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let taints = kubectl.run(&["describe", "node", "control-plane"]).ok();
    assert!(
        taints.contains("node-role.kubernetes.io/control-plane:NoSchedule"),
        "{taints}"
    );

    // Without a toleration the control plane is skipped; with it, the pod goes there too.
    kubectl.apply(&daemon_set("plain", "")).ok();
    let tolerating = "      tolerations:\n      - key: node-role.kubernetes.io/control-plane\n        operator: Exists\n        effect: NoSchedule\n";
    kubectl.apply(&daemon_set("everywhere", tolerating)).ok();
    wait_for_placement(&kubectl, "plain", &["node-1", "node-2"]);
    wait_for_placement(
        &kubectl,
        "everywhere",
        &["control-plane", "node-1", "node-2"],
    );

    // A NoSchedule taint keeps running daemon pods; a NoExecute one evicts those that do not
    // tolerate it.
    kubectl
        .run(&[
            "taint",
            "nodes",
            "node-1",
            "dedicated=monitoring:NoSchedule",
        ])
        .ok();
    kubectl.apply(&daemon_set("late", "")).ok();
    wait_for_placement(&kubectl, "late", &["node-2"]);
    assert_eq!(
        placement(&kubectl, "plain"),
        ["node-1 Running", "node-2 Running"]
    );
    kubectl
        .run(&["taint", "nodes", "node-1", "dedicated=monitoring:NoExecute"])
        .ok();
    wait_for_placement(&kubectl, "plain", &["node-2"]);

    // Cordon: daemon pods still go to the node (they tolerate unschedulable).
    kubectl.run(&["cordon", "node-2"]).ok();
    kubectl.apply(&daemon_set("after-cordon", "")).ok();
    wait_for_placement(&kubectl, "after-cordon", &["node-2"]);
    let status = kubectl.run(&["get", "node", "node-2"]).ok();
    assert!(status.contains("Ready,SchedulingDisabled"), "{status}");

    // Drain with --ignore-daemonsets evicts the other pods and leaves daemon pods alone.
    kubectl.run(&["uncordon", "node-2"]).ok();
    let deployment_like = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeName: node-2\n  containers:\n  - name: web\n    image: nginx\n";
    kubectl.apply(deployment_like).ok();
    let out = kubectl
        .run(&[
            "drain",
            "node-2",
            "--ignore-daemonsets",
            "--force",
            "--timeout=30s",
        ])
        .ok();
    assert!(out.contains("node/node-2 drained"), "{out}");
    let web = kubectl.run(&["get", "pod", "web"]);
    assert!(!web.success, "web should be evicted");
    assert_eq!(placement(&kubectl, "plain"), ["node-2 Running"]);
}

#[test]
fn stopped_heartbeats_evict_other_pods_but_keep_daemon_pods() {
    let server = Server::start(&[
        "up",
        "--nodes",
        "2",
        "--node-monitor-grace-period",
        "2s",
        "--node-lease-interval",
        "300ms",
        "--default-toleration-seconds",
        "1",
    ]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    kubectl.apply("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeName: node-1\n  containers:\n  - name: web\n    image: nginx\n").ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2"]);
    kubectl
        .run(&[
            "annotate",
            "node",
            "node-1",
            "everynode.dev/heartbeat=stopped",
        ])
        .ok();
    wait_for("node-1 NotReady", DEADLINE, || {
        let row = kubectl.run(&["get", "node", "node-1"]).ok();
        row.contains("NotReady").then_some(())
    });
    let taints = kubectl.jsonpath(&["get", "node", "node-1"], "{.spec.taints[*].key}");
    assert!(
        taints.contains("node.kubernetes.io/unreachable"),
        "{taints}"
    );
    // The ordinary pod tolerates unreachable for 1 s only: it is evicted (Terminating).
    wait_for("web to be evicted", DEADLINE, || {
        let deletion = kubectl.jsonpath(&["get", "pod", "web"], "{.metadata.deletionTimestamp}");
        (!deletion.is_empty()).then_some(())
    });
    // The daemon pod tolerates unreachable forever and stays.
    let agent = kubectl.jsonpath(
        &[
            "get",
            "pods",
            "-l",
            "app=agent",
            "--field-selector",
            "spec.nodeName=node-1",
        ],
        "{.items[*].metadata.deletionTimestamp}|{.items[*].metadata.name}",
    );
    let (deleting, name) = agent.split_once('|').unwrap_or_default();
    assert!(deleting.is_empty() && !name.is_empty(), "{agent}");
    // Heartbeats resume: Ready again, the taints go.
    kubectl
        .run(&["annotate", "node", "node-1", "everynode.dev/heartbeat-"])
        .ok();
    wait_for("node-1 Ready again", DEADLINE, || {
        let taints = kubectl.jsonpath(&["get", "node", "node-1"], "{.spec.taints[*].key}");
        (!taints.contains("unreachable")).then_some(())
    });
}

#[test]
fn orphaned_pods_are_adopted_by_a_recreated_daemon_set_without_restarts() {
    let server = Server::start(&["up", "--nodes", "2"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let manifest = daemon_set("agent", "");
    kubectl.apply(&manifest).ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2"]);
    let uids = |k: &Kubectl| {
        k.jsonpath(
            &["get", "pods", "-l", "app=agent"],
            "{.items[*].metadata.uid}",
        )
    };
    let before = uids(&kubectl);

    let out = kubectl
        .run(&["delete", "ds", "agent", "--cascade=orphan", "--timeout=30s"])
        .ok();
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(uids(&kubectl), before, "orphaning deleted pods");
    let owners = kubectl.jsonpath(
        &["get", "pods", "-l", "app=agent"],
        "{.items[*].metadata.ownerReferences}",
    );
    assert!(owners.is_empty(), "{owners}");

    kubectl.apply(&manifest).ok();
    wait_for("the pods to be adopted", DEADLINE, || {
        let kinds = kubectl.jsonpath(
            &["get", "pods", "-l", "app=agent"],
            "{.items[*].metadata.ownerReferences[0].kind}",
        );
        (kinds == "DaemonSet DaemonSet").then_some(())
    });
    assert_eq!(uids(&kubectl), before, "adoption restarted pods");

    kubectl
        .run(&["delete", "ds", "agent", "--timeout=30s"])
        .ok();
    wait_for(
        "the pods to be deleted with their DaemonSet",
        DEADLINE,
        || uids(&kubectl).is_empty().then_some(()),
    );
}

#[test]
fn a_pod_too_big_for_every_node_stays_pending_with_failed_scheduling() {
    let server = Server::start(&["up", "--nodes", "3"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let big = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  containers:\n  - name: c\n    image: nginx\n    resources:\n      requests: {memory: 64Gi}\n";
    kubectl.apply(big).ok();
    let message = wait_for("FailedScheduling", DEADLINE, || {
        let events = kubectl
            .run(&[
                "get",
                "events",
                "--field-selector",
                "reason=FailedScheduling",
                "-o",
                "jsonpath={.items[*].message}",
            ])
            .ok();
        (!events.is_empty()).then_some(events)
    });
    assert!(
        message.starts_with("0/3 nodes are available: 3 Insufficient memory."),
        "{message}"
    );
    assert_eq!(
        kubectl.jsonpath(&["get", "pod", "big"], "{.status.phase}"),
        "Pending"
    );
    let described = kubectl.run(&["describe", "pod", "big"]).ok();
    assert!(described.contains("FailedScheduling"), "{described}");
}

#[test]
fn a_restart_resumes_the_same_cluster_without_duplicate_pods() {
    let mut server = Server::start(&["up", "--nodes", "2"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2"]);
    let before = kubectl.jsonpath(
        &["get", "pods", "-l", "app=agent"],
        "{.items[*].metadata.uid}",
    );
    server.kill_and_restart();
    let kubectl = Kubectl::new(&server.kubeconfig());
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2"]);
    let after = kubectl.jsonpath(
        &["get", "pods", "-l", "app=agent"],
        "{.items[*].metadata.uid}",
    );
    assert_eq!(before, after);
}

#[test]
fn exec_and_logs_say_what_a_simulated_container_can_do() {
    let server = Server::start(&["up", "--nodes", "1"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    wait_for_placement(&kubectl, "agent", &["node-1"]);
    let logs = kubectl.run(&["logs", "-l", "app=agent"]).ok();
    assert!(logs.contains("simulated"), "{logs}");
    let pod = kubectl.jsonpath(
        &["get", "pods", "-l", "app=agent"],
        "{.items[0].metadata.name}",
    );
    let error = kubectl.run(&["exec", &pod, "--", "ls"]).err();
    assert!(error.contains("everynode simulates containers"), "{error}");
}

#[test]
fn top_says_simulated_containers_have_no_metrics_and_discovery_still_works() {
    let server = Server::start(&["up", "--nodes", "1"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    wait_for_placement(&kubectl, "agent", &["node-1"]);
    let no_metrics = "Error from server (ServiceUnavailable): metrics are not available: everynode simulates nodes and containers";
    for args in [
        &["top", "pods"][..],
        &["top", "pods", "-l", "app=agent"],
        &["top", "nodes"],
        &["top", "node", "node-1"],
    ] {
        let error = kubectl.run(args).err();
        assert!(error.starts_with(no_metrics), "{args:?}: {error}");
    }
    // Advertising metrics.k8s.io (as metrics-server does) leaves discovery whole: api-resources
    // lists it without errors, and plain names still mean the core resources.
    let resources = kubectl.run(&["api-resources"]);
    assert!(
        resources.success && resources.stderr.is_empty(),
        "{resources:?}"
    );
    assert!(
        resources
            .stdout
            .lines()
            .any(|l| l.starts_with("pods ") && l.contains("metrics.k8s.io/v1beta1")),
        "{resources:?}"
    );
    let pods = kubectl.run(&["get", "pods", "-l", "app=agent"]).ok();
    assert!(pods.contains("Running"), "{pods}");
    let nodes = kubectl.run(&["get", "node", "node-1"]).ok();
    assert!(nodes.contains("Ready"), "{nodes}");
    kubectl
        .apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-discovery\n")
        .ok();
}

#[test]
fn a_restart_with_more_nodes_adds_them_and_sigterm_stops_cleanly() {
    let mut server = Server::start(&["up", "--nodes", "2"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2"]);
    let status = server.terminate();
    assert!(status.success(), "SIGTERM exit: {status}");

    // Three nodes now: node-3 is added, nothing is removed, the DaemonSet follows.
    server.restart_with(&["up", "--nodes", "3"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let nodes = kubectl.jsonpath(&["get", "nodes"], "{.items[*].metadata.name}");
    assert_eq!(nodes, "node-1 node-2 node-3");
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2", "node-3"]);

    // Fewer nodes asked for: none removed.
    server.restart_with(&["up", "--nodes", "1"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let nodes = kubectl.jsonpath(&["get", "nodes"], "{.items[*].metadata.name}");
    assert_eq!(nodes, "node-1 node-2 node-3");
}

#[test]
fn the_kubeconfig_is_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start(&["up", "--nodes", "1"]);
    let mode = std::fs::metadata(server.kubeconfig())
        .expect("kubeconfig")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn drain_without_eviction_deletes_through_protobuf_delete_options() {
    // `--disable-eviction` makes kubectl's typed client DELETE with a protobuf DeleteOptions body.
    let server = Server::start(&["up", "--nodes", "2"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("agent", "")).ok();
    kubectl.apply("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeName: node-1\n  containers:\n  - name: web\n    image: nginx\n").ok();
    wait_for_placement(&kubectl, "agent", &["node-1", "node-2"]);
    let out = kubectl
        .run(&[
            "drain",
            "node-1",
            "--ignore-daemonsets",
            "--force",
            "--disable-eviction",
            "--timeout=30s",
        ])
        .ok();
    assert!(
        out.contains("pod/web deleted") && out.contains("node/node-1 drained"),
        "{out}"
    );
    assert!(
        !kubectl.run(&["get", "pod", "web"]).success,
        "web survived the drain"
    );
    assert_eq!(
        placement(&kubectl, "agent"),
        ["node-1 Running", "node-2 Running"]
    );
}

#[test]
fn a_deleted_pod_terminates_after_the_deletion_delay_never_after_its_grace_period() {
    let pod = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 30\n  containers:\n  - name: c\n    image: nginx\n"
        )
    };
    let running = |kubectl: &Kubectl, name: &str| {
        wait_for("the pod to run", DEADLINE, || {
            (kubectl.jsonpath(&["get", "pod", name], "{.status.phase}") == "Running").then_some(())
        })
    };
    let gone = |kubectl: &Kubectl, name: &str| {
        wait_for("the pod to go", Duration::from_secs(20), || {
            let get = kubectl.run(&["get", "pod", name, "--ignore-not-found", "-o", "name"]);
            (get.success && get.stdout.is_empty()).then_some(())
        })
    };

    // A 1 s delay: still terminating right after the delete, gone well within its 30 s grace.
    let server = Server::start(&["up", "--nodes", "1", "--pod-deletion-delay", "1s"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&pod("slow")).ok();
    running(&kubectl, "slow");
    let deleted = std::time::Instant::now();
    kubectl.run(&["delete", "pod", "slow", "--wait=false"]).ok();
    let terminating = kubectl.jsonpath(
        &["get", "pod", "slow"],
        "{.metadata.deletionTimestamp} {.metadata.deletionGracePeriodSeconds}",
    );
    assert!(
        terminating.ends_with(" 30"),
        "not terminating: {terminating:?}"
    );
    gone(&kubectl, "slow");
    let took = deleted.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(30),
        "gone after {took:?}"
    );
    drop(server);

    // A delay longer than the grace period: the grace period wins. Meanwhile the simulated log
    // shows the stop signal.
    let server = Server::start(&["up", "--nodes", "1", "--pod-deletion-delay", "10m"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&pod("quick")).ok();
    running(&kubectl, "quick");
    kubectl
        .run(&["delete", "pod", "quick", "--grace-period=4", "--wait=false"])
        .ok();
    let log = kubectl.run(&["logs", "quick"]).ok();
    assert!(
        log.lines().last().is_some_and(|l| l
            == "[everynode simulated] container c stopping: the pod is being deleted, grace period 4s"),
        "{log}"
    );
    gone(&kubectl, "quick");
}
