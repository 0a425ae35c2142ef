//! A small HTTP/1.1 client over a plain TCP socket (so tests control every byte: lying
//! lengths, invalid UTF-8, huge bodies) and an `airsift run` server on an ephemeral port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const PASSWORD: &str = "test-password-9f3c";

/// A reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {} {}", self.status, self.text()))
    }
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Cred {
    None,
    Basic(String, String),
    Cookie(String),
    Query(String),
}

impl Cred {
    pub fn admin() -> Cred {
        Cred::Basic("admin".into(), PASSWORD.into())
    }
}

/// Standard base64 (for Basic credentials).
pub fn b64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Servers started inside a network namespace, by address: connections to them are made
/// from a thread inside that namespace (a socket stays in the namespace it was made in).
static IN_NS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Connections to `addr` are made from inside network namespace `ns` from now on.
pub fn reach_in_namespace(addr: &str, ns: &str) {
    IN_NS
        .lock()
        .unwrap()
        .push((addr.to_string(), ns.to_string()));
}

/// A connection to a test server (made inside its namespace when it runs in one).
pub fn connect_to(addr: &str) -> TcpStream {
    connect(addr)
}

/// The complete chunks of a chunked HTTP reply's body received so far (`raw` holds the head).
pub fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return body;
    };
    let mut rest = &raw[head_end + 4..];
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let n = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|l| usize::from_str_radix(l.trim(), 16).ok())
            .expect("chunk size line");
        if rest.len() < eol + 2 + n + 2 {
            break;
        }
        body.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
        rest = &rest[eol + 2 + n + 2..];
    }
    body
}

fn connect(addr: &str) -> TcpStream {
    // Ports are per namespace: the newest server registered at this address whose namespace
    // still exists (another test's finished server may have had the same port).
    let ns = IN_NS
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(a, n)| a == addr && Path::new(&format!("/run/netns/{n}")).exists())
        .map(|(_, n)| n.clone());
    match ns {
        None => TcpStream::connect(addr).expect("connect to the API"),
        Some(ns) => {
            let addr = addr.to_string();
            std::thread::spawn(move || {
                let f = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
                nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                TcpStream::connect(&addr).expect("connect to the API in the namespace")
            })
            .join()
            .unwrap()
        }
    }
}

/// Sends one request on a new connection and reads the whole reply.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    cred: &Cred,
    content_type: Option<&str>,
    body: &[u8],
) -> Reply {
    raw(addr, method, path, cred, content_type, body, None)
}

