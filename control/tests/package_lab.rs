//! The Debian package: built by `cargo deb` from this tree's binaries, inspected with
//! `dpkg-deb`, installed on this machine with `dpkg` (its maintainer scripts make the airsift
//! user, its directories and the admin password, shown once), its unit checked by
//! `systemd-analyze verify`, then run the way the unit runs it (its ExecStart, as its User,
//! with its AmbientCapabilities, through `setpriv`) in a lab namespace: log in with the
//! generated password, add a source to the installed config file, reload (the unit's
//! ExecReload), capture, stop, and purge.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::http::{ApiServer, Cred};
use common::{scratch, wait_until, Injector, Netns};

const TUN_CAPTURE: &str = "rt_wltrace_trace-bigendian-5ghz.pcap";
const UNIT: &str = "/usr/lib/systemd/system/airsift.service";
const CONFIG: &str = "/etc/airsift/airsift.toml";
const PASSWORD_FILE: &str = "/etc/airsift/admin-password";

fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The package is purged when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "airsift"]).output();
    }
}

/// Builds the package from the binaries this test runs with (their profile's directory).
fn build_package(out_dir: &Path) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_airsift"));
    let profile = match bin
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
    {
        Some("debug") => "dev",
        Some(other) => other,
        None => "dev",
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ok(Command::new(cargo)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args([
            "deb",
            "-p",
            "control",
            "--no-build",
            "--no-strip",
            "--fast",
            "--profile",
        ])
        .arg(profile)
        .arg("-o")
        .arg(out_dir));
    let debs: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    debs[0].clone()
}

/// The value of `key=` in the unit file's text.
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
}

