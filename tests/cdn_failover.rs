//! `tusk cdn plan/apply`, `tusk status`, `tusk failover` and `tusk failback`
//! against CloudFront's wire protocol: the aws-sdk-cloudfront client talks
//! to tests/common/cloudfront.rs (origin groups, IfMatch) and to moto.

mod common;

use common::cloudfront::{canonical, find, origin, text_at, CloudFront, DIST, SEED};
use common::origin::{Origin, Route};
use common::s3::SECRET;
use common::{Project, Run};

fn project(cf: &CloudFront, origin: &str, extra: &str) -> Project {
    let p = Project::bare(&format!(
        "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n\
         [snapshot]\norigin = \"{origin}\"\n[health]\nurls = [\"/healthz\"]\ntimeout_ms = 500\n{}",
        cf.cdn_config(extra)
    ));
    p.write("site/index.md", "Home\n");
    p
}

fn run(p: &Project, cf: &CloudFront, args: &[&str]) -> Run {
    let run = p.run_env(args, &cf.env());
    assert!(
        !run.stdout().contains(SECRET) && !run.stderr().contains(SECRET),
        "the secret leaked"
    );
    run
}

fn healthy() -> Origin {
    Origin::start(vec![("/healthz", Route::html("ok"))], |_| None)
}

#[test]
fn plan_shows_and_apply_sets_up_the_origin_group_touching_nothing_else() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let up = healthy();
    let p = project(&cf, &up.url, "");

    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    assert_eq!(plan["applied"], false);
    let whats: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        whats,
        [
            "origin web",
            "origin tusk-bucket",
            "origin group tusk-failover",
            "cache behaviour \"*\" target"
        ],
        "{plan:#}"
    );
    assert!(plan["changes"][1]["from"].is_null());
    assert_eq!(plan["changes"][3]["from"], "web");
    assert_eq!(cf.updates(), 0, "plan must not write");
    let text = run(&p, &cf, &["cdn", "plan"]).success().stdout();
    assert!(
        text.contains("4 changes") && text.contains("+ origin tusk-bucket"),
        "{text}"
    );
    assert!(text.contains("tusk cdn apply"), "{text}");

    // Throttling is retried; another writer's change between tusk's read
    // and write makes the write fail (412), and tusk re-reads and re-plans.
    cf.throttle_next(2);
    cf.race_next_update("www.example.org (edited in the console)");
    let applied = run(&p, &cf, &["cdn", "apply", "--json"]).success().result();
    assert_eq!(applied["applied"], true, "{applied:#}");
    assert_eq!(cf.updates(), 1);
    assert_eq!(cf.conflicts(), 1);
    assert_eq!(cf.throttled(), 2);

    let before = roxmltree::Document::parse(SEED).unwrap();
    let after_text = cf.config(DIST);
    let after = roxmltree::Document::parse(&after_text).unwrap();
    let (b, a) = (before.root_element(), after.root_element());
    assert_eq!(
        text_at(a, &["Comment"]),
        "www.example.org (edited in the console)",
        "the other writer's change was kept"
    );
    // What tusk owns.
    let web = origin(a, "web").unwrap();
    assert_eq!(text_at(web, &["ConnectionAttempts"]), "1");
    assert_eq!(text_at(web, &["ConnectionTimeout"]), "2");
    assert_eq!(text_at(web, &["DomainName"]), "127.0.0.1");
    let bucket = origin(a, "tusk-bucket").unwrap();
    assert_eq!(
        text_at(bucket, &["DomainName"]),
        "www-example-org.s3.us-east-1.amazonaws.com"
    );
    assert_eq!(text_at(bucket, &["OriginPath"]), "/site");
    assert!(find(bucket, &["S3OriginConfig"]).is_some());
    let group = find(a, &["OriginGroups", "Items", "OriginGroup"]).unwrap();
    assert_eq!(text_at(group, &["Id"]), "tusk-failover");
    let members: Vec<String> = find(group, &["Members", "Items"])
        .unwrap()
        .children()
        .filter(|c| c.is_element())
        .map(|m| text_at(m, &["OriginId"]))
        .collect();
    assert_eq!(members, ["web", "tusk-bucket"]);
    let codes: Vec<&str> = find(group, &["FailoverCriteria", "StatusCodes", "Items"])
        .unwrap()
        .children()
        .filter_map(|c| c.text())
        .collect();
    assert_eq!(codes, ["500", "502", "503", "504"]);
    assert_eq!(
        text_at(a, &["DefaultCacheBehavior", "TargetOriginId"]),
        "tusk-failover"
    );
    // Everything else, exactly as it was.
    for name in [
        "CallerReference",
        "Aliases",
        "DefaultRootObject",
        "CacheBehaviors",
        "CustomErrorResponses",
        "Logging",
        "PriceClass",
        "Enabled",
        "ViewerCertificate",
        "Restrictions",
        "WebACLId",
        "HttpVersion",
        "IsIPV6Enabled",
    ] {
        assert_eq!(
            find(b, &[name]).map(canonical),
            find(a, &[name]).map(canonical),
            "{name} changed"
        );
    }
    let without = |node: roxmltree::Node<'_, '_>, skip: &[&str]| -> Vec<String> {
        node.children()
            .filter(|c| c.is_element() && !skip.contains(&c.tag_name().name()))
            .map(canonical)
            .collect()
    };
    assert_eq!(
        without(
            find(b, &["DefaultCacheBehavior"]).unwrap(),
            &["TargetOriginId"]
        ),
        without(
            find(a, &["DefaultCacheBehavior"]).unwrap(),
            &["TargetOriginId"]
        )
    );
    assert_eq!(
        find(origin(b, "web").unwrap(), &["CustomHeaders"]).map(canonical),
        find(web, &["CustomHeaders"]).map(canonical),
        "the origin's own header is kept"
    );
    assert_eq!(
        find(
            origin(b, "web").unwrap(),
            &["CustomOriginConfig", "OriginSslProtocols"]
        )
        .map(canonical),
        find(web, &["CustomOriginConfig", "OriginSslProtocols"]).map(canonical)
    );

    // Applied: nothing left to do.
    let again = run(&p, &cf, &["cdn", "apply", "--json"]).success().result();
    assert_eq!(again["changes"].as_array().unwrap().len(), 0, "{again:#}");
    assert_eq!(again["applied"], false);
    assert_eq!(cf.updates(), 1);
}

