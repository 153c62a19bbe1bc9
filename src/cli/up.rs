//! `tusk up`: the whole pipeline on one machine, no cloud account. Build
//! the site, snapshot the origin if it answers, publish both to the
//! configured target (the local bucket by default), then run the edge in
//! front of the origin with that bucket as its fallback.

use std::time::Duration;

use anyhow::Result;

use crate::build::{self, BuildOptions};
use crate::config::Loaded;
use crate::edge::EdgeOptions;
use crate::publish::PublishOptions;
use crate::snapshot::SnapshotOptions;

pub async fn up(loaded: &Loaded, edge: &EdgeOptions, quiet: bool) -> Result<()> {
    let say = |line: String| {
        if !quiet {
            say!("{line}");
        }
    };
    check_port(edge.listen.as_deref().unwrap_or(&loaded.config.edge.listen))?;
    let built = {
        let loaded = loaded.clone();
        tokio::task::spawn_blocking(move || build::build(&loaded, &BuildOptions::default()))
            .await??
    };
    say(format!(
        "build: {} objects ({} pages, {} posts) into {} in {} ms",
        built.objects,
        built.pages,
        built.posts,
        built.output.as_deref().unwrap_or("-"),
        built.duration_ms
    ));

    let origin = edge
        .origin
        .as_deref()
        .or_else(|| loaded.config.origin())
        .map(str::to_string);
    let origin_up = match &origin {
        Some(origin) if answers(origin).await => {
            let opts = SnapshotOptions {
                origin: Some(origin.clone()),
                full: false,
            };
            match crate::snapshot::snapshot(loaded, &opts).await {
                Ok(r) => say(format!(
                    "snapshot: {} pages, {} objects from {origin} ({} unchanged) in {} ms",
                    r.pages, r.objects, r.unchanged, r.duration_ms
                )),
                Err(e) => say(format!(
                    "snapshot: failed ({e:#}); publishing the build and the previous snapshot, if any"
                )),
            }
            true
        }
        Some(origin) => {
            say(format!(
                "snapshot: skipped, the origin {origin} does not answer"
            ));
            false
        }
        None => {
            say("snapshot: skipped, no origin configured (snapshot.origin)".to_string());
            false
        }
    };

    let opts = PublishOptions {
        quiet: true,
        ..PublishOptions::default()
    };
    let published = crate::publish::publish(loaded, &opts).await?;
    say(format!(
        "publish: {} uploaded, {} unchanged, {} deleted to {} in {} ms",
        published.uploads.len(),
        published.unchanged,
        published.deletes.len(),
        published.target,
        published.duration_ms
    ));

    let edge = EdgeOptions {
        origin: origin.clone(),
        ..edge.clone()
    };
    let signal = crate::edge::run(loaded, &edge, |state, addr| {
        let mode = match (state.origin(), origin_up) {
            (None, _) => "no origin: every page comes from the bucket".to_string(),
            (Some(o), true) => format!("origin {o} first, the bucket when it fails"),
            (Some(o), false) => {
                format!("origin {o} is down: pages come from the bucket until it answers")
            }
        };
        say!(
            "edge: http://{addr}/ ({mode}); fallback {}",
            state.fallback()
        );
        say!("      status: tusk status   switch: tusk failover / tusk failback   stop: Ctrl-C");
        if let Some(pin) = state.pinned() {
            super::report::print_restored_pin(&pin);
        }
    })
    .await?;
    super::report::print_edge_stopped(signal);
    Ok(())
}

/// Fail before building and publishing when the edge could not listen
/// (a second `tusk up`); the edge binds the address itself a moment later.
fn check_port(listen: &str) -> Result<()> {
    match std::net::TcpListener::bind(listen) {
        Ok(_) => Ok(()),
        Err(e) => anyhow::bail!(
            "edge: cannot listen on {listen}: {e} (is another `tusk up` or `tusk edge` running? --listen picks another address); nothing was built or published"
        ),
    }
}

/// Whether anything answers HTTP at `origin` within two seconds.
async fn answers(origin: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return false;
    };
    client.get(origin).send().await.is_ok()
}
