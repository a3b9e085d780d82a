//! Test-only protobuf encoder for hand-assembling Kubernetes request bodies.

use crate::protobuf::MAGIC;

/// Builds one message; each method appends a field and returns the builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct Enc(Vec<u8>);

impl Enc {
    pub(crate) fn new() -> Self {
        Enc(Vec::new())
    }

    fn tag(&mut self, field: u32, wire: u8) {
        self.raw_varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn raw_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    pub(crate) fn varint(mut self, field: u32, value: u64) -> Self {
        self.tag(field, 0);
        self.raw_varint(value);
        self
    }

    /// int32/int64: negative values are sign-extended to ten bytes, as Go writes them.
    pub(crate) fn int(self, field: u32, value: i64) -> Self {
        self.varint(field, value as u64)
    }

    pub(crate) fn bool(self, field: u32, value: bool) -> Self {
        self.varint(field, u64::from(value))
    }

    pub(crate) fn bytes(mut self, field: u32, value: &[u8]) -> Self {
        self.tag(field, 2);
        self.raw_varint(value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }

    pub(crate) fn str(self, field: u32, value: &str) -> Self {
        self.bytes(field, value.as_bytes())
    }

    pub(crate) fn strs(self, field: u32, values: &[&str]) -> Self {
        values.iter().fold(self, |enc, value| enc.str(field, value))
    }

    pub(crate) fn msg(self, field: u32, value: Enc) -> Self {
        self.bytes(field, &value.0)
    }

    pub(crate) fn fixed32(mut self, field: u32, value: u32) -> Self {
        self.tag(field, 5);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn fixed64(mut self, field: u32, value: u64) -> Self {
        self.tag(field, 1);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// One `map<string, string>` entry.
    pub(crate) fn str_entry(self, field: u32, key: &str, value: &str) -> Self {
        self.msg(field, Enc::new().str(1, key).str(2, value))
    }

    /// One `map<string, Quantity>` entry.
    pub(crate) fn quantity_entry(self, field: u32, key: &str, value: &str) -> Self {
        self.msg(field, Enc::new().str(1, key).msg(2, quantity(value)))
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// A `meta/v1 Time` or `MicroTime` message.
pub(crate) fn time(seconds: i64, nanos: i32) -> Enc {
    Enc::new().int(1, seconds).int(2, i64::from(nanos))
}

/// A `resource.Quantity` message.
pub(crate) fn quantity(value: &str) -> Enc {
    Enc::new().str(1, value)
}

/// An `IntOrString` holding an int, written the way Go writes it (all three fields).
pub(crate) fn int_or_int(value: i32) -> Enc {
    Enc::new().int(1, 0).int(2, i64::from(value)).str(3, "")
}

/// An `IntOrString` holding a string.
pub(crate) fn int_or_str(value: &str) -> Enc {
    Enc::new().int(1, 1).int(2, 0).str(3, value)
}

/// A complete request body: magic plus the `runtime.Unknown` envelope, laid out as upstream
/// `runtime.Unknown.NestedMarshalTo` does (empty contentEncoding and contentType included).
pub(crate) fn body(api_version: &str, kind: &str, raw: Enc) -> Vec<u8> {
    let envelope = Enc::new()
        .msg(1, Enc::new().str(1, api_version).str(2, kind))
        .msg(2, raw)
        .str(3, "")
        .str(4, "");
    let mut out = MAGIC.to_vec();
    out.extend(envelope.into_bytes());
    out
}
