//! The Deployment tutorial with the real kubectl against a real `everynode up`: create, scale, set image and roll out, undo, history, and cascading delete.

use std::time::Duration;

use crate::support::{Kubectl, Server, wait_for};

const DEADLINE: Duration = Duration::from_secs(20);

/// All pods of the app, including terminating ones: `name image phase`.
fn all_pods(kubectl: &Kubectl, app: &str) -> Vec<String> {
    let out = kubectl.jsonpath(
        &["get", "pods", "-l", &format!("app={app}")],
        r#"{range .items[*]}{.spec.containers[0].image} {.status.phase}{"\n"}{end}"#,
    );
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn wait_for_pods(kubectl: &Kubectl, app: &str, image: &str, count: usize) {
    let expected = vec![format!("{image} Running"); count];
    wait_for(&format!("{count} {image} pods Running"), DEADLINE, || {
        (all_pods(kubectl, app) == expected).then_some(())
    });
}

fn ready_column(kubectl: &Kubectl, name: &str) -> String {
    let table = kubectl.run(&["get", "deploy", name]).ok();
    table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_deployment_tutorial_create_scale_update_undo_delete() {
    let server = Server::start(&["up", "--nodes", "3"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let app = "log-collector";
    // `create deployment` sends a protobuf body (api.md TL;DR 1).
    kubectl
        .run(&[
            "create",
            "deployment",
            app,
            "--image=fluentd",
            "--replicas=3",
        ])
        .ok();
    wait_for_pods(&kubectl, app, "fluentd", 3);
    wait_for("get deploy READY 3/3", DEADLINE, || {
        (ready_column(&kubectl, app) == "3/3").then_some(())
    });
    let header = kubectl.run(&["get", "deploy", app]).ok();
    let columns: Vec<&str> = header
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(columns, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    let rs_header = kubectl.run(&["get", "rs"]).ok();
    let columns: Vec<&str> = rs_header
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(columns, ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]);

    kubectl
        .run(&["scale", "deployment", app, "--replicas=5"])
        .ok();
    wait_for_pods(&kubectl, app, "fluentd", 5);
    wait_for("get deploy READY 5/5", DEADLINE, || {
        (ready_column(&kubectl, app) == "5/5").then_some(())
    });
    kubectl.run(&["scale", "deploy", app, "--replicas=2"]).ok();
    wait_for_pods(&kubectl, app, "fluentd", 2);

    kubectl
        .run(&[
            "set",
            "image",
            &format!("deployment/{app}"),
            "fluentd=fluentd:v2",
        ])
        .ok();
    let status = kubectl
        .run(&[
            "rollout",
            "status",
            &format!("deployment/{app}"),
            "--timeout=20s",
        ])
        .ok();
    assert!(
        status.ends_with(&format!("deployment \"{app}\" successfully rolled out\n")),
        "{status}"
    );
    wait_for_pods(&kubectl, app, "fluentd:v2", 2);
    let rses = kubectl.jsonpath(
        &["get", "rs", "-l", &format!("app={app}")],
        "{.items[*].metadata.name}",
    );
    assert_eq!(rses.split_whitespace().count(), 2, "{rses}");
    let history = kubectl
        .run(&["rollout", "history", &format!("deployment/{app}")])
        .ok();
    assert!(
        history.contains("REVISION") && history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );

    kubectl
        .run(&["rollout", "undo", &format!("deployment/{app}")])
        .ok();
    kubectl
        .run(&[
            "rollout",
            "status",
            &format!("deployment/{app}"),
            "--timeout=20s",
        ])
        .ok();
    wait_for_pods(&kubectl, app, "fluentd", 2);
    let revision = kubectl.jsonpath(
        &["get", "deploy", app],
        r#"{.metadata.annotations.deployment\.kubernetes\.io/revision}"#,
    );
    assert_eq!(revision, "3");

    kubectl.run(&["delete", "deployment", app]).ok();
    wait_for("replicasets and pods gone", DEADLINE, || {
        let rs = kubectl.jsonpath(&["get", "rs"], "{.items[*].metadata.name}");
        (rs.is_empty() && all_pods(&kubectl, app).is_empty()).then_some(())
    });
}

#[test]
fn invalid_deployments_are_rejected_and_replica_sets_stand_alone() {
    let server = Server::start(&["up", "--nodes", "2"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    let mismatch = "apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: c, image: nginx}]}
";
    let err = kubectl.apply(mismatch).err();
    assert!(
        err.contains("`selector` does not match template `labels`"),
        "{err}"
    );
    let rs = "apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec: {containers: [{name: c, image: nginx}]}
";
    kubectl.apply(rs).ok();
    wait_for_pods(&kubectl, "front", "nginx", 2);
    wait_for("rs status 2 ready", DEADLINE, || {
        (kubectl.jsonpath(&["get", "rs", "front"], "{.status.readyReplicas}") == "2").then_some(())
    });
    kubectl.run(&["scale", "rs", "front", "--replicas=1"]).ok();
    wait_for_pods(&kubectl, "front", "nginx", 1);

    // Recreate: the old pods go before any new one is created.
    let recreate = "apiVersion: apps/v1
kind: Deployment
metadata: {name: batch}
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec: {containers: [{name: worker, image: 'worker:1'}]}
";
    kubectl.apply(recreate).ok();
    wait_for_pods(&kubectl, "batch", "worker:1", 2);
    kubectl
        .run(&["set", "image", "deployment/batch", "worker=worker:2"])
        .ok();
    let status = kubectl
        .run(&["rollout", "status", "deployment/batch", "--timeout=20s"])
        .ok();
    assert!(
        status.ends_with("deployment \"batch\" successfully rolled out\n"),
        "{status}"
    );
    wait_for_pods(&kubectl, "batch", "worker:2", 2);
}
