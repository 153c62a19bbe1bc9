//! `tusk cdn plan/apply` routes the paths the build owns to the bucket
//! origin (issue 21, item 3): one ordered cache behaviour per folder wholly
//! the build's and per built key outside those, each a copy of the
//! default behaviour aimed at the bucket, while the default behaviour
//! stays on the origin group. Against tests/common/cloudfront.rs, which
//! keeps `CacheBehaviors` as the API reference shapes them.

mod common;

use common::cloudfront::{cache_behaviors, find, text_at, CloudFront, DIST, SEED};
use common::{Project, Run};

fn run(p: &Project, cf: &CloudFront, args: &[&str]) -> Run {
    p.run_env(args, &cf.env())
}

/// A published site: built pages under `/about/`, `/blog/`, `/css/` and
/// `/docs/intro/`; the snapshot (the origin's copy) has `/docs/api/`, so
/// `/docs/` is shared and only `/docs/intro/` is routed.
fn published(cf: &CloudFront, extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
             [snapshot]\norigin = \"http://127.0.0.1:9\"\n{}",
            cf.cdn_config(extra)
        ),
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    p.write("site/blog/a.md", "---\npermalink: /blog/a/\n---\nA\n");
    p.write("site/blog/b.md", "---\npermalink: /blog/b/\n---\nB\n");
    p.write(
        "site/intro.md",
        "---\npermalink: /docs/intro/\n---\nIntro\n",
    );
    p.write("site/css/site.css", "body{}");
    let snapshot = serde_json::json!({
        "version": 1, "producer": "snapshot", "created": "2026-11-22T00:00:00Z",
        "objects": [{
            "key": "docs/api/index.html", "size": 0,
            "md5": "d41d8cd98f00b204e9800998ecf8427e",
            "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "content_type": "text/html; charset=utf-8", "cache_class": "redirect",
            "redirect": "/docs/"
        }]
    });
    p.write(".tusk/snapshot/docs/api/index.html", "");
    p.write(".tusk/snapshot/.tusk-tree.json", &snapshot.to_string());
    p.run(&["build"]).success();
    p.run(&["publish", "--no-invalidate"]).success();
    p
}

fn changes(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let what = c["what"].as_str().unwrap().to_string();
            (what, c["to"].as_str().unwrap().to_string())
        })
        .collect()
}

