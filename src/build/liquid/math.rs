//! Liquid's math filters (`plus`, `minus`, `times`, `divided_by`,
//! `modulo`) as Ruby Liquid 5 computes them, which Jekyll sites rely on:
//! nil, a missing variable, `true` or a list reads as 0; a string is its
//! leading integer (`"7"`, `"12px"`), or a decimal when it is one
//! (`"3.5"`); two integers give an integer (floored: `-7 | divided_by: 2`
//! is -4), anything with a float gives a float, computed in decimal as
//! Ruby's `BigDecimal` does (`0.1 | plus: 0.2` is 0.3).

use liquid_core::model::{Value, ValueView};
use liquid_core::{Error, Result};

/// One of the five filters.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Plus,
    Minus,
    Times,
    DividedBy,
    Modulo,
}

/// A number as `Liquid::Utils.to_number` makes it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Integer(i64),
    /// `digits / 10^scale`, exact.
    Decimal {
        digits: i128,
        scale: u32,
    },
}

/// The filter `op` on `input` with its first argument.
pub fn apply(op: Op, input: &dyn ValueView, args: &[Value]) -> Result<Value> {
    let a = to_number(input);
    let b = args.first().map_or(Number::Integer(0), |v| to_number(v));
    match (a, b) {
        (Number::Integer(x), Number::Integer(y)) => integers(op, x, y),
        _ => Ok(Value::scalar(decimals(op, a, b)?)),
    }
}

fn to_number(v: &dyn ValueView) -> Number {
    let Some(s) = v.as_scalar() else {
        return Number::Integer(0);
    };
    // A scalar's kind is its type name; a date or `true` has no number.
    match s.as_view().type_name() {
        "whole number" => Number::Integer(s.to_integer().unwrap_or(0)),
        "fractional number" => decimal_of_float(s.to_float().unwrap_or(0.0)),
        "string" => number_of_text(s.to_kstr().as_str()),
        _ => Number::Integer(0),
    }
}

/// `String#to_i`, or `BigDecimal(s)` when `s` is `-?\d+\.\d+`.
fn number_of_text(s: &str) -> Number {
    let t = s.trim();
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let decimal = unsigned.split_once('.').is_some_and(|(i, f)| {
        !i.is_empty()
            && !f.is_empty()
            && i.bytes().all(|b| b.is_ascii_digit())
            && f.bytes().all(|b| b.is_ascii_digit())
    });
    if decimal {
        if let Some(n) = decimal_of_text(t) {
            return n;
        }
    }
    Number::Integer(to_i(s))
}

/// Ruby's `String#to_i`: leading space, a sign, digits (with single `_`
/// between them); 0 when there are none; saturating on overflow.
fn to_i(s: &str) -> i64 {
    let s = s.trim_start();
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    let mut last_digit = false;
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' => {
                let d = (b - b'0') as i64;
                n = n.saturating_mul(10).saturating_add(d);
                last_digit = true;
            }
            b'_' if last_digit => last_digit = false,
            _ => break,
        }
    }
    if negative {
        -n
    } else {
        n
    }
}

/// `BigDecimal(f.to_s)`: the shortest decimal that reads back as `f`.
fn decimal_of_float(f: f64) -> Number {
    if !f.is_finite() {
        return Number::Decimal {
            digits: 0,
            scale: 0,
        };
    }
    decimal_of_text(&format!("{f:e}")).unwrap_or(Number::Decimal {
        digits: 0,
        scale: 0,
    })
}

/// `-12.50`, `1.5e3`, `2e-7` as an exact decimal (None when too long).
fn decimal_of_text(s: &str) -> Option<Number> {
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    let scale = frac.len() as i32 - exp;
    if scale >= 0 {
        Some(Number::Decimal {
            digits,
            scale: scale as u32,
        })
    } else {
        let digits = digits.checked_mul(10i128.checked_pow((-scale) as u32)?)?;
        Some(Number::Decimal { digits, scale: 0 })
    }
}

fn integers(op: Op, x: i64, y: i64) -> Result<Value> {
    let exact = match op {
        Op::Plus => x.checked_add(y),
        Op::Minus => x.checked_sub(y),
        Op::Times => x.checked_mul(y),
        Op::DividedBy | Op::Modulo if y == 0 => return Err(divided_by_zero()),
        Op::DividedBy => x.checked_div(y).map(|q| {
            // Ruby floors; Rust truncates towards zero.
            if x % y != 0 && (x < 0) != (y < 0) {
                q - 1
            } else {
                q
            }
        }),
        Op::Modulo => x.checked_rem(y).map(|r| {
            if r != 0 && (r < 0) != (y < 0) {
                r + y
            } else {
                r
            }
        }),
    };
    // Ruby would go on in a bignum; a float is the nearest tusk has.
    Ok(match exact {
        Some(n) => Value::scalar(n),
        None => Value::scalar(float_op(op, x as f64, y as f64)),
    })
}

