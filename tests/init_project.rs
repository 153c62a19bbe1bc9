//! `tusk init`: a new project that builds, serves and publishes to the
//! local bucket at once; refusing a folder with files in it; and the first
//! steps of a site made by hand (no config: a hint; no home page: one made).

mod common;
use common::edge::Http;
use common::serve::Serve;
use common::Project;

/// An empty temporary project folder (no config yet).
fn empty() -> Project {
    Project {
        dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn init_makes_a_project_that_builds_serves_and_publishes() {
    let p = empty();
    // `tusk init DIR`, DIR made when missing.
    let dir = p.path("my-site");
    let run = common::Run(common::tusk().arg("init").arg(&dir).output().unwrap()).success();
    let out = run.stdout();
    assert!(out.contains("Next:"), "{out}");
    assert!(out.contains(&format!("cd {}", dir.display())), "{out}");
    assert!(out.contains("tusk serve"), "{out}");
    assert!(out.contains("site.base_url"), "{out}");
    let tusk = |args: &[&str]| {
        common::Run(
            common::tusk()
                .arg("--root")
                .arg(&dir)
                .args(args)
                .env_remove("TUSK_ENV")
                .output()
                .unwrap(),
        )
    };
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();

    // The config says base_url must be set, and leaves it unset.
    let config = read("config/tusk.toml");
    assert!(config.contains("# base_url = "), "{config}");
    assert!(
        config.contains("BEFORE PUBLISHING TO PRODUCTION"),
        "{config}"
    );
    assert!(read("site/_data/navigation.yml").contains("url: /about/"));

    // The CI tour's `--env production` finds the overlay init wrote.
    assert!(read("config/production.toml").contains("# base_url = "));
    tusk(&["--env", "production", "build"]).success();

    let built = tusk(&["build"]).success();
    assert!(
        built.stderr().contains("site.base_url is not set"),
        "{}",
        built.stderr()
    );
    let home = read("public/index.html");
    assert!(
        home.contains("Welcome to tusk"),
        "the post is on the home page"
    );
    assert!(home.contains("href=\"/about/\""), "the menu: {home}");
    assert!(dir.join("public/about/index.html").is_file());
    tusk(&["check"]).success();
    let listed = tusk(&["list"]).success().stdout();
    assert_eq!(
        listed.lines().count(),
        5,
        "home, about, archive, 404, the post:\n{listed}"
    );

    let published = tusk(&["publish"]).success().stdout();
    assert!(published.contains("Published to file://"), "{published}");
    assert!(
        bucket_has(&dir.join(".tusk/bucket"), "about"),
        "the pages are in the local bucket"
    );

    // Serves at once (the helper runs `tusk serve` on a Project).
    let moved = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    for rel in ["config", "site"] {
        std::fs::rename(dir.join(rel), moved.path(rel)).unwrap();
    }
    let serve = Serve::start(&moved, &[]);
    let page = Http::new().get(&format!("{}/about/", serve.url), &[]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("site/about.md"), "{}", page.text());
}

/// Whether an entry named `name` is anywhere under `dir`.
fn bucket_has(dir: &std::path::Path, name: &str) -> bool {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .any(|e| e.file_name() == name)
}

#[test]
fn init_refuses_a_folder_with_files_unless_forced_and_never_overwrites() {
    let p = empty();
    p.write("notes.txt", "mine");
    // A hidden entry alone (a fresh `git init`) does not count.
    p.write(".git/HEAD", "ref: refs/heads/main\n");
    let refused = p.run(&["init"]);
    assert_eq!(refused.code(), Some(1));
    assert!(
        refused
            .stderr()
            .contains("is not empty (it holds notes.txt)")
            && refused.stderr().contains("--force"),
        "{}",
        refused.stderr()
    );
    assert!(!p.path("config").exists(), "nothing written");

    p.write("config/tusk.toml", "[site]\ntitle = \"Mine\"\n");
    let forced = p.run(&["init", "--force"]).success();
    assert!(
        forced.stdout().contains("config/tusk.toml (exists, kept)"),
        "{}",
        forced.stdout()
    );
    assert_eq!(p.read("config/tusk.toml"), "[site]\ntitle = \"Mine\"\n");
    assert_eq!(p.read("notes.txt"), "mine");
    assert!(p.path("site/index.md").is_file());

    let only_git = empty();
    only_git.write(".git/HEAD", "ref: refs/heads/main\n");
    only_git.run(&["init"]).success();
    assert!(only_git.path("config/tusk.toml").is_file());
}

#[test]
fn a_folder_without_config_suggests_init() {
    let p = empty();
    let run = p.run(&["build"]);
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("config/tusk.toml not found") && run.stderr().contains("`tusk init`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_first_post_of_a_site_without_home_page_builds() {
    // The default theme links to `/` from every page; a site with only a
    // config and one post used to fail on that link.
    let p = Project::bare("[site]\ntitle = \"Fresh\"\nbase_url = \"https://fresh.test\"\n");
    p.run(&["new", "post", "Hello world", "--date", "2026-12-01"])
        .success();
    p.run(&["build"]).success();
    let home = p.read("public/index.html");
    assert!(
        home.contains("href=\"/2026/12/01/hello-world.html\""),
        "the home page lists the post: {home}"
    );
    // A home page of the site's own wins over the made one.
    p.write("site/index.md", "---\ntitle: Mine\n---\nMy home.\n");
    p.run(&["build"]).success();
    assert!(p.read("public/index.html").contains("My home."));
}
