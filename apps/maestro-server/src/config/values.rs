//! Parsers of single configuration values (durations, counts, URLs, booleans, tokens), each
//! failing with a [`ConfigError`] that names the variable.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ConfigError;

/// Why a token is too weak, if it is: at least 32 characters, no whitespace or control
/// characters, and enough variety that it is not a repeated pattern (≥ 10 distinct characters
/// and ≥ 96 bits by the character-frequency estimate).
pub fn token_weakness(token: &str) -> Option<&'static str> {
    let n = token.chars().count();
    if n < 32 {
        return Some("must be at least 32 characters");
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain whitespace or control characters");
    }
    let mut counts = std::collections::HashMap::new();
    for c in token.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum();
    if counts.len() < 10 || per_char * (n as f64) < 96.0 {
        return Some("is too predictable (too few distinct characters)");
    }
    None
}

pub(super) fn seconds(
    var: &'static str,
    v: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|s| range.contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            err(
                var,
                format!(
                    "expected {}-{} seconds, got '{v}'",
                    range.start(),
                    range.end()
                ),
            )
        })
}

pub(super) fn count(
    var: &'static str,
    v: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigError> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|s| range.contains(s))
        .ok_or_else(|| {
            err(
                var,
                format!(
                    "expected a number {}-{}, got '{v}'",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// `TRUSTED_PROXIES`: IPs or CIDRs.
pub(super) fn proxies(v: Option<&str>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let mut out = Vec::new();
    for item in v
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let net = item
            .parse::<ipnet::IpNet>()
            .or_else(|_| item.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                err(
                    "TRUSTED_PROXIES",
                    format!("'{item}' is not an IP address or CIDR"),
                )
            })?;
        out.push(net);
    }
    Ok(out)
}

/// The host part of an absolute URL, lower-case.
pub(crate) fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(maestro_http::security::host_name(authority)).filter(|h| !h.is_empty())
}

pub(super) fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

pub(super) fn boolean(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(err(var, format!("expected true or false, got '{other}'"))),
    }
}

/// `~` at the start becomes the home directory.
pub fn expand_home(p: &str, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix('~'), home) {
        (Some(rest), Some(home)) => {
            let rest = rest.trim_start_matches(['/', '\\']);
            if rest.is_empty() {
                home.to_path_buf()
            } else {
                home.join(rest)
            }
        }
        _ => PathBuf::from(p),
    }
}

pub(super) fn url_origin(var: &'static str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| err(var, format!("'{url}' is not an absolute URL")))?;
    if !matches!(scheme, "http" | "https") {
        return Err(err(
            var,
            format!("'{url}' must start with http:// or https://"),
        ));
    }
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(err(var, format!("'{url}' has no host")));
    }
    Ok(format!("{scheme}://{host}"))
}
