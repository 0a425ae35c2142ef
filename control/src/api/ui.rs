//! The status page: `/` and its script and style sheet, embedded in the binary (no CDN,
//! nothing fetched at run time; no framework: `control/ui/` is plain HTML, CSS and one
//! script). The page talks only to the REST API, with the `KISMET` session cookie its login
//! form gets from `/session/check_login`. For a wall display, `/?KISMET=KEY` checks the API
//! key in the address, turns it into that cookie and redirects to `/`, so the key leaves the
//! address bar and the page stays logged in.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use super::AppState;
use crate::auth::Credentials;

const PAGE: &str = include_str!("../../ui/index.html");
const SCRIPT: &str = include_str!("../../ui/app.js");
const STYLE: &str = include_str!("../../ui/app.css");

/// How long a key given in the address stays in the browser: a wall display is rebooted
/// more often than that, and the key itself may expire sooner.
const KEY_COOKIE_SECS: u64 = 400 * 24 * 3600;

/// One of the page's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asset {
    Page,
    Script,
    Style,
}

/// The page's own origin only: no inline script, nothing from elsewhere, not framed.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                      data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                      form-action 'self'";

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

fn redirect_home(cookie: Option<String>, fragment: &str) -> HttpResponse {
    let mut r = HttpResponse::SeeOther();
    r.insert_header((header::LOCATION, format!("/{fragment}")));
    r.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.insert_header((header::SET_COOKIE, c));
    }
    r.finish()
}

/// Serves `asset`; the page with `?KISMET=KEY` checks the key first (see the module doc): a
/// valid one becomes the cookie, an invalid one leads to the login form saying so.
pub fn serve(asset_: Asset, req: &HttpRequest, state: &AppState) -> HttpResponse {
    match asset_ {
        Asset::Script => asset(SCRIPT, "text/javascript; charset=utf-8"),
        Asset::Style => asset(STYLE, "text/css; charset=utf-8"),
        Asset::Page => {
            let query = req.query_string();
            if !query.split('&').any(|kv| kv.starts_with("KISMET=")) {
                return asset(PAGE, "text/html; charset=utf-8");
            }
            // The query only, whatever cookie the browser still holds.
            let creds = Credentials {
                cookie_header: None,
                authorization: None,
                query,
            };
            if state.auth.authenticate(&creds).is_err() {
                return redirect_home(None, "#badkey");
            }
            let key = crate::auth::credentials::query_values(query, "KISMET")
                .into_iter()
                .find(|k| !k.is_empty())
                .unwrap_or_default();
            redirect_home(
                Some(format!(
                    "KISMET={key}; Path=/; HttpOnly; SameSite=Strict; Max-Age={KEY_COOKIE_SECS}"
                )),
                "",
            )
        }
    }
}

/// Ends the login session the cookie holds (an API key stays valid) and expires the cookie.
pub fn logout(req: &HttpRequest, state: &AppState) -> HttpResponse {
    if let Some(c) = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
    {
        state.auth.end_sessions(c);
    }
    let mut r = HttpResponse::Ok();
    r.insert_header((
        header::SET_COOKIE,
        "KISMET=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
    ));
    r.json(serde_json::json!({"success": true, "status": "logged out"}))
}
