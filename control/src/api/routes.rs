//! The route table: which path and method is which endpoint, and which roles may call it.
//! The dispatcher matches with [`route`]; `/openapi.json` is generated from [`ROUTES`], and a
//! test checks that every documented route is served.

use actix_web::http::Method;

use super::error::ApiError;
use super::request::{split_ext, Ext};
use crate::scan::View;

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
    /// The status page and its assets (`/`, `/ui/app.js`, `/ui/app.css`).
    Ui(super::ui::Asset),
    /// `POST /ui/logout`: ends the page's session.
    UiLogout,
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
    /// `POST /phy/phy80211/scan/scan_report.cmd`
    ScanReport,
    /// `/datasource/all_sources`
    SourceList(Ext),
    /// `/datasource/by-uuid/{uuid}/source`
    SourceByUuid {
        uuid: String,
        ext: Ext,
    },
    /// `/datasource/types`
    SourceTypes(Ext),
    /// `/datasource/list_interfaces`
    SourceInterfaces(Ext),
    /// `POST /datasource/add_source.cmd`
    SourceAdd,
    /// `/datasource/by-uuid/{uuid}/{command}.cmd`
    SourceCommand {
        uuid: String,
        command: SourceCommand,
    },
    /// `/devices/views/{view}/devices` and `/devices/views/{view}/last-time/{ts}/devices`
    DeviceView {
        view: View,
        /// The `{ts}` segment as given (parsed by the handler: a non-integer is a 400).
        since: Option<String>,
        ext: Ext,
    },
    /// `/devices/last-time/{ts}/devices`
    DevicesSince {
        ts: String,
        ext: Ext,
    },
    /// `/devices/by-mac/{mac}/devices`; `mac` is percent-decoded and may hold a `/mask`.
    DevicesByMac {
        mac: String,
        ext: Ext,
    },
    /// `POST /devices/multimac/devices`: Kismet's list-of-MACs lookup.
    DevicesMultiMac(Ext),
    /// `/devices/by-key/{key}/device`, and Kismet's legacy `device.json/{field}/{field}...`:
    /// the value at that field path alone.
    DeviceByKey {
        key: String,
        ext: Ext,
        field: Vec<String>,
    },
    /// `/phy/phy80211/clients-of/{key}/clients`: an AP's clients.
    ClientsOf {
        key: String,
        ext: Ext,
    },
    Stats(Ext),
    SystemStatus(Ext),
    /// `/system/timestamp`
    SystemTimestamp(Ext),
    /// `/fleet/hosts`: every host of the fleet, from their heartbeats.
    FleetHosts(Ext),
    /// `/gps/location`
    GpsLocation(Ext),
    /// `/messagebus/last-time/{ts}/messages` (and `/messagebus/all_messages`: since 0)
    Messages {
        since: String,
        ext: Ext,
    },
    /// `/alerts/last-time/{ts}/alerts` (a list), `/alerts/wrapped/last-time/{ts}/alerts`
    /// (Kismet's wrapper object), `/alerts/all_alerts` (a list, since 0).
    Alerts {
        since: String,
        wrapped: bool,
        ext: Ext,
    },
    /// `/alerts/by-id/{hash}/alert`
    AlertById {
        hash: String,
        ext: Ext,
    },
    /// `/alerts/definitions`
    AlertDefinitions(Ext),
    /// `/alerts/definitions/define_alert.cmd`
    AlertDefine,
    /// `/alerts/raise_alerts.cmd` (Kismet's) and `/alerts/raise_alert.cmd` (its Python
    /// client's).
    AlertRaise,
    Metrics,
    Stream,
}

/// Commands on one capture datasource (API.md section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceCommand {
    Close,
    Open,
    Pause,
    Resume,
    SetChannel,
    SetHop,
}

impl SourceCommand {
    fn from_stem(stem: &str) -> Option<SourceCommand> {
        Some(match stem {
            "close_source" | "disable_source" => SourceCommand::Close,
            "open_source" | "enable_source" => SourceCommand::Open,
            "pause_source" => SourceCommand::Pause,
            "resume_source" => SourceCommand::Resume,
            "set_channel" => SourceCommand::SetChannel,
            "set_hop" => SourceCommand::SetHop,
            _ => return None,
        })
    }
}

