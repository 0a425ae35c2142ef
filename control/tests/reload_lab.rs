//! Reload (SIGHUP, `systemctl reload airsift`): the config file is read again while frames
//! flow. A source that stays in the file loses no frame; the log moves to a new directory
//! between two batches (every frame in exactly one file, as tshark counts them); sources
//! added to or removed from the file open and close; a certificate renewed in place is
//! presented from the next handshake; the API moves to a new address; a bad file changes
//! nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::http::{ApiServer, PASSWORD};
use common::{capture, scratch, wait_until, Injector, Netns};
use nix::sys::signal::Signal;
use serde_json::Value;

const TUN_CAPTURE: &str = "rt_wltrace_trace-bigendian-5ghz.pcap";
const FILE_CAPTURE: &str = "rt_aircrack_test1_multins-fcs.pcap";

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Writes the config, sends SIGHUP, and waits for the reload's line that contains `expect`.
fn reload(s: &ApiServer, config: &Path, text: &str, expect: &str) -> String {
    std::fs::write(config, text).unwrap();
    let from = s.stderr_lines();
    s.signal(Signal::SIGHUP);
    let (at, _) = s.wait_stderr(from, "airsift: reload: ");
    s.wait_stderr(at, expect).1
}

#[test]
fn a_reload_moves_the_log_and_changes_sources_without_losing_a_frame() {
    if common::skip_unless_root("a_reload_moves_the_log_and_changes_sources_without_losing_a_frame")
    {
        return;
    }
    let ns = Netns::with_veth("reload");
    let dir = scratch("reload");
    let logs = [dir.join("log1"), dir.join("log2"), dir.join("log3")];
    let config = dir.join("airsift.toml");
    let file = capture(FILE_CAPTURE);
    let conf = |log: &Path, with_file: bool, extra: &str| {
        let mut sources = vec!["\"tpacket:rt0:name=tun\"".to_string()];
        if with_file {
            sources.push(format!("\"pcap:{}:name=file\"", file.display()));
        }
        format!(
            "source = [{}]\nlog_dir = \"{}\"\nstate_dir = \"{}\"\n{extra}",
            sources.join(", "),
            log.display(),
            dir.join("state").display()
        )
    };
    std::fs::write(&config, conf(&logs[0], false, "")).unwrap();

    let tun = Injector::tun(
        &ns,
        TUN_CAPTURE,
        &["--rate", "3000", "--loop", "--duration", "300"],
    );
    let args: Vec<String> = [
        "run",
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--json",
    ]
    .map(String::from)
    .to_vec();
    let mut s = ApiServer::start_in_ns(&ns, &dir.join("state"), &args);
    let injector = tun.pid();
    let sender = std::thread::spawn(move || {
        let mut tun = tun;
        let sent = tun.send();
        (sent, tun)
    });
    let tun_frames = |s: &ApiServer| s.frames_by_source().get("tun").copied().unwrap_or(0);
    let flowing = |s: &ApiServer, from: u64| {
        wait_until(
            "frames flowing into the TUN source",
            Duration::from_secs(120),
            || tun_frames(s) >= from + 500,
        );
        tun_frames(s)
    };
    let mut seen = flowing(&s, 0);

    // 1: the log moves to log2 and a file source joins; the TUN source is not touched.
    let l = reload(&s, &config, &conf(&logs[1], true, ""), "source pcap:");
    assert!(l.ends_with("opened"), "{l}");
    s.wait_stderr(0, &format!("log in {}", logs[1].display()));
    seen = flowing(&s, seen);
    // 2: the log moves to log3 with new limits; the file source leaves.
    let l = reload(
        &s,
        &config,
        &conf(&logs[2], false, "log_max_mb = 64\nlog_rotate_secs = 3600\n"),
        "closed: no longer in the config file",
    );
    assert!(l.contains("pcap:"), "{l}");
    s.wait_stderr(0, &format!("log in {}", logs[2].display()));
    seen = flowing(&s, seen);
    // 3: a file airsift cannot read changes nothing, and says so.
    let l = reload(&s, &config, "log_dir = 5\n", "nothing changed");
    assert!(l.contains("log_dir"), "{l}");
    // 4: a setting only a restart applies is named and kept.
    let l = reload(
        &s,
        &config,
        &conf(
            &logs[2],
            false,
            "log_max_mb = 64\nlog_rotate_secs = 3600\nblocks = 8\n",
        ),
        "kept as running",
    );
    assert!(l.contains("blocks"), "{l}");
    flowing(&s, seen);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(injector), Signal::SIGINT).unwrap();
    let (sent, tun) = sender.join().expect("injector thread");
    wait_until(
        &format!("all {sent} injected frames counted"),
        Duration::from_secs(120),
        || tun_frames(&s) >= sent,
    );
    let by_source = s.frames_by_source();
    let file_frames = by_source.get("file").copied().unwrap_or(0);
    let totals: Value = serde_json::from_str(s.stop().trim()).unwrap();
    tun.finish();

    // Nothing lost, nothing doubled: every frame the TUN device received was counted, none
    // dropped, and every passed frame is in exactly one log file.
    assert_eq!(by_source["tun"], sent, "{by_source:?}");
    assert_eq!(totals["kernel_drops"], 0, "{totals}");
    assert_eq!(totals["sink_drops"], 0, "{totals}");
    assert_eq!(totals["frames"], sent + file_frames, "{totals}");
    assert_eq!(totals["passed"], totals["frames"], "{totals}");
    assert_eq!(totals["log_frames"], totals["passed"], "{totals}");
    assert!(file_frames > 0, "the file source added by a reload ran");
    let mut in_files = 0;
    for (i, d) in logs.iter().enumerate() {
        let files = files_in(d);
        assert!(!files.is_empty(), "log{} is empty", i + 1);
        for f in files {
            in_files += common::tshark_frames(&f);
        }
    }
    assert_eq!(Some(in_files), totals["log_frames"].as_u64(), "{totals}");
}

