//! Pure priority preemption: upstream DefaultPreemption's victim selection and candidate choice, simplified (no PDBs).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;

use super::filter::{Failure, NodeUsage, Resources, fits_resources_and_ports, sorted_histogram};

/// PostFilter reason for a node where even removing every lower-priority pod does not help.
pub const REASON_NO_VICTIMS: &str = "No preemption victims found for incoming pod";
/// PostFilter reason for a node whose failure no removal can fix (taints, affinity, …).
pub const REASON_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";

/// A pod already on a candidate node.
#[derive(Debug, Clone)]
pub struct Placed<'a> {
    /// Cache key (`namespace/name`).
    pub key: &'a str,
    /// Resolved priority.
    pub priority: i32,
    /// The pod's spec (requests and ports).
    pub spec: &'a PodSpec,
}

/// A node the preemptor failed on.
pub struct NodeCandidate<'a> {
    /// Node name.
    pub name: &'a str,
    /// Why the pod did not fit.
    pub failure: &'a Failure,
    /// Node allocatable.
    pub allocatable: Resources,
    /// Pods on the node.
    pub pods: Vec<Placed<'a>>,
}

/// The chosen node and the pods to delete there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preemption {
    /// Node to nominate.
    pub node: String,
    /// Keys of the victims.
    pub victims: Vec<String>,
}

fn usage_of(pods: &[&Placed<'_>]) -> NodeUsage {
    let mut usage = NodeUsage::default();
    for p in pods {
        usage.add_pod(p.spec);
    }
    usage
}

/// Upstream `SelectVictimsOnNode`: remove every lower-priority pod; if the pod then fits,
/// reprieve as many as possible, highest priority first. When nothing helps, the reasons
/// upstream reports for the node: [`REASON_NO_VICTIMS`] without lower-priority pods, else the
/// filter's own reasons with every lower-priority pod removed.
pub fn select_victims(
    spec: &PodSpec,
    priority: i32,
    node: &NodeCandidate<'_>,
) -> Result<Vec<String>, Vec<String>> {
    let (mut lower, mut kept): (Vec<&Placed<'_>>, Vec<&Placed<'_>>) =
        node.pods.iter().partition(|p| p.priority < priority);
    if lower.is_empty() {
        return Err(vec![REASON_NO_VICTIMS.to_string()]);
    }
    fits_resources_and_ports(spec, &node.allocatable, &usage_of(&kept)).map_err(|f| f.reasons)?;
    // Highest priority first so the most important pods are reprieved first; key for determinism.
    lower.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.key.cmp(b.key)));
    let mut victims = Vec::new();
    for candidate in lower {
        kept.push(candidate);
        if fits_resources_and_ports(spec, &node.allocatable, &usage_of(&kept)).is_err() {
            kept.pop();
            victims.push(candidate.key.to_string());
        }
    }
    Ok(victims)
}

