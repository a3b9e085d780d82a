//! How soon 100 concurrent watchers see a write: per-watcher delivery latency percentiles.
//!
//! 100 raw watch requests on the in-process `ApiService` (each a streaming HTTP response read
//! frame by frame, as a client reads a chunked watch), then sequential creates through a kube-rs
//! client. For each create and each watcher the latency is the time from the create's
//! acknowledgement (and, separately, its submission) until that watcher has the event's line.
//! A plain binary (`harness = false`): criterion's model has no room for percentiles over
//! watchers. `BENCH_WRITES` (default 300) sets the number of writes.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use everynode_apiserver::store::StoreOptions;
use http_body_util::{BodyExt, Empty};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use tokio::sync::mpsc;

const WATCHERS: usize = 100;
const NAMESPACE: &str = "default";

fn main() {
    let writes: usize = std::env::var("BENCH_WRITES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(writes));
}

async fn bench(writes: usize) {
    let (_dir, service) = common::api_on_disk(StoreOptions::default()).await;
    let from = service.store().revision();
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<(usize, Instant)>();
    for _ in 0..WATCHERS {
        let request = http::Request::get(format!(
            "/api/v1/namespaces/{NAMESPACE}/configmaps?watch=1&resourceVersion={from}"
        ))
        .body(Empty::<Bytes>::new())
        .expect("request");
        // The watcher is registered in the store before `handle` returns: no write can be missed.
        let response = service.handle(request).await;
        assert_eq!(response.status(), 200);
        let seen_tx = seen_tx.clone();
        tokio::spawn(async move {
            let mut body = response.into_body();
            let mut buffer = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let now = Instant::now();
                buffer.extend_from_slice(&data);
                while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buffer.drain(..=end).collect();
                    if let Some(index) = write_index(&line) {
                        let _ = seen_tx.send((index, now));
                    }
                }
            }
        });
    }
    drop(seen_tx);

    let client = kube::Client::new(service.clone(), "default");
    let api: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let mut from_ack = Vec::with_capacity(writes * WATCHERS);
    let mut from_submit = Vec::with_capacity(writes * WATCHERS);
    let mut write_latency = Vec::with_capacity(writes);
    let mut early = 0usize;
    // The first writes warm up allocations and the client; they are not counted.
    let warmup = 20;
    for index in 0..warmup + writes {
        let submitted = Instant::now();
        api.create(
            &PostParams::default(),
            &common::config_map(&format!("w-{index}")),
        )
        .await
        .expect("create");
        let acknowledged = Instant::now();
        let mut received = 0;
        while received < WATCHERS {
            let (seen_index, at) = tokio::time::timeout(Duration::from_secs(10), seen.recv())
                .await
                .expect("every watcher sees the write within 10 s")
                .expect("watchers alive");
            assert_eq!(seen_index, index, "events arrive in write order");
            received += 1;
            if index < warmup {
                continue;
            }
            // The store publishes to watchers just before it answers the writer, so a watcher
            // can be ahead of the acknowledgement: that counts as zero.
            if at < acknowledged {
                early += 1;
            }
            from_ack.push(at.saturating_duration_since(acknowledged));
            from_submit.push(at.duration_since(submitted));
        }
        if index >= warmup {
            write_latency.push(acknowledged - submitted);
        }
    }
    for samples in [&mut from_ack, &mut from_submit, &mut write_latency] {
        samples.sort();
    }
    let show = |name: &str, samples: &[Duration]| {
        println!(
            "{name:<28} n={:<6} p50 {:>7.3} ms  p90 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
            samples.len(),
            common::ms(common::quantile(samples, 0.50)),
            common::ms(common::quantile(samples, 0.90)),
            common::ms(common::quantile(samples, 0.99)),
            common::ms(common::quantile(samples, 1.0)),
        );
    };
    println!(
        "watch fan-out: {WATCHERS} watchers, {writes} sequential creates (after {warmup} warm-up), load {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    show("ack -> watcher has event", &from_ack);
    show("submit -> watcher has event", &from_submit);
    show("submit -> ack (durable)", &write_latency);
    println!(
        "events delivered before the ack returned: {early} of {}",
        from_ack.len()
    );
}

/// The `N` of a `w-N` ConfigMap in a watch event line.
fn write_index(line: &[u8]) -> Option<usize> {
    let event: serde_json::Value = serde_json::from_slice(line).ok()?;
    event["object"]["metadata"]["name"]
        .as_str()?
        .strip_prefix("w-")?
        .parse()
        .ok()
}
