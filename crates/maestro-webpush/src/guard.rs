//! Push endpoints are URLs a client chose: the server must not be made to call its own
//! network (SSRF). Only `https` endpoints whose addresses are public are reached, unless their
//! origin is allow-listed (`PUSH_ENDPOINT_ALLOWLIST`, for tests and private push services).
//!
//! Checked twice: the URL when a subscription is made ([`EndpointPolicy::check`]), and every
//! address a host name resolves to when a push is sent ([`GuardedResolver`], the HTTP client's
//! only resolver, so the address checked is the address connected to). Redirects are not
//! followed and no proxy is used.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::WebPushError;

/// Which endpoints may be reached.
#[derive(Debug, Clone, Default)]
pub struct EndpointPolicy {
    /// Allow-listed origins, `scheme://host:port` (default ports made explicit).
    allowed: HashSet<String>,
    /// Their hosts: names the resolver lets resolve to any address.
    allowed_hosts: HashSet<String>,
}

impl EndpointPolicy {
    /// A policy that also allows `origins` (e.g. `http://127.0.0.1:9000`). An origin that is
    /// not a URL is an error.
    pub fn with_allowlist<'a>(
        origins: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, WebPushError> {
        let mut policy = Self::default();
        for o in origins.into_iter().map(str::trim).filter(|o| !o.is_empty()) {
            let url = Url::parse(o).map_err(|_| WebPushError::Allowlist(o.to_string()))?;
            let origin = origin_of(&url).ok_or_else(|| WebPushError::Allowlist(o.to_string()))?;
            if let Some(host) = url.host_str() {
                policy
                    .allowed_hosts
                    .insert(host.trim_matches(['[', ']']).to_ascii_lowercase());
            }
            policy.allowed.insert(origin);
        }
        Ok(policy)
    }

    /// The parsed endpoint, or why it may not be reached.
    pub fn check(&self, endpoint: &str) -> Result<Url, WebPushError> {
        let refuse = |why: &str| WebPushError::Endpoint(why.to_string());
        let url = Url::parse(endpoint).map_err(|_| refuse("endpoint must be an absolute URL"))?;
        let origin = origin_of(&url).ok_or_else(|| refuse("endpoint must have a host"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("endpoint must not carry credentials"));
        }
        if self.allowed.contains(&origin) {
            return Ok(url);
        }
        if url.scheme() != "https" {
            return Err(refuse("endpoint must be an https URL"));
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(refuse(
                "endpoint must not be a loopback, private or link-local address",
            )),
            Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(refuse(
                "endpoint must not be a loopback, private or link-local address",
            )),
            Some(url::Host::Domain(d)) if is_local_name(d) => Err(refuse(
                "endpoint must not name this machine or a local network",
            )),
            _ => Ok(url),
        }
    }

    /// The resolver the HTTP client must use with this policy.
    pub fn resolver(&self) -> GuardedResolver {
        GuardedResolver {
            allowed_hosts: self.allowed_hosts.clone(),
        }
    }
}

/// `scheme://host:port` of a URL, the port made explicit.
fn origin_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!(
        "{}://{}:{port}",
        url.scheme(),
        host.to_ascii_lowercase()
    ))
}

fn is_local_name(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n == "localhost"
        || n.ends_with(".localhost")
        || n.ends_with(".local")
        || n.ends_with(".internal")
        || n.ends_with(".home.arpa")
        || !n.contains('.')
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared (CGNAT),
/// unspecified, multicast, broadcast, documentation, benchmarking or reserved; an IPv6 address
/// that embeds an IPv4 one (mapped, NAT64, 6to4) is judged by that.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// The HTTP client's resolver: a name resolves to its public addresses only (any address for
/// an allow-listed host); a name with none is an error, so nothing is connected to.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    allowed_hosts: HashSet<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let any = self.allowed_hosts.contains(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| any || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(WebPushError::Endpoint(format!(
                    "{host} resolves to no public address"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_endpoints_pass() {
        let p = EndpointPolicy::default();
        assert!(p.check("https://fcm.googleapis.com/fcm/send/abc").is_ok());
        assert!(p.check("https://8.8.8.8/x").is_ok());
        for bad in [
            "http://fcm.googleapis.com/x",
            "https://localhost/x",
            "https://push.localhost/x",
            "https://printer.local/x",
            "https://intranet/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[fe80::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[64:ff9b::a00:1]/x",
            "https://[2002:c0a8:101::1]/x",
            "https://user:pw@push.example.com/x",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(p.check(bad).is_err(), "{bad} passed");
        }
    }

    #[test]
    fn an_allowlisted_origin_passes_with_its_exact_port() {
        let p = EndpointPolicy::with_allowlist(["http://127.0.0.1:9000", " "]).unwrap();
        assert!(p.check("http://127.0.0.1:9000/push/1").is_ok());
        assert!(p.check("http://127.0.0.1:9001/push/1").is_err());
        assert!(p.check("https://127.0.0.1:9000/push/1").is_err());
        assert!(EndpointPolicy::with_allowlist(["nonsense"]).is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        let r = EndpointPolicy::default().resolver();
        let name: Name = "localhost".parse().unwrap();
        assert!(r.resolve(name).await.is_err());
        let allowed = EndpointPolicy::with_allowlist(["http://localhost:9000"])
            .unwrap()
            .resolver();
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = allowed.resolve(name).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
