//! The REST API (API.md): one dispatcher reads the path into a [`Route`], checks the
//! caller's role, reads the command dictionary, and calls the handler. Both URL families of
//! the packet filters become the same routes here, so one implementation serves both.

pub mod alerts;
mod auth_routes;
pub mod datasources;
pub mod devices;
pub mod error;
pub mod fields;
pub mod filters;
pub mod observe;
pub mod openapi;
pub mod reply;
pub mod request;
pub mod routes;
pub mod scan;
pub mod ui;

use std::collections::hash_map::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::auth::{Auth, AuthError, Authenticated, Credentials, Role};
use crate::filters::FilterRegistry;
use crate::scan::ScanService;
use crate::store::Store;
use error::ApiError;
use routes::{Access, Route};

/// Request durations by status class (`code_class` = `2xx`, `4xx`, ...).
pub type DurationFamily = prometheus_client::metrics::family::Family<
    [(&'static str, &'static str); 1],
    prometheus_client::metrics::histogram::Histogram,
    fn() -> prometheus_client::metrics::histogram::Histogram,
>;

/// Counters of the control plane itself, for `/metrics`.
#[derive(Debug)]
pub struct ControlMetrics {
    pub requests: AtomicU64,
    pub client_errors: AtomicU64,
    pub server_errors: AtomicU64,
    pub filter_changes: AtomicU64,
    /// Scan report requests answered 200.
    pub scan_requests: AtomicU64,
    /// Reports stored by those requests.
    pub scan_reports_accepted: AtomicU64,
    /// Reports rejected (and listed) in those requests.
    pub scan_reports_rejected: AtomicU64,
    /// Seconds from [`dispatch`] entry to the response (a stream's head, not its end).
    pub http_request_duration: DurationFamily,
}

impl ControlMetrics {
    /// Buckets 0.5 ms, 1 ms, 2 ms ... 8.192 s (doubling), then +Inf.
    fn duration_histogram() -> prometheus_client::metrics::histogram::Histogram {
        prometheus_client::metrics::histogram::Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 15),
        )
    }

    /// Counts one answered request in the latency histogram.
    pub fn observe_request(&self, status: actix_web::http::StatusCode, took: std::time::Duration) {
        let class = match status.as_u16() / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        self.http_request_duration
            .get_or_create(&[("code_class", class)])
            .observe(took.as_secs_f64());
    }
}

impl Default for ControlMetrics {
    fn default() -> Self {
        let http_request_duration =
            DurationFamily::new_with_constructor(ControlMetrics::duration_histogram as fn() -> _);
        // The usual classes exist from the start, so a rate over them never misses its first
        // request.
        for class in ["2xx", "4xx", "5xx"] {
            drop(http_request_duration.get_or_create(&[("code_class", class)]));
        }
        ControlMetrics {
            requests: AtomicU64::default(),
            client_errors: AtomicU64::default(),
            server_errors: AtomicU64::default(),
            filter_changes: AtomicU64::default(),
            scan_requests: AtomicU64::default(),
            scan_reports_accepted: AtomicU64::default(),
            scan_reports_rejected: AtomicU64::default(),
            http_request_duration,
        }
    }
}

/// Everything a handler can reach.
pub struct AppState {
    pub auth: Auth,
    pub filters: Arc<FilterRegistry>,
    pub store: Arc<Store>,
    /// Scan reports, their datasources and devices.
    pub scan: Arc<ScanService>,
    pub dataplane: observe::Observed,
    /// airsift's operational messages (`/messagebus/...`).
    pub messages: Arc<crate::messages::MessageBus>,
    /// The host's position (no fix without `--gpsd`).
    pub gps: Arc<crate::gps::Gps>,
    /// Largest request body in bytes (a reload may change it).
    pub body_limit: std::sync::atomic::AtomicUsize,
    pub started: Instant,
    pub metrics: ControlMetrics,
    /// The fleet (`--nats`), if this host is in one.
    pub fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// Reads the body up to the limit; a declared or actual size over it is a 413.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit as u64) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether a role may use a route. Roles are not hierarchical; admin passes everywhere.
fn allowed(access: Access, role: Role) -> bool {
    match access {
        Access::Public | Access::AnyRole => true,
        Access::Read => matches!(role, Role::Admin | Role::Readonly),
        Access::Admin => role == Role::Admin,
        Access::ScanReport => matches!(role, Role::Admin | Role::ScanReport),
    }
}

pub(super) fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Missing => ApiError::unauthorized(
            "authentication required: HTTP Basic with the admin user, or a KISMET session cookie or API key",
        ),
        AuthError::Invalid => ApiError::unauthorized("invalid credentials"),
        AuthError::Conflict(m) | AuthError::BadRequest(m) => ApiError::bad_request(m),
        AuthError::Store(e) => ApiError::internal(format!("credential store: {e}")),
    }
}

