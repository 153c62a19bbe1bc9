//! The common Jekyll plugins built in. jekyll-feed, jekyll-sitemap and
//! jekyll-redirect-from's layout are
//! Liquid templates (copied from the gems, MIT licensed: `feed.xml`,
//! `sitemap.xml` here) rendered by the site's own engine; jekyll-seo-tag's
//! `{% seo %}` is computed here, following its `Drop` field by field.

use liquid_core::{Result, Runtime};
use serde_json::{json, Value};

use super::filters::xml_escape;
use super::tags::lookup;

pub const FEED_TEMPLATE: &str = include_str!("feed.xml");
pub const SITEMAP_TEMPLATE: &str = include_str!("sitemap.xml");
/// jekyll-redirect-from 0.16's `redirect.html` layout (MIT licensed).
pub const REDIRECT_TEMPLATE: &str = include_str!("redirect.html");
pub const ROBOTS_TEMPLATE: &str = "Sitemap: {{ \"sitemap.xml\" | absolute_url }}\n";

/// The versions the generated markup names, as the gems Debian ships.
const SEO_VERSION: &str = "2.8.0";
pub const JEKYLL_VERSION: &str = "4.3.1";

/// The build's Markdown converter, as the `markdownify` filter has it.
pub type Markdownify = dyn Fn(&str) -> String + Send + Sync;

/// The gem's `format_string`: `markdownify`, `strip_html`,
/// `normalize_whitespace`, `escape_once`, in that order; None when
/// nothing is left.
fn format_string(markdownify: &Markdownify, s: &str) -> Option<String> {
    let html = markdownify(s);
    let text = strip_html(&html);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(escape_once(&text)).filter(|t| !t.is_empty())
}

/// Liquid's `strip_html`: scripts, styles and comments with what they
/// hold, then every tag.
fn strip_html(s: &str) -> String {
    use std::sync::OnceLock;
    static BLOCKS: OnceLock<regex::Regex> = OnceLock::new();
    static TAGS: OnceLock<regex::Regex> = OnceLock::new();
    let blocks = BLOCKS.get_or_init(|| {
        regex::Regex::new(r"(?s)<script.*?</script>|<!--.*?-->|<style.*?</style>")
            .expect("a valid pattern")
    });
    let tags = TAGS.get_or_init(|| regex::Regex::new(r"(?s)<.*?>").expect("a valid pattern"));
    tags.replace_all(&blocks.replace_all(s, ""), "")
        .into_owned()
}

