//! `_data/*.csv` and `*.tsv` as Jekyll reads them with Ruby's `CSV.read`:
//! a quoted empty field is `""`, an unquoted empty one nil; with
//! `headers: true` each row is an object keyed by the first row (a key
//! seen twice keeps its first value; a row shorter than the header has
//! nil for the rest), with `headers: false` a list; `csv_converters` turn
//! fields into numbers and dates as Ruby's converters do. Malformed
//! quoting is an error with its line, as Ruby's `MalformedCSVError`.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

use crate::config::{CsvConverter, DataEncoding, DataReader};

/// A malformed file: the line and what is wrong.
#[derive(Debug, PartialEq)]
pub struct Malformed {
    pub line: usize,
    pub message: String,
}

/// The data of one file (`separator`: `,` or a tab).
pub fn read(bytes: &[u8], separator: char, reader: &DataReader) -> Result<Value, Malformed> {
    let text = decode(bytes, reader.encoding)?;
    let rows = parse(&text, separator)?;
    let convert = |field: Option<String>| match field {
        Some(f) => converted(f, &reader.converters),
        None => Value::Null,
    };
    if !reader.headers {
        let rows = rows
            .into_iter()
            .map(|row| Value::Array(row.into_iter().map(convert).collect()))
            .collect();
        return Ok(Value::Array(rows));
    }
    let mut rows = rows.into_iter();
    let header: Vec<String> = rows
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let objects = rows
        .map(|row| {
            let mut fields = row.into_iter();
            let mut object = Map::new();
            for key in &header {
                let value = convert(fields.next().flatten());
                object.entry(key.clone()).or_insert(value);
            }
            // Fields past the header have a nil key in Ruby ("" in JSON).
            if let Some(extra) = fields.next() {
                object.entry(String::new()).or_insert(convert(extra));
            }
            Value::Object(object)
        })
        .collect();
    Ok(Value::Array(objects))
}

fn decode(bytes: &[u8], encoding: DataEncoding) -> Result<String, Malformed> {
    let invalid = |e: std::str::Utf8Error| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Malformed {
            line,
            message: "invalid UTF-8 (set csv_reader.encoding if the file is in another encoding)"
                .into(),
        }
    };
    match encoding {
        DataEncoding::Utf8 => std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(invalid),
        DataEncoding::Utf8Bom => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            std::str::from_utf8(bytes)
                .map(str::to_string)
                .map_err(invalid)
        }
        DataEncoding::Latin1 => Ok(bytes.iter().map(|b| *b as char).collect()),
    }
}

/// One row: its fields, None where a field is empty and unquoted.
type Row = Vec<Option<String>>;

/// The rows of `text`. A line ends at `\r\n`, `\n` or `\r`; an empty line
/// is a row with no fields; a newline inside quotes is part of the field.
fn parse(text: &str, separator: char) -> Result<Vec<Row>, Malformed> {
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut row: Row = Vec::new();
        loop {
            let field = match chars.peek() {
                Some('"') => {
                    chars.next();
                    Some(quoted(&mut chars, &mut line, start, separator)?)
                }
                _ => unquoted(&mut chars, line, separator)?,
            };
            let ends_row = !matches!(chars.peek(), Some(c) if *c == separator);
            let empty_line = ends_row && row.is_empty() && field.is_none();
            if !empty_line {
                row.push(field);
            }
            if ends_row {
                end_of_line(&mut chars, &mut line);
                break;
            }
            chars.next();
        }
        rows.push(row);
    }
    Ok(rows)
}

fn end_of_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, line: &mut usize) {
    match chars.next() {
        Some('\r') => {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            *line += 1;
        }
        Some('\n') => *line += 1,
        _ => {}
    }
}

fn unquoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    line: usize,
    separator: char,
) -> Result<Option<String>, Malformed> {
    let mut field = String::new();
    while let Some(&c) = chars.peek() {
        if c == separator || c == '\n' || c == '\r' {
            break;
        }
        if c == '"' {
            return Err(Malformed {
                line,
                message: "Illegal quoting (a quote inside an unquoted field)".into(),
            });
        }
        field.push(c);
        chars.next();
    }
    Ok(Some(field).filter(|f| !f.is_empty()))
}

fn quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    line: &mut usize,
    start: usize,
    separator: char,
) -> Result<String, Malformed> {
    let mut field = String::new();
    loop {
        match chars.next() {
            None => {
                return Err(Malformed {
                    line: start,
                    message: "Unclosed quoted field".into(),
                })
            }
            Some('"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            Some('"') => break,
            Some(c) => {
                if c == '\n' {
                    *line += 1;
                }
                field.push(c);
            }
        }
    }
    match chars.peek() {
        None | Some('\n') | Some('\r') => Ok(field),
        Some(c) if *c == separator => Ok(field),
        Some(_) => Err(Malformed {
            line: *line,
            message: "Any value after quoted field isn't allowed".into(),
        }),
    }
}

/// A field through the converters: the first that applies wins.
fn converted(field: String, converters: &[CsvConverter]) -> Value {
    for c in converters {
        let v = match c {
            CsvConverter::Integer => ruby_integer(&field).map(Value::from),
            CsvConverter::Float => {
                ruby_float(&field).and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            }
            CsvConverter::Date => ruby_date(&field).map(Value::String),
            CsvConverter::DateTime => ruby_date_time(&field).map(Value::String),
        };
        if let Some(v) = v {
            return v;
        }
    }
    Value::String(field)
}

/// Digits with single `_` between them, in `radix`.
fn digits(s: &str, radix: u32) -> Option<i64> {
    if s.is_empty() || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
        return None;
    }
    i64::from_str_radix(&s.replace('_', ""), radix).ok()
}