/// Picks the node to preempt on, or returns upstream's PostFilter message when there is none.
/// Among candidates: lowest highest-victim priority, then lowest priority sum, then fewest
/// victims (upstream `pickOneNodeForPreemption`), then node name for determinism.
pub fn preempt<'a>(
    spec: &PodSpec,
    priority: i32,
    total_nodes: usize,
    nodes: &[NodeCandidate<'a>],
) -> Result<Preemption, String> {
    // Rank: (highest victim priority, priority sum, victim count, node name).
    type Rank<'n> = (i64, i64, usize, &'n str);
    let mut best: Option<(Rank<'_>, Vec<String>)> = None;
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for node in nodes {
        if !node.failure.resolvable {
            *histogram.entry(REASON_NOT_HELPFUL.to_string()).or_default() += 1;
            continue;
        }
        let victims = match select_victims(spec, priority, node) {
            Ok(victims) => victims,
            Err(reasons) => {
                for reason in reasons {
                    *histogram.entry(reason).or_default() += 1;
                }
                continue;
            }
        };
        let prio = |k: &String| {
            node.pods
                .iter()
                .find(|p| p.key == k)
                .map(|p| i64::from(p.priority))
                .unwrap_or(0)
        };
        let highest = victims.iter().map(prio).max().unwrap_or(i64::MIN);
        let sum: i64 = victims.iter().map(prio).sum();
        let rank = (highest, sum, victims.len(), node.name);
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, victims));
        }
    }
    match best {
        Some(((_, _, _, name), victims)) => Ok(Preemption {
            node: name.to_string(),
            victims,
        }),
        None => {
            let histogram = histogram.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            Err(format!(
                "preemption: 0/{total_nodes} nodes are available: {}.",
                sorted_histogram(&histogram)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn spec(cpu: &str) -> PodSpec {
        PodSpec {
            containers: vec![Container {
                name: "c".into(),
                resources: Some(ResourceRequirements {
                    requests: Some([("cpu".to_string(), Quantity(cpu.into()))].into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn alloc() -> Resources {
        Resources {
            milli_cpu: 4000,
            memory: 1 << 34,
            pods: 110,
        }
    }

    #[test]
    fn victims_are_minimal_and_lower_priority_only() {
        let s3 = spec("3");
        let s1 = spec("1");
        let resolvable = Failure {
            reasons: vec!["Insufficient cpu".into()],
            resolvable: true,
        };
        let node = NodeCandidate {
            name: "n1",
            failure: &resolvable,
            allocatable: alloc(),
            pods: vec![
                Placed {
                    key: "ns/big-low",
                    priority: 0,
                    spec: &s3,
                },
                Placed {
                    key: "ns/small-high",
                    priority: 100,
                    spec: &s1,
                },
            ],
        };
        let want = spec("2");
        // Priority 50 may only remove big-low, which is enough.
        assert_eq!(
            preempt(&want, 50, 1, &[node]),
            Ok(Preemption {
                node: "n1".into(),
                victims: vec!["ns/big-low".into()]
            })
        );
    }

    #[test]
    fn no_candidate_gives_upstream_postfilter_message() {
        let s4 = spec("4");
        let resolvable = Failure {
            reasons: vec!["Insufficient cpu".into()],
            resolvable: true,
        };
        let taint = Failure {
            reasons: vec!["node(s) had untolerated taint {a: b}".into()],
            resolvable: false,
        };
        let nodes = [
            NodeCandidate {
                name: "n1",
                failure: &resolvable,
                allocatable: alloc(),
                pods: vec![Placed {
                    key: "ns/p",
                    priority: 10,
                    spec: &s4,
                }],
            },
            NodeCandidate {
                name: "n3",
                failure: &resolvable,
                allocatable: alloc(),
                pods: vec![
                    Placed {
                        key: "ns/q",
                        priority: 10,
                        spec: &s4,
                    },
                    Placed {
                        key: "ns/r",
                        priority: 0,
                        spec: &s4,
                    },
                ],
            },
            NodeCandidate {
                name: "n2",
                failure: &taint,
                allocatable: alloc(),
                pods: vec![],
            },
        ];
        assert_eq!(
            preempt(&spec("1"), 10, 3, &nodes),
            Err("preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.".into())
        );
    }

    #[test]
    fn prefers_node_with_lowest_victim_priority() {
        let s4 = spec("4");
        let f = Failure {
            reasons: vec!["Insufficient cpu".into()],
            resolvable: true,
        };
        let nodes = [
            NodeCandidate {
                name: "a",
                failure: &f,
                allocatable: alloc(),
                pods: vec![Placed {
                    key: "ns/a",
                    priority: 5,
                    spec: &s4,
                }],
            },
            NodeCandidate {
                name: "b",
                failure: &f,
                allocatable: alloc(),
                pods: vec![Placed {
                    key: "ns/b",
                    priority: 1,
                    spec: &s4,
                }],
            },
        ];
        assert_eq!(
            preempt(&spec("1"), 10, 2, &nodes).map(|p| p.node),
            Ok("b".to_string())
        );
    }
}
