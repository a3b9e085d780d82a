//! The garbage collector against an in-process server: background, orphan and foreground
//! propagation through ownerReferences, and dangling owners.

use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

use crate::support::in_process;

fn daemon_set(name: &str) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}
            }
        }
    }))
    .expect("daemon set")
}

fn owned_pod(name: &str, owner: &DaemonSet) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": {"app": owner.metadata.name},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "DaemonSet",
                "name": owner.metadata.name, "uid": owner.metadata.uid,
                "controller": true, "blockOwnerDeletion": true,
            }]
        },
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .expect("pod")
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Stack {
    daemon_sets: Api<DaemonSet>,
    pods: Api<Pod>,
    _gc: everynode_sim::garbage_collector::GcHandle,
}

async fn stack() -> Stack {
    let client = in_process(Default::default()).await;
    let gc = everynode_sim::garbage_collector::start(client.clone())
        .await
        .expect("gc starts");
    Stack {
        daemon_sets: Api::namespaced(client.clone(), "default"),
        pods: Api::namespaced(client, "default"),
        _gc: gc,
    }
}

impl Stack {
    async fn owner_with_pods(&self, name: &str, pods: usize) -> DaemonSet {
        let ds = self
            .daemon_sets
            .create(&PostParams::default(), &daemon_set(name))
            .await
            .expect("create ds");
        for i in 0..pods {
            self.pods
                .create(
                    &PostParams::default(),
                    &owned_pod(&format!("{name}-{i}"), &ds),
                )
                .await
                .expect("create pod");
        }
        ds
    }

    async fn pod_names(&self) -> Vec<String> {
        let list = self
            .pods
            .list(&Default::default())
            .await
            .expect("list pods");
        list.items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect()
    }
}

#[tokio::test]
async fn background_deletion_removes_dependents() {
    let stack = stack().await;
    stack.owner_with_pods("bg", 3).await;
    stack
        .daemon_sets
        .delete("bg", &DeleteParams::background())
        .await
        .expect("delete");
    wait_until("the dependents to be deleted", || async {
        stack.pod_names().await.is_empty()
    })
    .await;
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents_without_the_owner_reference() {
    let stack = stack().await;
    stack.owner_with_pods("orphaner", 2).await;
    stack
        .daemon_sets
        .delete("orphaner", &DeleteParams::orphan())
        .await
        .expect("delete");
    wait_until("the owner to be gone", || async {
        stack
            .daemon_sets
            .get_opt("orphaner")
            .await
            .expect("get")
            .is_none()
    })
    .await;
    let pods = stack.pods.list(&Default::default()).await.expect("list");
    assert_eq!(pods.items.len(), 2);
    for pod in pods.items {
        assert!(
            pod.metadata.owner_references.unwrap_or_default().is_empty(),
            "still owned"
        );
    }
}

#[tokio::test]
async fn foreground_deletion_removes_dependents_before_the_owner() {
    let stack = stack().await;
    stack.owner_with_pods("fg", 2).await;
    stack
        .daemon_sets
        .delete("fg", &DeleteParams::foreground())
        .await
        .expect("delete");
    wait_until("the owner to be gone", || async {
        stack
            .daemon_sets
            .get_opt("fg")
            .await
            .expect("get")
            .is_none()
    })
    .await;
    assert!(
        stack.pod_names().await.is_empty(),
        "the owner went before its dependents"
    );
}

#[tokio::test]
async fn dependent_of_a_never_existing_owner_is_collected() {
    let stack = stack().await;
    let mut ghost = daemon_set("ghost");
    ghost.metadata.uid = Some("00000000-0000-4000-8000-000000000000".into());
    stack
        .pods
        .create(&PostParams::default(), &owned_pod("haunted", &ghost))
        .await
        .expect("create");
    let keeper = stack.owner_with_pods("keeper", 1).await;
    wait_until("the dangling dependent to be deleted", || async {
        stack.pod_names().await == vec!["keeper-0".to_owned()]
    })
    .await;
    assert!(
        stack
            .daemon_sets
            .get_opt("keeper")
            .await
            .expect("get")
            .is_some(),
        "{keeper:?}"
    );
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("object")
}

/// An ownerReference to `owner`, whatever its kind.
fn owned_by<K: kube::Resource<DynamicType = ()>>(owner: &K) -> serde_json::Value {
    json!([{
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "name": owner.meta().name,
        "uid": owner.meta().uid,
    }])
}

#[tokio::test]
async fn every_deletable_kind_can_own_and_be_collected() {
    use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
    use k8s_openapi::api::rbac::v1::Role;
    use k8s_openapi::api::scheduling::v1::PriorityClass;

    let client = in_process(Default::default()).await;
    let _gc = everynode_sim::garbage_collector::start(client.clone())
        .await
        .expect("gc starts");
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let roles: Api<Role> = Api::namespaced(client.clone(), "default");
    let classes: Api<PriorityClass> = Api::all(client.clone());
    let create = PostParams::default();

    // A ConfigMap owns a ServiceAccount and a Role; a (cluster-scoped) PriorityClass owns a
    // ConfigMap.
    let owner = config_maps
        .create(&create, &decode(json!({"metadata": {"name": "owner"}})))
        .await
        .expect("create owner");
    accounts
        .create(
            &create,
            &decode(json!({"metadata": {"name": "owned", "ownerReferences": owned_by(&owner)}})),
        )
        .await
        .expect("create service account");
    roles
        .create(
            &create,
            &decode(json!({"metadata": {"name": "owned", "ownerReferences": owned_by(&owner)}})),
        )
        .await
        .expect("create role");
    let class = classes
        .create(
            &create,
            &decode(json!({"metadata": {"name": "owning-class"}, "value": 1000})),
        )
        .await
        .expect("create priority class");
    config_maps
        .create(
            &create,
            &decode(
                json!({"metadata": {"name": "class-owned", "ownerReferences": owned_by(&class)}}),
            ),
        )
        .await
        .expect("create config map");

    config_maps
        .delete("owner", &DeleteParams::background())
        .await
        .expect("delete owner");
    wait_until("the ServiceAccount and Role to be collected", || async {
        accounts.get_opt("owned").await.expect("get").is_none()
            && roles.get_opt("owned").await.expect("get").is_none()
    })
    .await;
    assert!(
        config_maps
            .get_opt("class-owned")
            .await
            .expect("get")
            .is_some(),
        "collected while its owner lives"
    );
    classes
        .delete("owning-class", &DeleteParams::background())
        .await
        .expect("delete class");
    wait_until("the ConfigMap to be collected", || async {
        config_maps
            .get_opt("class-owned")
            .await
            .expect("get")
            .is_none()
    })
    .await;
}
