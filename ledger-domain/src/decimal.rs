//! [`Decimal`]: exact fixed-point numbers for prices, quantities, fees and P&L.
//!
//! A `Decimal` is an `i128` count of 10⁻⁸ units: eight fractional digits
//! (a satoshi), a range far beyond any price × quantity, and no binary
//! floating point anywhere. Products are rounded half-to-even back to eight
//! digits, the way a ledger rounds; sums and differences are exact.
//!
//! In JSON a decimal is a string (`"40000.5"`), so it survives every JSON
//! parser exactly; JSON numbers are accepted on input when they carry at
//! most 15 significant digits (what a double holds exactly). In postcard
//! payloads it is the raw `i128`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// An exact decimal with 8 fractional digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal(i128);

/// Why a string is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a decimal number: {reason}")]
pub struct DecimalError {
    input: String,
    reason: &'static str,
}

impl Decimal {
    /// Number of fractional digits.
    pub const DIGITS: u32 = 8;
    /// `10^DIGITS`: the number of units in 1.
    pub const SCALE: i128 = 100_000_000;
    /// 0.
    pub const ZERO: Decimal = Decimal(0);
    /// 1.
    pub const ONE: Decimal = Decimal(Self::SCALE);

    /// A decimal from a count of 10⁻⁸ units.
    pub const fn from_units(units: i128) -> Self {
        Decimal(units)
    }

    /// The count of 10⁻⁸ units.
    pub const fn units(self) -> i128 {
        self.0
    }

    /// An integer.
    pub const fn from_int(n: i64) -> Self {
        Decimal(n as i128 * Self::SCALE)
    }

    /// `mantissa × 10^-scale`, e.g. `(12345, 2)` is 123.45. `None` when
    /// `scale` exceeds 8 digits or the value is out of range.
    pub fn new(mantissa: i64, scale: u32) -> Option<Self> {
        if scale > Self::DIGITS {
            return None;
        }
        (mantissa as i128)
            .checked_mul(10i128.pow(Self::DIGITS - scale))
            .map(Decimal)
    }

    /// Whether the value is above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Whether the value is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whether the value is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The absolute value, or `None` for the one value without one (the
    /// most negative, `-1.7 × 10³⁰`).
    pub const fn checked_abs(self) -> Option<Self> {
        match self.0.checked_abs() {
            Some(v) => Some(Decimal(v)),
            None => None,
        }
    }

    /// `-self`, or `None` for the most negative value.
    pub const fn checked_neg(self) -> Option<Self> {
        match self.0.checked_neg() {
            Some(v) => Some(Decimal(v)),
            None => None,
        }
    }

    /// `-1` as a decimal.
    pub const MINUS_ONE: Decimal = Decimal(-Self::SCALE);

    /// `self + rhs`, or `None` on overflow.
    pub fn checked_add(self, rhs: Decimal) -> Option<Decimal> {
        self.0.checked_add(rhs.0).map(Decimal)
    }

    /// `self - rhs`, or `None` on overflow.
    pub fn checked_sub(self, rhs: Decimal) -> Option<Decimal> {
        self.0.checked_sub(rhs.0).map(Decimal)
    }

    /// `self × rhs` rounded half-to-even to 8 digits, or `None` when the
    /// result is out of range. The product is formed without overflowing
    /// in between: any two amounts whose product fits multiply (10¹⁵ ×
    /// 10¹⁵, say, although their unit counts multiply to 10⁴⁶).
    pub fn checked_mul(self, rhs: Decimal) -> Option<Decimal> {
        let negative = (self.0 < 0) != (rhs.0 < 0);
        let magnitude = mul_scaled_half_even(self.0.unsigned_abs(), rhs.0.unsigned_abs())?;
        from_magnitude(magnitude, negative)
    }

    /// `self ÷ rhs` rounded half-to-even to 8 digits; `None` when `rhs` is
    /// zero or on overflow.
    pub fn checked_div(self, rhs: Decimal) -> Option<Decimal> {
        if rhs.0 == 0 {
            return None;
        }
        div_round_half_even(self.0.checked_mul(Self::SCALE)?, rhs.0).map(Decimal)
    }

    /// The value rounded half-to-even to `digits` fractional digits.
    pub fn round_dp(self, digits: u32) -> Decimal {
        if digits >= Self::DIGITS {
            return self;
        }
        let step = 10i128.pow(Self::DIGITS - digits);
        // Near the extremes, rounding away from zero can leave the range:
        // the value is then rounded toward zero, which always fits.
        let rounded = div_round_half_even(self.0, step).and_then(|q| q.checked_mul(step));
        Decimal(rounded.unwrap_or(self.0 / step * step))
    }