impl Route {
    pub fn access(&self) -> Access {
        match self {
            Route::OpenApi | Route::Ui(_) | Route::UiLogout => Access::Public,
            Route::CheckSession => Access::AnyRole,
            Route::CheckLogin | Route::KeyGenerate | Route::KeyRevoke | Route::KeyList(_) => {
                Access::Admin
            }
            Route::FilterDefault { .. } | Route::FilterSet { .. } | Route::FilterRemove { .. } => {
                Access::Admin
            }
            Route::ScanReport => Access::ScanReport,
            Route::SourceInterfaces(_) | Route::SourceAdd | Route::SourceCommand { .. } => {
                Access::Admin
            }
            Route::AlertDefine | Route::AlertRaise => Access::Admin,
            Route::FilterList(_)
            | Route::FilterStatus { .. }
            | Route::SourceList(_)
            | Route::SourceByUuid { .. }
            | Route::SourceTypes(_)
            | Route::DeviceView { .. }
            | Route::DevicesSince { .. }
            | Route::DevicesByMac { .. }
            | Route::DevicesMultiMac(_)
            | Route::DeviceByKey { .. }
            | Route::ClientsOf { .. }
            | Route::Stats(_)
            | Route::SystemStatus(_)
            | Route::SystemTimestamp(_)
            | Route::FleetHosts(_)
            | Route::GpsLocation(_)
            | Route::Messages { .. }
            | Route::Alerts { .. }
            | Route::AlertById { .. }
            | Route::AlertDefinitions(_)
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

/// Dictionary keys of the device lists other than the views.
pub const LIST_KEYS: &[&str] = &["fields", "last_time", "regex", "sort"];
/// Dictionary keys of the device views: the list keys, pagination, and Kismet's datatable mode.
pub const VIEW_KEYS: &[&str] = &[
    "fields",
    "last_time",
    "regex",
    "sort",
    "page",
    "length",
    "start",
    "datatable",
    "draw",
];
/// Dictionary keys of the multimac lookup.
pub const MULTIMAC_KEYS: &[&str] = &["devices", "fields", "last_time", "regex"];
/// Dictionary keys of a single device.
pub const KEY_KEYS: &[&str] = &["fields"];

const DEVICE_VIEW_SUMMARY: &str = "the view's devices (Kismet's kismet.device.base.* and dot11.* \
    records): a JSON array, or with datatable/draw Kismet's datatable object {draw, recordsTotal, \
    recordsFiltered, data}; ?filter=ID hides devices that packet filter blocks";
const DEVICE_VIEW_SINCE_SUMMARY: &str = "the view's devices seen at or after {ts} (seconds since \
    the epoch, or seconds before now when negative); otherwise as the view";

/// Query parameters a documented route takes besides the `KISMET` credential.
pub fn query_params(path: &str) -> &'static [(&'static str, &'static str)] {
    if path.starts_with("/devices/") {
        &[(
            "filter",
            "a packet filter id: devices the filter blocks are left out (404 if unknown)",
        )]
    } else {
        &[]
    }
}

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
        methods: W,
        path: "/phy/phy80211/scan/scan_report.cmd",
        access: Access::ScanReport,
        summary: "store a batch of scanning-mode reports (also .json); invalid reports are \
                  rejected one by one and listed, the others are durable when the reply is 200",
        keys: &["source_uuid", "source_name", "reports"],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/all_sources.json",
        access: Access::Read,
        summary: "every datasource: capture sources, then the virtual ones scan reports create \
                  (kismet.datasource.* records)",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/by-uuid/{uuid}/source.json",
        access: Access::Read,
        summary: "one datasource by UUID (case-insensitive); 404 when unknown",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/types.json",
        access: Access::Read,
        summary: "the driver types capture sources can use, with Kismet's capability flags",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/list_interfaces.json",
        access: Access::Admin,
        summary: "network interfaces that could capture (also .itjson), with the UUID of the \
                  source using each",
        keys: &["fields"],
    },
    RouteDoc {
        methods: W,
        path: "/datasource/add_source.cmd",
        access: Access::Admin,
        summary: "add and open a capture source from a definition (API.md section 5); \
                  the reply is its record; 400 bad definition, 409 interface in use",
        keys: &["definition"],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/by-uuid/{uuid}/close_source.cmd",
        access: Access::Admin,
        summary: "close: drain and release the rings, keep the record (also disable_source)",
        keys: &[],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/by-uuid/{uuid}/open_source.cmd",
        access: Access::Admin,
        summary: "open a closed source again (also enable_source)",
        keys: &[],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/by-uuid/{uuid}/pause_source.cmd",
        access: Access::Admin,
        summary: "pause: frames are read and discarded unjudged and uncounted",
        keys: &[],
    },
    RouteDoc {
        methods: RW,
        path: "/datasource/by-uuid/{uuid}/resume_source.cmd",
        access: Access::Admin,
        summary: "resume a paused source",
        keys: &[],
    },
    RouteDoc {
        methods: W,
        path: "/datasource/by-uuid/{uuid}/set_channel.cmd",
        access: Access::Admin,
        summary: "lock a channel ({channel}) or hop ({rate}, {channels}); 409 on an interface \
                  that is not a cfg80211 radio",
        keys: &["channel", "rate", "channels", "shuffle"],
    },
    RouteDoc {
        methods: W,
        path: "/datasource/by-uuid/{uuid}/set_hop.cmd",
        access: Access::Admin,
        summary: "resume hopping over the source's channel list; 409 on a non-radio",
        keys: &["hop"],
    },
    RouteDoc {
        methods: RW,
        path: "/devices/views/all/devices.json",
        access: Access::Read,
        summary: DEVICE_VIEW_SUMMARY,
        keys: VIEW_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/all_devices.json",
        access: Access::Read,
        summary: "Kismet's legacy name of /devices/views/all/devices (also .itjson)",
        keys: VIEW_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/views/phydot11_accesspoints/devices.json",
        access: Access::Read,
        summary: DEVICE_VIEW_SUMMARY,
        keys: VIEW_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/views/seenby-{uuid}/devices.json",
        access: Access::Read,
        summary: "devices a datasource (capture or scan-report) saw; same keys as the views",
        keys: VIEW_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/phy/phy80211/clients-of/{key}/clients.json",
        access: Access::Read,
        summary: "the clients of the access point with this key (data frames to or from it); 404 when no device has the key",
        keys: LIST_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/views/all/last-time/{ts}/devices.json",
        access: Access::Read,
        summary: DEVICE_VIEW_SINCE_SUMMARY,
        keys: VIEW_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/views/phydot11_accesspoints/last-time/{ts}/devices.json",
        access: Access::Read,
        summary: DEVICE_VIEW_SINCE_SUMMARY,
        keys: VIEW_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/last-time/{ts}/devices.json",
        access: Access::Read,
        summary: "devices seen at or after {ts}: seconds since the epoch, or seconds before now \
                  when negative (an integer); ?filter=ID hides devices that packet filter blocks",
        keys: LIST_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/by-mac/{mac}/devices.json",
        access: Access::Read,
        summary: "devices whose MAC matches {mac}: AA:BB:CC:DD:EE:FF or a masked \
                  AA:BB:CC:00:00:00/FF:FF:FF:00:00:00 (the slash raw or as %2F); \
                  ?filter=ID hides devices that packet filter blocks",
        keys: LIST_KEYS,
    },
    RouteDoc {
        methods: W,
        path: "/devices/multimac/devices.json",
        access: Access::Read,
        summary: "devices matching any MAC or masked MAC of the list devices (Kismet's \
                  multimac); each device once; ?filter=ID hides devices that packet filter blocks",
        keys: MULTIMAC_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/by-key/{key}/device.json",
        access: Access::Read,
        summary: "one device by kismet.device.base.key; 404 when unknown (or hidden by ?filter=ID)",
        keys: KEY_KEYS,
    },
    RouteDoc {
        methods: RW,
        path: "/devices/by-key/{key}/device.json/{field}",
        access: Access::Read,
        summary: "Kismet's legacy field path: the value of one field of the device alone (a \
                  nested field as several segments: dot11.device/dot11.device.num_client_aps); \
                  404 naming the path when the device has no such field",
        keys: &[],
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
        methods: RW,
        path: "/system/timestamp.json",
        access: Access::Read,
        summary: "the server's clock: kismet.system.timestamp.sec and .usec",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/fleet/hosts.json",
        access: Access::Read,
        summary: "the fleet's hosts (--nats), from the heartbeats in the KV bucket airsift_hosts: \
                  id, version, state, capture filter generation, sources, rates, last seen; \
                  404 without --nats, 503 while the fleet cannot be reached",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/gps/location.json",
        access: Access::Read,
        summary: "the host's position from gpsd (--gpsd), as Kismet's kismet.common.location.* \
                  record; fix 0 and valid 0 without gpsd or a recent fix",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/messagebus/last-time/{ts}/messages.json",
        access: Access::Read,
        summary: "airsift's operational messages after {ts} (seconds, sec.usec, or negative = \
                  seconds before now): {kismet.messagebus.list, kismet.messagebus.timestamp}; \
                  .itjson gives one message per line",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/messagebus/all_messages.json",
        access: Access::Read,
        summary: "every message still in the ring (at most 1,024, newest last)",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/alerts/last-time/{ts}/alerts.json",
        access: Access::Read,
        summary: "alerts raised after {ts} (as for messages), oldest first: a JSON array of \
                  Kismet's kismet.alert.* records (.itjson: one per line)",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/alerts/wrapped/last-time/{ts}/alerts.json",
        access: Access::Read,
        summary: "the same alerts in Kismet's wrapper {kismet.alert.list, kismet.alert.timestamp}",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/alerts/all_alerts.json",
        access: Access::Read,
        summary: "every alert still in the backlog (at most 1,024, newest last)",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/alerts/by-id/{hash}/alert.json",
        access: Access::Read,
        summary: "the alert whose kismet.alert.hash is {hash}",
        keys: &["fields"],
    },
    RouteDoc {
        methods: RW,
        path: "/alerts/definitions.json",
        access: Access::Read,
        summary: "the alert definitions (kismet.alert.definition.*): airsift's own (CAPTUREDROPS, \
                  SOURCEERROR, NEWTXFLOOD, FILTERCHANGE) and those defined over the API",
        keys: &["fields"],
    },
    RouteDoc {
        methods: W,
        path: "/alerts/definitions/define_alert.cmd",
        access: Access::Admin,
        summary: "defines an alert: name and description required; class (default OTHER), \
                  severity 0/5/10/15/20 or INFO..CRITICAL (default 0), throttle (default \
                  10/min) and burst (default 1/sec) as N/sec|min|hour|day; 409 if the name exists",
        keys: &["name", "description", "class", "severity", "throttle", "burst", "phyname"],
    },
    RouteDoc {
        methods: W,
        path: "/alerts/raise_alerts.cmd",
        access: Access::Admin,
        summary: "raises a defined alert (also /alerts/raise_alert.cmd): name (any case) and text \
                  required; bssid, source, dest, other (MACs) and channel optional; 429 when its \
                  throttle or burst refuses it",
        keys: &["name", "text", "bssid", "source", "dest", "other", "channel"],
    },
    RouteDoc {
        methods: R,
        path: "/openapi.json",
        access: Access::Public,
        summary: "this API description",
        keys: &[],
    },
    RouteDoc {
        methods: R,
        path: "/",
        access: Access::Public,
        summary: "the status page (HTML; it logs in with the session cookie, or ?KISMET=KEY \
                  turns an API key into that cookie and redirects to /)",
        keys: &[],
    },
    RouteDoc {
        methods: R,
        path: "/ui/app.js",
        access: Access::Public,
        summary: "the status page's script",
        keys: &[],
    },
    RouteDoc {
        methods: R,
        path: "/ui/app.css",
        access: Access::Public,
        summary: "the status page's style sheet",
        keys: &[],
    },
    RouteDoc {
        methods: W,
        path: "/ui/logout",
        access: Access::Public,
        summary: "ends the login session in the KISMET cookie and expires the cookie",
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
        | Route::OpenApi
        | Route::Ui(_) => R,
        Route::UiLogout => W,
        Route::SourceCommand {
            command: SourceCommand::SetChannel | SourceCommand::SetHop,
            ..
        } => W,
        Route::KeyGenerate
        | Route::KeyRevoke
        | Route::ScanReport
        | Route::SourceAdd
        | Route::AlertDefine
        | Route::AlertRaise
        | Route::DevicesMultiMac(_)
        | Route::FilterDefault { .. }
        | Route::FilterSet { .. }
        | Route::FilterRemove { .. } => W,
        _ => RW,
    }
}

