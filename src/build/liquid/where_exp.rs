//! Jekyll's `where_exp` filter: `list | where_exp: "item", "expression"`
//! keeps the items for which the expression holds. The expression is a
//! Liquid condition as Jekyll parses it (`Filters#parse_condition`):
//! comparisons (`==`, `!=`, `<>`, `<`, `>`, `<=`, `>=`, `contains`) or a
//! bare value, joined by `and` / `or`, evaluated as Liquid does: from the
//! left, each `and`/`or` taking everything to its right
//! (`a or b and c` is `a or (b and c)`). Paths under the item's name read
//! the item; other paths (`page.url`) read the template's variables.

use std::fmt;

use liquid_core::model::{ScalarCow, Value, ValueView};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{Error, Expression, Filter, FilterReflection, ParseFilter, Result, Runtime};

/// The filter as the parser registers it.
#[derive(Clone, Copy, Debug, Default)]
pub struct WhereExp;

impl FilterReflection for WhereExp {
    fn name(&self) -> &str {
        "where_exp"
    }
    fn description(&self) -> &str {
        "Jekyll's where_exp: the items for which a condition holds"
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for WhereExp {
    fn parse(&self, arguments: FilterArguments) -> Result<Box<dyn Filter>> {
        let args: Vec<Expression> = arguments.positional.collect();
        if args.len() != 2 {
            return Err(Error::with_msg(
                "where_exp needs a variable name and an expression: where_exp: \"item\", \"item.field == value\"",
            ));
        }
        Ok(Box::new(Parsed { args }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct Parsed {
    args: Vec<Expression>,
}

impl fmt::Display for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "where_exp")
    }
}

impl Filter for Parsed {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let var = self.args[0].evaluate(runtime)?.to_kstr().to_string();
        let expr = self.args[1].evaluate(runtime)?.to_kstr().to_string();
        let condition = Condition::parse(&expr)?;
        // Jekyll takes a hash's values; anything else that is not a list
        // comes back unchanged.
        let items: Vec<&dyn ValueView> = if let Some(a) = input.as_array() {
            a.values().collect()
        } else if let Some(o) = input.as_object() {
            o.values().collect()
        } else {
            return Ok(input.to_value());
        };
        let mut kept = Vec::new();
        for item in items {
            let scope = Scope {
                var: &var,
                item,
                runtime,
            };
            if condition.holds(&scope)? {
                kept.push(item.to_value());
            }
        }
        Ok(Value::Array(kept))
    }
}

/// One operand: a literal or a variable path.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(Value),
    Path(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Contains,
}

/// One comparison, or a bare value when `op` is None.
#[derive(Debug)]
struct Comparison {
    left: Operand,
    op: Option<(Op, Operand)>,
}

/// Comparisons joined by `and` (true) / `or` (false), left to right.
#[derive(Debug)]
struct Condition {
    first: Comparison,
    rest: Vec<(bool, Comparison)>,
}

/// What an operand path reads: the item under its name, else the
/// template's variables.
struct Scope<'a> {
    var: &'a str,
    item: &'a dyn ValueView,
    runtime: &'a dyn Runtime,
}

impl Condition {
    fn parse(expr: &str) -> Result<Condition> {
        let bad = |why: &str| Error::with_msg(format!("where_exp: {expr:?}: {why}"));
        let tokens = tokens(expr).map_err(|w| bad(&w))?;
        let mut it = tokens.into_iter().peekable();
        let comparison = |it: &mut std::iter::Peekable<std::vec::IntoIter<String>>| {
            let left = it.next().ok_or_else(|| bad("a value is missing"))?;
            let left = operand(&left).map_err(|w| bad(&w))?;
            let op = match it.peek().map(String::as_str) {
                Some("==") => Some(Op::Eq),
                Some("!=" | "<>") => Some(Op::Ne),
                Some("<") => Some(Op::Lt),
                Some(">") => Some(Op::Gt),
                Some("<=") => Some(Op::Le),
                Some(">=") => Some(Op::Ge),
                Some("contains") => Some(Op::Contains),
                _ => None,
            };
            let Some(op) = op else {
                return Ok(Comparison { left, op: None });
            };
            it.next();
            let right = it
                .next()
                .ok_or_else(|| bad("a value is missing after the comparison"))?;
            let right = operand(&right).map_err(|w| bad(&w))?;
            Ok::<_, Error>(Comparison {
                left,
                op: Some((op, right)),
            })
        };
        let first = comparison(&mut it)?;
        let mut rest = Vec::new();
        while let Some(word) = it.next() {
            let and = match word.as_str() {
                "and" => true,
                "or" => false,
                other => return Err(bad(&format!("expected `and` or `or`, found {other:?}"))),
            };
            rest.push((and, comparison(&mut it)?));
        }
        Ok(Condition { first, rest })
    }

