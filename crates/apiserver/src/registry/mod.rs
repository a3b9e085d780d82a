//! Per-kind rules applied to every write: typed decoding, system metadata, defaults, admission,
//! the strategy (generation, status split) and validation.
//!
//! The rules themselves are pure functions in `everynode-core`; this module picks the right ones
//! for a resource and converts between JSON and the typed objects they take.

mod decode;
mod kinds;
mod workloads;

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub use decode::Decoded;
pub use kinds::{Admission, Rules, rules};

use crate::error::Cause;
use crate::resources::Resource;
use crate::store::Index;

/// The current time as upstream writes `metav1.Time`: RFC 3339, whole seconds, UTC.
pub fn now_rfc3339() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    format!(
        "{:.0}",
        now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now)
    )
}

/// A random RFC 4122 version-4 UID, as upstream's `uuid.NewUUID`.
pub fn new_uid() -> String {
    let bytes: [u8; 16] = rand::random();
    let mut b = bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The random suffix upstream appends to `generateName` (`names.SimpleNameGenerator`).
pub fn generate_name(base: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    const MAX_NAME_LENGTH: usize = 63;
    const RANDOM_LENGTH: usize = 5;
    let mut base = base.to_owned();
    if base.len() > MAX_NAME_LENGTH - RANDOM_LENGTH {
        let mut cut = MAX_NAME_LENGTH - RANDOM_LENGTH;
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        base.truncate(cut);
    }
    let suffix: String = (0..RANDOM_LENGTH)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect();
    base + &suffix
}

/// What readers filter on: uid, labels and the kind's selectable fields.
pub fn index(resource: &Resource, object: &Value) -> Index {
    let metadata = &object["metadata"];
    let labels: BTreeMap<String, String> = metadata["labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Index {
        uid: metadata["uid"].as_str().unwrap_or_default().to_owned(),
        labels,
        fields: selectable_fields(resource, object),
    }
}

/// Sets the system fields of a new object (upstream `FillObjectMetaSystemFields` and
/// `BeforeCreate`): uid, creationTimestamp; clears what clients may not set.
pub fn fill_create_metadata(object: &mut Value, namespace: Option<&str>) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    metadata.insert("uid".into(), json!(new_uid()));
    metadata.insert("creationTimestamp".into(), json!(now_rfc3339()));
    for cleared in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        metadata.remove(cleared);
    }
    match namespace {
        Some(ns) => metadata.insert("namespace".into(), json!(ns)),
        None => metadata.remove("namespace"),
    };
}

/// Carries over what an update may not change (upstream `BeforeUpdate`): uid when omitted,
/// creationTimestamp, deletionTimestamp and its grace, and generation (strategies bump it).
/// Returns the causes for an attempted uid change.
pub fn carry_update_metadata(new: &mut Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let old_meta = &old["metadata"];
    let Some(metadata) = new.get_mut("metadata").and_then(Value::as_object_mut) else {
        return causes;
    };
    match metadata.get("uid").and_then(Value::as_str) {
        None | Some("") => {
            metadata.insert("uid".into(), old_meta["uid"].clone());
        }
        Some(uid) if Some(uid) != old_meta["uid"].as_str() => causes.push(Cause::invalid(
            "metadata.uid",
            everynode_core::validation::q(uid),
            everynode_core::validation::FIELD_IMMUTABLE,
        )),
        Some(_) => {}
    }
    // An unconditional update (no resourceVersion) is made against the stored revision; the
    // store has already been checked against any revision the client did send.
    if metadata
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        metadata.insert(
            "resourceVersion".into(),
            old_meta["resourceVersion"].clone(),
        );
    }
    for kept in [
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old_meta.get(kept) {
            Some(value) if !value.is_null() => {
                metadata.insert(kept.into(), value.clone());
            }
            _ => {
                metadata.remove(kept);
            }
        }
    }
    metadata.remove("managedFields");
    causes
}

/// The kind's selectable fields (api.md §5), without the metadata ones the store keeps itself.
fn selectable_fields(resource: &Resource, object: &Value) -> Vec<(&'static str, String)> {
    everynode_core::fields::selectable_fields(resource.plural, resource.namespaced, object)
        .into_iter()
        .filter(|(field, _)| !matches!(*field, "metadata.name" | "metadata.namespace"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_version_4() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        assert_ne!(uid, new_uid());
    }

    #[test]
    fn generated_names_fit_63_characters() {
        let long = "a".repeat(80);
        let name = generate_name(&long);
        assert_eq!(name.len(), 63);
        let short = generate_name("fluentd-");
        assert!(short.starts_with("fluentd-") && short.len() == 13);
    }

    #[test]
    fn timestamps_have_whole_seconds() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && !t.contains('.'), "{t}");
    }

    #[test]
    fn update_keeps_creation_timestamp_and_rejects_uid_change() {
        let old = json!({"metadata": {"uid": "a", "creationTimestamp": "2020-01-01T00:00:00Z", "generation": 3}});
        let mut new = json!({"metadata": {"creationTimestamp": "2030-01-01T00:00:00Z"}});
        assert!(carry_update_metadata(&mut new, &old).is_empty());
        assert_eq!(new["metadata"]["uid"], "a");
        assert_eq!(new["metadata"]["creationTimestamp"], "2020-01-01T00:00:00Z");
        assert_eq!(new["metadata"]["generation"], 3);
        let mut changed = json!({"metadata": {"uid": "b"}});
        assert_eq!(carry_update_metadata(&mut changed, &old).len(), 1);
    }
}
