//! Table tests for label selectors, ported from upstream `selector_test.go` and `helpers_test.go`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use proptest::prelude::*;

use super::*;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
    Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect())
        .expect("valid requirement")
}

#[test]
fn parse_good_strings_round_trip_like_upstream_test_selector_parse() {
    let cases = [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("", ""),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("z<5,x>1", "x>1,z<5"),
        ("x==a", "x==a"),
        ("y=b,x=a", "x=a,y=b"),
        ("x in (b,a)", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
    ];
    for (input, want) in cases {
        let sel = Selector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(sel.to_string(), want, "{input}");
    }
}

#[test]
fn parse_bad_strings_like_upstream_test_selector_parse() {
    for input in [
        "x=a||y=b",
        "x==a==b",
        "!x=a",
        "x<a",
        "x,,y",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",
        "a notin(",
        "a (",
        "(",
        "x>1.5",
        "x in a",
        "a/b/c",
        "-x",
    ] {
        assert!(Selector::parse(input).is_err(), "{input} should fail");
    }
}

#[test]
fn set_based_parser_like_upstream_test_set_selector_parser() {
    let cases: Vec<(&str, Vec<Requirement>)> = vec![
        ("", vec![]),
        ("\rx", vec![req("x", Operator::Exists, &[])]),
        (
            "this-is-a-dns.domain.com/key-with-dash",
            vec![req(
                "this-is-a-dns.domain.com/key-with-dash",
                Operator::Exists,
                &[],
            )],
        ),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            vec![req(
                "this-is-another-dns.domain.com/key-with-dash",
                Operator::In,
                &["so", "what"],
            )],
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            vec![req(
                "0.1.2.domain/99",
                Operator::NotIn,
                &["10.10.100.1", "tick.tack.clock"],
            )],
        ),
        ("foo  in\t (abc)", vec![req("foo", Operator::In, &["abc"])]),
        ("x notin\n (abc)", vec![req("x", Operator::NotIn, &["abc"])]),
        (
            "x  notin\t\t(abc,def)",
            vec![req("x", Operator::NotIn, &["abc", "def"])],
        ),
        ("x in (abc,)", vec![req("x", Operator::In, &["", "abc"])]),
        ("x in ()", vec![req("x", Operator::In, &[""])]),
        (
            "x notin (abc,,def),bar,z in (),w",
            vec![
                req("bar", Operator::Exists, &[]),
                req("w", Operator::Exists, &[]),
                req("x", Operator::NotIn, &["", "abc", "def"]),
                req("z", Operator::In, &[""]),
            ],
        ),
        (
            "x,y in (a)",
            vec![
                req("x", Operator::Exists, &[]),
                req("y", Operator::In, &["a"]),
            ],
        ),
        ("x=a", vec![req("x", Operator::Equals, &["a"])]),
        ("x>1", vec![req("x", Operator::GreaterThan, &["1"])]),
        ("x<7", vec![req("x", Operator::LessThan, &["7"])]),
        (
            "x=a,y!=b",
            vec![
                req("x", Operator::Equals, &["a"]),
                req("y", Operator::NotEquals, &["b"]),
            ],
        ),
        (
            "x=a,y!=b,z in (h,i,j)",
            vec![
                req("x", Operator::Equals, &["a"]),
                req("y", Operator::NotEquals, &["b"]),
                req("z", Operator::In, &["h", "i", "j"]),
            ],
        ),
        ("x notin ( )", vec![req("x", Operator::NotIn, &[""])]),
        ("x notin (, a)", vec![req("x", Operator::NotIn, &["", "a"])]),
        ("a ", vec![req("a", Operator::Exists, &[])]),
        (
            "a in (x,y,notin, z,in)",
            vec![req("a", Operator::In, &["in", "notin", "x", "y", "z"])],
        ),
        ("notin=in", vec![req("notin", Operator::Equals, &["in"])]),
        ("!x", vec![req("x", Operator::DoesNotExist, &[])]),
    ];
    for (input, want) in cases {
        let got = Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got, Selector::Requirements(want), "{input:?}");
    }
}

