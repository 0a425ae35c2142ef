//! Alerts, Kismet's alert tracker: named definitions with a class, a severity and rate limits,
//! and a bounded backlog of the alerts raised, served by `/alerts/...` with Kismet's record
//! names. Clients define and raise their own; airsift raises its own classes (see
//! [`builtin`]). Raising an alert also posts it on the message bus, as Kismet does.

pub mod rate;
pub mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use dataplane::wire::MacAddr;

use crate::scan::kismet::{adler32, device_key};
use rate::{Limits, Unit};

/// Alerts kept; the oldest goes first.
pub const BACKLOG: usize = 1024;

/// airsift's own alerts, defined at start. Their names, classes and severities follow
/// Kismet's conventions (`SOURCEERROR` is Kismet's own name for a failing source).
pub mod builtin {
    use super::Severity;

    /// (name, class, severity, description)
    pub type Def = (&'static str, &'static str, Severity, &'static str);

    pub const DROPS: Def = (
        "CAPTUREDROPS",
        "SYSTEM",
        Severity::High,
        "A source began losing frames: the kernel dropped them from its ring, or the sinks \
         (log, live stream) could not keep up.",
    );
    pub const SOURCE_ERROR: Def = (
        "SOURCEERROR",
        "SYSTEM",
        Severity::High,
        "A capture source failed (its interface went away, or it could not be opened); it \
         is retried.",
    );
    pub const NEW_TX_FLOOD: Def = (
        "NEWTXFLOOD",
        "PROBE",
        Severity::Medium,
        "More new transmitter addresses appeared in ten seconds than the configured limit \
         (randomised-address floods, spoofing tools).",
    );
    pub const FILTER_CHANGE: Def = (
        "FILTERCHANGE",
        "SYSTEM",
        Severity::Info,
        "A packet filter was changed, by whom and to which generation.",
    );
    pub const ALL: [Def; 4] = [DROPS, SOURCE_ERROR, NEW_TX_FLOOD, FILTER_CHANGE];
}

/// Kismet's `kis_alert_severity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Info = 0,
    Low = 5,
    Medium = 10,
    High = 15,
    Critical = 20,
}

impl Severity {
    /// 0, 5, 10, 15 or 20, or one of their names (any case).
    pub fn from_json(v: &Value) -> Option<Severity> {
        if let Some(n) = v.as_u64() {
            return [
                Severity::Info,
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ]
            .into_iter()
            .find(|s| *s as u64 == n);
        }
        match v.as_str()?.to_ascii_uppercase().as_str() {
            "INFO" => Some(Severity::Info),
            "LOW" => Some(Severity::Low),
            "MEDIUM" => Some(Severity::Medium),
            "HIGH" => Some(Severity::High),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// One definition.
#[derive(Clone, Debug)]
pub struct Definition {
    /// Upper case, as Kismet stores headers.
    pub header: String,
    pub class: String,
    pub severity: Severity,
    pub description: String,
    pub limits: Limits,
}

impl Definition {
    pub fn render(&self) -> Value {
        let l = &self.limits;
        json!({
            "kismet.alert.definition.header": self.header,
            "kismet.alert.definition.class": self.class,
            "kismet.alert.definition.severity": self.severity as u8,
            "kismet.alert.definition.description": self.description,
            "kismet.alert.definition.phyid": -1,
            "kismet.alert.definition.limit_unit": l.limit_unit as u8,
            "kismet.alert.definition.limit_rate": l.limit_rate,
            "kismet.alert.definition.burst_unit": l.burst_unit as u8,
            "kismet.alert.definition.limit_burst": l.limit_burst,
            "kismet.alert.definition.burst_sent": l.burst_sent,
            "kismet.alert.definition.total_sent": l.total_sent,
            "kismet.alert.definition.time_last": l.time_last,
        })
    }
}

/// What a raise names besides the text: Kismet's `bssid` (the transmitter), source,
/// destination and other addresses (48-bit), and a channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub transmitter: Option<u64>,
    pub source: Option<u64>,
    pub dest: Option<u64>,
    pub other: Option<u64>,
    pub channel: String,
}

/// One alert raised.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub header: String,
    pub class: String,
    pub severity: Severity,
    /// Seconds since the epoch, microsecond precision.
    pub time: f64,
    pub subject: Subject,
    pub text: String,
    /// Kismet's `kismet.alert.hash`, which `/alerts/by-id/{hash}` finds.
    pub hash: u32,
}

/// Kismet's spelling of an address (uppercase colon hex), all zeros for none.
fn mac_text(m: Option<u64>) -> String {
    MacAddr::from_be_u64(m.unwrap_or(0)).to_string()
}

impl Alert {
    pub fn render(&self) -> Value {
        let s = &self.subject;
        json!({
            "kismet.alert.device_key": device_key(s.transmitter.unwrap_or(0)),
            "kismet.alert.header": self.header,
            "kismet.alert.class": self.class,
            "kismet.alert.hash": self.hash,
            "kismet.alert.severity": self.severity as u8,
            "kismet.alert.phy_id": u32::MAX,
            "kismet.alert.timestamp": self.time,
            "kismet.alert.transmitter_mac": mac_text(s.transmitter),
            "kismet.alert.source_mac": mac_text(s.source),
            "kismet.alert.dest_mac": mac_text(s.dest),
            "kismet.alert.other_mac": mac_text(s.other),
            "kismet.alert.channel": s.channel,
            "kismet.alert.frequency": 0.0,
            "kismet.alert.text": self.text,
        })
    }
}

/// Why an alert could not be defined or raised.
#[derive(Debug, PartialEq, Eq)]
pub enum AlertError {
    /// A definition of that name exists.
    Exists(String),
    /// No definition of that name.
    Unknown(String),
    /// The definition's rate limits refused it (or silence it).
    Throttled(String),
    /// A limit that cannot be read or cannot apply.
    BadLimits(String),
}

impl std::fmt::Display for AlertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertError::Exists(n) => write!(f, "an alert named {n} is already defined"),
            AlertError::Unknown(n) => write!(f, "no alert named {n} is defined"),
            AlertError::Throttled(n) => write!(
                f,
                "alert {n} not raised: its throttle or burst limit is reached"
            ),
            AlertError::BadLimits(m) => write!(f, "{m}"),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    defs: BTreeMap<String, Definition>,
    backlog: VecDeque<Alert>,
}

