//! Label selectors as upstream `k8s.io/apimachinery/pkg/labels`: parsing, `metav1.LabelSelector` conversion, matching and formatting.
//!
//! A [`Selector`] is either *nothing* (matches no object; upstream `labels.Nothing()`, produced
//! from a nil `metav1.LabelSelector`) or an AND of [`Requirement`]s (no requirement = everything).
//! Its [`Display`](std::fmt::Display) is upstream's `Selector.String()`, which [`Selector::parse`]
//! reads back.

mod names;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub use names::{
    DNS1123_LABEL_MAX_LENGTH, DNS1123_SUBDOMAIN_MAX_LENGTH, EMPTY_ERROR, LABEL_KEY_NAME_MAX_LENGTH,
    LABEL_VALUE_MAX_LENGTH, go_quote, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_label_value, max_len_error, regex_error,
};

/// Placeholder printed for an empty label set or selector (upstream `FormatLabels`).
pub const NONE: &str = "<none>";
/// Placeholder printed by `FormatLabelSelector` for an unconvertible selector.
pub const ERROR: &str = "<error>";

/// Why a selector could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelsError {
    /// The selector string is malformed (message as upstream's parser, e.g. `found ',', expected: identifier`).
    #[error("{0}")]
    Syntax(String),
    /// A requirement of the selector string is malformed or invalid (upstream wraps the cause).
    #[error("unable to parse requirement: {0}")]
    Requirement(Box<LabelsError>),
    /// Key, operator or values failed validation; each entry is one upstream `field.Error` line.
    #[error("{}", aggregate(.0))]
    Invalid(Vec<String>),
    /// A `matchExpressions` operator outside In/NotIn/Exists/DoesNotExist.
    #[error("{} is not a valid pod selector operator", go_quote(.0))]
    InvalidOperator(String),
}

/// Upstream `utilerrors.NewAggregate(...).Error()`: one message alone, several in brackets.
fn aggregate(messages: &[String]) -> String {
    match messages {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// A requirement operator (upstream `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `k in (a,b)`
    In,
    /// `k notin (a,b)`; also true when the key is absent.
    NotIn,
    /// `k=v`
    Equals,
    /// `k==v`
    DoubleEquals,
    /// `k!=v`; also true when the key is absent.
    NotEquals,
    /// `k`
    Exists,
    /// `!k`
    DoesNotExist,
    /// `k>N` (integer comparison)
    GreaterThan,
    /// `k<N` (integer comparison)
    LessThan,
}

impl Operator {
    /// Upstream's spelling (`selection.Operator` value), used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One `key op values` term of a selector (upstream `labels.Requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

/// A label selector: nothing, or the AND of its requirements (sorted by key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Matches no object (upstream `labels.Nothing()`, from a nil `metav1.LabelSelector`).
    Nothing,
    /// Matches objects satisfying every requirement; empty = everything.
    Requirements(Vec<Requirement>),
}

// === impl Requirement ===

impl Requirement {
    /// Upstream `NewRequirement` with no field path: validates the key, the value count for the
    /// operator, integer values for Gt/Lt and every value as a label value.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, LabelsError> {
        Self::new_at(None, key, operator, values)
    }

    /// [`Requirement::new`] with upstream's `field.WithPath(path)`: error lines are prefixed with
    /// `path` (e.g. `nodeSelectorTerms[0].matchExpressions[1]`).
    pub fn new_at(
        path: Option<&str>,
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, LabelsError> {
        let key = key.into();
        let child = |name: &str| match path {
            Some(p) => format!("{p}.{name}"),
            None => name.to_string(),
        };
        let values_path = child("values");
        let mut errs = Vec::new();
        let key_errs = is_qualified_name(&key);
        if !key_errs.is_empty() {
            errs.push(invalid(
                &child("key"),
                &go_quote(&key),
                &key_errs.join("; "),
            ));
        }
        let values_rendered = go_string_slice(&values);
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => errs.push(invalid(
                &values_path,
                &values_rendered,
                "for 'in', 'notin' operators, values set can't be empty",
            )),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                errs.push(invalid(
                    &values_path,
                    &values_rendered,
                    "exact-match compatibility requires one single value",
                ))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => errs.push(invalid(
                &values_path,
                &values_rendered,
                "values set must be empty for exists and does not exist",
            )),
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(invalid(
                        &values_path,
                        &values_rendered,
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(invalid(
                            &format!("{values_path}[{i}]"),
                            &go_quote(v),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let value_errs = is_valid_label_value(v);
            if !value_errs.is_empty() {
                errs.push(invalid(
                    &format!("{values_path}[{i}][{key}]"),
                    &go_quote(v),
                    &value_errs.join("; "),
                ));
            }
        }
        if errs.is_empty() {
            Ok(Requirement {
                key,
                operator,
                values,
            })
        } else {
            Err(LabelsError::Invalid(dedup(errs)))
        }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order given (sorted when parsed from a string).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Upstream `Requirement.Matches`: `!=`/`notin`/`!` also match when the key is absent;
    /// Gt/Lt compare as i64 and fail on unparsable values.
    pub fn matches_with<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        let has_value = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                lookup(&self.key).is_some_and(has_value)
            }
            Operator::NotIn | Operator::NotEquals => !lookup(&self.key).is_some_and(has_value),
            Operator::Exists => lookup(&self.key).is_some(),
            Operator::DoesNotExist => lookup(&self.key).is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(Ok(actual)) = lookup(&self.key).map(str::parse::<i64>) else {
                    return false;
                };
                let [wanted] = self.values.as_slice() else {
                    return false;
                };
                let Ok(wanted) = wanted.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    actual > wanted
                } else {
                    actual < wanted
                }
            }
        }
    }

    /// [`Requirement::matches_with`] over a label map.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|k| labels.get(k).map(String::as_str))
    }
}