#[test]
fn matches_like_upstream_test_selector_matches() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
    let cases: &[Case] = &[
        ("", &[("x", "y")], true),
        ("x=y", &[("x", "y")], true),
        ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
        ("notin=in", &[("notin", "in")], true),
        ("x", &[("x", "z")], true),
        ("!x", &[("y", "z")], true),
        ("x>1", &[("x", "2")], true),
        ("x<1", &[("x", "0")], true),
        ("x=z", &[], false),
        ("x=y", &[("x", "z")], false),
        ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
        ("x", &[("y", "z")], false),
        ("!x", &[("x", "z")], false),
        ("x>1", &[("x", "0")], false),
        ("x<1", &[("x", "2")], false),
        ("x>1", &[("x", "abc")], false),
        ("x>1", &[], false),
        ("x!=y", &[], true),
        ("x notin (a)", &[], true),
        ("x in (a,b)", &[("x", "b")], true),
        ("x in (a,b)", &[("x", "c")], false),
        ("x notin (a,b)", &[("x", "b")], false),
        ("foo=bar", &[("foo", "bar"), ("baz", "blah")], true),
        ("baz=blah", &[("foo", "bar"), ("baz", "blah")], true),
        ("foo=bar,baz=blah", &[("foo", "bar"), ("baz", "blah")], true),
        ("foo=blah", &[("foo", "bar"), ("baz", "blah")], false),
        ("baz=bar", &[("foo", "bar"), ("baz", "blah")], false),
        (
            "foo=bar,foobar=bar,baz=blah",
            &[("foo", "bar"), ("baz", "blah")],
            false,
        ),
        ("x=", &[("x", "")], true),
        ("x=", &[], false),
    ];
    for (selector, labels, want) in cases {
        let sel = Selector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
        assert_eq!(sel.matches(&set(labels)), *want, "{selector} on {labels:?}");
        assert_eq!(sel.matches_opt(Some(&set(labels))), *want, "{selector}");
    }
}

#[test]
fn parse_error_messages_are_upstream_strings() {
    let key_msg = "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
    let value_msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let cases = [
        (
            "a/b/c".to_string(),
            format!("unable to parse requirement: <nil>: Invalid value: \"a/b/c\": {key_msg}"),
        ),
        ("x=a b".into(), "found 'b', expected: ',' or 'end of string'".into()),
        (
            "x>a".into(),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        (
            "x=a@".into(),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"a@\": {value_msg}"),
        ),
        ("x,".into(), "found '', expected: identifier after ','".into()),
        ("=x".into(), "found '=', expected: !, identifier, or 'end of string'".into()),
        (
            "x y".into(),
            "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt".into(),
        ),
        ("x in a".into(), "unable to parse requirement: found 'a' expected: '('".into()),
        (
            "x in (a b)".into(),
            "unable to parse requirement: found 'b', expected: ',' or ')'".into(),
        ),
        (
            "x in (=)".into(),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier".into(),
        ),
        ("x=(".into(), "unable to parse requirement: found '(', expected: identifier".into()),
        ("!".into(), "unable to parse requirement: found '', expected: identifier".into()),
        ("!x=a".into(), "found '=', expected: ',' or 'end of string'".into()),
    ];
    for (input, want) in cases {
        let err = Selector::parse(&input).expect_err(&input);
        assert_eq!(err.to_string(), want, "{input}");
    }
}

#[test]
fn new_requirement_validation_like_upstream_test_requirement_constructor() {
    let long = "a".repeat(64);
    let cases: Vec<(&str, Operator, Vec<&str>, bool)> = vec![
        ("x1", Operator::In, vec![], false),
        ("x2", Operator::NotIn, vec![], false),
        ("x3", Operator::In, vec!["foo"], true),
        ("x4", Operator::NotIn, vec!["foo"], true),
        ("x5", Operator::Equals, vec!["foo", "bar"], false),
        ("x6", Operator::Exists, vec![], true),
        ("x7", Operator::DoesNotExist, vec![], true),
        ("x8", Operator::Exists, vec!["foo"], false),
        ("x9", Operator::In, vec!["bar"], true),
        ("x10", Operator::In, vec!["bar"], true),
        ("x11", Operator::GreaterThan, vec!["1"], true),
        ("x12", Operator::LessThan, vec!["6"], true),
        ("x13", Operator::GreaterThan, vec![], false),
        ("x14", Operator::GreaterThan, vec!["bar"], false),
        ("x15", Operator::LessThan, vec!["bar"], false),
        (&long, Operator::Exists, vec![], false),
        ("x16", Operator::Equals, vec![&long], false),
        ("x17", Operator::Equals, vec!["a b"], false),
        ("x18", Operator::Equals, vec!["a"], true),
        ("-x19", Operator::Exists, vec![], false),
    ];
    for (key, op, values, ok) in cases {
        let got = Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect());
        assert_eq!(got.is_ok(), ok, "{key} {op:?} {values:?}: {got:?}");
    }
}

