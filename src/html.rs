//! HTML attribute values as a browser reads them. HTML-aware tools
//! (lol_html) hand attribute values over as written, with character
//! references undecoded: `href="/feed/?a=1&amp;b=2"` means `?a=1&b=2`, and
//! `&#233;` an `é`. Both the build's link checker and the snapshot's
//! crawler need the decoded value.

use std::borrow::Cow;

/// Decode the character references of an attribute value (HTML5: named
/// references, decimal and hexadecimal ones). An `&` that starts no known
/// reference stays as written, as browsers keep it.
pub fn decode_attribute(value: &str) -> Cow<'_, str> {
    if !value.contains('&') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match reference(rest) {
            Some((decoded, used)) => {
                out.push_str(&decoded);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether a URL reference leads to no document to fetch: empty, a
/// fragment of the same page, or a scheme like `data:` or `mailto:`.
/// The crawler and the drill skip the same ones.
pub fn fetches_nothing(raw: &str) -> bool {
    const SCHEMES: [&str; 6] = ["data:", "javascript:", "mailto:", "tel:", "about:", "blob:"];
    let raw = raw.trim();
    raw.is_empty()
        || raw.starts_with('#')
        || SCHEMES.iter().any(|s| {
            raw.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        })
}

/// The character(s) a reference at the start of `s` (which starts with
/// `&`) stands for, and how many bytes it used.
fn reference(s: &str) -> Option<(String, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (num, 10, 1),
        };
        let len = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        if len == 0 {
            return None;
        }
        let code = u32::from_str_radix(&digits[..len], radix).unwrap_or(0xFFFD);
        // NUL, surrogates and out-of-range values become U+FFFD (HTML5).
        let c = char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{FFFD}');
        let semicolon = digits[len..].starts_with(';') as usize;
        return Some((c.to_string(), 1 + skip + len + semicolon));
    }
    let len = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    if len == 0 || !body[len..].starts_with(';') {
        // Legacy references without `;` are not decoded in attributes
        // when followed by `=` or an alphanumeric (`?a=1&copy=2`); keeping
        // every unterminated one as written is the safe reading for URLs.
        return None;
    }
    let decoded = quick_xml::escape::resolve_html5_entity(&body[..len])?;
    Some((decoded.to_string(), 1 + len + 1))
}

#[cfg(test)]
mod tests {
    use super::decode_attribute;

    #[test]
    fn references_decode_as_in_a_browser() {
        assert_eq!(
            decode_attribute("/feed/?url=x&amp;format=xml"),
            "/feed/?url=x&format=xml"
        );
        assert_eq!(decode_attribute("/a?x=1&#038;y=2"), "/a?x=1&y=2");
        assert_eq!(decode_attribute("/caf&#233;/"), "/café/");
        assert_eq!(decode_attribute("/caf&#xE9;/"), "/café/");
        assert_eq!(decode_attribute("/caf&eacute;/"), "/café/");
        assert_eq!(decode_attribute("?a=1&b=2"), "?a=1&b=2");
        assert_eq!(decode_attribute("?a=1&copy=2"), "?a=1&copy=2");
        assert_eq!(decode_attribute("&#0;&#xD800;"), "\u{FFFD}\u{FFFD}");
        assert_eq!(decode_attribute("a&"), "a&");
        assert_eq!(decode_attribute("&#;"), "&#;");
    }
}
