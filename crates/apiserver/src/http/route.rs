//! Request paths to routes: which endpoint, resource, namespace, name and subresource a URL names.

use crate::resources::{self, Resource};

/// What a request path addresses.
#[derive(Debug, PartialEq)]
pub enum Route {
    Version,
    Health(&'static str),
    /// `/api`: legacy APIVersions or the aggregated core group.
    CoreGroups,
    /// `/apis`: APIGroupList or the aggregated groups.
    Groups,
    /// `/api/v1` or `/apis/<group>/<version>`: the APIResourceList.
    GroupVersion {
        group: String,
        version: String,
    },
    OpenApiV3Index,
    OpenApiV3Document(String),
    OpenApiV2,
    /// A resource collection, object or subresource.
    Resource(Target),
    /// `POST /api/v1/namespaces/<ns>/bindings`, the legacy form of `pods/binding`.
    Bindings {
        namespace: String,
    },
}

/// A resource collection (`name: None`), object, or object subresource.
#[derive(Debug, PartialEq)]
pub struct Target {
    pub resource: &'static Resource,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Parses a request path (without the query). `None` means 404.
pub fn parse(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz"] => Some(Route::Health("healthz")),
        ["readyz"] => Some(Route::Health("readyz")),
        ["livez"] => Some(Route::Health("livez")),
        ["api"] => Some(Route::CoreGroups),
        ["apis"] => Some(Route::Groups),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["openapi", "v3"] => Some(Route::OpenApiV3Index),
        ["openapi", "v3", rest @ ..] if !rest.is_empty() => {
            Some(Route::OpenApiV3Document(rest.join("/")))
        }
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => None,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Option<Route> {
    if !resources::groups().contains(&(group, version)) {
        return None;
    }
    let find = |plural: &str| resources::find(group, version, plural);
    let target = |resource, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Some(Route::Resource(Target {
            resource,
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
            subresource: sub.map(str::to_owned),
        }))
    };
    match rest {
        [] => Some(Route::GroupVersion {
            group: group.to_owned(),
            version: version.to_owned(),
        }),
        // Namespaced paths: /namespaces/<ns>/<plural>[/<name>[/<sub>]]. The segment after the
        // namespace name is a resource when one of that name is namespaced, otherwise it is a
        // subresource of the namespace itself (status, finalize).
        ["namespaces", ns, plural, more @ ..]
            if find(plural).is_some_and(|r| r.namespaced) && !ns.is_empty() =>
        {
            let resource = find(plural)?;
            match more {
                [] => target(resource, Some(ns), None, None),
                [name] => target(resource, Some(ns), Some(name), None),
                [name, sub] => target(resource, Some(ns), Some(name), Some(sub)),
                _ => None,
            }
        }
        ["namespaces", ns, "bindings"] if group.is_empty() => Some(Route::Bindings {
            namespace: (*ns).to_owned(),
        }),
        [plural, more @ ..] => {
            let resource = find(plural)?;
            match more {
                // A namespaced resource across all namespaces: collection only.
                [] => target(resource, None, None, None),
                [name] if !resource.namespaced => target(resource, None, Some(name), None),
                [name, sub] if !resource.namespaced => {
                    target(resource, None, Some(name), Some(sub))
                }
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match parse(path) {
            Some(Route::Resource(t)) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_paths() {
        let t = target("/apis/apps/v1/namespaces/kube-system/daemonsets/fluentd/status");
        assert_eq!(t.resource.kind, "DaemonSet");
        assert_eq!(t.namespace.as_deref(), Some("kube-system"));
        assert_eq!(t.name.as_deref(), Some("fluentd"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let all = target("/api/v1/pods");
        assert_eq!((all.resource.kind, all.namespace), ("Pod", None));
    }

    #[test]
    fn namespace_subresources_are_not_resources() {
        let t = target("/api/v1/namespaces/demo/finalize");
        assert_eq!(t.resource.kind, "Namespace");
        assert_eq!(t.name.as_deref(), Some("demo"));
        assert_eq!(t.subresource.as_deref(), Some("finalize"));
        let ns = target("/api/v1/namespaces/demo");
        assert_eq!((ns.name.as_deref(), ns.subresource), (Some("demo"), None));
    }

    #[test]
    fn unknown_paths_and_groups_are_none() {
        assert_eq!(parse("/apis/batch/v1/jobs"), None);
        assert_eq!(parse("/api/v1/widgets"), None);
        assert_eq!(
            parse("/api/v1/pods/x"),
            None,
            "namespaced object needs a namespace"
        );
        assert_eq!(parse("/nope"), None);
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(parse("/api"), Some(Route::CoreGroups));
        assert_eq!(
            parse("/apis/apps/v1"),
            Some(Route::GroupVersion {
                group: "apps".into(),
                version: "v1".into()
            })
        );
        assert_eq!(
            parse("/openapi/v3/apis/apps/v1"),
            Some(Route::OpenApiV3Document("apis/apps/v1".into()))
        );
    }
}