/// Liquid's `escape_once`: HTML escapes, leaving character references
/// (`&amp;`, `&#39;`) as they are.
fn escape_once(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            '&' if is_reference(&s[i + 1..]) => out.push('&'),
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

/// Whether `rest` (after a `&`) starts a reference: `name;` or `#123;`.
fn is_reference(rest: &str) -> bool {
    let body = rest.strip_prefix('#');
    let (chars, ok): (&str, fn(u8) -> bool) = match body {
        Some(b) => (b, |c| c.is_ascii_digit()),
        None => (rest, |c| c.is_ascii_alphabetic()),
    };
    let n = chars.bytes().take_while(|c| ok(*c)).count();
    n > 0 && chars.as_bytes().get(n) == Some(&b';')
}

fn attr(s: &str) -> String {
    xml_escape(s).replace("&#39;", "'")
}

/// `{% seo %}` (and `{% seo title=false %}`).
pub fn seo(args: &str, runtime: &dyn Runtime, markdownify: &Markdownify) -> Result<String> {
    let get = |p: &str| lookup(runtime, p).filter(|s| !s.is_empty());
    let format = |s: Option<String>| s.and_then(|s| format_string(markdownify, &s));
    let show_title = !args.replace(' ', "").contains("title=false");
    let site_title = format(get("site.title").or_else(|| get("site.name")));
    let site_description = format(get("site.description"));
    let tagline = format(get("site.tagline")).or(site_description.clone());
    let page_title = format(get("page.title")).or(site_title.clone());
    let url = get("page.url").unwrap_or_default();
    // jekyll-seo-tag's `homepage_or_about?`.
    let is_home = matches!(url.as_str(), "/" | "/index.html" | "/about/");
    let title = match (&site_title, &page_title) {
        (Some(s), Some(p)) if p != s => Some(format!("{p} | {s}")),
        (Some(s), _) if site_description.is_some() => {
            Some(format!("{s} | {}", tagline.clone().unwrap_or_default()))
        }
        _ => page_title.clone().or(site_title.clone()),
    };
    // `page["description"] || page["excerpt"]`: an empty description
    // still wins over the excerpt (and formats to nothing).
    let description = format(lookup(runtime, "page.description").or_else(|| get("page.excerpt")))
        .or(site_description.clone());
    let site_url = lookup(runtime, "site.url");
    let baseurl = get("site.baseurl").unwrap_or_default();
    let canonical = format!(
        "{}{}{}",
        site_url.clone().unwrap_or_default().trim_end_matches('/'),
        baseurl.trim_end_matches('/'),
        super::filters::normalize_uri(url.strip_suffix("index.html").unwrap_or(&url))
    );
    let date = get("page.date").and_then(|d| {
        super::filters::as_date(&liquid_core::model::Value::scalar(d))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
    });
    let author = get("page.author").or_else(|| get("site.author"));

    let mut out = format!("<!-- Begin Jekyll SEO tag v{SEO_VERSION} -->\n");
    // The gem's `page_number`: "Page 2 of 5 for " on paginated pages.
    let number = lookup(runtime, "paginator.page").and_then(|n| n.parse::<i64>().ok());
    let title = match (title, number) {
        (Some(t), Some(n)) if n > 1 => {
            let message = get("site.seo_paginator_message")
                .unwrap_or_else(|| "Page %<current>s of %<total>s for ".to_string());
            let total = lookup(runtime, "paginator.total_pages").unwrap_or_default();
            let prefix = message
                .replace("%<current>s", &n.to_string())
                .replace("%<total>s", &total);
            Some(format!("{prefix}{t}"))
        }
        (t, _) => t,
    };
    if show_title {
        if let Some(t) = &title {
            out += &format!("<title>{t}</title>\n");
        }
    }
    out += &format!("<meta name=\"generator\" content=\"Jekyll v{JEKYLL_VERSION}\" />\n");
    if let Some(t) = &page_title {
        out += &format!("<meta property=\"og:title\" content=\"{t}\" />\n");
    }
    if let Some(a) = &author {
        out += &format!("<meta name=\"author\" content=\"{}\" />\n", attr(a));
    }
    let locale = get("page.locale")
        .or_else(|| get("site.locale"))
        .unwrap_or_else(|| "en_US".into());
    out += &format!("<meta property=\"og:locale\" content=\"{locale}\" />\n");
    if let Some(d) = &description {
        out += &format!("<meta name=\"description\" content=\"{d}\" />\n");
        out += &format!("<meta property=\"og:description\" content=\"{d}\" />\n");
    }
    if site_url.is_some() {
        out += &format!("<link rel=\"canonical\" href=\"{canonical}\" />\n");
        out += &format!("<meta property=\"og:url\" content=\"{canonical}\" />\n");
    }
    if let Some(s) = &site_title {
        out += &format!("<meta property=\"og:site_name\" content=\"{s}\" />\n");
    }
    match &date {
        Some(d) => {
            out += "<meta property=\"og:type\" content=\"article\" />\n";
            out += &format!("<meta property=\"article:published_time\" content=\"{d}\" />\n");
        }
        None => out += "<meta property=\"og:type\" content=\"website\" />\n",
    }
    // The gem's prev/next links on paginated pages.
    for (rel, path) in [("prev", "previous_page_path"), ("next", "next_page_path")] {
        if let Some(p) = lookup(runtime, &format!("paginator.{path}")) {
            let href = format!(
                "{}{}{p}",
                site_url.clone().unwrap_or_default().trim_end_matches('/'),
                baseurl.trim_end_matches('/')
            );
            out += &format!("<link rel=\"{rel}\" href=\"{href}\" />\n");
        }
    }
    out += "<meta name=\"twitter:card\" content=\"summary\" />\n";
    if let Some(t) = &page_title {
        out += &format!("<meta property=\"twitter:title\" content=\"{t}\" />\n");
    }
    if let Some(user) = get("site.twitter.username") {
        out += &format!(
            "<meta name=\"twitter:site\" content=\"@{}\" />\n",
            user.trim_start_matches('@')
        );
    }
    // JSON-LD in the order the gem writes its keys.
    let kind = if date.is_some() {
        "BlogPosting"
    } else if is_home {
        "WebSite"
    } else {
        "WebPage"
    };
    let mut ld: Vec<(&str, Value)> = vec![
        ("@context", json!("https://schema.org")),
        ("@type", json!(kind)),
    ];
    if let Some(a) = &author {
        ld.push((
            "author",
            Value::String(format!("{{\"@type\":\"Person\",\"name\":{}}}", json!(a))),
        ));
    }
    if let Some(d) = &date {
        ld.push(("dateModified", json!(d)));
        ld.push(("datePublished", json!(d)));
    }
    if let Some(d) = &description {
        ld.push(("description", json!(d)));
    }
    if let Some(t) = &page_title {
        ld.push(("headline", json!(t)));
    }
    if kind == "BlogPosting" {
        ld.push((
            "mainEntityOfPage",
            Value::String(format!(
                "{{\"@type\":\"WebPage\",\"@id\":{}}}",
                json!(canonical)
            )),
        ));
    }
    if kind == "WebSite" {
        if let Some(s) = &site_title {
            ld.push(("name", json!(s)));
        }
    }
    if site_url.is_some() {
        ld.push(("url", json!(canonical)));
    }
    let fields: Vec<String> = ld
        .iter()
        .map(|(k, v)| match (k, v) {
            // Nested objects are written in the gem's key order above.
            (&"author" | &"mainEntityOfPage", Value::String(raw)) => format!("{}:{raw}", json!(k)),
            _ => format!("{}:{v}", json!(k)),
        })
        .collect();
    out += "<script type=\"application/ld+json\">\n";
    out += &format!("{{{}}}", fields.join(","));
    out += "</script>\n<!-- End Jekyll SEO tag -->\n";
    Ok(out)
}
