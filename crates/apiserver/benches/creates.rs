//! Durable creates/s with 16 concurrent writers: API vs raw store, group commit vs per-write commits.
//!
//! A throughput figure with latency percentiles does not fit criterion's per-iteration model, so
//! this is a plain binary (`harness = false`) that prints medians over several runs, each on a
//! fresh on-disk store (SQLite WAL, synchronous=FULL) in a temp dir.
//!
//! `cargo bench -p everynode-apiserver --bench creates`; `BENCH_RUNS` and `BENCH_CREATES` (per
//! run with group commit; per-write runs do an eighth, since each costs an fsync) tune it;
//! `BENCH_ONLY` (e.g. `"api group"`) picks one configuration.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use everynode_apiserver::store::{Change, Key, Store, StoreOptions};
use everynode_apiserver::{registry, resources};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

const WRITERS: usize = 16;

#[derive(Clone, Copy)]
enum Layer {
    /// kube-rs client → `ApiService` (serde, admission, validation) → store.
    Api,
    /// `Store::write` directly.
    Store,
}

struct Run {
    rate: f64,
    latencies: Vec<Duration>,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runs = env_usize("BENCH_RUNS", 5);
    let creates = env_usize("BENCH_CREATES", 16_000);
    // `BENCH_ONLY="api group"` runs one configuration (for profiling).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "creates: {WRITERS} concurrent writers, {runs} runs each, fresh on-disk store per run (load {})",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let mut medians = Vec::new();
    for (layer, layer_name) in [(Layer::Api, "api"), (Layer::Store, "store")] {
        for (max_batch, mode) in [
            (StoreOptions::default().max_batch, "group"),
            (1, "per-write"),
        ] {
            // Per-write commits pay one fsync each: fewer creates keep the run short, and the
            // rate does not depend on the count.
            if !only.is_empty() && !format!("{layer_name} {mode}").contains(&only) {
                continue;
            }
            let count = if max_batch == 1 { creates / 8 } else { creates };
            let options = StoreOptions {
                max_batch,
                ..StoreOptions::default()
            };
            let mut rates = Vec::new();
            let mut latencies = Vec::new();
            for _ in 0..runs {
                let run = runtime.block_on(run(layer, options.clone(), count));
                rates.push(run.rate);
                latencies.extend(run.latencies);
            }
            latencies.sort();
            let mut sorted = rates.clone();
            let median = common::median_f64(&mut sorted);
            println!(
                "{layer_name:>5} {mode:>9} max_batch={max_batch:<3} creates/run={count:<6} median {median:>9.0}/s  min {:>9.0}/s  max {:>9.0}/s  latency p50 {:.2} ms p99 {:.2} ms",
                sorted[0],
                sorted[sorted.len() - 1],
                common::ms(common::quantile(&latencies, 0.50)),
                common::ms(common::quantile(&latencies, 0.99)),
            );
            medians.push(((layer_name, mode), median));
        }
    }
    let find = |key: (&str, &str)| {
        medians
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(f64::NAN, |(_, v)| *v)
    };
    println!(
        "ratio group/per-write: api {:.1}x, store {:.1}x; api/store (group) {:.2}",
        find(("api", "group")) / find(("api", "per-write")),
        find(("store", "group")) / find(("store", "per-write")),
        find(("api", "group")) / find(("store", "group")),
    );
}

async fn run(layer: Layer, options: StoreOptions, count: usize) -> Run {
    let per_writer = count / WRITERS;
    let mut tasks = Vec::new();
    // Keep the temp dir alive until every writer is done.
    let _dir;
    let started;
    match layer {
        Layer::Api => {
            let (dir, service) = common::api_on_disk(options).await;
            _dir = dir;
            let client = kube::Client::new(service, "default");
            started = Instant::now();
            for writer in 0..WRITERS {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_writer);
                    for i in 0..per_writer {
                        let object = common::config_map(&format!("cm-{writer}-{i}"));
                        let start = Instant::now();
                        api.create(&PostParams::default(), &object)
                            .await
                            .expect("create");
                        latencies.push(start.elapsed());
                    }
                    latencies
                }));
            }
        }
        Layer::Store => {
            let (dir, store) = common::store_on_disk(options);
            _dir = dir;
            let store = Arc::new(store);
            started = Instant::now();
            for writer in 0..WRITERS {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_writer);
                    for i in 0..per_writer {
                        let start = Instant::now();
                        create_raw(&store, &format!("cm-{writer}-{i}")).await;
                        latencies.push(start.elapsed());
                    }
                    latencies
                }));
            }
        }
    }
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        latencies.extend(task.await.expect("writer"));
    }
    let elapsed = started.elapsed();
    Run {
        rate: (per_writer * WRITERS) as f64 / elapsed.as_secs_f64(),
        latencies,
    }
}

/// The same ConfigMap the API would store (uid, timestamp), written without the HTTP layer.
async fn create_raw(store: &Store, name: &str) {
    let object = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": format!("00000000-0000-4000-8000-{:012}", name.len()),
            "creationTimestamp": "2026-11-25T10:00:00Z",
            "labels": {"app": "bench"},
        },
        "data": {"key": "value", "writer": name},
    });
    let resource = resources::by_storage("configmaps").expect("configmaps");
    let index = registry::index(resource, &object);
    store
        .write(
            Key {
                resource: resource.storage,
                namespace: "default".to_owned(),
                name: name.to_owned(),
            },
            Change::Create { object, index },
        )
        .await
        .expect("create");
}
