//! `/gps/location.json` (Kismet's location record): without gpsd the "no fix" record; with
//! `--gpsd`, the position a gpsd reports, from a small gpsd of this test's own on 127.0.0.1
//! speaking the documented JSON protocol (VERSION banner, `?WATCH` from the client, TPV
//! reports); when gpsd goes away, no fix again.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::http::{ApiServer, Cred};
use serde_json::json;

const LOC: &str = "/gps/location.json";

#[test]
fn without_gpsd_the_record_says_no_fix() {
    let s = ApiServer::start_without_source(&common::scratch("nogps"));
    let r = s.get(LOC, &Cred::admin());
    assert_eq!(r.status, 200, "{}", r.text());
    let l = r.json();
    assert_eq!(l["kismet.common.location.fix"], 0, "{l}");
    assert_eq!(l["kismet.common.location.valid"], 0, "{l}");
    assert_eq!(s.get(LOC, &Cred::None).status, 401);
}

#[test]
fn a_gpsd_fix_appears_and_goes_with_gpsd() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let watched = Arc::new(AtomicBool::new(false));
    let gpsd = {
        let (stop, watched) = (stop.clone(), watched.clone());
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            writeln!(
                conn,
                r#"{{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}}"#
            )
            .unwrap();
            let mut line = String::new();
            BufReader::new(conn.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert!(line.starts_with("?WATCH="), "{line:?}");
            let w: serde_json::Value =
                serde_json::from_str(line.trim()[7..].trim_end_matches(';')).unwrap();
            assert_eq!(w["enable"], true);
            assert_eq!(w["json"], true);
            watched.store(true, Ordering::SeqCst);
            writeln!(
                conn,
                r#"{{"class":"DEVICES","devices":[{{"class":"DEVICE","path":"/dev/ttyACM0"}}]}}"#
            )
            .unwrap();
            writeln!(conn, r#"{{"class":"WATCH","enable":true,"json":true}}"#).unwrap();
            while !stop.load(Ordering::SeqCst) {
                let sent = writeln!(
                    conn,
                    r#"{{"class":"TPV","device":"/dev/ttyACM0","mode":3,"time":"2026-12-02T09:00:00.000Z","lat":48.858222,"lon":2.2945,"altHAE":35.5,"speed":1.5,"track":270.0}}"#
                );
                if sent.is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // Dropping the connection is gpsd going away.
        })
    };
    let dir = common::scratch("gps");
    let args: Vec<String> = [
        "run",
        "--listen",
        "127.0.0.1:0",
        "--gpsd",
        &addr,
        "--state-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([dir.display().to_string()])
    .collect();
    let s = ApiServer::start_args(&dir, &args);
    let admin = Cred::admin();
    common::wait_until("a 3D fix", Duration::from_secs(60), || {
        s.get(LOC, &admin).json()["kismet.common.location.fix"] == 3
    });
    assert!(watched.load(Ordering::SeqCst));
    let l = s.get(LOC, &admin).json();
    assert_eq!(
        l["kismet.common.location.geopoint"],
        json!([2.2945, 48.858222]),
        "{l}"
    );
    assert_eq!(l["kismet.common.location.lat"], 48.858222);
    assert_eq!(l["kismet.common.location.alt"], 35.5);
    assert!(
        (l["kismet.common.location.speed"].as_f64().unwrap() - 5.4).abs() < 1e-9,
        "{l}"
    );
    assert_eq!(l["kismet.common.location.heading"], 270.0);
    assert_eq!(l["kismet.common.location.valid"], 1);
    // gpsd goes away: no fix, and the message bus says so.
    stop.store(true, Ordering::SeqCst);
    gpsd.join().unwrap();
    common::wait_until("the fix to go", Duration::from_secs(60), || {
        s.get(LOC, &admin).json()["kismet.common.location.valid"] == 0
    });
    let msgs = s
        .get("/messagebus/last-time/0/messages.json", &admin)
        .json();
    let texts = msgs["kismet.messagebus.list"].to_string();
    assert!(
        texts.contains("connected") && texts.contains("no fix until"),
        "{texts}"
    );
}
