//! URLs exactly as Jekyll 4.3 computes them (`Jekyll::URL`,
//! `Jekyll::Drops::UrlDrop`, `Utils.slugify`), so a site moved from Jekyll
//! keeps every link. The tests in `tests/jekyll_parity.rs` compare against
//! URLs recorded from real Jekyll.

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset};
use regex::Regex;

use crate::tree::key::{escape_path, unescape_path};

/// The post URL template for a permalink style (Jekyll's `style_to_permalink`).
pub fn style_to_permalink(style: &str) -> String {
    match style {
        "pretty" => "/:categories/:year/:month/:day/:title/".into(),
        "none" => "/:categories/:title:output_ext".into(),
        "date" => "/:categories/:year/:month/:day/:title:output_ext".into(),
        "ordinal" => "/:categories/:year/:y_day/:title:output_ext".into(),
        "weekdate" => "/:categories/:year/W:week/:short_day/:title:output_ext".into(),
        custom => custom.into(),
    }
}

/// Jekyll's `add_permalink_suffix`: pages and collections follow the site's
/// style for their trailing part.
pub fn add_permalink_suffix(template: &str, style: &str) -> String {
    let mut t = template.to_string();
    match style {
        "pretty" => t.push('/'),
        "date" | "ordinal" | "none" => t.push_str(":output_ext"),
        custom => {
            if custom.ends_with('/') {
                t.push('/');
            }
            if custom.ends_with(":output_ext") {
                t.push_str(":output_ext");
            }
        }
    }
    t
}

/// Jekyll's `sanitize_url`: leading slash, `..` and `./` removed, slashes squeezed.
pub fn sanitize_url(url: &str) -> String {
    let s = format!("/{url}").replace("..", "/").replace("./", "");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SlugMode {
    Default,
    Pretty,
}

/// Jekyll's `Utils.slugify` in its `default` and `pretty` modes.
pub fn slugify(s: &str, mode: SlugMode, cased: bool) -> String {
    static DEFAULT: OnceLock<Regex> = OnceLock::new();
    static PRETTY: OnceLock<Regex> = OnceLock::new();
    let re = match mode {
        SlugMode::Default => DEFAULT.get_or_init(|| Regex::new(r"[^\p{M}\p{L}\p{Nd}]+").unwrap()),
        SlugMode::Pretty => {
            PRETTY.get_or_init(|| Regex::new(r"[^\p{M}\p{L}\p{Nd}._~!$&'()+,;=@]+").unwrap())
        }
    };
    let replaced = re.replace_all(s, "-");
    let trimmed = replaced.strip_prefix('-').unwrap_or(&replaced);
    let trimmed = trimmed.strip_suffix('-').unwrap_or(trimmed);
    if cased {
        trimmed.to_string()
    } else {
        trimmed.to_lowercase()
    }
}

/// Pages: `URL` with a placeholder hash of `path`, `basename`, `output_ext`.
pub fn page_url(
    dir: &str,
    basename: &str,
    output_ext: &str,
    style: &str,
    permalink: Option<&str>,
) -> String {
    let template = if !is_html_ext(output_ext) {
        "/:path/:basename:output_ext".to_string()
    } else if basename == "index" {
        "/:path/".to_string()
    } else {
        add_permalink_suffix("/:path/:basename", style)
    };
    let placeholders = [
        ("path", dir),
        ("basename", basename),
        ("output_ext", output_ext),
    ];
    let pattern = permalink.unwrap_or(&template);
    let mut result = pattern.to_string();
    for (key, value) in placeholders {
        if !result.contains(':') {
            break;
        }
        result = result.replace(&format!(":{key}"), &escape_path(value));
    }
    sanitize_url(&result)
}

pub fn is_html_ext(ext: &str) -> bool {
    matches!(ext, ".html" | ".xhtml" | ".htm")
}

/// What a post or collection document's URL is made from (`UrlDrop`).
pub struct DocumentUrl<'a> {
    pub collection: &'a str,
    /// File name without its last extension.
    pub basename_without_ext: &'a str,
    /// Path inside the collection without extension, with a leading `/`.
    pub cleaned_relative_path: &'a str,
    pub output_ext: &'a str,
    /// The `slug` (front matter, else from the file name).
    pub slug: &'a str,
    pub categories: &'a [String],
    pub date: DateTime<FixedOffset>,
}

