//! Jekyll's own Liquid filters (`Jekyll::Filters`, `URLFilters`,
//! `DateFilters`) that the `liquid` crate does not ship. Each is a plain
//! function over values; [`Jekyll`] adapts it to the crate's filter traits.
//! None of them reads the environment, the file system or the network.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use liquid_core::model::{Value, ValueView};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{Expression, Filter, FilterReflection, ParseFilter, Pick, Result, Runtime};

use super::math;

/// What a filter function gets: its input and its evaluated arguments.
type FilterFn = dyn Fn(&dyn ValueView, &[Value]) -> Result<Value> + Send + Sync;

/// The one item `first` or `last` would take from a filter's result.
type PickFn = dyn Fn(&dyn ValueView, &[Value], Pick) -> Option<Value> + Send + Sync;

/// One filter: a name and a function.
#[derive(Clone)]
pub struct Jekyll {
    name: &'static str,
    f: Arc<FilterFn>,
    /// A shortcut for `filter | first` (see [`Filter::evaluate_pick`]).
    pick: Option<Arc<PickFn>>,
}

impl Jekyll {
    pub(super) fn new(
        name: &'static str,
        f: impl Fn(&dyn ValueView, &[Value]) -> Result<Value> + Send + Sync + 'static,
    ) -> Jekyll {
        Jekyll {
            name,
            f: Arc::new(f),
            pick: None,
        }
    }

    /// With a way to find the item `first` or `last` takes from the
    /// result without building it; `None` from `pick` builds it.
    pub(super) fn picking(
        mut self,
        pick: impl Fn(&dyn ValueView, &[Value], Pick) -> Option<Value> + Send + Sync + 'static,
    ) -> Jekyll {
        self.pick = Some(Arc::new(pick));
        self
    }
}

impl FilterReflection for Jekyll {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "a Jekyll filter"
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for Jekyll {
    fn parse(&self, arguments: FilterArguments) -> Result<Box<dyn Filter>> {
        Ok(Box::new(Parsed {
            filter: self.clone(),
            args: arguments.positional.collect(),
        }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

/// A filter with its argument expressions, as a template holds it.
struct Parsed {
    filter: Jekyll,
    args: Vec<Expression>,
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.filter.name)
    }
}

impl fmt::Display for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.filter.name)
    }
}

impl Parsed {
    fn args(&self, runtime: &dyn Runtime) -> Result<Vec<Value>> {
        self.args
            .iter()
            .map(|a| a.evaluate(runtime).map(|v| v.into_owned()))
            .collect()
    }
}

impl Filter for Parsed {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        (self.filter.f)(input, &self.args(runtime)?)
    }

    fn evaluate_pick(
        &self,
        input: &dyn ValueView,
        runtime: &dyn Runtime,
        which: Pick,
    ) -> Option<Result<Value>> {
        let pick = self.filter.pick.as_ref()?;
        match self.args(runtime) {
            Ok(args) => pick(input, &args, which).map(Ok),
            Err(e) => Some(Err(e)),
        }
    }
}

/// The standard `first` and `last`, unchanged, but marked as picking one
/// item, so `site.pages | where: "path", p | first` copies one page, not
/// every page with that path (minima's header does this for each header
/// page of each page; paginated sites have hundreds of `index.html`).
#[derive(Clone)]
pub struct Picking {
    inner: Box<dyn ParseFilter>,
    pick: Pick,
}

pub fn first_and_last() -> [Picking; 2] {
    [
        Picking {
            inner: Box::new(liquid_lib::stdlib::First),
            pick: Pick::First,
        },
        Picking {
            inner: Box::new(liquid_lib::stdlib::Last),
            pick: Pick::Last,
        },
    ]
}

impl ParseFilter for Picking {
    fn parse(&self, arguments: FilterArguments) -> Result<Box<dyn Filter>> {
        Ok(Box::new(Picked {
            inner: self.inner.parse(arguments)?,
            pick: self.pick,
        }))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self.inner.reflection()
    }
}

struct Picked {
    inner: Box<dyn Filter>,
    pick: Pick,
}

impl fmt::Debug for Picked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for Picked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl Filter for Picked {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        self.inner.evaluate(input, runtime)
    }
    fn pick(&self) -> Option<Pick> {
        Some(self.pick)
    }
}

fn text(v: &dyn ValueView) -> String {
    if v.is_nil() {
        String::new()
    } else {
        v.to_kstr().to_string()
    }
}

