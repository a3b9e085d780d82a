//! The tutorials' stories, told with the real kubectl against a real `everynode up`: placement,
//! nodes joining and leaving, selectors, taints, cordon and drain, heartbeats, orphaning and
//! adoption, and scheduling failures.

use std::time::Duration;

use crate::support::{Kubectl, Server, wait_for};

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

/// The lines `child` prints on stdout, read on a thread.
fn stdout_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (send, receive) = std::sync::mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
    }
    receive
}

/// The first line from `lines` that satisfies `wanted`, within the deadline.
fn next_line(
    lines: &std::sync::mpsc::Receiver<String>,
    wanted: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = std::time::Instant::now() + DEADLINE;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if wanted(&line) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// The value after `label:` on the first line of `text` that starts with it.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .map(str::trim)
        .unwrap_or_default()
}

#[test]
fn the_tutorials_inspection_commands_print_what_they_promise() {
    let server = Server::start(&["up", "--nodes", "3", "--control-plane"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(&daemon_set("node-agent", "")).ok();
    wait_for_placement(&kubectl, "node-agent", &["node-1", "node-2", "node-3"]);
    wait_for("get ds 3/3/3/3/3", DEADLINE, || {
        (ds_counts(&kubectl, "node-agent") == "3/3/3/3/3").then_some(())
    });

    let described = kubectl.run(&["describe", "daemonset", "node-agent"]).ok();
    assert_eq!(
        field(&described, "Desired Number of Nodes Scheduled:"),
        "3",
        "{described}"
    );
    assert_eq!(
        field(&described, "Current Number of Nodes Scheduled:"),
        "3",
        "{described}"
    );
    assert_eq!(
        field(&described, "Pods Status:"),
        "3 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        "{described}"
    );
    let events = described.split("Events:").nth(1).unwrap_or_default();
    assert_eq!(events.matches("SuccessfulCreate").count(), 3, "{described}");

    let nodes = kubectl.run(&["describe", "nodes"]).ok();
    let taints: Vec<&str> = nodes
        .lines()
        .filter_map(|l| l.strip_prefix("Taints:"))
        .map(str::trim)
        .collect();
    assert_eq!(
        taints,
        [
            "node-role.kubernetes.io/control-plane:NoSchedule",
            "<none>",
            "<none>",
            "<none>"
        ],
        "{nodes}"
    );

    let wide = kubectl.run(&["get", "pods", "-o", "wide"]).ok();
    let header: Vec<&str> = wide
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let node_column = header
        .iter()
        .position(|h| *h == "NODE")
        .expect("a NODE column");
    let mut on: Vec<&str> = wide
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(node_column))
        .collect();
    on.sort();
    assert_eq!(on, ["node-1", "node-2", "node-3"], "{wide}");

    let labels = kubectl.run(&["get", "nodes", "--show-labels"]).ok();
    assert!(
        labels.lines().next().unwrap_or_default().contains("LABELS"),
        "{labels}"
    );
    let node_2 = labels
        .lines()
        .find(|l| l.starts_with("node-2 "))
        .unwrap_or_default();
    assert!(
        node_2.contains("kubernetes.io/hostname=node-2")
            && node_2.contains("kubernetes.io/os=linux"),
        "{labels}"
    );
    kubectl
        .run(&["label", "nodes", "node-2", "disktype=ssd"])
        .ok();
    let ssd = kubectl.run(&["get", "nodes", "-l", "disktype=ssd"]).ok();
    let names: Vec<&str> = ssd
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["node-2"], "{ssd}");

    let pod = kubectl.jsonpath(
        &[
            "get",
            "pods",
            "-l",
            "app=node-agent",
            "--field-selector",
            "spec.nodeName=node-1",
        ],
        "{.items[0].metadata.name}",
    );
    let log = kubectl.run(&["logs", &pod]).ok();
    assert!(
        log.contains("simulated") && log.contains("started on node node-1"),
        "{log}"
    );
    let tail = kubectl
        .run(&["logs", "-l", "app=node-agent", "--tail=1"])
        .ok();
    assert_eq!(tail.lines().count(), 3, "one line per pod: {tail}");

    let yaml = kubectl
        .run(&["get", "daemonset", "node-agent", "-o", "yaml"])
        .ok();
    for wanted in [
        "kind: DaemonSet",
        "updateStrategy:",
        "type: RollingUpdate",
        "desiredNumberScheduled: 3",
    ] {
        assert!(yaml.contains(wanted), "{wanted} missing from\n{yaml}");
    }

    // `get pods -w` streams a pod created after it started.
    let mut watch = kubectl.spawn(&["get", "pods", "-w"]);
    let lines = stdout_lines(&mut watch);
    next_line(&lines, |l| l.starts_with("node-agent-")).expect("the initial list");
    kubectl.apply("apiVersion: v1\nkind: Pod\nmetadata:\n  name: watched\nspec:\n  containers:\n  - name: c\n    image: nginx\n").ok();
    let streamed = next_line(&lines, |l| {
        l.starts_with("watched ") && l.contains("Running")
    });
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        streamed.is_some(),
        "get pods -w never showed the new pod Running"
    );

    // A namespaced manifest.
    kubectl.run(&["create", "namespace", "monitoring"]).ok();
    let collector = daemon_set("log-collector", "").replace(
        "  name: log-collector\n",
        "  name: log-collector\n  namespace: monitoring\n",
    );
    kubectl.apply(&collector).ok();
    wait_for("log-collector 3/3/3/3/3", DEADLINE, || {
        let counts = kubectl.jsonpath(
            &["get", "ds", "log-collector", "-n", "monitoring"],
            "{.status.desiredNumberScheduled}/{.status.numberReady}",
        );
        (counts == "3/3").then_some(())
    });
    let listed = kubectl.run(&["get", "ds", "-n", "monitoring"]).ok();
    assert!(
        listed
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("log-collector "),
        "{listed}"
    );
    let wide = kubectl
        .run(&["get", "pods", "-n", "monitoring", "-o", "wide"])
        .ok();
    assert_eq!(
        wide.lines()
            .skip(1)
            .filter(|l| l.contains(" node-"))
            .count(),
        3,
        "{wide}"
    );

    // `kubectl edit` with a scripted editor.
    let edited = kubectl
        .run_with_env(
            &["edit", "daemonset", "node-agent"],
            &[("KUBE_EDITOR", "sed -i s/busybox:1.36/busybox:1.37/")],
        )
        .ok();
    assert!(
        edited.contains("daemonset.apps/node-agent edited"),
        "{edited}"
    );
    wait_for("the edited image to roll out", DEADLINE, || {
        let images = kubectl.jsonpath(
            &["get", "pods", "-l", "app=node-agent"],
            "{.items[*].spec.containers[0].image}",
        );
        (images == "busybox:1.37 busybox:1.37 busybox:1.37").then_some(())
    });
}

