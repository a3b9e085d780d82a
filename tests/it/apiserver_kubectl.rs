//! The real kubectl against a real `everynode apiserver`: apply, get, label, annotate, taint,
//! patch, edit, watch, field selectors, delete, namespaces, explain, auth can-i and whoami.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use crate::support::{Kubectl, Server, wait_for};

const DAEMONSET: &str = "
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd
  namespace: default
  labels: {app: fluentd}
spec:
  selector:
    matchLabels: {name: fluentd}
  template:
    metadata:
      labels: {name: fluentd}
    spec:
      containers:
      - name: fluentd
        image: fluentd:v1
";

const NODE: &str = "
apiVersion: v1
kind: Node
metadata:
  name: worker-1
  labels: {kubernetes.io/hostname: worker-1}
";

#[test]
fn get_ds_prints_upstream_columns() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    assert!(
        kubectl
            .apply(DAEMONSET)
            .ok()
            .contains("daemonset.apps/fluentd created")
    );
    let table = kubectl.run(&["get", "ds"]).ok();
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE",
            "SELECTOR",
            "AGE"
        ]
    );
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("fluentd "),
        "{table}"
    );
    let wide = kubectl.run(&["get", "ds", "-o", "wide"]).ok();
    assert!(
        wide.contains("CONTAINERS") && wide.contains("fluentd:v1") && wide.contains("name=fluentd"),
        "{wide}"
    );
    // A second apply of the same manifest changes nothing.
    assert!(kubectl.apply(DAEMONSET).ok().contains("unchanged"));
}

#[test]
fn pinned_kubectl_versions_work() {
    let server = Server::apiserver();
    let newest = Kubectl::version(&server.kubeconfig(), 33);
    newest.apply(DAEMONSET).ok();
    for minor in [27, 33] {
        let kubectl = Kubectl::version(&server.kubeconfig(), minor);
        let names = kubectl.jsonpath(&["get", "ds"], "{.items[*].metadata.name}");
        assert_eq!(names, "fluentd", "kubectl 1.{minor}");
        let table = kubectl.run(&["get", "ds", "fluentd"]).ok();
        assert!(
            table.contains("NODE SELECTOR"),
            "kubectl 1.{minor}: {table}"
        );
        kubectl
            .run(&[
                "label",
                "ds",
                "fluentd",
                &format!("seen-by=1.{minor}"),
                "--overwrite",
            ])
            .ok();
        let label = kubectl.jsonpath(&["get", "ds", "fluentd"], "{.metadata.labels.seen-by}");
        assert_eq!(label, format!("1.{minor}"));
    }
}