/// Percent-decodes one path parameter (`%2F` in a masked MAC, `%3A` for a colon); a bad
/// escape or invalid UTF-8 is a 400.
fn decode(s: &str) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("bad percent-escape in path parameter {s:?}"))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        ApiError::bad_request(format!(
            "path parameter {s:?} is not UTF-8 once percent-decoded"
        ))
    })
}

/// A view name; `seenby-X` with X not a UUID is a 400 naming it.
fn view_id(s: &str) -> Result<Option<View>, ApiError> {
    Ok(match s {
        "all" => Some(View::All),
        "phydot11_accesspoints" => Some(View::AccessPoints),
        _ => match s.strip_prefix("seenby-") {
            Some(u) => {
                let u = decode(u)?;
                Some(View::SeenBy(
                    crate::scan::kismet::parse_uuid(&u).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "view seenby-{u}: {u:?} is not a datasource UUID"
                        ))
                    })?,
                ))
            }
            None => None,
        },
    })
}

/// The routes of API.md section 3. `segs` are the raw (not yet percent-decoded) segments.
fn scan_route(segs: &[&str]) -> Result<Option<Route>, ApiError> {
    Ok(match segs {
        ["phy", "phy80211", "scan", seg] if cmd_ext(seg, "scan_report") => Some(Route::ScanReport),
        ["phy", "phy80211", "clients-of", key, seg] => match read_ext(seg, "clients") {
            Some(ext) => Some(Route::ClientsOf {
                key: decode(key)?,
                ext,
            }),
            None => None,
        },
        ["datasource", seg] if cmd_ext(seg, "add_source") => Some(Route::SourceAdd),
        ["datasource", seg] => read_ext(seg, "all_sources")
            .map(Route::SourceList)
            .or_else(|| read_ext(seg, "types").map(Route::SourceTypes))
            .or_else(|| read_ext(seg, "list_interfaces").map(Route::SourceInterfaces)),
        ["datasource", "by-uuid", uuid, seg]
            if split_ext(seg).1.is_some_and(|e| e.is_command())
                && SourceCommand::from_stem(split_ext(seg).0).is_some() =>
        {
            SourceCommand::from_stem(split_ext(seg).0).map(|command| Route::SourceCommand {
                uuid: uuid.to_string(),
                command,
            })
        }
        ["datasource", "by-uuid", uuid, seg] => match read_ext(seg, "source") {
            Some(ext) => Some(Route::SourceByUuid {
                uuid: decode(uuid)?,
                ext,
            }),
            None => None,
        },
        ["devices", "views", view, seg] => match (view_id(view)?, read_ext(seg, "devices")) {
            (Some(view), Some(ext)) => Some(Route::DeviceView {
                view,
                since: None,
                ext,
            }),
            _ => None,
        },
        ["devices", "views", view, "last-time", ts, seg] => {
            match (view_id(view)?, read_ext(seg, "devices")) {
                (Some(view), Some(ext)) => Some(Route::DeviceView {
                    view,
                    since: Some(decode(ts)?),
                    ext,
                }),
                _ => None,
            }
        }
        // Kismet's legacy name of the all-devices view, which its Python client still calls.
        ["devices", seg] => read_ext(seg, "all_devices").map(|ext| Route::DeviceView {
            view: View::All,
            since: None,
            ext,
        }),
        ["devices", "last-time", ts, seg] => match read_ext(seg, "devices") {
            Some(ext) => Some(Route::DevicesSince {
                ts: decode(ts)?,
                ext,
            }),
            None => None,
        },
        // A masked MAC's slash may arrive raw: then the MAC spans two segments.
        ["devices", "by-mac", mac @ .., seg] if !mac.is_empty() && mac.len() <= 2 => {
            match read_ext(seg, "devices") {
                Some(ext) => Some(Route::DevicesByMac {
                    mac: decode(&mac.join("/"))?,
                    ext,
                }),
                None => None,
            }
        }
        ["devices", "multimac", seg] => read_ext(seg, "devices").map(Route::DevicesMultiMac),
        ["devices", "by-key", key, seg, path @ ..] => match read_ext(seg, "device") {
            Some(ext) => Some(Route::DeviceByKey {
                key: decode(key)?,
                ext,
                field: path.iter().map(|p| decode(p)).collect::<Result<_, _>>()?,
            }),
            None => None,
        },
        _ => None,
    })
}

