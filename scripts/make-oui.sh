#!/usr/bin/env bash
# Regenerates control/data/oui.tsv, the manufacturer table behind `kismet.device.base.manuf`,
# from the IEEE MA-L registry as Debian ships it.
#   usage: scripts/make-oui.sh [path/to/oui.csv]
#          (default /usr/share/ieee-data/oui.csv: apt-get install ieee-data; needs python3)
# Output: one line per 24-bit prefix, sorted: six uppercase hex digits, a tab, the organisation
# name (whitespace collapsed, tabs and control characters removed). The control plane embeds the
# file with include_str! and binary-searches it; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-/usr/share/ieee-data/oui.csv}
out=control/data/oui.tsv
[ -r "$src" ] || { echo "make-oui: cannot read $src (apt-get install ieee-data)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
python3 - "$src" "$out.tmp" <<'EOF'
import csv, re, sys
src, out = sys.argv[1], sys.argv[2]
rows = {}
with open(src, newline="", encoding="utf-8", errors="replace") as f:
    for rec in csv.DictReader(f):
        if rec.get("Registry") != "MA-L":
            continue
        prefix = (rec.get("Assignment") or "").strip().upper()
        name = re.sub(r"[\x00-\x1f\x7f]+", " ", rec.get("Organization Name") or "")
        name = " ".join(name.split())
        if not re.fullmatch(r"[0-9A-F]{6}", prefix) or not name:
            continue
        rows[prefix] = name
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for prefix in sorted(rows):
        f.write(f"{prefix}\t{rows[prefix]}\n")
print(f"make-oui: {len(rows)} prefixes", file=sys.stderr)
EOF
mv "$out.tmp" "$out"
echo "make-oui: wrote $out ($(wc -c <"$out") bytes)"
