//! The tutorials' everyday commands against `everynode up`: describe, wide and watched listings,
//! labels, logs, YAML, edit, patch, and every way they delete.

use super::{DEADLINE, daemon_set, ds_counts, placement, wait_for_placement};
use crate::support::{Kubectl, Server, wait_for};

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
