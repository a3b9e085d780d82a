//! Table tests ported from upstream `nodeaffinity_test.go`, the scheduler's
//! `TestPodMatchesNodeSelectorAndAffinityTerms` and `daemonset_util_test.go`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodAffinity, PodSpec, PreferredSchedulingTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn node(name: &str, pairs: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: (!name.is_empty()).then(|| name.to_string()),
            labels: Some(labels(pairs)),
            ..ObjectMeta::default()
        },
        ..Node::default()
    }
}

fn r(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

fn term(
    exprs: Vec<NodeSelectorRequirement>,
    fields: Vec<NodeSelectorRequirement>,
) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: (!exprs.is_empty()).then_some(exprs),
        match_fields: (!fields.is_empty()).then_some(fields),
    }
}

fn required(terms: Vec<NodeSelectorTerm>) -> Option<Affinity> {
    Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: terms,
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    })
}

fn spec(node_selector: &[(&str, &str)], affinity: Option<Affinity>) -> PodSpec {
    PodSpec {
        node_selector: (!node_selector.is_empty()).then(|| labels(node_selector)),
        affinity,
        ..PodSpec::default()
    }
}

#[test]
fn pod_matches_node_selector_and_affinity_terms_like_upstream() {
    let foo_bar = [("foo", "bar")];
    let cases: Vec<(&str, PodSpec, Node, bool)> = vec![
        ("no selector", spec(&[], None), node("n", &[]), true),
        (
            "missing labels",
            spec(&foo_bar, None),
            node("n", &[]),
            false,
        ),
        (
            "same labels",
            spec(&foo_bar, None),
            node("n", &foo_bar),
            true,
        ),
        (
            "node labels are superset",
            spec(&foo_bar, None),
            node("n", &[("foo", "bar"), ("baz", "blah")]),
            true,
        ),
        (
            "node labels are subset",
            spec(&[("foo", "bar"), ("baz", "blah")], None),
            node("n", &foo_bar),
            false,
        ),
        (
            "In matches",
            spec(
                &[],
                required(vec![term(vec![r("foo", "In", &["bar", "value2"])], vec![])]),
            ),
            node("n", &foo_bar),
            true,
        ),
        (
            "Gt matches numerically",
            spec(
                &[],
                required(vec![term(
                    vec![r("kernel-version", "Gt", &["0204"])],
                    vec![],
                )]),
            ),
            node("n", &[("kernel-version", "0206")]),
            true,
        ),
        (
            "NotIn matches",
            spec(
                &[],
                required(vec![term(
                    vec![r("mem-type", "NotIn", &["DDR", "DDR2"])],
                    vec![],
                )]),
            ),
            node("n", &[("mem-type", "DDR3")]),
            true,
        ),
        (
            "Exists matches",
            spec(
                &[],
                required(vec![term(vec![r("GPU", "Exists", &[])], vec![])]),
            ),
            node("n", &[("GPU", "NVIDIA-GRID-K1")]),
            true,
        ),
        (
            "affinity does not match labels",
            spec(
                &[],
                required(vec![term(
                    vec![r("foo", "In", &["value1", "value2"])],
                    vec![],
                )]),
            ),
            node("n", &foo_bar),
            false,
        ),
        (
            "nil terms match nothing",
            spec(&[], required(vec![])),
            node("n", &foo_bar),
            false,
        ),
        (
            "empty term matches nothing",
            spec(&[], required(vec![term(vec![], vec![])])),
            node("n", &foo_bar),
            false,
        ),
        (
            "no affinity",
            spec(&[], Some(Affinity::default())),
            node("n", &foo_bar),
            true,
        ),
        (
            "nil required node selector",
            spec(
                &[],
                Some(Affinity {
                    node_affinity: Some(NodeAffinity::default()),
                    ..Affinity::default()
                }),
            ),
            node("n", &foo_bar),
            true,
        ),
        (
            "requirements ANDed within a term",
            spec(
                &[],
                required(vec![term(
                    vec![
                        r("foo", "Exists", &[]),
                        r("foo", "In", &["value1", "value2"]),
                    ],
                    vec![],
                )]),
            ),
            node("n", &foo_bar),
            false,
        ),
        (
            "terms ORed",
            spec(
                &[],
                required(vec![
                    term(vec![r("diffkey", "In", &["wrong", "value2"])], vec![]),
                    term(vec![r("foo", "Exists", &[])], vec![]),
                ]),
            ),
            node("n", &foo_bar),
            true,
        ),
        (
            "affinity matches but nodeSelector does not",
            spec(
                &[("foo", "bar")],
                required(vec![term(vec![r("foo", "Exists", &[])], vec![])]),
            ),
            node("n", &[("foo", "other")]),
            false,
        ),
        (
            "invalid value matches nothing",
            spec(
                &[],
                required(vec![term(
                    vec![r("foo", "NotIn", &["invalid value: ___@#$%^"])],
                    vec![],
                )]),
            ),
            node("n", &foo_bar),
            false,
        ),
        (
            "matchFields In matches the node name",
            spec(
                &[],
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "In", &["node_1"])],
                )]),
            ),
            node("node_1", &[]),
            true,
        ),
        (
            "matchFields In does not match",
            spec(
                &[],
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "In", &["node_1"])],
                )]),
            ),
            node("node_2", &[]),
            false,
        ),
        (
            "two terms: fields miss, expressions match",
            spec(
                &[],
                required(vec![
                    term(vec![], vec![r("metadata.name", "In", &["node_1"])]),
                    term(vec![r("foo", "In", &["bar"])], vec![]),
                ]),
            ),
            node("node_2", &foo_bar),
            true,
        ),
        (
            "one term: fields miss, expressions match",
            spec(
                &[],
                required(vec![term(
                    vec![r("foo", "In", &["bar"])],
                    vec![r("metadata.name", "In", &["node_1"])],
                )]),
            ),
            node("node_2", &foo_bar),
            false,
        ),
        (
            "one term: both match",
            spec(
                &[],
                required(vec![term(
                    vec![r("foo", "In", &["bar"])],
                    vec![r("metadata.name", "In", &["node_1"])],
                )]),
            ),
            node("node_1", &foo_bar),
            true,
        ),
        (
            "two terms: both miss",
            spec(
                &[],
                required(vec![
                    term(vec![], vec![r("metadata.name", "In", &["node_1"])]),
                    term(vec![r("foo", "In", &["not-match-to-bar"])], vec![]),
                ]),
            ),
            node("node_2", &foo_bar),
            false,
        ),
        (
            "matchFields NotIn",
            spec(
                &[],
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "NotIn", &["node_1"])],
                )]),
            ),
            node("node_2", &[]),
            true,
        ),
        (
            "matchFields on an unnamed node are skipped",
            spec(
                &[],
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "In", &["node_1"])],
                )]),
            ),
            node("", &[]),
            true,
        ),
        (
            "matchFields on an unknown field read as empty",
            spec(
                &[],
                required(vec![term(vec![], vec![r("spec.foo", "In", &["x"])])]),
            ),
            node("n", &[]),
            false,
        ),
        (
            "matchFields with two values is invalid",
            spec(
                &[],
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "In", &["a", "b"])],
                )]),
            ),
            node("a", &[]),
            false,
        ),
        (
            "invalid term ignored when another matches",
            spec(
                &[],
                required(vec![
                    term(vec![r("foo", "Bogus", &["bar"])], vec![]),
                    term(vec![r("foo", "In", &["bar"])], vec![]),
                ]),
            ),
            node("n", &foo_bar),
            true,
        ),
    ];
    for (name, spec, node, want) in cases {
        assert_eq!(
            pod_matches_node_selector_and_affinity(&spec, &node),
            want,
            "{name}"
        );
    }
}