fn divided_by_zero() -> Error {
    Error::with_msg("divided by 0")
}

/// Both as `digits` at the same scale.
fn aligned(a: Number, b: Number) -> Option<(i128, i128, u32)> {
    let parts = |n: Number| match n {
        Number::Integer(i) => (i as i128, 0),
        Number::Decimal { digits, scale } => (digits, scale),
    };
    let ((x, sx), (y, sy)) = (parts(a), parts(b));
    let scale = sx.max(sy);
    let x = x.checked_mul(10i128.checked_pow(scale - sx)?)?;
    let y = y.checked_mul(10i128.checked_pow(scale - sy)?)?;
    Some((x, y, scale))
}

fn to_f64(n: Number) -> f64 {
    match n {
        Number::Integer(i) => i as f64,
        Number::Decimal { digits, scale } => as_f64(digits, scale),
    }
}

/// `digits / 10^scale`, correctly rounded (through its decimal text).
fn as_f64(digits: i128, scale: u32) -> f64 {
    format!("{digits}e-{scale}").parse().unwrap_or(f64::NAN)
}

/// A float result, as `BigDecimal` computes it and `to_f` returns it.
fn decimals(op: Op, a: Number, b: Number) -> Result<f64> {
    let Some((x, y, scale)) = aligned(a, b) else {
        return float_result(op, to_f64(a), to_f64(b));
    };
    let exact = match op {
        Op::Plus => x.checked_add(y).map(|d| as_f64(d, scale)),
        Op::Minus => x.checked_sub(y).map(|d| as_f64(d, scale)),
        Op::Times => x
            .checked_mul(y)
            .and_then(|d| Some(as_f64(d, scale.checked_mul(2)?))),
        Op::DividedBy if y == 0 => return Ok(float_op(op, x as f64, 0.0)),
        Op::Modulo if y == 0 => return Err(divided_by_zero()),
        // Exact operands give a correctly rounded quotient.
        Op::DividedBy if x.abs() < 1 << 53 && y.abs() < 1 << 53 => Some(x as f64 / y as f64),
        Op::DividedBy => None,
        Op::Modulo => Some(as_f64(floored_rem(x, y), scale)),
    };
    match exact {
        Some(f) => Ok(f),
        None => float_result(op, to_f64(a), to_f64(b)),
    }
}

fn floored_rem(x: i128, y: i128) -> i128 {
    let r = x % y;
    if r != 0 && (r < 0) != (y < 0) {
        r + y
    } else {
        r
    }
}

fn float_result(op: Op, x: f64, y: f64) -> Result<f64> {
    match op {
        Op::Modulo if y == 0.0 => Err(divided_by_zero()),
        _ => Ok(float_op(op, x, y)),
    }
}

fn float_op(op: Op, x: f64, y: f64) -> f64 {
    match op {
        Op::Plus => x + y,
        Op::Minus => x - y,
        Op::Times => x * y,
        Op::DividedBy => x / y,
        Op::Modulo => x - y * (x / y).floor(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: Op, a: Value, b: Value) -> String {
        apply(op, &a, &[b]).unwrap().render().to_string()
    }

    #[test]
    fn results_print_as_ruby_liquid_prints_them() {
        // Each pair as Jekyll 4.3 (Liquid 5.4, Ruby 3.1) renders it.
        let i = |n: i64| Value::scalar(n);
        let f = |x: f64| Value::scalar(x);
        assert_eq!(run(Op::Plus, Value::Nil, i(1)), "1");
        assert_eq!(run(Op::DividedBy, i(3), i(2)), "1");
        assert_eq!(run(Op::DividedBy, f(3.0), i(2)), "1.5");
        assert_eq!(run(Op::DividedBy, i(7), i(-2)), "-4");
        assert_eq!(run(Op::Modulo, i(7), i(-2)), "-1");
        assert_eq!(run(Op::Plus, f(0.1), f(0.2)), "0.3");
        assert_eq!(run(Op::Times, f(2.5), i(2)), "5.0");
        assert_eq!(run(Op::Plus, Value::scalar("12px"), i(1)), "13");
        assert_eq!(run(Op::Plus, Value::scalar("1_000"), i(1)), "1001");
        assert_eq!(run(Op::Minus, Value::scalar(" -3.5 "), i(1)), "-4.5");
        assert_eq!(run(Op::Plus, f(1e15), i(0)), "1.0e+15");
        assert_eq!(
            run(Op::Plus, f(123456789012345.0), i(0)),
            "123456789012345.0"
        );
        assert_eq!(run(Op::Plus, f(0.0001), i(0)), "0.0001");
        assert_eq!(run(Op::Plus, f(0.00001), i(0)), "1.0e-05");
        assert_eq!(run(Op::DividedBy, f(3.5), i(0)), "Infinity");
        assert!(apply(Op::DividedBy, &i(3), &[i(0)]).is_err());
        assert!(apply(Op::Modulo, &f(3.5), &[i(0)]).is_err());
    }
}