impl DocumentUrl<'_> {
    fn placeholder(&self, key: &str) -> Option<String> {
        let d = &self.date;
        let v = match key {
            "collection" => self.collection.to_string(),
            "path" => self.cleaned_relative_path.to_string(),
            "output_ext" => self.output_ext.to_string(),
            "name" => slugify(self.basename_without_ext, SlugMode::Default, false),
            "title" => slugify(self.slug, SlugMode::Pretty, true),
            "slug" => slugify(self.slug, SlugMode::Default, false),
            "categories" => {
                let mut seen: Vec<String> = Vec::new();
                for c in self.categories {
                    let c = c.to_lowercase();
                    if !seen.contains(&c) {
                        seen.push(c);
                    }
                }
                seen.join("/")
            }
            "slugified_categories" => {
                let mut seen: Vec<String> = Vec::new();
                for c in self.categories {
                    let c = slugify(c, SlugMode::Default, false);
                    if !seen.contains(&c) {
                        seen.push(c);
                    }
                }
                seen.join("/")
            }
            "year" => d.format("%Y").to_string(),
            "month" => d.format("%m").to_string(),
            "day" => d.format("%d").to_string(),
            "hour" => d.format("%H").to_string(),
            "minute" => d.format("%M").to_string(),
            "second" => d.format("%S").to_string(),
            "i_day" => d.format("%-d").to_string(),
            "i_month" => d.format("%-m").to_string(),
            "short_month" => d.format("%b").to_string(),
            "long_month" => d.format("%B").to_string(),
            "short_year" => d.format("%y").to_string(),
            "y_day" => d.format("%j").to_string(),
            "w_year" => d.format("%G").to_string(),
            "week" => d.format("%V").to_string(),
            "w_day" => d.format("%u").to_string(),
            "short_day" => d.format("%a").to_string(),
            "long_day" => d.format("%A").to_string(),
            _ => return None,
        };
        Some(v)
    }

    /// The URL from `template` (the document's `permalink` when it has one).
    pub fn url(&self, template: &str) -> Result<String, String> {
        static KEY: OnceLock<Regex> = OnceLock::new();
        let re = KEY.get_or_init(|| Regex::new(":([a-z_]+)").unwrap());
        let mut error = None;
        let result = re.replace_all(template, |caps: &regex::Captures| {
            let name = &caps[1];
            // Keys followed by `_` (`:month_:day`): Jekyll tries the name
            // without its trailing underscore.
            let key = name.strip_suffix('_').unwrap_or(name);
            match self.placeholder(key) {
                Some(value) => {
                    let mut out = escape_path(&value);
                    if key.len() < name.len() {
                        out.push('_');
                    }
                    out
                }
                None => {
                    error.get_or_insert_with(|| {
                        format!("permalink {template:?} uses unknown placeholder :{name}")
                    });
                    String::new()
                }
            }
        });
        match error {
            Some(e) => Err(e),
            None => Ok(sanitize_url(&result)),
        }
    }
}

/// The file a URL is written to, relative to the output folder
/// (Jekyll's `destination`): `/a/` -> `a/index.html`, `/a` -> `a.html`.
pub fn output_path(url: &str, output_ext: &str) -> String {
    let path = unescape_path(url);
    let path = path.trim_start_matches('/');
    if path.is_empty() || url.ends_with('/') {
        format!("{path}index.html")
    } else if path.ends_with(output_ext) {
        path.to_string()
    } else {
        format!("{path}{output_ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_modes() {
        assert_eq!(
            slugify("Hello World!", SlugMode::Default, false),
            "hello-world"
        );
        assert_eq!(
            slugify("Hello World!", SlugMode::Pretty, true),
            "Hello-World!"
        );
        assert_eq!(
            slugify("café au lait", SlugMode::Default, false),
            "café-au-lait"
        );
        assert_eq!(slugify("--a--", SlugMode::Default, false), "a");
    }

    #[test]
    fn escaping_matches_jekyll() {
        assert_eq!(escape_path("/2024/café"), "/2024/caf%C3%A9");
        assert_eq!(escape_path("a b?c#d"), "a%20b%3Fc%23d");
        assert_eq!(escape_path("it's+(ok)!"), "it's+(ok)!");
    }

    #[test]
    fn page_urls() {
        assert_eq!(page_url("", "about", ".html", "date", None), "/about.html");
        assert_eq!(page_url("", "about", ".html", "pretty", None), "/about/");
        assert_eq!(page_url("/docs", "index", ".html", "date", None), "/docs/");
        assert_eq!(page_url("", "feed", ".xml", "pretty", None), "/feed.xml");
        assert_eq!(
            page_url("", "x", ".html", "date", Some("/about/")),
            "/about/"
        );
    }

    #[test]
    fn post_urls() {
        let cats = vec!["News".to_string(), "Tech Talk".to_string()];
        let doc = DocumentUrl {
            collection: "posts",
            basename_without_ext: "2024-01-05-hello",
            cleaned_relative_path: "/2024-01-05-hello",
            output_ext: ".html",
            slug: "hello",
            categories: &cats,
            date: DateTime::parse_from_rfc3339("2024-01-05T10:00:00+00:00").unwrap(),
        };
        assert_eq!(
            doc.url(&style_to_permalink("date")).unwrap(),
            "/news/tech%20talk/2024/01/05/hello.html"
        );
        assert_eq!(
            doc.url("/:year/:i_month/:title/").unwrap(),
            "/2024/1/hello/"
        );
        assert_eq!(doc.url("/:month_:day/").unwrap(), "/01_05/");
        assert!(doc.url("/:nope/").is_err());
    }

    #[test]
    fn output_paths() {
        assert_eq!(output_path("/", ".html"), "index.html");
        assert_eq!(output_path("/a/", ".html"), "a/index.html");
        assert_eq!(output_path("/a", ".html"), "a.html");
        assert_eq!(output_path("/caf%C3%A9.html", ".html"), "café.html");
    }
}
