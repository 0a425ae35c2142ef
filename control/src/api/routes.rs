//! The route table: which path and method is which endpoint, and which roles may call it.
//! The dispatcher matches with [`route`]; `/openapi.json` is generated from [`ROUTES`], and a
//! test checks that every documented route is served.

use actix_web::http::Method;

use super::error::ApiError;
use super::request::{split_ext, Ext};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the API description).
    Public,
    /// Any valid credential.
    AnyRole,
    /// `readonly` or `admin`.
    Read,
    Admin,
    /// `scanreport` or `admin`.
    ScanReport,
}

/// A matched request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    OpenApi,
    CheckSession,
    CheckLogin,
    KeyGenerate,
    KeyRevoke,
    KeyList(Ext),
    FilterList(Ext),
    FilterStatus {
        id: String,
        ext: Ext,
    },
    FilterDefault {
        id: String,
    },
    FilterSet {
        id: String,
        phy: Option<String>,
        block: String,
    },
    FilterRemove {
        id: String,
        phy: Option<String>,
        block: String,
    },
    Stats(Ext),
    SystemStatus(Ext),
    Metrics,
    Stream,
}

impl Route {
    pub fn access(&self) -> Access {
        match self {
            Route::OpenApi => Access::Public,
            Route::CheckSession => Access::AnyRole,
            Route::CheckLogin | Route::KeyGenerate | Route::KeyRevoke | Route::KeyList(_) => {
                Access::Admin
            }
            Route::FilterDefault { .. } | Route::FilterSet { .. } | Route::FilterRemove { .. } => {
                Access::Admin
            }
            Route::FilterList(_)
            | Route::FilterStatus { .. }
            | Route::Stats(_)
            | Route::SystemStatus(_)
            | Route::Metrics
            | Route::Stream => Access::Read,
        }
    }
}

/// A documented route: for the OpenAPI description and the route coverage test.
pub struct RouteDoc {
    pub methods: &'static [&'static str],
    /// Path with `{param}`s and the default extension.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// Keys of the command dictionary (for POST).
    pub keys: &'static [&'static str],
}

const RW: &[&str] = &["GET", "POST"];
const W: &[&str] = &["POST"];
const R: &[&str] = &["GET"];

