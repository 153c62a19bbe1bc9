//! Front matter: YAML between `---` lines (Jekyll) or TOML between `+++`
//! lines (Hugo/Zola), parsed into a JSON map so templates see one shape.

use serde_json::{Map, Value};

/// A file split into its front matter and body.
#[derive(Debug)]
pub struct Split<'a> {
    pub data: Map<String, Value>,
    pub body: &'a str,
    /// 1-based line of the file where the body starts.
    pub body_line: usize,
}

/// Why front matter could not be read; the line is relative to the file.
#[derive(Debug, PartialEq)]
pub struct FrontMatterError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

#[derive(Clone, Copy)]
enum Format {
    Yaml,
    Toml,
}

/// Split and parse the front matter. Returns `Ok(None)` when the file has none.
pub fn parse(text: &str) -> Result<Option<Split<'_>>, FrontMatterError> {
    let Some(fenced) = fences(text)? else {
        return Ok(None);
    };
    let data = match fenced.format {
        Format::Yaml => parse_yaml(fenced.raw)?,
        Format::Toml => parse_toml(fenced.raw)?,
    };
    Ok(Some(Split {
        data,
        body: fenced.body,
        body_line: fenced.body_line,
    }))
}

/// The body of a file with or without front matter, without parsing the
/// front matter (the build reads bodies again when it renders them).
pub fn body(text: &str) -> Result<&str, FrontMatterError> {
    Ok(fences(text)?.map_or(text, |f| f.body))
}

/// A file cut at its front matter fences.
struct Fenced<'a> {
    format: Format,
    raw: &'a str,
    body: &'a str,
    body_line: usize,
}

fn fences(text: &str) -> Result<Option<Fenced<'_>>, FrontMatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(first_end) = text.find('\n').or(Some(text.len())) else {
        return Ok(None);
    };
    let (format, fence) = match text[..first_end].trim_end() {
        "---" => (Format::Yaml, "---"),
        "+++" => (Format::Toml, "+++"),
        _ => return Ok(None),
    };
    // Find the closing fence: a line that is exactly the fence (YAML also
    // accepts `...`, its document end marker).
    let mut offset = (first_end + 1).min(text.len());
    let data_start = offset;
    let mut line_no = 2;
    let mut close = None;
    while offset < text.len() {
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line = text[offset..end].trim_end();
        if line == fence || (matches!(format, Format::Yaml) && line == "...") {
            close = Some((offset, (end + 1).min(text.len())));
            break;
        }
        offset = (end + 1).min(text.len());
        line_no += 1;
        if end == text.len() {
            break;
        }
    }
    let Some((data_end, body_start)) = close else {
        return Err(FrontMatterError {
            line: Some(1),
            column: Some(1),
            message: format!("front matter opened with `{fence}` is never closed"),
        });
    };
    let (body_start, body_line) = match format {
        Format::Yaml => after_yaml_fence(text, data_end + fence.len(), line_no),
        Format::Toml => (body_start, line_no + 1),
    };
    Ok(Some(Fenced {
        format,
        raw: &text[data_start..data_end],
        body: &text[body_start..],
        body_line,
    }))
}

/// Where the body starts after a closing `---` that ends at `at` (on line
/// `line_no`): Jekyll's pattern (`^(---|\.\.\.)\s*$\n?`) takes the blank
/// lines that follow the fence too, so a body never starts with one.
fn after_yaml_fence(text: &str, at: usize, line_no: usize) -> (usize, usize) {
    let rest = &text[at..];
    let blank = rest.len()
        - rest
            .trim_start_matches([' ', '\t', '\r', '\n', '\x0c', '\x0b'])
            .len();
    if blank == rest.len() {
        return (text.len(), line_no + rest.matches('\n').count());
    }
    match rest[..blank].rfind('\n') {
        Some(k) => (at + k + 1, line_no + rest[..=k].matches('\n').count()),
        None => (at, line_no),
    }
}

/// Front matter lines start on line 2 of the file.
const DATA_LINE_OFFSET: usize = 1;

/// Deepest `[`/`{` nesting accepted in YAML front matter.
const MAX_FLOW_DEPTH: usize = 64;

/// Refuse flow collections nested deeper than [`MAX_FLOW_DEPTH`]
/// (brackets inside quotes and comments do not count).
fn check_flow_depth(raw: &str) -> Result<(), FrontMatterError> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, line) in raw.lines().enumerate() {
        let mut previous = ' ';
        for (col, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '#') if previous.is_whitespace() => break,
                (None, '"' | '\'') if matches!(previous, ' ' | '[' | '{' | ',' | ':') => {
                    quote = Some(c)
                }
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err(FrontMatterError {
                            line: Some(i + 1 + DATA_LINE_OFFSET),
                            column: Some(col + 1),
                            message: format!(
                                "invalid YAML front matter: lists or maps nested deeper than {MAX_FLOW_DEPTH} levels"
                            ),
                        });
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
    }
    Ok(())
}

