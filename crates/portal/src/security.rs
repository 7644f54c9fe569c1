//! What every answer carries for the browser's protection, and whose
//! address a request is.

use std::net::{IpAddr, SocketAddr};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

/// Scripts, styles and images from the portal itself only; no frames, no
/// plugins, forms posted to the portal only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every answer.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The person's address: the connection's, or the last address a trusted
/// proxy appended to `X-Forwarded-For` (the entries before it are the
/// client's to forge).
pub fn person_address(
    peer: SocketAddr,
    headers: &http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let mut address = peer.ip();
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    for hop in forwarded.iter().rev() {
        if !trusted.iter().any(|net| net.contains(&address)) {
            break;
        }
        address = *hop;
    }
    address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7".parse().unwrap(),
        );
        let proxy: SocketAddr = "10.0.0.2:443".parse().unwrap();
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            person_address(proxy, &headers, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // From anyone else, the header is the client's own words.
        let stranger: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(person_address(stranger, &headers, &trusted), stranger.ip());
    }
}
