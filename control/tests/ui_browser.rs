//! The status page in a real browser: Debian's Chromium, headless, driven over WebDriver by
//! chromedriver, inside a lab namespace where airsift captures from a radiotap TUN that the
//! injector feeds. Logs in with the form, watches the charts move, blocks a transmitter from
//! the page and sees the blocked count and the generation change in the page and in the API,
//! pauses and resumes the source, finds an access point from a scan report in the list and on
//! the map, fits a phone's screen, and logs a wall display in with `/?KISMET=KEY`.
//! Screenshots are saved under the build tree's tmp directory as artifacts.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::http::{Cred, PASSWORD};
use common::webdriver::Browser;
use common::{capture, scratch, wait_until, Airsift, Injector, Netns};
use serde_json::{json, Value};

const TUN_CAPTURE: &str = "rt_wltrace_trace-bigendian-5ghz.pcap";

/// The transmitter that sends the most frames in the capture, as `airsift inspect` reads it.
fn busiest_transmitter() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_airsift"))
        .arg("inspect")
        .arg(capture(TUN_CAPTURE))
        .output()
        .unwrap();
    let mut count: HashMap<String, usize> = HashMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if let Some(s) = v["source"].as_str() {
            *count.entry(s.to_string()).or_default() += 1;
        }
    }
    count.into_iter().max_by_key(|(_, n)| *n).unwrap().0
}

