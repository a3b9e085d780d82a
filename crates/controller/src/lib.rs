//! The everynode DaemonSet controller. Today: the pure planner; the kube-rs executor comes next.
//!
//! Newcomers: start with [`plan::plan`] — one DaemonSet sync as a pure function from
//! [`plan::PlanInput`] (DaemonSet, nodes, pods, revisions, backoff table, clock) to a
//! [`plan::Plan`] (pods to create and delete, events, backoff updates, history changes, status).
//! Its steps live in `plan/`, one module each, named after upstream's functions they follow
//! (see `spec/daemonset.md` §1–§2). [`fixtures`] builds test objects tersely.

pub mod fixtures;
pub mod plan;

#[cfg(test)]
mod testing;
