//! The store through the API: durability across kill -9, watch resume and expiry, and optimistic
//! concurrency, driven by kube-rs clients.

use std::time::Duration;

use everynode_apiserver::store::StoreOptions;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};

use crate::support::{Server, in_process};

fn config_map(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "data": {"value": value},
    }))
    .expect("config map")
}

fn revision(object: &ConfigMap) -> u64 {
    object
        .metadata
        .resource_version
        .as_deref()
        .and_then(|rv| rv.parse().ok())
        .expect("numeric resourceVersion")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let mut server = Server::apiserver();
    let client = server.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut highest = 0;
    for i in 0..50 {
        let created = api
            .create(
                &PostParams::default(),
                &config_map(&format!("cm-{i}"), &i.to_string()),
            )
            .await
            .expect("create");
        highest = highest.max(revision(&created));
    }
    server.kill_and_restart();
    let api: Api<ConfigMap> = Api::namespaced(server.client().await, "default");
    let listed = api.list(&ListParams::default()).await.expect("list");
    for i in 0..50 {
        let found = listed
            .items
            .iter()
            .find(|cm| cm.metadata.name.as_deref() == Some(&format!("cm-{i}")))
            .unwrap_or_else(|| panic!("cm-{i} lost after kill -9"));
        assert_eq!(
            found.data.as_ref().and_then(|d| d.get("value")),
            Some(&i.to_string())
        );
    }
    let after = api
        .create(&PostParams::default(), &config_map("after-restart", "x"))
        .await
        .expect("create after restart");
    assert!(
        revision(&after) > highest,
        "{} <= {highest}",
        revision(&after)
    );
}

#[tokio::test]
async fn watch_resumes_with_exactly_the_missed_events_in_order() {
    let client = in_process(StoreOptions::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let first = api
        .create(&PostParams::default(), &config_map("a", "0"))
        .await
        .expect("create");
    let mut expected = Vec::new();
    for i in 1..=5 {
        let mut cm = config_map("a", &i.to_string());
        cm.metadata.resource_version = None;
        let replaced = api
            .replace("a", &PostParams::default(), &{
                let mut current = api.get("a").await.expect("get");
                current.data = cm.data;
                current
            })
            .await
            .expect("replace");
        expected.push(("MODIFIED", revision(&replaced)));
    }
    let other = api
        .create(&PostParams::default(), &config_map("b", "x"))
        .await
        .expect("create b");
    expected.push(("ADDED", revision(&other)));

    let stream = api
        .watch(
            &WatchParams::default().timeout(2),
            &revision(&first).to_string(),
        )
        .await
        .expect("watch");
    let events: Vec<_> = stream
        .take(expected.len())
        .try_collect()
        .await
        .expect("events");
    let seen: Vec<(&str, u64)> = events
        .iter()
        .map(|event| match event {
            WatchEvent::Added(cm) => ("ADDED", revision(cm)),
            WatchEvent::Modified(cm) => ("MODIFIED", revision(cm)),
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn watch_from_a_compacted_revision_gets_410_expired() {
    let client = in_process(StoreOptions {
        watch_window: 10,
        ..StoreOptions::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let first = api
        .create(&PostParams::default(), &config_map("first", "0"))
        .await
        .expect("create");
    for i in 0..30 {
        api.create(&PostParams::default(), &config_map(&format!("x-{i}"), "0"))
            .await
            .expect("create");
    }
    let outcome = api
        .watch(
            &WatchParams::default().timeout(2),
            &revision(&first).to_string(),
        )
        .await;
    let error = match outcome {
        Err(e) => e.to_string(),
        Ok(stream) => {
            let events: Vec<_> = stream.take(1).collect().await;
            match events.first() {
                Some(Ok(WatchEvent::Error(status))) => {
                    assert_eq!(status.code, 410);
                    status.reason.clone()
                }
                other => panic!("expected a 410 ERROR event, got {other:?}"),
            }
        }
    };
    assert!(
        error.contains("Expired") || error.contains("410"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_updates_at_one_revision_exactly_one_wins() {
    let client = in_process(StoreOptions::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &config_map("contended", "0"))
        .await
        .expect("create");
    let attempts = (0..16).map(|i| {
        let api = api.clone();
        let mut update = created.clone();
        // Every update differs from the stored value: a no-op update would rightly succeed too.
        update.data = Some([("value".to_owned(), format!("writer-{i}"))].into());
        tokio::spawn(async move {
            api.replace("contended", &PostParams::default(), &update)
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let mut won = 0;
    for result in results {
        match result.expect("task") {
            Ok(_) => won += 1,
            Err(kube::Error::Api(status)) => assert_eq!(status.code, 409, "{status:?}"),
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(won, 1);
    tokio::time::timeout(Duration::from_secs(1), api.get("contended"))
        .await
        .expect("get")
        .expect("get");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_without_a_resource_version_all_apply() {
    use kube::api::{Patch, PatchParams};
    let client = in_process(StoreOptions::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &config_map("shared", "0"))
        .await
        .expect("create");
    let patches = (0..16).map(|i| {
        let api = api.clone();
        tokio::spawn(async move {
            let patch = serde_json::json!({"data": {format!("writer-{i}"): "done"}});
            api.patch("shared", &PatchParams::default(), &Patch::Merge(&patch))
                .await
        })
    });
    for result in futures::future::join_all(patches).await {
        result
            .expect("task")
            .expect("an unconditional patch must not conflict");
    }
    let data = api
        .get("shared")
        .await
        .expect("get")
        .data
        .unwrap_or_default();
    assert_eq!(data.len(), 17, "{data:?}");
}

/// A PUT without metadata.resourceVersion is unconditional: racing writers all succeed (the
/// server re-applies the body to the newest state, as upstream's GuaranteedUpdate does) and
/// the last one's data is what stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_without_a_resource_version_all_apply() {
    let client = in_process(StoreOptions::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &config_map("unconditional", "0"))
        .await
        .expect("create");
    let start = revision(&created);
    let updates = (0..16).map(|i| {
        let api = api.clone();
        let mut update = config_map("unconditional", &format!("writer-{i}"));
        update.metadata.resource_version = None;
        tokio::spawn(async move {
            api.replace("unconditional", &PostParams::default(), &update)
                .await
        })
    });
    let mut values = Vec::new();
    for result in futures::future::join_all(updates).await {
        let stored = result
            .expect("task")
            .expect("an unconditional update must not conflict");
        assert!(revision(&stored) > start);
        values.push(stored.data.unwrap_or_default()["value"].clone());
    }
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 16, "every writer's data was stored once");
}
