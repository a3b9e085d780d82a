//! `everynode controller` as a real cluster runs it: two processes under Lease leader election,
//! its /metrics and /healthz endpoint, its flag errors, and the `deploy/` manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::support::{Kubectl, Server};

/// How long any single condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
/// The short election timing of the test (upstream defaults are 15s/10s/2s).
const LEASE: Duration = Duration::from_secs(3);
const LEASE_ARGS: [&str; 6] = [
    "--leader-elect-lease-duration",
    "3s",
    "--leader-elect-renew-deadline",
    "2s",
    "--leader-elect-retry-period",
    "500ms",
];
const LEASE_NAME: &str = "everynode-daemonset-controller";

/// A running `everynode controller`; SIGKILLed when dropped.
struct ControllerProcess {
    child: Child,
    metrics: SocketAddr,
    identity: Option<String>,
}

impl ControllerProcess {
    /// Starts `everynode controller --kubeconfig K --metrics-bind-address 127.0.0.1:0 <args>` and
    /// reads the address (and identity) it prints.
    fn start(kubeconfig: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_everynode"))
            .arg("controller")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--metrics-bind-address", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start everynode controller");
        let stdout = child.stdout.take().expect("controller stdout");
        let (lines, received) = mpsc::channel();
        // Drains stdout for the life of the process so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let electing = args.contains(&"--leader-elect");
        let deadline = Instant::now() + DEADLINE;
        let (mut metrics, mut identity) = (None, None);
        while metrics.is_none() || (electing && identity.is_none()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = received
                .recv_timeout(left)
                .expect("the controller to print its metrics address and identity");
            if let Some(address) = line.strip_prefix("serving /metrics and /healthz on http://") {
                metrics = Some(address.parse().expect("a socket address"));
            }
            if let Some(id) = line.strip_prefix("leader election identity: ") {
                identity = Some(id.to_owned());
            }
        }
        Self {
            child,
            metrics: metrics.expect("metrics address"),
            identity,
        }
    }

    fn identity(&self) -> &str {
        self.identity.as_deref().expect("an elected controller")
    }

    /// The value of one unlabelled metric, if the endpoint answers and has it.
    fn metric(&self, name: &str) -> Option<f64> {
        let (status, body) = http_get(self.metrics, "/metrics")?;
        if status != 200 {
            return None;
        }
        body.lines()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .find_map(|v| v.trim().parse().ok())
    }

    /// Sends a signal (`-TERM`, `-STOP`, `-CONT`) with kill(1), so the tests need no libc.
    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal} {pid}");
    }

    /// SIGTERM, then waits (with a deadline) for the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        crate::support::wait_for("the controller to exit", DEADLINE, || {
            self.child.try_wait().ok().flatten()
        })
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A bare HTTP/1.1 GET: the status code and body, or `None` if the endpoint does not answer.
fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Polls an async check until it yields, failing the test after `timeout` with `what`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    let lease = leases.get_opt(LEASE_NAME).await.ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

/// The node a daemon pod is bound or pinned to (nodeName, else its `metadata.name` matchFields).
fn pod_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(node) = &spec.node_name {
        return Some(node.clone());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == "metadata.name")
        .and_then(|r| r.values.as_ref()?.first().cloned())
}

/// Daemon pods per node, asserting the invariant of every sample: never two on one node.
async fn sample_pods(pods: &Api<Pod>) -> BTreeMap<String, usize> {
    let list = pods
        .list(&ListParams::default().labels("app=elected"))
        .await
        .expect("list daemon pods");
    let mut per_node = BTreeMap::new();
    for pod in &list.items {
        let node = pod_node(pod).expect("a daemon pod names its node");
        *per_node.entry(node).or_insert(0) += 1;
    }
    for (node, count) in &per_node {
        assert!(*count <= 1, "{count} daemon pods on {node}: {per_node:?}");
    }
    per_node
}

