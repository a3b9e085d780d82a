//! JSON forms of the apimachinery value types: Time, MicroTime, Quantity, IntOrString, RawExtension and bytes.

use jiff::Timestamp;
use jiff::tz::Offset;
use serde_json::Value;

use super::ProtobufError;
use super::wire::{Reader, Wire};

/// What a zero `resource.Quantity` marshals to (upstream `Quantity.MarshalJSON`).
pub(crate) const ZERO_QUANTITY: &str = "0";
/// `time.Time{}.Unix()`: Go's zero time, which `metav1.Time` marshals as `null` (unset).
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;
const NANOS_PER_SECOND: i128 = 1_000_000_000;
/// `metav1.Time` JSON layout: RFC 3339 in UTC with whole seconds (upstream `Time.MarshalJSON`).
const RFC3339_SECONDS: &str = "%Y-%m-%dT%H:%M:%S";
/// `intstr.Type` values (upstream `intstr.Int`, `intstr.String`).
const INT_OR_STRING_INT: u64 = 0;
const INT_OR_STRING_STRING: u64 = 1;
const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Where a value sits, for error messages: the message and its field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site {
    pub(crate) message: &'static str,
    pub(crate) field: &'static str,
}

// === impl Site ===

impl Site {
    pub(crate) fn wrong_wire_type(self) -> ProtobufError {
        ProtobufError::WrongWireType {
            message: self.message,
            field: self.field,
        }
    }
}

pub(crate) fn utf8(site: Site, bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::InvalidUtf8 {
        message: site.message,
        field: site.field,
    })
}

/// Standard base64 with padding, as Go's `encoding/json` writes `[]byte`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    BASE64_ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `Time`/`MicroTime` message (`seconds = 1`, `nanos = 2`) as its JSON string, or `None` when
/// it is unset: go-to-protobuf writes a zero time as an empty message (upstream `Time.Marshal`).
pub(crate) fn time(site: Site, bytes: &[u8], micro: bool) -> Result<Option<Value>, ProtobufError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let (mut seconds, mut nanos) = (0i64, 0i64);
    let mut reader = Reader::new(bytes);
    while let Some((num, wire)) = reader.next_field()? {
        match (num, wire) {
            // Both are plain varints; a negative value arrives sign-extended.
            (1, Wire::Varint(raw)) => seconds = raw as i64,
            (2, Wire::Varint(raw)) => nanos = i64::from(raw as i32),
            (1 | 2, _) => return Err(site.wrong_wire_type()),
            _ => {}
        }
    }
    if seconds == GO_ZERO_TIME_UNIX && nanos == 0 {
        return Ok(None);
    }
    let total = i128::from(seconds) * NANOS_PER_SECOND + i128::from(nanos);
    let timestamp = Timestamp::from_nanosecond(total).map_err(|_| ProtobufError::InvalidTime {
        message: site.message,
        field: site.field,
    })?;
    let utc = Offset::UTC.to_datetime(timestamp);
    let mut text = utc.strftime(RFC3339_SECONDS).to_string();
    if micro {
        // `metav1.MicroTime` always writes six digits (upstream `RFC3339Micro`), truncating.
        text.push_str(&format!(".{:06}", utc.subsec_nanosecond() / 1000));
    }
    text.push('Z');
    Ok(Some(Value::String(text)))
}

/// A `resource.Quantity` message (`string = 1`) as its JSON string.
pub(crate) fn quantity(site: Site, bytes: &[u8]) -> Result<Value, ProtobufError> {
    let mut text = None;
    let mut reader = Reader::new(bytes);
    while let Some((num, wire)) = reader.next_field()? {
        match (num, wire) {
            (1, Wire::Len(raw)) => text = Some(utf8(site, raw)?),
            (1, _) => return Err(site.wrong_wire_type()),
            _ => {}
        }
    }
    let text = text
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| ZERO_QUANTITY.to_owned());
    Ok(Value::String(text))
}

/// An `intstr.IntOrString` message (`type = 1`, `intVal = 2`, `strVal = 3`) as a JSON number or
/// string, chosen by `type` as upstream `IntOrString.MarshalJSON` does.
pub(crate) fn int_or_string(site: Site, bytes: &[u8]) -> Result<Value, ProtobufError> {
    let (mut kind, mut int_val, mut str_val) = (INT_OR_STRING_INT, 0i32, String::new());
    let mut reader = Reader::new(bytes);
    while let Some((num, wire)) = reader.next_field()? {
        match (num, wire) {
            (1, Wire::Varint(raw)) => kind = raw,
            // int32 on the wire: Go keeps the low 32 bits.
            (2, Wire::Varint(raw)) => int_val = raw as i32,
            (3, Wire::Len(raw)) => str_val = utf8(site, raw)?,
            (1..=3, _) => return Err(site.wrong_wire_type()),
            _ => {}
        }
    }
    match kind {
        INT_OR_STRING_INT => Ok(Value::from(int_val)),
        INT_OR_STRING_STRING => Ok(Value::String(str_val)),
        other => Err(ProtobufError::InvalidIntOrString {
            message: site.message,
            field: site.field,
            kind: other,
        }),
    }
}

