//! Kubernetes strategic merge patch (`application/strategic-merge-patch+json`) applied server-side, after upstream `k8s.io/apimachinery/pkg/util/strategicpatch` (`StrategicMergeMapPatch`).

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use super::schema::{FieldSchema, Schema};

type Object = Map<String, Value>;

/// `"$patch": "replace" | "delete" | "merge"` on a map or a list element.
const PATCH_DIRECTIVE: &str = "$patch";
/// `"$retainKeys": [field…]`: clear every field of the live map not listed.
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
/// `"$setElementOrder/<field>": [...]`: final order of a merge list.
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder/";
/// `"$deleteFromPrimitiveList/<field>": [...]`: values to remove from a primitive list.
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch could not be applied; the API server reports these as 400s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is not a JSON object.
    #[error("patch must be a json object, got {0}")]
    PatchNotObject(&'static str),
    /// The object being patched is not a JSON object.
    #[error("object being patched must be a json object, got {0}")]
    CurrentNotObject(&'static str),
    /// A `$…` key that is not one of the strategic merge patch directives.
    #[error("unknown patch directive {0:?}")]
    UnknownDirective(String),
    /// `$patch` with a value other than `replace`, `delete` or `merge`.
    #[error("invalid $patch value {0}: want \"replace\", \"delete\" or \"merge\"")]
    InvalidPatchValue(String),
    /// `$retainKeys`, `$setElementOrder/…` or `$deleteFromPrimitiveList/…` not holding a list.
    #[error("directive {0:?} must be a list")]
    DirectiveNotList(String),
    /// `$retainKeys` listing something other than field names.
    #[error("$retainKeys must list field names as strings")]
    RetainKeysNotStrings,
    /// The patch sets a field that its own `$retainKeys` would clear.
    #[error("field {0:?} is set in the patch but missing from $retainKeys")]
    RetainKeysMissing(String),
    /// A merge-strategy list field patched with a non-list value.
    #[error("field {0:?} merges as a list, but the patch value is not a list")]
    ExpectedList(String),
    /// A list mixing objects with primitives.
    #[error("field {0:?} mixes objects and non-objects in one list")]
    MixedElementTypes(String),
    /// A list whose elements are lists.
    #[error("field {0:?} holds a list of lists, which strategic merge patch does not support")]
    ListOfLists(String),
    /// A merge-strategy list of objects without a declared merge key.
    #[error("field {0:?} is a list of objects without a merge key, so it cannot be merged")]
    NoMergeKey(String),
    /// A patch (or `$setElementOrder`) element lacking the list's merge key.
    #[error("an element of {field:?} does not contain merge key {merge_key:?}")]
    MissingMergeKey {
        /// The list field.
        field: String,
        /// Its `patchMergeKey`.
        merge_key: String,
    },
    /// The patch list is not in the relative order its `$setElementOrder` list gives.
    #[error("the order of list {0:?} in the patch doesn't match its $setElementOrder list")]
    OrderMismatch(String),
}

/// Applies strategic merge `patch` to `current` (a JSON object, or `null` for "nothing yet")
/// using the list strategies and merge keys in `schema`.
///
/// The result never contains patch directives. Errors on malformed patches rather than
/// guessing; never panics.
pub fn apply(current: &Value, patch: &Value, schema: &Schema) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::PatchNotObject(json_type(patch)));
    };
    let original = match current {
        Value::Object(members) => members.clone(),
        Value::Null => Object::new(),
        other => return Err(PatchError::CurrentNotObject(json_type(other))),
    };
    merge_map(original, patch, schema).map(Value::Object)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The parallel directives found next to the regular fields of one patch map.
#[derive(Default)]
struct MapDirectives<'a> {
    retain_keys: Option<&'a Value>,
    element_orders: Vec<(&'a str, &'a [Value])>,
    deletions: Vec<(&'a str, &'a [Value])>,
}

impl<'a> MapDirectives<'a> {
    fn parse(patch: &'a Object) -> Result<Self, PatchError> {
        let mut directives = MapDirectives::default();
        for (key, value) in patch.iter().filter(|(key, _)| key.starts_with('$')) {
            let as_list = || match value {
                Value::Array(items) => Ok(items.as_slice()),
                _ => Err(PatchError::DirectiveNotList(key.clone())),
            };
            if key == PATCH_DIRECTIVE {
                continue;
            } else if key == RETAIN_KEYS_DIRECTIVE {
                directives.retain_keys = Some(value);
            } else if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER_PREFIX) {
                directives.element_orders.push((field, as_list()?));
            } else if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                directives.deletions.push((field, as_list()?));
            } else {
                return Err(PatchError::UnknownDirective(key.clone()));
            }
        }
        Ok(directives)
    }

    fn element_order(&self, field: &str) -> Option<&'a [Value]> {
        self.element_orders
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, order)| *order)
    }
}