fn string(s: String) -> Result<Value> {
    Ok(Value::scalar(s))
}

/// The filters for a site at `url` + `baseurl`; `markdownify` converts
/// with the build's Markdown renderer.
pub fn all(
    url: &str,
    baseurl: &str,
    markdownify: Arc<dyn Fn(&str) -> String + Send + Sync>,
) -> Vec<Jekyll> {
    let base = format!("/{}", baseurl.trim_matches('/'));
    let base = base.trim_end_matches('/').to_string();
    let site = url.trim_end_matches('/').to_string();
    let relative = {
        let base = base.clone();
        move |v: &dyn ValueView| -> String {
            let s = text(v);
            if s.contains("://") || s.starts_with("//") {
                return s;
            }
            let joined = format!("{base}/{}", s.trim_start_matches('/'));
            if s.is_empty() && base.is_empty() {
                "/".to_string()
            } else {
                normalize_uri(&joined)
            }
        }
    };
    let rel = relative.clone();
    vec![
        Jekyll::new("relative_url", move |v, _| {
            if v.is_nil() {
                return Ok(Value::Nil);
            }
            string(rel(v))
        }),
        Jekyll::new("absolute_url", move |v, _| {
            if v.is_nil() {
                return Ok(Value::Nil);
            }
            let s = text(v);
            if s.contains("://") {
                return string(s);
            }
            string(format!("{site}{}", relative(v)))
        }),
        Jekyll::new("date_to_xmlschema", |v, _| {
            date_or_nil(v, |d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        }),
        Jekyll::new("date_to_rfc822", |v, _| {
            date_or_nil(v, |d| d.format("%a, %d %b %Y %H:%M:%S %z").to_string())
        }),
        Jekyll::new("date_to_string", |v, a| {
            date_or_nil(v, |d| ruby_date(d, a, "%b"))
        }),
        Jekyll::new("date_to_long_string", |v, a| {
            date_or_nil(v, |d| ruby_date(d, a, "%B"))
        }),
        Jekyll::new("xml_escape", |v, _| {
            if v.is_nil() {
                return Ok(Value::Nil);
            }
            string(xml_escape(&text(v)))
        }),
        Jekyll::new("cgi_escape", |v, _| string(cgi_escape(&text(v)))),
        Jekyll::new("uri_escape", |v, _| string(uri_escape(&text(v)))),
        Jekyll::new("markdownify", move |v, _| string(markdownify(&text(v)))),
        Jekyll::new("jsonify", |v, _| {
            let json = serde_json::to_string(&v.to_value())
                .map_err(|e| liquid_core::Error::with_msg(format!("jsonify: {e}")))?;
            string(json)
        }),
        Jekyll::new("normalize_whitespace", |v, _| {
            string(text(v).split_whitespace().collect::<Vec<_>>().join(" "))
        }),
        Jekyll::new("number_of_words", |v, _| {
            Ok(Value::scalar(text(v).split_whitespace().count() as i64))
        }),
        Jekyll::new("smartify", |v, _| string(smartify(&text(v)))),
        Jekyll::new("array_to_sentence_string", array_to_sentence_string),
        Jekyll::new("group_by", |v, a| group_by(v, a)),
        Jekyll::new("sample", |v, _| {
            Ok(v.as_array()
                .and_then(|a| a.first().map(|x| x.to_value()))
                .unwrap_or(Value::Nil))
        }),
        // Jekyll's `inspect` escapes what Ruby's `inspect` writes.
        Jekyll::new("inspect", |v, _| string(xml_escape(&inspect(v)))),
        Jekyll::new("plus", |v, a| math::apply(math::Op::Plus, v, a)),
        Jekyll::new("minus", |v, a| math::apply(math::Op::Minus, v, a)),
        Jekyll::new("times", |v, a| math::apply(math::Op::Times, v, a)),
        Jekyll::new("divided_by", |v, a| math::apply(math::Op::DividedBy, v, a)),
        Jekyll::new("modulo", |v, a| math::apply(math::Op::Modulo, v, a)),
        Jekyll::new("to_integer", |v, _| {
            Ok(Value::scalar(text(v).trim().parse::<i64>().unwrap_or(0)))
        }),
    ]
}

/// Ruby's `inspect`: a string quoted with `"` and `\\` escaped, as
/// Ruby writes it; anything else as Liquid writes its source.
fn inspect(v: &dyn ValueView) -> String {
    let Some(s) = v
        .as_scalar()
        .filter(|s| s.as_view().type_name() == "string")
    else {
        return v.source().to_string();
    };
    let mut out = String::from("\"");
    for c in s.to_kstr().chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Liquid value as a date: a date-time, or a string in one of the forms
/// Jekyll's front matter gives.
pub fn as_date(v: &dyn ValueView) -> Option<DateTime<FixedOffset>> {
    if let Some(s) = v.as_scalar() {
        if let Some(d) = s.to_date_time() {
            let offset = FixedOffset::east_opt(d.offset().whole_seconds())
                .unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
            return chrono::DateTime::from_timestamp(d.unix_timestamp(), d.nanosecond())
                .map(|u| u.with_timezone(&offset));
        }
    }
    let s = text(v);
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %z").ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc().fixed_offset())
        })
}