/// `kubectl explain` reads the kinds' schemas from the OpenAPI v3 documents.
#[test]
fn explain_describes_fields_from_the_openapi_schemas() {
    let server = Server::apiserver();
    for minor in [27, 33] {
        let kubectl = Kubectl::version(&server.kubeconfig(), minor);
        let out = kubectl
            .run(&["explain", "daemonset.spec.updateStrategy"])
            .ok();
        for line in [
            "GROUP:      apps",
            "KIND:       DaemonSet",
            "FIELD: updateStrategy <DaemonSetUpdateStrategy>",
            "  rollingUpdate\t<RollingUpdateDaemonSet>",
            "  type\t<string>",
        ] {
            assert!(
                out.lines().any(|l| l == line),
                "kubectl 1.{minor}: no {line:?} in\n{out}"
            );
        }
        assert!(
            out.contains("Type of daemon set update."),
            "kubectl 1.{minor}: {out}"
        );
        let out = kubectl
            .run(&["explain", "pods.spec.containers.lifecycle.preStop"])
            .ok();
        assert!(
            out.contains("FIELD: preStop <LifecycleHandler>"),
            "kubectl 1.{minor}: {out}"
        );
        let missing = kubectl.run(&["explain", "ds.spec.nodeName"]).err();
        assert!(
            missing.contains(r#"field "nodeName" does not exist"#),
            "kubectl 1.{minor}: {missing}"
        );
    }
    // Core kinds and the other groups too.
    let kubectl = Kubectl::new(&server.kubeconfig());
    for (resource, kind) in [
        ("nodes", "KIND:       Node"),
        ("leases", "KIND:       Lease"),
        ("controllerrevisions", "KIND:       ControllerRevision"),
        ("clusterroles", "KIND:       ClusterRole"),
    ] {
        let out = kubectl.run(&["explain", resource]).ok();
        assert!(out.lines().any(|l| l == kind), "{resource}: {out}");
    }
}

/// `kubectl auth can-i` gets upstream's AlwaysAllow answers (everynode authorizes every
/// authenticated request) and `whoami` the token's user. kubectl 1.33 sends the reviews as
/// protobuf, 1.27 as JSON.
#[test]
fn auth_can_i_and_whoami_answer_as_always_allow() {
    let server = Server::apiserver();
    for minor in [27, 33] {
        let kubectl = Kubectl::version(&server.kubeconfig(), minor);
        for question in [
            &["auth", "can-i", "create", "daemonsets"][..],
            &["auth", "can-i", "delete", "nodes"],
            &["auth", "can-i", "list", "pods", "--all-namespaces"],
            &["auth", "can-i", "get", "/healthz"],
        ] {
            let answer = kubectl.run(question).ok();
            assert_eq!(answer.trim(), "yes", "kubectl 1.{minor} {question:?}");
        }
        let rules = kubectl.run(&["auth", "can-i", "--list"]).ok();
        assert!(
            rules
                .lines()
                .any(|l| l.starts_with("*.*") && l.trim_end().ends_with("[*]")),
            "kubectl 1.{minor}: {rules}"
        );
    }
    // authentication.k8s.io/v1 SelfSubjectReview went GA in 1.28; kubectl 1.27 asks only for
    // the alpha and beta versions, and we serve v1 alone.
    let kubectl = Kubectl::version(&server.kubeconfig(), 33);
    let me = kubectl.run(&["auth", "whoami"]).ok();
    let user: Vec<&str> = me
        .lines()
        .find(|l| l.starts_with("Username"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(user, ["Username", "everynode"], "{me}");
    assert!(me.contains("system:masters"), "{me}");
    // A review must ask about a resource or a path, not both (upstream validation).
    let kubectl = Kubectl::new(&server.kubeconfig());
    let both = r#"{"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"},
                 "nonResourceAttributes": {"verb": "get", "path": "/healthz"}}}"#;
    let rejected = kubectl
        .run_with_input(&["create", "-f", "-", "-o", "json"], both)
        .err();
    assert!(
        rejected.contains("spec.nonResourceAttributes: Invalid value")
            && rejected.contains("cannot be specified in combination with resourceAttributes"),
        "{rejected}"
    );
}

#[test]
fn label_annotate_taint_and_patch_a_node() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(NODE).ok();
    kubectl
        .run(&["label", "node", "worker-1", "disktype=ssd"])
        .ok();
    kubectl
        .run(&["annotate", "node", "worker-1", "team=infra"])
        .ok();
    kubectl
        .run(&["taint", "node", "worker-1", "dedicated=infra:NoSchedule"])
        .ok();
    assert_eq!(
        kubectl.jsonpath(&["get", "node", "worker-1"], "{.metadata.labels.disktype}"),
        "ssd"
    );
    assert_eq!(
        kubectl.jsonpath(&["get", "node", "worker-1"], "{.metadata.annotations.team}"),
        "infra"
    );
    let taints = kubectl.jsonpath(&["get", "node", "worker-1"], "{.spec.taints[*].key}");
    assert!(taints.split(' ').any(|k| k == "dedicated"), "{taints}");

    kubectl
        .run(&[
            "patch",
            "node",
            "worker-1",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"zone":"a"}}}"#,
        ])
        .ok();
    kubectl
        .run(&[
            "patch",
            "node",
            "worker-1",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/metadata/labels/rack","value":"r1"}]"#,
        ])
        .ok();
    kubectl
        .run(&[
            "patch",
            "node",
            "worker-1",
            "-p",
            r#"{"spec":{"unschedulable":true}}"#,
        ])
        .ok();
    let labels = kubectl.jsonpath(
        &["get", "node", "worker-1"],
        "{.metadata.labels.zone}/{.metadata.labels.rack}",
    );
    assert_eq!(labels, "a/r1");
    assert_eq!(
        kubectl.jsonpath(&["get", "node", "worker-1"], "{.spec.unschedulable}"),
        "true"
    );

    kubectl
        .run(&["label", "node", "worker-1", "disktype-"])
        .ok();
    assert_eq!(
        kubectl.jsonpath(&["get", "node", "worker-1"], "{.metadata.labels.disktype}"),
        ""
    );
    kubectl
        .run(&["taint", "node", "worker-1", "dedicated-"])
        .ok();
    let taints = kubectl.jsonpath(&["get", "node", "worker-1"], "{.spec.taints[*].key}");
    assert!(!taints.contains("dedicated"), "{taints}");
}

