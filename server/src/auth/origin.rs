//! Browsers send `Origin` with every cross-site request, a page on
//! `evil.example` included. A WebSocket upgrade or a state-changing request
//! whose origin is not this server's own (or listed) is refused, whether
//! sign-in is on or off. Programs send no `Origin`; they still need
//! credentials.

use axum::http::{header, HeaderMap, Method};

/// Which browser origins may make requests.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    /// `HITL_PUBLIC_URL`'s origin and `HITL_ALLOWED_ORIGINS`.
    listed: Vec<String>,
    /// With sign-in off, only a loopback `Host` counts as this server: a
    /// page whose name was made to resolve to 127.0.0.1 (DNS rebinding)
    /// would otherwise pass. With sign-in on such a page has no cookie.
    loopback_only: bool,
}

impl OriginPolicy {
    pub fn new(public_url: Option<&str>, allowed: &[String], auth_enabled: bool) -> Self {
        let mut listed: Vec<String> = allowed.iter().map(|o| o.to_ascii_lowercase()).collect();
        if let Some(url) = public_url {
            listed.push(origin_of(url).to_ascii_lowercase());
        }
        Self {
            listed,
            loopback_only: !auth_enabled,
        }
    }

    /// Whether a request must pass the check: anything but a read, and
    /// the WebSocket upgrade (a GET that opens a channel both ways).
    pub fn applies(method: &Method, headers: &HeaderMap) -> bool {
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        !safe || headers.contains_key(header::UPGRADE)
    }

    /// `true` if the request carries no `Origin` or an allowed one.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim().to_ascii_lowercase();
        if self.listed.contains(&origin) {
            return true;
        }
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|rest| rest == host);
        same && (!self.loopback_only || is_loopback_host(&host))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        // `[::1]:3000`, `127.0.0.1:3000`, `localhost:3000`
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        h
    }

    #[test]
    fn own_origin_and_programs_pass_foreign_pages_do_not() {
        let policy = OriginPolicy::new(None, &[], true);
        assert!(policy.allows(&headers(None, "127.0.0.1:3000")));
        assert!(policy.allows(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")));
        assert!(!policy.allows(&headers(Some("http://evil.example"), "127.0.0.1:3000")));
        assert!(!policy.allows(&headers(Some("http://127.0.0.1:3001"), "127.0.0.1:3000")));
        assert!(!policy.allows(&headers(Some("null"), "127.0.0.1:3000")));
        // Signed in, a rebound name is its own origin but has no cookie.
        assert!(policy.allows(&headers(
            Some("http://evil.example:3000"),
            "evil.example:3000"
        )));
    }

    #[test]
    fn with_sign_in_off_only_loopback_names_are_this_server() {
        let policy = OriginPolicy::new(None, &[], false);
        assert!(policy.allows(&headers(Some("http://localhost:3000"), "localhost:3000")));
        assert!(policy.allows(&headers(Some("http://[::1]:3000"), "[::1]:3000")));
        assert!(!policy.allows(&headers(
            Some("http://evil.example:3000"),
            "evil.example:3000"
        )));
    }

    #[test]
    fn listed_and_public_origins_pass() {
        let allowed = vec!["https://tools.example".to_owned()];
        let policy = OriginPolicy::new(Some("https://Console.example/app"), &allowed, true);
        assert!(policy.allows(&headers(Some("https://console.example"), "10.0.0.5:3000")));
        assert!(policy.allows(&headers(Some("https://tools.example"), "10.0.0.5:3000")));
        assert!(!policy.allows(&headers(Some("https://other.example"), "10.0.0.5:3000")));
        assert_eq!(
            origin_of("https://a.example:8443/x/y"),
            "https://a.example:8443"
        );
    }

    #[test]
    fn reads_are_not_checked_but_upgrades_and_writes_are() {
        let mut h = HeaderMap::new();
        assert!(!OriginPolicy::applies(&Method::GET, &h));
        assert!(OriginPolicy::applies(&Method::POST, &h));
        assert!(OriginPolicy::applies(&Method::DELETE, &h));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(OriginPolicy::applies(&Method::GET, &h));
    }
}