#[test]
fn the_tutorials_deletion_commands_do_what_they_say() {
    let server = Server::start(&["up", "--nodes", "2"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let uids = |app: &str| {
        let mut uids: Vec<String> = kubectl
            .jsonpath(
                &["get", "pods", "-l", &format!("app={app}")],
                "{.items[*].metadata.uid}",
            )
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        uids.sort();
        uids
    };
    for name in ["replaced", "forced", "orphaned", "all-1", "all-2"] {
        kubectl.apply(&daemon_set(name, "")).ok();
    }
    for name in ["replaced", "forced", "orphaned", "all-1", "all-2"] {
        wait_for_placement(&kubectl, name, &["node-1", "node-2"]);
    }

    // Deleting daemon pods by label: the DaemonSet replaces them.
    let before = uids("replaced");
    let out = kubectl.run(&["delete", "pod", "-l", "app=replaced"]).ok();
    assert_eq!(out.matches("deleted").count(), 2, "{out}");
    wait_for("the deleted daemon pods to be replaced", DEADLINE, || {
        let now = uids("replaced");
        (now.len() == 2
            && now.iter().all(|u| !before.contains(u))
            && placement(&kubectl, "replaced") == ["node-1 Running", "node-2 Running"])
        .then_some(())
    });

    // Clearing finalizers with a merge patch, then a forced delete.
    let out = kubectl
        .run(&[
            "patch",
            "daemonset",
            "forced",
            "-p",
            r#"{"metadata":{"finalizers":[]}}"#,
            "--type=merge",
        ])
        .ok();
    assert!(out.contains("daemonset.apps/forced patched"), "{out}");
    let forced = kubectl.run(&[
        "delete",
        "daemonset",
        "forced",
        "--force",
        "--grace-period=0",
    ]);
    assert!(forced.success, "{forced:?}");
    assert!(
        forced
            .stdout
            .contains("daemonset.apps \"forced\" force deleted"),
        "{forced:?}"
    );
    assert!(
        forced.stderr.contains("Immediate deletion does not wait"),
        "{forced:?}"
    );
    wait_for("the forced DaemonSet's pods to go", DEADLINE, || {
        uids("forced").is_empty().then_some(())
    });

    // The deprecated `--cascade=false` orphans, like `--cascade=orphan`.
    let before = uids("orphaned");
    let out = kubectl
        .run(&["delete", "ds", "orphaned", "--cascade=false"])
        .ok();
    assert!(out.contains("daemonset.apps \"orphaned\" deleted"), "{out}");
    wait_for("the orphaned DaemonSet to go", DEADLINE, || {
        (!kubectl.run(&["get", "ds", "orphaned"]).success).then_some(())
    });
    assert_eq!(uids("orphaned"), before, "orphaning deleted pods");

    // `delete daemonset --all` removes the rest, and their pods with them.
    let out = kubectl.run(&["delete", "daemonset", "--all"]).ok();
    assert!(
        out.contains("\"all-1\" deleted") && out.contains("\"all-2\" deleted"),
        "{out}"
    );
    wait_for("every DaemonSet's pods to go", DEADLINE, || {
        (uids("all-1").is_empty() && uids("all-2").is_empty() && uids("replaced").is_empty())
            .then_some(())
    });
    let left = kubectl.run(&["get", "ds"]);
    assert!(left.stderr.contains("No resources found"), "{left:?}");
    assert_eq!(uids("orphaned"), before, "--all touched the orphans");
}
