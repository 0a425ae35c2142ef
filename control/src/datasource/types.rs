//! airsift's datasource driver types as Kismet driver records (`kismet.datasource.driver.*`):
//! the answer to `GET /datasource/types.json` and the `type_driver` inside every datasource
//! and listed-interface record.
//!
//! Kismet's clients read the capability flags to decide what to offer (a channel menu only
//! for `tuning_capable`, hopping only for `hop_capable`), so they say what airsift does, not
//! what Kismet's driver of the same name does. Every capture runs in the airsift process:
//! no driver needs an IPC helper (`*_ipc` = 0) and none takes remote captures
//! (`remote_capable` = 0, Kismet's `--connect` protocol is not spoken).

use serde_json::{Map, Value};

/// A driver type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Driver {
    /// Live capture through a TPACKET_V3 ring on a packet socket.
    Tpacket,
    /// Live capture through AF_XDP sockets, one per receive queue.
    Afxdp,
    /// Replay of a pcap or pcapng file.
    Pcapfile,
    /// A scan-report source: no packets, only what phones and boards report scanning.
    Virtual,
}

/// Every driver, in the order `types.json` lists them.
pub const ALL: [Driver; 4] = [
    Driver::Tpacket,
    Driver::Afxdp,
    Driver::Pcapfile,
    Driver::Virtual,
];

/// Kismet's flags, in Kismet's order (`kis_datasource_builder::register_fields`).
struct Flags {
    probe: bool,
    list: bool,
    local: bool,
    remote: bool,
    passive: bool,
    tuning: bool,
    hop: bool,
}

impl Driver {
    /// The `kismet.datasource.driver.type` name.
    pub const fn name(self) -> &'static str {
        match self {
            Driver::Tpacket => "tpacket",
            Driver::Afxdp => "afxdp",
            Driver::Pcapfile => "pcapfile",
            Driver::Virtual => "virtual",
        }
    }

    /// The driver with that type name.
    pub fn from_name(name: &str) -> Option<Driver> {
        ALL.into_iter().find(|d| d.name() == name)
    }

    fn description(self) -> &'static str {
        match self {
            Driver::Tpacket => {
                "Live capture from a Linux network interface through a TPACKET_V3 packet ring; \
                 channel control through nl80211 on cfg80211 radios"
            }
            Driver::Afxdp => {
                "Live capture from a Linux network interface through AF_XDP sockets, one per \
                 receive queue; channel control through nl80211 on cfg80211 radios"
            }
            Driver::Pcapfile => "Pre-recorded pcap or pcapng file",
            // Kismet's own words for its virtual driver, kept so that scan-report sources
            // read as they do in Kismet.
            Driver::Virtual => "Virtual datasource used by various non-packet data types.",
        }
    }

    fn flags(self) -> Flags {
        match self {
            // A bare interface in a definition means TPACKET: this is the driver probing
            // picks. Channels can be set and hopped wherever nl80211 reaches (cfg80211
            // radios); elsewhere the request is refused, not ignored.
            Driver::Tpacket => Flags {
                probe: true,
                list: true,
                local: true,
                remote: false,
                passive: false,
                tuning: true,
                hop: true,
            },
            // Only chosen by name (`afxdp:IFACE`): never the answer to a probe.
            Driver::Afxdp => Flags {
                probe: false,
                list: true,
                local: true,
                remote: false,
                passive: false,
                tuning: true,
                hop: true,
            },
            // A path to an existing file is recognised as one (probe); files are not listed.
            Driver::Pcapfile => Flags {
                probe: true,
                list: false,
                local: true,
                remote: false,
                passive: false,
                tuning: false,
                hop: false,
            },
            // Kismet's virtual driver's flags, as Kismet reports them for a scan-report
            // source (its `tuning_capable` 1 included).
            Driver::Virtual => Flags {
                probe: false,
                list: false,
                local: false,
                remote: false,
                passive: true,
                tuning: true,
                hop: false,
            },
        }
    }
}

/// The driver record, with Kismet's key names and order, including Kismet's spelling
/// `kismet.datasource_driver.hop_capable` (underscore, not dot), which clients look up.
pub fn driver(kind: Driver) -> Value {
    let f = kind.flags();
    let flag = |b: bool| Value::from(u8::from(b));
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("kismet.datasource.driver.type", kind.name().into());
    put(
        "kismet.datasource.driver.description",
        kind.description().into(),
    );
    put("kismet.datasource.driver.probe_capable", flag(f.probe));
    put("kismet.datasource.driver.probe_ipc", flag(false));
    put("kismet.datasource.driver.list_capable", flag(f.list));
    put("kismet.datasource.driver.list_ipc", flag(false));
    put("kismet.datasource.driver.local_capable", flag(f.local));
    put("kismet.datasource.driver.local_ipc", flag(false));
    put("kismet.datasource.driver.remote_capable", flag(f.remote));
    put("kismet.datasource.driver.passive_capable", flag(f.passive));
    put("kismet.datasource.driver.tuning_capable", flag(f.tuning));
    put("kismet.datasource_driver.hop_capable", flag(f.hop));
    Value::Object(m)
}

/// Every driver record, for `types.json`.
pub fn all() -> Vec<Value> {
    ALL.into_iter().map(driver).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn records_have_kismets_keys_in_kismets_order() {
        let reference: Value =
            serde_json::from_str(include_str!("testdata/kismet_datasource_types.json")).unwrap();
        let reference = reference.as_array().unwrap();
        let want = keys(&reference[0]);
        assert!(reference.iter().all(|r| keys(r) == want));
        assert!(want.contains(&"kismet.datasource_driver.hop_capable".to_string()));
        for r in all() {
            assert_eq!(keys(&r), want, "{r}");
            for (k, v) in r.as_object().unwrap() {
                // Same JSON types as Kismet's: strings for type and description, 0/1 flags.
                assert_eq!(
                    std::mem::discriminant(v),
                    std::mem::discriminant(&reference[0][k]),
                    "{k}"
                );
                if v.is_number() {
                    assert!(v == 0 || v == 1, "{k}: {v}");
                }
            }
        }
    }

    #[test]
    fn virtual_is_kismets_record_for_scan_sources() {
        let reference: Value =
            serde_json::from_str(include_str!("../scan/testdata/kismet_all_sources.json")).unwrap();
        assert_eq!(
            driver(Driver::Virtual),
            reference[0]["kismet.datasource.type_driver"]
        );
    }

    #[test]
    fn pcapfile_matches_kismet_except_remote() {
        let reference: Value =
            serde_json::from_str(include_str!("testdata/kismet_datasource_types.json")).unwrap();
        let mut kismet = reference[0].clone();
        assert_eq!(kismet["kismet.datasource.driver.type"], "pcapfile");
        kismet["kismet.datasource.driver.remote_capable"] = 0.into();
        assert_eq!(driver(Driver::Pcapfile), kismet);
    }

    #[test]
    fn live_drivers_tune_and_hop() {
        for d in [Driver::Tpacket, Driver::Afxdp] {
            let r = driver(d);
            assert_eq!(r["kismet.datasource.driver.tuning_capable"], 1);
            assert_eq!(r["kismet.datasource_driver.hop_capable"], 1);
            assert_eq!(r["kismet.datasource.driver.list_capable"], 1);
            assert_eq!(r["kismet.datasource.driver.local_capable"], 1);
        }
    }

    #[test]
    fn names_round_trip() {
        for d in ALL {
            assert_eq!(Driver::from_name(d.name()), Some(d));
        }
        assert_eq!(Driver::from_name("linuxwifi"), None);
        assert_eq!(all().len(), ALL.len());
    }
}
