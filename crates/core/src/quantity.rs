//! Kubernetes resource quantities (`100m`, `1.5`, `2Gi`, `1e3`, …) parsed like upstream `resource.ParseQuantity`, read as saturating i128 values.
//!
//! A [`Quantity`] keeps the exact value as `mantissa × 10^exp10 × 2^exp2`; [`Quantity::milli_value`]
//! and [`Quantity::value`] round up (away from zero), as upstream's `MilliValue`/`Value` do, and
//! saturate at the i128 range instead of overflowing.

use std::cmp::Ordering;

/// Why a quantity string was rejected (upstream `ErrFormatWrong`, `ErrNumeric`, `ErrSuffix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string does not have the `<number><suffix>` shape.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    /// The numeric part could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not a known SI, binary or exponent suffix.
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// An exactly represented quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    /// Significant digits (leading zeros dropped; digits that did not fit are dropped too and
    /// accounted for in `exp10` and `truncated`).
    mantissa: u128,
    exp10: i32,
    exp2: u32,
    /// Nonzero digits were dropped from the mantissa (the true value is slightly larger).
    truncated: bool,
}

/// The parts of a quantity string (upstream `parseQuantityString`).
struct Parts<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

const SUFFIX_CHARS: &str = "eEinumkKMGTP";

