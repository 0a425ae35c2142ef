//! Kismet's alert rate limits: a throttle (`10/min`) and a burst (`1/sec`), and the rule that
//! decides whether one more alert may be raised.

/// Kismet's `alert_time_unit`: the number is what `kismet.alert.definition.limit_unit` and
/// `.burst_unit` hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Second = 0,
    Minute = 1,
    Hour = 2,
    Day = 3,
}

impl Unit {
    pub fn seconds(self) -> f64 {
        match self {
            Unit::Second => 1.0,
            Unit::Minute => 60.0,
            Unit::Hour => 3600.0,
            Unit::Day => 86400.0,
        }
    }
}

/// `N/unit` (unit: `sec`, `second`, `min`, `minute`, `hr`, `hour`, `day`, any case) or a bare
/// `N`, which is per minute, as Kismet reads them. The error names the part that is wrong.
pub fn parse(text: &str) -> Result<(u64, Unit), String> {
    let t = text.trim().to_ascii_lowercase();
    let (n, unit) = match t.split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (t.as_str(), "min"),
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{text:?}: the count before '/' is not a whole number"))?;
    let unit = match unit {
        "sec" | "second" => Unit::Second,
        "min" | "minute" => Unit::Minute,
        "hr" | "hour" => Unit::Hour,
        "day" => Unit::Day,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (sec, second, min, minute, hr, hour, day)"
            ))
        }
    };
    Ok((n, unit))
}

/// A definition's limits and counters, with Kismet's meaning: at most `limit_rate` alerts,
/// then none until a whole `limit_unit` has passed since the last one raised; and at most
/// `limit_burst` within a `burst_unit` of the last one raised. A rate of 0 silences the alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    pub limit_unit: Unit,
    pub limit_rate: u64,
    pub burst_unit: Unit,
    pub limit_burst: u64,
    pub burst_sent: u64,
    pub total_sent: u64,
    /// Seconds since the epoch of the last alert raised (0: never).
    pub time_last: f64,
}

impl Limits {
    /// `throttle` and `burst` as [`parse`] returns them. A burst measured over a longer unit
    /// than the throttle could never apply; Kismet refuses it, and so does this.
    pub fn new(throttle: (u64, Unit), burst: (u64, Unit)) -> Result<Limits, String> {
        if burst.1 > throttle.1 {
            return Err(format!(
                "the burst's unit ({:?}) is longer than the throttle's ({:?})",
                burst.1, throttle.1
            ));
        }
        Ok(Limits {
            limit_unit: throttle.1,
            limit_rate: throttle.0,
            burst_unit: burst.1,
            limit_burst: burst.0,
            burst_sent: 0,
            total_sent: 0,
            time_last: 0.0,
        })
    }

    /// Whether an alert may be raised at `now` (seconds since the epoch); when it may, it is
    /// counted as raised. Kismet's `check_times`, then its counting.
    pub fn admit(&mut self, now: f64) -> bool {
        if self.limit_rate == 0 {
            return false;
        }
        if self.time_last < now - self.limit_unit.seconds() {
            self.total_sent = 0;
            self.burst_sent = 0;
        } else {
            if self.time_last < now - self.burst_unit.seconds() {
                self.burst_sent = 0;
            }
            if self.burst_sent >= self.limit_burst || self.total_sent >= self.limit_rate {
                return false;
            }
        }
        self.burst_sent += 1;
        self.total_sent += 1;
        self.time_last = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_kismet_reads_them() {
        assert_eq!(parse("10/min"), Ok((10, Unit::Minute)));
        assert_eq!(parse("5"), Ok((5, Unit::Minute)));
        assert_eq!(parse("1/SEC"), Ok((1, Unit::Second)));
        assert_eq!(parse(" 3 / hour "), Ok((3, Unit::Hour)));
        assert_eq!(parse("2/hr"), Ok((2, Unit::Hour)));
        assert_eq!(parse("0/day"), Ok((0, Unit::Day)));
        for bad in ["", "/min", "x/min", "-1/min", "10/days", "10/s", "1.5/min"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse("10/fortnight").unwrap_err().contains("fortnight"));
    }

    #[test]
    fn throttle_and_burst() {
        // 3 a minute, 2 a second.
        let mut l = Limits::new((3, Unit::Minute), (2, Unit::Second)).unwrap();
        let t = 1_000_000.0;
        assert!(l.admit(t));
        assert!(l.admit(t + 0.1));
        assert!(!l.admit(t + 0.2), "burst of 2 within a second");
        assert!(
            l.admit(t + 1.5),
            "a second after the last one raised, the burst resets"
        );
        assert!(!l.admit(t + 3.0), "3 a minute");
        assert!(
            !l.admit(t + 60.0),
            "not a whole minute since the last one raised"
        );
        assert!(l.admit(t + 62.0));
        assert_eq!((l.total_sent, l.burst_sent, l.time_last), (1, 1, t + 62.0));
    }

    #[test]
    fn a_zero_rate_silences_and_a_long_burst_is_refused() {
        let mut l = Limits::new((0, Unit::Minute), (1, Unit::Second)).unwrap();
        assert!(!l.admit(1.0));
        assert!(Limits::new((10, Unit::Second), (1, Unit::Minute)).is_err());
    }
}
