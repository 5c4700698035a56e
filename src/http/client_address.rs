//! Which address a request comes from: the one every throttle keys on, for HTTP and WebSocket
//! alike.
//!
//! Directly reached, the client is the TCP peer, and forwarding headers are ignored: anyone
//! can write `X-Forwarded-For: 1.2.3.4` to dodge a per-address limit. Behind reverse proxies
//! listed in `TALLY_TRUSTED_PROXIES`, the client is the rightmost address of the forwarding
//! chain that is not one of them (RFC 7239 §7.4): each trusted proxy appends who it heard from,
//! so everything to the left of the first untrusted hop may be invented by the client.
//! `Forwarded` is read when present, otherwise `X-Forwarded-For`. A hop that is not an address
//! (`unknown`, an obfuscated name) stops the walk at the proxy that wrote it.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};
use ipnet::IpNet;

/// The client's address for a request from `peer` with `headers`.
pub fn resolve(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    let mut client = peer.ip().to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    for hop in forwarded_chain(headers).into_iter().rev() {
        let Some(hop) = hop else {
            return client;
        };
        client = hop;
        if !is_trusted(&hop) {
            return hop;
        }
    }
    client
}

/// The forwarding chain, leftmost (farthest) hop first; `None` for a hop that is no address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|element| !element.is_empty())
            .collect::<Vec<_>>()
    };
    let forwarded = values(header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded.into_iter().map(forwarded_for).collect();
    }
    values(header::HeaderName::from_static("x-forwarded-for"))
        .into_iter()
        .map(parse_node)
        .collect()
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=https`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
        .and_then(|(_, node)| parse_node(node.trim().trim_matches('"')))
}

/// An address with or without a port: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(address, _)| address.parse().ok())
        })
        .map(|address: IpAddr| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(address: &str) -> SocketAddr {
        SocketAddr::new(address.parse().unwrap(), 40000)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn ip(address: &str) -> IpAddr {
        address.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let claims = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            resolve(peer("203.0.113.9"), &claims, &[]),
            ip("203.0.113.9")
        );
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(peer("203.0.113.9"), &claims, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        // The client forged 6.6.6.6; the first proxy heard 198.51.100.7.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")]);
        assert_eq!(
            resolve(peer("192.168.1.1"), &chain, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_is_preferred_and_understood_with_ports_and_brackets() {
        let trusted = nets(&["127.0.0.1/32"]);
        let both = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("forwarded", r#"for="[2001:db8:cafe::17]:4711";proto=https"#),
        ]);
        assert_eq!(
            resolve(peer("127.0.0.1"), &both, &trusted),
            ip("2001:db8:cafe::17")
        );
        let with_port = headers(&[("forwarded", "for=192.0.2.60:8080, for=127.0.0.1")]);
        assert_eq!(
            resolve(peer("127.0.0.1"), &with_port, &trusted),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn a_hop_that_is_no_address_stops_at_the_proxy_that_wrote_it() {
        let trusted = nets(&["10.0.0.0/8"]);
        let chain = headers(&[("forwarded", "for=unknown, for=10.0.0.5")]);
        assert_eq!(resolve(peer("10.0.0.1"), &chain, &trusted), ip("10.0.0.5"));
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            resolve(peer("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let trusted = nets(&["127.0.0.1/32"]);
        let chain = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(
            resolve(peer("::ffff:127.0.0.1"), &chain, &trusted),
            ip("198.51.100.7")
        );
    }
}
