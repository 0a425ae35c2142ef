//! Builds the BPF programs (bpf/kfilter.bpf.c, the kernel filter; bpf/xsk_select.bpf.c, the
//! AF_XDP selector) with clang, into OUT_DIR, to be embedded. clang is a build dependency
//! (`apt install clang`).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    for src in ["bpf/kfilter.bpf.c", "bpf/xsk_select.bpf.c"] {
        println!("cargo:rerun-if-changed={src}");
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    // <linux/bpf.h> includes <asm/types.h>, which Debian keeps under the host's multiarch
    // directory; the BPF target has none of its own.
    let multiarch = Command::new("gcc")
        .arg("-print-multiarch")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}-linux-gnu", env::var("CARGO_CFG_TARGET_ARCH").unwrap()));
    // The kernel filter's socket filters, and its XDP programs with their XSKMAP; the AF_XDP
    // program that takes selected UDP datagrams.
    let objects = [
        ("bpf/kfilter.bpf.c", "kfilter_sock.bpf.o", None),
        (
            "bpf/kfilter.bpf.c",
            "kfilter_xdp.bpf.o",
            Some("-DAIRSIFT_XDP"),
        ),
        ("bpf/xsk_select.bpf.c", "xsk_select.bpf.o", None),
    ];
    for (src, object, define) in objects {
        let status = Command::new(&clang)
            .args([
                "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-Wall", "-Werror",
            ])
            .arg(format!("-I/usr/include/{multiarch}"))
            .args(define)
            .args(["-c", src, "-o"])
            .arg(out_dir.join(object))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("{clang} failed to build {src} ({s})"),
            Err(e) => panic!(
                "cannot run {clang} to build the BPF programs ({src}): {e}; \
                 install clang (Debian: apt install clang) or name it in CLANG"
            ),
        }
    }
}