const DAEMON_SET: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: elected, namespace: default}
spec:
  selector: {matchLabels: {app: elected}}
  template:
    metadata: {labels: {app: elected}}
    spec:
      tolerations: [{operator: Exists}]
      containers: [{name: c, image: registry.k8s.io/pause:3.9}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_hands_over_on_kill_without_duplicate_pods() {
    let server = Server::start(&["up", "--nodes", "2", "--no-controller"]);
    let kubeconfig = server.kubeconfig();
    let kubectl = Kubectl::new(&kubeconfig);
    let client = server.client().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut args = vec!["--leader-elect"];
    args.extend(LEASE_ARGS);
    let mut first = ControllerProcess::start(&kubeconfig, &args);
    let mut second = ControllerProcess::start(&kubeconfig, &args);

    let leader_id = eventually("a leader", DEADLINE, || holder(&leases)).await;
    let (leader, standby) = if leader_id == first.identity() {
        (&mut first, &mut second)
    } else {
        assert_eq!(leader_id, second.identity(), "the holder is one of ours");
        (&mut second, &mut first)
    };
    // Exactly one process says it leads; the standby runs no workers.
    eventually("the leader's gauge", DEADLINE, || async {
        (leader.metric("everynode_leader_election_master_status") == Some(1.0)).then_some(())
    })
    .await;
    assert_eq!(
        standby.metric("everynode_leader_election_master_status"),
        Some(0.0)
    );

    kubectl.apply(DAEMON_SET).ok();
    eventually("one daemon pod on each of 2 nodes", DEADLINE, || async {
        let per_node = sample_pods(&pods).await;
        (per_node.len() == 2).then_some(())
    })
    .await;
    // Watch a few retry periods (an observation window, not a synchronization): the lease stays
    // with the leader, the standby never leads and never syncs, and no node gets a second pod.
    let window = Instant::now() + LEASE;
    while Instant::now() < window {
        assert_eq!(holder(&leases).await.as_deref(), Some(leader_id.as_str()));
        assert_eq!(
            standby.metric("everynode_leader_election_master_status"),
            Some(0.0)
        );
        assert_eq!(
            standby.metric("everynode_daemonset_reconciles_total"),
            Some(0.0)
        );
        assert_eq!(sample_pods(&pods).await.len(), 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(leader.metric("everynode_daemonset_reconciles_total") >= Some(1.0));

    let killed = Instant::now();
    leader.kill();
    let standby_id = standby.identity().to_owned();
    let new_holder = eventually("the standby to take the lease", DEADLINE, || async {
        let _ = sample_pods(&pods).await;
        holder(&leases).await.filter(|h| *h != leader_id)
    })
    .await;
    let took = killed.elapsed();
    eprintln!("the standby took the lease {took:?} after the leader was killed");
    assert_eq!(new_holder, standby_id);
    // The old leader renewed at most one retry period (500ms) before it died; the lease then
    // runs out after LEASE, and the standby notices at its next jittered retry (≤ 600ms).
    assert!(
        took <= LEASE + Duration::from_millis(1500),
        "takeover took {took:?}, more than the {LEASE:?} lease allows"
    );
    let lease = leases.get(LEASE_NAME).await.expect("the lease");
    let spec = lease.spec.expect("lease spec");
    assert!(spec.lease_transitions >= Some(1), "{spec:?}");
    assert_eq!(spec.lease_duration_seconds, Some(3));

    kubectl
        .apply("apiVersion: v1\nkind: Node\nmetadata: {name: node-3}\n")
        .ok();
    eventually("a daemon pod on the new node-3", DEADLINE, || async {
        let per_node = sample_pods(&pods).await;
        (per_node.len() == 3 && per_node.contains_key("node-3")).then_some(())
    })
    .await;
    eventually("the new leader's gauge", DEADLINE, || async {
        (standby.metric("everynode_leader_election_master_status") == Some(1.0)).then_some(())
    })
    .await;
    // A last few samples: the new leader does not create a second pod anywhere.
    for _ in 0..5 {
        assert_eq!(sample_pods(&pods).await.len(), 3);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A leader stopped with SIGTERM releases the Lease (client-go ReleaseOnCancel): a new
    // candidate takes it at its next retry, well before the lease would have run out.
    let third = ControllerProcess::start(&kubeconfig, &args);
    let third_id = third.identity().to_owned();
    eventually("the third candidate to be up", DEADLINE, || async {
        (third.metric("everynode_leader_election_master_status") == Some(0.0)).then_some(())
    })
    .await;
    let terminated = Instant::now();
    assert!(
        standby.terminate().success(),
        "SIGTERM stops the leader cleanly"
    );
    eventually(
        "the third candidate to take the lease",
        DEADLINE,
        || async { holder(&leases).await.filter(|h| *h == third_id) },
    )
    .await;
    let took = terminated.elapsed();
    assert!(took < LEASE, "took {took:?}: the lease was not released");
    assert_eq!(sample_pods(&pods).await.len(), 3);

    // A leader frozen past its renew deadline (SIGSTOP) loses the Lease to a standby; once it
    // runs again it finds it cannot renew and exits rather than keep writing.
    let mut third = third;
    let fourth = ControllerProcess::start(&kubeconfig, &args);
    let fourth_id = fourth.identity().to_owned();
    third.signal("-STOP");
    eventually(
        "the fourth candidate to take the lease",
        DEADLINE,
        || async {
            let _ = sample_pods(&pods).await;
            holder(&leases).await.filter(|h| *h == fourth_id)
        },
    )
    .await;
    third.signal("-CONT");
    let status = crate::support::wait_for("the frozen leader to exit", DEADLINE, || {
        third.child.try_wait().ok().flatten()
    });
    assert!(
        !status.success(),
        "a leader that lost its lease exits with an error"
    );
    assert_eq!(holder(&leases).await.as_deref(), Some(fourth_id.as_str()));
    assert_eq!(sample_pods(&pods).await.len(), 3);
}

#[test]
fn metrics_and_healthz_answer_and_bad_settings_fail_in_one_line() {
    let mut server = Server::apiserver();
    let kubeconfig = server.kubeconfig();
    let controller = ControllerProcess::start(&kubeconfig, &[]);
    let (status, body) = http_get(controller.metrics, "/healthz").expect("healthz answers");
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = http_get(controller.metrics, "/metrics").expect("metrics answers");
    assert_eq!(status, 200);
    assert!(
        body.contains("# TYPE everynode_daemonset_reconciles_total counter"),
        "{body}"
    );
    assert!(body.contains("everynode_daemonset_queue_depth"), "{body}");
    assert!(!body.contains("leader_election"), "no election, no gauge");
    assert_eq!(
        http_get(controller.metrics, "/nope").map(|r| r.0),
        Some(404)
    );

    let fails = |args: &[&str], says: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_everynode"))
            .arg("controller")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run everynode controller");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        // One error line that says what to fix (kube-client may log its own ERROR line first).
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        assert!(errors[0].contains(says), "{args:?}: {stderr}");
    };
    let path = kubeconfig.to_str().expect("utf-8 path");
    fails(
        &[
            "--kubeconfig",
            path,
            "--leader-elect",
            "--leader-elect-renew-deadline",
            "20s",
        ],
        "--leader-elect-renew-deadline",
    );
    fails(&["--kubeconfig", "/nonexistent/kubeconfig"], "--kubeconfig");
    server.kill();
    fails(&["--kubeconfig", path], "cannot reach the API server");
}

/// Every (apiGroup, resource, verb) the controller calls: informers list+watch DaemonSets, pods,
/// nodes and ControllerRevisions; `runtime/sync.rs` creates, deletes and patches pods, creates,
/// gets, patches and deletes revisions, gets DaemonSets and updates their status;
/// `runtime/events.rs` creates and patches Events.
const CLUSTER_PERMISSIONS: &[(&str, &str, &[&str])] = &[
    ("apps", "daemonsets", &["get", "list", "watch"]),
    ("apps", "daemonsets/status", &["update"]),
    (
        "apps",
        "controllerrevisions",
        &["get", "list", "watch", "create", "patch", "delete"],
    ),
    ("", "pods", &["list", "watch", "create", "delete", "patch"]),
    ("", "nodes", &["list", "watch"]),
    ("", "events", &["create", "patch"]),
];
/// `runtime/leader.rs`: read, create, and update (with resourceVersion) the Lease.
const LEASE_PERMISSIONS: &[(&str, &str, &[&str])] = &[(
    "coordination.k8s.io",
    "leases",
    &["get", "create", "update"],
)];

fn manifests() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("deploy/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read manifest");
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(document).expect("yaml");
            if !value.is_null() {
                documents.push((file.display().to_string(), value));
            }
        }
    }
    documents
}

