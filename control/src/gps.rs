//! The host's position from gpsd (`--gpsd HOST:PORT`): a small client of gpsd's JSON protocol
//! (`?WATCH={"enable":true,"json":true}`, then `TPV` reports) on its own thread, reconnecting
//! with backoff, and Kismet's location record for `/gps/location.json`. Without gpsd, or
//! without a recent fix, the record says "no fix"; it is never an error.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::messages::{MessageBus, MSGFLAG_ERROR, MSGFLAG_INFO};

/// A fix older than this is no fix (gpsd reports about once a second).
const STALE: Duration = Duration::from_secs(10);
/// Longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One position report.
#[derive(Clone, Debug, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// Metres, when the fix is 3D.
    pub alt: Option<f64>,
    /// Kilometres per hour (Kismet's unit; gpsd reports m/s).
    pub speed_kph: f64,
    /// Degrees from true north.
    pub heading: f64,
    /// 2 (2D) or 3 (3D), as gpsd's `mode`.
    pub mode: u8,
    /// When it was received, microseconds since the epoch.
    pub time_us: u64,
}

/// The latest fix, shared between the client thread and the API.
#[derive(Debug, Default)]
pub struct Gps {
    latest: Mutex<Option<(Fix, Instant)>>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Reads one gpsd JSON line: `Some(Some(fix))` for a TPV with a 2D/3D fix, `Some(None)` for a
/// TPV without one, `None` for any other line (VERSION, DEVICES, SKY, WATCH, garbage).
pub fn parse_tpv(line: &str) -> Option<Option<Fix>> {
    let v: Value = serde_json::from_str(line).ok()?;
    if v.get("class")?.as_str()? != "TPV" {
        return None;
    }
    let mode = v.get("mode").and_then(Value::as_u64).unwrap_or(0);
    let num = |k: &str| v.get(k).and_then(Value::as_f64).filter(|x| x.is_finite());
    let (Some(lat), Some(lon)) = (num("lat"), num("lon")) else {
        return Some(None);
    };
    if mode < 2 || !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Some(None);
    }
    Some(Some(Fix {
        lat,
        lon,
        alt: if mode >= 3 {
            num("altHAE")
                .or_else(|| num("altMSL"))
                .or_else(|| num("alt"))
        } else {
            None
        },
        speed_kph: num("speed").unwrap_or(0.0) * 3.6,
        heading: num("track").unwrap_or(0.0),
        mode: mode.min(3) as u8,
        time_us: now_us(),
    }))
}

impl Gps {
    fn set(&self, fix: Option<Fix>) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) =
            fix.map(|f| (f, Instant::now()));
    }

    /// The latest fix, if it is recent.
    pub fn fix(&self) -> Option<Fix> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(_, at)| at.elapsed() < STALE)
            .map(|(f, _)| f.clone())
    }

    /// Kismet's location record (`kismet.common.location.*`): its current fields (`geopoint`
    /// as [lon, lat]) and the older `lat`/`lon` that earlier clients read.
    pub fn render(&self) -> Value {
        match self.fix() {
            Some(f) => json!({
                "kismet.common.location.geopoint": [f.lon, f.lat],
                "kismet.common.location.lat": f.lat,
                "kismet.common.location.lon": f.lon,
                "kismet.common.location.alt": f.alt.unwrap_or(0.0),
                "kismet.common.location.speed": f.speed_kph,
                "kismet.common.location.heading": f.heading,
                "kismet.common.location.fix": f.mode,
                "kismet.common.location.valid": 1,
                "kismet.common.location.time_sec": f.time_us / 1_000_000,
                "kismet.common.location.time_usec": f.time_us % 1_000_000,
            }),
            None => json!({
                "kismet.common.location.geopoint": [0.0, 0.0],
                "kismet.common.location.lat": 0.0,
                "kismet.common.location.lon": 0.0,
                "kismet.common.location.alt": 0.0,
                "kismet.common.location.speed": 0.0,
                "kismet.common.location.heading": 0.0,
                "kismet.common.location.fix": 0,
                "kismet.common.location.valid": 0,
                "kismet.common.location.time_sec": 0,
                "kismet.common.location.time_usec": 0,
            }),
        }
    }

    /// Starts the client thread for gpsd at `addr`; it ends when the returned `Arc` (and its
    /// clones) are gone and the connection next wakes it.
    pub fn start(addr: String, messages: Arc<MessageBus>) -> Arc<Gps> {
        let gps = Arc::new(Gps::default());
        let weak = Arc::downgrade(&gps);
        let _ = std::thread::Builder::new()
            .name("airsift-gpsd".into())
            .spawn(move || run(&addr, &weak, &messages));
        gps
    }
}

/// Connects, watches and reads until the connection ends; returns whether it connected.
fn session(addr: &str, weak: &Weak<Gps>, messages: &MessageBus) -> std::io::Result<()> {
    let target = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{addr} resolves to nothing")))?;
    let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(STALE))?;
    stream.write_all(b"?WATCH={\"enable\":true,\"json\":true}\n")?;
    messages.post(MSGFLAG_INFO, format!("gpsd {addr}: connected"));
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("gpsd closed the connection"));
        }
        let Some(gps) = weak.upgrade() else {
            return Ok(());
        };
        if let Some(fix) = parse_tpv(line.trim()) {
            gps.set(fix);
        }
    }
}

fn run(addr: &str, weak: &Weak<Gps>, messages: &MessageBus) {
    let mut backoff = Duration::from_secs(1);
    while weak.strong_count() > 0 {
        let started = Instant::now();
        let result = session(addr, weak, messages);
        if let Some(gps) = weak.upgrade() {
            gps.set(None);
        }
        match result {
            Ok(()) => return,
            Err(e) => messages.post(
                MSGFLAG_ERROR,
                format!("gpsd {addr}: {e}; no fix until it answers again"),
            ),
        }
        if started.elapsed() > MAX_BACKOFF {
            backoff = Duration::from_secs(1);
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpv_reports_become_fixes() {
        let f = parse_tpv(
            r#"{"class":"TPV","device":"/dev/ttyUSB0","mode":3,"lat":51.5,"lon":-0.12,"altHAE":35.2,"speed":2.5,"track":90.0}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((f.lat, f.lon, f.alt, f.mode), (51.5, -0.12, Some(35.2), 3));
        assert!((f.speed_kph - 9.0).abs() < 1e-9);
        let two_d = parse_tpv(r#"{"class":"TPV","mode":2,"lat":1.0,"lon":2.0,"alt":9}"#)
            .unwrap()
            .unwrap();
        assert_eq!(two_d.alt, None, "a 2D fix has no altitude");
        assert_eq!(parse_tpv(r#"{"class":"TPV","mode":1}"#), Some(None));
        assert_eq!(
            parse_tpv(r#"{"class":"TPV","mode":3,"lat":95,"lon":0}"#),
            Some(None)
        );
        assert_eq!(parse_tpv(r#"{"class":"VERSION","release":"3.22"}"#), None);
        assert_eq!(parse_tpv("not json"), None);
    }

    #[test]
    fn no_fix_is_a_record_not_an_error() {
        let g = Gps::default();
        assert_eq!(g.render()["kismet.common.location.fix"], 0);
        assert_eq!(g.render()["kismet.common.location.valid"], 0);
        g.set(parse_tpv(r#"{"class":"TPV","mode":3,"lat":1.5,"lon":2.5,"alt":3}"#).unwrap());
        let r = g.render();
        assert_eq!(r["kismet.common.location.geopoint"], json!([2.5, 1.5]));
        assert_eq!(r["kismet.common.location.valid"], 1);
    }
}
