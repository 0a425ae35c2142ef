//! Reading credentials out of raw header values and the raw query string. Nothing here
//! panics on hostile input; anything malformed simply yields no credential.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// The cookie and query variable that carry a session token or an API key (Kismet's name).
pub const COOKIE_NAME: &str = "KISMET";

/// Standard base64 that accepts a missing or present padding (clients differ).
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Every value of cookie `name` in a `Cookie` header (`a=b; KISMET=tok; c=d`), in order. A
/// browser can send two with the same name (different paths); each is a candidate. Quotes
/// around a value are removed.
pub(crate) fn cookie_values<'a>(
    header: &'a str,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    header.split(';').filter_map(move |pair| {
        let (k, v) = pair.split_once('=')?;
        if k.trim() != name {
            return None;
        }
        let v = v.trim();
        Some(
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v),
        )
    })
}

/// Every value of variable `name` in a raw query string (`a=1&KISMET=tok`), split on `&`
/// first and then percent-decoded. A leading `?` is ignored.
pub(crate) fn query_values(query: &str, name: &str) -> Vec<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `Authorization: Basic base64(user:password)` → `(user, password)` as bytes (RFC 7617 allows
/// any charset; comparison is on bytes). `None` for another scheme or a malformed value.
pub(crate) fn parse_basic(header: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(|c: char| c.is_ascii_whitespace())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASIC_B64.decode(rest.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let password = decoded[colon + 1..].to_vec();
    let mut user = decoded;
    user.truncate(colon);
    Some((user, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        let v: Vec<_> = cookie_values("a=b; KISMET=tok; c=d", COOKIE_NAME).collect();
        assert_eq!(v, ["tok"]);
        let v: Vec<_> = cookie_values("KISMET=one;KISMET=\"two\" ;x", COOKIE_NAME).collect();
        assert_eq!(v, ["one", "two"]);
        assert_eq!(
            cookie_values("kismet=x; KISMETX=y; =z; ;;", COOKIE_NAME).count(),
            0
        );
        let v: Vec<_> = cookie_values("KISMET=a=b", COOKIE_NAME).collect();
        assert_eq!(v, ["a=b"]);
        assert_eq!(cookie_values("", COOKIE_NAME).count(), 0);
    }

    #[test]
    fn queries() {
        assert_eq!(query_values("a=1&KISMET=tok&b", COOKIE_NAME), ["tok"]);
        assert_eq!(query_values("?KISMET=t%2Bk%26x", COOKIE_NAME), ["t+k&x"]);
        assert_eq!(query_values("KISMET", COOKIE_NAME), [""]);
        assert!(query_values("", COOKIE_NAME).is_empty());
        assert!(query_values("kismet=x&%%%=1", COOKIE_NAME).is_empty());
    }

    #[test]
    fn basic() {
        // "admin:pa:ss" with and without padding, any scheme case, extra spaces.
        assert_eq!(
            parse_basic("Basic YWRtaW46cGE6c3M="),
            Some((b"admin".to_vec(), b"pa:ss".to_vec()))
        );
        assert_eq!(
            parse_basic("  basic   YWRtaW46cGE6c3M  "),
            Some((b"admin".to_vec(), b"pa:ss".to_vec()))
        );
        assert_eq!(parse_basic("Basic Og=="), Some((vec![], vec![]))); // ":"
        assert_eq!(parse_basic("Basic YWRtaW4="), None); // no colon
        assert_eq!(parse_basic("Basic !!!!"), None);
        assert_eq!(parse_basic("Basic"), None);
        assert_eq!(parse_basic("Basic "), None);
        assert_eq!(parse_basic("Bearer YWRtaW46cGFzcw=="), None);
        assert_eq!(parse_basic(""), None);
        assert_eq!(parse_basic("Basic YWRtaW46cGFzcw===="), None);
        assert_eq!(parse_basic("Basic \u{00e9}\u{00e9}"), None);
    }
}
