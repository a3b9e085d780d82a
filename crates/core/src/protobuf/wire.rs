//! Bounds-checked reader for the raw protobuf wire format: varints, fixed32/64 and length-delimited fields.

use super::ProtobufError;

/// Largest legal field number (2^29 - 1, protobuf language guide "Field Numbers").
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;
/// A varint never needs more than ten bytes to hold 64 bits.
const MAX_VARINT_BYTES: usize = 10;

/// Wire type tags (protobuf encoding guide "Message Structure"). Groups (3, 4) are not used by
/// Kubernetes and are rejected.
const WIRE_VARINT: u64 = 0;
const WIRE_FIXED64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_FIXED32: u64 = 5;

/// One field value as it appears on the wire, before any schema is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

/// Walks the fields of one message; every read is bounds-checked, so malformed input yields an
/// error instead of a panic.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

// === impl Reader ===

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The next `(field number, value)` pair, or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Wire<'a>)>, ProtobufError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return Err(ProtobufError::InvalidFieldNumber(number));
        }
        let value = match tag & 7 {
            WIRE_VARINT => Wire::Varint(self.varint()?),
            WIRE_FIXED64 => {
                let mut le = [0u8; 8];
                le.copy_from_slice(self.take(8)?);
                Wire::Fixed64(u64::from_le_bytes(le))
            }
            WIRE_LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Truncated)?;
                Wire::Len(self.take(len)?)
            }
            WIRE_FIXED32 => {
                let mut le = [0u8; 4];
                le.copy_from_slice(self.take(4)?);
                Wire::Fixed32(u32::from_le_bytes(le))
            }
            other => return Err(ProtobufError::UnsupportedWireType(other as u8)),
        };
        // `number` fits: it was checked against MAX_FIELD_NUMBER above.
        Ok(Some((number as u32, value)))
    }

    /// A base-128 varint, least significant group first.
    pub(crate) fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for i in 0..MAX_VARINT_BYTES {
            let byte = *self.buf.get(self.pos).ok_or(ProtobufError::Truncated)?;
            self.pos += 1;
            // The tenth byte may only contribute the 64th bit.
            if i == MAX_VARINT_BYTES - 1 && byte > 1 {
                return Err(ProtobufError::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::VarintOverflow)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ProtobufError> {
        let end = self.pos.checked_add(len).ok_or(ProtobufError::Truncated)?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or(ProtobufError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// The varints of a packed repeated scalar field (proto3 default; proto2 `[packed=true]`).
/// go-to-protobuf writes repeated ints unpacked, but a conforming parser accepts both forms.
pub(crate) fn packed_varints(bytes: &[u8]) -> Result<Vec<u64>, ProtobufError> {
    let mut reader = Reader::new(bytes);
    let mut values = Vec::new();
    while !reader.at_end() {
        values.push(reader.varint()?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, ProtobufError> {
        let mut reader = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(field) = reader.next_field()? {
            out.push(field);
        }
        Ok(out)
    }

    #[test]
    fn reads_every_wire_type() {
        let bytes = [
            0x08, 0x96, 0x01, // field 1 varint 150 (protobuf encoding guide example)
            0x11, 1, 0, 0, 0, 0, 0, 0, 0x80, // field 2 fixed64
            0x1a, 0x02, b'h', b'i', // field 3 "hi"
            0x25, 0x78, 0x56, 0x34, 0x12, // field 4 fixed32
        ];
        assert_eq!(
            fields(&bytes).expect("must succeed"),
            vec![
                (1, Wire::Varint(150)),
                (2, Wire::Fixed64(0x8000_0000_0000_0001)),
                (3, Wire::Len(b"hi")),
                (4, Wire::Fixed32(0x1234_5678)),
            ]
        );
    }

    #[test]
    fn reads_negative_int32_as_ten_byte_varint() {
        let bytes = [
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(
            fields(&bytes).expect("must succeed"),
            vec![(1, Wire::Varint(u64::MAX))]
        );
    }

    #[test]
    fn rejects_malformed_input() {
        let cases: &[(&[u8], ProtobufError)] = &[
            (&[0x08], ProtobufError::Truncated),
            (&[0x08, 0x80], ProtobufError::Truncated),
            (&[0x0a, 0x05, b'a'], ProtobufError::Truncated),
            (
                &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
                ProtobufError::Truncated,
            ),
            (&[0x09, 1, 2, 3], ProtobufError::Truncated),
            (&[0x0d, 1], ProtobufError::Truncated),
            (&[0x00, 0x00], ProtobufError::InvalidFieldNumber(0)),
            (&[0x0b], ProtobufError::UnsupportedWireType(3)),
            (&[0x0f], ProtobufError::UnsupportedWireType(7)),
            (
                &[
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                ],
                ProtobufError::VarintOverflow,
            ),
            (
                &[0x80, 0x80, 0x80, 0x80, 0x10, 0x00],
                ProtobufError::InvalidFieldNumber(1 << 29),
            ),
        ];
        for (bytes, want) in cases {
            let got = fields(bytes).expect_err("malformed input must fail");
            assert_eq!(got.to_string(), want.to_string(), "input {bytes:02x?}");
        }
    }

    #[test]
    fn packed_varints_reads_until_the_end() {
        assert_eq!(
            packed_varints(&[0x01, 0x96, 0x01, 0x00]).expect("must succeed"),
            vec![1, 150, 0]
        );
        assert!(packed_varints(&[0x96]).is_err());
    }
}