#[test]
fn behaviours_that_accept_writes_cannot_be_routed_through_the_group() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let p = project(
        &cf,
        "http://127.0.0.1:9",
        "behaviors = [\"*\", \"/api/*\"]\n",
    );
    let r = run(&p, &cf, &["cdn", "apply"]);
    assert_eq!(r.code(), Some(1));
    assert!(
        r.stderr()
            .contains("\"/api/*\" allows DELETE, POST, PUT, PATCH")
            && r.stderr().contains("only GET, HEAD and OPTIONS"),
        "{}",
        r.stderr()
    );
    let p = project(&cf, "http://127.0.0.1:9", "behaviors = [\"/blog/*\"]\n");
    let r = run(&p, &cf, &["cdn", "plan"]);
    assert_eq!(r.code(), Some(1));
    assert!(
        r.stderr()
            .contains("no cache behaviour with that path pattern"),
        "{}",
        r.stderr()
    );
    assert_eq!(cf.updates(), 0);
}

#[test]
fn failover_pins_the_bucket_until_failback_and_every_switch_is_audited() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let up = healthy();
    let p = project(&cf, &up.url, "");
    run(&p, &cf, &["cdn", "apply"]).success();

    let status = run(&p, &cf, &["status", "--json"]).success().result();
    assert_eq!(status["provider"], "cloudfront");
    assert_eq!(status["route"], "origin-group");
    assert_eq!(status["pinned"], false);
    assert_eq!(status["health"]["now"]["ok"], true, "{status:#}");
    assert!(matches!(
        status["deployment"]["status"].as_str(),
        Some("InProgress" | "Deployed")
    ));
    std::thread::sleep(std::time::Duration::from_millis(600));
    let text = run(&p, &cf, &["status"]).success().stdout();
    assert!(text.contains("Route:    origin group"), "{text}");
    assert!(
        text.contains(&format!("CloudFront {DIST} Deployed")),
        "{text}"
    );

    let out = run(
        &p,
        &cf,
        &["failover", "--reason", "game day drill", "--json"],
    )
    .success()
    .result();
    assert_eq!(out["changed"], true, "{out:#}");
    assert_eq!(out["before"], "origin-group");
    assert_eq!(out["status"]["route"], "bucket");
    assert_eq!(out["status"]["pinned"], true);
    assert_eq!(out["status"]["deployment"]["status"], "InProgress");
    let sw = &out["status"]["last_switch"];
    assert_eq!(sw["reason"], "game day drill");
    assert_eq!(sw["from"], "origin-group");
    assert_eq!(sw["to"], "bucket (pinned)");
    assert!(
        sw["actor"]
            .as_str()
            .unwrap()
            .starts_with("manual (ops-alice@"),
        "{sw}"
    );
    let config = cf.config(DIST);
    let doc = roxmltree::Document::parse(&config).unwrap();
    assert_eq!(
        text_at(
            doc.root_element(),
            &["DefaultCacheBehavior", "TargetOriginId"]
        ),
        "tusk-bucket"
    );
    assert_eq!(
        text_at(
            doc.root_element(),
            &["CacheBehaviors", "Items", "CacheBehavior", "TargetOriginId"]
        ),
        "web",
        "a behaviour tusk does not route stays put"
    );
    assert!(
        config.contains("<HeaderName>X-Tusk-Pinned</HeaderName><HeaderValue>bucket</HeaderValue>")
    );

    // Idempotent: already there, exit 0, nothing written.
    let updates = cf.updates();
    let again = run(&p, &cf, &["failover"]).success().stdout();
    assert!(again.contains("Already failed over"), "{again}");
    assert_eq!(cf.updates(), updates);
    // apply leaves a failover alone.
    let plan = run(&p, &cf, &["cdn", "plan", "--json"]).success().result();
    assert_eq!(plan["changes"].as_array().unwrap().len(), 0, "{plan:#}");
    assert!(plan["notes"][0].as_str().unwrap().contains("tusk failback"));

    let back = run(&p, &cf, &["failback", "--json"]).success().result();
    assert_eq!(back["changed"], true);
    assert_eq!(back["status"]["route"], "origin-group");
    assert_eq!(back["status"]["pinned"], false);
    assert!(!cf.config(DIST).contains("X-Tusk-Pinned"));
    let again = run(&p, &cf, &["failback"]).success().stdout();
    assert!(again.contains("Already failed back"), "{again}");

    // The audit log in the state location beside the bucket: one record per switch.
    let dir = p.path("bucket-tusk-state/.tusk/cdn/switches");
    let mut records: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    records.sort_by_key(|r| r["at"].as_str().unwrap().to_string());
    let tos: Vec<&str> = records.iter().map(|r| r["to"].as_str().unwrap()).collect();
    assert_eq!(tos, ["bucket (pinned)", "origin-group"]);
    assert_eq!(records[0]["distribution"], DIST);

    // The stale-ETag rule protects manual switches too.
    cf.race_next_update("edited meanwhile");
    run(&p, &cf, &["failover"]).success();
    assert!(cf
        .config(DIST)
        .contains("<Comment>edited meanwhile</Comment>"));
    assert_eq!(
        run(&p, &cf, &["status", "--json"]).success().result()["route"],
        "bucket"
    );
}

