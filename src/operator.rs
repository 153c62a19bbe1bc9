//! Who runs this command, as `user@host`: recorded with every manual
//! switch (the CDN's audit log, the edge's pin) and shown by `tusk status`,
//! so an incident's timeline says who moved the traffic.

/// `user@host` from `$USER` (`$LOGNAME`, `$USERNAME`) and the host name.
pub fn user_at_host() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{}", host())
}

/// The machine's name: `/etc/hostname`, else `$HOSTNAME`, else `localhost`.
pub fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}