/// Upstream `mergeMap`: `$patch` first, then `$retainKeys`, then fields (with their
/// `$setElementOrder` lists), then `$deleteFromPrimitiveList` lists.
fn merge_map(mut original: Object, patch: &Object, schema: &Schema) -> Result<Object, PatchError> {
    if let Some(directive) = patch.get(PATCH_DIRECTIVE) {
        match directive.as_str() {
            // Upstream returns the patch itself; applying it to an empty map instead gives the same
            // fields while still resolving nested directives and dropping nulls.
            Some("replace") => {
                let replacement: Object = patch
                    .iter()
                    .filter(|(key, _)| *key != PATCH_DIRECTIVE)
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect();
                return merge_map(Object::new(), &replacement, schema);
            }
            // Upstream leaves an empty map in place (test "delete map from nested map").
            Some("delete") => return Ok(Object::new()),
            // The default behavior, spelled out.
            Some("merge") => {}
            _ => return Err(PatchError::InvalidPatchValue(directive.to_string())),
        }
    }
    let directives = MapDirectives::parse(patch)?;
    if let Some(retained) = directives.retain_keys {
        apply_retain_keys(&mut original, patch, retained)?;
    }

    for (key, patch_value) in patch.iter().filter(|(key, _)| !key.starts_with('$')) {
        if patch_value.is_null() {
            original.remove(key);
            continue;
        }
        let field = schema.field(key);
        let previous = original.remove(key);
        let order = directives.element_order(key);
        // The live list's order is needed to place server-only elements after merging.
        let server_list = match (order, &previous) {
            (Some(_), Some(Value::Array(items))) => items.clone(),
            _ => Vec::new(),
        };
        let mut merged = merge_value(previous, patch_value, &field, key)?;
        if let (Some(order), Value::Array(items)) = (order, &mut merged) {
            let patch_items = patch_value.as_array().map_or(&[][..], Vec::as_slice);
            let reordered = apply_element_order(
                std::mem::take(items),
                order,
                &server_list,
                patch_items,
                &field,
                key,
            )?;
            *items = reordered;
        }
        original.insert(key.clone(), merged);
    }

    // `$setElementOrder` alone (no patch list) still reorders the live list (upstream test
    // "$setElementOrder contains item that is not present in the int list to be merged").
    for (key, order) in &directives.element_orders {
        if patch.contains_key(*key) {
            continue;
        }
        if let Some(Value::Array(items)) = original.get_mut(*key) {
            let server_list = items.clone();
            let field = schema.field(key);
            *items =
                apply_element_order(std::mem::take(items), order, &server_list, &[], &field, key)?;
        }
    }

    // Upstream applies deletion lists to any list, merge strategy or not, and never creates the
    // list when it is absent.
    for (key, doomed) in &directives.deletions {
        if let Some(Value::Array(items)) = original.get_mut(*key) {
            items.retain(|item| !doomed.contains(item));
        }
    }
    Ok(original)
}

/// Upstream `applyRetainKeysDirective`: every non-null field of the patch must be retained, and
/// fields of the live map not retained are cleared.
fn apply_retain_keys(
    original: &mut Object,
    patch: &Object,
    retained: &Value,
) -> Result<(), PatchError> {
    let Value::Array(retained) = retained else {
        return Err(PatchError::DirectiveNotList(
            RETAIN_KEYS_DIRECTIVE.to_owned(),
        ));
    };
    let retained = retained
        .iter()
        .map(|name| name.as_str().ok_or(PatchError::RetainKeysNotStrings))
        .collect::<Result<Vec<&str>, _>>()?;
    for (key, value) in patch {
        if value.is_null() || key.starts_with('$') {
            continue;
        }
        if !retained.contains(&key.as_str()) {
            return Err(PatchError::RetainKeysMissing(key.clone()));
        }
    }
    original.retain(|key, _| retained.contains(&key.as_str()));
    Ok(())
}