fn permissions(rules: &Value) -> BTreeSet<(String, String, String)> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a string").to_owned())
            .collect()
    };
    let mut out = BTreeSet::new();
    for rule in rules.as_array().expect("rules") {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    assert!(group != "*" && resource != "*" && verb != "*", "{rule}");
                    out.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    out
}

fn expected(list: &[(&str, &str, &[&str])]) -> BTreeSet<(String, String, String)> {
    list.iter()
        .flat_map(|(g, r, verbs)| {
            verbs
                .iter()
                .map(move |v| (g.to_string(), r.to_string(), v.to_string()))
        })
        .collect()
}

/// Deserializes into the k8s-openapi type and back: a misspelled or misplaced field is dropped
/// on the way and shows up as a difference.
fn round_trips<K: serde::de::DeserializeOwned + serde::Serialize>(file: &str, value: &Value) {
    let typed: K = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{file}: {} is not valid: {e}", value["kind"]));
    let back = serde_json::to_value(&typed).expect("serialize");
    assert_eq!(&back, value, "{file}: fields lost in a round trip");
}

#[test]
fn deploy_manifests_apply_and_grant_only_what_the_controller_uses() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};

    let documents = manifests();
    let of_kind = |kind: &str| -> Vec<&Value> {
        documents
            .iter()
            .filter(|(_, v)| v["kind"] == kind)
            .map(|(_, v)| v)
            .collect()
    };
    for (file, value) in &documents {
        match value["kind"].as_str().expect("kind") {
            "Namespace" => round_trips::<Namespace>(file, value),
            "ServiceAccount" => round_trips::<ServiceAccount>(file, value),
            "ClusterRole" => round_trips::<ClusterRole>(file, value),
            "ClusterRoleBinding" => round_trips::<ClusterRoleBinding>(file, value),
            "Role" => round_trips::<Role>(file, value),
            "RoleBinding" => round_trips::<RoleBinding>(file, value),
            "Deployment" => round_trips::<Deployment>(file, value),
            other => panic!("{file}: unexpected kind {other}"),
        }
    }

    let cluster_roles = of_kind("ClusterRole");
    assert_eq!(cluster_roles.len(), 1);
    assert_eq!(
        permissions(&cluster_roles[0]["rules"]),
        expected(CLUSTER_PERMISSIONS)
    );
    let roles = of_kind("Role");
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["metadata"]["namespace"], "everynode-system");
    assert_eq!(permissions(&roles[0]["rules"]), expected(LEASE_PERMISSIONS));

    // The bindings give those roles to the Deployment's service account.
    let deployment = of_kind("Deployment")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    let account = pod["serviceAccountName"].as_str().expect("service account");
    for binding in of_kind("ClusterRoleBinding")
        .into_iter()
        .chain(of_kind("RoleBinding"))
    {
        assert_eq!(binding["subjects"][0]["name"], account);
        assert_eq!(binding["subjects"][0]["namespace"], "everynode-system");
    }
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args[0], "controller");
    assert!(args.contains(&"--leader-elect"), "{args:?}");
    assert!(
        args.contains(&"--leader-elect-namespace=everynode-system"),
        "{args:?}"
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(container["ports"][0]["containerPort"], 8080);

    // kubectl's client-side dry run needs the server to serve every kind (for the REST
    // mapping): the whole directory goes through it.
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let out = kubectl
        .run(&[
            "apply",
            "--dry-run=client",
            "-f",
            deploy.to_str().expect("utf-8"),
        ])
        .ok();
    for (file, value) in &documents {
        let kind = value["kind"].as_str().unwrap_or_default().to_lowercase();
        let name = value["metadata"]["name"].as_str().unwrap_or_default();
        assert!(
            out.lines().any(|l| l.contains(&format!("/{name}"))
                && l.contains("(dry run)")
                && l.to_lowercase().contains(&kind)),
            "{file}: {kind}/{name} missing from the dry run:\n{out}"
        );
    }
}