#[test]
fn switching_a_distribution_that_was_never_applied_says_what_to_run() {
    let cf = CloudFront::start();
    cf.create(DIST, SEED);
    let p = project(&cf, "http://127.0.0.1:9", "");
    let r = run(&p, &cf, &["failover"]);
    assert_eq!(r.code(), Some(1));
    assert!(
        r.stderr().contains("run `tusk cdn apply` first"),
        "{}",
        r.stderr()
    );
    let status = run(&p, &cf, &["status", "--json"]).success().result();
    assert_eq!(
        status["route"], "origin",
        "straight to the origin, no group yet"
    );
    assert_eq!(status["health"]["now"]["ok"], false);
    assert_eq!(cf.updates(), 0);
}

/// moto models distributions too, but (5.1.22) writes Python booleans
/// (`True`) into DistributionConfig XML, which the API reference and the
/// SDK do not accept. Whatever moto answers, tusk either reads it or fails
/// with the operation, the distribution and the cause: no raw body, no
/// secret, nothing written.
#[test]
fn a_third_party_cloudfront_answer_is_read_or_refused_cleanly() {
    let server = common::s3::S3Server::start();
    let p = Project::bare("[site]\ntitle = \"T\"\n");
    p.write(
        "dc.json",
        r#"{"CallerReference": "site-1", "Comment": "www", "Enabled": true,
            "Origins": {"Quantity": 1, "Items": [{"Id": "web", "DomainName": "origin.example.org",
              "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "web", "ViewerProtocolPolicy": "redirect-to-https",
              "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}"#,
    );
    let config = format!("file://{}", p.path("dc.json").display());
    let created = server.aws(&[
        "cloudfront",
        "create-distribution",
        "--distribution-config",
        &config,
    ]);
    let id = created["Distribution"]["Id"].as_str().unwrap().to_string();
    p.write(
        "config/tusk.toml",
        &format!(
            "[site]\ntitle = \"T\"\n[publish]\ntarget = \"file://bucket\"\n[snapshot]\norigin = \"https://origin.example.org\"\n\
             [cdn]\nprovider = \"cloudfront\"\ndistribution_id = \"{id}\"\nendpoint = \"{}\"\norigin_id = \"web\"\n\
             bucket_domain = \"b.s3.us-east-1.amazonaws.com\"\n",
            server.endpoint
        ),
    );
    let r = p.run_env(&["cdn", "plan", "--json"], &server.env());
    assert!(!r.stdout().contains(SECRET) && !r.stderr().contains(SECRET));
    if r.ok() {
        let whats: Vec<String> = r.result()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["what"].as_str().unwrap().to_string())
            .collect();
        assert!(
            whats.contains(&"origin group tusk-failover".to_string()),
            "{whats:?}"
        );
    } else {
        let err = r.stderr();
        assert!(
            err.contains(&format!(
                "GetDistributionConfig on CloudFront distribution {id} failed"
            )),
            "{err}"
        );
        assert!(
            !err.contains("SdkBody") && !err.contains("<DistributionConfig"),
            "{err}"
        );
    }
    let after = server.aws(&["cloudfront", "get-distribution-config", "--id", &id]);
    assert_eq!(
        after["DistributionConfig"]["DefaultCacheBehavior"]["TargetOriginId"],
        "web"
    );
}
