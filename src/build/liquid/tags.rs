//! Jekyll's tags on top of the `liquid` crate's: `link`, `post_url`,
//! `include_relative`, `highlight`, and the plugins' `seo` and
//! `feed_meta`. Lookups go through maps made before rendering; only
//! `include_relative` reads files, and only inside the site folder.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use liquid_core::error::ResultLiquidReplaceExt;
use liquid_core::model::{ScalarCow, ValueView};
use liquid_core::parser::TryMatchToken;
use liquid_core::{
    BlockReflection, Error, Language, ParseBlock, ParseTag, Renderable, Result, Runtime, TagBlock,
    TagReflection, TagTokenIter,
};

/// What the tags look up, shared by every template of a build.
#[derive(Default)]
pub struct Lookups {
    /// Source path (`_posts/x.md`, `about.md`) -> URL, for `link`.
    pub by_path: HashMap<String, String>,
    /// Post name (`2024-01-05-hello`) -> URL, for `post_url`.
    pub posts: HashMap<String, String>,
    /// `baseurl`, prefixed to `link` and `post_url` as Jekyll 4 does.
    pub baseurl: String,
    /// The site folder, for `include_relative`.
    pub site_root: PathBuf,
    /// Set once the parser is built: `include_relative` parses with it.
    pub parser: OnceLock<liquid::Parser>,
}

/// A tag defined by a name and what to do with its argument text.
/// What a [`Simple`] tag does with its argument text.
type TagFn = dyn Fn(&str, &dyn Runtime) -> Result<String> + Send + Sync;

#[derive(Clone)]
pub struct Simple {
    name: &'static str,
    run: Arc<TagFn>,
}

impl Simple {
    fn new(
        name: &'static str,
        run: impl Fn(&str, &dyn Runtime) -> Result<String> + Send + Sync + 'static,
    ) -> Simple {
        Simple {
            name,
            run: Arc::new(run),
        }
    }
}

impl TagReflection for Simple {
    fn tag(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> &'static str {
        "a Jekyll tag"
    }
}

impl ParseTag for Simple {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let mut words = Vec::new();
        while let Ok(t) = arguments.expect_next("") {
            words.push(t.as_str().to_string());
        }
        Ok(Box::new(SimpleRun {
            tag: self.clone(),
            args: words.join(" "),
        }))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

struct SimpleRun {
    tag: Simple,
    args: String,
}

impl std::fmt::Debug for SimpleRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} {} %}}", self.tag.name, self.args)
    }
}

impl Renderable for SimpleRun {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let out = (self.tag.run)(&self.args, runtime)?;
        writer.write_all(out.as_bytes()).replace("cannot write")?;
        Ok(())
    }
}

/// A value of the runtime at a dotted path (`page.title`), as text.
pub fn lookup(runtime: &dyn Runtime, path: &str) -> Option<String> {
    let parts: Vec<ScalarCow<'_>> = path.split('.').map(ScalarCow::new).collect();
    runtime
        .try_get(&parts)
        .filter(|v| !v.is_nil())
        .map(|v| v.to_kstr().to_string())
}

/// The tags that only need the lookups.
pub fn simple_tags(
    lookups: &Arc<Lookups>,
    markdownify: Arc<super::plugins::Markdownify>,
) -> Vec<Simple> {
    let l = lookups.clone();
    let link = Simple::new("link", move |args, runtime| {
        let path = resolve_arg(args, runtime);
        match l.by_path.get(path.trim_start_matches('/')) {
            Some(url) => Ok(format!("{}{url}", l.baseurl)),
            None => Err(Error::with_msg(format!(
                "{{% link {path} %}}: no page, post or document at {path:?}"
            ))),
        }
    });
    let l = lookups.clone();
    let post_url = Simple::new("post_url", move |args, runtime| {
        let name = resolve_arg(args, runtime);
        // `post_url dir/2024-01-05-x` names a post in a category folder.
        let short = name.rsplit('/').next().unwrap_or(&name);
        match l.posts.get(&name).or_else(|| l.posts.get(short)) {
            Some(url) => Ok(format!("{}{url}", l.baseurl)),
            None => Err(Error::with_msg(format!(
                "{{% post_url {name} %}}: no post named {name:?}"
            ))),
        }
    });
    let feed_meta = Simple::new("feed_meta", |_, runtime| {
        let base = lookup(runtime, "site.url").unwrap_or_default();
        let baseurl = lookup(runtime, "site.baseurl").unwrap_or_default();
        let href = format!("{}{}/feed.xml", base, baseurl.trim_end_matches('/'));
        let title = lookup(runtime, "site.title")
            .or_else(|| lookup(runtime, "site.name"))
            .map(|t| format!(" title=\"{}\"", super::filters::xml_escape(&t)))
            .unwrap_or_default();
        Ok(format!(
            "<link type=\"application/atom+xml\" rel=\"alternate\" href=\"{href}\"{title} />"
        ))
    });
    let seo = Simple::new("seo", move |args, runtime| {
        super::plugins::seo(args, runtime, &*markdownify)
    });
    let l = lookups.clone();
    let include_relative = Simple::new("include_relative", move |args, runtime| {
        include_relative(&l, args, runtime)
    });
    vec![link, post_url, feed_meta, seo, include_relative]
}