#[test]
fn lazy_node_selector_reports_errors_only_without_match() {
    let bad = NodeSelector {
        node_selector_terms: vec![
            term(vec![r("foo", "Bogus", &["bar"])], vec![]),
            term(
                vec![],
                vec![
                    r("metadata.name", "Gt", &["1"]),
                    r("metadata.name", "In", &[]),
                ],
            ),
            term(vec![r("-bad", "Exists", &[])], vec![]),
        ],
    };
    let err = node_selector_matches_lazy(&bad, "n", &labels(&[])).expect_err("all invalid");
    assert_eq!(
        err.to_string(),
        "[nodeSelectorTerms[0].matchExpressions[0].operator: Unsupported value: \"Bogus\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\", \
nodeSelectorTerms[1].matchFields[0].operator: Unsupported value: \"Gt\": supported values: \"In\", \"NotIn\", \
nodeSelectorTerms[1].matchFields[1].values: Invalid value: []string(nil): must have one element, \
nodeSelectorTerms[2].matchExpressions[0].key: Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')]"
    );
    let mut with_good = bad.clone();
    with_good
        .node_selector_terms
        .push(term(vec![r("foo", "Exists", &[])], vec![]));
    assert_eq!(
        node_selector_matches_lazy(&with_good, "n", &labels(&[("foo", "x")])),
        Ok(true)
    );
    assert!(!node_selector_matches(&bad, &node("n", &[])));
    let empty = NodeSelector {
        node_selector_terms: vec![],
    };
    assert_eq!(
        node_selector_matches_lazy(&empty, "n", &labels(&[])),
        Ok(false)
    );
}