fn parse_yaml(raw: &str) -> Result<Map<String, Value>, FrontMatterError> {
    if raw.trim().is_empty() {
        return Ok(Map::new());
    }
    // serde_yaml bounds recursion depth and alias expansion, so a "billion
    // laughs" front matter fails fast instead of exhausting memory; but its
    // scanner takes quadratic time on deep flow nesting (`[[[[...`), so
    // that is refused before it gets there.
    check_flow_depth(raw)?;
    let value: Value = serde_yaml::from_str(raw).map_err(|e| {
        let location = e.location();
        FrontMatterError {
            line: location.as_ref().map(|l| l.line() + DATA_LINE_OFFSET),
            column: location.as_ref().map(|l| l.column()),
            message: format!(
                "invalid YAML front matter: {}",
                strip_position(&e.to_string())
            ),
        }
    })?;
    into_map(value, "YAML")
}

fn parse_toml(raw: &str) -> Result<Map<String, Value>, FrontMatterError> {
    let table: toml::Table = toml::from_str(raw).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| crate::diag::line_col(raw, s.start))
            .map_or((None, None), |(l, c)| (Some(l + DATA_LINE_OFFSET), Some(c)));
        FrontMatterError {
            line,
            column,
            message: format!(
                "invalid TOML front matter: {}",
                e.message().trim().replace('\n', "; ")
            ),
        }
    })?;
    into_map(toml_to_json(toml::Value::Table(table)), "TOML")
}

fn into_map(value: Value, format: &str) -> Result<Map<String, Value>, FrontMatterError> {
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(FrontMatterError {
            line: Some(2),
            column: Some(1),
            message: format!(
                "{format} front matter must be a mapping of keys to values, found {}",
                kind(&other)
            ),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// serde_yaml appends "at line X column Y"; we report the position separately.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// TOML values as JSON; dates become their RFC 3339 text.
pub fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flow_depth_counts_brackets_outside_quotes_only() {
        let quoted = format!(
            "title: \"{}\"\nnote: '{}' # {}\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert!(super::check_flow_depth(&quoted).is_ok());
        assert!(super::check_flow_depth(&format!("x: {}", "[".repeat(64))).is_ok());
        let err = super::check_flow_depth(&format!("a: 1\nx: {}", "[".repeat(65))).unwrap_err();
        assert_eq!((err.line, err.column), (Some(3), Some(68)));
    }

    use super::*;

    #[test]
    fn yaml_front_matter_and_body_line() {
        let s = parse("---\ntitle: Hi\ntags: [a, b]\n---\nBody\n")
            .unwrap()
            .unwrap();
        assert_eq!(s.data["title"], "Hi");
        assert_eq!(s.data["tags"][1], "b");
        assert_eq!(s.body, "Body\n");
        assert_eq!(s.body_line, 5);
    }

    #[test]
    fn blank_lines_after_the_closing_fence_are_not_body_as_in_jekyll() {
        let s = parse("---\nx: 1\n--- \n\n \t\n  @import \"a\";\n")
            .unwrap()
            .unwrap();
        assert_eq!(s.body, "  @import \"a\";\n");
        assert_eq!(s.body_line, 6);
        let s = parse("---\nx: 1\n---\n\n").unwrap().unwrap();
        assert_eq!(s.body, "");
    }

    #[test]
    fn toml_front_matter_with_date() {
        let s = parse("+++\ntitle = \"T\"\ndate = 2024-01-05T10:00:00Z\n+++\nx")
            .unwrap()
            .unwrap();
        assert_eq!(s.data["title"], "T");
        assert_eq!(s.data["date"], "2024-01-05T10:00:00Z");
    }

    #[test]
    fn no_front_matter_is_none() {
        assert!(parse("# Just markdown\n").unwrap().is_none());
    }

    #[test]
    fn yaml_error_reports_file_line() {
        let e = parse("---\ntitle: ok\nbad: [unclosed\n---\n").unwrap_err();
        assert!(e.message.contains("YAML"), "{}", e.message);
        assert!(e.line.unwrap() >= 3, "{:?}", e.line);
    }

    #[test]
    fn unclosed_front_matter_is_an_error() {
        let e = parse("---\ntitle: x\n").unwrap_err();
        assert!(e.message.contains("never closed"));
    }

    #[test]
    fn scalar_front_matter_is_rejected() {
        let e = parse("---\njust a string\n---\n").unwrap_err();
        assert!(e.message.contains("mapping"));
    }
}
