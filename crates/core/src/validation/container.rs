//! Container-level validation helpers for pod specs: ports, host-port conflicts, volume mounts, resources and probes (upstream `pkg/apis/core/validation`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

use super::pod::{PROTOCOLS, enum_field, range_error};
use super::{FieldError, NONNEGATIVE, Path, nonnegative, q};
use crate::labels::max_len_error;
use crate::quantity::Quantity;

/// Upstream `validateContainerPorts`.
pub(super) fn ports(c: &Container, path: &Path, errs: &mut Vec<FieldError>) {
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in c.ports.iter().flatten().enumerate() {
        let p = path.index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = port_name_errors(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(FieldError::invalid(p.child("name").as_str(), q(name), &m));
                }
            } else if names.contains(&name) {
                errs.push(FieldError::duplicate(p.child("name").as_str(), q(name)));
            } else {
                names.push(name);
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(p.child("containerPort").as_str(), ""));
        } else if !(1..=65535).contains(&port.container_port) {
            errs.push(FieldError::invalid(
                p.child("containerPort").as_str(),
                port.container_port.to_string(),
                &range_error(1, 65535),
            ));
        }
        if let Some(hp) = port.host_port.filter(|hp| *hp != 0)
            && !(1..=65535).contains(&hp)
        {
            errs.push(FieldError::invalid(
                p.child("hostPort").as_str(),
                hp.to_string(),
                &range_error(1, 65535),
            ));
        }
        enum_field(
            port.protocol.as_deref(),
            &PROTOCOLS,
            &p.child("protocol"),
            errs,
        );
    }
}

/// Upstream `IsValidPortName`.
fn port_name_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push(max_len_error(15));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// Upstream `AccumulateUniqueHostPorts`: `hostIP/protocol/port` must be unique.
pub(super) fn host_port_conflicts(
    containers: &[Container],
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    let mut seen: Vec<String> = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in c.ports.iter().flatten().enumerate() {
            let host_port = port.host_port.unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{host_port}",
                port.host_ip.as_deref().unwrap_or(""),
                port.protocol.as_deref().unwrap_or("")
            );
            if seen.contains(&key) {
                let p = path.index(ci).child("ports").index(pi).child("hostPort");
                errs.push(FieldError::duplicate(p.as_str(), q(&key)));
            } else {
                seen.push(key);
            }
        }
    }
}

/// Upstream `ValidateVolumeMounts` (name, existence, mountPath, uniqueness).
pub(super) fn mounts(c: &Container, volumes: &[String], path: &Path, errs: &mut Vec<FieldError>) {
    let mut mount_points: Vec<&str> = Vec::new();
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let p = path.index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(p.child("name").as_str(), ""));
        }
        if !volumes.contains(&m.name) {
            errs.push(FieldError::not_found(p.child("name").as_str(), q(&m.name)));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(p.child("mountPath").as_str(), ""));
        }
        if mount_points.contains(&m.mount_path.as_str()) {
            errs.push(FieldError::invalid(
                p.child("mountPath").as_str(),
                q(&m.mount_path),
                "must be unique",
            ));
        }
        mount_points.push(&m.mount_path);
    }
}

/// Upstream `ValidateContainerResources` (quantities ≥ 0, requests ≤ limits).
pub(super) fn resources(c: &Container, path: &Path, errs: &mut Vec<FieldError>) {
    let Some(r) = c.resources.as_ref() else {
        return;
    };
    let empty = BTreeMap::new();
    let limits = r.limits.as_ref().unwrap_or(&empty);
    let lim_path = path.child("limits");
    for (name, value) in limits {
        quantity_value(value, &lim_path.key(name), errs);
    }
    let req_path = path.child("requests");
    for (name, value) in r.requests.iter().flatten() {
        let Some(req) = quantity_value(value, &req_path.key(name), errs) else {
            continue;
        };
        let Some(limit) = limits.get(name) else {
            continue;
        };
        let Ok(lim) = Quantity::parse(&limit.0) else {
            continue;
        };
        // Upstream `IsOvercommitAllowed`: native (unprefixed or `kubernetes.io/`) non-hugepage
        // resources; the others (devices, hugepages) need request == limit.
        let native = !name.contains('/') || name.contains("kubernetes.io/");
        let overcommit = native && !name.starts_with("hugepages-");
        if !overcommit && req.milli_value() != lim.milli_value() {
            errs.push(FieldError::invalid(
                req_path.as_str(),
                q(&value.0),
                &format!("must be equal to {name} limit of {}", limit.0),
            ));
        } else if req.milli_value() > lim.milli_value() {
            errs.push(FieldError::invalid(
                req_path.as_str(),
                q(&value.0),
                &format!("must be less than or equal to {name} limit of {}", limit.0),
            ));
        }
    }
}

fn quantity_value(
    value: &ApiQuantity,
    path: &Path,
    errs: &mut Vec<FieldError>,
) -> Option<Quantity> {
    match Quantity::parse(&value.0) {
        Err(e) => {
            errs.push(FieldError::invalid(
                path.as_str(),
                q(&value.0),
                &e.to_string(),
            ));
            None
        }
        Ok(v) if v.is_negative() => {
            errs.push(FieldError::invalid(path.as_str(), q(&value.0), NONNEGATIVE));
            None
        }
        Ok(v) => Some(v),
    }
}

/// Upstream liveness/readiness/startup probe validation (thresholds, one handler).
pub(super) fn probes(c: &Container, path: &Path, errs: &mut Vec<FieldError>) {
    for (field, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        let Some(probe) = probe.as_ref() else {
            continue;
        };
        let p = path.child(field);
        if field != "readinessProbe" && probe.success_threshold.unwrap_or(0) != 1 {
            errs.push(FieldError::invalid(
                p.child("successThreshold").as_str(),
                probe.success_threshold.unwrap_or(0).to_string(),
                "must be 1",
            ));
        }
        if field == "readinessProbe" && probe.termination_grace_period_seconds.is_some() {
            errs.push(FieldError::invalid(
                p.child("terminationGracePeriodSeconds").as_str(),
                probe
                    .termination_grace_period_seconds
                    .unwrap_or(0)
                    .to_string(),
                "must not be set for readinessProbes",
            ));
        }
        probe_common(probe, &p, errs);
    }
}

fn probe_common(probe: &Probe, path: &Path, errs: &mut Vec<FieldError>) {
    let handlers: Vec<&str> = [
        ("exec", probe.exec.is_some()),
        ("httpGet", probe.http_get.is_some()),
        ("tcpSocket", probe.tcp_socket.is_some()),
        ("grpc", probe.grpc.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, set)| set.then_some(n))
    .collect();
    match handlers.as_slice() {
        [] => errs.push(FieldError::required(
            path.as_str(),
            "must specify a handler type",
        )),
        [_] => {}
        [_, rest @ ..] => {
            for h in rest {
                errs.push(FieldError::forbidden(
                    path.child(h).as_str(),
                    "may not specify more than 1 handler type",
                ));
            }
        }
    }
    for (field, v) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        nonnegative(i64::from(v.unwrap_or(0)), &path.child(field), errs);
    }
}