/// A self-signed certificate for `cn` into `cert`/`key`.
fn certificate(cn: &str, cert: &Path, key: &Path) {
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", &format!("/CN={cn}"), "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl (CI installs it)")
        .status
        .success();
    assert!(ok, "openssl could not make a certificate");
}

/// The subject of the certificate `addr` presents, and the status of a GET through it.
fn handshake(addr: &str) -> (String, String) {
    let out = Command::new("curl")
        .args([
            "-vsk",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .args(["-u", &format!("admin:{PASSWORD}")])
        .arg(format!("https://{addr}/system/status.json"))
        .output()
        .expect("curl (CI installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    let subject = err
        .lines()
        .find_map(|l| l.split("subject: ").nth(1))
        .unwrap_or("")
        .to_string();
    (subject, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_reload_renews_the_certificate_moves_the_api_and_changes_the_body_limit() {
    let dir = scratch("reload-api");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    certificate("airsift-a", &cert, &key);
    let config = dir.join("airsift.toml");
    let conf = |listen: &str, body_mb: u64| {
        format!(
            "source = \"pcap:{}\"\nlisten = \"{listen}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\
             body_limit_mb = {body_mb}\nstate_dir = \"{}\"\n",
            capture(FILE_CAPTURE).display(),
            cert.display(),
            key.display(),
            dir.join("state").display()
        )
    };
    let first = format!("127.0.0.1:{}", free_port());
    std::fs::write(&config, conf(&first, 8)).unwrap();
    let args: Vec<String> = ["run", "--config", config.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    let mut s = ApiServer::start_args(&dir.join("state"), &args);
    let (subject, status) = handshake(&s.addr);
    assert!(subject.contains("CN=airsift-a"), "{subject:?}");
    assert_eq!(status, "200");

    // Renewed in place: the next handshake presents the new certificate.
    certificate("airsift-b", &cert, &key);
    reload(
        &s,
        &config,
        &conf(&first, 8),
        "TLS certificate and key read again",
    );
    let (subject, status) = handshake(&s.addr);
    assert!(subject.contains("CN=airsift-b"), "{subject:?}");
    assert_eq!(status, "200");

    // A key that does not match: the old pair stays.
    certificate("airsift-c", &dir.join("other.pem"), &key);
    let l = reload(
        &s,
        &config,
        &conf(&first, 8),
        "TLS certificate kept as it was",
    );
    assert!(l.contains("cert.pem"), "{l}");
    assert!(handshake(&s.addr).0.contains("CN=airsift-b"));
    certificate("airsift-b2", &cert, &key);

    // A new address: the API moves; the old one refuses.
    let second = format!("127.0.0.1:{}", free_port());
    reload(
        &s,
        &config,
        &conf(&second, 8),
        &format!("REST API on https://{second}/"),
    );
    let (subject, status) = handshake(&second);
    assert!(subject.contains("CN=airsift-b2"), "{subject:?}");
    assert_eq!(status, "200");
    assert_eq!(handshake(&first).1, "000", "the old address still answers");
    s.addr = second.clone();

    // The body limit: 2 MiB is fine under 8 MiB, refused (413) under 1 MiB.
    let body = vec![b' '; 2 << 20];
    let post = |addr: &str| {
        let path = dir.join("body");
        std::fs::write(&path, &body).unwrap();
        let out = Command::new("curl")
            .args([
                "-sk",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(["-u", &format!("admin:{PASSWORD}")])
            .args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(format!("@{}", path.display()))
            .arg(format!(
                "https://{addr}/filters/packet/capture/set_default.cmd"
            ))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        post(&second),
        "400",
        "2 MiB of spaces is read, then refused as JSON"
    );
    reload(&s, &config, &conf(&second, 1), "request bodies up to 1 MiB");
    assert_eq!(post(&second), "413");
    s.stop();
}
