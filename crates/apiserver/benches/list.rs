//! Listing 10,000 daemon pods (~3 KB of JSON each) through the in-process API, as JSON and as a Table.

mod common;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use everynode_apiserver::ApiService;
use everynode_apiserver::store::StoreOptions;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};

const PODS: usize = 10_000;
const NAMESPACE: &str = "kube-system";

/// Creates the pods through the API (so they carry what admission adds, as stored pods do),
/// 16 writers at a time so group commit keeps the setup short.
async fn populate(service: &ApiService) {
    let client = kube::Client::new(service.clone(), "default");
    let mut tasks = Vec::new();
    for writer in 0..16 {
        let api: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        tasks.push(tokio::spawn(async move {
            for index in (writer..PODS).step_by(16) {
                let pod: Pod =
                    serde_json::from_value(common::daemon_pod(NAMESPACE, index)).expect("pod");
                api.create(&PostParams::default(), &pod)
                    .await
                    .expect("create");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
}

fn list(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (_dir, service) = runtime.block_on(common::api_on_disk(StoreOptions::default()));
    runtime.block_on(populate(&service));
    let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    let (status, body) = runtime.block_on(common::get(&service, &path));
    assert_eq!(status, 200);
    let value: serde_json::Value = serde_json::from_slice(&body).expect("list json");
    let items = value["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, PODS);
    println!(
        "list: {items} pods, {} bytes of JSON ({} bytes per pod), load {}",
        body.len(),
        body.len() / items,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let mut group = c.benchmark_group("list_10k_daemon_pods");
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("json_namespace", |b| {
        b.iter(|| runtime.block_on(common::get(&service, &path)).1.len())
    });
    group.bench_function("json_all_namespaces", |b| {
        b.iter(|| {
            runtime
                .block_on(common::get(&service, "/api/v1/pods"))
                .1
                .len()
        })
    });
    // What `kubectl get pods` asks for: the server prints the rows, so it reads every object.
    group.bench_function("table_namespace", |b| {
        b.iter(|| {
            let request = http::Request::get(&path)
                .header(
                    http::header::ACCEPT,
                    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
                )
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .expect("request");
            runtime.block_on(async {
                use http_body_util::BodyExt;
                let response = service.handle(request).await;
                response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes()
                    .len()
            })
        })
    });
    // Client-side decoding into typed Pods is the caller's cost, shown for scale only.
    group.sample_size(10);
    group.bench_function("kube_rs_list_typed", |b| {
        // The client spawns its buffer task, so it needs the runtime entered.
        let _entered = runtime.enter();
        let api: Api<Pod> =
            Api::namespaced(kube::Client::new(service.clone(), "default"), NAMESPACE);
        b.iter(|| {
            runtime
                .block_on(api.list(&Default::default()))
                .expect("list")
                .items
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, list);
criterion_main!(benches);
