//! Once a second, the device store's counters turned into alerts and messages: a flood of new
//! transmitter addresses (more than a limit in ten seconds raises `NEWTXFLOOD`), and the
//! device table evicting devices to stay under its cap (a message when it begins and when it
//! stops). Pure bookkeeping over the counters and a clock the caller gives.

use std::collections::VecDeque;

use super::{builtin, Subject};
use crate::messages::{MessageBus, MSGFLAG_INFO};
use crate::scan::DeviceStats;

/// The window the new-transmitter limit counts over.
pub const WINDOW_SECS: f64 = 10.0;

/// See the module doc.
#[derive(Debug)]
pub struct DeviceWatch {
    /// New transmitters in [`WINDOW_SECS`] that raise the alert; 0: never.
    limit: u64,
    /// (time, devices learned from frames so far), oldest first, spanning the window.
    samples: VecDeque<(f64, u64)>,
    /// Evictions counted at the last tick, and since evictions began (when they are going on).
    evicted: Option<u64>,
    evicting_since: Option<u64>,
}

impl DeviceWatch {
    pub fn new(limit: u64) -> DeviceWatch {
        DeviceWatch {
            limit,
            samples: VecDeque::new(),
            evicted: None,
            evicting_since: None,
        }
    }

    /// A new limit (a reload), counted over the same window.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// One look at the counters at `now` (seconds, any monotonic origin).
    pub fn tick(&mut self, now: f64, stats: &DeviceStats, bus: &MessageBus) {
        self.samples.push_back((now, stats.learned));
        while self
            .samples
            .get(1)
            .is_some_and(|&(t, _)| t <= now - WINDOW_SECS)
        {
            self.samples.pop_front();
        }
        let (_, oldest) = self.samples[0];
        let new = stats.learned.saturating_sub(oldest);
        if self.limit > 0 && new > self.limit {
            let _ = bus.raise(
                builtin::NEW_TX_FLOOD.0,
                &format!(
                    "{new} new transmitter addresses in the last {WINDOW_SECS} s (limit {})",
                    self.limit
                ),
                Subject::default(),
            );
        }
        let before = self.evicted.replace(stats.evicted);
        let evicting = before.is_some_and(|b| stats.evicted > b);
        match (evicting, self.evicting_since) {
            (true, None) => {
                self.evicting_since = before;
                bus.post(
                    MSGFLAG_INFO,
                    format!(
                        "device table full ({} devices): evicting devices seen once, least \
                         recently seen first",
                        stats.max
                    ),
                );
            }
            (false, Some(from)) => {
                self.evicting_since = None;
                bus.post(
                    MSGFLAG_INFO,
                    format!(
                        "device table: evictions stopped after {} devices",
                        stats.evicted - from
                    ),
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(learned: u64, evicted: u64) -> DeviceStats {
        DeviceStats {
            stored: 0,
            max: 100,
            evicted,
            learned,
            untracked_frames: 0,
            ssids_dropped: 0,
        }
    }

    fn alerts(bus: &MessageBus) -> Vec<String> {
        bus.alerts.since(0.0).into_iter().map(|a| a.text).collect()
    }

    #[test]
    fn a_flood_over_the_window_raises_once_per_limit() {
        let bus = MessageBus::default();
        let mut w = DeviceWatch::new(100);
        // 10 new a second: 100 in ten seconds is not over the limit.
        for s in 0..=20 {
            w.tick(s as f64, &stats(s * 10, 0), &bus);
        }
        assert!(alerts(&bus).is_empty());
        // 101 in one second.
        w.tick(21.0, &stats(200 + 101, 0), &bus);
        assert_eq!(alerts(&bus).len(), 1, "{:?}", alerts(&bus));
        // Since t = 11 (110 learned).
        assert!(alerts(&bus)[0].starts_with("191 new transmitter addresses"));
        // Still over the limit, but the definition's burst (1 a second of real time) holds
        // the next one back.
        w.tick(22.5, &stats(301, 0), &bus);
        assert_eq!(alerts(&bus).len(), 1);
        // Ten seconds of quiet: the window no longer holds the burst.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        w.tick(40.0, &stats(301, 0), &bus);
        assert_eq!(alerts(&bus).len(), 1);
        let mut off = DeviceWatch::new(0);
        off.tick(0.0, &stats(0, 0), &bus);
        off.tick(1.0, &stats(1_000_000, 0), &bus);
        assert_eq!(alerts(&bus).len(), 1, "limit 0: never");
    }

    #[test]
    fn evictions_are_told_when_they_begin_and_stop() {
        let bus = MessageBus::default();
        let mut w = DeviceWatch::new(0);
        w.tick(0.0, &stats(0, 0), &bus);
        w.tick(1.0, &stats(0, 5), &bus);
        w.tick(2.0, &stats(0, 9), &bus);
        w.tick(3.0, &stats(0, 9), &bus);
        let texts: Vec<String> = bus.since(0).into_iter().map(|m| m.text).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].contains("device table full (100 devices)"));
        assert!(texts[1].contains("evictions stopped after 9 devices"));
    }
}
