//! Classification against fake sysfs trees built the way the kernel lays them out
//! (`class/net/IF` a link into `devices/...`, `device/driver` and `phy80211` links), plus one
//! look at the real `/sys`.

use std::os::unix::fs::symlink;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// A sysfs tree in a temporary directory, removed on drop.
struct FakeSys {
    root: PathBuf,
}

impl Drop for FakeSys {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

impl FakeSys {
    fn new() -> FakeSys {
        static N: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "airsift-fakesys-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("class/net")).unwrap();
        FakeSys { root }
    }

    /// An interface with its basic attributes, linked from `class/net`; returns its
    /// directory for more.
    fn iface(&self, name: &str, ifindex: u32, arphrd: u16, flags: &str) -> PathBuf {
        let dir = self.root.join("devices/virtual/net").join(name);
        fs::create_dir_all(dir.join("queues/rx-0")).unwrap();
        fs::create_dir_all(dir.join("queues/tx-0")).unwrap();
        for (attr, text) in [
            ("type", arphrd.to_string()),
            ("ifindex", ifindex.to_string()),
            ("iflink", ifindex.to_string()),
            ("flags", flags.to_string()),
            ("uevent", format!("INTERFACE={name}\nIFINDEX={ifindex}\n")),
        ] {
            fs::write(dir.join(attr), text + "\n").unwrap();
        }
        symlink(
            format!("../../devices/virtual/net/{name}"),
            self.root.join("class/net").join(name),
        )
        .unwrap();
        dir
    }

    /// Gives `dir` a device bound to `driver`, the way PCI and USB devices appear.
    fn bind(&self, dir: &Path, driver: &str) {
        let dev = self.root.join("devices/pci0000:00").join(driver);
        fs::create_dir_all(&dev).unwrap();
        symlink(
            format!("../../../bus/pci/drivers/{driver}"),
            dev.join("driver"),
        )
        .unwrap();
        symlink(&dev, dir.join("device")).unwrap();
    }