/// Merges one non-null patch value into the previous value of its field (if any).
fn merge_value(
    previous: Option<Value>,
    patch_value: &Value,
    field: &FieldSchema,
    key: &str,
) -> Result<Value, PatchError> {
    match patch_value {
        Value::Array(patch_items) if field.is_merge_list() => {
            let previous_items = match previous {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            merge_list(previous_items, patch_items, field, key).map(Value::Array)
        }
        _ if field.is_merge_list() => Err(PatchError::ExpectedList(key.to_owned())),
        Value::Object(patch_members) => {
            // A type change (e.g. list → map) replaces, as upstream does; the patch map is still
            // resolved against nothing so its directives and nulls never leak into the result.
            let base = match previous {
                Some(Value::Object(members)) => members,
                _ => Object::new(),
            };
            merge_map(base, patch_members, field.child).map(Value::Object)
        }
        Value::Array(patch_items) => {
            resolve_atomic_list(patch_items, field.child).map(Value::Array)
        }
        scalar => Ok(scalar.clone()),
    }
}

/// An atomic list replaces the live one wholesale; maps inside it are resolved against nothing
/// so no directive survives into the stored object.
fn resolve_atomic_list(items: &[Value], element_schema: &Schema) -> Result<Vec<Value>, PatchError> {
    items
        .iter()
        .map(|item| match item {
            Value::Object(members) => {
                merge_map(Object::new(), members, element_schema).map(Value::Object)
            }
            Value::Array(nested) => resolve_atomic_list(nested, element_schema).map(Value::Array),
            scalar => Ok(scalar.clone()),
        })
        .collect()
}

/// Whether a list holds objects; errors on lists of lists and on mixed lists (upstream
/// `sliceElementType`).
fn holds_objects(lists: &[&[Value]], key: &str) -> Result<bool, PatchError> {
    let mut objects = None;
    for item in lists.iter().copied().flatten() {
        if item.is_array() {
            return Err(PatchError::ListOfLists(key.to_owned()));
        }
        match objects {
            None => objects = Some(item.is_object()),
            Some(seen) if seen != item.is_object() => {
                return Err(PatchError::MixedElementTypes(key.to_owned()));
            }
            Some(_) => {}
        }
    }
    Ok(objects.unwrap_or(false))
}

/// Upstream `mergeSlice` for a merge-strategy list.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    field: &FieldSchema,
    key: &str,
) -> Result<Vec<Value>, PatchError> {
    if patch.is_empty() {
        return Ok(original);
    }
    if !holds_objects(&[&original, patch], key)? {
        // Primitive lists are a set union (upstream `deduplicateScalars`), then ordered like
        // keyed lists by `normalize_order`.
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for item in original.iter().chain(patch) {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        let order: Vec<&Value> = patch.iter().collect();
        let server: Vec<&Value> = original.iter().collect();
        return Ok(normalize_order(merged, &order, &server, None));
    }

    let merge_key = field
        .merge_key
        .ok_or_else(|| PatchError::NoMergeKey(key.to_owned()))?;
    let missing_key = || PatchError::MissingMergeKey {
        field: key.to_owned(),
        merge_key: merge_key.to_owned(),
    };
    let server_ids: Vec<Value> = original
        .iter()
        .filter_map(|item| identity(item, Some(merge_key)).cloned())
        .collect();

    // Special elements first (upstream `mergeSliceWithSpecialElements`).
    let mut items = original;
    let mut replace = false;
    let mut regular: Vec<&Object> = Vec::with_capacity(patch.len());
    for element in patch {
        let Value::Object(members) = element else {
            return Err(PatchError::MixedElementTypes(key.to_owned()));
        };
        let Some(directive) = members.get(PATCH_DIRECTIVE) else {
            regular.push(members);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let doomed = members.get(merge_key).ok_or_else(missing_key)?;
                items.retain(|item| identity(item, Some(merge_key)) != Some(doomed));
            }
            // Remaining elements become the whole list.
            Some("replace") => replace = true,
            // Upstream rejects an explicit merge here; it is the default, so accept it. An
            // element that also names an item is merged like any other.
            Some("merge") => {
                if members.contains_key(merge_key) {
                    regular.push(members);
                }
            }
            _ => return Err(PatchError::InvalidPatchValue(directive.to_string())),
        }
    }
    if replace {
        items.clear();
    }

    // Then regular elements merge into the live element with the same key, or are appended.
    let mut order: Vec<&Value> = Vec::with_capacity(regular.len());
    for members in regular {
        let id = members.get(merge_key).ok_or_else(missing_key)?;
        order.push(id);
        let existing = items
            .iter()
            .position(|item| identity(item, Some(merge_key)) == Some(id));
        match existing {
            Some(index) => {
                let base = match std::mem::take(&mut items[index]) {
                    Value::Object(base) => base,
                    _ => Object::new(),
                };
                items[index] = Value::Object(merge_map(base, members, field.child)?);
            }
            None => items.push(Value::Object(merge_map(
                Object::new(),
                members,
                field.child,
            )?)),
        }
    }
    // Order lists hold merge-key values: `normalize_order` compares element identities.
    let server: Vec<&Value> = server_ids.iter().collect();
    Ok(normalize_order(items, &order, &server, Some(merge_key)))
}