/// The one entry point of every request.
pub async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    let resp = match handle(&req, payload, &state).await {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                state.metrics.server_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(path = req.path(), status = e.status.as_u16(), error = %e.message, "request failed");
            } else {
                state.metrics.client_errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(path = req.path(), status = e.status.as_u16(), error = %e.message, "request refused");
            }
            let mut r = actix_web::ResponseError::error_response(&e);
            // A script's request (the status page's) gets no Basic challenge: a browser would
            // answer one with its own login dialog instead of letting the page show its form.
            if req.headers().contains_key("x-requested-with") {
                r.headers_mut().remove(header::WWW_AUTHENTICATE);
            }
            r
        }
    };
    state
        .metrics
        .observe_request(resp.status(), started.elapsed());
    resp
}

/// Password checks that may run at once; requests with the same `Authorization` value always
/// share one lock.
const BASIC_LOGIN_LOCKS: usize = 4;

/// Takes the lock a Basic login holds while it is checked. Clients that send Basic on every
/// request over many connections all miss the login cache together when it expires (every
/// [`crate::auth::BASIC_CACHE_TTL`]); without the lock each of them would verify argon2id at
/// the same moment, each with argon2's 19 MiB of working memory, all on the same cores. With
/// it, the first verifies and the others, waiting behind it, are answered from the cache.
/// Different credentials usually take different locks, so a stream of wrong passwords delays
/// a valid login only when they collide (the hash is keyed per process). Password checks hold
/// at most `BASIC_LOGIN_LOCKS` argon2 blocks at once.
fn basic_login_lock(authorization: Option<&str>) -> MutexGuard<'static, ()> {
    use std::hash::BuildHasher;
    static LOCKS: LazyLock<(RandomState, [Mutex<()>; BASIC_LOGIN_LOCKS])> =
        LazyLock::new(|| (RandomState::new(), Default::default()));
    let (keys, locks) = &*LOCKS;
    let i = keys.hash_one(authorization.unwrap_or("")) as usize % BASIC_LOGIN_LOCKS;
    // It guards no data: a panic in another holder leaves nothing to repair.
    locks[i].lock().unwrap_or_else(PoisonError::into_inner)
}

