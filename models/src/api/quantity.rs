//! Kubernetes resource quantities, parsed as apimachinery `resource.ParseQuantity` does.
//!
//! Grammar (apimachinery/pkg/api/resource/quantity.go):
//! ```text
//! <quantity>        ::= <signedNumber><suffix>
//! <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//! <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//! <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//! <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//! ```
//! The value is kept exactly (mantissa × 10^e10 × 2^e2) so `milli_value` and `value` round up
//! as upstream's `MilliValue()` and `Value()` do ("rounded up to the nearest integer").

use std::fmt;

/// An exactly represented quantity: `mantissa × 10^exp10 × 2^exp2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp2: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantity {0:?} is empty")]
    Empty(String),
    #[error(
        "{0:?} is not a Kubernetes quantity (expected a number with an optional suffix such as 100m, 0.5, 64Mi, 1G or 1e3)"
    )]
    Syntax(String),
    #[error("quantity {0:?} is too large")]
    TooLarge(String),
}

impl Quantity {
    pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(QuantityError::Empty(input.to_string()));
        }
        let syntax = || QuantityError::Syntax(input.to_string());
        let too_large = || QuantityError::TooLarge(input.to_string());
        let bytes = s.as_bytes();
        let mut i = 0;
        let negative = match bytes[0] {
            b'-' => {
                i = 1;
                true
            }
            b'+' => {
                i = 1;
                false
            }
            _ => false,
        };
        let mut mantissa: i128 = 0;
        let mut exp10: i32 = 0;
        let mut digits = 0;
        let mut seen_dot = false;
        while i < bytes.len() {
            match bytes[i] {
                c @ b'0'..=b'9' => {
                    mantissa = mantissa
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(i128::from(c - b'0')))
                        .ok_or_else(too_large)?;
                    if seen_dot {
                        exp10 -= 1;
                    }
                    digits += 1;
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => break,
            }
            i += 1;
        }
        if digits == 0 {
            return Err(syntax());
        }
        let suffix = &s[i..];
        let mut exp2 = 0;
        match suffix {
            "" => {}
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            "Ki" => exp2 = 10,
            "Mi" => exp2 = 20,
            "Gi" => exp2 = 30,
            "Ti" => exp2 = 40,
            "Pi" => exp2 = 50,
            "Ei" => exp2 = 60,
            _ if suffix.starts_with(['e', 'E']) => {
                let exp: i32 = suffix[1..].parse().map_err(|_| syntax())?;
                if !suffix[1..]
                    .trim_start_matches(['+', '-'])
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                {
                    return Err(syntax());
                }
                exp10 = exp10.checked_add(exp).ok_or_else(too_large)?;
            }
            _ => return Err(syntax()),
        }
        let q = Quantity {
            mantissa: if negative { -mantissa } else { mantissa },
            exp10,
            exp2,
        };
        // Reject what cannot be held in an int64 of milli-units, as upstream's int64 fast path
        // and the API server's validation do for resource amounts.
        q.checked_scaled_ceil(3).ok_or_else(too_large)?;
        Ok(q)
    }

    /// The value in thousandths, rounded up (upstream `MilliValue()`), e.g. CPU millicores.
    pub fn milli_value(&self) -> i64 {
        self.checked_scaled_ceil(3).unwrap_or(i64::MAX)
    }

    /// The value rounded up to an integer (upstream `Value()`), e.g. memory bytes.
    pub fn value(&self) -> i64 {
        self.checked_scaled_ceil(0).unwrap_or(i64::MAX)
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// ceil(self × 10^scale), or None if it does not fit an i64.
    fn checked_scaled_ceil(&self, scale: i32) -> Option<i64> {
        let mut num = self.mantissa.checked_mul(1i128.checked_shl(self.exp2)?)?;
        let e = self.exp10.checked_add(scale)?;
        if e >= 0 {
            num = num.checked_mul(10i128.checked_pow(u32::try_from(e).ok()?)?)?;
            return i64::try_from(num).ok();
        }
        let neg_e = u32::try_from(-e).ok()?;
        // A divisor beyond i128 means the magnitude is below one unit: round up to 1 (or 0).
        let Some(div) = 10i128.checked_pow(neg_e) else {
            return Some(i64::from(num > 0));
        };
        let q = num.div_euclid(div);
        let r = num.rem_euclid(div);
        i64::try_from(if r > 0 { q + 1 } else { q }).ok()
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.milli_value();
        if m % 1000 == 0 {
            write!(f, "{}", m / 1000)
        } else {
            write!(f, "{m}m")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn decimal_and_binary_suffixes() {
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("0.5").milli_value(), 500);
        assert_eq!(q(".5").milli_value(), 500);
        assert_eq!(q("5.").milli_value(), 5000);
        assert_eq!(q("2").milli_value(), 2000);
        assert_eq!(q("64Mi").value(), 64 * 1024 * 1024);
        assert_eq!(q("1G").value(), 1_000_000_000);
        assert_eq!(q("1Gi").value(), 1 << 30);
        assert_eq!(q("1e3").value(), 1000);
        assert_eq!(q("1E3").value(), 1000);
        assert_eq!(q("1e-3").milli_value(), 1);
        assert_eq!(q("1.5Gi").value(), 3 << 29);
        assert_eq!(q("+1k").value(), 1000);
        assert_eq!(q("500u").milli_value(), 1);
    }

    #[test]
    fn rounds_up_like_upstream_milli_value() {
        // quantity_test.go: "1.0001m" has MilliValue 2 ("rounded up").
        assert_eq!(q("1.0001m").milli_value(), 2);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("1n").value(), 1);
        assert_eq!(q("0.1").value(), 1);
        assert_eq!(q("0").value(), 0);
    }

    #[test]
    fn rejects_what_upstream_rejects() {
        for bad in [
            "", "abc", "1.2.3", "1Kb", "1mi", "--1", "1e", "1e1.5", "m", "1 Gi", "1e99",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