/// Every route, in the order of API.md.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        methods: R,
        path: "/session/check_session",
        access: Access::AnyRole,
        summary: "200 for any valid credential",
        keys: &[],
    },
    RouteDoc {
        methods: R,
        path: "/session/check_login",
        access: Access::Admin,
        summary: "200 for the admin login",
        keys: &[],
    },
    RouteDoc {
        methods: W,
        path: "/auth/apikey/generate.cmd",
        access: Access::Admin,
        summary: "create an API key; returns its token",
        keys: &["name", "role", "duration"],
    },
    RouteDoc {
        methods: W,
        path: "/auth/apikey/revoke.cmd",
        access: Access::Admin,
        summary: "revoke an API key",
        keys: &["name"],
    },
    RouteDoc {
        methods: RW,
        path: "/auth/apikey/list.json",
        access: Access::Admin,
        summary: "list API keys (never their tokens)",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/filters/all_filters.json",
        access: Access::Read,
        summary: "every packet filter's status document",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/packetfilters/{id}/filter.json",
        access: Access::Read,
        summary: "one packet filter's status document",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/filters/packet/{id}/filter.json",
        access: Access::Read,
        summary: "one packet filter's status document (Kismet's URL)",
        keys: &["fields"],
    },
    RouteDoc {
        methods: W,
        path: "/packetfilters/{id}/set_default.json",
        access: Access::Admin,
        summary: "set the filter's default",
        keys: &["default"],
    },
    RouteDoc {
        methods: W,
        path: "/filters/packet/{id}/set_default.cmd",
        access: Access::Admin,
        summary: "set the filter's default (Kismet's URL)",
        keys: &["default"],
    },
    RouteDoc {
        methods: W,
        path: "/packetfilters/{id}/{block}/filter.json",
        access: Access::Admin,
        summary: "add or change MAC terms in a block",
        keys: &["filter"],
    },
    RouteDoc {
        methods: W,
        path: "/filters/packet/{id}/{phy}/{block}/set_filter.cmd",
        access: Access::Admin,
        summary: "add or change MAC terms in a block (Kismet's URL)",
        keys: &["filter"],
    },
    RouteDoc {
        methods: W,
        path: "/packetfilters/{id}/{block}/remove.json",
        access: Access::Admin,
        summary: "remove MAC terms from a block",
        keys: &["addresses", "filter"],
    },
    RouteDoc {
        methods: W,
        path: "/filters/packet/{id}/{phy}/{block}/remove_filter.cmd",
        access: Access::Admin,
        summary: "remove MAC terms from a block (Kismet's URL)",
        keys: &["filter", "addresses"],
    },
    RouteDoc {
        methods: RW,
        path: "/dataplane/stats.json",
        access: Access::Read,
        summary: "per-worker and total dataplane counters and rates",
        keys: &["fields"],
    },
    RouteDoc {
        methods: R,
        path: "/pcap/all_packets.pcapng",
        access: Access::Read,
        summary: "live pcapng stream of the frames the capture filter passes",
        keys: &[],
    },
    RouteDoc {
        methods: R,
        path: "/metrics",
        access: Access::Read,
        summary: "Prometheus text format",
        keys: &[],
    },
    RouteDoc {
        methods: RW,
        path: "/system/status.json",
        access: Access::Read,
        summary: "version, uptime, memory, capture backend",
        keys: &["fields"],
    },
    RouteDoc {
        methods: R,
        path: "/openapi.json",
        access: Access::Public,
        summary: "this API description",
        keys: &[],
    },
];

fn read_ext(seg: &str, stem: &str) -> Option<Ext> {
    match split_ext(seg) {
        (s, Some(e)) if s == stem && e.is_read() => Some(e),
        _ => None,
    }
}

fn cmd_ext(seg: &str, stem: &str) -> bool {
    matches!(split_ext(seg), (s, Some(e)) if s == stem && e.is_command())
}

/// Methods a route accepts.
fn methods(r: &Route) -> &'static [&'static str] {
    match r {
        Route::CheckSession
        | Route::CheckLogin
        | Route::Metrics
        | Route::Stream
        | Route::OpenApi => R,
        Route::KeyGenerate
        | Route::KeyRevoke
        | Route::FilterDefault { .. }
        | Route::FilterSet { .. }
        | Route::FilterRemove { .. } => W,
        _ => RW,
    }
}