/// Authenticates off the HTTP thread when the request carries a password: argon2 takes tens of
/// milliseconds by design, and a stream of wrong passwords must not stall every other request.
/// Cookies and API keys are a hash lookup and are checked in place.
async fn authenticate(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Authenticated, ApiError> {
    let text = |h| req.headers().get(h).and_then(|v| v.to_str().ok());
    let cookie = text(header::COOKIE);
    let authorization = text(header::AUTHORIZATION);
    let query = req.query_string();
    let password = authorization.is_some_and(|a| {
        a.trim_start().len() > 5 && a.trim_start()[..5].eq_ignore_ascii_case("basic")
    });
    if !password {
        let creds = Credentials {
            cookie_header: cookie,
            authorization,
            query,
        };
        return state.auth.authenticate(&creds).map_err(auth_error);
    }
    let (cookie, authorization, query) = (
        cookie.map(str::to_string),
        authorization.map(str::to_string),
        query.to_string(),
    );
    let state = state.clone();
    web::block(move || {
        let _one = basic_login_lock(authorization.as_deref());
        let creds = Credentials {
            cookie_header: cookie.as_deref(),
            authorization: authorization.as_deref(),
            query: &query,
        };
        state.auth.authenticate(&creds)
    })
    .await
    .map_err(|e| ApiError::internal(format!("authentication task failed: {e}")))?
    .map_err(auth_error)
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let route = routes::route(req.method(), req.path())?;
    let access = route.access();
    let mut new_session = None;
    let mut by = String::from("nobody");
    if access != Access::Public {
        let who = authenticate(req, state).await?;
        by = who.principal.name.clone();
        if !allowed(access, who.principal.role) {
            return Err(ApiError::forbidden(format!(
                "role {} may not use {} {}",
                who.principal.role.as_str(),
                req.method(),
                req.path()
            )));
        }
        new_session = who.new_session;
    }
    let body = read_body(
        req,
        payload,
        state.body_limit.load(std::sync::atomic::Ordering::Relaxed),
    )
    .await?;
    let dict: Map<String, Value> = if req.method() == Method::POST {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        request::command_dict(ct, &body)?
    } else {
        Map::new()
    };
    let mut resp = run(route, req, state, dict, &by).await?;
    if let Some(token) = new_session {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "KISMET={token}; Path=/; HttpOnly; SameSite=Strict"
        )) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

async fn run(
    route: Route,
    req: &HttpRequest,
    state: &AppState,
    owned: Map<String, Value>,
    by: &str,
) -> Result<HttpResponse, ApiError> {
    let dict = &owned;
    let reg = &state.filters;
    // A change that was applied is counted and told on the message bus, with who made it and
    // the generation it produced.
    let changed = |id: &str, r: Result<HttpResponse, ApiError>| {
        if r.is_ok() {
            state.metrics.filter_changes.fetch_add(1, Ordering::Relaxed);
            let generation = reg.generation(id).unwrap_or(0);
            state.messages.tell_or_raise(
                crate::messages::MSGFLAG_INFO,
                crate::alerts::builtin::FILTER_CHANGE.0,
                format!("packet filter {id} changed by {by}: generation {generation}"),
            );
        }
        r
    };
    match route {
        Route::OpenApi => Ok(openapi::reply()),
        Route::Ui(asset) => Ok(ui::serve(asset, req, state)),
        Route::UiLogout => Ok(ui::logout(req, state)),
        Route::CheckSession => Ok(reply::command_ok("session is valid", Map::new())),
        Route::CheckLogin => Ok(reply::command_ok("login is valid", Map::new())),
        Route::KeyGenerate => auth_routes::generate(&state.auth, dict),
        Route::KeyRevoke => auth_routes::revoke(&state.auth, dict),
        Route::KeyList(ext) => auth_routes::list(&state.auth, ext, dict),
        Route::FilterList(ext) => filters::list(reg, ext, dict),
        Route::FilterStatus { id, ext } => filters::status(reg, &id, ext, dict),
        Route::FilterDefault { id } => changed(&id, filters::set_default(reg, &id, dict)),
        Route::FilterSet { id, phy, block } => changed(
            &id,
            filters::set_terms(reg, &id, phy.as_deref(), &block, dict),
        ),
        Route::FilterRemove { id, phy, block } => changed(
            &id,
            filters::remove_terms(reg, &id, phy.as_deref(), &block, dict),
        ),
        // The reports move to the blocking pool whole.
        Route::ScanReport => scan::report(state, owned).await,
        Route::SourceList(ext) => datasources::sources(state, ext, dict).await,
        Route::SourceByUuid { uuid, ext } => datasources::source(state, &uuid, ext, dict).await,
        Route::SourceAdd => datasources::add(state, request::Ext::Json, dict).await,
        Route::SourceCommand { uuid, command } => {
            datasources::command(state, &uuid, command, dict).await
        }
        Route::SourceTypes(ext) => datasources::types(ext, dict),
        Route::SourceInterfaces(ext) => datasources::interfaces(state, ext, dict),
        Route::DeviceView { view, since, ext } => {
            devices::view(state, req, view, since.as_deref(), ext, dict).await
        }
        Route::DevicesSince { ts, ext } => devices::since(state, req, &ts, ext, dict).await,
        Route::DevicesByMac { mac, ext } => devices::by_mac(state, req, &mac, ext, dict).await,
        Route::DevicesMultiMac(ext) => devices::multimac(state, req, ext, dict).await,
        Route::DeviceByKey { key, ext, field } => {
            devices::by_key(state, req, &key, ext, &field, dict).await
        }
        Route::ClientsOf { key, ext } => devices::clients_of(state, req, &key, ext, dict).await,
        Route::Stats(ext) => observe::stats(state, ext, dict),
        Route::SystemStatus(ext) => observe::system_status(state, ext, dict),
        Route::SystemTimestamp(ext) => observe::timestamp(ext, dict),
        Route::FleetHosts(ext) => observe::fleet_hosts(state, ext, dict),
        Route::GpsLocation(ext) => reply::document(state.gps.render(), ext, dict),
        Route::Messages { since, ext } => observe::messages(state, &since, ext, dict),
        Route::Alerts {
            since,
            wrapped,
            ext,
        } => alerts::since(state, &since, wrapped, ext, dict),
        Route::AlertById { hash, ext } => alerts::by_id(state, &hash, ext, dict),
        Route::AlertDefinitions(ext) => alerts::definitions(state, ext, dict),
        Route::AlertDefine => alerts::define(state, dict),
        Route::AlertRaise => alerts::raise(state, dict),
        Route::Metrics => Ok(observe::metrics(state)),
        Route::Stream => observe::stream(state, req),
    }
}