    /// The nearest `f64`, for ratios in reports only (never for money).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }
}

/// `a × b / SCALE` rounded half-to-even, on magnitudes, or `None` when it
/// does not fit in a `u128`. With `a = a1·S + a0` and `b = b1·S + b0`
/// (`S` = [`Decimal::SCALE`], `a0, b0 < S`),
/// `a·b/S = a1·b1·S + a1·b0 + a0·b1 + a0·b0/S`: every term is at most the
/// result, so a term that overflows means the result does, and only the
/// last term has a fraction.
fn mul_scaled_half_even(a: u128, b: u128) -> Option<u128> {
    const S: u128 = Decimal::SCALE as u128;
    let (a1, a0) = (a / S, a % S);
    let (b1, b0) = (b / S, b % S);
    let low = a0 * b0; // < S², far inside u128
    let q = a1
        .checked_mul(b1)?
        .checked_mul(S)?
        .checked_add(a1.checked_mul(b0)?)?
        .checked_add(a0.checked_mul(b1)?)?
        .checked_add(low / S)?;
    let r = low % S;
    let up = match (r * 2).cmp(&S) {
        Ordering::Less => false,
        Ordering::Greater => true,
        Ordering::Equal => q % 2 == 1,
    };
    if up {
        q.checked_add(1)
    } else {
        Some(q)
    }
}

/// A signed decimal from a magnitude, or `None` when it is out of range.
fn from_magnitude(m: u128, negative: bool) -> Option<Decimal> {
    if negative {
        0i128.checked_sub_unsigned(m).map(Decimal)
    } else {
        i128::try_from(m).ok().map(Decimal)
    }
}

/// `n / d` rounded half-to-even (`d > 0` or `d < 0`).
fn div_round_half_even(n: i128, d: i128) -> Option<i128> {
    let q = n.checked_div(d)?;
    let r = n.checked_rem(d)?;
    if r == 0 {
        return Some(q);
    }
    let twice = r.unsigned_abs().checked_mul(2)?;
    let away = match twice.cmp(&d.unsigned_abs()) {
        Ordering::Less => false,
        Ordering::Greater => true,
        Ordering::Equal => q % 2 != 0,
    };
    if !away {
        return Some(q);
    }
    // Round away from zero, in the direction of the true quotient's sign.
    if (n < 0) != (d < 0) {
        q.checked_sub(1)
    } else {
        q.checked_add(1)
    }
}

impl fmt::Display for Decimal {
    /// Without a precision: the shortest exact form (`40000.5`, `-3`). With
    /// one (`{:.2}`): rounded half-to-even to that many digits, zero-padded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (v, digits) = match f.precision() {
            Some(p) => {
                let p = (p as u32).min(Self::DIGITS);
                (self.round_dp(p), p)
            }
            None => (*self, Self::DIGITS),
        };
        let neg = v.0 < 0;
        let abs = v.0.unsigned_abs();
        let int = abs / Self::SCALE as u128;
        let frac = abs % Self::SCALE as u128;
        let mut frac_s = format!("{frac:08}");
        frac_s.truncate(digits as usize);
        if f.precision().is_none() {
            while frac_s.ends_with('0') {
                frac_s.pop();
            }
        }
        let sign = if neg && (int != 0 || frac_s.bytes().any(|b| b != b'0')) {
            "-"
        } else {
            ""
        };
        let s = if frac_s.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac_s}")
        };
        f.pad_integral(true, "", &s)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    /// Parses `[-+]digits[.digits]`, at most 8 fractional digits.
    fn from_str(input: &str) -> Result<Decimal, DecimalError> {
        let err = |reason| DecimalError {
            input: input.chars().take(64).collect(),
            reason,
        };
        let s = input.trim();
        let (neg, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(err("no digits"));
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("only digits, one '.' and a leading sign are allowed"));
        }
        if frac.len() > Self::DIGITS as usize {
            return Err(err("more than 8 digits after the decimal point"));
        }
        // The fraction as units: at most 8 digits, so it fits a u64.
        let mut frac_units: u64 = 0;
        for b in frac.bytes() {
            frac_units = frac_units * 10 + u64::from(b - b'0');
        }
        frac_units *= 10u64.pow(Self::DIGITS - frac.len() as u32);
        let units = if int.len() <= 18 {
            // Up to 18 digits fit a u64, and their units an i128 (the
            // common case, without 128-bit arithmetic per digit).
            let mut whole: u64 = 0;
            for b in int.bytes() {
                whole = whole * 10 + u64::from(b - b'0');
            }
            -(i128::from(whole) * Self::SCALE + i128::from(frac_units))
        } else {
            // Accumulated as a negative number, whose range is one larger,
            // so that the smallest value (`i128::MIN` units) parses too and
            // every value this type displays parses back.
            let mut units: i128 = 0;
            for b in int.bytes() {
                units = units
                    .checked_mul(10)
                    .and_then(|u| u.checked_sub(i128::from(b - b'0')))
                    .ok_or_else(|| err("out of range"))?;
            }
            units
                .checked_mul(Self::SCALE)
                .and_then(|u| u.checked_sub(i128::from(frac_units)))
                .ok_or_else(|| err("out of range"))?
        };
        let value = if neg {
            units
        } else {
            units.checked_neg().ok_or_else(|| err("out of range"))?
        };
        Ok(Decimal(value))
    }
}

impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i128(self.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(HumanVisitor)
        } else {
            i128::deserialize(d).map(Decimal)
        }
    }
}

struct HumanVisitor;

impl serde::de::Visitor<'_> for HumanVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number as a string (\"123.45\") or a JSON number")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from_int(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        i64::try_from(v)
            .map(Decimal::from_int)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        // The shortest representation that round-trips is what the writer
        // of the JSON wrote, as long as it fits in a double exactly.
        let s = format!("{v}");
        let significant = s.bytes().filter(u8::is_ascii_digit).count();
        if !v.is_finite() || s.contains('e') || significant > 15 {
            return Err(E::custom(format!(
                "the JSON number {v} cannot be taken exactly; write it as a string, e.g. \"{v}\""
            )));
        }
        s.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formatting with a precision rounds; at the extremes rounding away
    /// from zero would leave the range, so it rounds toward zero instead of
    /// panicking (found in step 9's review: `{:.0}` of `i128::MAX` units).
    #[test]
    fn rounding_the_extremes_never_panics() {
        for units in [i128::MAX, i128::MIN, i128::MAX - 1, i128::MIN + 1] {
            let d = Decimal::from_units(units);
            for digits in 0..=Decimal::DIGITS {
                let r = d.round_dp(digits);
                assert!(
                    (r.0 - d.0).unsigned_abs() < 10u128.pow(Decimal::DIGITS - digits),
                    "{units} to {digits} digits"
                );
                let _ = format!("{d:.0} {d:.4} {d:.5} {d:.7}");
            }
        }
    }

    #[test]
    fn the_largest_values_parse_and_one_more_is_out_of_range() {
        let max = Decimal(i128::MAX).to_string();
        assert_eq!(max.parse::<Decimal>(), Ok(Decimal(i128::MAX)));
        // Found by fuzzing: the integer part fits, adding the fraction did not.
        assert!(max.ends_with(".84105727"), "{max}");
        let over = max.replace(".84105727", ".84105728");
        let e = over.parse::<Decimal>().unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        // The smallest value displays and parses back.
        let min = Decimal(i128::MIN).to_string();
        assert_eq!(min.parse::<Decimal>(), Ok(Decimal(i128::MIN)));
        assert!(min
            .replace(".84105728", ".84105729")
            .parse::<Decimal>()
            .is_err());
    }

    /// Integer parts of up to 18 digits take the 64-bit path, longer ones
    /// the 128-bit one: both give the same units around the boundary.
    #[test]
    fn short_and_long_integer_parts_parse_alike() {
        const S: i128 = Decimal::SCALE;
        let cases = [
            (
                "999999999999999999.99999999",
                999_999_999_999_999_999 * S + 99_999_999,
            ),
            (
                "1000000000000000000.5",
                1_000_000_000_000_000_000 * S + 50_000_000,
            ),
            (
                "-0999999999999999999.1",
                -(999_999_999_999_999_999 * S + 10_000_000),
            ),
            ("+.5", 50_000_000),
            ("7.", 700_000_000),
            ("-0.00000001", -1),
        ];
        for (text, units) in cases {
            assert_eq!(text.parse::<Decimal>(), Ok(Decimal(units)), "{text}");
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display_are_exact() {
        for s in [
            "0",
            "1",
            "-1",
            "40000.5",
            "0.00000001",
            "-0.1",
            "123456789012345.12345678",
        ] {
            assert_eq!(d(s).to_string(), s);
        }
        assert_eq!(d("1.10").to_string(), "1.1");
        assert_eq!(d("+.5").to_string(), "0.5");
        assert_eq!(format!("{:.2}", d("225")), "225.00");
        assert_eq!(format!("{:.2}", d("-0.005")), "0.00");
        assert_eq!(format!("{:.2}", d("0.015")), "0.02");
        assert_eq!(format!("{:>8.1}", d("3.25")), "     3.2");
        assert!("1.123456789".parse::<Decimal>().is_err());
        assert!("abc".parse::<Decimal>().is_err());
        assert!("".parse::<Decimal>().is_err());
        assert!("1.2.3".parse::<Decimal>().is_err());
        assert!("1e5".parse::<Decimal>().is_err());
    }

    #[test]
    fn arithmetic_is_exact_and_rounds_half_even() {
        assert_eq!(d("0.1").checked_add(d("0.2")), Some(d("0.3")));
        assert_eq!(
            d("40600")
                .checked_sub(d("40000"))
                .unwrap()
                .checked_mul(d("0.5")),
            Some(d("300"))
        );
        assert_eq!(d("0.00000001").checked_mul(d("0.5")), Some(d("0"))); // half to even
        assert_eq!(d("0.00000003").checked_mul(d("0.5")), Some(d("0.00000002")));
        assert_eq!(
            d("-0.00000003").checked_mul(d("0.5")),
            Some(d("-0.00000002"))
        );
        assert_eq!(d("1").checked_div(d("3")), Some(d("0.33333333")));
        assert_eq!(d("2").checked_div(d("3")), Some(d("0.66666667")));
        assert_eq!(d("1").checked_div(Decimal::ZERO), None);
        assert_eq!(Decimal::new(12345, 2), Some(d("123.45")));
        assert_eq!(Decimal::new(1, 9), None);
    }

    #[test]
    fn products_of_amounts_whose_result_fits_never_overflow_in_between() {
        // 10^15 × 10^15: the unit counts multiply to 10^46, beyond i128,
        // but the product, 10^30, fits (the range is ±1.7 × 10^30).
        let max = d("1000000000000000");
        assert_eq!(
            max.checked_mul(max),
            Some(d("1000000000000000000000000000000"))
        );
        assert_eq!(
            d("10000000000000").checked_mul(d("-10000000000000")),
            Some(d("-100000000000000000000000000"))
        );
        // Past the range: None, never a panic or a wrap.
        assert_eq!(max.checked_mul(d("10000000000000000")), None);
        let top = Decimal::from_units(i128::MAX);
        let bottom = Decimal::from_units(i128::MIN);
        assert_eq!(top.checked_mul(Decimal::ONE), Some(top));
        assert_eq!(bottom.checked_mul(Decimal::ONE), Some(bottom));
        assert_eq!(
            top.checked_mul(Decimal::MINUS_ONE),
            Some(Decimal::from_units(-i128::MAX))
        );
        assert_eq!(bottom.checked_mul(Decimal::MINUS_ONE), None);
        assert_eq!(top.checked_mul(d("1.00000001")), None);
        assert_eq!(bottom.checked_abs(), None);
        assert_eq!(bottom.checked_neg(), None);
        assert_eq!(d("-3").checked_abs(), Some(d("3")));
        // The wide product rounds exactly like the narrow one.
        for (a, b) in [
            ("1.23456789", "9.87654321"),
            ("-0.00000005", "0.5"),
            ("0.00000015", "0.5"),
            ("123456.78", "-0.00000001"),
        ] {
            let narrow = d(a).units() * d(b).units();
            let expect =
                super::div_round_half_even(narrow, Decimal::SCALE).map(Decimal::from_units);
            assert_eq!(d(a).checked_mul(d(b)), expect, "{a} × {b}");
        }
    }

    #[test]
    fn json_uses_strings_and_accepts_exact_numbers() {
        assert_eq!(serde_json::to_string(&d("40000.5")).unwrap(), "\"40000.5\"");
        let v: Decimal = serde_json::from_str("\"0.1\"").unwrap();
        assert_eq!(v, d("0.1"));
        let v: Decimal = serde_json::from_str("0.1").unwrap();
        assert_eq!(v, d("0.1"));
        let v: Decimal = serde_json::from_str("42").unwrap();
        assert_eq!(v, d("42"));
        let e = serde_json::from_str::<Decimal>("0.12345678901234567").unwrap_err();
        assert!(e.to_string().contains("string"), "{e}");
        let bytes = postcard::to_allocvec(&d("-12.5")).unwrap();
        assert_eq!(postcard::from_bytes::<Decimal>(&bytes).unwrap(), d("-12.5"));
    }
}
