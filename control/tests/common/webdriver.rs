//! A small W3C WebDriver client over the tests' own HTTP client, driving Debian's `chromium`
//! through `chromedriver` started inside a lab namespace (so the browser reaches an airsift
//! listening on the namespace's loopback). The browser and the driver are stopped when the
//! [`Browser`] is dropped, also when the test panics.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::http::{self, Cred};
use super::{Netns, Proc};

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session.
pub struct Browser {
    driver: String,
    session: String,
    profile: PathBuf,
    _chromedriver: Proc,
}

fn call(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    if std::env::var_os("AIRSIFT_WEBDRIVER_TRACE").is_some() {
        eprintln!(
            "webdriver: {method} {path} {}",
            body.map(|b| b.to_string()).unwrap_or_default()
        );
    }
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let ct = body.map(|_| "application/json");
    let r = http::request(addr, method, path, &Cred::None, ct, bytes.as_bytes());
    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    assert!(
        r.status == 200,
        "WebDriver {method} {path}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    v["value"].clone()
}

impl Browser {
    /// Starts chromedriver in `ns` and a headless Chromium session of `width` x `height`.
    pub fn start(ns: &Netns, profile: &Path, width: u32, height: u32) -> Browser {
        let port = 9515;
        let driver = format!("127.0.0.1:{port}");
        let child = ns
            .cmd("chromedriver")
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}.log", profile.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (CI installs chromium-driver)");
        let proc = Proc(child);
        http::reach_in_namespace(&driver, &ns.name);
        // Listening first (a connection from inside the namespace), then ready.
        let ns_name = ns.name.clone();
        super::wait_until("chromedriver listening", Duration::from_secs(60), || {
            let (ns_name, port) = (ns_name.clone(), port);
            std::thread::spawn(move || {
                let f = std::fs::File::open(format!("/run/netns/{ns_name}")).unwrap();
                nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            })
            .join()
            .unwrap_or(false)
        });
        super::wait_until("chromedriver ready", Duration::from_secs(60), || {
            call(&driver, "GET", "/status", None)["ready"] == true
        });
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let v = call(&driver, "POST", "/session", Some(&caps));
        let session = v["sessionId"].as_str().expect("a session id").to_string();
        Browser {
            driver,
            session,
            profile: profile.to_path_buf(),
            _chromedriver: proc,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        call(
            &self.driver,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({ "url": url })));
    }

    /// The element `css` selects (it must exist).
    pub fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().expect("an element").to_string()
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(&json!({})));
    }

    /// Clears a field and types `text` into it, as a user would.
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(&json!({})));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(&json!({ "text": text })),
        );
    }

    /// Chooses the option whose text is `label` in a `<select>`.
    pub fn select(&self, css: &str, label: &str) {
        let option = format!("{css} option");
        let script = "const [sel, label] = arguments; \
             for (const o of document.querySelectorAll(sel)) { if (o.textContent === label) { \
             return true; } } return false;";
        assert_eq!(
            self.js(script, &[json!(option), json!(label)]),
            true,
            "{css} has no option {label}"
        );
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(&json!({})));
        let o = self.cmd(
            "POST",
            &format!("/element/{e}/element"),
            Some(&json!({"using": "xpath", "value": format!("./option[. = '{label}']")})),
        );
        let o = o[ELEMENT].as_str().unwrap().to_string();
        self.cmd("POST", &format!("/element/{o}/click"), Some(&json!({})));
    }

    /// The visible text of the element `css` selects.
    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page and returns its value.
    pub fn js(&self, script: &str, args: &[Value]) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// Waits until `script` returns true in the page.
    pub fn wait_for(&self, what: &str, script: &str) {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if self.js(script, &[]) == json!(true) {
                return;
            }
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(&json!({"width": width, "height": height})),
        );
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64 PNG"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            http::request(
                &self.driver,
                "DELETE",
                &format!("/session/{}", self.session),
                &Cred::None,
                None,
                b"",
            )
        });
        // Whatever Chromium left behind (its processes carry the profile directory).
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.display()))
            .status();
    }
}