fn date_or_nil(v: &dyn ValueView, f: impl Fn(DateTime<FixedOffset>) -> String) -> Result<Value> {
    if v.is_nil() || text(v).is_empty() {
        return Ok(Value::Nil);
    }
    match as_date(v) {
        Some(d) => string(f(d)),
        None => Err(liquid_core::Error::with_msg(format!(
            "invalid date {:?}",
            text(v)
        ))),
    }
}

/// `date_to_string` / `date_to_long_string`, with Jekyll's optional
/// `"ordinal"` and `"US"` arguments.
fn ruby_date(d: DateTime<FixedOffset>, args: &[Value], month: &str) -> String {
    use chrono::Datelike;
    let ordinal = args.first().is_some_and(|a| a.to_kstr() == "ordinal");
    let us = args.get(1).is_some_and(|a| a.to_kstr() == "US");
    if !ordinal {
        return d.format(&format!("%d {month} %Y")).to_string();
    }
    let day = d.day();
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    let m = d.format(month);
    if us {
        format!("{m} {day}{suffix}, {}", d.year())
    } else {
        format!("{day}{suffix} {m} {}", d.year())
    }
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Ruby's `CGI.escape`: form encoding, space as `+`.
fn cgi_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A site-relative URL as `Addressable::URI#normalize` writes it, as
/// Jekyll's `relative_url` and `absolute_url` return it: what a URL may
/// not hold (non-ASCII, spaces, quotes) percent-encoded by its UTF-8
/// bytes, escapes upper-cased, escaped unreserved characters decoded,
/// a `%` that escapes nothing written `%25`.
pub fn normalize_uri(s: &str) -> String {
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (s, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut out = normalize_component(path, b"/");
    if let Some(q) = query {
        out.push('?');
        out.push_str(&normalize_component(q, b"/?"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&normalize_component(f, b"/?"));
    }
    out
}

/// One part of a URL: unreserved characters, sub-delimiters, `:`, `@`
/// and `extra` as they are, every other byte escaped.
fn normalize_component(s: &str, extra: &[u8]) -> String {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let kept = |b: u8| unreserved(b) || b"!$&'()*+,;=:@".contains(&b) || extra.contains(&b);
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escaped = (b == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(v) if unreserved(v) => out.push(v as char),
            Some(v) => out.push_str(&format!("%{v:02X}")),
            None if kept(b) => out.push(b as char),
            None => out.push_str(&format!("%{b:02X}")),
        }
        i += if escaped.is_some() { 3 } else { 1 };
    }
    out
}

/// `Addressable::URI.normalize_component`: reserved characters stay.
fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?#[]%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `array_to_sentence_string[: connector]`, as `Jekyll::Filters` has
/// it: two items are joined by the connector alone (`a and b`), three or
/// more take commas and a serial comma (`a, b, and c`).
fn array_to_sentence_string(v: &dyn ValueView, args: &[Value]) -> Result<Value> {
    let connector = args.first().map_or("and".to_string(), |c| text(c));
    let Some(items) = v.as_array() else {
        return Err(liquid_core::Error::with_msg(format!(
            "array_to_sentence_string: expected a list, got {:?}",
            text(v)
        )));
    };
    let items: Vec<String> = items.values().map(text).collect();
    string(match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} {connector} {b}"),
        [head @ .., last] => format!("{}, {connector} {last}", head.join(", ")),
    })
}

