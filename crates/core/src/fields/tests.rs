//! Table tests ported from upstream `fields/selector_test.go`, the field label conversions and `ToSelectableFields`.

use serde_json::json;

use super::*;

fn fields(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

#[test]
fn parse_and_string_like_upstream_test_selector_parse() {
    let cases = [
        ("", ""),
        ("a=b", "a=b"),
        ("a==b", "a=b"),
        ("a!=b", "a!=b"),
        ("b=c,a=b", "a=b,b=c"),
        ("a=b,", "a=b"),
        (",a=b", "a=b"),
        ("x=a\\,b", "x=a\\,b"),
        ("x=a\\=b", "x=a\\=b"),
        ("x=a\\\\b", "x=a\\\\b"),
        ("x=", "x="),
        ("metadata.name=!x", "metadata.name=!x"),
    ];
    for (input, want) in cases {
        let sel = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(sel.to_string(), want, "{input}");
    }
}

#[test]
fn parse_values_unescape_like_upstream() {
    let sel = FieldSelector::parse("x=a\\,b\\=c\\\\d,y!=").expect("valid");
    assert_eq!(
        sel.requirements(),
        &[
            FieldRequirement {
                field: "x".into(),
                operator: FieldOperator::Equals,
                value: "a,b=c\\d".into()
            },
            FieldRequirement {
                field: "y".into(),
                operator: FieldOperator::NotEquals,
                value: String::new()
            },
        ]
    );
}

#[test]
fn parse_errors_like_upstream() {
    let cases = [
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        (
            "x=a=b",
            "invalid field selector: unescaped character in value: 61",
        ),
        (
            "x!==a",
            "invalid field selector: unescaped character in value: 61",
        ),
        (
            "x=a\\b",
            "invalid field selector: invalid escape sequence: \\b",
        ),
        (
            "x=a\\",
            "invalid field selector: invalid escape sequence: \\",
        ),
    ];
    for (input, want) in cases {
        let err = FieldSelector::parse(input).expect_err(input);
        assert_eq!(err.to_string(), want, "{input}");
    }
}

#[test]
fn matches_like_upstream_test_selector_matches() {
    let f = fields(&[("foo", "bar"), ("baz", "blah")]);
    let cases = [
        ("foo=bar", true),
        ("baz=blah", true),
        ("foo=bar,baz=blah", true),
        ("foo=blah", false),
        ("baz=bar", false),
        ("foo=bar,foobar=bar,baz=blah", false),
        ("foo!=blah", true),
        ("foo!=bar", false),
        ("missing=", true),
        ("missing!=", false),
        ("missing!=x", true),
        ("", true),
    ];
    for (input, want) in cases {
        let sel = FieldSelector::parse(input).expect(input);
        assert_eq!(sel.matches_fields(&f), want, "{input}");
    }
}

#[test]
fn field_names_and_exact_match() {
    let sel = FieldSelector::parse("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed")
        .expect("describe node selector");
    assert_eq!(sel.field_names(), vec!["spec.nodeName", "status.phase"]);
    assert_eq!(sel.requires_exact_match("spec.nodeName"), Some("n1"));
    assert_eq!(sel.requires_exact_match("status.phase"), None);
    assert_eq!(
        FieldSelector::one_term_equal("metadata.name", "a=b").to_string(),
        "metadata.name=a\\=b"
    );
    assert!(FieldSelector::everything().is_empty());
}

#[test]
fn field_label_conversion_like_upstream() {
    let cases: &[(&str, &str, Result<&str, &str>)] = &[
        ("pods", "spec.nodeName", Ok("spec.nodeName")),
        ("pods", "spec.host", Ok("spec.nodeName")),
        ("pods", "status.podIP", Ok("status.podIP")),
        ("pods", "spec.hostNetwork", Ok("spec.hostNetwork")),
        (
            "pods",
            "spec.foo",
            Err("field label not supported: spec.foo"),
        ),
        ("nodes", "spec.unschedulable", Ok("spec.unschedulable")),
        (
            "nodes",
            "metadata.namespace",
            Err("field label not supported: metadata.namespace"),
        ),
        ("namespaces", "status.phase", Ok("status.phase")),
        ("namespaces", "name", Err("field label not supported: name")),
        ("events", "involvedObject.uid", Ok("involvedObject.uid")),
        ("events", "reportingComponent", Ok("reportingComponent")),
        (
            "events",
            "message",
            Err("field label not supported: message"),
        ),
        ("daemonsets", "metadata.name", Ok("metadata.name")),
        ("daemonsets", "metadata.namespace", Ok("metadata.namespace")),
        (
            "daemonsets",
            "spec.foo",
            Err(
                "\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
        ),
    ];
    for (resource, label, want) in cases {
        let got = convert_field_label(resource, label).map_err(|e| e.to_string());
        assert_eq!(
            got.as_deref().map_err(String::as_str),
            *want,
            "{resource} {label}"
        );
    }
    let sel = FieldSelector::parse("spec.host=n1").expect("valid");
    assert_eq!(
        sel.convert_for("pods").expect("supported").to_string(),
        "spec.nodeName=n1"
    );
    assert!(sel.convert_for("nodes").is_err());
}

#[test]
fn pod_selectable_fields_like_upstream() {
    let pod = json!({
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "sa", "hostNetwork": true},
        "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "nominatedNodeName": "n2"}
    });
    assert_eq!(
        pod_selectable_fields(&pod),
        fields(&[
            ("spec.nodeName", "n1"),
            ("spec.restartPolicy", "Always"),
            ("spec.schedulerName", "default-scheduler"),
            ("spec.serviceAccountName", "sa"),
            ("spec.hostNetwork", "true"),
            ("status.phase", "Running"),
            ("status.podIP", "10.0.0.1"),
            ("status.nominatedNodeName", "n2"),
            ("metadata.name", "p"),
            ("metadata.namespace", "ns"),
        ])
    );
    let bare = json!({"metadata": {"name": "q"}});
    let got = pod_selectable_fields(&bare);
    assert!(got.contains(&("spec.hostNetwork", "false".to_string())));
    assert!(got.contains(&("status.podIP", String::new())));
    let sel = FieldSelector::parse("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed")
        .expect("valid");
    assert!(sel.matches_fields(&pod_selectable_fields(&pod)));
    assert!(!sel.matches_fields(&got));
}

#[test]
fn node_namespace_event_and_generic_fields() {
    let node = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
    assert_eq!(
        selectable_fields("nodes", false, &node),
        fields(&[("spec.unschedulable", "true"), ("metadata.name", "n1")])
    );
    let ns = json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}});
    assert_eq!(
        selectable_fields("namespaces", false, &ns),
        fields(&[
            ("status.phase", "Active"),
            ("name", "default"),
            ("metadata.name", "default")
        ])
    );
    let ev = json!({
        "metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": {"kind": "DaemonSet", "name": "ds", "namespace": "default", "uid": "u1", "apiVersion": "apps/v1"},
        "reason": "SuccessfulCreate", "type": "Normal", "reportingComponent": "daemonset-controller"
    });
    let got = selectable_fields("events", true, &ev);
    assert!(got.contains(&("source", "daemonset-controller".to_string())));
    assert!(got.contains(&("involvedObject.uid", "u1".to_string())));
    assert!(got.contains(&("involvedObject.fieldPath", String::new())));
    let sel = FieldSelector::parse(
        "involvedObject.kind=DaemonSet,involvedObject.name=ds,involvedObject.namespace=default,involvedObject.uid=u1",
    )
    .expect("describe selector");
    assert!(sel.matches_fields(&got));
    let cm = json!({"metadata": {"name": "c", "namespace": "kube-system"}});
    assert_eq!(
        selectable_fields("configmaps", true, &cm),
        fields(&[
            ("metadata.name", "c"),
            ("metadata.namespace", "kube-system")
        ])
    );
    assert_eq!(
        selectable_fields("priorityclasses", false, &cm),
        fields(&[("metadata.name", "c")])
    );
}
