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

/// The tutorials live beside the repository (`../shared/seeds`); a checkout elsewhere finds
/// them through `EVERYNODE_SEEDS_DIR` or the workplace's `/work/shared/seeds`.
fn seeds_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("EVERYNODE_SEEDS_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds")),
        Some(PathBuf::from("/work/shared/seeds")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "the tutorial seeds are not beside the repository (../shared/seeds) nor at \
                 /work/shared/seeds: set EVERYNODE_SEEDS_DIR to their folder"
            )
        })
}

/// Every fenced code block of the seeds whose YAML documents include a complete apps/v1
/// DaemonSet (name, template with containers).
fn daemon_set_manifests() -> Vec<Manifest> {
    let mut found = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(seeds_dir())
        .expect("the seeds folder is readable")
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
            // Blocks nested in an outline are indented, tabs included (YAML forbids tabs as
            // indentation, so strip the block's common indentation first).
            let body = dedent(body);
            for document in body.split("\n---") {
                let source = format!("{} block {index}", file.display());
                let (value, document) = match leading_yaml(document) {
                    Ok(parsed) => parsed,
                    // A DaemonSet we cannot read would silently shrink the test: fail instead.
                    Err(error) if mentions_daemon_set(document) => {
                        panic!("{source}: a DaemonSet manifest that does not parse: {error}")
                    }
                    Err(_) => continue,
                };
                let document = document.as_str();
                let complete = value["kind"] == "DaemonSet"
                    && value["apiVersion"] == "apps/v1"
                    && value["metadata"]["name"].is_string()
                    && value["spec"]["template"]["spec"]["containers"].is_array();
                if complete {
                    found.push(Manifest {
                        source,
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

/// Removes the whitespace prefix (spaces and tabs) every non-blank line shares.
fn dedent(block: &str) -> String {
    let indent = |line: &str| line.len() - line.trim_start_matches([' ', '\t']).len();
    let lines: Vec<&str> = block.lines().collect();
    let Some(first) = lines.iter().find(|l| !l.trim().is_empty()) else {
        return block.to_owned();
    };
    let mut prefix = &first[..indent(first)];
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let shared = prefix
            .bytes()
            .zip(line.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        prefix = &prefix[..shared];
    }
    lines
        .iter()
        .map(|line| line.strip_prefix(prefix).unwrap_or(line.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The YAML object at the start of `document`: the whole of it, or, for a manifest followed by
/// prose in the same block, its longest prefix of whole lines that parses as an object.
fn leading_yaml(document: &str) -> Result<(serde_json::Value, String), serde_yaml::Error> {
    let whole = serde_yaml::from_str::<serde_json::Value>(document);
    let error = match whole {
        Ok(value) => return Ok((value, document.to_owned())),
        Err(error) => error,
    };
    let lines: Vec<&str> = document.lines().collect();
    for end in (1..lines.len()).rev() {
        let prefix = lines[..end].join("\n");
        if let Ok(value) = serde_yaml::from_str::<serde_json::Value>(&prefix)
            && value.is_object()
        {
            return Ok((value, prefix));
        }
    }
    Err(error)
}

/// Whether a text block declares a DaemonSet at the top level.
fn mentions_daemon_set(document: &str) -> bool {
    document
        .lines()
        .any(|line| line.trim_start_matches(['\t', ' ']) == "kind: DaemonSet")
}

#[test]
fn dedent_strips_tab_indentation_shared_by_the_block() {
    assert_eq!(
        dedent("\t  a:\n\t    b: 1\n\n\t  c: 2"),
        "a:\n  b: 1\n\nc: 2"
    );
    assert_eq!(dedent("a:\n  b: 1"), "a:\n  b: 1");
}

#[test]
fn the_tab_indented_fluentd_elasticsearch_seed_is_found() {
    let manifests = daemon_set_manifests();
    let fluentd = manifests
        .iter()
        .find(|m| m.yaml.contains("name: fluentd-elasticsearch") && m.source.contains("003_"));
    let fluentd = fluentd.expect("the fluentd-elasticsearch DaemonSet of seed 003");
    assert!(fluentd.valid);
    assert_eq!(fluentd.namespace.as_deref(), Some("kube-system"));
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

    // `get -o yaml` shows the defaults upstream fills in (spec §3, SetDefaults_DaemonSet and
    // the pod template's), for a seed that set none of them.
    let yaml = kubectl
        .run(&[
            "get",
            "ds",
            "fluentd-elasticsearch",
            "-n",
            "kube-system",
            "-o",
            "yaml",
        ])
        .ok();
    let ds: serde_json::Value = serde_yaml::from_str(&yaml).expect("kubectl prints YAML");
    let spec = &ds["spec"];
    assert_eq!(spec["updateStrategy"]["type"], "RollingUpdate", "{yaml}");
    assert_eq!(spec["updateStrategy"]["rollingUpdate"]["maxUnavailable"], 1);
    assert_eq!(spec["updateStrategy"]["rollingUpdate"]["maxSurge"], 0);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["schedulerName"], "default-scheduler");
    assert_eq!(pod["securityContext"], serde_json::json!({}));
    let container = &pod["containers"][0];
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(container["terminationMessagePolicy"], "File");
    assert_eq!(pod["volumes"][0]["hostPath"]["type"], "");
    assert_eq!(
        ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"],
        "1"
    );
    assert_eq!(ds["metadata"]["generation"], 1);
    assert_eq!(ds["status"]["numberMisscheduled"], 0);
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