/// [`request`] with an explicit Content-Length header (which may lie).
pub fn raw(
    addr: &str,
    method: &str,
    path: &str,
    cred: &Cred,
    content_type: Option<&str>,
    body: &[u8],
    content_length: Option<usize>,
) -> Reply {
    let mut s = connect(addr);
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut path = path.to_string();
    let mut head = String::new();
    match cred {
        Cred::None => {}
        Cred::Basic(u, p) => {
            head += &format!("Authorization: Basic {}\r\n", b64(&format!("{u}:{p}")))
        }
        Cred::Cookie(t) => head += &format!("Cookie: KISMET={t}\r\n"),
        Cred::Query(t) => {
            path += if path.contains('?') { "&" } else { "?" };
            path += &format!("KISMET={t}");
        }
    }
    if let Some(ct) = content_type {
        head += &format!("Content-Type: {ct}\r\n");
    }
    let len = content_length.unwrap_or(body.len());
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {len}\r\n{head}\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) and close before reading a large body.
    let _ = s.write_all(body);
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = Vec::new();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        loop {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            let n = usize::from_str_radix(l.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<u64>().ok())
    {
        // A peer that keeps the connection open despite `Connection: close` (chromedriver)
        // has still said how long its body is.
        let _ = r.by_ref().take(n).read_to_end(&mut body);
    } else {
        let _ = r.read_to_end(&mut body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// `airsift run` with the API on 127.0.0.1 (an ephemeral port), killed when dropped.
pub struct ApiServer {
    pub addr: String,
    pub state_dir: PathBuf,
    child: Option<Child>,
    /// Every line it wrote on standard error so far.
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ApiServer {
    /// Starts on a capture file (the server keeps serving after the file ends) with a fresh or
    /// given state directory.
    pub fn start(state_dir: &Path, extra: &[&str]) -> ApiServer {
        let cap = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/captures/rt_aircrack_test1_multins-fcs.pcap");
        let mut args: Vec<String> = vec![
            "run".into(),
            "--source".into(),
            format!("pcap:{}", cap.display()),
            "--state-dir".into(),
            state_dir.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        ApiServer::start_args(state_dir, &args)
    }

    /// Starts with no capture source: the API alone (sources could be added over REST).
    pub fn start_without_source(state_dir: &Path) -> ApiServer {
        let args: Vec<String> = ["run", "--state-dir"]
            .iter()
            .map(|s| s.to_string())
            .chain([state_dir.display().to_string()])
            .chain(["--listen".to_string(), "127.0.0.1:0".to_string()])
            .collect();
        ApiServer::start_args(state_dir, &args)
    }

    pub fn start_args(state_dir: &Path, args: &[String]) -> ApiServer {
        ApiServer::launch(
            state_dir,
            Command::new(env!("CARGO_BIN_EXE_airsift")),
            args,
            None,
        )
    }

    /// `airsift` with `args` inside a network namespace.
    pub fn start_in_ns(ns: &super::Netns, state_dir: &Path, args: &[String]) -> ApiServer {
        ApiServer::launch(
            state_dir,
            ns.cmd(env!("CARGO_BIN_EXE_airsift")),
            args,
            Some(&ns.name),
        )
    }

    /// `cmd` (an `airsift` however wrapped: `setpriv`, `ip netns exec`) with `args`; `ns`
    /// names the namespace its API is in.
    pub fn launch(
        state_dir: &Path,
        mut cmd: Command,
        args: &[String],
        ns: Option<&str>,
    ) -> ApiServer {
        // The kernel filter drops blocked frames before the workers count them; tests opt in
        // with --kernel-filter on, the rest count every frame in user space.
        let mut args = args.to_vec();
        if args.first().is_some_and(|a| a == "run") && !args.iter().any(|a| a == "--kernel-filter")
        {
            args.extend(["--kernel-filter".to_string(), "off".to_string()]);
        }
        let mut child = cmd
            .args(&args)
            .env("AIRSIFT_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start airsift");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = String::new();
        let addr = loop {
            assert!(
                Instant::now() < deadline,
                "no API address announced: {seen}"
            );
            let mut l = String::new();
            if err.read_line(&mut l).unwrap_or(0) == 0 {
                let _ = child.wait();
                panic!("airsift exited before announcing its API: {seen}");
            }
            seen += &l;
            if let Some(rest) = l.split("REST API on ").nth(1) {
                let url = rest.trim().trim_end_matches('/');
                break url.split("://").nth(1).unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on it; tests may wait for lines.
        let lines = std::sync::Arc::new(std::sync::Mutex::new(
            seen.lines().map(String::from).collect::<Vec<_>>(),
        ));
        let kept = lines.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                kept.lock().unwrap().push(line.trim_end().to_string());
                line.clear();
            }
        });
        if let Some(ns) = ns {
            IN_NS.lock().unwrap().push((addr.clone(), ns.to_string()));
        }
        ApiServer {
            addr,
            state_dir: state_dir.to_path_buf(),
            child: Some(child),
            stderr: lines,
        }
    }

    /// Frames counted per source name (`/dataplane/stats.json`).
    pub fn frames_by_source(&self) -> std::collections::HashMap<String, u64> {
        let st = self.get("/dataplane/stats.json", &Cred::admin()).json();
        st["sources"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|x| {
                (
                    x["name"].as_str().unwrap_or("").to_string(),
                    x["frames"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// Its last `n` lines on standard error, for failure messages.
    pub fn stderr_tail(&self, n: usize) -> Vec<String> {
        let lines = self.stderr.lock().unwrap();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    /// How many lines it has written on standard error so far.
    pub fn stderr_lines(&self) -> usize {
        self.stderr.lock().unwrap().len()
    }

    /// Waits for a line on standard error, from line `from` on, that contains `needle`, and
    /// returns it with its index. The deadline only guards against a hang.
    pub fn wait_stderr(&self, from: usize, needle: &str) -> (usize, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            {
                let lines = self.stderr.lock().unwrap();
                if let Some((i, l)) = lines
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, l)| l.contains(needle))
                {
                    return (i, l.clone());
                }
                assert!(
                    Instant::now() < deadline,
                    "no stderr line with {needle:?} after line {from}: {:#?}",
                    &lines[from.min(lines.len())..]
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `sig` to the process.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        if let Some(c) = &self.child {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            nix::sys::signal::kill(pid, sig).expect("signal airsift");
        }
    }

    pub fn get(&self, path: &str, cred: &Cred) -> Reply {
        request(&self.addr, "GET", path, cred, None, b"")
    }

    pub fn post_json(&self, path: &str, cred: &Cred, body: &Value) -> Reply {
        request(
            &self.addr,
            "POST",
            path,
            cred,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
    }

    pub fn post_form(&self, path: &str, cred: &Cred, body: &Value) -> Reply {
        let enc: String = form_encode(&body.to_string());
        request(
            &self.addr,
            "POST",
            path,
            cred,
            Some("application/x-www-form-urlencoded"),
            format!("json={enc}").as_bytes(),
        )
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; checks that it exited cleanly and returns what it printed on standard
    /// output (totals with --json).
    pub fn stop(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            if let Some(mut o) = c.stdout.take() {
                let _ = o.read_to_string(&mut out);
            }
            let status = c.wait().expect("wait for airsift");
            assert!(status.success(), "airsift exited with {status}: {out}");
        }
        out
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.kill9();
        if let Ok(mut v) = IN_NS.lock() {
            v.retain(|(a, _)| a != &self.addr);
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}
