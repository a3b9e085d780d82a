//! The everynode DaemonSet controller: a pure planner and the kube-rs executor around it.
//!
//! Newcomers: start with [`plan::plan`] — one DaemonSet sync as a pure function from
//! [`plan::PlanInput`] (DaemonSet, nodes, pods, revisions, backoff table, clock) to a
//! [`plan::Plan`] (pods to create and delete, events, backoff updates, history changes, status).
//! Its steps live in `plan/`, one module each, named after upstream's functions they follow
//! (see `spec/daemonset.md` §1–§2). [`runtime`] runs it against an API server: informers, work
//! queue, expectations, and the executor that carries a plan out. [`fixtures`] builds test
//! objects tersely. [`workloads`] starts the ReplicaSet and Deployment controllers, each a pure
//! planner (`replicaset::plan`, `deployment::plan`) and a thin executor.

pub mod deployment;
pub mod fixtures;
pub mod plan;
pub mod replicaset;
pub mod runtime;
pub mod workloads;

#[cfg(test)]
mod testing;
