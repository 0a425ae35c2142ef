//! The network interfaces this process could capture from: what
//! `GET /datasource/list_interfaces.json` lists, read from sysfs.
//!
//! sysfs is read rather than netlink or ioctls because it needs no socket, no privilege and no
//! unsafe code, and because `/sys/class/net` shows the network namespace of the process that
//! mounted it: under `ip netns exec` that is the namespace's own interfaces, the ones a packet
//! socket opened by this process can bind to.
//!
//! Each interface is rendered as Kismet's listed-interface record
//! (`kis_datasource_interface`: `kismet.datasource.probed.*` and the offering driver's
//! `kismet.datasource.type_driver`), followed by airsift's facts under `airsift.interface.*`.
//! Kismet lists only the Wi-Fi interfaces its drivers recognise; airsift lists every
//! interface, because a veth or TUN carrying radiotap frames is a valid capture source, and
//! says in `monitor` and `cfg80211` which ones are radios.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use dataplane::wire::LinkType;
use serde_json::{json, Map, Value};

use super::types::{self, Driver};

/// Where the kernel's view is mounted.
const SYSFS: &str = "/sys";

/// `in_use_uuid` of an interface no source captures from (Kismet's empty UUID).
pub const UNUSED_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// `ARPHRD_*` numbers (`linux/if_arp.h`) airsift tells apart.
pub mod arphrd {
    pub const ETHER: u16 = 1;
    pub const LOOPBACK: u16 = 772;
    pub const IEEE80211: u16 = 801;
    pub const IEEE80211_PRISM: u16 = 802;
    pub const IEEE80211_RADIOTAP: u16 = 803;
}

/// `IFF_UP` in `/sys/class/net/IF/flags`.
const IFF_UP: u32 = 0x1;

/// What frames from an interface start with, as a pcap link type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// One of the 802.11 capture headers (radiotap, bare 802.11, Prism).
    Wifi(LinkType),
    /// An Ethernet header: Ethernet devices, and the loopback device, whose frames carry a
    /// zeroed Ethernet header on Linux (libpcap reports `EN10MB` for it too).
    Ethernet,
}

impl Link {
    /// The link type for a hardware type, if airsift knows it.
    pub fn from_arphrd(arphrd: u16) -> Option<Link> {
        match arphrd {
            arphrd::IEEE80211_RADIOTAP => Some(Link::Wifi(LinkType::Radiotap)),
            arphrd::IEEE80211 => Some(Link::Wifi(LinkType::Ieee80211)),
            arphrd::IEEE80211_PRISM => Some(Link::Wifi(LinkType::Prism)),
            arphrd::ETHER | arphrd::LOOPBACK => Some(Link::Ethernet),
            _ => None,
        }
    }

    /// airsift's name for it (the names `link_type=` takes).
    pub fn name(self) -> String {
        match self {
            Link::Wifi(t) => t.to_string(),
            Link::Ethernet => "ethernet".to_string(),
        }
    }

    /// The pcap `LINKTYPE_` / `DLT_` number (the same for these four).
    pub fn dlt(self) -> u32 {
        match self {
            Link::Wifi(t) => t.dlt(),
            Link::Ethernet => 1,
        }
    }
}

/// One interface, as sysfs describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub ifindex: u32,
    /// Hardware type (`/sys/class/net/IF/type`).
    pub arphrd: u16,
    /// The kernel driver bound to the device (`device/driver` link's name), or for a virtual
    /// device, which has none, its kind as far as sysfs tells (`tun`, `veth`, `bridge`,
    /// `loopback`...; empty when it cannot tell).
    pub driver: String,
    /// No device behind it (no `device` link): veth, TUN, bridge, loopback...
    pub is_virtual: bool,
    /// A cfg80211 radio (`phy80211` link): nl80211 can set its channel.
    pub cfg80211: bool,
    /// Receive queues (`queues/rx-*`): the most AF_XDP sockets it can take.
    pub rx_queues: u32,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
}

impl InterfaceInfo {
    /// The link type its frames have, if airsift knows it.
    pub fn link(&self) -> Option<Link> {
        Link::from_arphrd(self.arphrd)
    }

