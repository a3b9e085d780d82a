//! An in-memory cluster that carries plans out, for table tests (upstream's fake pod control, spec §5.1) and convergence properties.

use everynode_core::keys::CONTROLLER_REVISION_HASH_LABEL;
use everynode_core::labels::Selector;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};

use crate::fixtures::{set_created, set_ready};
use crate::plan::pod_template::{controller_owner_ref, creation_template, pod_for_node};
use crate::plan::rolling::plan_rolling_update;
use crate::plan::snapshot::Snapshot;
use crate::plan::status::{StatusCounters, compute_status, status_to_write};
use crate::plan::{FailedPodBackoff, Plan, PlanEvent, PlanInput, PodDelete, budget, plan};

/// What one sync did.
#[derive(Debug, Default)]
pub struct Synced {
    /// Nodes pods were created for.
    pub creates: Vec<String>,
    /// Pods deleted.
    pub deletes: Vec<PodDelete>,
    /// Controller events.
    pub events: Vec<PlanEvent>,
    /// Counters computed after the sync (upstream re-lists before the status write).
    pub status: StatusCounters,
    /// The first plan.
    pub plan: Plan,
}

/// A cluster: one DaemonSet, its nodes, pods, revisions, backoff table and clock.
pub struct Sim {
    pub ds: DaemonSet,
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub revisions: Vec<ControllerRevision>,
    pub backoff: FailedPodBackoff,
    pub now: Timestamp,
    /// Created pods become Ready at creation.
    pub ready_on_create: bool,
    /// Created pods are bound (`spec.nodeName`) at creation, as the scheduler would.
    pub bind_on_create: bool,
    seq: usize,
}