/// The value that identifies a list element: its merge-key value for objects in a keyed
/// list, the element itself otherwise.
fn identity<'v>(item: &'v Value, merge_key: Option<&str>) -> Option<&'v Value> {
    match (item, merge_key) {
        (Value::Object(members), Some(merge_key)) => members.get(merge_key),
        _ => Some(item),
    }
}

/// Upstream `normalizeElementOrder` + `mergeSortedSlice`: elements named in `order` come in
/// that order; the others keep their live (`server`) order and are interleaved so that one
/// goes before a named element only if it preceded that element in the live list. A named
/// element absent from the live list therefore lands before the remaining live-only ones: a
/// plain patch adding `[{"name": "new"}]` to `[{"name": "old"}]` yields `[new, old]`, as upstream.
fn normalize_order(
    merged: Vec<Value>,
    order: &[&Value],
    server: &[&Value],
    merge_key: Option<&str>,
) -> Vec<Value> {
    let position = |ids: &[&Value], item: &Value| {
        identity(item, merge_key).and_then(|id| ids.iter().position(|candidate| *candidate == id))
    };
    let (mut named, mut server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|item| position(order, item).is_some());
    named.sort_by_key(|item| position(order, item));
    server_only.sort_by_key(|item| position(server, item).unwrap_or(usize::MAX));

    let mut result = Vec::with_capacity(named.len() + server_only.len());
    let mut named = named.into_iter().peekable();
    let mut server_only = server_only.into_iter().peekable();
    loop {
        let take_server_only = match (server_only.peek(), named.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(left), Some(right)) => matches!(
                (position(server, left), position(server, right)),
                (Some(left), Some(right)) if left < right
            ),
        };
        let next = if take_server_only {
            server_only.next()
        } else {
            named.next()
        };
        result.extend(next);
    }
    result
}

/// Upstream `mergePatchIntoOriginal` ordering step for one `$setElementOrder/<field>` list.
fn apply_element_order(
    items: Vec<Value>,
    order: &[Value],
    server_list: &[Value],
    patch_items: &[Value],
    field: &FieldSchema,
    key: &str,
) -> Result<Vec<Value>, PatchError> {
    // An atomic list is the patch's list verbatim; there is nothing to order.
    if !field.is_merge_list() {
        return Ok(items);
    }
    let keyed = holds_objects(&[&items, server_list, patch_items], key)?;
    let merge_key = if keyed { field.merge_key } else { None };
    let mut order_ids: Vec<&Value> = Vec::with_capacity(order.len());
    for entry in order {
        let id = match merge_key {
            Some(merge_key) => entry
                .as_object()
                .and_then(|members| members.get(merge_key))
                .ok_or_else(|| PatchError::MissingMergeKey {
                    field: format!("{SET_ELEMENT_ORDER_PREFIX}{key}"),
                    merge_key: merge_key.to_owned(),
                })?,
            None => entry,
        };
        order_ids.push(id);
    }
    check_patch_follows_order(patch_items, &order_ids, merge_key, key)?;
    let server: Vec<&Value> = server_list
        .iter()
        .filter_map(|item| identity(item, merge_key))
        .collect();
    Ok(normalize_order(items, &order_ids, &server, merge_key))
}

/// Upstream `validatePatchWithSetOrderList`: the patch's regular elements must appear in the
/// `$setElementOrder` list, in the same relative order.
fn check_patch_follows_order(
    patch_items: &[Value],
    order_ids: &[&Value],
    merge_key: Option<&str>,
    key: &str,
) -> Result<(), PatchError> {
    if order_ids.is_empty() {
        return Ok(());
    }
    let mut remaining = order_ids.iter();
    let regular = patch_items.iter().filter(|item| {
        item.as_object()
            .is_none_or(|members| !members.contains_key(PATCH_DIRECTIVE))
    });
    for item in regular {
        let id = identity(item, merge_key);
        if !remaining.any(|candidate| Some(*candidate) == id) {
            return Err(PatchError::OrderMismatch(key.to_owned()));
        }
    }
    Ok(())
}