    /// Its frames carry an 802.11 capture header: a monitor interface, or a device posing as
    /// one (a TUN with `TUNSETLINK` 803).
    pub fn monitor(&self) -> bool {
        matches!(self.link(), Some(Link::Wifi(_)))
    }

    /// Kismet's listed-interface record plus airsift's facts. `in_use_uuid` is the source
    /// capturing from it, if any.
    pub fn render(&self, in_use_uuid: Option<&str>) -> Value {
        let flag = |b: bool| Value::from(u8::from(b));
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        // Kismet's fields, in `kis_datasource_interface::register_fields` order, then the
        // driver record `set_prototype` appends.
        put(
            "kismet.datasource.probed.interface",
            self.name.as_str().into(),
        );
        // airsift captures from the named interface itself (it creates no monitor VIF).
        put(
            "kismet.datasource.probed.capture_interface",
            self.name.as_str().into(),
        );
        put("kismet.datasource.probed.options_vec", json!([]));
        put(
            "kismet.datasource.probed.in_use_uuid",
            in_use_uuid.unwrap_or(UNUSED_UUID).into(),
        );
        put(
            "kismet.datasource.probed.hardware",
            self.driver.as_str().into(),
        );
        put(
            "kismet.datasource.probed.datasource_version",
            env!("CARGO_PKG_VERSION").into(),
        );
        // A bare interface in a definition opens with TPACKET.
        put(
            "kismet.datasource.type_driver",
            types::driver(Driver::Tpacket),
        );

        let link = self.link();
        put("airsift.interface.ifindex", self.ifindex.into());
        put("airsift.interface.arphrd", self.arphrd.into());
        put(
            "airsift.interface.linktype",
            link.map(Link::name).unwrap_or_default().into(),
        );
        put("airsift.interface.dlt", link.map_or(0, Link::dlt).into());
        put("airsift.interface.driver", self.driver.as_str().into());
        put("airsift.interface.virtual", flag(self.is_virtual));
        put("airsift.interface.monitor", flag(self.monitor()));
        put("airsift.interface.cfg80211", flag(self.cfg80211));
        put("airsift.interface.rx_queues", self.rx_queues.into());
        put("airsift.interface.up", flag(self.up));
        Value::Object(m)
    }
}

/// Every interface in this process's network namespace, by ifindex.
pub fn list() -> io::Result<Vec<InterfaceInfo>> {
    list_in(Path::new(SYSFS))
}

/// One interface by name; `None` when there is none (or the name could not be one).
pub fn info(name: &str) -> io::Result<Option<InterfaceInfo>> {
    info_in(Path::new(SYSFS), name)
}

fn class_net(sysfs: &Path) -> PathBuf {
    sysfs.join("class").join("net")
}

fn list_in(sysfs: &Path) -> io::Result<Vec<InterfaceInfo>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(class_net(sysfs))? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue; // interface names are ASCII; anything else is not one
        };
        // Gone since the directory was read: not an error, just not listed.
        if let Some(i) = info_in(sysfs, &name)? {
            out.push(i);
        }
    }
    out.sort_by(|a, b| (a.ifindex, &a.name).cmp(&(b.ifindex, &b.name)));
    Ok(out)
}

/// A name that could be an interface's and stays inside `class/net` (IFNAMSIZ is 16 with
/// the terminating NUL; the kernel refuses `/`, whitespace, `.` and `..`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

fn info_in(sysfs: &Path, name: &str) -> io::Result<Option<InterfaceInfo>> {
    if !valid_name(name) {
        return Ok(None);
    }
    let dir = class_net(sysfs).join(name);
    // `type` is what makes it an interface; without it, it vanished (or never was).
    let Some(arphrd) = read_attr(&dir, "type")? else {
        return Ok(None);
    };
    let arphrd = parse_number(&dir, "type", &arphrd)?;
    let ifindex = match read_attr(&dir, "ifindex")? {
        Some(s) => parse_number(&dir, "ifindex", &s)?,
        None => return Ok(None),
    };
    let (driver, is_virtual) = match bound_driver(&dir)? {
        Some(d) => (d, false),
        None => (
            virtual_kind(&dir, arphrd, ifindex)?,
            !exists(&dir.join("device"))?,
        ),
    };
    Ok(Some(InterfaceInfo {
        name: name.to_string(),
        ifindex,
        arphrd,
        driver,
        is_virtual,
        cfg80211: exists(&dir.join("phy80211"))?,
        rx_queues: rx_queues(&dir)?,
        up: read_attr(&dir, "flags")?
            .and_then(|f| parse_hex(&f))
            .is_some_and(|f| f & IFF_UP != 0),
    }))
}

