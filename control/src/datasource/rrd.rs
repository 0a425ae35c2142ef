//! Kismet's round-robin counter history (`kismet.common.rrd.*`), the `packets_rrd` and
//! `packets_datasize_rrd` of every datasource record: the last minute per second, the last
//! hour per minute, the last day per hour.
//!
//! The rules are those of Kismet's `kis_tracked_rrd` with its default aggregator (the one
//! Kismet uses for both datasource RRDs), so that a client plotting Kismet's vectors plots
//! ours the same way:
//!
//! - Samples within one second add up (`combine_element` is a sum).
//! - `minute_vec[t % 60]` holds that second's sum. Moving forward, the seconds skipped since
//!   the last sample are blanked (0) before the new second is written.
//! - After every sample, `hour_vec[(t / 60) % 60]` becomes the *average* of all 60 slots of
//!   `minute_vec` (a per-second rate, not the minute's total), and `day_vec[(t / 3600) % 24]`
//!   the average of all 60 slots of `hour_vec`. The minute slot therefore ends up holding the
//!   average of the 60 seconds before the minute's last sample.
//! - A gap of more than 60 s since the last sample wipes `minute_vec` except the new second
//!   and blanks the minutes skipped in `hour_vec`; more than an hour wipes `hour_vec` except
//!   the new minute and blanks the hours skipped in `day_vec`; more than a day wipes
//!   everything except the new second, minute and hour.
//! - Reading fast-forwards: Kismet adds a 0 sample at the current time before serialising, so
//!   a quiet source shows zeros instead of its last busy minute. [`Rrd::render`] does the same
//!   on a copy, so that reading never changes what later samples produce.
//!
//! Where Kismet is wrong for samples older than the newest one we differ, on purpose: Kismet
//! moves `last_time` backwards to the late sample's time (so the next on-time sample blanks
//! and overwrites the newest second) and accepts a sample exactly 60 s old into the slot the
//! current second uses. Here a late sample younger than 60 s is added to its second's slot
//! and nothing else changes; an older one is dropped.

use serde_json::{Map, Value};

/// Seconds in the minute vector, minutes in the hour vector, hours in the day vector.
const SECONDS: usize = 60;
const MINUTES: usize = 60;
const HOURS: usize = 24;

/// Kismet's default aggregator's empty value (`blank_val`).
const BLANK: f64 = 0.0;

/// One counter's history. Plain data, fixed size: adding a sample never allocates.
#[derive(Clone, Debug, PartialEq)]
pub struct Rrd {
    /// Time of the newest sample (seconds since the epoch); 0 before the first.
    last_time: u64,
    /// The newest second's value, and the value before it.
    last_value: f64,
    last_value_n1: f64,
    /// Per second, indexed by `t % 60`.
    minute: [f64; SECONDS],
    /// Per minute, indexed by `(t / 60) % 60`: the average per-second value.
    hour: [f64; MINUTES],
    /// Per hour, indexed by `(t / 3600) % 24`: the average of the hour vector.
    day: [f64; HOURS],
}

impl Default for Rrd {
    fn default() -> Rrd {
        Rrd::new()
    }
}

