#!/usr/bin/env bash
# Regenerates the tshark golden files that tests/inspect_vs_tshark.rs compares `airsift
# inspect` against. tshark is the independent oracle; it is needed only here, not in CI.
#   usage: scripts/make-golden.sh        (needs: apt-get install tshark)
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata/golden/tshark
mkdir -p "$out"
fields=(frame.number frame.len frame.cap_len wlan.fc.type wlan.fc.subtype wlan.fc.ds
        wlan.sa wlan.da wlan.bssid wlan.ta wlan.ra
        wlan_radio.signal_dbm wlan_radio.noise_dbm wlan_radio.frequency
        radiotap.dbm_antsignal radiotap.dbm_antnoise radiotap.channel.freq radiotap.flags.fcs _ws.malformed)
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done
for cap in testdata/captures/*.pcap testdata/captures/*.cap testdata/captures/*.pcapng; do
  name=$(basename "$cap")
  {
    printf '#'; printf '%s\t' "${fields[@]}" | sed 's/\t$//'; echo
    # -E occurrence=f: the first occurrence of a repeated field (radiotap repeats the signal
    # per antenna; the first is the combined one airsift reports).
    tshark -n -r "$cap" -T fields -E header=n -E separator=/t -E occurrence=f "${args[@]}" 2>/dev/null || true
  } > "$out/$name.tsv"
done
tshark --version | head -1 > "$out/TSHARK_VERSION"
echo "wrote $(ls "$out"/*.tsv | wc -l) golden files to $out"
