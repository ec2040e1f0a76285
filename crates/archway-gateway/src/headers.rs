//! Header handling between client and upstream: hop-by-hop headers (RFC 9110 §7.6.1, and any
//! a message names in `Connection`) never cross the gateway; `X-Forwarded-*` are set.

use crate::context::ConnInfo;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// `h.get(name)`, found by a scan when the map is small. Most API clients send a handful of
/// headers, and the pipeline looks a few up on every request (Host, Origin, User-Agent,
/// Content-Length): comparing a handful of names costs less than hashing the one asked for.
pub fn get<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    const SCAN: usize = 8;
    if h.len() > SCAN {
        return h.get(name);
    }
    h.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        HeaderKind::of(name.as_str().as_bytes()),
        HeaderKind::Connection | HeaderKind::TransferEncoding | HeaderKind::HopByHop
    )
}

/// What the gateway does with a header, by name: the one table of hop-by-hop names
/// ([`is_hop_by_hop`]), and the names the upstream client's response parser singles out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    ContentLength,
    TransferEncoding,
    Connection,
    /// Hop-by-hop (RFC 9110 §7.6.1) other than the two above: never forwarded.
    HopByHop,
    Date,
    /// `x-amzn-RequestId` and `apigw-requestid`: the gateway sets these.
    GatewayOwned,
    Other,
}

impl HeaderKind {
    /// From the name's bytes as sent, any case, without building a `HeaderName`: this runs for
    /// every header of every proxied response.
    pub fn of(name: &[u8]) -> HeaderKind {
        // Every name below is lower-case letters and `-`: setting bit 5 of a byte of the
        // (httparse-validated token) name lower-cases a letter and leaves `-` as it is, and no
        // other token byte becomes a lower-case letter or `-` that way. Cheaper than
        // `eq_ignore_ascii_case`, which branches on every byte.
        let is = |n: &str| name.iter().zip(n.as_bytes()).all(|(a, b)| a | 0x20 == *b);
        match name.len() {
            2 if is("te") => HeaderKind::HopByHop,
            4 if is("date") => HeaderKind::Date,
            7 if is("upgrade") || is("trailer") => HeaderKind::HopByHop,
            10 if is("connection") => HeaderKind::Connection,
            10 if is("keep-alive") => HeaderKind::HopByHop,
            14 if is("content-length") => HeaderKind::ContentLength,
            15 if is("apigw-requestid") => HeaderKind::GatewayOwned,
            16 if is("proxy-connection") => HeaderKind::HopByHop,
            16 if is("x-amzn-requestid") => HeaderKind::GatewayOwned,
            17 if is("transfer-encoding") => HeaderKind::TransferEncoding,
            18 if is("proxy-authenticate") => HeaderKind::HopByHop,
            19 if is("proxy-authorization") => HeaderKind::HopByHop,
            _ => HeaderKind::Other,
        }
    }
}

/// Removes hop-by-hop headers, including those the message lists in `Connection`.
/// One pass over the names finds them; the common message has none or only `connection`.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    if !h.keys().any(is_hop_by_hop) {
        return;
    }
    let mut remove: Vec<HeaderName> = h.keys().filter(|k| is_hop_by_hop(k)).cloned().collect();
    for v in h.get_all(header::CONNECTION) {
        remove.extend(
            v.to_str()
                .unwrap_or("")
                .split(',')
                .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok()),
        );
    }
    for n in remove {
        h.remove(n);
    }
}

/// `X-Forwarded-*` values of one client connection, prepared once for all its requests.
#[derive(Debug, Clone)]
pub struct Forwarded {
    ip: String,
    ip_value: HeaderValue,
    proto: HeaderValue,
    port: HeaderValue,
    /// `x-forwarded-proto` and `-port` lines, for a client that encodes the head itself.
    proto_and_port: Vec<u8>,
}

/// Which of the `X-Forwarded-*` headers a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For`: the client is appended to the list.
    For,
    /// `X-Forwarded-Proto` or `-Port`: replaced by the gateway's.
    ProtoOrPort,
}