/// Matches a raw request path (as sent, not percent-decoded) to a route; 404 for none, 405
/// for a known route asked with another method. Path parameters that may hold escapes (a
/// masked MAC's `%2F`) are decoded here.
pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let s = |i: usize| segs.get(i).map(|s| s.to_string()).unwrap_or_default();
    if let Some(r) = scan_route(&segs)? {
        let ms = methods(&r);
        if !ms.contains(&method.as_str()) {
            return Err(ApiError::method_not_allowed(method.as_str(), ms));
        }
        return Ok(r);
    }
    let r = match segs.as_slice() {
        [] => Some(Route::Ui(super::ui::Asset::Page)),
        ["ui", "app.js"] => Some(Route::Ui(super::ui::Asset::Script)),
        ["ui", "app.css"] => Some(Route::Ui(super::ui::Asset::Style)),
        ["ui", "logout"] => Some(Route::UiLogout),
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
        ["system", seg] => read_ext(seg, "status")
            .map(Route::SystemStatus)
            .or_else(|| read_ext(seg, "timestamp").map(Route::SystemTimestamp)),
        ["fleet", seg] => read_ext(seg, "hosts").map(Route::FleetHosts),
        ["messagebus", "last-time", ts, seg] => {
            read_ext(seg, "messages").map(|ext| Route::Messages {
                since: ts.to_string(),
                ext,
            })
        }
        ["gps", seg] => read_ext(seg, "location").map(Route::GpsLocation),
        ["messagebus", seg] => read_ext(seg, "all_messages").map(|ext| Route::Messages {
            since: "0".into(),
            ext,
        }),
        ["alerts", "last-time", ts, seg] => read_ext(seg, "alerts").map(|ext| Route::Alerts {
            since: ts.to_string(),
            wrapped: false,
            ext,
        }),
        ["alerts", "wrapped", "last-time", ts, seg] => {
            read_ext(seg, "alerts").map(|ext| Route::Alerts {
                since: ts.to_string(),
                wrapped: true,
                ext,
            })
        }
        ["alerts", "by-id", _, seg] => {
            read_ext(seg, "alert").map(|ext| Route::AlertById { hash: s(2), ext })
        }
        ["alerts", "definitions", seg] if cmd_ext(seg, "define_alert") => Some(Route::AlertDefine),
        ["alerts", seg] if cmd_ext(seg, "raise_alerts") || cmd_ext(seg, "raise_alert") => {
            Some(Route::AlertRaise)
        }
        ["alerts", seg] => read_ext(seg, "definitions")
            .map(Route::AlertDefinitions)
            .or_else(|| {
                read_ext(seg, "all_alerts").map(|ext| Route::Alerts {
                    since: "0".into(),
                    wrapped: false,
                    ext,
                })
            }),
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
    fn scan_and_device_routes() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(
            route(&post, "/phy/phy80211/scan/scan_report.cmd").unwrap(),
            Route::ScanReport
        );
        assert_eq!(
            route(&post, "/phy/phy80211/scan/scan_report.json").unwrap(),
            Route::ScanReport
        );
        assert_eq!(
            route(&get, "/phy/phy80211/scan/scan_report.cmd")
                .unwrap_err()
                .status
                .as_u16(),
            405
        );
        assert_eq!(
            route(&post, "/phy/phy80211/scan/scan_report.prettyjson")
                .unwrap_err()
                .status
                .as_u16(),
            404
        );
        // A masked MAC: slash raw or percent-encoded, the same route.
        let want = Route::DevicesByMac {
            mac: "AA:BB:CC:00:00:00/FF:FF:FF:00:00:00".into(),
            ext: Ext::Json,
        };
        assert_eq!(
            route(
                &get,
                "/devices/by-mac/AA:BB:CC:00:00:00/FF:FF:FF:00:00:00/devices.json"
            )
            .unwrap(),
            want
        );
        assert_eq!(
            route(
                &get,
                "/devices/by-mac/AA:BB:CC:00:00:00%2fFF%3AFF:FF:00:00:00/devices.json"
            )
            .unwrap(),
            want
        );
        assert!(matches!(
            route(&get, "/devices/by-mac/AA:BB:CC:00:00:01/devices.itjson").unwrap(),
            Route::DevicesByMac {
                ext: Ext::ItJson,
                ..
            }
        ));
        assert_eq!(
            route(&get, "/devices/by-mac/AA%zz/devices.json")
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
        assert_eq!(
            route(&get, "/devices/by-mac/a/b/c/devices.json")
                .unwrap_err()
                .status
                .as_u16(),
            404
        );
        assert_eq!(
            route(
                &post,
                "/devices/views/phydot11_accesspoints/devices.prettyjson"
            )
            .unwrap(),
            Route::DeviceView {
                view: View::AccessPoints,
                since: None,
                ext: Ext::PrettyJson
            }
        );
        assert_eq!(
            route(&get, "/devices/views/all/last-time/-10/devices.json").unwrap(),
            Route::DeviceView {
                view: View::All,
                since: Some("-10".into()),
                ext: Ext::Json
            }
        );
        assert_eq!(
            route(&get, "/devices/views/nope/devices.json")
                .unwrap_err()
                .status
                .as_u16(),
            404
        );
        assert_eq!(
            route(&get, "/devices/last-time/abc/devices.itjson").unwrap(),
            Route::DevicesSince {
                ts: "abc".into(),
                ext: Ext::ItJson
            }
        );
        assert_eq!(
            route(&get, "/devices/multimac/devices.json")
                .unwrap_err()
                .status
                .as_u16(),
            405
        );
        assert_eq!(
            route(&get, "/datasource/by-uuid/AbC/source.json").unwrap(),
            Route::SourceByUuid {
                uuid: "AbC".into(),
                ext: Ext::Json
            }
        );
        assert_eq!(
            route(&get, "/devices/by-key/k%5F1/device.json").unwrap(),
            Route::DeviceByKey {
                key: "k_1".into(),
                ext: Ext::Json,
                field: vec![],
            }
        );
        assert_eq!(
            route(
                &get,
                "/devices/by-key/k_1/device.json/dot11.device/dot11.device.num_client_aps"
            )
            .unwrap(),
            Route::DeviceByKey {
                key: "k_1".into(),
                ext: Ext::Json,
                field: vec!["dot11.device".into(), "dot11.device.num_client_aps".into()],
            }
        );
    }

    #[test]
    fn seen_by_views_and_clients_of() {
        let get = Method::GET;
        assert_eq!(
            route(
                &get,
                "/devices/views/seenby-11111111-2222-3333-4444-555555555555/devices.itjson"
            )
            .unwrap(),
            Route::DeviceView {
                view: View::SeenBy([
                    0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55,
                    0x55, 0x55, 0x55
                ]),
                since: None,
                ext: Ext::ItJson
            }
        );
        let e = route(&get, "/devices/views/seenby-nope/devices.json").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.message.contains("nope"), "{}", e.message);
        assert_eq!(
            route(
                &get,
                "/phy/phy80211/clients-of/4202770D00000000_10000CCBBAA/clients.json"
            )
            .unwrap(),
            Route::ClientsOf {
                key: "4202770D00000000_10000CCBBAA".into(),
                ext: Ext::Json
            }
        );
    }

    #[test]
    fn every_documented_route_is_served() {
        for doc in ROUTES {
            let path = doc
                .path
                .replace("{id}", "capture")
                .replace("{phy}", "IEEE802.11")
                .replace("{block}", "source")
                .replace("{uuid}", "11111111-2222-3333-4444-555555555555")
                .replace("{ts}", "-10")
                .replace("{mac}", "AA:BB:CC:00:00:00/FF:FF:FF:00:00:00")
                .replace("{key}", "4202770D00000000_10000CCBBAA");
            for m in doc.methods {
                let method = Method::from_bytes(m.as_bytes()).unwrap();
                let r = route(&method, &path).unwrap_or_else(|e| panic!("{m} {path}: {e}"));
                assert_eq!(r.access(), doc.access, "{m} {path}");
            }
        }
    }
}