#[test]
fn new_requirement_errors_render_field_paths() {
    let err = Requirement::new("x", Operator::In, vec![]).expect_err("empty in");
    assert_eq!(
        err.to_string(),
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    let err = Requirement::new("-x", Operator::Equals, vec!["a".into(), "b".into()])
        .expect_err("two errors");
    let text = err.to_string();
    assert!(
        text.starts_with("[key: Invalid value: \"-x\": name part must consist"),
        "{text}"
    );
    assert!(text.ends_with(", values: Invalid value: []string{\"a\", \"b\"}: exact-match compatibility requires one single value]"), "{text}");
    let err = Requirement::new_at(
        Some("nodeSelectorTerms[0].matchExpressions[1]"),
        "x",
        Operator::GreaterThan,
        vec!["1".into(), "2".into()],
    )
    .expect_err("gt two values");
    assert_eq!(
        err.to_string(),
        "nodeSelectorTerms[0].matchExpressions[1].values: Invalid value: []string{\"1\", \"2\"}: for 'Gt', 'Lt' operators, exactly one value is required"
    );
}

#[test]
fn requirement_to_string_like_upstream_test_to_string() {
    let cases = [
        (
            Selector::Requirements(vec![
                req("x", Operator::In, &["abc", "def"]),
                req("y", Operator::NotIn, &["jkl"]),
                req("z", Operator::Exists, &[]),
            ]),
            "x in (abc,def),y notin (jkl),z",
        ),
        (
            Selector::Requirements(vec![
                req("x", Operator::NotIn, &["def", "abc"]),
                req("y", Operator::NotEquals, &["jkl"]),
                req("z", Operator::DoesNotExist, &[]),
            ]),
            "x notin (abc,def),y!=jkl,!z",
        ),
        (
            Selector::Requirements(vec![
                req("x", Operator::In, &["abc", "def"]),
                req("y", Operator::Equals, &["jkl"]),
                req("z", Operator::DoubleEquals, &["x"]),
            ]),
            "x in (abc,def),y=jkl,z==x",
        ),
        (
            Selector::Requirements(vec![
                req("x", Operator::GreaterThan, &["2"]),
                req("y", Operator::LessThan, &["8"]),
            ]),
            "x>2,y<8",
        ),
        (Selector::Nothing, ""),
        (Selector::everything(), ""),
    ];
    for (sel, want) in cases {
        assert_eq!(sel.to_string(), want);
    }
}

fn label_selector(
    labels: &[(&str, &str)],
    exprs: &[(&str, &str, Option<&[&str]>)],
) -> LabelSelector {
    LabelSelector {
        match_labels: (!labels.is_empty()).then(|| set(labels)),
        match_expressions: (!exprs.is_empty()).then(|| {
            exprs
                .iter()
                .map(|(k, op, vals)| LabelSelectorRequirement {
                    key: k.to_string(),
                    operator: op.to_string(),
                    values: vals.map(|v| v.iter().map(|s| s.to_string()).collect()),
                })
                .collect()
        }),
    }
}

#[test]
fn label_selector_as_selector_like_upstream_helpers_test() {
    assert_eq!(Selector::from_label_selector(None), Ok(Selector::Nothing));
    assert!(!Selector::Nothing.matches(&set(&[])));
    let empty = LabelSelector::default();
    let everything = Selector::from_label_selector(Some(&empty)).expect("empty");
    assert!(everything.is_empty());
    assert!(everything.matches(&set(&[("a", "b")])));
    assert!(everything.matches_opt(None));

    let sel = label_selector(&[("foo", "bar")], &[("baz", "In", Some(&["qux", "norf"]))]);
    let got = Selector::from_label_selector(Some(&sel)).expect("valid");
    assert_eq!(got.to_string(), "baz in (norf,qux),foo=bar");
    assert!(got.matches(&set(&[("foo", "bar"), ("baz", "qux")])));
    assert!(!got.matches(&set(&[("foo", "bar"), ("baz", "x")])));

    let exists = label_selector(
        &[],
        &[
            ("a", "Exists", None),
            ("b", "DoesNotExist", None),
            ("c", "NotIn", Some(&["x"])),
        ],
    );
    let got = Selector::from_label_selector(Some(&exists)).expect("valid");
    assert_eq!(got.to_string(), "a,!b,c notin (x)");

    let bad_op = label_selector(&[("foo", "bar")], &[("baz", "Foo", Some(&["qux"]))]);
    assert_eq!(
        Selector::from_label_selector(Some(&bad_op)).map_err(|e| e.to_string()),
        Err("\"Foo\" is not a valid pod selector operator".to_string())
    );
    let empty_in = label_selector(&[], &[("baz", "In", None)]);
    assert!(Selector::from_label_selector(Some(&empty_in)).is_err());
    let bad_value = label_selector(&[("foo", "b a r")], &[]);
    assert!(Selector::from_label_selector(Some(&bad_value)).is_err());
}

#[test]
fn format_label_selector_and_labels_like_upstream() {
    let cases = [
        (None, "<none>"),
        (Some(LabelSelector::default()), "<none>"),
        (
            Some(label_selector(&[("app", "fluentd")], &[])),
            "app=fluentd",
        ),
        (
            Some(label_selector(&[("b", "2"), ("a", "1")], &[])),
            "a=1,b=2",
        ),
        (
            Some(label_selector(&[], &[("a", "Bogus", None)])),
            "<error>",
        ),
        (Some(label_selector(&[], &[("a", "Exists", None)])), "a"),
    ];
    for (sel, want) in cases {
        assert_eq!(format_label_selector(sel.as_ref()), want);
    }
    assert_eq!(format_labels(&set(&[])), "<none>");
    assert_eq!(format_labels(&set(&[("z", "1"), ("a", "")])), "a=,z=1");
    assert_eq!(format_labels_opt(None), "<none>");
}

#[test]
fn from_set_and_exact_match() {
    let sel = Selector::from_set(&set(&[("b", "2"), ("a", "1")]));
    assert_eq!(sel.to_string(), "a=1,b=2");
    assert_eq!(sel.requires_exact_match("a"), Some("1"));
    assert_eq!(sel.requires_exact_match("c"), None);
    assert!(Selector::from_set(&set(&[])).is_empty());
    let parsed = Selector::parse("x in (a),y in (a,b),z!=c").expect("valid");
    assert_eq!(parsed.requires_exact_match("x"), Some("a"));
    assert_eq!(parsed.requires_exact_match("y"), None);
    assert_eq!(parsed.requires_exact_match("z"), None);
    assert!(Selector::Nothing.matches_nothing());
    assert!(!Selector::everything().matches_nothing());
}

fn arb_requirement() -> impl Strategy<Value = Requirement> {
    let key = "[a-z]{1,3}(/[a-z]{1,3})?";
    let value = "[a-z0-9]{0,3}";
    let op = prop_oneof![
        Just(Operator::In),
        Just(Operator::NotIn),
        Just(Operator::Equals),
        Just(Operator::DoubleEquals),
        Just(Operator::NotEquals),
        Just(Operator::Exists),
        Just(Operator::DoesNotExist),
        Just(Operator::GreaterThan),
        Just(Operator::LessThan),
    ];
    (
        key,
        op,
        proptest::collection::btree_set(value, 1..3),
        0i64..10,
    )
        .prop_map(|(key, op, values, n)| {
            let values: Vec<String> = match op {
                Operator::In | Operator::NotIn => values.into_iter().collect(),
                Operator::Exists | Operator::DoesNotExist => vec![],
                Operator::GreaterThan | Operator::LessThan => vec![n.to_string()],
                _ => values.into_iter().take(1).collect(),
            };
            Requirement::new(key, op, values).expect("generated requirement is valid")
        })
}

proptest! {
    #[test]
    fn display_parses_back_to_an_equivalent_selector(
        mut reqs in proptest::collection::vec(arb_requirement(), 0..4),
        labels in proptest::collection::btree_map("[a-z]{1,3}(/[a-z]{1,3})?", "[a-z0-9-]{0,3}", 0..4),
    ) {
        reqs.sort_by(|a, b| a.key().cmp(b.key()));
        let sel = Selector::Requirements(reqs);
        let text = sel.to_string();
        let back = Selector::parse(&text).expect("display output parses");
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(back.matches(&labels), sel.matches(&labels));
    }
}