/// `{% link {{ page.x }} %}` arguments may be Liquid themselves.
fn resolve_arg(args: &str, runtime: &dyn Runtime) -> String {
    let args = args.trim().trim_matches(['"', '\'']);
    if let Some(inner) = args.strip_prefix("{{").and_then(|a| a.strip_suffix("}}")) {
        return lookup(runtime, inner.trim()).unwrap_or_default();
    }
    args.to_string()
}

/// `{% include_relative file.md %}`: a file beside the current page,
/// never outside the site folder.
fn include_relative(l: &Lookups, args: &str, runtime: &dyn Runtime) -> Result<String> {
    let name = args
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(['"', '\'']);
    let page_path = lookup(runtime, "page.path").unwrap_or_default();
    let dir = std::path::Path::new(&page_path)
        .parent()
        .unwrap_or(std::path::Path::new(""));
    let rel = dir.join(name);
    let escapes = rel.components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if name.is_empty() || escapes {
        return Err(Error::with_msg(format!(
            "{{% include_relative {name} %}}: must name a file inside the site, beside the page"
        )));
    }
    let full = l.site_root.join(&rel);
    let text = std::fs::read_to_string(&full).map_err(|e| {
        Error::with_msg(format!(
            "{{% include_relative {name} %}}: cannot read {}: {e}",
            rel.display()
        ))
    })?;
    let parser = l
        .parser
        .get()
        .ok_or_else(|| Error::with_msg("include_relative: no parser"))?;
    let template = parser.parse(&super::quote_paths(&text))?;
    // The included file sees the page's variables (copied: the tag is rare).
    let mut globals = liquid_core::Object::new();
    for root in ["site", "page", "layout", "include", "paginator", "jekyll"] {
        if let Some(v) = runtime.try_get(&[ScalarCow::new(root)]) {
            globals.insert(root.into(), v.into_owned());
        }
    }
    template.render(&globals)
}

/// `{% highlight lang [linenos] %}...{% endhighlight %}` as Jekyll writes
/// it (`<figure class="highlight"><pre><code ...>`), coloured by the
/// build's highlighter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Highlight;

impl BlockReflection for Highlight {
    fn start_tag(&self) -> &str {
        "highlight"
    }
    fn end_tag(&self) -> &str {
        "endhighlight"
    }
    fn description(&self) -> &str {
        "highlighted code"
    }
}

impl ParseBlock for Highlight {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        _options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let lang = match arguments
            .expect_next("a language name")?
            .expect_identifier()
        {
            TryMatchToken::Matches(l) => l.to_string(),
            TryMatchToken::Fails(t) => t.as_str().to_string(),
        };
        while arguments.expect_next("").is_ok() {}
        let code = tokens.escape_liquid(false)?.to_owned();
        tokens.assert_empty();
        let code = code.trim_matches(['\n', '\r']).to_string();
        let inner = crate::content::highlight::code_block(&lang, &format!("{code}\n"), true);
        Ok(Box::new(Highlighted(jekyll_figure(&lang, &inner))))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

/// tusk's `<pre><code class="language-x">` in Jekyll's figure.
fn jekyll_figure(lang: &str, block: &str) -> String {
    let inner = block
        .find("<code")
        .and_then(|s| block[s..].find('>').map(|e| s + e + 1))
        .and_then(|start| block.rfind("</code>").map(|end| &block[start..end]))
        .unwrap_or(block);
    format!(
        "<figure class=\"highlight\"><pre><code class=\"language-{lang}\" data-lang=\"{lang}\">{}</code></pre></figure>",
        without_last_newline(inner)
    )
}

/// Jekyll strips the code's final line break before Rouge sees it; the
/// highlighter needs it, and may have put it inside the last token's
/// spans (a line comment's): it is taken out from there.
fn without_last_newline(html: &str) -> String {
    let closing = html.trim_end_matches("</span>");
    let spans = &html[closing.len()..];
    format!("{}{spans}", closing.trim_end_matches('\n'))
}

#[derive(Debug)]
struct Highlighted(String);

impl Renderable for Highlighted {
    fn render_to(&self, writer: &mut dyn Write, _: &dyn Runtime) -> Result<()> {
        writer
            .write_all(self.0.as_bytes())
            .replace("cannot write")?;
        Ok(())
    }
}