pub fn t0() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Sim {
    pub fn new(ds: DaemonSet, nodes: Vec<Node>, pods: Vec<Pod>) -> Self {
        Sim {
            ds,
            nodes,
            pods,
            revisions: Vec::new(),
            backoff: FailedPodBackoff::default(),
            now: t0(),
            ready_on_create: false,
            bind_on_create: false,
            seq: 0,
        }
    }

    fn input<'a>(&'a self, nodes: &'a [&'a Node], pods: &'a [&'a Pod]) -> PlanInput<'a> {
        PlanInput {
            ds: &self.ds,
            nodes,
            pods,
            revisions: &self.revisions,
            backoff: &self.backoff,
            expectations_satisfied: true,
            now: self.now,
        }
    }

    /// The plan for the current state, without carrying it out.
    pub fn plan(&self) -> Plan {
        let (nodes, pods) = (
            crate::plan::refs(&self.nodes),
            crate::plan::refs(&self.pods),
        );
        plan(&self.input(&nodes, &pods)).expect("plan")
    }

    /// One sync as upstream's unit tests see it: the fake pod control observes creates and
    /// deletes at once, so the rolling update runs right after manage in the same sync.
    pub fn sync(&mut self) -> Synced {
        let first = self.plan();
        let mut out = Synced {
            creates: first.creates.clone(),
            deletes: first.deletes.clone(),
            events: first.events.clone(),
            ..Synced::default()
        };
        let manage_acted = !first.creates.is_empty() || !first.deletes.is_empty();
        let stop = first.selecting_all || first.history.is_none();
        self.apply(&first);
        if !stop && manage_acted && budget::is_rolling_update(&self.ds) {
            let hash = first
                .history
                .as_ref()
                .map(|h| h.hash.clone())
                .unwrap_or_default();
            let rolling = {
                let selector = self.selector();
                let (nodes, pods) = (
                    crate::plan::refs(&self.nodes),
                    crate::plan::refs(&self.pods),
                );
                let snap = Snapshot::new(&self.ds, &selector, &nodes, &pods, &hash);
                plan_rolling_update(&snap, self.now).expect("rolling")
            };
            self.create(&rolling.creates, &hash);
            self.delete(&rolling.deletes);
            out.creates.extend(rolling.creates);
            out.deletes.extend(rolling.deletes);
        }
        if !stop {
            let hash = first
                .history
                .as_ref()
                .map(|h| h.hash.clone())
                .unwrap_or_default();
            let selector = self.selector();
            let (nodes, pods) = (
                crate::plan::refs(&self.nodes),
                crate::plan::refs(&self.pods),
            );
            let snap = Snapshot::new(&self.ds, &selector, &nodes, &pods, &hash);
            out.status = compute_status(&snap, self.now);
            if let Some(status) = status_to_write(&self.ds, out.status, true) {
                self.ds.status = Some(status);
            }
        }
        out.plan = first;
        out
    }

    /// One sync as a real cluster sees it: the plan as is, nothing else.
    pub fn sync_real(&mut self) -> Plan {
        let p = self.plan();
        self.apply(&p);
        if let Some(status) = &p.status {
            self.ds.status = Some(status.clone());
        }
        p
    }

    fn selector(&self) -> Selector {
        Selector::from_label_selector(self.ds.spec.as_ref().map(|s| &s.selector)).expect("selector")
    }

    /// Carries a plan out.
    pub fn apply(&mut self, p: &Plan) {
        for claim in &p.adopt_pods {
            if let Some(pod) = self
                .pods
                .iter_mut()
                .find(|x| x.metadata.name.as_ref() == Some(&claim.name))
            {
                pod.metadata.owner_references = Some(vec![controller_owner_ref(&self.ds)]);
            }
        }
        if let Some(h) = &p.history {
            for name in &h.relabel_pods {
                if let Some(pod) = self
                    .pods
                    .iter_mut()
                    .find(|x| x.metadata.name.as_ref() == Some(name))
                {
                    pod.metadata
                        .labels
                        .get_or_insert_with(Default::default)
                        .insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), h.hash.clone());
                }
            }
            self.revisions.retain(|r| {
                let name = r.metadata.name.clone().unwrap_or_default();
                !h.delete_duplicates.contains(&name)
            });
            if let Some(name) = &h.renumber
                && let Some(cr) = self
                    .revisions
                    .iter_mut()
                    .find(|r| r.metadata.name.as_ref() == Some(name))
            {
                cr.revision = h.current_revision;
            }
            if let Some(cr) = &h.create {
                self.revisions.push(cr.clone());
            }
        }
        self.revisions.retain(|r| {
            let name = r.metadata.name.clone().unwrap_or_default();
            !p.revisions_to_delete.contains(&name)
        });
        let hash = p
            .history
            .as_ref()
            .map(|h| h.hash.clone())
            .unwrap_or_default();
        self.create(&p.creates, &hash);
        self.delete(&p.deletes);
        self.backoff.apply(p.backoff_updates.iter().cloned());
    }

    fn create(&mut self, nodes: &[String], hash: &str) {
        if nodes.is_empty() {
            return;
        }
        let template = creation_template(&self.ds, hash);
        for node in nodes {
            let mut pod = pod_for_node(&self.ds, &template, node).expect("pod");
            self.seq += 1;
            let prefix = pod.metadata.generate_name.take().unwrap_or_default();
            pod.metadata.name = Some(format!("{prefix}{:06}", self.seq));
            set_created(&mut pod, self.now);
            if self.bind_on_create
                && let Some(spec) = pod.spec.as_mut()
            {
                spec.node_name = Some(node.clone());
            }
            if self.ready_on_create {
                set_ready(&mut pod, true, self.now);
            }
            self.pods.push(pod);
        }
    }

    fn delete(&mut self, deletes: &[PodDelete]) {
        self.pods.retain(|p| {
            let name = p.metadata.name.as_deref().unwrap_or("");
            !deletes.iter().any(|d| d.name == name)
        });
    }

    /// Marks every pod Ready since now.
    pub fn mark_all_ready(&mut self) {
        let now = self.now;
        for pod in &mut self.pods {
            if !everynode_core::pod::is_pod_ready(pod) {
                set_ready(pod, true, now);
            }
        }
    }

    /// Advances the clock.
    pub fn advance(&mut self, d: std::time::Duration) {
        self.now = self.now.checked_add(d).unwrap_or(self.now);
    }
}