#[test]
fn edit_with_a_scripted_editor() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(DAEMONSET).ok();
    let editor = "sed -i s/fluentd:v1/fluentd:v2/";
    kubectl
        .run_with_env(&["edit", "ds", "fluentd"], &[("KUBE_EDITOR", editor)])
        .ok();
    let image = kubectl.jsonpath(
        &["get", "ds", "fluentd"],
        "{.spec.template.spec.containers[0].image}",
    );
    assert_eq!(image, "fluentd:v2");
}

#[test]
fn get_watch_streams_a_change() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(NODE).ok();
    let mut watch = kubectl.spawn(&[
        "get",
        "nodes",
        "-w",
        "-o",
        "jsonpath={.metadata.labels.color}{\"\\n\"}",
    ]);
    let stdout = watch.stdout.take().expect("watch stdout");
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // The list prints the node once (no color yet); then the change must stream in.
    let first = seen
        .recv_timeout(Duration::from_secs(20))
        .expect("the initial list");
    assert_eq!(first, "");
    kubectl
        .run(&["label", "node", "worker-1", "color=blue"])
        .ok();
    let changed = seen
        .recv_timeout(Duration::from_secs(20))
        .expect("the watched change");
    assert_eq!(changed, "blue");
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn field_selectors_filter_and_reject_unknown_fields() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    for (name, node) in [("a", "worker-1"), ("b", "worker-2")] {
        let pod = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\"}},\
             \"spec\":{{\"nodeName\":\"{node}\",\"containers\":[{{\"name\":\"c\",\"image\":\"busybox\"}}]}}}}"
        );
        kubectl.run_with_input(&["create", "-f", "-"], &pod).ok();
    }
    let on_one = kubectl.jsonpath(
        &["get", "pods", "--field-selector", "spec.nodeName=worker-1"],
        "{.items[*].metadata.name}",
    );
    assert_eq!(on_one, "a");
    let not_one = kubectl.jsonpath(
        &["get", "pods", "--field-selector", "spec.nodeName!=worker-1"],
        "{.items[*].metadata.name}",
    );
    assert_eq!(not_one, "b");
    let error = kubectl
        .run(&["get", "pods", "--field-selector", "spec.bogus=x"])
        .err();
    assert!(
        error.contains("field label not supported: spec.bogus"),
        "{error}"
    );
}

#[test]
fn delete_and_orphan_delete_return_without_hanging() {
    // `up` without the DaemonSet controller: the garbage collector that removes the `orphan`
    // finalizer runs, and nothing recreates what the test deletes.
    let server = Server::start(&["up", "--nodes", "1", "--no-controller"]);
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.apply(DAEMONSET).ok();
    let out = kubectl
        .run(&["delete", "ds", "fluentd", "--timeout=30s"])
        .ok();
    assert!(out.contains("daemonset.apps \"fluentd\" deleted"), "{out}");
    let error = kubectl.run(&["get", "ds", "fluentd"]).err();
    assert!(error.contains("NotFound"), "{error}");

    kubectl.apply(DAEMONSET).ok();
    let out = kubectl
        .run(&[
            "delete",
            "ds",
            "fluentd",
            "--cascade=orphan",
            "--timeout=30s",
        ])
        .ok();
    assert!(out.contains("daemonset.apps \"fluentd\" deleted"), "{out}");
    let error = kubectl.run(&["get", "ds", "fluentd"]).err();
    assert!(error.contains("NotFound"), "{error}");
}

