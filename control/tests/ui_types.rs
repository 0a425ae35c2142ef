//! The status page's script type-checks: `control/ui/app.js` is JavaScript with JSDoc types
//! (`// @ts-check`), and TypeScript's compiler checks it strictly against the DOM's types
//! (Debian's `node-typescript`; nothing is emitted, the page ships the file as it is).

use std::path::Path;
use std::process::Command;

#[test]
fn the_page_script_type_checks_strictly() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/app.js");
    let out = Command::new("tsc")
        .args(["--noEmit", "--allowJs", "--checkJs", "--strict"])
        .args(["--target", "es2020", "--lib", "dom,es2020"])
        .arg(&script)
        .output()
        .expect("tsc (Debian's node-typescript; CI installs it)");
    assert!(
        out.status.success(),
        "tsc found type errors in {}:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
