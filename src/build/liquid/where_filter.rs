//! Jekyll's `where` filter (`list | where: "property", value`) as
//! `Jekyll::Filters#where` behaves: the value is compared as text with
//! the property, or with each item of a list property (`where: "tags",
//! "rust"`); a nil value keeps the items without the property. Jekyll
//! caches its results; here the site's own lists (`site.pages`,
//! `site.posts`, the collections, `site.data.*`), which stay the same for
//! a whole build, get an index per property the first time one is
//! filtered. minima's header runs `site.pages | where: "path", p` for
//! every header page of every page: without the index that work grows
//! with the cube of the site (the pagination pages are in `site.pages`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use liquid_core::model::{Value, ValueView};
use liquid_core::Pick;

use super::filters::Jekyll;

/// The lists that stay the same through a build, and their indexes.
#[derive(Default)]
pub struct Indexes {
    /// Where the site's own lists live, set once `site` is final.
    stable: OnceLock<HashSet<usize>>,
    /// By (list, property).
    built: Mutex<HashMap<(usize, String), Arc<Index>>>,
}

/// Positions of a list's items by the text of a property.
#[derive(Default)]
struct Index {
    by_text: HashMap<String, Vec<usize>>,
    /// Items without the property, or with nil.
    nil: Vec<usize>,
}

impl Indexes {
    /// Record the lists one and two levels under `site` (`site.pages`,
    /// `site.data.team`, `site.tags.x`). `site` must not change after.
    pub fn pin(&self, site: &Value) {
        let mut stable = HashSet::new();
        for (_, v) in site.as_object().into_iter().flat_map(|o| o.iter()) {
            note(v, &mut stable);
            for (_, w) in v.as_object().into_iter().flat_map(|o| o.iter()) {
                note(w, &mut stable);
            }
        }
        let _ = self.stable.set(stable);
    }

    /// The index of `list` by `property`, when `list` is one of the
    /// site's own (None: filter it item by item).
    fn of(&self, list: &dyn ValueView, property: &str) -> Option<Arc<Index>> {
        let at = address(list);
        if !self.stable.get()?.contains(&at) {
            return None;
        }
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        let index = built
            .entry((at, property.to_string()))
            .or_insert_with(|| Arc::new(Index::new(list, property)));
        Some(index.clone())
    }
}

impl Index {
    fn new(list: &dyn ValueView, property: &str) -> Index {
        let mut index = Index::default();
        for (i, item) in items(list).enumerate() {
            match texts(item, property) {
                None => index.nil.push(i),
                Some(mut seen) => {
                    seen.sort();
                    seen.dedup();
                    for text in seen {
                        index.by_text.entry(text).or_default().push(i);
                    }
                }
            }
        }
        index
    }
}

fn address(v: &dyn ValueView) -> usize {
    v as *const dyn ValueView as *const () as usize
}

fn note(v: &dyn ValueView, into: &mut HashSet<usize>) {
    if v.as_array().is_some() {
        into.insert(address(v));
    }
}

/// A list's items; a hash's values, as Jekyll filters them.
fn items(list: &dyn ValueView) -> Box<dyn Iterator<Item = &dyn ValueView> + '_> {
    if let Some(a) = list.as_array() {
        Box::new(a.values())
    } else if let Some(o) = list.as_object() {
        Box::new(o.values())
    } else {
        Box::new(std::iter::empty())
    }
}

/// The texts an item's property compares as (Ruby's `to_s` of it, or of
/// each of its items); None when it has no property or nil.
fn texts(item: &dyn ValueView, property: &str) -> Option<Vec<String>> {
    let value = item.as_object()?.get(property).filter(|v| !v.is_nil())?;
    Some(match value.as_array() {
        Some(a) => a
            .values()
            .filter(|v| v.as_scalar().is_some())
            .map(|v| v.to_kstr().to_string())
            .collect(),
        None if value.as_scalar().is_some() => vec![value.to_kstr().to_string()],
        None => Vec::new(),
    })
}

/// The `where` filter, with the indexes of one build; `where: ... |
/// first` (and `last`) copies only the item it keeps.
pub fn filter(indexes: Arc<Indexes>) -> Jekyll {
    let picking = indexes.clone();
    Jekyll::new("where", move |input, args| {
        Ok(kept(&indexes, input, args, None).unwrap_or_else(|| input.to_value()))
    })
    .picking(move |input, args, pick| kept(&picking, input, args, Some(pick)))
}

