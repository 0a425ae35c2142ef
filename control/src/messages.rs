//! airsift's operational messages (Kismet's message bus): sources opened, closed, failed and
//! reopened, filter changes and who made them. A bounded ring, newest last, served by
//! `/messagebus/last-time/{ts}/messages` with Kismet's record names; each message is also
//! written to the log.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::alerts::{Alert, AlertError, Alerts, Subject};

/// Kismet's message flags (`messagebus.h`).
pub const MSGFLAG_DEBUG: i32 = 1;
pub const MSGFLAG_INFO: i32 = 2;
pub const MSGFLAG_ERROR: i32 = 4;
pub const MSGFLAG_ALERT: i32 = 8;
pub const MSGFLAG_FATAL: i32 = 16;

/// Messages kept; older ones are dropped first.
pub const CAPACITY: usize = 1024;

/// One message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Microseconds since the epoch.
    pub time_us: u64,
    pub flags: i32,
    pub text: String,
}

impl Message {
    /// Kismet's record.
    pub fn render(&self) -> Value {
        json!({
            "kismet.messagebus.message_string": self.text,
            "kismet.messagebus.message_flags": self.flags,
            "kismet.messagebus.message_time": self.time_us / 1_000_000,
        })
    }
}

/// The ring; see the module doc. It carries the alert tracker, because raising an alert is
/// also a message (Kismet posts `HEADER text` with [`MSGFLAG_ALERT`]).
#[derive(Debug)]
pub struct MessageBus {
    ring: Mutex<VecDeque<Message>>,
    capacity: usize,
    pub alerts: Alerts,
}

impl Default for MessageBus {
    fn default() -> Self {
        MessageBus::with_capacity(CAPACITY)
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl MessageBus {
    pub fn with_capacity(capacity: usize) -> MessageBus {
        MessageBus {
            ring: Mutex::new(VecDeque::with_capacity(capacity.min(CAPACITY))),
            capacity: capacity.max(1),
            alerts: Alerts::default(),
        }
    }

    /// Tells `text` once on the bus, the same words either way: flagged [`MSGFLAG_ALERT`]
    /// when alert `name` was raised with it (its limits let it through), else with `flags`.
    pub fn tell_or_raise(&self, flags: i32, name: &str, text: String) {
        match self.alerts.raise(name, &text, Subject::default()) {
            Ok(_) => self.post(MSGFLAG_ALERT, text),
            Err(_) => self.post(flags, text),
        }
    }

    /// Raises alert `name` and, when its limits let it through, posts it as a message.
    pub fn raise(&self, name: &str, text: &str, subject: Subject) -> Result<Alert, AlertError> {
        let alert = self.alerts.raise(name, text, subject)?;
        self.post(MSGFLAG_ALERT, format!("{} {}", alert.header, alert.text));
        Ok(alert)
    }

    /// Adds a message now, and writes it to the log.
    pub fn post(&self, flags: i32, text: impl Into<String>) {
        let text = text.into();
        if flags & (MSGFLAG_ERROR | MSGFLAG_FATAL | MSGFLAG_ALERT) != 0 {
            tracing::warn!(target: "airsift::messages", "{text}");
        } else {
            tracing::info!(target: "airsift::messages", "{text}");
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        // Times never go backwards in the ring, so `since` can stop at the first older one.
        let time_us = ring.back().map_or(0, |m| m.time_us).max(now_us());
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(Message {
            time_us,
            flags,
            text,
        });
    }

    /// Messages after `since_us` (microseconds since the epoch), oldest first.
    pub fn since(&self, since_us: u64) -> Vec<Message> {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let newer = ring
            .iter()
            .rev()
            .take_while(|m| m.time_us > since_us)
            .count();
        ring.iter().skip(ring.len() - newer).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Kismet's `last-time` argument: seconds since the epoch, optionally with a fraction
/// (`1700000000.123456`, as Kismet's Python client sends `sec.usec`), or a negative number of
/// seconds before now. `None` for anything else.
pub fn parse_since(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(neg) = t.strip_prefix('-') {
        let secs: f64 = neg
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
        return Some(now_us().saturating_sub((secs * 1e6) as u64));
    }
    let (sec, frac) = match t.split_once('.') {
        Some((s, f)) => (s, f),
        None => (t, ""),
    };
    let sec: u64 = sec.parse().ok()?;
    let usec: u64 = if frac.is_empty() {
        0
    } else {
        // Kismet's client sends the microseconds as an integer after the dot.
        if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 6 {
            return None;
        }
        frac.parse().ok()?
    };
    sec.checked_mul(1_000_000)?.checked_add(usec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_bounded_and_ordered() {
        let bus = MessageBus::with_capacity(3);
        for i in 0..5 {
            bus.post(MSGFLAG_INFO, format!("m{i}"));
        }
        let all: Vec<String> = bus.since(0).into_iter().map(|m| m.text).collect();
        assert_eq!(all, ["m2", "m3", "m4"]);
        let times: Vec<u64> = bus.since(0).iter().map(|m| m.time_us).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn since_returns_only_newer_messages() {
        let bus = MessageBus::default();
        bus.post(MSGFLAG_INFO, "old");
        let mark = bus.since(0)[0].time_us;
        std::thread::sleep(std::time::Duration::from_millis(2));
        bus.post(MSGFLAG_ERROR, "new");
        let newer = bus.since(mark);
        assert_eq!(newer.len(), 1);
        assert_eq!(newer[0].text, "new");
        assert_eq!(newer[0].render()["kismet.messagebus.message_flags"], 4);
    }

    #[test]
    fn last_time_arguments() {
        assert_eq!(parse_since("0"), Some(0));
        assert_eq!(parse_since("0.0"), Some(0));
        assert_eq!(parse_since("1700000000"), Some(1_700_000_000_000_000));
        assert_eq!(parse_since("1700000000.25"), Some(1_700_000_000_000_025));
        let recent = parse_since("-10").unwrap();
        assert!(now_us() - recent >= 10_000_000 && now_us() - recent < 20_000_000);
        for bad in ["", "x", "1.x", "1.1234567", "-y", "1e9"] {
            assert_eq!(parse_since(bad), None, "{bad:?}");
        }
    }
}