fn artifact(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn num(b: &Browser, css: &str) -> u64 {
    b.text(css).parse().unwrap_or(0)
}

#[test]
fn the_status_page_shows_the_capture_and_changes_the_filter() {
    if common::skip_unless_root("the_status_page_shows_the_capture_and_changes_the_filter") {
        return;
    }
    let ns = Netns::with_veth("ui");
    let dir = scratch("ui");
    let tun = Injector::tun(
        &ns,
        TUN_CAPTURE,
        &["--rate", "1000", "--loop", "--duration", "600"],
    );
    let airsift = Airsift::start(
        &ns,
        &dir.join("state"),
        &["--source", "tpacket:rt0:name=lab"],
    );
    let s = &airsift.api;
    let admin = Cred::admin();
    // From a phone's scan report: two access points with a position, and 28 without whose
    // SSIDs a search finds (two pages of 25; the capture teaches the store its own APs too).
    let mut reports = vec![
        json!({"bssid": "AA:BB:CC:00:00:01", "ssid": "cafe", "capabilities": "[WPA2-PSK-CCMP][ESS]",
               "channel": 6, "signal": -60, "lat": 52.52, "lon": 13.40}),
        json!({"bssid": "AA:BB:CC:00:00:02", "ssid": "library", "capabilities": "[ESS]",
               "channel": 11, "signal": -71, "lat": 52.51, "lon": 13.39}),
    ];
    for i in 3..=30 {
        reports.push(
            json!({"bssid": format!("AA:BB:CC:00:01:{i:02X}"), "ssid": format!("zz-page-{i:02}"),
                            "capabilities": "[ESS]", "channel": 1, "signal": -80}),
        );
    }
    let r = s.post_json(
        "/phy/phy80211/scan/scan_report.cmd",
        &admin,
        &json!({"source_uuid": "5fe308bd-0000-4000-8000-00000000ab01", "source_name": "phone",
                "reports": reports}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let key = s
        .post_json(
            "/auth/apikey/generate.cmd",
            &admin,
            &json!({"name": "wall", "role": "readonly", "duration": 0}),
        )
        .json();
    let key = key["kismet.apikey.token"]
        .as_str()
        .or_else(|| key["token"].as_str())
        .unwrap_or_else(|| panic!("a token in {key}"))
        .to_string();

    let browser = Browser::start(&ns, &dir.join("chromium"), 1280, 1000);
    let base = format!("http://{}", s.addr);
    browser.goto(&format!("{base}/"));
    browser.wait_for(
        "the login form",
        "return !document.getElementById('login').hidden",
    );
    // A wrong password is refused in the page.
    browser.type_into("#password", "wrong");
    browser.click("#login-button");
    browser.wait_for(
        "the refusal",
        "return document.getElementById('login-error').textContent.includes('wrong user')",
    );
    browser.type_into("#user", "admin");
    browser.type_into("#password", PASSWORD);
    browser.click("#login-button");
    browser.wait_for("the page", "return !document.getElementById('app').hidden");

    // Frames flow: the charts take samples and the rate shows.
    let mut tun = tun;
    let sender = std::thread::spawn(move || {
        let n = tun.send();
        (n, tun)
    });
    browser.wait_for(
        "charts updating with the lab source",
        "const c = document.getElementById('chart-sources'); \
         return Number(c.dataset.samples) >= 5 \
           && document.getElementById('legend-sources').textContent.includes('lab') \
           && document.getElementById('rate-frames').textContent !== '0';",
    );
    let samples = |b: &Browser| {
        b.js(
            "return Number(document.getElementById('chart-workers').dataset.samples)",
            &[],
        )
        .as_u64()
        .unwrap()
    };
    let before = samples(&browser);
    browser.wait_for(
        "more samples",
        &format!(
            "return Number(document.getElementById('chart-workers').dataset.samples) > {before}"
        ),
    );
    assert_eq!(num(&browser, "#total-blocked"), 0);
    let gen_before: u64 = browser.text("#filter-generation").parse().unwrap();

    // Block the busiest transmitter from the page.
    let mac = busiest_transmitter();
    browser.select("#term-block", "source");
    browser.type_into("#term-mac", &mac);
    browser.select("#term-action", "block");
    browser.click("#term-add");
    let api_gen = |s: &common::http::ApiServer| {
        s.get("/packetfilters/capture/filter.json", &admin).json()
            ["airsift.packetfilter.generation"]
            .as_u64()
            .unwrap()
    };
    wait_until(
        "the API's generation moves",
        Duration::from_secs(60),
        || api_gen(s) > gen_before,
    );
    let gen_after = api_gen(s);
    let doc = s.get("/packetfilters/capture/filter.json", &admin).json();
    assert_eq!(
        doc["kismet.packetfilter.macaddr.blocks_by_phy"]["IEEE802.11"]
            ["kismet.packetfilter.macaddr.source"][&mac],
        1,
        "{doc}"
    );
    browser.wait_for(
        "the new generation and blocked frames in the page",
        &format!(
            "return document.getElementById('filter-generation').textContent === '{gen_after}' \
               && document.getElementById('generation').textContent === '{gen_after}' \
               && Number(document.getElementById('total-blocked').textContent) > 0 \
               && [...document.querySelectorAll('#workers tbody tr')].every(r => \
                    r.lastChild.textContent === '{gen_after}') \
               && document.getElementById('filter-terms').textContent.includes('{mac}');"
        ),
    );
    let blocked_api = s.get("/dataplane/stats.json", &admin).json()["total"]["blocked"]
        .as_u64()
        .unwrap();
    assert!(blocked_api > 0);
    browser.screenshot(&artifact("ui-desktop.png"));

    // Pause and resume the source from the page.
    let paused = |s: &common::http::ApiServer| {
        s.get("/datasource/all_sources.json", &admin).json()[0]["kismet.datasource.paused"].clone()
    };
    browser.wait_for(
        "the scan-report source listed without commands",
        "return document.getElementById('source-list').textContent.includes('scan reports')",
    );
    browser.click("#source-list tbody button");
    wait_until("paused in the API", Duration::from_secs(60), || {
        paused(s) == 1
    });
    browser.wait_for(
        "the page says paused",
        "return document.getElementById('source-list').textContent.includes('paused')",
    );
    browser.click("#source-list tbody button");
    wait_until("resumed in the API", Duration::from_secs(60), || {
        paused(s) == 0
    });
    let frames = |s: &common::http::ApiServer| {
        s.get("/dataplane/stats.json", &admin).json()["total"]["frames"]
            .as_u64()
            .unwrap()
    };
    let resumed_at = frames(s);
    wait_until(
        "frames counted again after the resume",
        Duration::from_secs(60),
        || frames(s) > resumed_at + 100,
    );

    // Access points: the list, a search, the map.
    browser.wait_for(
        "both located access points on the map",
        "return document.getElementById('ap-map').dataset.points === '2'",
    );
    browser.type_into("#device-query", "zz-page");
    browser.click("#device-search button[type=submit]");
    browser.wait_for(
        "the first page of the search",
        "return document.getElementById('device-count').textContent === '1-25 of 28' \
           && document.querySelectorAll('#device-list tbody tr').length === 25",
    );
    browser.click("#device-next");
    browser.wait_for(
        "the second page",
        "return document.getElementById('device-count').textContent === '26-28 of 28' \
           && document.querySelectorAll('#device-list tbody tr').length === 3",
    );
    browser.type_into("#device-query", "caf");
    browser.click("#device-search button[type=submit]");
    browser.wait_for(
        "one search result",
        "const rows = document.querySelectorAll('#device-list tbody tr'); \
         return rows.length === 1 && rows[0].textContent.includes('cafe') \
           && rows[0].textContent.includes('WPA2');",
    );

    // A phone's screen: nothing wider than the viewport.
    browser.resize(390, 844);
    browser.wait_for(
        "a layout that fits 390 px",
        "return document.documentElement.scrollWidth <= window.innerWidth",
    );
    browser.screenshot(&artifact("ui-phone.png"));
    browser.resize(1280, 1000);

    // Log out; a wall display logs in with a readonly key in the address.
    browser.click("#logout");
    browser.wait_for(
        "logged out",
        "return !document.getElementById('login').hidden",
    );
    browser.goto(&format!("{base}/?KISMET=not-a-key"));
    browser.wait_for(
        "a bad key refused",
        "return document.getElementById('login-error').textContent.includes('not valid')",
    );
    browser.goto(&format!("{base}/?KISMET={key}"));
    browser.wait_for(
        "the readonly page",
        "return !document.getElementById('app').hidden \
           && document.body.classList.contains('readonly') \
           && location.search === '' \
           && getComputedStyle(document.getElementById('filter-add')).display === 'none' \
           && Number(document.getElementById('chart-sources').dataset.samples) >= 3",
    );
    // Still logged in after a reload of the page (the key became the cookie).
    browser.goto(&format!("{base}/"));
    browser.wait_for(
        "still logged in, charts filling",
        "return !document.getElementById('app').hidden \
           && Number(document.getElementById('chart-sources').dataset.samples) >= 3 \
           && document.getElementById('rate-frames').textContent !== '0'",
    );
    browser.screenshot(&artifact("ui-wall.png"));
    drop(browser);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ns.pid_of("airsift-inject").expect("the injector runs")),
        nix::sys::signal::Signal::SIGINT,
    )
    .ok();
    let (_, tun) = sender.join().unwrap();
    // airsift first: the TUN device goes when the injector does.
    let totals = airsift.stop();
    assert!(totals["blocked"].as_u64().unwrap() > 0, "{totals}");
    tun.finish();
    for shot in ["ui-desktop.png", "ui-phone.png", "ui-wall.png"] {
        eprintln!("screenshot: {}", artifact(shot).display());
    }
}
