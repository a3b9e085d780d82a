//! Starts the apps/v1 workload controllers of `everynode up`: ReplicaSets and Deployments, each with its own work queue and workers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::deployment::DeploymentController;
use crate::replicaset::ReplicaSetController;
use crate::runtime::informer::SharedInformers;
use crate::runtime::queue::WorkQueue;

/// Workers per controller (kube-controller-manager's `--concurrent-replicaset-syncs` and
/// `--concurrent-deployment-syncs` default to 5; two suffice on the small machines `up` targets).
const WORKERS: usize = 2;
/// Retry delay after a failed sync (mostly conflicts with a cache one write behind).
const RETRY_AFTER_ERROR: Duration = Duration::from_millis(100);

/// The running ReplicaSet and Deployment controllers.
pub struct WorkloadControllers {
    queues: Vec<WorkQueue>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl WorkloadControllers {
    /// Starts both controllers on the process's shared pod informer; returns once their caches
    /// are filled.
    pub async fn start(client: kube::Client, informers: &SharedInformers) -> Self {
        let rs_queue = WorkQueue::default();
        let d_queue = WorkQueue::default();
        let wake = d_queue.clone();
        let replica_sets = ReplicaSetController::start(
            client.clone(),
            rs_queue.clone(),
            Box::new(move |pod, rses| DeploymentController::pod_deleted(&wake, pod, rses)),
            &informers.pods,
        )
        .await;
        let deployments =
            DeploymentController::start(client, d_queue.clone(), replica_sets.pods()).await;
        let mut workers = Vec::new();
        for _ in 0..WORKERS {
            let rs = replica_sets.clone();
            workers.push(tokio::spawn(work(rs_queue.clone(), move |key| {
                let rs = rs.clone();
                async move { rs.sync(&key).await.map_err(|e| e.to_string()) }
            })));
            let d: Arc<DeploymentController> = deployments.clone();
            workers.push(tokio::spawn(work(d_queue.clone(), move |key| {
                let d = d.clone();
                async move { d.sync(&key).await.map_err(|e| e.to_string()) }
            })));
        }
        Self {
            queues: vec![rs_queue, d_queue],
            workers,
        }
    }

    /// Stops the workers (the informers end with the runtime).
    pub fn stop(&self) {
        for queue in &self.queues {
            queue.shut_down();
        }
        for worker in &self.workers {
            worker.abort();
        }
    }
}

/// A worker: takes keys off the queue and syncs them; failures are retried after a short delay.
async fn work<F, Fut>(queue: WorkQueue, sync: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Option<Duration>, String>>,
{
    while let Some(key) = queue.next().await {
        match sync(key.clone()).await {
            Ok(Some(after)) => queue.add_after(key.clone(), after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!("{e}");
                queue.add_after(key.clone(), RETRY_AFTER_ERROR);
            }
        }
        queue.done(&key);
    }
}