/// `kubectl delete pod --cascade=orphan` on a pod bound to a node: the update that starts the
/// graceful deletion also adds the `orphan` finalizer (upstream sets both in one update). The
/// kubelet's final delete (grace 0) leaves the pod to the finalizer, and removing it (the
/// garbage collector's job; here by hand, as the bare API server runs no collector and no
/// kubelet) lets the pod go.
#[test]
fn orphan_delete_of_a_scheduled_pod_keeps_the_orphan_finalizer() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let pod = "
apiVersion: v1
kind: Pod
metadata:
  name: keeper
  namespace: default
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 600
  containers:
  - name: app
    image: busybox
";
    kubectl.apply(pod).ok();
    kubectl
        .run(&[
            "delete",
            "pod",
            "keeper",
            "--cascade=orphan",
            "--wait=false",
        ])
        .ok();
    let state = kubectl.jsonpath(
        &["get", "pod", "keeper"],
        "{.metadata.finalizers[*]} {.metadata.deletionGracePeriodSeconds}",
    );
    assert_eq!(state, "orphan 600");
    // What the kubelet sends once the containers stopped: grace 0, no propagation policy.
    // (`kubectl delete --force` would send Background, which drops the finalizer.)
    kubectl
        .run(&[
            "delete",
            "--raw",
            "/api/v1/namespaces/default/pods/keeper?gracePeriodSeconds=0",
        ])
        .ok();
    let state = kubectl.jsonpath(
        &["get", "pod", "keeper"],
        "{.metadata.finalizers[*]} {.metadata.deletionGracePeriodSeconds}",
    );
    assert_eq!(state, "orphan 0");
    kubectl
        .run(&[
            "patch",
            "pod",
            "keeper",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ])
        .ok();
    let error = kubectl.run(&["get", "pod", "keeper"]).err();
    assert!(error.contains("NotFound"), "{error}");
}

#[test]
fn create_and_delete_a_namespace() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    // kubectl sends this one as protobuf.
    assert!(
        kubectl
            .run(&["create", "namespace", "demo"])
            .ok()
            .contains("namespace/demo created")
    );
    let sa = wait_for(
        "the default ServiceAccount",
        Duration::from_secs(20),
        || {
            let run = kubectl.run(&[
                "get",
                "serviceaccount",
                "default",
                "-n",
                "demo",
                "-o",
                "name",
            ]);
            run.success.then_some(run.stdout)
        },
    );
    assert_eq!(sa.trim(), "serviceaccount/default");
    kubectl
        .apply(&DAEMONSET.replace("namespace: default", "namespace: demo"))
        .ok();
    kubectl
        .run(&["delete", "namespace", "demo", "--timeout=60s"])
        .ok();
    let error = kubectl.run(&["get", "namespace", "demo"]).err();
    assert!(error.contains("NotFound"), "{error}");
}

/// kubectl 1.32 sends the bodies of `create serviceaccount` and `create priorityclass` as
/// protobuf (typed client-go clients default to it).
#[test]
fn create_serviceaccount_and_priorityclass_send_protobuf() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let run = kubectl.run(&["create", "serviceaccount", "builder", "-v=8"]);
    assert!(
        run.stderr.contains("application/vnd.kubernetes.protobuf"),
        "kubectl did not send protobuf: {}",
        run.stderr
    );
    assert!(
        run.ok().contains("serviceaccount/builder created"),
        "create sa"
    );
    let name = kubectl.jsonpath(&["get", "sa", "builder"], "{.metadata.name}");
    assert_eq!(name, "builder");

    let out = kubectl
        .run(&["create", "priorityclass", "batch-low", "--value=1000"])
        .ok();
    assert!(
        out.contains("priorityclass.scheduling.k8s.io/batch-low created"),
        "{out}"
    );
    let fields = kubectl.jsonpath(
        &["get", "priorityclass", "batch-low"],
        "{.value} {.preemptionPolicy}",
    );
    assert_eq!(fields.trim(), "1000 PreemptLowerPriority");
    // A second create of the same name is refused as upstream does.
    let error = kubectl
        .run(&["create", "priorityclass", "batch-low", "--value=5"])
        .err();
    assert!(error.contains("already exists"), "{error}");
}