/// The patterns for [`published`]'s build, in order: folders, then keys
/// (the theme's fingerprinted favicon among them); `/` is the default's.
fn routed(p: &Project) -> Vec<String> {
    let favicon = std::fs::read_dir(p.path("public"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find(|n| n.starts_with("favicon.") && n != "favicon.svg")
        .expect("the fingerprinted favicon");
    let fav = format!("/{favicon}");
    [
        "/about/*",
        "/blog/*",
        "/css/*",
        "/docs/intro/*",
        "/404.html",
        &fav,
        "/favicon.svg",
        "/feed.xml",
        "/robots.txt",
        "/sitemap.xml",
    ]
    .map(str::to_string)
    .to_vec()
}

#[test]
fn plan_and_apply_route_the_built_paths_to_the_bucket_and_a_second_apply_changes_nothing() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let p = published(&cf, "");

    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    let planned: Vec<(String, String)> = changes(&plan)
        .into_iter()
        .filter(|(what, _)| what.starts_with("cache behaviour \"/"))
        .collect();
    let want: Vec<(String, String)> = routed(&p)
        .iter()
        .map(|p| {
            let what = format!("cache behaviour \"{p}\"");
            (what, "tusk-bucket (built by tusk)".to_string())
        })
        .collect();
    assert_eq!(planned, want, "{plan:#}");
    let notes = plan["notes"].to_string();
    assert!(
        notes.contains("1 built path(s) stay on the origin group"),
        "{notes}"
    );
    assert_eq!(cf.updates(), 0, "plan must not write");
    let text = run(&p, &cf, &["cdn", "plan"]).success().stdout();
    assert!(
        text.contains("+ cache behaviour \"/blog/*\": tusk-bucket"),
        "{text}"
    );

    let applied = run(&p, &cf, &["cdn", "apply", "--json"]).success().result();
    assert_eq!(applied["applied"], true, "{applied:#}");
    let config = cf.config(DIST);
    let doc = roxmltree::Document::parse(&config).unwrap();
    let root = doc.root_element();
    let mut want = vec![("/api/*".to_string(), "web".to_string())];
    want.extend(
        routed(&p)
            .iter()
            .map(|p| (p.to_string(), "tusk-bucket".to_string())),
    );
    assert_eq!(
        cache_behaviors(root),
        want,
        "the team's own behaviour first"
    );
    assert_eq!(
        text_at(root, &["DefaultCacheBehavior", "TargetOriginId"]),
        "tusk-failover",
        "everything else: the origin, the bucket on failure"
    );
    // A route behaves as the default behaviour does (its function, policy).
    let blog = find(root, &["CacheBehaviors", "Items"])
        .unwrap()
        .children()
        .find(|b| text_at(*b, &["PathPattern"]) == "/blog/*")
        .unwrap();
    for path in [
        &["CachePolicyId"][..],
        &["ViewerProtocolPolicy"],
        &[
            "FunctionAssociations",
            "Items",
            "FunctionAssociation",
            "FunctionARN",
        ],
    ] {
        let default: Vec<&str> = ["DefaultCacheBehavior"]
            .into_iter()
            .chain(path.iter().copied())
            .collect();
        assert_eq!(text_at(blog, path), text_at(root, &default), "{path:?}");
    }

    let updates = cf.updates();
    let again = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    assert_eq!(changes(&again), Vec::new(), "{again:#}");
    let again = run(&p, &cf, &["cdn", "apply", "--json"]).success().result();
    assert_eq!(again["applied"], false);
    assert_eq!(cf.updates(), updates, "a second apply writes nothing");
}

#[test]
fn a_route_edited_by_hand_is_drift_and_one_no_longer_built_is_removed() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let p = published(&cf, "");
    run(&p, &cf, &["cdn", "apply"]).success();

    // Someone turns compression off on the /blog/* route in the console.
    let config = cf.config(DIST);
    let doc = roxmltree::Document::parse(&config).unwrap();
    let blog = find(doc.root_element(), &["CacheBehaviors", "Items"])
        .unwrap()
        .children()
        .find(|b| text_at(*b, &["PathPattern"]) == "/blog/*")
        .unwrap()
        .range();
    let edited =
        config[blog.clone()].replace("<Compress>true</Compress>", "<Compress>false</Compress>");
    assert_ne!(edited, config[blog.clone()], "the route had Compress on");
    cf.create(
        DIST,
        &format!("{}{edited}{}", &config[..blog.start], &config[blog.end..]),
    );
    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    assert_eq!(
        changes(&plan),
        [(
            "cache behaviour \"/blog/*\"".to_string(),
            "tusk-bucket, as the default behaviour".to_string()
        )],
        "{plan:#}"
    );
    assert_eq!(plan["changes"][0]["from"], "tusk-bucket (edited)");
    run(&p, &cf, &["cdn", "apply"]).success();
    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    assert_eq!(changes(&plan), Vec::new(), "{plan:#}");

    // The blog is no longer built: its route goes, the rest stay.
    std::fs::remove_dir_all(p.path("site/blog")).unwrap();
    p.run(&["build"]).success();
    p.run(&["publish", "--no-invalidate"]).success();
    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    assert_eq!(
        changes(&plan),
        [(
            "cache behaviour \"/blog/*\"".to_string(),
            "removed (no longer built)".to_string()
        )],
        "{plan:#}"
    );
    run(&p, &cf, &["cdn", "apply"]).success();
    let config = cf.config(DIST);
    let doc = roxmltree::Document::parse(&config).unwrap();
    let patterns: Vec<String> = cache_behaviors(doc.root_element())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(!patterns.contains(&"/blog/*".to_string()), "{patterns:?}");
    assert!(patterns.contains(&"/about/*".to_string()), "{patterns:?}");
}

#[test]
fn over_the_cap_built_paths_stay_on_the_origin_group_and_the_plan_lists_them() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let p = published(&cf, "max_bucket_behaviors = 4\n");
    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    let routed = changes(&plan)
        .into_iter()
        .filter(|(what, _)| what.starts_with("cache behaviour \"/"))
        .count();
    assert_eq!(routed, 4, "{plan:#}");
    let notes = plan["notes"].to_string();
    assert!(
        notes.contains("7 built path(s) stay on the origin group")
            && notes.contains("cdn.max_bucket_behaviors = 4")
            && notes.contains("/sitemap.xml"),
        "{notes}"
    );
    run(&p, &cf, &["cdn", "apply"]).success();
    let doc_text = cf.config(DIST);
    let doc = roxmltree::Document::parse(&doc_text).unwrap();
    assert_eq!(
        cache_behaviors(doc.root_element()).len(),
        5,
        "/api/* and 4 routes"
    );
}

/// Whatever the cap says, apply keeps within CloudFront's default quota
/// of 25 cache behaviours (which the test server enforces as CloudFront
/// does, `TooManyCacheBehaviors`).
#[test]
fn routes_never_exceed_cloudfronts_quota_of_cache_behaviours() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
             [snapshot]\norigin = \"http://127.0.0.1:9\"\n{}",
            cf.cdn_config("max_bucket_behaviors = 40\n")
        ),
    );
    p.write("site/index.md", "---\ntitle: Home\n---\nHome\n");
    for i in 0..30 {
        p.write(
            &format!("site/p{i:02}.md"),
            &format!("---\npermalink: /p{i:02}/\n---\nPage {i}\n"),
        );
    }
    p.run(&["build"]).success();
    p.run(&["publish", "--no-invalidate"]).success();
    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    let notes = plan["notes"].to_string();
    assert!(notes.contains("CloudFront's default quota"), "{notes}");
    run(&p, &cf, &["cdn", "apply"]).success();
    let config = cf.config(DIST);
    let doc = roxmltree::Document::parse(&config).unwrap();
    let behaviours = cache_behaviors(doc.root_element());
    assert_eq!(behaviours.len(), 25, "{behaviours:?}");
    assert_eq!(behaviours[0], ("/api/*".to_string(), "web".to_string()));
}