/// What `where` keeps of `input` (None: all of it, unchanged), or with
/// `pick`, only its first or last item (nil when it keeps none).
fn kept(
    indexes: &Indexes,
    input: &dyn ValueView,
    args: &[Value],
    pick: Option<Pick>,
) -> Option<Value> {
    let (Some(property), target) = (args.first().filter(|p| !p.is_nil()), args.get(1)) else {
        return None;
    };
    // Jekyll: a list or a hash as the value filters nothing.
    let target = target.filter(|t| !t.is_nil());
    if target.is_some_and(|t| t.as_array().is_some() || t.as_object().is_some())
        || (input.as_array().is_none() && input.as_object().is_none())
    {
        return None;
    }
    let property = property.to_kstr().to_string();
    let target = target.map(|t| t.to_kstr().to_string());
    if let Some(index) = indexes.of(input, &property) {
        let found = match &target {
            Some(t) => index.by_text.get(t).map_or(&[][..], Vec::as_slice),
            None => &index.nil,
        };
        // Indexed lists are arrays (see `note`).
        let list = input.as_array().expect("an indexed list is an array");
        let item = |i: &usize| list.get(*i as i64).map(|v| v.to_value());
        return Some(match pick {
            Some(Pick::First) => found.first().and_then(item).unwrap_or(Value::Nil),
            Some(Pick::Last) => found.last().and_then(item).unwrap_or(Value::Nil),
            None => Value::Array(found.iter().filter_map(item).collect()),
        });
    }
    let mut matching = items(input).filter(|item| match (texts(*item, &property), &target) {
        (None, None) => true,
        (Some(seen), Some(t)) => seen.contains(t),
        _ => false,
    });
    Some(match pick {
        Some(Pick::First) => matching.next().map_or(Value::Nil, |v| v.to_value()),
        Some(Pick::Last) => matching.last().map_or(Value::Nil, |v| v.to_value()),
        None => Value::Array(matching.map(|v| v.to_value()).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, site: &Value, indexes: &Arc<Indexes>) -> String {
        let parser = liquid::ParserBuilder::with_stdlib()
            .filter(filter(indexes.clone()))
            .build()
            .unwrap();
        // `site` as the renderer passes it: borrowed, at a pinned address.
        let mut vars = liquid::Object::new();
        vars.insert("site".into(), site.clone());
        let t = parser.parse(template).unwrap();
        indexes.pin(vars.get("site").unwrap());
        t.render(&vars).unwrap()
    }

    fn site() -> Value {
        liquid::model::to_value(&serde_json::json!({"pages": [
            {"n": 1, "path": "a.md", "tags": ["x", "y"]},
            {"n": 2, "path": "b.md", "tags": ["y"], "num": 3},
            {"n": 3, "path": "c.md", "tags": "x", "layout": null},
            {"n": 4, "tags": [1, "x"]}
        ]}))
        .unwrap()
    }

    #[test]
    fn where_compares_as_jekyll_does_indexed_or_not() {
        let cases = [
            (r#"site.pages | where: "path", "b.md""#, "2"),
            (r#"site.pages | where: "tags", "x""#, "1,3,4"),
            (r#"site.pages | where: "tags", "1""#, "4"),
            (r#"site.pages | where: "num", 3"#, "2"),
            (r#"site.pages | where: "path", nil"#, "4"),
            (r#"site.pages | where: "layout", nil"#, "1,2,3,4"),
            (r#"site.pages | where: "path", "none""#, ""),
        ];
        for (expr, want) in cases {
            let indexed = Arc::new(Indexes::default());
            let t = format!("{{{{ {expr} | map: \"n\" | join: \",\" }}}}");
            assert_eq!(render(&t, &site(), &indexed), want, "{expr}");
            // The same through a copy the index does not know.
            let t = format!(
                "{{% assign copy = site.pages | slice: 0, 9 %}}{{{{ {} | map: \"n\" | join: \",\" }}}}",
                expr.replace("site.pages", "copy")
            );
            assert_eq!(render(&t, &site(), &indexed), want, "{expr} (not indexed)");
        }
        // `first` and `last` after `where` pick the same items as they do
        // on its whole result, indexed or not.
        for (list, prefix) in [
            ("site.pages", ""),
            ("copy", "{% assign copy = site.pages | slice: 0, 9 %}"),
        ] {
            let t = format!(
                "{prefix}{{% assign f = {list} | where: \"tags\", \"x\" | first %}}\
                 {{% assign l = {list} | where: \"tags\", \"x\" | last %}}\
                 {{% assign n = {list} | where: \"path\", \"none\" | first %}}\
                 {{% assign y = {list} | where: \"tags\", \"y\" | first %}}\
                 {{{{ f.n }}}},{{{{ l.n }}}},{{% if n == nil %}}nil{{% endif %}},{{{{ y.path }}}}"
            );
            let indexed = Arc::new(Indexes::default());
            assert_eq!(render(&t, &site(), &indexed), "1,4,nil,a.md", "{list}");
        }
        let indexed = Arc::new(Indexes::default());
        render(
            r#"{{ site.pages | where: "path", "a.md" | size }}"#,
            &site(),
            &indexed,
        );
        assert_eq!(
            indexed.built.lock().unwrap().len(),
            1,
            "site.pages was indexed"
        );
    }
}
