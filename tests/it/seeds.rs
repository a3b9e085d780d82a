//! The DaemonSet manifests of the tutorials in `../shared/seeds/`, applied with the real kubectl:
//! complete ones are accepted (their namespaces created first), snippets without a selector or
//! template labels rejected with upstream's message.

use std::path::PathBuf;

use crate::support::{Kubectl, Server};

/// One DaemonSet manifest found in a tutorial.
struct Manifest {
    source: String,
    yaml: String,
    namespace: Option<String>,
    /// A selector and template labels: what upstream needs to accept it.
    valid: bool,
}

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds")
}

/// Every fenced code block of the seeds whose YAML documents include a complete apps/v1
/// DaemonSet (name, template with containers).
fn daemon_set_manifests() -> Vec<Manifest> {
    let mut found = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(seeds_dir())
        .expect("the seeds beside the repository")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("seed text");
        for (index, block) in text.split("```").enumerate().filter(|(i, _)| i % 2 == 1) {
            let body = block
                .split_once('\n')
                .map(|(_, rest)| rest)
                .unwrap_or_default();
            for document in body.split("\n---") {
                let Ok(value) = serde_yaml::from_str::<serde_json::Value>(document) else {
                    continue;
                };
                let complete = value["kind"] == "DaemonSet"
                    && value["apiVersion"] == "apps/v1"
                    && value["metadata"]["name"].is_string()
                    && value["spec"]["template"]["spec"]["containers"].is_array();
                if complete {
                    found.push(Manifest {
                        source: format!("{} block {index}", file.display()),
                        yaml: document.to_owned(),
                        namespace: value["metadata"]["namespace"].as_str().map(str::to_owned),
                        valid: value["spec"]["selector"].is_object()
                            && value["spec"]["template"]["metadata"]["labels"].is_object(),
                    });
                }
            }
        }
    }
    found
}

#[test]
fn every_complete_seed_daemon_set_applies_and_snippets_are_rejected() {
    let manifests = daemon_set_manifests();
    assert!(
        manifests.len() >= 10,
        "found only {} manifests",
        manifests.len()
    );
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let mut accepted = 0;
    for manifest in &manifests {
        if let Some(namespace) = &manifest.namespace {
            let _ = kubectl.run(&["create", "namespace", namespace]);
        }
        let run = kubectl.apply(&manifest.yaml);
        if manifest.valid {
            assert!(run.success, "{}: {}", manifest.source, run.stderr);
            accepted += 1;
        } else {
            assert!(
                !run.success,
                "{} applied without a selector or labels",
                manifest.source
            );
            assert!(
                run.stderr
                    .contains("`selector` does not match template `labels`"),
                "{}: {}",
                manifest.source,
                run.stderr
            );
        }
    }
    assert!(accepted >= 10, "only {accepted} accepted");
    let listed = kubectl.jsonpath(&["get", "ds", "-A"], "{.items[*].metadata.name}");
    assert!(listed.split(' ').count() >= 5, "{listed}");
}

#[test]
fn invalid_daemon_sets_get_upstream_messages() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let base = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: bad\nspec:\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      restartPolicy: RESTART\n      containers:\n      - name: c\n        image: busybox\n";
    let cases = [
        (
            base.replace("RESTART", "OnFailure"),
            "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
        ),
        (
            base.replace("RESTART", "Always")
                .replace("labels: {app: a}", "labels: {app: b}"),
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`",
        ),
        (
            base.replace("RESTART", "Always").replace(
                "  selector:\n",
                "  updateStrategy: {type: Sometimes}\n  selector:\n",
            ),
            // Upstream reports the whole strategy struct as the value.
            "spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:\"Sometimes\", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: \"RollingUpdate\", \"OnDelete\"",
        ),
    ];
    for (manifest, message) in cases {
        let error = kubectl
            .run_with_input(&["create", "-f", "-"], &manifest)
            .err();
        assert!(
            error.contains("The DaemonSet \"bad\" is invalid"),
            "{error}"
        );
        assert!(error.contains(message), "expected {message:?} in {error}");
    }
    // The defaults upstream fills in show in the stored object.
    kubectl
        .run_with_input(&["create", "-f", "-"], &base.replace("RESTART", "Always"))
        .ok();
    let strategy = kubectl.jsonpath(&["get", "ds", "bad"], "{.spec.updateStrategy.type}/{.spec.updateStrategy.rollingUpdate.maxUnavailable}/{.spec.revisionHistoryLimit}");
    assert_eq!(strategy, "RollingUpdate/1/10");
}
