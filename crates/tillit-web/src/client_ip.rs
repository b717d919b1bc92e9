//! The client's IP address: the socket peer, unless the peer is a trusted proxy.
//!
//! Only peers inside `TILLIT_TRUSTED_PROXIES` may name the client. A CDN's own client header wins
//! (`X-Plausible-IP`, Cloudflare's `CF-Connecting-IP`, BunnyCDN's `B-Forwarded-For`, in Plausible's
//! order): the CDN sets it, whatever the client sent. Otherwise `Forwarded` or `X-Forwarded-For`
//! is read from the right, skipping trusted hops (and addresses no client has, such as 0.0.0.0),
//! so a client cannot forge its address by sending its own header through a proxy that appends
//! to it.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, header};
use ipnet::IpNet;

/// A list of CIDR ranges whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma- or space-separated CIDR list; a bare address is a /32 or /128.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("not an IP range: {item}"))?;
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Resolves the client address for a request from `peer`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    for name in CDN_HEADERS {
        let first = headers.get(&name).and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next());
        if let Some(ip) = first.and_then(parse_hop).filter(|ip| is_client(*ip)) {
            return ip;
        }
    }
    // Hops are read from the right, lazily: the nearest untrusted one is the answer, and the
    // hot path (one hop from the proxy) allocates nothing.
    let mut forwarded = headers
        .get_all(header::FORWARDED)
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(',').flat_map(|element| element.rsplit(';')))
        .filter_map(|pair| {
            let (k, val) = pair.trim().split_once('=')?;
            if k.trim().eq_ignore_ascii_case("for") { parse_hop(val) } else { None }
        })
        .peekable();
    // `Forwarded` wins when it names any hop; `X-Forwarded-For` is read only without one.
    if forwarded.peek().is_some() {
        return forwarded.find(|ip| !trusted.contains(*ip) && is_client(*ip)).unwrap_or(peer);
    }
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .rev()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','))
        .filter_map(parse_hop)
        .find(|ip| !trusted.contains(*ip) && is_client(*ip))
        .unwrap_or(peer)
}

/// A constant, so lookups do not parse the name on every request.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Headers in which a CDN names the client, in the order Plausible reads them.
const CDN_HEADERS: [HeaderName; 3] = [
    HeaderName::from_static("x-plausible-ip"),
    HeaderName::from_static("cf-connecting-ip"),
    HeaderName::from_static("b-forwarded-for"),
];

/// Whether an address can be a client's: not 0.0.0.0 or `::`, which proxies write for "unknown".
fn is_client(ip: IpAddr) -> bool {
    !ip.is_unspecified()
}

fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    // "[2001:db8::1]:443" or "198.51.100.1:8080"
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    s.rsplit_once(':').and_then(|(host, _)| host.parse().ok()).map(canonical)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn untrusted_peers_cannot_set_the_address() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(resolve(peer, &headers(&[("x-forwarded-for", "1.2.3.4")]), &trusted), peer);
    }

    #[test]
    fn trusted_proxies_are_skipped_from_the_right() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(resolve(peer, &h, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        let h = headers(&[("forwarded", "for=\"[2001:db8::7]:443\";proto=https")]);
        assert_eq!(resolve(peer, &h, &trusted), "2001:db8::7".parse::<IpAddr>().unwrap());
        let junk = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(resolve(peer, &junk, &trusted), peer);
    }

    #[test]
    fn hops_are_read_across_header_lines_and_forwarded_wins_when_it_names_one() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Later lines are nearer hops: the second line's trusted hop is skipped.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(resolve(peer, &h, &trusted), ip("198.51.100.7"));
        // Several elements and parameters; the nearest untrusted `for` is taken.
        let h = headers(&[
            ("forwarded", "for=203.0.113.9;proto=http, for=198.51.100.8"),
            ("forwarded", "by=10.0.0.1;for=10.0.0.3"),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        assert_eq!(resolve(peer, &h, &trusted), ip("198.51.100.8"));
        // Every named hop trusted: the peer, not a fallback to X-Forwarded-For.
        let h = headers(&[("forwarded", "for=10.0.0.4"), ("x-forwarded-for", "192.0.2.1")]);
        assert_eq!(resolve(peer, &h, &trusted), peer);
        // `Forwarded` without a `for`: X-Forwarded-For is read.
        let h = headers(&[("forwarded", "proto=https;by=10.0.0.1"), ("x-forwarded-for", "192.0.2.1")]);
        assert_eq!(resolve(peer, &h, &trusted), ip("192.0.2.1"));
    }

    #[test]
    fn cdn_headers_win_from_trusted_peers_only() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let h = headers(&[("x-forwarded-for", "0.0.0.0"), ("cf-connecting-ip", "216.160.83.56")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("216.160.83.56"));
        assert_eq!(
            resolve(ip("203.0.113.5"), &h, &trusted),
            ip("203.0.113.5"),
            "an untrusted peer's header is ignored"
        );
        let h = headers(&[("b-forwarded-for", "216.160.83.56,9.9.9.9"), ("cf-connecting-ip", "0.0.0.0")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("216.160.83.56"));
        let h = headers(&[("forwarded", "by=0.0.0.0;for=\"[2001:218:1:1:1:1:1:1]\",for=0.0.0.0;proto=https")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("2001:218:1:1:1:1:1:1"), "0.0.0.0 is no client");
    }

    #[test]
    fn bad_lists_are_rejected() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