/// Optimistic concurrency on the Lease: candidates that race for a missing Lease (create) or an
/// expired one (update with the resourceVersion they read) never both win.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_candidates_racing_for_a_lease_never_both_win() {
    use everynode_controller::runtime::leader::{LeaderElectionConfig, LeaderElector};
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::PostParams;

    let client = crate::support::in_process(Default::default()).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    for round in 0..6 {
        let name = format!("race-{round}");
        if round % 2 == 1 {
            // Held by a candidate that stopped renewing a minute ago: expired, up for grabs.
            let stale = k8s_openapi::jiff::Timestamp::now()
                - k8s_openapi::jiff::SignedDuration::from_secs(60);
            let lease = Lease {
                metadata: kube::api::ObjectMeta {
                    name: Some(name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some("gone".into()),
                    lease_duration_seconds: Some(3),
                    renew_time: Some(MicroTime(stale)),
                    acquire_time: Some(MicroTime(stale)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            leases
                .create(&PostParams::default(), &lease)
                .await
                .expect("create the stale lease");
        }
        let candidate = |identity: &str| {
            let config = LeaderElectionConfig {
                namespace: "kube-system".into(),
                name: name.clone(),
                identity: identity.into(),
                lease_duration: LEASE,
                renew_deadline: Duration::from_secs(2),
                retry_period: Duration::from_millis(500),
            };
            let elector = LeaderElector::new(client.clone(), config).expect("valid config");
            // Well inside the lease duration: only a double win could finish twice.
            tokio::time::timeout(Duration::from_millis(1500), elector.acquire())
        };
        let (a, b) = tokio::join!(candidate("a"), candidate("b"));
        let winners = usize::from(a.is_ok()) + usize::from(b.is_ok());
        assert_eq!(winners, 1, "round {round}: {winners} candidates won");
        let holder = leases.get(&name).await.expect("lease").spec.expect("spec");
        let expected = if a.is_ok() { "a" } else { "b" };
        assert_eq!(holder.holder_identity.as_deref(), Some(expected));
        assert_eq!(
            holder.lease_transitions,
            Some(if round % 2 == 1 { 1 } else { 0 })
        );
    }
}
