//! HTTPS: `--tls-cert/--tls-key` serve the same API over rustls; a bad key file is a clear
//! start-up error.

mod common;

use std::process::Command;

use common::http::{ApiServer, PASSWORD};

#[test]
fn serves_https_with_the_given_certificate() {
    let dir = common::scratch("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (CI installs it)")
        .status
        .success();
    assert!(ok, "openssl could not make a certificate");
    let s = ApiServer::start(
        &dir.join("state"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let out = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-u",
            &format!("admin:{PASSWORD}"),
        ])
        .arg(format!("https://{}/system/status.json", s.addr))
        .output()
        .expect("curl (CI installs it)");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(body["airsift.capture.backend"], "pcap");
    // Plain HTTP on the TLS port gets no API reply.
    let plain = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .arg(format!("http://{}/system/status.json", s.addr))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("airsift.capture.backend"));
}

#[test]
fn a_bad_key_is_a_clear_error() {
    let dir = common::scratch("tls-bad");
    std::fs::write(dir.join("cert.pem"), "not a certificate").unwrap();
    std::fs::write(dir.join("key.pem"), "not a key").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .args(["run", "--source"])
        .arg(format!(
            "pcap:{}",
            common::capture("rt_zeek_radiotap-qos.pcap").display()
        ))
        .args(["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir.join("state"))
        .arg("--tls-cert")
        .arg(dir.join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.join("key.pem"))
        .env("AIRSIFT_ADMIN_PASSWORD", "x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cert.pem") && err.contains("TLS"), "{err}");
}