    /// Liquid's `Condition#evaluate`: stop at the first `or` whose left
    /// side holds and the first `and` whose left side fails.
    fn holds(&self, scope: &Scope<'_>) -> Result<bool> {
        let mut current = &self.first;
        let mut rest = self.rest.iter();
        loop {
            let result = current.holds(scope)?;
            match rest.next() {
                None => return Ok(result),
                Some((true, _)) if !result => return Ok(false),
                Some((false, _)) if result => return Ok(true),
                Some((_, next)) => current = next,
            }
        }
    }
}

impl Comparison {
    fn holds(&self, scope: &Scope<'_>) -> Result<bool> {
        let Some((op, right)) = &self.op else {
            return Ok(truthy(&scope.value(&self.left)));
        };
        let (l, r) = (scope.value(&self.left), scope.value(right));
        Ok(match op {
            Op::Eq => ruby_eq(&l, &r),
            Op::Ne => !ruby_eq(&l, &r),
            Op::Contains => contains(&l, &r),
            cmp => match ruby_cmp(&l, &r)? {
                None => false,
                Some(o) => match cmp {
                    Op::Lt => o.is_lt(),
                    Op::Gt => o.is_gt(),
                    Op::Le => o.is_le(),
                    _ => o.is_ge(),
                },
            },
        })
    }
}

impl Scope<'_> {
    fn value(&self, operand: &Operand) -> Value {
        match operand {
            Operand::Literal(v) => v.clone(),
            Operand::Path(parts) => {
                let (root, rest): (&dyn ValueView, &[String]) =
                    if parts.first().map(String::as_str) == Some(self.var) {
                        (self.item, &parts[1..])
                    } else {
                        let head = [ScalarCow::new(parts[0].as_str())];
                        match self.runtime.try_get(&head) {
                            Some(v) => return walk(v.as_view(), &parts[1..]),
                            None => return Value::Nil,
                        }
                    };
                walk(root, rest)
            }
        }
    }
}

/// Follow `a.b.c` (with Liquid's `size`, `first`, `last`) from `v`.
fn walk(v: &dyn ValueView, parts: &[String]) -> Value {
    let Some((head, rest)) = parts.split_first() else {
        return v.to_value();
    };
    if let Some(o) = v.as_object() {
        if let Some(inner) = o.get(head) {
            return walk(inner, rest);
        }
        if head == "size" {
            return walk(&Value::scalar(o.size()), rest);
        }
        return Value::Nil;
    }
    if let Some(a) = v.as_array() {
        let picked = match head.as_str() {
            "size" => return walk(&Value::scalar(a.size()), rest),
            "first" => a.first(),
            "last" => a.last(),
            n => n.parse::<i64>().ok().and_then(|i| a.get(i)),
        };
        return picked.map_or(Value::Nil, |x| walk(x, rest));
    }
    if head == "size" {
        if let Some(s) = v.as_scalar() {
            if s.type_name() == "string" {
                return walk(&Value::scalar(s.to_kstr().chars().count() as i64), rest);
            }
        }
    }
    Value::Nil
}

/// Split an expression into words, quoted strings and operators.
fn tokens(expr: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&x| x == c)
                .ok_or("a quoted string is not closed")?;
            out.push(chars[i..=i + 1 + end].iter().collect());
            i += end + 2;
        } else if "=!<>".contains(c) {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "<>", "<=", ">="].contains(&two.as_str()) {
                out.push(two);
                i += 2;
            } else if c == '<' || c == '>' {
                out.push(c.to_string());
                i += 1;
            } else {
                return Err(format!("unexpected {c:?}"));
            }
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"=!<>\"'".contains(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    Ok(out)
}

/// A literal (`nil`, `true`, `3`, `1.5`, `"x"`) or a path. `empty` and
/// `blank` are the empty string here: Jekyll parses the expression with
/// `Liquid::Expression.parse`, whose literals they are.
fn operand(word: &str) -> std::result::Result<Operand, String> {
    Ok(match word {
        "nil" | "null" => Operand::Literal(Value::Nil),
        "true" => Operand::Literal(Value::scalar(true)),
        "false" => Operand::Literal(Value::scalar(false)),
        "empty" | "blank" => Operand::Literal(Value::scalar("")),
        _ if word.len() >= 2 && (word.starts_with('"') || word.starts_with('\'')) => {
            Operand::Literal(Value::scalar(word[1..word.len() - 1].to_string()))
        }
        _ if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
            if let Ok(n) = word.parse::<i64>() {
                Operand::Literal(Value::scalar(n))
            } else if let Ok(f) = word.parse::<f64>() {
                Operand::Literal(Value::scalar(f))
            } else {
                return Err(format!("{word:?} is not a number"));
            }
        }
        _ => {
            let parts: Vec<String> = word.split('.').map(str::to_string).collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(format!("{word:?} is not a variable path"));
            }
            Operand::Path(parts)
        }
    })
}