#[test]
fn the_package_installs_runs_as_its_user_reloads_and_purges() {
    if common::skip_unless_root("the_package_installs_runs_as_its_user_reloads_and_purges") {
        return;
    }
    let dir = scratch("package");
    let deb = build_package(&dir);

    // What is in it.
    let info = text(&ok(Command::new("dpkg-deb").arg("-I").arg(&deb)));
    for want in [
        "Package: airsift",
        "Section: net",
        "adduser",
        "conffiles",
        "postinst",
        "postrm",
        "prerm",
    ] {
        assert!(info.contains(want), "dpkg-deb -I lacks {want:?}:\n{info}");
    }
    let contents = text(&ok(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    for (mode, path) in [
        ("-rwxr-xr-x", "./usr/bin/airsift"),
        ("-rwxr-xr-x", "./usr/bin/airsift-inject"),
        ("-rw-r--r--", "./usr/lib/systemd/system/airsift.service"),
        ("-rw-r--r--", "./etc/airsift/airsift.toml"),
        ("-rw-r--r--", "./usr/share/doc/airsift/README.md"),
    ] {
        assert!(
            contents
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(&format!(" {path}"))),
            "dpkg-deb -c lacks {mode} {path}:\n{contents}"
        );
    }
    assert!(
        !contents.contains("admin-password"),
        "no password is shipped"
    );
    let control = dir.join("control");
    ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles"))
            .unwrap()
            .trim(),
        CONFIG
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(
        postinst.contains("deb-systemd-helper enable airsift.service"),
        "{postinst}"
    );

    // Installed: the user, its directories, a password shown once and stored 0600.
    let _ = Command::new("dpkg").args(["--purge", "airsift"]).output();
    let _installed = Installed;
    let first = text(&ok(Command::new("dpkg").arg("-i").arg(&deb)));
    let shown = first
        .lines()
        .find_map(|l| l.split("admin password (user admin) is: ").nth(1))
        .unwrap_or_else(|| panic!("no password shown:\n{first}"))
        .trim()
        .to_string();
    assert!(shown.len() >= 20, "{shown:?}");
    let stored = std::fs::read_to_string(PASSWORD_FILE).unwrap();
    assert_eq!(stored.trim(), shown);
    let meta = std::fs::metadata(PASSWORD_FILE).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let passwd = text(&ok(Command::new("getent").args(["passwd", "airsift"])));
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    let uid: u32 = fields[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {passwd}");
    assert!(
        fields[6].ends_with("nologin") || fields[6].ends_with("false"),
        "{passwd}"
    );
    assert_eq!(meta.uid(), uid, "the password file belongs to airsift");
    for d in ["/var/lib/airsift", "/var/log/airsift"] {
        let m = std::fs::metadata(d).unwrap();
        assert_eq!(
            (m.uid(), m.permissions().mode() & 0o777),
            (uid, 0o750),
            "{d}"
        );
    }
    // It passes, and says nothing of this unit (a host's other units are not ours to judge).
    let verify = ok(Command::new("systemd-analyze").args(["verify", UNIT]));
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(!said.contains("airsift"), "systemd-analyze verify: {said}");
    // Upgrading (installing again) keeps the password and does not show it.
    let again = text(&ok(Command::new("dpkg").arg("-i").arg(&deb)));
    assert!(!again.contains(&shown), "shown once only:\n{again}");
    assert_eq!(std::fs::read_to_string(PASSWORD_FILE).unwrap(), stored);

    // Run the way the unit does, in a lab namespace with a radiotap TUN.
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let exec: Vec<&str> = unit_value(&unit, "ExecStart").split_whitespace().collect();
    assert_eq!(exec[0], "/usr/bin/airsift");
    assert_eq!(unit_value(&unit, "User"), "airsift");
    let caps = common::unit_caps(&unit, "AmbientCapabilities");
    let ns = Netns::with_veth("package");
    let mut tun = Injector::tun(&ns, TUN_CAPTURE, &[]);
    let mut cmd = ns.cmd("env");
    cmd.args(["-u", "AIRSIFT_ADMIN_PASSWORD"]);
    common::setpriv(&mut cmd, "airsift", &caps);
    cmd.arg(exec[0]);
    let args: Vec<String> = exec[1..].iter().map(|s| s.to_string()).collect();
    let mut s = ApiServer::launch(Path::new("/var/lib/airsift"), cmd, &args, Some(&ns.name));
    assert_eq!(s.addr, "127.0.0.1:2501", "the packaged config's address");
    let admin = Cred::Basic("admin".into(), shown.clone());
    assert_eq!(s.get("/system/status.json", &admin).status, 200);
    let wrong = Cred::Basic("admin".into(), "not-the-password".into());
    assert_eq!(s.get("/system/status.json", &wrong).status, 401);

    // The operator adds a source to the config file and reloads the service.
    let mut conf = std::fs::read_to_string(CONFIG).unwrap();
    conf.push_str("source = \"tpacket:rt0:name=lab\"\n");
    std::fs::write(CONFIG, conf).unwrap();
    let from = s.stderr_lines();
    let reload = unit_value(&unit, "ExecReload").replace(
        "$MAINPID",
        &ns.pid_of("airsift")
            .expect("airsift runs in the namespace")
            .to_string(),
    );
    ok(Command::new("sh").args(["-c", &reload]));
    s.wait_stderr(from, "source tpacket:rt0:name=lab opened");

    let sent = tun.send();
    wait_until(
        "the injected frames counted",
        Duration::from_secs(120),
        || s.get("/dataplane/stats.json", &admin).json()["total"]["frames"].as_u64() == Some(sent),
    );
    // SIGTERM, systemd's stop; the totals it prints are text (the unit gives no --json).
    let totals = s.stop();
    assert!(
        totals.contains(&format!("frames {sent}  passed {sent}")),
        "{totals}"
    );
    tun.finish();
    let logs: Vec<PathBuf> = std::fs::read_dir("/var/log/airsift")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(
        std::fs::metadata(&logs[0]).unwrap().uid(),
        uid,
        "written by airsift"
    );
    assert_eq!(common::tshark_frames(&logs[0]), sent);

    // Purged: nothing of it is left but the user.
    ok(Command::new("dpkg").args(["--purge", "airsift"]));
    for gone in [
        "/usr/bin/airsift",
        CONFIG,
        PASSWORD_FILE,
        "/var/lib/airsift",
        "/var/log/airsift",
        UNIT,
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left after purge");
    }
}