    fn info(&self, name: &str) -> InterfaceInfo {
        info_in(&self.root, name).unwrap().unwrap()
    }
}

fn write(dir: &Path, attr: &str, text: &str) {
    fs::write(dir.join(attr), format!("{text}\n")).unwrap();
}

fn rx_queues_to(dir: &Path, n: u32) {
    for i in 0..n {
        fs::create_dir_all(dir.join(format!("queues/rx-{i}"))).unwrap();
    }
}

#[test]
fn monitor_radio() {
    let sys = FakeSys::new();
    let d = sys.iface("wlan0mon", 5, 803, "0x1003");
    sys.bind(&d, "iwlwifi");
    symlink("../../ieee80211/phy0", d.join("phy80211")).unwrap(); // dangling here
    write(&d, "uevent", "DEVTYPE=wlan\nINTERFACE=wlan0mon\nIFINDEX=5");
    rx_queues_to(&d, 4);
    let i = sys.info("wlan0mon");
    assert_eq!(
        i,
        InterfaceInfo {
            name: "wlan0mon".into(),
            ifindex: 5,
            arphrd: 803,
            driver: "iwlwifi".into(),
            is_virtual: false,
            cfg80211: true,
            rx_queues: 4,
            up: true,
        }
    );
    assert!(i.monitor());
    assert_eq!(i.link(), Some(Link::Wifi(LinkType::Radiotap)));
    let r = i.render(None);
    assert_eq!(r["airsift.interface.linktype"], "radiotap");
    assert_eq!(r["airsift.interface.dlt"], 127);
    assert_eq!(r["kismet.datasource.probed.hardware"], "iwlwifi");
}

#[test]
fn managed_radio_is_cfg80211_but_not_monitor() {
    let sys = FakeSys::new();
    let d = sys.iface("wlan0", 3, 1, "0x1002");
    sys.bind(&d, "ath9k");
    symlink("../../ieee80211/phy1", d.join("phy80211")).unwrap();
    let i = sys.info("wlan0");
    assert!(i.cfg80211 && !i.monitor() && !i.up && !i.is_virtual);
    assert_eq!(
        (i.link(), i.driver.as_str()),
        (Some(Link::Ethernet), "ath9k")
    );
    assert_eq!(i.render(None)["airsift.interface.dlt"], 1);
}

#[test]
fn every_80211_header_type() {
    let sys = FakeSys::new();
    for (n, (name, arphrd)) in [("r", 803), ("w", 801), ("p", 802)].into_iter().enumerate() {
        sys.iface(name, n as u32 + 10, arphrd, "0x1003");
    }
    let got: Vec<(String, String, u64, u64)> = list_in(&sys.root)
        .unwrap()
        .iter()
        .map(|i| {
            let r = i.render(None);
            (
                i.name.clone(),
                r["airsift.interface.linktype"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r["airsift.interface.dlt"].as_u64().unwrap(),
                r["airsift.interface.monitor"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("r".into(), "radiotap".into(), 127, 1),
            ("w".into(), "ieee80211".into(), 105, 1),
            ("p".into(), "prism".into(), 119, 1),
        ]
    );
}

#[test]
fn virtual_devices_are_named_by_kind() {
    let sys = FakeSys::new();
    // veth: iflink is the peer.
    let va = sys.iface("va", 3, 1, "0x1003");
    write(&va, "iflink", "2");
    let vb = sys.iface("vb", 2, 1, "0x1003");
    write(&vb, "iflink", "3");
    // TUN (no link-layer header), a TUN posing as a monitor interface, a TAP.
    let t0 = sys.iface("t0", 4, 65534, "0x1091");
    write(&t0, "tun_flags", "0x1001");
    let t1 = sys.iface("t1", 5, 803, "0x1091");
    write(&t1, "tun_flags", "0x1001");
    let t2 = sys.iface("t2", 6, 1, "0x1003");
    write(&t2, "tun_flags", "0x1002");
    // A bridge says what it is in uevent.
    let br = sys.iface("br0", 7, 1, "0x1003");
    write(&br, "uevent", "DEVTYPE=bridge\nINTERFACE=br0\nIFINDEX=7");
    // Loopback.
    sys.iface("lo", 1, 772, "0x9");
    // A macvlan: linked to its lower device, which it names.
    let mv = sys.iface("mv0", 8, 1, "0x1003");
    write(&mv, "iflink", "3");
    symlink("../va", mv.join("lower_va")).unwrap();
    // An ifb: nothing to go by.
    sys.iface("ifb0", 9, 1, "0x1002");

    let got: Vec<(String, String)> = list_in(&sys.root)
        .unwrap()
        .into_iter()
        .inspect(|i| assert!(i.is_virtual && !i.cfg80211, "{}", i.name))
        .map(|i| (i.name, i.driver))
        .collect();
    let want: Vec<(String, String)> = [
        ("lo", "loopback"),
        ("vb", "veth"),
        ("va", "veth"),
        ("t0", "tun"),
        ("t1", "tun"),
        ("t2", "tun"),
        ("br0", "bridge"),
        ("mv0", ""),
        ("ifb0", ""),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);

    let t1 = sys.info("t1");
    assert!(t1.monitor() && !t1.cfg80211);
    let t0 = sys.info("t0").render(None);
    assert_eq!(t0["airsift.interface.linktype"], "");
    assert_eq!(t0["airsift.interface.dlt"], 0);
    assert_eq!(t0["airsift.interface.arphrd"], 65534);
    let lo = sys.info("lo");
    assert_eq!((lo.link(), lo.up), (Some(Link::Ethernet), true));
}

#[test]
fn queues_counted_and_missing_queues_are_zero() {
    let sys = FakeSys::new();
    let d = sys.iface("veth9", 2, 1, "0x1003");
    rx_queues_to(&d, 3);
    assert_eq!(sys.info("veth9").rx_queues, 3);
    fs::remove_dir_all(d.join("queues")).unwrap();
    assert_eq!(sys.info("veth9").rx_queues, 0);
}

#[test]
fn vanished_and_impossible_names_are_absent() {
    let sys = FakeSys::new();
    sys.iface("eth0", 2, 1, "0x1003");
    // Linked but gone, as when an interface is deleted mid-listing.
    symlink(
        "../../devices/virtual/net/ghost",
        sys.root.join("class/net/ghost"),
    )
    .unwrap();
    let names: Vec<String> = list_in(&sys.root)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, vec!["eth0"]);
    for name in [
        "ghost",
        "missing",
        "",
        ".",
        "..",
        "../net/eth0",
        "a/b",
        "eth0 ",
        "abcdefghijklmnop",
    ] {
        assert_eq!(info_in(&sys.root, name).unwrap(), None, "{name:?}");
    }
}

#[test]
fn malformed_attributes_are_errors_not_panics() {
    let sys = FakeSys::new();
    let d = sys.iface("bad0", 2, 1, "junk");
    assert!(!sys.info("bad0").up);
    write(&d, "type", "radiotap");
    let e = info_in(&sys.root, "bad0").unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("bad0/type"), "{e}");
    assert!(list_in(&sys.root).is_err());
    // No class/net at all.
    let empty = std::env::temp_dir().join("airsift-fakesys-nonexistent-root");
    assert!(list_in(&empty).is_err());
    assert_eq!(info_in(&empty, "eth0").unwrap(), None);
}

#[test]
fn render_has_kismets_listed_interface_fields_then_airsifts() {
    let sys = FakeSys::new();
    let d = sys.iface("wlan1", 4, 803, "0x1003");
    sys.bind(&d, "mt76x2u");
    symlink("../../ieee80211/phy2", d.join("phy80211")).unwrap();
    let i = sys.info("wlan1");
    let r = i.render(None);
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "kismet.datasource.probed.interface",
            "kismet.datasource.probed.capture_interface",
            "kismet.datasource.probed.options_vec",
            "kismet.datasource.probed.in_use_uuid",
            "kismet.datasource.probed.hardware",
            "kismet.datasource.probed.datasource_version",
            "kismet.datasource.type_driver",
            "airsift.interface.ifindex",
            "airsift.interface.arphrd",
            "airsift.interface.linktype",
            "airsift.interface.dlt",
            "airsift.interface.driver",
            "airsift.interface.virtual",
            "airsift.interface.monitor",
            "airsift.interface.cfg80211",
            "airsift.interface.rx_queues",
            "airsift.interface.up",
        ]
    );
    assert_eq!(r["kismet.datasource.probed.interface"], "wlan1");
    assert_eq!(r["kismet.datasource.probed.capture_interface"], "wlan1");
    assert_eq!(r["kismet.datasource.probed.in_use_uuid"], UNUSED_UUID);
    assert_eq!(
        r["kismet.datasource.type_driver"],
        types::driver(Driver::Tpacket)
    );
    assert_eq!(
        (
            r["airsift.interface.cfg80211"].as_u64(),
            r["airsift.interface.up"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let used = i.render(Some("4E1D07C3-0000-0000-0000-00002CC50E91"));
    assert_eq!(
        used["kismet.datasource.probed.in_use_uuid"],
        "4E1D07C3-0000-0000-0000-00002CC50E91"
    );
}

/// The real namespace always has a loopback device.
#[test]
fn real_sys_lists_loopback() {
    let all = list().unwrap();
    let lo = all.iter().find(|i| i.name == "lo").expect("lo listed");
    assert_eq!(lo.arphrd, arphrd::LOOPBACK);
    assert_eq!(lo.driver, "loopback");
    assert!(lo.is_virtual && !lo.monitor());
    assert_eq!(info("lo").unwrap().as_ref(), Some(lo));
    assert_eq!(info("../lo").unwrap(), None);
}