fn split(s: &str) -> Result<Parts<'_>, QuantityError> {
    let bytes = s.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut positive = true;
    match bytes.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    let num_start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = &s[num_start..pos];
    let mut denom = "";
    if pos < end && bytes[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[denom_start..pos];
    }
    let suffix_start = pos;
    while pos < end && SUFFIX_CHARS.as_bytes().contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && matches!(bytes[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Parts {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// Upstream `suffixer.interpret`: (exp10, exp2) of a suffix.
fn interpret_suffix(suffix: &str) -> Option<(i32, u32)> {
    Some(match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let rest = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            if rest.is_empty() {
                return None;
            }
            let exp: i64 = rest.parse().ok()?;
            // Upstream truncates to int32; clamping keeps the saturating arithmetic simple.
            (exp.clamp(-10_000, 10_000) as i32, 0)
        }
    })
}

// === impl Quantity ===

impl Quantity {
    /// Upstream `ParseQuantity`.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        let parts = split(s)?;
        let (exp10, exp2) = interpret_suffix(parts.suffix).ok_or(QuantityError::Suffix)?;
        let mut mantissa: u128 = 0;
        let mut dropped: i32 = 0;
        let mut truncated = false;
        for digit in parts.num.bytes().chain(parts.denom.bytes()) {
            let d = u128::from(digit - b'0');
            match mantissa.checked_mul(10).and_then(|m| m.checked_add(d)) {
                Some(m) if dropped == 0 => mantissa = m,
                _ => {
                    dropped += 1;
                    truncated |= d != 0;
                }
            }
        }
        let denom_len = i32::try_from(parts.denom.len()).map_err(|_| QuantityError::Numeric)?;
        Ok(Quantity {
            negative: !parts.positive && mantissa != 0,
            mantissa,
            exp10: exp10.saturating_add(dropped).saturating_sub(denom_len),
            exp2,
            truncated,
        })
    }

    /// The value scaled by `10^scale` (scale −3 = milli-units), rounded up away from zero and
    /// saturated at the i128 range (upstream `ScaledValue`).
    pub fn scaled_value(&self, scale: i32) -> i128 {
        if self.mantissa == 0 {
            return 0;
        }
        let magnitude = self.magnitude(scale);
        let signed = i128::try_from(magnitude).unwrap_or(i128::MAX);
        if self.negative { -signed } else { signed }
    }

    /// Magnitude of the value in units of `10^scale`, rounded up, saturated.
    fn magnitude(&self, scale: i32) -> u128 {
        let mut value = self.mantissa;
        let mut inexact = self.truncated;
        for _ in 0..self.exp2 {
            value = value.saturating_mul(2);
        }
        let shift = self.exp10.saturating_sub(scale);
        match shift.cmp(&0) {
            Ordering::Greater => {
                for _ in 0..shift {
                    value = value.saturating_mul(10);
                    if value == u128::MAX {
                        break;
                    }
                }
            }
            Ordering::Less => {
                for _ in 0..shift.unsigned_abs() {
                    if value == 0 {
                        break;
                    }
                    inexact |= !value.is_multiple_of(10);
                    value /= 10;
                }
            }
            Ordering::Equal => {}
        }
        if inexact {
            value.saturating_add(1)
        } else {
            value
        }
    }

    /// Upstream `MilliValue`: the value in thousandths, rounded up.
    pub fn milli_value(&self) -> i128 {
        self.scaled_value(-3)
    }

    /// Upstream `Value`: the value in units, rounded up.
    pub fn value(&self) -> i128 {
        self.scaled_value(0)
    }

    /// True for a zero quantity.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// True for a negative quantity.
    pub fn is_negative(&self) -> bool {
        self.negative
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// Parses a quantity string straight to milli-units (e.g. cpu `"100m"` → 100, `"1"` → 1000).
pub fn parse_milli(s: &str) -> Result<i128, QuantityError> {
    Quantity::parse(s).map(|q| q.milli_value())
}

/// Parses a quantity string to whole units, rounded up (e.g. memory `"1Ki"` → 1024).
pub fn parse_value(s: &str) -> Result<i128, QuantityError> {
    Quantity::parse(s).map(|q| q.value())
}

/// [`parse_milli`] for a k8s-openapi quantity.
pub fn quantity_milli(
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
) -> Result<i128, QuantityError> {
    parse_milli(&q.0)
}

/// [`parse_value`] for a k8s-openapi quantity.
pub fn quantity_value(
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
) -> Result<i128, QuantityError> {
    parse_value(&q.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_values_like_upstream_quantity_test() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("0m", 0),
            ("0Ki", 0),
            ("000", 0),
            ("-0", 0),
            ("100m", 100),
            ("1", 1000),
            ("1.5", 1500),
            ("0.1", 100),
            (".5", 500),
            ("5.", 5000),
            ("1.", 1000),
            ("1k", 1_000_000),
            ("1M", 1_000_000_000),
            ("1G", 1_000_000_000_000),
            ("1e3", 1_000_000),
            ("1E3", 1_000_000),
            ("1e-3", 1),
            ("1e+3", 1_000_000),
            ("1Ki", 1_024_000),
            ("2Gi", 2 * 1024 * 1024 * 1024 * 1000),
            ("500Mi", 500 * 1024 * 1024 * 1000),
            ("1.5Gi", 1_610_612_736_000),
            ("1n", 1),
            ("1u", 1),
            ("1500u", 2),
            ("0.0001", 1),
            ("-100m", -100),
            ("-1.5", -1500),
            ("+2", 2000),
            ("1E", 1_000_000_000_000_000_000_000),
            ("1Ei", 1_152_921_504_606_846_976_000),
            (
                "12345678901234567890123456789",
                12_345_678_901_234_567_890_123_456_789_000,
            ),
            ("1e100", i128::MAX),
            ("-1e100", -i128::MAX),
        ];
        for (input, want) in cases {
            assert_eq!(parse_milli(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn values_round_up_like_upstream() {
        let cases: &[(&str, i128)] = &[
            ("1", 1),
            ("100m", 1),
            ("1500m", 2),
            ("1Ki", 1024),
            ("1.1Ki", 1127),
            ("110", 110),
            ("1e-5", 1),
            ("0", 0),
            ("-100m", -1),
        ];
        for (input, want) in cases {
            assert_eq!(parse_value(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn parse_errors_like_upstream_test_quantity_parse_emit() {
        let cases: &[(&str, QuantityError)] = &[
            ("", QuantityError::FormatWrong),
            ("1.1.M", QuantityError::FormatWrong),
            ("1+1.0M", QuantityError::FormatWrong),
            ("0.1mi", QuantityError::Suffix),
            ("0.1am", QuantityError::FormatWrong),
            ("aoeu", QuantityError::FormatWrong),
            (".5i", QuantityError::Suffix),
            ("1i", QuantityError::Suffix),
            ("-3.01i", QuantityError::Suffix),
            ("-3.01e-", QuantityError::Suffix),
            ("1K", QuantityError::Suffix),
            ("1e", QuantityError::Suffix),
            ("1 ", QuantityError::FormatWrong),
            (" 1", QuantityError::FormatWrong),
            ("1Gi1", QuantityError::Suffix),
            ("1mm", QuantityError::Suffix),
        ];
        for (input, want) in cases {
            assert_eq!(Quantity::parse(input), Err(*want), "{input:?}");
        }
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn openapi_quantity_helpers() {
        use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
        assert_eq!(quantity_milli(&Q("250m".into())), Ok(250));
        assert_eq!(quantity_value(&Q("64Mi".into())), Ok(64 * 1024 * 1024));
        let q: Quantity = "2".parse().expect("valid");
        assert!(!q.is_zero() && !q.is_negative());
        assert!(Quantity::parse("-1").expect("valid").is_negative());
        assert!(Quantity::parse("0.000").expect("valid").is_zero());
    }
}
