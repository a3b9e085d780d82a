//! RBAC objects through the real kubectl: stored, printed with upstream columns, validated, and removed with their namespace.

use std::time::Duration;

use crate::support::{Kubectl, Server, wait_for};

const RBAC: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules:
- apiGroups: ['']
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: read-all
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: reader
subjects:
- kind: User
  name: alice
- kind: Group
  name: devs
- kind: ServiceAccount
  name: builder
  namespace: default
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: lease-writer
  namespace: default
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: ['*']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: lease-writer
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: lease-writer
subjects:
- kind: ServiceAccount
  name: builder
";

/// The header words of every table kubectl printed (one per resource kind asked for).
fn headers(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .filter(|l| l.starts_with("NAME"))
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[test]
fn rbac_objects_apply_and_print_upstream_columns() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let out = kubectl.apply(RBAC).ok();
    for created in [
        "clusterrole.rbac.authorization.k8s.io/reader created",
        "clusterrolebinding.rbac.authorization.k8s.io/read-all created",
        "role.rbac.authorization.k8s.io/lease-writer created",
        "rolebinding.rbac.authorization.k8s.io/lease-writer created",
    ] {
        assert!(out.contains(created), "{out}");
    }

    let table = kubectl
        .run(&["get", "clusterroles,clusterrolebindings"])
        .ok();
    assert_eq!(
        headers(&table),
        [vec!["NAME", "CREATED", "AT"], vec!["NAME", "ROLE", "AGE"]],
        "{table}"
    );
    assert!(
        table.contains("clusterrole.rbac.authorization.k8s.io/reader"),
        "{table}"
    );
    assert!(table.contains("ClusterRole/reader"), "{table}");

    let wide = kubectl
        .run(&["get", "clusterrolebinding", "read-all", "-o", "wide"])
        .ok();
    assert_eq!(
        headers(&wide),
        [vec![
            "NAME",
            "ROLE",
            "AGE",
            "USERS",
            "GROUPS",
            "SERVICEACCOUNTS"
        ]],
        "{wide}"
    );
    assert!(wide.contains("alice"), "{wide}");
    assert!(wide.contains("default/builder"), "{wide}");

    let roles = kubectl
        .run(&["get", "roles,rolebindings", "-n", "default"])
        .ok();
    assert_eq!(
        headers(&roles),
        [vec!["NAME", "CREATED", "AT"], vec!["NAME", "ROLE", "AGE"]],
        "{roles}"
    );
    assert!(roles.contains("Role/lease-writer"), "{roles}");

    // Upstream defaulting: User and Group subjects get the RBAC group, ServiceAccounts none.
    let groups = kubectl.jsonpath(
        &["get", "clusterrolebinding", "read-all"],
        "{.subjects[*].apiGroup}",
    );
    assert_eq!(
        groups.trim(),
        "rbac.authorization.k8s.io rbac.authorization.k8s.io"
    );
    let verbs = kubectl.jsonpath(&["get", "clusterrole", "reader"], "{.rules[0].verbs}");
    assert_eq!(verbs.trim(), r#"["get","list","watch"]"#);

    // Re-applying the same manifest is a no-op, and the apply patch of an atomic list works.
    let out = kubectl
        .apply(&RBAC.replace("[get, list, watch]", "[get]"))
        .ok();
    assert!(
        out.contains("clusterrole.rbac.authorization.k8s.io/reader configured"),
        "{out}"
    );
    assert!(
        out.contains("rolebinding.rbac.authorization.k8s.io/lease-writer unchanged"),
        "{out}"
    );
    let verbs = kubectl.jsonpath(&["get", "clusterrole", "reader"], "{.rules[0].verbs}");
    assert_eq!(verbs.trim(), r#"["get"]"#);
}

#[test]
fn typed_create_commands_work() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    // These typed commands send protobuf bodies.
    let runs: [(&[&str], &str); 4] = [
        (
            &[
                "create",
                "clusterrole",
                "x",
                "--verb=get",
                "--resource=pods",
            ],
            "clusterrole.rbac.authorization.k8s.io/x created",
        ),
        (
            &[
                "create",
                "role",
                "y",
                "--verb=list",
                "--resource=leases.coordination.k8s.io",
            ],
            "role.rbac.authorization.k8s.io/y created",
        ),
        (
            &["create", "rolebinding", "y", "--role=y", "--user=alice"],
            "rolebinding.rbac.authorization.k8s.io/y created",
        ),
        (
            &[
                "create",
                "clusterrolebinding",
                "x",
                "--clusterrole=x",
                "--serviceaccount=default:builder",
            ],
            "clusterrolebinding.rbac.authorization.k8s.io/x created",
        ),
    ];
    for (args, expected) in runs {
        let out = kubectl.run(args).ok();
        assert!(out.contains(expected), "{out}");
    }
    let rule = kubectl.jsonpath(
        &["get", "clusterrole", "x"],
        "{.rules[0].resources[0]} {.rules[0].verbs[0]}",
    );
    assert_eq!(rule.trim(), "pods get");
    let rule = kubectl.jsonpath(&["get", "role", "y"], "{.rules[0].apiGroups[0]}");
    assert_eq!(rule.trim(), "coordination.k8s.io");
    let subject = kubectl.jsonpath(
        &["get", "clusterrolebinding", "x"],
        "{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind} {.subjects[0].namespace}/{.subjects[0].name}",
    );
    assert_eq!(
        subject.trim(),
        "ClusterRole/x ServiceAccount default/builder"
    );
    let subject = kubectl.jsonpath(&["get", "rolebinding", "y"], "{.subjects[0].apiGroup}");
    assert_eq!(subject.trim(), "rbac.authorization.k8s.io");
}

#[test]
fn invalid_bindings_get_422_and_role_ref_is_immutable() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    let bad = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: bad
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: builder
- kind: Robot
  name: r2
";
    let error = kubectl.apply(bad).err();
    for expected in [
        // kubectl rewords a 422 Invalid Status as "The <Kind> <name> is invalid" plus its causes.
        r#"The ClusterRoleBinding "bad" is invalid"#,
        r#"roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole""#,
        "subjects[0].namespace: Required value",
        r#"subjects[1].kind: Unsupported value: "Robot""#,
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let out = kubectl
        .run(&[
            "create",
            "clusterrole",
            "dry",
            "--verb=get",
            "--resource=pods",
            "--dry-run=server",
        ])
        .ok();
    assert!(out.contains("(server dry run)"), "{out}");
    let error = kubectl
        // A POST, since client-go refuses such a name in a request path before sending.
        .run_with_input(
            &["create", "-f", "-"],
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: '..', namespace: default}\n",
        )
        .err();
    assert!(
        error.contains("metadata.name: Invalid value: \"..\": may not be '..'"),
        "{error}"
    );
    let error = kubectl
        .apply("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules: [{apiGroups: [''], resources: [pods]}]\n")
        .err();
    assert!(
        error.contains("rules[0].verbs: Required value: verbs must contain at least one value"),
        "{error}"
    );

    let binding = "
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: b
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: User
  name: alice
";
    kubectl.apply(binding).ok();
    let error = kubectl
        .apply(&binding.replace("name: view", "name: edit"))
        .err();
    assert!(
        error.contains(r#"roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef"#),
        "{error}"
    );
    // Subjects may change.
    let out = kubectl.apply(&binding.replace("alice", "bob")).ok();
    assert!(
        out.contains("rolebinding.rbac.authorization.k8s.io/b configured"),
        "{out}"
    );
}

#[test]
fn deleting_a_namespace_deletes_its_roles_and_bindings() {
    let server = Server::apiserver();
    let kubectl = Kubectl::new(&server.kubeconfig());
    kubectl.run(&["create", "namespace", "team"]).ok();
    kubectl
        .run(&[
            "create",
            "role",
            "r",
            "--verb=get",
            "--resource=pods",
            "-n",
            "team",
        ])
        .ok();
    kubectl
        .run(&[
            "create",
            "rolebinding",
            "r",
            "--role=r",
            "--group=devs",
            "-n",
            "team",
        ])
        .ok();
    kubectl
        .run(&["delete", "namespace", "team", "--timeout=60s"])
        .ok();
    let left = wait_for(
        "the namespace's RBAC objects to go",
        Duration::from_secs(20),
        || {
            let out = kubectl
                .run(&["get", "roles,rolebindings", "-A", "-o", "name"])
                .ok();
            (!out.contains("/r")).then_some(out)
        },
    );
    assert!(left.trim().is_empty(), "{left}");
}