/// Matches a path (already percent-decoded by the server) to a route; 404 for none, 405 for
/// a known route asked with another method.
pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let s = |i: usize| segs.get(i).map(|s| s.to_string()).unwrap_or_default();
    let r = match segs.as_slice() {
        ["openapi.json"] => Some(Route::OpenApi),
        ["session", seg] if matches!(split_ext(seg), ("check_session", None | Some(Ext::Json))) => {
            Some(Route::CheckSession)
        }
        ["session", seg] if matches!(split_ext(seg), ("check_login", None | Some(Ext::Json))) => {
            Some(Route::CheckLogin)
        }
        ["auth", "apikey", seg] if cmd_ext(seg, "generate") => Some(Route::KeyGenerate),
        ["auth", "apikey", seg] if cmd_ext(seg, "revoke") => Some(Route::KeyRevoke),
        ["auth", "apikey", seg] => read_ext(seg, "list").map(Route::KeyList),
        ["filters", seg] => read_ext(seg, "all_filters").map(Route::FilterList),
        ["packetfilters", _, seg] | ["filters", "packet", _, seg]
            if read_ext(seg, "filter").is_some() =>
        {
            let id = if segs[0] == "packetfilters" {
                s(1)
            } else {
                s(2)
            };
            Some(Route::FilterStatus {
                id,
                ext: read_ext(seg, "filter").unwrap_or(Ext::Json),
            })
        }
        ["packetfilters", _, seg] if cmd_ext(seg, "set_default") => {
            Some(Route::FilterDefault { id: s(1) })
        }
        ["filters", "packet", _, seg] if cmd_ext(seg, "set_default") => {
            Some(Route::FilterDefault { id: s(2) })
        }
        ["packetfilters", _, _, seg] if cmd_ext(seg, "filter") => Some(Route::FilterSet {
            id: s(1),
            phy: None,
            block: s(2),
        }),
        ["packetfilters", _, _, seg] if cmd_ext(seg, "remove") => Some(Route::FilterRemove {
            id: s(1),
            phy: None,
            block: s(2),
        }),
        ["filters", "packet", _, _, _, seg] if cmd_ext(seg, "set_filter") => {
            Some(Route::FilterSet {
                id: s(2),
                phy: Some(s(3)),
                block: s(4),
            })
        }
        ["filters", "packet", _, _, _, seg] if cmd_ext(seg, "remove_filter") => {
            Some(Route::FilterRemove {
                id: s(2),
                phy: Some(s(3)),
                block: s(4),
            })
        }
        ["dataplane", seg] => read_ext(seg, "stats").map(Route::Stats),
        ["system", seg] => read_ext(seg, "status").map(Route::SystemStatus),
        ["metrics"] => Some(Route::Metrics),
        ["pcap", "all_packets.pcapng"] => Some(Route::Stream),
        _ => None,
    };
    let r = r.ok_or_else(|| ApiError::not_found(format!("no such endpoint: {path}")))?;
    let ms = methods(&r);
    if !ms.contains(&method.as_str()) {
        return Err(ApiError::method_not_allowed(method.as_str(), ms));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_families_reach_the_same_routes() {
        let post = Method::POST;
        assert_eq!(
            route(&post, "/packetfilters/capture/source/filter.json").unwrap(),
            route(
                &post,
                "/filters/packet/capture/IEEE802.11/source/set_filter.cmd"
            )
            .map(|r| match r {
                Route::FilterSet { id, block, .. } => Route::FilterSet {
                    id,
                    phy: None,
                    block
                },
                o => o,
            })
            .unwrap()
        );
        assert_eq!(
            route(&post, "/packetfilters/capture/set_default.cmd").unwrap(),
            route(&post, "/filters/packet/capture/set_default.json").unwrap()
        );
        assert!(matches!(
            route(&Method::GET, "/filters/packet/capture/filter.prettyjson").unwrap(),
            Route::FilterStatus {
                ext: Ext::PrettyJson,
                ..
            }
        ));
        assert_eq!(
            route(&Method::GET, "/nope").unwrap_err().status.as_u16(),
            404
        );
        assert_eq!(
            route(&Method::GET, "/filters/all_filters.xml")
                .unwrap_err()
                .status
                .as_u16(),
            404
        );
        assert_eq!(
            route(&Method::GET, "/packetfilters/capture/set_default.json")
                .unwrap_err()
                .status
                .as_u16(),
            405
        );
        assert_eq!(
            route(&Method::DELETE, "/filters/all_filters.json")
                .unwrap_err()
                .status
                .as_u16(),
            405
        );
    }

    #[test]
    fn every_documented_route_is_served() {
        for doc in ROUTES {
            let path = doc
                .path
                .replace("{id}", "capture")
                .replace("{phy}", "IEEE802.11")
                .replace("{block}", "source");
            for m in doc.methods {
                let method = Method::from_bytes(m.as_bytes()).unwrap();
                let r = route(&method, &path).unwrap_or_else(|e| panic!("{m} {path}: {e}"));
                assert_eq!(r.access(), doc.access, "{m} {path}");
            }
        }
    }
}
