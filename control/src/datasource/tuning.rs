//! A capture source's channel state and how it reaches the radio: a locked channel set once
//! through nl80211, or a hopper thread walking a Kismet hopping plan. The state is plain
//! data (stored with the source, shown in its record); only a cfg80211 radio can take it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::channel::{plan, Channel, HopOptions, SourceHop, DEFAULT_SHUFFLE_SKIP};
use super::nl80211::{self, Session};

/// Kismet's default hop rate for Wi-Fi sources (hops per second).
pub const DEFAULT_HOP_RATE: f64 = 5.0;

/// What a source's radio should do.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ChannelState {
    /// Whatever the radio is on; airsift never tuned it.
    #[default]
    Untouched,
    Locked(Channel),
    Hopping {
        rate: f64,
        channels: Vec<Channel>,
        shuffle: bool,
    },
}

/// A request from `set_channel.cmd` / `set_hop.cmd`, validated.
#[derive(Clone, Debug, PartialEq)]
pub enum ChannelRequest {
    Lock(Channel),
    /// Hop: a new rate and/or list (absent parts keep the current or configured ones).
    Hop {
        rate: Option<f64>,
        channels: Option<Vec<Channel>>,
        shuffle: Option<bool>,
    },
}

/// Parses a list of Kismet channel names; the error names the bad one.
pub fn parse_channels(names: &[String]) -> Result<Vec<Channel>, String> {
    names
        .iter()
        .map(|n| Channel::parse(n).map_err(|e| e.to_string()))
        .collect()
}

impl ChannelState {
    /// The stored form (`{}` when untouched).
    pub fn to_json(&self) -> Value {
        match self {
            ChannelState::Untouched => json!({}),
            ChannelState::Locked(c) => json!({"channel": c.to_kismet_string()}),
            ChannelState::Hopping {
                rate,
                channels,
                shuffle,
            } => json!({
                "hopping": true,
                "rate": rate,
                "channels": channels.iter().map(Channel::to_kismet_string).collect::<Vec<_>>(),
                "shuffle": shuffle,
            }),
        }
    }

    /// Reads the stored form; anything unreadable is `Untouched`.
    pub fn from_json(v: &Value) -> ChannelState {
        if let Some(c) = v
            .get("channel")
            .and_then(Value::as_str)
            .and_then(|c| Channel::parse(c).ok())
        {
            return ChannelState::Locked(c);
        }
        if v.get("hopping") == Some(&Value::Bool(true)) {
            let names: Vec<String> = v
                .get("channels")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Ok(channels) = parse_channels(&names) {
                if !channels.is_empty() {
                    return ChannelState::Hopping {
                        rate: v
                            .get("rate")
                            .and_then(Value::as_f64)
                            .unwrap_or(DEFAULT_HOP_RATE),
                        channels,
                        shuffle: v.get("shuffle").and_then(Value::as_bool).unwrap_or(true),
                    };
                }
            }
        }
        ChannelState::Untouched
    }
}

/// Why tuning was refused.
#[derive(Debug)]
pub enum TuneError {
    /// The interface is not a cfg80211 radio (or is gone): 409.
    NotARadio(String),
    /// The kernel refused: 409 with its reason.
    Refused(String),
}

impl std::fmt::Display for TuneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TuneError::NotARadio(m) | TuneError::Refused(m) => f.write_str(m),
        }
    }
}

/// The radio behind `iface`, or why it has none.
pub fn radio(iface: &str, what: &str) -> Result<nl80211::RadioInfo, TuneError> {
    match nl80211::radio_of(iface) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(TuneError::NotARadio(format!(
            "{iface} is not a cfg80211 Wi-Fi radio, so it cannot {what}"
        ))),
        Err(e) => Err(TuneError::NotARadio(format!("{iface}: cannot {what}: {e}"))),
    }
}

/// Tunes `iface` to `ch` once.
pub fn lock(iface: &str, ch: &Channel) -> Result<(), TuneError> {
    let r = radio(iface, "lock a channel")?;
    nl80211::set_channel(r.ifindex, ch)
        .map_err(|e| TuneError::Refused(format!("{iface}: the kernel refused {ch}: {e}")))
}

