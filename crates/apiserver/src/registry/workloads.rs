//! The rules of apps/v1 Deployments and ReplicaSets: defaults, strategy and validation from `everynode_core::workloads`.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde_json::Value;

use everynode_core::{validation, workloads};

use super::decode::canonicalize;
use super::kinds::{Admission, Rules, has_selector, keep_status, typed, typed_update};
use crate::error::Cause;

fn deployment_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    let selector = has_selector(value);
    typed(value, |d: &mut Deployment| {
        workloads::default_deployment(d);
        workloads::deployment_prepare_for_create(d);
        validation::deployment_create(d, selector)
    })
}

fn deployment_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    keep_status(new, old);
    let selector = has_selector(new);
    typed_update(new, old, |new: &mut Deployment, old| {
        workloads::default_deployment(new);
        workloads::deployment_prepare_for_update(new, old);
        validation::deployment_update(new, old, selector)
    })
}

fn deployment_status_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut Deployment, old| {
        workloads::deployment_prepare_for_status_update(new, old);
        validation::deployment_status_update(new, old)
    })
}

fn replica_set_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    let selector = has_selector(value);
    typed(value, |rs: &mut ReplicaSet| {
        workloads::default_replica_set(rs);
        workloads::replica_set_prepare_for_create(rs);
        validation::replica_set_create(rs, selector)
    })
}

fn replica_set_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    keep_status(new, old);
    let selector = has_selector(new);
    typed_update(new, old, |new: &mut ReplicaSet, old| {
        workloads::default_replica_set(new);
        workloads::replica_set_prepare_for_update(new, old);
        validation::replica_set_update(new, old, selector)
    })
}

fn replica_set_status_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut ReplicaSet, old| {
        workloads::replica_set_prepare_for_status_update(new, old);
        validation::replica_set_status_update(new, old)
    })
}

/// apps/v1 Deployments.
pub(super) static DEPLOYMENTS: Rules = Rules {
    decode: canonicalize::<Deployment>,
    create: deployment_create,
    update: deployment_update,
    status_update: deployment_status_update,
};

/// apps/v1 ReplicaSets.
pub(super) static REPLICA_SETS: Rules = Rules {
    decode: canonicalize::<ReplicaSet>,
    create: replica_set_create,
    update: replica_set_update,
    status_update: replica_set_status_update,
};
