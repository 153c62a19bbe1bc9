//! Files the build generates from the site itself: `sitemap.xml`,
//! `robots.txt`, the posts feeds (Atom 1.0, optionally RSS 2.0) and the
//! per-term Atom feeds of taxonomies that ask for them.
//!
//! Their content depends only on the documents, never on the clock, so an
//! unchanged site builds byte-identical files and `publish` uploads (and
//! invalidates) nothing.

use chrono::{DateTime, FixedOffset};
use quick_xml::escape::escape;

use crate::build::listing::Taxonomy;
use crate::config::Loaded;
use crate::content::refs::absolute_in_feed;
use crate::content::{Document, Kind, Site};

/// `(key, body)` for every generated file whose key the site does not
/// already use (`taken`): the site's own file always wins.
pub fn extras(
    loaded: &Loaded,
    site: &Site,
    taxonomies: &[Taxonomy],
    listed_urls: &[&str],
    taken: &dyn Fn(&str) -> bool,
) -> Vec<(String, Vec<u8>)> {
    let build = &loaded.config.build;
    let base = loaded.config.site.base_url.trim_end_matches('/');
    let mut out = Vec::new();
    if build.sitemap && !taken("sitemap.xml") {
        out.push((
            "sitemap.xml".to_string(),
            sitemap(base, site, listed_urls).into_bytes(),
        ));
    }
    if build.robots && !taken("robots.txt") {
        let mut robots = String::from("User-agent: *\nAllow: /\n");
        if build.sitemap {
            robots.push_str(&format!("\nSitemap: {base}/sitemap.xml\n"));
        }
        out.push(("robots.txt".to_string(), robots.into_bytes()));
    }
    let posts: Vec<&Document> = site
        .documents
        .iter()
        .filter(|d| d.kind == Kind::Post && d.output.is_some())
        .take(build.feed.limit)
        .collect();
    let atom_key = build.feed.atom.trim_start_matches('/');
    if !atom_key.is_empty() && !taken(atom_key) {
        out.push((
            atom_key.to_string(),
            atom(loaded, base, atom_key, "", site, &posts).into_bytes(),
        ));
    }
    let all_posts: Vec<&Document> = site
        .documents
        .iter()
        .filter(|d| d.kind == Kind::Post)
        .collect();
    for t in taxonomies.iter().filter(|t| t.feed) {
        for term in &t.terms {
            let key = term.feed_url().trim_start_matches('/').to_string();
            if taken(&key) {
                continue;
            }
            let posts: Vec<&Document> = term
                .posts
                .iter()
                .filter_map(|&i| all_posts.get(i).copied())
                .filter(|d| d.output.is_some())
                .take(build.feed.limit)
                .collect();
            let body = atom(loaded, base, &key, &term.name, site, &posts);
            out.push((key, body.into_bytes()));
        }
    }
    let rss_key = build.feed.rss.trim_start_matches('/');
    if !rss_key.is_empty() && !taken(rss_key) {
        out.push((
            rss_key.to_string(),
            rss(loaded, base, rss_key, site, &posts).into_bytes(),
        ));
    }
    out
}

/// Every HTML document, except the 404 page and those with `sitemap: false`,
/// then the generated list pages (`listed`).
fn sitemap(base: &str, site: &Site, listed: &[&str]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for doc in &site.documents {
        let Some(key) = &doc.output else { continue };
        let excluded = doc.front.get("sitemap").and_then(|v| v.as_bool()) == Some(false);
        if excluded || !key.ends_with(".html") || key == "404.html" {
            continue;
        }
        xml.push_str(&format!(
            "  <url><loc>{}</loc>",
            escape(format!("{base}{}", doc.url))
        ));
        if let Some(date) = updated(doc) {
            xml.push_str(&format!("<lastmod>{}</lastmod>", date.to_rfc3339()));
        }
        xml.push_str("</url>\n");
    }
    for url in listed {
        xml.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            escape(format!("{base}{url}"))
        ));
    }
    xml.push_str("</urlset>\n");
    xml
}