/// The plan of one source among `members` sources hopping the same list (Kismet's split).
pub fn source_plan(
    rate: f64,
    channels: &[Channel],
    shuffle: bool,
    members: usize,
    index: usize,
) -> Result<(Duration, SourceHop), String> {
    let opts = HopOptions {
        rate,
        shuffle,
        shuffle_skip: DEFAULT_SHUFFLE_SKIP,
        split: true,
    };
    let p = plan(channels, members.max(1), &opts).map_err(|e| e.to_string())?;
    let hop = p
        .sources
        .get(index)
        .cloned()
        .ok_or_else(|| "no plan for this source".to_string())?;
    Ok((p.dwell, hop))
}

/// A thread tuning one radio along its plan until dropped.
pub struct Hopper {
    stop: Arc<AtomicBool>,
    /// The channel tuned last, and the last refusal.
    status: Arc<Mutex<(Option<Channel>, Option<String>)>>,
    pub offset: usize,
    handle: Option<JoinHandle<()>>,
}

impl Hopper {
    /// Starts hopping `iface` (checked to be a radio first).
    pub fn start(iface: &str, dwell: Duration, hop: SourceHop) -> Result<Hopper, TuneError> {
        let r = radio(iface, "hop channels")?;
        let stop = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Mutex::new((None, None)));
        let offset = hop.offset;
        let (st, stat) = (stop.clone(), status.clone());
        let name = iface.to_string();
        let handle = std::thread::Builder::new()
            .name(format!("airsift-hop-{iface}"))
            .spawn(move || {
                let mut session = match Session::open() {
                    Ok(Some(s)) => s,
                    Ok(None) => return,
                    Err(e) => {
                        stat.lock().unwrap_or_else(PoisonError::into_inner).1 =
                            Some(format!("{name}: {e}"));
                        return;
                    }
                };
                for ch in hop.hops() {
                    if st.load(Ordering::Relaxed) {
                        break;
                    }
                    let res = session.set_channel(r.ifindex, &ch);
                    {
                        let mut s = stat.lock().unwrap_or_else(PoisonError::into_inner);
                        match res {
                            Ok(()) => s.0 = Some(ch),
                            Err(e) => s.1 = Some(format!("{name}: {ch}: {e}")),
                        }
                    }
                    let until = Instant::now() + dwell;
                    while Instant::now() < until && !st.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(10).min(dwell));
                    }
                }
            })
            .map_err(|e| TuneError::Refused(format!("cannot start hopping {iface}: {e}")))?;
        Ok(Hopper {
            stop,
            status,
            offset,
            handle: Some(handle),
        })
    }

    /// The channel tuned last and the last refusal, if any.
    pub fn status(&self) -> (Option<Channel>, Option<String>) {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Hopper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(s: &str) -> Channel {
        Channel::parse(s).unwrap()
    }

    #[test]
    fn state_round_trips_through_its_stored_form() {
        for st in [
            ChannelState::Untouched,
            ChannelState::Locked(ch("36HT40+")),
            ChannelState::Hopping {
                rate: 2.5,
                channels: vec![ch("1"), ch("6"), ch("11")],
                shuffle: false,
            },
        ] {
            assert_eq!(ChannelState::from_json(&st.to_json()), st);
        }
        assert_eq!(
            ChannelState::from_json(&json!({"channel": "nonsense"})),
            ChannelState::Untouched
        );
    }

    #[test]
    fn channel_lists_name_the_bad_entry() {
        let e = parse_channels(&["1".into(), "6HT90".into()]).unwrap_err();
        assert!(e.contains("6HT90"), "{e}");
    }

    #[test]
    fn sources_hopping_one_list_start_apart() {
        let list: Vec<Channel> = ["1", "2", "3", "4", "5", "6"]
            .iter()
            .map(|c| ch(c))
            .collect();
        let (_, a) = source_plan(5.0, &list, false, 2, 0).unwrap();
        let (dwell, b) = source_plan(5.0, &list, false, 2, 1).unwrap();
        assert_eq!((a.offset, b.offset), (0, 3));
        assert_eq!(dwell, Duration::from_millis(200));
        assert!(source_plan(5.0, &[], false, 1, 0).is_err());
    }

    #[test]
    fn no_radio_here_is_a_clear_refusal() {
        // This machine's kernel has no cfg80211, and `lo` is no radio on any kernel.
        let e = lock("lo", &ch("6")).unwrap_err().to_string();
        assert!(e.contains("not a cfg80211"), "{e}");
        assert!(Hopper::start("lo", Duration::from_millis(50), {
            source_plan(5.0, &[ch("1")], false, 1, 0).unwrap().1
        })
        .is_err());
    }
}
