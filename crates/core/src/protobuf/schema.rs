//! Field-descriptor tables and the walker that turns a protobuf message into its JSON API form.
//!
//! Each Kubernetes message is a [`Message`]: a list of [`Field`]s mapping a field number (from
//! upstream `generated.proto`) to its JSON name and a [`Kind`]. The walker skips fields the table
//! does not list, as every protobuf parser does with unknown fields.

use serde_json::{Map, Value};

use super::ProtobufError;
use super::scalars::{self, Site};
use super::wire::{Reader, Wire, packed_varints};

/// How a field's wire value becomes JSON.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `string` → JSON string.
    Str,
    /// `bool` → JSON bool.
    Bool,
    /// `int32`/`int64` (plain varint, negative values sign-extended) → JSON number.
    Int,
    /// `meta/v1 Time` → RFC 3339 seconds string.
    Time,
    /// `meta/v1 MicroTime` → RFC 3339 string with six fractional digits.
    MicroTime,
    /// `resource.Quantity` → its canonical string.
    Quantity,
    /// `intstr.IntOrString` → number or string.
    IntOrString,
    /// `runtime.RawExtension` holding JSON → the embedded JSON value.
    RawJson,
    /// A nested message → JSON object.
    Msg(&'static Message),
    /// A Go struct embedded with `json:",inline"`: its fields land in the parent object.
    Inline(&'static Message),
    /// `map<string, string>` → JSON object.
    StrMap,
    /// `map<string, bytes>` → JSON object of base64 strings.
    BytesMap,
    /// `map<string, Quantity>` → JSON object of quantity strings.
    QuantityMap,
}

/// One field of a message descriptor.
#[derive(Clone, Copy)]
pub(crate) struct Field {
    num: u32,
    name: &'static str,
    kind: Kind,
    /// `repeated`: collected into a JSON array.
    list: bool,
    /// Emit zero scalars (`""`, `0`, `false`) too. Set for Go pointer fields, where being on the
    /// wire means "set", and for fields whose JSON tag lacks `omitempty`. Everything else follows
    /// `omitempty`: go-to-protobuf writes non-pointer scalars even when they are zero, and the
    /// JSON API would omit them.
    keep: bool,
}

/// A message descriptor: the fields of one upstream protobuf message.
pub(crate) struct Message {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

/// A singular field with `omitempty` semantics; refine with [`Field::list`] and [`Field::keep`].
pub(crate) const fn f(num: u32, name: &'static str, kind: Kind) -> Field {
    Field {
        num,
        name,
        kind,
        list: false,
        keep: false,
    }
}

// === impl Field ===

impl Field {
    /// Marks the field `repeated`.
    pub(crate) const fn list(self) -> Self {
        Field { list: true, ..self }
    }

    /// Keeps zero values (pointer or non-`omitempty` fields).
    pub(crate) const fn keep(self) -> Self {
        Field { keep: true, ..self }
    }
}

/// Decodes `bytes` as `message` into a fresh JSON object.
pub(crate) fn decode_message(
    message: &'static Message,
    bytes: &[u8],
) -> Result<Map<String, Value>, ProtobufError> {
    let mut out = Map::new();
    decode_into(message, bytes, &mut out)?;
    Ok(out)
}

/// Decodes `bytes` as `message`, adding its fields to `out` (also used for inlined structs).
/// Recursion depth is bounded by the descriptor tables, which contain no cycles.
pub(crate) fn decode_into(
    message: &'static Message,
    bytes: &[u8],
    out: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    let mut reader = Reader::new(bytes);
    while let Some((num, wire)) = reader.next_field()? {
        if let Some(field) = message.fields.iter().find(|field| field.num == num) {
            apply(message, field, wire, out)?;
        }
    }
    Ok(())
}

fn apply(
    message: &'static Message,
    field: &Field,
    wire: Wire<'_>,
    out: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    let site = Site {
        message: message.name,
        field: field.name,
    };
    match (field.kind, wire) {
        (Kind::Inline(inner), Wire::Len(bytes)) => decode_into(inner, bytes, out),
        (Kind::StrMap | Kind::BytesMap | Kind::QuantityMap, Wire::Len(entry)) => {
            let (key, value) = map_entry(site, field.kind, entry)?;
            if let Value::Object(map) = out
                .entry(field.name)
                .or_insert_with(|| Value::Object(Map::new()))
            {
                map.insert(key, value);
            }
            Ok(())
        }
        // A packed repeated scalar: one length-delimited run of varints.
        (Kind::Int | Kind::Bool, Wire::Len(bytes)) if field.list => {
            for raw in packed_varints(bytes)? {
                push(out, field.name, varint_value(field.kind, raw));
            }
            Ok(())
        }
        (kind, wire) => {
            let Some(value) = convert(site, kind, wire)? else {
                return Ok(());
            };
            if field.list {
                push(out, field.name, value);
            } else if field.keep || !is_zero(&value) {
                out.insert(field.name.to_owned(), value);
            }
            Ok(())
        }
    }
}

/// Converts one singular wire value; `None` means "unset" (an empty Time or RawExtension).
fn convert(site: Site, kind: Kind, wire: Wire<'_>) -> Result<Option<Value>, ProtobufError> {
    let value = match (kind, wire) {
        (Kind::Str, Wire::Len(bytes)) => Value::String(scalars::utf8(site, bytes)?),
        (Kind::Int | Kind::Bool, Wire::Varint(raw)) => varint_value(kind, raw),
        (Kind::Time, Wire::Len(bytes)) => return scalars::time(site, bytes, false),
        (Kind::MicroTime, Wire::Len(bytes)) => return scalars::time(site, bytes, true),
        (Kind::Quantity, Wire::Len(bytes)) => scalars::quantity(site, bytes)?,
        (Kind::IntOrString, Wire::Len(bytes)) => scalars::int_or_string(site, bytes)?,
        (Kind::RawJson, Wire::Len(bytes)) => return scalars::raw_json(site, bytes),
        (Kind::Msg(inner), Wire::Len(bytes)) => Value::Object(decode_message(inner, bytes)?),
        _ => return Err(site.wrong_wire_type()),
    };
    Ok(Some(value))
}

/// A map entry message: `key = 1`, `value = 2` (protobuf "Maps" backwards compatibility form).
fn map_entry(site: Site, kind: Kind, entry: &[u8]) -> Result<(String, Value), ProtobufError> {
    let mut key = String::new();
    let mut value = None;
    let mut reader = Reader::new(entry);
    while let Some((num, wire)) = reader.next_field()? {
        match (num, wire) {
            (1, Wire::Len(bytes)) => key = scalars::utf8(site, bytes)?,
            (2, Wire::Len(bytes)) => {
                value = Some(match kind {
                    Kind::BytesMap => Value::String(scalars::base64(bytes)),
                    Kind::QuantityMap => scalars::quantity(site, bytes)?,
                    _ => Value::String(scalars::utf8(site, bytes)?),
                });
            }
            (1 | 2, _) => return Err(site.wrong_wire_type()),
            _ => {}
        }
    }
    // A missing value is the proto default: "" for strings and bytes, zero for a Quantity.
    let value = value.unwrap_or_else(|| match kind {
        Kind::QuantityMap => Value::String(scalars::ZERO_QUANTITY.to_owned()),
        _ => Value::String(String::new()),
    });
    Ok((key, value))
}

fn varint_value(kind: Kind, raw: u64) -> Value {
    match kind {
        Kind::Bool => Value::Bool(raw != 0),
        // int32 and int64 are both sign-extended to 64 bits on the wire.
        _ => Value::from(raw as i64),
    }
}

fn push(out: &mut Map<String, Value>, name: &str, value: Value) {
    if let Value::Array(items) = out.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
        items.push(value);
    }
}

/// The zero values that Go's `omitempty` drops.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}