/// kramdown's SmartyPants: curly quotes, dashes, ellipses.
fn smartify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let opening = prev.is_none_or(|p| p.is_whitespace() || "([{-".contains(p));
        match c {
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                out.push('…');
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'-') && chars.get(i + 2) == Some(&'-') => {
                out.push('—');
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push('–');
                i += 1;
            }
            '"' => out.push(if opening { '“' } else { '”' }),
            '\'' => out.push(if opening { '‘' } else { '’' }),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `group_by: "field"`: `[{name, items, size}]` in first-seen order.
fn group_by(input: &dyn ValueView, args: &[Value]) -> Result<Value> {
    let field = args
        .first()
        .map(|a| a.to_kstr().to_string())
        .unwrap_or_default();
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for item in input.as_array().into_iter().flat_map(|a| a.values()) {
        let key = item
            .as_object()
            .and_then(|o| o.get(&field))
            .map(text)
            .unwrap_or_default();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, items)) => items.push(item.to_value()),
            None => groups.push((key, vec![item.to_value()])),
        }
    }
    Ok(Value::Array(
        groups
            .into_iter()
            .map(|(name, items)| {
                let mut o = liquid_core::Object::new();
                o.insert("name".into(), Value::scalar(name));
                o.insert("size".into(), Value::scalar(items.len() as i64));
                o.insert("items".into(), Value::Array(items));
                Value::Object(o)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_before_first_or_last_picks_the_item_without_building_its_list() {
        // `whole` fails when asked for its whole result: only its pick
        // shortcut can answer `| first` and `| last`.
        let whole = Jekyll::new("whole", |_, _| {
            Err(liquid_core::Error::with_msg("built the whole list"))
        })
        .picking(|input, _, pick| {
            let a = input.as_array()?;
            let at = match pick {
                Pick::First => 0,
                Pick::Last => a.size() - 1,
            };
            a.get(at).map(|v| v.to_value())
        });
        let mut parser = liquid::ParserBuilder::with_stdlib().filter(whole);
        for f in first_and_last() {
            parser = parser.filter(f);
        }
        let parser = parser.build().unwrap();
        let render = |t: &str| {
            let vars = liquid::object!({"list": [1, 2, 3]});
            parser.parse(t).unwrap().render(&vars)
        };
        assert_eq!(
            render("{{ list | whole | first }},{{ list | whole | last }}").unwrap(),
            "1,3"
        );
        assert!(render("{{ list | whole }}").is_err());
        // Alone, `first` and `last` are the standard library's.
        assert_eq!(
            render("{{ list | first }}{{ list | last }}{{ 'ab' | first }}").unwrap(),
            "13a"
        );
    }

    #[test]
    fn escapes_match_ruby() {
        assert_eq!(cgi_escape("a b&c/é"), "a+b%26c%2F%C3%A9");
        assert_eq!(
            xml_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(uri_escape("/my page/ü?q=1"), "/my%20page/%C3%BC?q=1");
        assert_eq!(smartify("\"Hi\" -- it's..."), "“Hi” – it’s…");
    }

    #[test]
    fn urls_are_normalised_as_addressable_does() {
        // What `Addressable::URI.parse(s).normalize.to_s` gives (Ruby).
        assert_eq!(
            normalize_uri("/ñ/?q=ä b#frag ü"),
            "/%C3%B1/?q=%C3%A4%20b#frag%20%C3%BC"
        );
        assert_eq!(normalize_uri("/a b/%c3%b1/%41"), "/a%20b/%C3%B1/A");
        assert_eq!(
            normalize_uri("/x\"y<z>[1]{2}|^`\\/"),
            "/x%22y%3Cz%3E%5B1%5D%7B2%7D%7C%5E%60%5C/"
        );
        assert_eq!(normalize_uri("/p?a=1&b=%zz"), "/p?a=1&b=%25zz");
    }

    #[test]
    fn array_to_sentence_string_joins_as_jekyll() {
        let sentence = |items: &[&str], args: &[Value]| {
            let list = Value::Array(items.iter().map(|i| Value::scalar(i.to_string())).collect());
            array_to_sentence_string(&list, args)
                .unwrap()
                .to_kstr()
                .to_string()
        };
        assert_eq!(sentence(&[], &[]), "");
        assert_eq!(sentence(&["tomato"], &[]), "tomato");
        assert_eq!(sentence(&["tomato", "leek"], &[]), "tomato and leek");
        assert_eq!(sentence(&["a", "b", "c"], &[]), "a, b, and c");
        assert_eq!(sentence(&["a", "b"], &[Value::scalar("or")]), "a or b");
    }
}