/// Upstream `field.Invalid(path, value, detail).Error()`.
fn invalid(path: &str, rendered_value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {rendered_value}: {detail}")
}

/// Upstream `ToAggregate` drops duplicate messages, keeping the first.
fn dedup(messages: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    messages
        .into_iter()
        .filter(|m| seen.insert(m.clone()))
        .collect()
}

/// Go's `%#v` of a `[]string`; an empty list is rendered as the nil slice upstream passes in
/// (values omitted from JSON).
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

impl fmt::Display for Requirement {
    /// Upstream `Requirement.String()`: `!k`, `k`, `k=v`, `k in (a,b)` with sorted values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (op, parens) = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
        };
        f.write_str(op)?;
        if parens {
            f.write_str("(")?;
        }
        let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        f.write_str(&sorted.join(","))?;
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

// === impl Selector ===

impl Selector {
    /// Matches every object (upstream `labels.Everything()`).
    pub fn everything() -> Self {
        Selector::Requirements(Vec::new())
    }

    /// Matches no object (upstream `labels.Nothing()`).
    pub fn nothing() -> Self {
        Selector::Nothing
    }

    /// Upstream `labels.Parse`: the string syntax (`k=v`, `k==v`, `k!=v`, `k in (a,b)`,
    /// `k notin (a,b)`, `k`, `!k`, `k>N`, `k<N`, comma AND). An empty string is everything.
    pub fn parse(selector: &str) -> Result<Self, LabelsError> {
        let mut requirements = parser::parse(selector)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector::Requirements(requirements))
    }

    /// Upstream `metav1.LabelSelectorAsSelector`: nil → nothing, `{}` → everything, otherwise
    /// matchLabels as `=` requirements plus matchExpressions, validated and sorted by key.
    pub fn from_label_selector(selector: Option<&LabelSelector>) -> Result<Self, LabelsError> {
        let Some(selector) = selector else {
            return Ok(Selector::Nothing);
        };
        let match_labels = selector.match_labels.as_ref();
        let expressions = selector.match_expressions.as_deref().unwrap_or_default();
        let mut requirements = Vec::new();
        for (k, v) in match_labels.into_iter().flatten() {
            requirements.push(Requirement::new(
                k.clone(),
                Operator::Equals,
                vec![v.clone()],
            )?);
        }
        for expr in expressions {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(LabelsError::InvalidOperator(other.to_string())),
            };
            requirements.push(Requirement::new(
                expr.key.clone(),
                operator,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector::Requirements(requirements))
    }

    /// Upstream `labels.SelectorFromSet`: `k=v` for every pair, without validation; empty → everything.
    pub fn from_set(set: &BTreeMap<String, String>) -> Self {
        Selector::Requirements(
            set.iter()
                .map(|(k, v)| Requirement {
                    key: k.clone(),
                    operator: Operator::Equals,
                    values: vec![v.clone()],
                })
                .collect(),
        )
    }

    /// True when the selector matches the labels (a missing label map counts as empty).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|k| labels.get(k).map(String::as_str))
    }

    /// [`Selector::matches`] for k8s-openapi's optional label maps.
    pub fn matches_opt(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.matches_with(|k| labels.and_then(|l| l.get(k)).map(String::as_str))
    }

    /// [`Selector::matches`] over any label lookup.
    pub fn matches_with<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        match self {
            Selector::Nothing => false,
            Selector::Requirements(reqs) => reqs.iter().all(|r| r.matches_with(&lookup)),
        }
    }

    /// Upstream `Selector.Empty()`: true only for the everything selector.
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Requirements(r) if r.is_empty())
    }

    /// Upstream `labels.MatchesNothing`.
    pub fn matches_nothing(&self) -> bool {
        matches!(self, Selector::Nothing)
    }

    /// The requirements (none for nothing and for everything).
    pub fn requirements(&self) -> &[Requirement] {
        match self {
            Selector::Nothing => &[],
            Selector::Requirements(r) => r,
        }
    }

    /// Upstream `RequiresExactMatch`: the single value the first requirement on `label` demands
    /// through `=`, `==` or a one-value `in`.
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let req = self.requirements().iter().find(|r| r.key == label)?;
        match (req.operator, req.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [one]) => Some(one),
            _ => None,
        }
    }
}

impl fmt::Display for Selector {
    /// Upstream `Selector.String()`: requirements joined by `,`; nothing and everything print "".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Selector {
    type Err = LabelsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

// === Formatting helpers ===

/// Upstream `labels.FormatLabels`: `k=v,k2=v2` sorted by key, `<none>` when empty.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return NONE.to_string();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// [`format_labels`] for k8s-openapi's optional maps.
pub fn format_labels_opt(labels: Option<&BTreeMap<String, String>>) -> String {
    labels.map_or_else(|| NONE.to_string(), format_labels)
}

/// Upstream `metav1.FormatLabelSelector`: the selector string, `<none>` when it is empty or nil,
/// `<error>` when it cannot be converted.
pub fn format_label_selector(selector: Option<&LabelSelector>) -> String {
    match Selector::from_label_selector(selector) {
        Err(_) => ERROR.to_string(),
        Ok(s) => {
            let text = s.to_string();
            if text.is_empty() {
                NONE.to_string()
            } else {
                text
            }
        }
    }
}