/// Ruby's `Integer(s)`: spaces around, a sign, `0x`/`0b`/`0o`/`0` prefixes.
fn ruby_integer(s: &str) -> Option<i64> {
    let t = s.trim();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = t.to_ascii_lowercase();
    let n = if let Some(h) = lower.strip_prefix("0x") {
        digits(h, 16)
    } else if let Some(b) = lower.strip_prefix("0b") {
        digits(b, 2)
    } else if let Some(o) = lower.strip_prefix("0o") {
        digits(o, 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        digits(&lower[1..], 8)
    } else {
        digits(&lower, 10)
    }?;
    Some(if negative { -n } else { n })
}

/// Ruby's `Float(s)`: `1.5`, `.5`, `1e3`, `1_000.5` (not `1.` nor `inf`).
fn ruby_float(s: &str) -> Option<f64> {
    use std::sync::OnceLock;
    static FLOAT: OnceLock<regex::Regex> = OnceLock::new();
    let re = FLOAT.get_or_init(|| {
        regex::Regex::new(r"^[+-]?(\d+(_\d+)*(\.\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+)?$")
            .expect("a valid pattern")
    });
    let t = s.trim();
    re.is_match(t)
        .then(|| t.replace('_', "").parse().ok())
        .flatten()
}

/// `CSV::DateMatcher` then `Date.parse`: `2024-01-05` (written back the
/// same) or `Jan 5 2024` / `Friday, January 5, 2024`.
fn ruby_date(s: &str) -> Option<String> {
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10 {
        return Some(s.to_string());
    }
    let words: Vec<String> = s.split_whitespace().map(|w| w.replace(',', "")).collect();
    let [month, day, year] = match words.as_slice() {
        [m, d, y] | [_, m, d, y] => [m, d, y],
        _ => return None,
    };
    if year.len() != 4 {
        return None;
    }
    let text = format!("{month} {day} {year}");
    ["%b %d %Y", "%B %d %Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(&text, f).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// `CSV::DateTimeMatcher` then `DateTime.parse`, written as
/// `DateTime#to_s` (`2024-01-05T10:30:00+00:00`), for the ISO 8601 forms.
fn ruby_date_time(s: &str) -> Option<String> {
    let out = |d: DateTime<chrono::FixedOffset>| d.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(out(d));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        (s.len() == 10)
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(out(naive.and_utc().fixed_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, reader: &DataReader) -> Value {
        read(text.as_bytes(), ',', reader).unwrap()
    }

    #[test]
    fn quoted_empty_is_text_and_unquoted_empty_is_nil() {
        let got = rows(
            "a,b\n1,\"\"\n\n2\n3,4,5\n\"x\"\"y\",z\n",
            &DataReader::default(),
        );
        assert_eq!(
            got,
            serde_json::json!([
                {"a": "1", "b": ""},
                {"a": null, "b": null},
                {"a": "2", "b": null},
                {"a": "3", "b": "4", "": "5"},
                {"a": "x\"y", "b": "z"},
            ])
        );
    }

    #[test]
    fn without_headers_rows_are_lists() {
        let reader = DataReader {
            headers: false,
            ..DataReader::default()
        };
        let got = rows("a,b\n1,\"\"\n\n2\n", &reader);
        assert_eq!(got, serde_json::json!([["a", "b"], ["1", ""], [], ["2"]]));
    }

    #[test]
    fn numeric_converts_as_ruby_integer_then_float() {
        // What Ruby 3.1's CSV gives with `converters: [:numeric]`.
        let reader = DataReader {
            converters: vec![CsvConverter::Integer, CsvConverter::Float],
            ..DataReader::default()
        };
        let got = rows("n\n 7 \n1__0\n-0b11\n0o17\n1.\n.5\n1E3\n010\n08\n", &reader);
        let values: Vec<Value> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["n"].clone())
            .collect();
        assert_eq!(
            values,
            serde_json::json!([7, "1__0", -3, 15, "1.", 0.5, 1000.0, 8, 8.0])
                .as_array()
                .unwrap()
                .clone()
        );
    }

    #[test]
    fn date_time_writes_as_ruby_date_time_to_s() {
        for (from, to) in [
            ("2024-01-05", "2024-01-05T00:00:00+00:00"),
            ("2024-01-05T10:30", "2024-01-05T10:30:00+00:00"),
            ("2024-01-05 10:30:00", "2024-01-05T10:30:00+00:00"),
            ("2024-01-05T10:30:15.5+02:00", "2024-01-05T10:30:15+02:00"),
            ("2024-01-05T10:30:15Z", "2024-01-05T10:30:15+00:00"),
        ] {
            assert_eq!(ruby_date_time(from).as_deref(), Some(to), "{from}");
        }
        assert_eq!(ruby_date_time("Jan 5 2024"), None);
        assert_eq!(ruby_date("Jan 5 2024").as_deref(), Some("2024-01-05"));
    }

    #[test]
    fn malformed_quoting_names_the_line() {
        let r = DataReader::default();
        let err = read(b"a\nx\"y\n", ',', &r).unwrap_err();
        assert_eq!(err.line, 2);
        let err = read(b"a\nok\n\"open\n", ',', &r).unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (3, "Unclosed quoted field")
        );
    }
}