/// The tracker; see the module doc.
#[derive(Debug)]
pub struct Alerts {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts::with_capacity(BACKLOG)
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64 / 1e6)
}

impl Alerts {
    /// A tracker holding airsift's own definitions (10 a minute, 1 a second each, Kismet's
    /// defaults) and at most `capacity` alerts.
    pub fn with_capacity(capacity: usize) -> Alerts {
        let a = Alerts {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        };
        for (name, class, severity, description) in builtin::ALL {
            a.define(
                name,
                class,
                severity,
                description,
                (10, Unit::Minute),
                (1, Unit::Second),
            )
            .expect("built-in alerts are distinct");
        }
        a
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Defines an alert; its name and class are kept in upper case.
    pub fn define(
        &self,
        name: &str,
        class: &str,
        severity: Severity,
        description: &str,
        throttle: (u64, Unit),
        burst: (u64, Unit),
    ) -> Result<(), AlertError> {
        let header = name.trim().to_ascii_uppercase();
        let limits = Limits::new(throttle, burst).map_err(AlertError::BadLimits)?;
        let mut inner = self.lock();
        if inner.defs.contains_key(&header) {
            return Err(AlertError::Exists(header));
        }
        inner.defs.insert(
            header.clone(),
            Definition {
                header,
                class: class.trim().to_ascii_uppercase(),
                severity,
                description: description.to_string(),
                limits,
            },
        );
        Ok(())
    }

    /// Raises alert `name` (any case) unless its limits refuse it; returns what was raised.
    pub fn raise(&self, name: &str, text: &str, subject: Subject) -> Result<Alert, AlertError> {
        let header = name.trim().to_ascii_uppercase();
        let mut inner = self.lock();
        let t = now().max(inner.backlog.back().map_or(0.0, |a| a.time));
        let def = inner
            .defs
            .get_mut(&header)
            .ok_or_else(|| AlertError::Unknown(header.clone()))?;
        if !def.limits.admit(t) {
            return Err(AlertError::Throttled(header));
        }
        let key = format!(
            "{} {} {} {:.6} {} {} {} {} {}",
            def.header,
            def.severity as u8,
            u32::MAX,
            t,
            mac_text(subject.transmitter),
            mac_text(subject.source),
            mac_text(subject.dest),
            mac_text(subject.other),
            subject.channel
        );
        let alert = Alert {
            header: def.header.clone(),
            class: def.class.clone(),
            severity: def.severity,
            time: t,
            subject,
            text: text.to_string(),
            hash: adler32(key.as_bytes()),
        };
        if inner.backlog.len() == self.capacity {
            inner.backlog.pop_front();
        }
        inner.backlog.push_back(alert.clone());
        Ok(alert)
    }

    /// Alerts raised after `since` (seconds since the epoch), oldest first.
    pub fn since(&self, since: f64) -> Vec<Alert> {
        let inner = self.lock();
        let newer = inner
            .backlog
            .iter()
            .rev()
            .take_while(|a| a.time > since)
            .count();
        inner
            .backlog
            .iter()
            .skip(inner.backlog.len() - newer)
            .cloned()
            .collect()
    }

    /// The alert whose `kismet.alert.hash` is `hash`.
    pub fn by_hash(&self, hash: u32) -> Option<Alert> {
        self.lock().backlog.iter().find(|a| a.hash == hash).cloned()
    }

    pub fn definitions(&self) -> Vec<Definition> {
        self.lock().defs.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn define_raise_and_the_backlog_bound() {
        let a = Alerts::with_capacity(2);
        a.define(
            "ScaryAlert",
            "other",
            Severity::High,
            "d",
            (100, Unit::Minute),
            (100, Unit::Second),
        )
        .unwrap();
        assert_eq!(
            a.define(
                "scaryalert",
                "x",
                Severity::Info,
                "",
                (1, Unit::Minute),
                (1, Unit::Second)
            ),
            Err(AlertError::Exists("SCARYALERT".into()))
        );
        for i in 0..3 {
            let r = a.raise("scaryALERT", &format!("t{i}"), Subject::default());
            assert_eq!(r.unwrap().class, "OTHER");
        }
        let texts: Vec<String> = a.since(0.0).into_iter().map(|x| x.text).collect();
        assert_eq!(texts, ["t1", "t2"]);
        let last = a.since(0.0).pop().unwrap();
        assert_eq!(a.by_hash(last.hash), Some(last.clone()));
        assert!(a.since(last.time).is_empty());
        assert_eq!(
            a.raise("nope", "", Subject::default()),
            Err(AlertError::Unknown("NOPE".into()))
        );
    }

    #[test]
    fn limits_refuse_and_builtins_exist() {
        let a = Alerts::default();
        let names: Vec<String> = a.definitions().into_iter().map(|d| d.header).collect();
        for (n, ..) in builtin::ALL {
            assert!(names.contains(&n.to_string()), "{n}");
        }
        // Built-ins: 1 a second.
        assert!(a.raise("FILTERCHANGE", "one", Subject::default()).is_ok());
        assert_eq!(
            a.raise("FILTERCHANGE", "two", Subject::default()),
            Err(AlertError::Throttled("FILTERCHANGE".into()))
        );
        let d = a
            .definitions()
            .into_iter()
            .find(|d| d.header == "FILTERCHANGE")
            .unwrap();
        let r = d.render();
        assert_eq!(r["kismet.alert.definition.total_sent"], 1);
        assert_eq!(r["kismet.alert.definition.limit_unit"], 1);
        assert_eq!(r["kismet.alert.definition.limit_burst"], 1);
    }

    #[test]
    fn records_carry_kismets_fields() {
        let a = Alerts::default();
        let s = Subject {
            transmitter: Some(0x0200_0000_0001),
            channel: "6".into(),
            ..Subject::default()
        };
        let r = a
            .raise("SOURCEERROR", "wlan0 went away", s)
            .unwrap()
            .render();
        assert_eq!(r["kismet.alert.transmitter_mac"], "02:00:00:00:00:01");
        assert_eq!(r["kismet.alert.source_mac"], "00:00:00:00:00:00");
        assert_eq!(r["kismet.alert.severity"], 15);
        assert_eq!(r["kismet.alert.class"], "SYSTEM");
        assert_eq!(r["kismet.alert.channel"], "6");
        assert!(r["kismet.alert.timestamp"].as_f64().unwrap() > 1.7e9);
        assert!(r["kismet.alert.hash"].is_u64());
        assert_eq!(Severity::from_json(&json!(20)), Some(Severity::Critical));
        assert_eq!(Severity::from_json(&json!("low")), Some(Severity::Low));
        assert_eq!(Severity::from_json(&json!(7)), None);
    }
}
