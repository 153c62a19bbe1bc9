//! Every command that can touch AWS, run at the most verbose log level
//! (`-vvv` and `TUSK_LOG=trace`, which also turns on the AWS SDK's and
//! hyper's own logs) with a marker as `AWS_SECRET_ACCESS_KEY`: the marker
//! never appears in any output, on success or on failure.

mod common;

use common::cloudfront::{CloudFront, DIST, SEED};
use common::origin::{Origin, Route};
use common::s3::{S3Server, SECRET};
use common::Project;

#[test]
fn the_secret_key_never_appears_in_any_output() {
    let s3 = S3Server::start();
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let origin = Origin::start(vec![("/healthz", Route::html("ok"))], |path| {
        (path == "/")
            .then(|| Route::html("<html><body><a href=\"/about/\">About</a></body></html>"))
    });
    s3.aws(&["s3api", "create-bucket", "--bucket", "site"]);
    let p = Project::new();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"s3://site/live\"\n[publish.s3]\npath_style = true\n\
             [snapshot]\norigin = \"{}\"\n[health]\nurls = [\"/healthz\"]\ninterval_ms = 50\n{}",
            origin.url,
            cf.cdn_config("")
        ),
    );
    p.write("site/about.md", "---\npermalink: /about/\n---\nAbout\n");
    let mut env = s3.env();
    env.push(("TUSK_LOG", "trace".into()));
    env.push(("USER", "ops".into()));

    // (arguments, expected to succeed)
    let commands: &[(&[&str], bool)] = &[
        (&["build"], true),
        (&["check"], true),
        (&["snapshot"], true),
        (&["publish", "--no-invalidate", "--json"], true),
        (&["publish", "--history"], true),
        (&["cdn", "plan"], true),
        (&["cdn", "apply"], true),
        (&["status", "--json"], true),
        (&["failover", "--reason", "drill"], true),
        (&["watch", "--rounds", "3", "--metrics", "off"], true),
        (&["failback"], true),
        // A bucket that does not exist; an edge that is not running.
        (
            &[
                "publish",
                "--target",
                "s3://no-such-bucket/x",
                "--no-invalidate",
            ],
            false,
        ),
        (&["status", "--edge", "http://127.0.0.1:9"], false),
    ];
    for (args, succeeds) in commands {
        let mut full = vec!["-vvv"];
        full.extend_from_slice(args);
        let run = p.run_env(&full, &env);
        let (out, err) = (run.stdout(), run.stderr());
        assert!(
            !out.contains(SECRET) && !err.contains(SECRET),
            "tusk {args:?} printed the secret"
        );
        assert!(
            err.len() > 200,
            "tusk {args:?} logged almost nothing: {err}"
        );
        assert_eq!(run.ok(), *succeeds, "tusk {args:?}: {err}");
        if args[0] == "publish" && *succeeds && args.len() == 3 {
            // The detector is not blind: the trace shows the credentials
            // being loaded and the signed request headers, redacted.
            assert!(
                err.contains("access_key_id: \"testing\"")
                    && err.contains("\"authorization\": ** redacted"),
                "the credentials are not traced at all"
            );
        }
    }
    // CloudFront's error for an unknown distribution, secret-free too.
    let p2 = Project::bare(&format!(
        "[site]\ntitle = \"T\"\nbase_url = \"https://example.test\"\n[publish]\ntarget = \"file://b\"\n[snapshot]\norigin = \"http://127.0.0.1:9\"\n{}",
        cf.cdn_config("distribution_id = \"E404\"\n").replace(&format!("distribution_id = \"{DIST}\"\n"), "")
    ));
    let missing = p2.run_env(&["-vvv", "status"], &env);
    assert!(!missing.ok());
    assert!(
        missing.stderr().contains("NoSuchDistribution"),
        "{}",
        missing.stderr()
    );
    assert!(!missing.stderr().contains(SECRET) && !missing.stdout().contains(SECRET));
}