/// A `runtime.RawExtension` message (`raw = 1`) whose bytes are JSON, embedded as that JSON
/// (upstream `RawExtension.MarshalJSON`); `None` when it holds nothing (JSON `null`).
pub(crate) fn raw_json(site: Site, bytes: &[u8]) -> Result<Option<Value>, ProtobufError> {
    let mut raw: &[u8] = &[];
    let mut reader = Reader::new(bytes);
    while let Some((num, wire)) = reader.next_field()? {
        match (num, wire) {
            (1, Wire::Len(data)) => raw = data,
            (1, _) => return Err(site.wrong_wire_type()),
            _ => {}
        }
    }
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(raw)
        .map(Some)
        .map_err(|source| ProtobufError::InvalidRawJson {
            message: site.message,
            field: site.field,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: Site = Site {
        message: "Test",
        field: "value",
    };

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    }

    fn time_message(seconds: i64, nanos: i32) -> Vec<u8> {
        let mut out = vec![0x08];
        out.extend(varint(seconds as u64));
        out.push(0x10);
        out.extend(varint(i64::from(nanos) as u64));
        out
    }

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "input {input:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn time_formats_like_metav1() {
        let cases = [
            (1_700_000_000, 123_456_789, false, "2023-11-14T22:13:20Z"),
            (
                1_700_000_000,
                123_456_789,
                true,
                "2023-11-14T22:13:20.123456Z",
            ),
            (0, 0, false, "1970-01-01T00:00:00Z"),
            (-1, 500_000_000, true, "1969-12-31T23:59:59.500000Z"),
            (GO_ZERO_TIME_UNIX + 1, 0, false, "0001-01-01T00:00:01Z"),
        ];
        for (seconds, nanos, micro, want) in cases {
            let got = time(SITE, &time_message(seconds, nanos), micro).expect("must succeed");
            assert_eq!(
                got,
                Some(Value::String(want.to_owned())),
                "{seconds}.{nanos}"
            );
        }
    }

    #[test]
    fn zero_time_is_unset() {
        assert_eq!(time(SITE, &[], false).expect("must succeed"), None);
        assert_eq!(
            time(SITE, &time_message(GO_ZERO_TIME_UNIX, 0), true).expect("must succeed"),
            None
        );
    }

    #[test]
    fn time_out_of_range_is_an_error() {
        let err = time(SITE, &time_message(i64::MAX, 0), false).expect_err("must fail");
        assert!(matches!(err, ProtobufError::InvalidTime { .. }), "{err}");
    }

    #[test]
    fn quantity_defaults_to_zero() {
        assert_eq!(quantity(SITE, &[]).expect("must succeed"), Value::from("0"));
        assert_eq!(
            quantity(SITE, b"\x0a\x04100m").expect("must succeed"),
            Value::from("100m")
        );
    }

    #[test]
    fn int_or_string_follows_type() {
        assert_eq!(
            int_or_string(SITE, &[0x08, 0x00, 0x10, 0x05, 0x1a, 0x00]).expect("must succeed"),
            Value::from(5)
        );
        assert_eq!(
            int_or_string(SITE, b"\x08\x01\x10\x00\x1a\x0325%").expect("must succeed"),
            Value::from("25%")
        );
        let negative = [
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(
            int_or_string(SITE, &negative).expect("must succeed"),
            Value::from(-1)
        );
        assert!(matches!(
            int_or_string(SITE, &[0x08, 0x02]),
            Err(ProtobufError::InvalidIntOrString { kind: 2, .. })
        ));
    }

    #[test]
    fn raw_json_embeds_or_rejects() {
        assert_eq!(raw_json(SITE, &[]).expect("must succeed"), None);
        assert_eq!(
            raw_json(SITE, b"\x0a\x07{\"a\":1}").expect("must succeed"),
            Some(serde_json::json!({"a": 1}))
        );
        assert!(matches!(
            raw_json(SITE, b"\x0a\x01{"),
            Err(ProtobufError::InvalidRawJson { .. })
        ));
    }
}