/// A sysfs attribute's text, trimmed; `None` when it does not exist.
fn read_attr(dir: &Path, attr: &str) -> io::Result<Option<String>> {
    match fs::read_to_string(dir.join(attr)) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse_number<T: std::str::FromStr>(dir: &Path, attr: &str, s: &str) -> io::Result<T> {
    s.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {s:?} is not a number", dir.join(attr).display()),
        )
    })
}

fn parse_hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok()
}

/// The entry exists (a dangling link counts: sysfs links are checked by presence, as
/// Kismet's `linux_getsysdrvattr` does with `stat` on a live system).
fn exists(p: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The last component of the `device/driver` link (`iwlwifi`, `mac80211_hwsim`,
/// `virtio_net`): what Kismet reports as the hardware.
fn bound_driver(dir: &Path) -> io::Result<Option<String>> {
    match fs::read_link(dir.join("device").join("driver")) {
        Ok(target) => Ok(target
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .map(str::to_string)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::InvalidInput
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What a device without a driver is, in the words `ethtool -i` would use where sysfs can
/// tell, checked in this order:
/// - `tun_flags` present: `tun` (TUN and TAP devices alike; the hardware type tells them
///   apart).
/// - `DEVTYPE=` in `uevent`: its value (`bridge`, `vlan`, `wlan`, `bond`, `wireguard`...).
/// - loopback hardware type: `loopback`.
/// - a link to another interface (`iflink` ≠ `ifindex`) with no `lower_*` device beneath:
///   `veth`, whose `iflink` is its peer. Stacked devices (macvlan, ipvlan) name their lower
///   device and fall through.
/// - otherwise the empty string, as Kismet reports a device it cannot name.
fn virtual_kind_of(
    is_tun: bool,
    devtype: Option<&str>,
    arphrd: u16,
    ifindex: u32,
    iflink: Option<u32>,
    has_lower: bool,
) -> String {
    if is_tun {
        return "tun".to_string();
    }
    if let Some(t) = devtype.filter(|t| !t.is_empty()) {
        return t.to_string();
    }
    if arphrd == arphrd::LOOPBACK {
        return "loopback".to_string();
    }
    match iflink {
        Some(l) if l != 0 && l != ifindex && !has_lower => "veth".to_string(),
        _ => String::new(),
    }
}

/// Reads what [`virtual_kind_of`] decides from.
fn virtual_kind(dir: &Path, arphrd: u16, ifindex: u32) -> io::Result<String> {
    let is_tun = exists(&dir.join("tun_flags"))?;
    let devtype = read_attr(dir, "uevent")?.and_then(|u| {
        u.lines()
            .find_map(|l| l.strip_prefix("DEVTYPE="))
            .map(|t| t.trim().to_string())
    });
    let iflink = read_attr(dir, "iflink")?.and_then(|s| s.parse().ok());
    let has_lower = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("lower_")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    Ok(virtual_kind_of(
        is_tun,
        devtype.as_deref(),
        arphrd,
        ifindex,
        iflink,
        has_lower,
    ))
}

/// The number of `queues/rx-N` directories; 0 when there is no `queues`.
fn rx_queues(dir: &Path) -> io::Result<u32> {
    match fs::read_dir(dir.join("queues")) {
        Ok(entries) => {
            let mut n = 0u32;
            for e in entries {
                if e?.file_name().to_string_lossy().starts_with("rx-") {
                    n = n.saturating_add(1);
                }
            }
            Ok(n)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