/// Ruby's truthiness: only nil and false are false.
fn truthy(v: &Value) -> bool {
    !v.is_nil() && v.as_scalar().and_then(|s| s.to_bool()) != Some(false)
}

/// What kind of value, as Ruby sees it for `==` and `<=>`.
enum Kind<'a> {
    Nil,
    Bool(bool),
    Number(f64),
    Text(std::borrow::Cow<'a, str>),
    Other,
}

fn kind(v: &Value) -> Kind<'_> {
    if v.is_nil() {
        return Kind::Nil;
    }
    let Some(s) = v.as_scalar() else {
        return Kind::Other;
    };
    if let Some(b) = s.to_bool() {
        return Kind::Bool(b);
    }
    match s.type_name() {
        "whole number" | "fractional number" => Kind::Number(s.to_float().unwrap_or(f64::NAN)),
        _ => Kind::Text(std::borrow::Cow::Owned(s.to_kstr().to_string())),
    }
}

/// Ruby's `==`: numbers by value (`1 == 1.0`), a number never equals a
/// string, lists and hashes by their contents.
fn ruby_eq(a: &Value, b: &Value) -> bool {
    match (kind(a), kind(b)) {
        (Kind::Nil, Kind::Nil) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::Number(x), Kind::Number(y)) => x == y,
        (Kind::Text(x), Kind::Text(y)) => x == y,
        (Kind::Other, Kind::Other) => a == b,
        _ => false,
    }
}

/// Ruby's `<=>` as Liquid uses it: numbers with numbers, strings with
/// strings; a number against a string is an error (as in Ruby), anything
/// else compares as nothing (false).
fn ruby_cmp(a: &Value, b: &Value) -> Result<Option<std::cmp::Ordering>> {
    Ok(match (kind(a), kind(b)) {
        (Kind::Number(x), Kind::Number(y)) => x.partial_cmp(&y),
        (Kind::Text(x), Kind::Text(y)) => Some(x.cmp(&y)),
        (Kind::Number(_), Kind::Text(_)) | (Kind::Text(_), Kind::Number(_)) => {
            return Err(Error::with_msg(format!(
                "where_exp: cannot compare {} with {}",
                a.source(),
                b.source()
            )))
        }
        _ => None,
    })
}

/// Liquid's `contains`: a substring of a string, an element of a list.
fn contains(a: &Value, b: &Value) -> bool {
    if b.is_nil() {
        return false;
    }
    match a {
        Value::Array(items) => items.iter().any(|x| ruby_eq(x, b)),
        Value::Object(o) => o.contains_key(b.to_kstr().as_str()),
        v if matches!(kind(v), Kind::Text(_)) => v.to_kstr().contains(b.to_kstr().as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(items: serde_json::Value, var: &str, expr: &str) -> serde_json::Value {
        let parser = liquid::ParserBuilder::with_stdlib()
            .filter(WhereExp)
            .build()
            .unwrap();
        let template = parser
            .parse(&format!(
                "{{{{ items | where_exp: \"{var}\", '{expr}' | map: \"n\" | join: \",\" }}}}"
            ))
            .unwrap();
        let globals = liquid::object!({ "items": liquid::model::to_value(&items).unwrap(), "page": {"url": "/b/"} });
        serde_json::Value::String(template.render(&globals).unwrap())
    }

    #[test]
    fn and_or_chain_from_the_right_as_liquid_does() {
        let items = serde_json::json!([
            {"n": 1, "a": true, "b": false, "c": true, "url": "/a/"},
            {"n": 2, "a": false, "b": true, "c": true, "url": "/b/"},
            {"n": 3, "a": false, "b": true, "c": false, "url": "/c/"},
            {"n": 4, "a": false, "b": false, "c": false, "tags": ["x"], "url": "/d/"},
        ]);
        // a or (b and c)
        assert_eq!(keep(items.clone(), "i", "i.a or i.b and i.c"), "1,2");
        // a and (b or c): item 1 has a and c
        assert_eq!(keep(items.clone(), "i", "i.a and i.b or i.c"), "1");
        assert_eq!(keep(items.clone(), "i", "i.n >= 2 and i.n < 4"), "2,3");
        assert_eq!(keep(items.clone(), "i", "i.tags contains \"x\""), "4");
        assert_eq!(keep(items.clone(), "i", "i.url != page.url"), "1,3,4");
        // `empty` is "" in Jekyll's where_exp: a list never equals it.
        assert_eq!(keep(items.clone(), "i", "i.tags == empty or i.n == 4"), "4");
        assert_eq!(keep(items.clone(), "i", "i.tags != empty"), "1,2,3,4");
        assert_eq!(keep(items, "i", "i.n == \"1\""), "");
    }
}
