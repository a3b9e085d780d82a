//! Discovery: `/version`, legacy `/api` `/apis` and group-version lists, and aggregated discovery.

use http::{StatusCode, header};
use serde_json::{Value, json};

use super::Call;
use super::body::{self, ResponseBody};
use crate::error::ApiError;
use crate::resources::{self, RESOURCES, Resource};

pub mod metrics;

/// The Kubernetes minor version we report. kubectl on PATH is a dispatcher that runs the client
/// matching this (api.md "Tooling gotcha"), so it decides which kubectl the tests exercise.
pub const MINOR: &str = "32";
pub const GIT_VERSION: &str = "v1.32.0";

pub fn version() -> http::Response<ResponseBody> {
    body::json(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": MINOR,
            "gitVersion": GIT_VERSION,
            "gitCommit": concat!("everynode-", env!("CARGO_PKG_VERSION")),
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23.0",
            "compiler": "gc",
            "platform": format!("{}/{}", std::env::consts::OS, arch()),
        }),
    )
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Which aggregated discovery version the Accept header asks for, if any (api.md §1).
fn aggregated_version(call: &Call) -> Option<&'static str> {
    let accept = call.headers.get(header::ACCEPT)?.to_str().ok()?;
    let mut wanted = None;
    for range in accept.split(',') {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        let has = |p: &str| params.iter().any(|x| x.eq_ignore_ascii_case(p));
        if !(has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList")) {
            continue;
        }
        // The client lists its preference first; answer the first version we serve.
        if has("v=v2") {
            return Some("v2");
        }
        if has("v=v2beta1") && wanted.is_none() {
            wanted = Some("v2beta1");
        }
    }
    wanted
}

fn aggregated(version: &str, core: bool) -> http::Response<ResponseBody> {
    let mut items: Vec<Value> = resources::groups()
        .into_iter()
        .filter(|(group, _)| group.is_empty() == core)
        .map(|(group, gv_version)| {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|r| r.group == group)
                .map(aggregated_resource)
                .collect();
            json!({
                "metadata": {"name": group},
                "versions": [{"version": gv_version, "resources": resources, "freshness": "Current"}],
            })
        })
        .collect();
    if !core {
        items.push(metrics::aggregated_group());
    }
    let list = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    body::respond(
        StatusCode::OK,
        &format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"),
        serde_json::to_vec(&list).unwrap_or_default().into(),
    )
}

fn aggregated_resource(r: &Resource) -> Value {
    let subresources: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            json!({
                "subresource": s.name,
                "responseKind": {"group": s.group.unwrap_or(""), "version": s.version.unwrap_or(""), "kind": s.kind},
                "verbs": s.verbs,
            })
        })
        .collect();
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

/// `/api`: both `/api` and `/apis` answer aggregated or both legacy (client-go throws away
/// aggregated resources unless both are).
pub fn core_groups(call: &Call) -> http::Response<ResponseBody> {
    if let Some(version) = aggregated_version(call) {
        return aggregated(version, true);
    }
    let address = call
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:6443");
    body::json(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        }),
    )
}

pub fn groups(call: &Call) -> http::Response<ResponseBody> {
    if let Some(version) = aggregated_version(call) {
        return aggregated(version, false);
    }
    let groups: Vec<Value> = resources::groups()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .chain([(metrics::GROUP, metrics::VERSION)])
        .map(|(group, version)| {
            let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    body::json(
        StatusCode::OK,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

/// `/api/v1` or `/apis/<g>/<v>`: subresources appear as `parent/sub` entries.
pub fn resource_list(group: &str, version: &str) -> Result<http::Response<ResponseBody>, ApiError> {
    let mut entries = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        entries.push(entry);
        for s in r.subresources {
            let mut sub = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if let (Some(g), Some(v)) = (s.group, s.version) {
                sub["group"] = json!(g);
                sub["version"] = json!(v);
            }
            entries.push(sub);
        }
    }
    if entries.is_empty() {
        return Err(ApiError::no_route());
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Ok(body::json(
        StatusCode::OK,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}),
    ))
}
