//! Template hash and ControllerRevision data: a canonical JSON encoding so equal templates give equal bytes (spec §2.6 H1–H2).

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Map, Value};

/// Key strategic-merge patch uses to replace, not merge, an object (spec §2.6 H1).
pub const PATCH_DIRECTIVE_KEY: &str = "$patch";
/// Value of [`PATCH_DIRECTIVE_KEY`] replacing the whole template.
pub const PATCH_DIRECTIVE_REPLACE: &str = "replace";
/// Alphabet of upstream `rand.SafeEncodeString` (no vowels, no confusable digits).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV32_OFFSET: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

/// FNV-1a, 32 bits.
fn fnv32a(mut h: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(FNV32_PRIME);
    }
    h
}

/// Writes `value` as compact JSON with object keys sorted, whatever serde_json's map ordering.
pub fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, &Value::String(key.clone()));
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        // Scalars: serde_json's own compact form; writing to a String cannot fail.
        leaf => {
            let _ = write!(out, "{leaf}");
        }
    }
}

/// [`write_canonical`] into a new string.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

/// The template as a JSON value.
pub fn template_value(template: &PodTemplateSpec) -> Result<Value, serde_json::Error> {
    serde_json::to_value(template)
}

/// The ControllerRevision `data` of spec §2.6 H1:
/// `{"spec":{"template":{…,"$patch":"replace"}}}`.
pub fn revision_data(template: &PodTemplateSpec) -> Result<Value, serde_json::Error> {
    let mut template = template_value(template)?;
    if let Value::Object(map) = &mut template {
        go_zero_values(map);
        map.insert(
            PATCH_DIRECTIVE_KEY.to_string(),
            Value::String(PATCH_DIRECTIVE_REPLACE.to_string()),
        );
    }
    let mut spec = Map::new();
    spec.insert("template".to_string(), template);
    let mut root = Map::new();
    root.insert("spec".to_string(), Value::Object(spec));
    Ok(Value::Object(root))
}

/// Adds the zero values Go's `json.Marshal` of a v1 `PodTemplateSpec` writes although the
/// fields are empty: `metadata.creationTimestamp: null` (a `metav1.Time` struct, which
/// `omitempty` never omits) and `resources: {}` on every container (a struct, likewise).
///
/// kubectl decides "skipped rollback" by comparing the revision's `data` byte for byte with
/// its own Go rendering of the live DaemonSet (spec api.md §7, upstream kubectl
/// `polymorphichelpers/rollback.go` `daemonSetMatch`), so the data must carry them too.
fn go_zero_values(template: &mut Map<String, Value>) {
    let metadata = template
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(metadata) = metadata {
        metadata.entry("creationTimestamp").or_insert(Value::Null);
    }
    let Some(Value::Object(spec)) = template.get_mut("spec") else {
        return;
    };
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Array(containers)) = spec.get_mut(list) else {
            continue;
        };
        for container in containers.iter_mut() {
            if let Value::Object(container) = container {
                container
                    .entry("resources")
                    .or_insert_with(|| Value::Object(Map::new()));
            }
        }
    }
}

/// Upstream `controller.ComputeHash` in spirit (spec §2.6 H2): FNV-32a over the canonical
/// template bytes, the collision count appended as 4 little-endian bytes + 4 zero bytes, the
/// decimal result mapped into the safe alphabet. Not byte-identical to Go's dump, by design.
pub fn compute_hash(
    template: &PodTemplateSpec,
    collision_count: Option<i32>,
) -> Result<String, serde_json::Error> {
    let encoded = canonical_json(&template_value(template)?);
    let mut h = fnv32a(FNV32_OFFSET, encoded.as_bytes());
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(count as u32).to_le_bytes());
        h = fnv32a(h, &bytes);
    }
    Ok(safe_encode(&h.to_string()))
}

/// Upstream `rand.SafeEncodeString`: each byte mapped to `alphabet[byte % 27]`.
fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv32a_matches_reference_vectors() {
        assert_eq!(fnv32a(FNV32_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(FNV32_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(FNV32_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn canonical_json_sorts_keys_and_is_compact() {
        let v: Value =
            serde_json::from_str(r#"{"b":[1,{"d":"x","c":null}],"a":true}"#).expect("valid json");
        assert_eq!(
            canonical_json(&v),
            r#"{"a":true,"b":[1,{"c":null,"d":"x"}]}"#
        );
    }

    #[test]
    fn revision_data_matches_kubectls_go_rendering() {
        // What kubectl 1.32 `getDaemonSetPatch` prints for this template (upstream CRs look
        // the same): creationTimestamp null and resources {} although both are empty.
        let template: PodTemplateSpec = serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "app", "image": "httpd"}]}
        }))
        .expect("template");
        let data = canonical_json(&revision_data(&template).expect("data"));
        assert_eq!(
            data,
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"a":"b"}},"spec":{"containers":[{"image":"httpd","name":"app","resources":{}}]}}}}"#
        );
    }
}
