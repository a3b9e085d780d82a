//! Registers the simulated Nodes `everynode up` starts with and waits until they are Ready.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use everynode_core::keys::{
    ARCH_LABEL, CONDITION_TRUE, EFFECT_NO_SCHEDULE, HOSTNAME_LABEL, NODE_READY, OS_LABEL,
    TAINT_NODE_CONTROL_PLANE,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::{Node, NodeSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};

use crate::consts::{ARCHITECTURE, OPERATING_SYSTEM};
use crate::watch::{Change, changes};

/// The name of the control-plane node `--control-plane` adds.
pub const CONTROL_PLANE_NODE: &str = "control-plane";

/// Errors of node registration.
#[derive(Debug, thiserror::Error)]
pub enum NodesError {
    /// Creating a node failed.
    #[error("failed to create node {name}: {source}")]
    Create {
        /// The node.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The node did not become Ready in time.
    #[error("node {name} did not become Ready within {timeout:?}")]
    Timeout {
        /// The node.
        name: String,
        /// The time waited.
        timeout: Duration,
    },
}

/// One node to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpecTemplate {
    /// Node name.
    pub name: String,
    /// Adds the control-plane role label and `node-role.kubernetes.io/control-plane:NoSchedule`.
    pub control_plane: bool,
}

impl NodeSpecTemplate {
    /// `node-1`…`node-N`, plus `control-plane` first when asked for.
    pub fn cluster(workers: usize, control_plane: bool) -> Vec<Self> {
        let cp = control_plane.then(|| Self {
            name: CONTROL_PLANE_NODE.to_string(),
            control_plane: true,
        });
        cp.into_iter()
            .chain((1..=workers).map(|i| Self {
                name: format!("node-{i}"),
                control_plane: false,
            }))
            .collect()
    }

    /// The Node object to create.
    pub fn to_node(&self) -> Node {
        let mut labels = BTreeMap::from([
            (HOSTNAME_LABEL.to_string(), self.name.clone()),
            (OS_LABEL.to_string(), OPERATING_SYSTEM.to_string()),
            (ARCH_LABEL.to_string(), ARCHITECTURE.to_string()),
        ]);
        let mut taints = None;
        if self.control_plane {
            labels.insert(TAINT_NODE_CONTROL_PLANE.to_string(), String::new());
            taints = Some(vec![Taint {
                key: TAINT_NODE_CONTROL_PLANE.to_string(),
                effect: EFFECT_NO_SCHEDULE.to_string(),
                ..Taint::default()
            }]);
        }
        Node {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                taints,
                ..NodeSpec::default()
            }),
            status: None,
        }
    }
}

/// Ready, and rid of the not-ready taint the API server gives new nodes: only then does the
/// scheduler (and a user's first command) see the node as usable.
fn is_ready(node: &Node) -> bool {
    let condition_ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == NODE_READY && c.status == CONDITION_TRUE)
        });
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|taints| {
            taints.iter().any(|t| {
                t.key == everynode_core::keys::TAINT_NODE_NOT_READY
                    || t.key == everynode_core::keys::TAINT_NODE_UNREACHABLE
            })
        });
    condition_ready && !tainted
}

/// Creates each node of `nodes` that does not exist yet; existing ones are left alone.
async fn create_missing(client: &Client, nodes: &[NodeSpecTemplate]) -> Result<(), NodesError> {
    let api = Api::<Node>::all(client.clone());
    for template in nodes {
        match api
            .create(&PostParams::default(), &template.to_node())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(source) => {
                return Err(NodesError::Create {
                    name: template.name.clone(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// Creates each node that does not exist yet (never twice; existing nodes are left alone) and
/// waits until all of them report Ready. The simulated kubelets must be running ([`crate::start`]).
pub async fn register_nodes(
    client: &Client,
    nodes: &[NodeSpecTemplate],
    timeout: Duration,
) -> Result<(), NodesError> {
    create_missing(client, nodes).await?;
    let api = Api::<Node>::all(client.clone());
    // One watch of every node (a watch per node would list all of them once per node).
    wait_ready(nodes, timeout, changes(api)).await
}

/// Like [`register_nodes`], learning about nodes from `nodes_changes` (in `everynode up`, the
/// node informer every component shares) instead of a watch of its own.
pub async fn register_nodes_from(
    client: &Client,
    nodes: &[NodeSpecTemplate],
    timeout: Duration,
    nodes_changes: BoxStream<'static, Change<Node>>,
) -> Result<(), NodesError> {
    create_missing(client, nodes).await?;
    wait_ready(nodes, timeout, nodes_changes).await
}

/// Waits until every node of `nodes` has reported Ready in `changes`.
async fn wait_ready(
    nodes: &[NodeSpecTemplate],
    timeout: Duration,
    mut changes: BoxStream<'static, Change<Node>>,
) -> Result<(), NodesError> {
    let mut pending: BTreeSet<&str> = nodes.iter().map(|t| t.name.as_str()).collect();
    let waiting = async {
        while !pending.is_empty() {
            match changes.next().await {
                Some(Change::Upsert(node)) => {
                    if is_ready(&node)
                        && let Some(name) = node.metadata.name.as_deref()
                    {
                        pending.remove(name);
                    }
                }
                Some(Change::Removed(_) | Change::Synced) => {}
                None => return,
            }
        }
    };
    // Whether it timed out or the changes ended, a node still pending is what went wrong.
    let _ = tokio::time::timeout(timeout, waiting).await;
    match pending.first() {
        Some(name) => Err(NodesError::Timeout {
            name: (*name).to_owned(),
            timeout,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_and_control_plane_variant() {
        let nodes = NodeSpecTemplate::cluster(2, true);
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["control-plane", "node-1", "node-2"]);
        let cp = nodes[0].to_node();
        assert_eq!(
            cp.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(TAINT_NODE_CONTROL_PLANE))
                .map(String::as_str),
            Some("")
        );
        assert_eq!(cp.spec.and_then(|s| s.taints).map(|t| t.len()), Some(1));
        let w = nodes[1].to_node();
        assert_eq!(
            w.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(HOSTNAME_LABEL))
                .map(String::as_str),
            Some("node-1")
        );
        assert!(w.spec.and_then(|s| s.taints).is_none());
    }
}