impl Forwarded {
    pub fn new(conn: &ConnInfo) -> Forwarded {
        let ip = conn.peer.ip().to_string();
        let proto = if conn.tls { "https" } else { "http" };
        let port = conn.local.port();
        Forwarded {
            ip_value: HeaderValue::from_str(&ip).unwrap_or(HeaderValue::from_static("unknown")),
            ip,
            proto: HeaderValue::from_static(proto),
            port: HeaderValue::from(port),
            proto_and_port: format!("x-forwarded-proto: {proto}\r\nx-forwarded-port: {port}\r\n")
                .into_bytes(),
        }
    }

    pub fn kind(&self, name: &HeaderName) -> Option<ForwardedHeader> {
        if *name == X_FORWARDED_FOR {
            Some(ForwardedHeader::For)
        } else if *name == X_FORWARDED_PROTO || *name == X_FORWARDED_PORT {
            Some(ForwardedHeader::ProtoOrPort)
        } else {
            None
        }
    }

    /// The `X-Forwarded-For` value after a request's own (`prev`, its first line): the list
    /// with the client appended. None: the value would not be a valid header value.
    fn forwarded_for(&self, prev: Option<&HeaderValue>) -> Option<HeaderValue> {
        let prev = prev
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        if prev.is_empty() {
            Some(self.ip_value.clone())
        } else {
            HeaderValue::from_str(&format!("{prev}, {}", self.ip)).ok()
        }
    }

    /// Writes the `x-forwarded-for` line for a request whose own first value is `prev`.
    pub fn write_for(&self, prev: Option<&HeaderValue>, dst: &mut impl bytes::BufMut) {
        let v = self.forwarded_for(prev);
        // A value that cannot be extended is kept as it was (as `set_forwarded` leaves it).
        let Some(v) = v.as_ref().or(prev) else {
            return;
        };
        dst.put_slice(b"x-forwarded-for: ");
        dst.put_slice(v.as_bytes());
        dst.put_slice(b"\r\n");
    }

    pub fn write_proto_and_port(&self, dst: &mut impl bytes::BufMut) {
        dst.put_slice(&self.proto_and_port);
    }
}

/// Sets `X-Forwarded-For` (appending the client to any list it sent), `-Proto` and `-Port`.
pub fn set_forwarded(h: &mut HeaderMap, f: &Forwarded) {
    match h.entry(&X_FORWARDED_FOR) {
        header::Entry::Occupied(mut e) => {
            if let Some(v) = f.forwarded_for(Some(e.get())) {
                e.insert(v);
            }
        }
        header::Entry::Vacant(e) => {
            e.insert(f.ip_value.clone());
        }
    }
    h.insert(X_FORWARDED_PROTO.clone(), f.proto.clone());
    h.insert(X_FORWARDED_PORT.clone(), f.port.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_kinds_ignore_case_and_only_case() {
        for (name, kind) in [
            ("Content-LENGTH", HeaderKind::ContentLength),
            ("content-length", HeaderKind::ContentLength),
            ("content_length", HeaderKind::Other),
            ("Transfer-Encoding", HeaderKind::TransferEncoding),
            ("CONNECTION", HeaderKind::Connection),
            ("Keep-Alive", HeaderKind::HopByHop),
            ("te", HeaderKind::HopByHop),
            ("Proxy-Connection", HeaderKind::HopByHop),
            ("Date", HeaderKind::Date),
            ("X-AMZN-RequestId", HeaderKind::GatewayOwned),
            ("apigw-requestid", HeaderKind::GatewayOwned),
            ("x-amzn-requestix", HeaderKind::Other),
            ("Dat^", HeaderKind::Other),
            ("ETag", HeaderKind::Other),
        ] {
            assert_eq!(HeaderKind::of(name.as_bytes()), kind, "{name}");
        }
    }

    #[test]
    fn get_finds_the_first_value_in_small_and_large_maps() {
        for extra in [0, 3, 20] {
            let mut h = HeaderMap::new();
            for i in 0..extra {
                h.insert(
                    HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap(),
                    HeaderValue::from_static("v"),
                );
            }
            h.append(header::HOST, HeaderValue::from_static("first"));
            h.append(header::HOST, HeaderValue::from_static("second"));
            assert_eq!(get(&h, &header::HOST).unwrap(), "first", "{extra}");
            assert_eq!(get(&h, &header::HOST), h.get(header::HOST), "{extra}");
            assert!(get(&h, &header::ORIGIN).is_none(), "{extra}");
        }
    }

    #[test]
    fn strips_named_and_standard_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, X-Secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("x-kept", HeaderValue::from_static("yes"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