/// The default aggregator's `combine_vector`: the plain average over every slot, blanks
/// included.
fn average(v: &[f64]) -> f64 {
    if v.is_empty() {
        return BLANK;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Blanks the ring slots strictly after `last` and strictly before `now` (Kismet's
/// `minutes_different` / `hours_different` walk).
fn blank_between(ring: &mut [f64], last: usize, now: usize) {
    let n = ring.len();
    if n == 0 {
        return;
    }
    let mut i = (last + 1) % n;
    while i != now % n {
        ring[i] = BLANK;
        i = (i + 1) % n;
    }
}

/// Blanks every slot, then sets one.
fn reset_to(ring: &mut [f64], slot: usize, value: f64) {
    ring.fill(BLANK);
    if let Some(s) = ring.get_mut(slot) {
        *s = value;
    }
}

/// Kismet prints a double as an integer when it is whole and with six decimals otherwise
/// (`float_numerical_string`); NaN and infinities as 0. The same numbers as JSON values.
fn number(v: f64) -> Value {
    if !v.is_finite() {
        return Value::from(0);
    }
    if v.floor() == v && v.abs() < 9.0e18 {
        return Value::from(v as i64);
    }
    let rounded = (v * 1e6).round() / 1e6;
    serde_json::Number::from_f64(rounded).map_or(Value::from(0), Value::Number)
}

fn numbers(v: &[f64]) -> Value {
    Value::Array(v.iter().copied().map(number).collect())
}

impl Rrd {
    /// An empty history, as Kismet builds it: every slot blank, `last_time` 0.
    pub const fn new() -> Rrd {
        Rrd {
            last_time: 0,
            last_value: 0.0,
            last_value_n1: 0.0,
            minute: [BLANK; SECONDS],
            hour: [BLANK; MINUTES],
            day: [BLANK; HOURS],
        }
    }

    /// Time of the newest sample, 0 before the first.
    pub fn last_time(&self) -> u64 {
        self.last_time
    }

    /// The per-second slots, indexed by `t % 60`.
    pub fn minute_vec(&self) -> &[f64; SECONDS] {
        &self.minute
    }

    /// The per-minute slots (average per second), indexed by `(t / 60) % 60`.
    pub fn hour_vec(&self) -> &[f64; MINUTES] {
        &self.hour
    }

    /// The per-hour slots (average of the hour vector), indexed by `(t / 3600) % 24`.
    pub fn day_vec(&self) -> &[f64; HOURS] {
        &self.day
    }

    /// Adds `value` to second `now_secs` (Kismet's `add_sample`).
    pub fn add_sample(&mut self, value: i64, now_secs: u64) {
        self.add(value as f64, now_secs);
    }

    fn add(&mut self, v: f64, t: u64) {
        let sec = (t % 60) as usize;
        let min = ((t / 60) % 60) as usize;
        let hr = ((t / 3600) % 24) as usize;
        let lt = self.last_time;

        // Kismet updates the last values before anything else, late samples included.
        self.last_value_n1 = self.last_value;
        self.last_value = if t == lt { self.last_value + v } else { v };

        if t < lt {
            // A late sample: only while its second's slot still belongs to it.
            if lt - t < SECONDS as u64 {
                self.minute[sec] += v;
            }
            return;
        }

        let gap = t - lt;
        if gap > 24 * 3600 {
            // Nothing known is still inside the day: start over from this sample.
            reset_to(&mut self.minute, sec, v);
            let m = average(&self.minute);
            reset_to(&mut self.hour, min, m);
            let h = average(&self.hour);
            reset_to(&mut self.day, hr, h);
        } else if gap > 3600 {
            reset_to(&mut self.minute, sec, v);
            let m = average(&self.minute);
            reset_to(&mut self.hour, min, m);
            let h = average(&self.hour);
            blank_between(&mut self.day, ((lt / 3600) % 24) as usize, hr);
            self.day[hr] = h;
        } else if gap > 60 {
            reset_to(&mut self.minute, sec, v);
            let m = average(&self.minute);
            blank_between(&mut self.hour, ((lt / 60) % 60) as usize, min);
            self.hour[min] = m;
            self.day[hr] = average(&self.hour);
        } else {
            if gap == 0 {
                self.minute[sec] += v;
            } else {
                blank_between(&mut self.minute, (lt % 60) as usize, sec);
                self.minute[sec] = v;
            }
            self.hour[min] = average(&self.minute);
            self.day[hr] = average(&self.hour);
        }
        self.last_time = t;
    }

    /// The `kismet.common.rrd.*` object as Kismet serialises it at `now_secs`: fast-forwarded
    /// to `now_secs` (on a copy; `self` is unchanged), `serial_time` = `now_secs`, Kismet's
    /// key order.
    pub fn render(&self, now_secs: u64) -> Value {
        let mut r = self.clone();
        r.add(BLANK, now_secs);
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(format!("kismet.common.rrd.{k}"), v);
        };
        put("last_time", r.last_time.into());
        put("serial_time", now_secs.into());
        put("last_value", number(r.last_value));
        put("last_value_n1", number(r.last_value_n1));
        put("minute_vec", numbers(&r.minute));
        put("hour_vec", numbers(&r.hour));
        put("day_vec", numbers(&r.day));
        put("blank_val", number(BLANK));
        Value::Object(m)
    }
}

/// An [`Rrd`] fed from a cumulative counter (the workers' frame and byte totals, read once a
/// second): each reading adds the growth since the previous one, which is what Kismet's
/// per-packet `add_sample(1, now)` calls add up to within a second.
#[derive(Clone, Debug, PartialEq)]
pub struct CounterRrd {
    rrd: Rrd,
    last_counter: u64,
}

impl CounterRrd {
    /// Starts the history at the counter's current value. Like Kismet when it creates a
    /// datasource, it records a 0 sample at `now_secs`, so a fresh source renders with that
    /// time and all-blank vectors.
    pub fn from_counter(counter: u64, now_secs: u64) -> CounterRrd {
        let mut rrd = Rrd::new();
        rrd.add_sample(0, now_secs);
        CounterRrd {
            rrd,
            last_counter: counter,
        }
    }

    /// Adds the counter's growth since the previous reading at `now_secs`. A counter lower
    /// than before was restarted (new workers start from zero): its whole value is new.
    pub fn sample(&mut self, counter: u64, now_secs: u64) {
        let delta = if counter >= self.last_counter {
            counter - self.last_counter
        } else {
            counter
        };
        self.last_counter = counter;
        self.rrd
            .add_sample(i64::try_from(delta).unwrap_or(i64::MAX), now_secs);
    }

    /// The counter value of the last reading.
    pub fn last_counter(&self) -> u64 {
        self.last_counter
    }

    pub fn rrd(&self) -> &Rrd {
        &self.rrd
    }

    /// See [`Rrd::render`].
    pub fn render(&self, now_secs: u64) -> Value {
        self.rrd.render(now_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-20 00:00:00 UTC: second 0 of minute 0 of hour 0 (a multiple of 86,400).
    const DAY0: u64 = 1_795_132_800;

    fn at(h: u64, m: u64, s: u64) -> u64 {
        DAY0 + h * 3600 + m * 60 + s
    }

    fn reference_rrd() -> Value {
        let r: Value =
            serde_json::from_str(include_str!("testdata/kismet_add_source_pcapfile.json")).unwrap();
        r["kismet.datasource.packets_rrd"].clone()
    }

    #[test]
    fn day0_is_midnight() {
        assert_eq!(DAY0 % 86_400, 0);
    }

    #[test]
    fn a_sample_lands_in_its_second_and_same_second_samples_add() {
        let mut r = Rrd::new();
        r.add_sample(5, at(3, 4, 17));
        assert_eq!(r.minute_vec()[17], 5.0);
        assert_eq!(r.minute_vec().iter().filter(|&&v| v != 0.0).count(), 1);
        assert_eq!(r.last_time(), at(3, 4, 17));
        r.add_sample(3, at(3, 4, 17));
        assert_eq!(r.minute_vec()[17], 8.0);
        assert_eq!((r.last_value, r.last_value_n1), (8.0, 5.0));
        // Minute 4's slot is the average of the 60 seconds, hour 3's of the 60 minutes.
        assert_eq!(r.hour_vec()[4], 8.0 / 60.0);
        assert!((r.day_vec()[3] - 8.0 / 3600.0).abs() < 1e-12);
    }

    #[test]
    fn skipped_seconds_are_blanked() {
        let mut r = Rrd::new();
        for s in 0..60 {
            r.add_sample(1, at(0, 0, s));
        }
        assert!(r.minute_vec().iter().all(|&v| v == 1.0));
        r.add_sample(7, at(0, 1, 5));
        for s in 0..60 {
            let want = match s {
                0..=4 => 0.0, // skipped: were 1 a minute ago
                5 => 7.0,
                _ => 1.0, // still inside the last 60 s
            };
            assert_eq!(r.minute_vec()[s], want, "second {s}");
        }
        // 54 ones and a seven over 60 s.
        assert_eq!(r.hour_vec()[1], 61.0 / 60.0);
        assert_eq!(r.hour_vec()[0], 1.0);
    }

    #[test]
    fn a_full_minute_rolls_into_the_hour_as_its_average() {
        let mut r = Rrd::new();
        for m in 0..3 {
            for s in 0..60 {
                r.add_sample(6 * (m as i64 + 1), at(1, m, s));
            }
        }
        assert_eq!(&r.hour_vec()[..4], &[6.0, 12.0, 18.0, 0.0]);
        assert_eq!(r.day_vec()[1], 36.0 / 60.0);
    }

    #[test]
    fn over_a_minute_without_samples_clears_the_seconds_and_blanks_skipped_minutes() {
        let mut r = Rrd::new();
        for m in 0..10 {
            for s in 0..60 {
                r.add_sample(2, at(5, m, s));
            }
        }
        assert!(r.hour_vec()[..10].iter().all(|&v| v == 2.0));
        // 211 s after the last sample: minutes 10..=12 had none and are blanked.
        r.add_sample(60, at(5, 13, 30));
        assert_eq!(r.minute_vec()[30], 60.0);
        assert_eq!(r.minute_vec().iter().sum::<f64>(), 60.0);
        assert_eq!(&r.hour_vec()[9..14], &[2.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(r.day_vec()[5], 21.0 / 60.0);
    }

    #[test]
    fn over_an_hour_clears_the_hour_and_blanks_skipped_hours() {
        let mut r = Rrd::new();
        for h in 0..6 {
            r.add_sample(60, at(h, 0, 0));
        }
        // Each hour: one minute slot of 1.0 (60 over 60 s) → hour average 1/60.
        assert_eq!(r.day_vec()[5], 1.0 / 60.0);
        r.add_sample(3600, at(9, 30, 0));
        assert_eq!(r.minute_vec()[0], 3600.0);
        assert_eq!(r.hour_vec()[30], 60.0);
        assert_eq!(r.hour_vec().iter().sum::<f64>(), 60.0);
        assert_eq!(
            &r.day_vec()[4..10],
            &[1.0 / 60.0, 1.0 / 60.0, 0.0, 0.0, 0.0, 1.0]
        );
    }

    #[test]
    fn over_a_day_blanks_everything_but_the_new_sample() {
        let mut r = Rrd::new();
        for h in 0..24 {
            for m in 0..60 {
                r.add_sample(1, at(h, m, 59));
            }
        }
        assert!(r.day_vec().iter().all(|&v| v > 0.0));
        r.add_sample(120, at(24 + 2, 10, 20) + 86_400);
        assert_eq!(r.minute_vec()[20], 120.0);
        assert_eq!(r.minute_vec().iter().sum::<f64>(), 120.0);
        assert_eq!(r.hour_vec()[10], 2.0);
        assert_eq!(r.hour_vec().iter().sum::<f64>(), 2.0);
        assert_eq!(r.day_vec()[2], 2.0 / 60.0);
        assert_eq!(r.day_vec().iter().sum::<f64>(), 2.0 / 60.0);
    }

    #[test]
    fn a_whole_day_gap_keeps_nothing_of_the_old_day() {
        // Exactly 86,400 s is Kismet's "within the day" branch: the same hour slot, every
        // other hour blanked.
        let mut r = Rrd::new();
        for h in 0..24 {
            r.add_sample(60, at(h, 0, 0));
        }
        r.add_sample(60, at(23, 0, 0) + 86_400);
        let nonzero: Vec<usize> = (0..24).filter(|&h| r.day_vec()[h] != 0.0).collect();
        assert_eq!(nonzero, vec![23]);
    }

    #[test]
    fn late_samples_fill_their_second_and_never_move_time_back() {
        let mut r = Rrd::new();
        r.add_sample(1, at(0, 0, 40));
        r.add_sample(2, at(0, 0, 35));
        assert_eq!((r.minute_vec()[35], r.minute_vec()[40]), (2.0, 1.0));
        assert_eq!(r.last_time(), at(0, 0, 40));
        // 60 s old: its slot is the current second's, so it is dropped.
        r.add_sample(9, at(0, 0, 40) - 60);
        r.add_sample(9, at(0, 0, 40) - 3600);
        assert_eq!(r.minute_vec().iter().sum::<f64>(), 3.0);
        r.add_sample(4, at(0, 0, 41));
        assert_eq!((r.minute_vec()[40], r.minute_vec()[41]), (1.0, 4.0));
    }

    #[test]
    fn render_fast_forwards_a_copy() {
        let mut r = Rrd::new();
        r.add_sample(5, at(2, 0, 10));
        let before = r.clone();
        let now = at(2, 0, 30);
        let v = r.render(now);
        assert_eq!(r, before, "render must not change the history");
        assert_eq!(v["kismet.common.rrd.last_time"], now);
        assert_eq!(v["kismet.common.rrd.serial_time"], now);
        assert_eq!(v["kismet.common.rrd.last_value"], 0);
        assert_eq!(v["kismet.common.rrd.last_value_n1"], 5);
        assert_eq!(v["kismet.common.rrd.minute_vec"][10], 5);
        // Three minutes on: the second is gone, its minute averaged.
        let v = r.render(at(2, 3, 0));
        let minute = v["kismet.common.rrd.minute_vec"].as_array().unwrap();
        assert!(minute.iter().all(|x| x == 0));
        assert_eq!(v["kismet.common.rrd.hour_vec"][0].as_f64(), Some(0.083333));
        assert_eq!(v["kismet.common.rrd.hour_vec"][3], 0);
        // Whole numbers print as integers, as Kismet prints them.
        assert_eq!(v["kismet.common.rrd.hour_vec"][3].to_string(), "0");
    }

    #[test]
    fn fresh_render_matches_kismets_shape() {
        let want = reference_rrd();
        let now = 1_795_446_915;
        let got = CounterRrd::from_counter(0, now).render(now);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&got), keys(&want));
        for k in keys(&want) {
            let (w, g) = (&want[&k], &got[&k]);
            assert_eq!(
                w.as_array().map(Vec::len),
                g.as_array().map(Vec::len),
                "{k}"
            );
        }
        // Kismet's answer was a fresh source rendered in its creation second: equal outright.
        assert_eq!(got, want);
        assert_eq!(Rrd::new().render(now), want);
    }

    #[test]
    fn counter_deltas_and_restarts() {
        let t = at(4, 0, 0);
        let mut c = CounterRrd::from_counter(1000, t);
        c.sample(1010, t + 1);
        c.sample(1010, t + 2);
        c.sample(1025, t + 3);
        c.sample(7, t + 4); // workers restarted from zero
        c.sample(u64::MAX, t + 5);
        let m = c.rrd().minute_vec();
        assert_eq!(&m[..5], &[0.0, 10.0, 0.0, 15.0, 7.0]);
        assert_eq!(m[5], i64::MAX as f64);
        assert_eq!(c.last_counter(), u64::MAX);
    }

    #[test]
    fn no_panic_at_the_ends_of_time() {
        let mut r = Rrd::new();
        for t in [0, 1, u64::MAX, 59, u64::MAX - 1, 0] {
            r.add_sample(i64::MIN, t);
            r.add_sample(i64::MAX, t);
            let _ = r.render(t);
        }
    }
}