/// A strategic merge patch of `spec.template.spec.containers` merges by container name: one
/// container's image changes, the other container stays (upstream `patchMergeKey: name`).
#[test]
fn strategic_merge_patch_merges_containers_by_name() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let two_containers = DAEMONSET.replace(
        "      - name: fluentd\n        image: fluentd:v1\n",
        "      - name: fluentd\n        image: fluentd:v1\n      - name: sidecar\n        image: busybox:1.36\n",
    );
    kubectl.apply(&two_containers).ok();
    kubectl
        .run(&[
            "patch",
            "ds",
            "fluentd",
            "--type=strategic",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"fluentd","image":"fluentd:v2"}]}}}}"#,
        ])
        .ok();
    let containers = kubectl.jsonpath(
        &["get", "ds", "fluentd"],
        "{range .spec.template.spec.containers[*]}{.name}={.image} {end}",
    );
    assert_eq!(containers.trim(), "fluentd=fluentd:v2 sidecar=busybox:1.36");
    // The template changed, so the generation moved on (spec §3).
    let generation = kubectl.jsonpath(&["get", "ds", "fluentd"], "{.metadata.generation}");
    assert_eq!(generation, "2");
}

/// Aggregated discovery is negotiated by the Accept header, raw: kubectl 1.32 asks for v2
/// first, 1.27 only for v2beta1, and a client that asks for neither gets legacy discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_discovery_follows_the_accept_header() {
    use http_body_util::BodyExt;
    let server = Server::apiserver();
    let client = server.client().await;
    let aggregated = |version: &str| {
        format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
    };
    let kubectl_132 = format!(
        "{},{},application/json",
        aggregated("v2"),
        aggregated("v2beta1")
    );
    let kubectl_127 = format!("{},application/json", aggregated("v2beta1"));
    let cases = [
        (
            "/api",
            kubectl_132.clone(),
            "apidiscovery.k8s.io/v2",
            "APIGroupDiscoveryList",
        ),
        (
            "/apis",
            kubectl_132,
            "apidiscovery.k8s.io/v2",
            "APIGroupDiscoveryList",
        ),
        (
            "/api",
            kubectl_127.clone(),
            "apidiscovery.k8s.io/v2beta1",
            "APIGroupDiscoveryList",
        ),
        (
            "/apis",
            kubectl_127,
            "apidiscovery.k8s.io/v2beta1",
            "APIGroupDiscoveryList",
        ),
        (
            "/api",
            "application/json, */*".to_owned(),
            "",
            "APIVersions",
        ),
        (
            "/apis",
            "application/json, */*".to_owned(),
            "v1",
            "APIGroupList",
        ),
    ];
    for (path, accept, api_version, kind) in cases {
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, &accept)
            .body(Vec::new())
            .expect("request");
        let response = client
            .send(request.map(Into::into))
            .await
            .expect("response");
        assert_eq!(response.status(), 200, "{path} {accept}");
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(body["kind"], kind, "{path} {accept}: {body}");
        if kind == "APIGroupDiscoveryList" {
            let version = api_version.trim_start_matches("apidiscovery.k8s.io/");
            assert_eq!(body["apiVersion"], api_version, "{path} {accept}");
            assert!(
                content_type.contains(&format!("v={version};")),
                "{path} {accept}: {content_type}"
            );
            // The groups carry their resources (kubectl needs both endpoints aggregated).
            let resources = &body["items"][0]["versions"][0]["resources"];
            assert!(
                resources.as_array().is_some_and(|r| !r.is_empty()),
                "{body}"
            );
        } else {
            assert!(!content_type.contains("apidiscovery"), "{content_type}");
            if !api_version.is_empty() {
                assert_eq!(body["apiVersion"], api_version);
            }
        }
    }
}

#[test]
fn requests_without_the_token_get_401() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let error = kubectl
        .run(&[
            "--token=not-the-token",
            "get",
            "--raw",
            "/api/v1/namespaces",
        ])
        .err();
    assert!(error.contains("Unauthorized"), "{error}");
    // The public endpoints stay readable, as upstream's system:public-info-viewer allows.
    let version = kubectl
        .run(&["--token=not-the-token", "get", "--raw", "/version"])
        .ok();
    assert!(version.contains("\"minor\":\"32\""), "{version}");
}
