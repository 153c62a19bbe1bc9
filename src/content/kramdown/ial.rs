//! kramdown's inline attribute lists: the inside of `{: .class #id
//! key="value" ref}`, and the attributes they give an element.
//!
//! Only a list where every word is one of those forms is an IAL; anything
//! else (`{% include x %}`, `{: not valid}`) stays text.

use std::collections::HashMap;

/// HTML attributes in the order they were written; `class` accumulates.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Attrs(pub Vec<(String, String)>);

impl Attrs {
    pub fn set(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) if key == "class" => {
                if !v.split(' ').any(|c| c == value) {
                    v.push(' ');
                    v.push_str(value);
                }
            }
            Some((_, v)) => *v = value.to_string(),
            None => self.0.push((key.to_string(), value.to_string())),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn take(&mut self, key: &str) -> Option<String> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    pub fn merge(&mut self, other: &Attrs) {
        for (k, v) in &other.0 {
            if k == "class" {
                for c in v.split(' ') {
                    self.set(k, c);
                }
            } else {
                self.set(k, v);
            }
        }
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.get("class")
            .is_some_and(|v| v.split(' ').any(|c| c == class))
    }

    /// ` key="value"` for each attribute, escaped.
    pub fn write(&self, out: &mut String) {
        for (k, v) in &self.0 {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            super::escape_into(out, v, true);
            out.push('"');
        }
    }
}

/// One IAL: its attributes and the ALDs it names.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ial {
    pub attrs: Attrs,
    pub refs: Vec<String>,
}

impl Ial {
    /// The attributes with the named ALDs applied first (kramdown: the
    /// IAL's own attributes win).
    pub fn resolve(&self, alds: &HashMap<String, Ial>) -> Attrs {
        let mut out = Attrs::default();
        for r in &self.refs {
            if let Some(ald) = alds.get(r) {
                // ALDs may name other ALDs; one level is what sites use.
                out.merge(&ald.resolve(&HashMap::new()));
            }
        }
        out.merge(&self.attrs);
        out
    }
}

/// Parse the text between `{:` and `}`; `None` unless every word is an
/// attribute, a class, an id or a reference.
pub(crate) fn parse_ial(inner: &str) -> Option<Ial> {
    let mut ial = Ial::default();
    let mut rest = inner.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let len = if let Some(name) = rest.strip_prefix('.') {
            let n = word_len(name, true)?;
            ial.attrs.set("class", &name[..n]);
            n + 1
        } else if let Some(name) = rest.strip_prefix('#') {
            let n = id_len(name)?;
            ial.attrs.set("id", &name[..n]);
            n + 1
        } else {
            let n = word_len(rest, false)?;
            let after = &rest[n..];
            if let Some(quoted) = after.strip_prefix('=') {
                let q = quoted.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let end = quoted[1..].find(q)?;
                let value = quoted[1..1 + end].replace("\\}", "}");
                ial.attrs.set(&rest[..n], &value);
                n + 1 + end + 2
            } else {
                ial.refs.push(rest[..n].to_string());
                n
            }
        };
        rest = &rest[len..];
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return None;
        }
        rest = rest.trim_start();
    }
    Some(ial)
}

/// A class name or reference: `-?[_a-zA-Z][\w-]*` (a class) or `\w[\w-]*`.
fn word_len(s: &str, class: bool) -> Option<usize> {
    let mut start = true;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let ok = if start && class {
            c.is_alphabetic() || c == '_' || (c == '-' && i == 0)
        } else {
            c.is_alphanumeric() || c == '_' || c == '-'
        };
        if !ok {
            break;
        }
        if c != '-' || !class || i > 0 {
            start = false;
        }
        end = i + c.len_utf8();
    }
    (end > 0).then_some(end)
}

/// An id: `[A-Za-z][\w:-]*`.
fn id_len(s: &str) -> Option<usize> {
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(
        s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == ':'))
            .unwrap_or(s.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_lists_parse_in_order() {
        let ial = parse_ial(" .a #b key=\"v w\" .c ref").unwrap();
        assert_eq!(
            ial.attrs.0,
            vec![
                ("class".to_string(), "a c".to_string()),
                ("id".to_string(), "b".to_string()),
                ("key".to_string(), "v w".to_string())
            ]
        );
        assert_eq!(ial.refs, vec!["ref".to_string()]);
    }

    #[test]
    fn anything_else_is_not_an_ial() {
        for bad in [
            "",
            " % include x.html %",
            " key=v",
            " .a,b",
            " #1x",
            "\"q\"",
        ] {
            assert_eq!(parse_ial(bad), None, "{bad:?}");
        }
    }
}