#[test]
fn single_term_and_requirement_helpers() {
    let n = node("node_1", &[("zone", "a"), ("gen", "3")]);
    assert_eq!(
        node_selector_term_matches(&term(vec![], vec![]), &n),
        Ok(false)
    );
    assert_eq!(
        node_selector_term_matches(&term(vec![r("zone", "In", &["a"])], vec![]), &n),
        Ok(true)
    );
    assert!(node_selector_term_matches(&term(vec![r("zone", "In", &[])], vec![]), &n).is_err());
    let l = labels(&[("zone", "a"), ("gen", "3")]);
    let cases = [
        (r("zone", "In", &["a", "b"]), true),
        (r("zone", "NotIn", &["a"]), false),
        (r("missing", "NotIn", &["a"]), true),
        (r("zone", "Exists", &[]), true),
        (r("zone", "DoesNotExist", &[]), false),
        (r("gen", "Gt", &["2"]), true),
        (r("gen", "Lt", &["2"]), false),
        (r("gen", "Gt", &["x"]), false),
        (r("zone", "Gt", &["1"]), false),
        (r("zone", "Weird", &["a"]), false),
    ];
    for (req, want) in cases {
        assert_eq!(
            node_selector_requirement_matches_labels(&req, &l),
            want,
            "{req:?}"
        );
    }
    assert!(node_selector_map_matches(&labels(&[]), &l));
    assert!(!node_selector_map_matches(&labels(&[("zone", "b")]), &l));
}

fn pinned(node: &str) -> NodeSelector {
    NodeSelector {
        node_selector_terms: vec![term(vec![], vec![r("metadata.name", "In", &[node])])],
    }
}

#[test]
fn replace_daemonset_pod_node_name_node_affinity_like_upstream() {
    let preferred = vec![PreferredSchedulingTerm {
        weight: 1,
        preference: term(vec![r("zone", "In", &["a"])], vec![]),
    }];
    let cases: Vec<(&str, Option<Affinity>, Affinity)> = vec![
        (
            "nil affinity",
            None,
            Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(pinned("host_1")),
                    ..NodeAffinity::default()
                }),
                ..Affinity::default()
            },
        ),
        (
            "user required terms are replaced, preferred kept",
            Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: vec![
                            term(vec![r("kubernetes.io/hostname", "In", &["host_1"])], vec![]),
                            term(vec![], vec![r("metadata.name", "In", &["host_2"])]),
                        ],
                    }),
                    preferred_during_scheduling_ignored_during_execution: Some(preferred.clone()),
                }),
                pod_affinity: Some(PodAffinity::default()),
                ..Affinity::default()
            }),
            Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(pinned("host_1")),
                    preferred_during_scheduling_ignored_during_execution: Some(preferred.clone()),
                }),
                pod_affinity: Some(PodAffinity::default()),
                ..Affinity::default()
            },
        ),
        (
            "node affinity without required",
            Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    preferred_during_scheduling_ignored_during_execution: Some(preferred.clone()),
                    ..NodeAffinity::default()
                }),
                ..Affinity::default()
            }),
            Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(pinned("host_1")),
                    preferred_during_scheduling_ignored_during_execution: Some(preferred),
                }),
                ..Affinity::default()
            },
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(
            replace_daemonset_pod_node_name_node_affinity(input, "host_1"),
            want,
            "{name}"
        );
    }
    let mut spec = PodSpec::default();
    pin_pod_spec_to_node(&mut spec, "n9");
    assert!(pod_matches_node_selector_and_affinity(
        &spec,
        &node("n9", &[])
    ));
    assert!(!pod_matches_node_selector_and_affinity(
        &spec,
        &node("n8", &[])
    ));
}

fn pod(node_name: Option<&str>, affinity: Option<Affinity>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("pod1".into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: node_name.map(str::to_string),
            affinity,
            ..PodSpec::default()
        }),
        status: None,
    }
}

#[test]
fn get_target_node_name_like_upstream() {
    let cases: Vec<(&str, Pod, Result<&str, &str>)> = vec![
        ("spec.nodeName", pod(Some("node-1"), None), Ok("node-1")),
        (
            "matchFields",
            pod(
                None,
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "In", &["node-1"])],
                )]),
            ),
            Ok("node-1"),
        ),
        (
            "second term",
            pod(
                None,
                required(vec![
                    term(vec![r("zone", "In", &["a"])], vec![]),
                    term(vec![], vec![r("metadata.name", "In", &["node-2"])]),
                ]),
            ),
            Ok("node-2"),
        ),
        (
            "no affinity",
            pod(None, None),
            Err(
                "no spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution for pod default/pod1",
            ),
        ),
        (
            "no terms",
            pod(None, required(vec![])),
            Err(
                "no nodeSelectorTerms in requiredDuringSchedulingIgnoredDuringExecution of pod default/pod1",
            ),
        ),
        (
            "two values",
            pod(
                None,
                required(vec![term(
                    vec![],
                    vec![r("metadata.name", "In", &["node-1", "node-2"])],
                )]),
            ),
            Err("the matchFields value of 'metadata.name' is not unique for pod default/pod1"),
        ),
        (
            "no matchFields",
            pod(
                None,
                required(vec![term(vec![r("zone", "In", &["a"])], vec![])]),
            ),
            Err("no node name found for pod default/pod1"),
        ),
        (
            "empty nodeName falls back",
            pod(
                Some(""),
                required(vec![term(vec![], vec![r("metadata.name", "In", &["n"])])]),
            ),
            Ok("n"),
        ),
    ];
    for (name, pod, want) in cases {
        let got = get_target_node_name(&pod).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), want, "{name}");
    }
}