/// `last_modified_at` from the front matter, else the document's date.
fn updated(doc: &Document) -> Option<DateTime<FixedOffset>> {
    doc.front
        .get("last_modified_at")
        .and_then(|v| v.as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .or(doc.date)
}

/// The newest date among the documents: the feed's own `updated`.
fn newest(site: &Site) -> String {
    site.documents
        .iter()
        .filter_map(updated)
        .max()
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| "1970-01-01T00:00:00+00:00".into())
}

/// An Atom feed of `posts`; `term` (when not empty) names the taxonomy
/// term it is limited to.
fn atom(
    loaded: &Loaded,
    base: &str,
    key: &str,
    term: &str,
    site: &Site,
    posts: &[&Document],
) -> String {
    let cfg = &loaded.config.site;
    let author = if cfg.author.is_empty() {
        &cfg.title
    } else {
        &cfg.author
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n  <title>{}</title>\n",
        escape(&cfg.language),
        escape(if term.is_empty() {
            cfg.title.clone()
        } else {
            format!("{} · {term}", cfg.title)
        })
    );
    if !cfg.description.is_empty() {
        xml.push_str(&format!(
            "  <subtitle>{}</subtitle>\n",
            escape(&cfg.description)
        ));
    }
    xml.push_str(&format!(
        "  <link href=\"{}\" rel=\"self\" type=\"application/atom+xml\"/>\n  <link href=\"{}/\" rel=\"alternate\" type=\"text/html\"/>\n  <id>{}</id>\n  <updated>{}</updated>\n  <author><name>{}</name></author>\n  <generator uri=\"https://github.com/tusk\">tusk</generator>\n",
        escape(format!("{base}/{key}")),
        escape(base),
        // The site's feed keeps the id it always had; a term feed is its own.
        escape(if term.is_empty() {
            format!("{base}/")
        } else {
            format!("{base}/{key}")
        }),
        newest(site),
        escape(author)
    ));
    for post in posts {
        let link = escape(format!("{base}{}", post.url)).into_owned();
        let date = updated(post)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| newest(site));
        let published = post.date.map(|d| d.to_rfc3339()).unwrap_or(date.clone());
        xml.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <link href=\"{link}\" rel=\"alternate\" type=\"text/html\"/>\n    <id>{link}</id>\n    <published>{published}</published>\n    <updated>{date}</updated>\n",
            escape(&post.title)
        ));
        for term in post.categories.iter().chain(&post.tags) {
            xml.push_str(&format!("    <category term=\"{}\"/>\n", escape(term)));
        }
        if !post.excerpt.is_empty() {
            xml.push_str(&format!(
                "    <summary type=\"html\">{}</summary>\n",
                escape(&*absolute_in_feed(&post.excerpt, base))
            ));
        }
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

fn rss(loaded: &Loaded, base: &str, key: &str, site: &Site, posts: &[&Document]) -> String {
    let cfg = &loaded.config.site;
    let last_build = site
        .documents
        .iter()
        .filter_map(updated)
        .max()
        .map(|d| d.to_rfc2822());
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n  <title>{}</title>\n  <link>{}/</link>\n  <description>{}</description>\n  <language>{}</language>\n  <atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n  <generator>tusk</generator>\n",
        escape(&cfg.title),
        escape(base),
        escape(if cfg.description.is_empty() { &cfg.title } else { &cfg.description }),
        escape(&cfg.language),
        escape(format!("{base}/{key}")),
    );
    if let Some(d) = last_build {
        xml.push_str(&format!("  <lastBuildDate>{d}</lastBuildDate>\n"));
    }
    for post in posts {
        let link = escape(format!("{base}{}", post.url)).into_owned();
        xml.push_str(&format!(
            "  <item>\n    <title>{}</title>\n    <link>{link}</link>\n    <guid isPermaLink=\"true\">{link}</guid>\n",
            escape(&post.title)
        ));
        if let Some(d) = post.date {
            xml.push_str(&format!("    <pubDate>{}</pubDate>\n", d.to_rfc2822()));
        }
        for term in post.categories.iter().chain(&post.tags) {
            xml.push_str(&format!("    <category>{}</category>\n", escape(term)));
        }
        if !post.excerpt.is_empty() {
            xml.push_str(&format!(
                "    <description>{}</description>\n",
                escape(&*absolute_in_feed(&post.excerpt, base))
            ));
        }
        xml.push_str("  </item>\n");
    }
    xml.push_str("</channel>\n</rss>\n");
    xml
}
