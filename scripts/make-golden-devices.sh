#!/usr/bin/env bash
# Regenerates the tshark golden files that tests/devices_vs_tshark.rs builds its reference
# device table from (`airsift devices` is compared against it). tshark is the independent
# oracle; it is needed only here, not in CI.
#   usage: scripts/make-golden-devices.sh        (needs: apt-get install tshark)
#
# One TSV per capture, one row per frame, one column per field below. Every field is written
# with all its occurrences joined by '|' (-E occurrence=a): the test takes the first where only
# the first counts (radiotap repeats the signal per antenna; the first is the combined one) and
# keeps the lists where the frame repeats a field (tag numbers and lengths, cipher and key
# management suites, whose counts split the lists per element).
#
# wlan.ssid is a byte field: tshark prints it as hex, so SSIDs are exact whatever their bytes;
# a zero-length SSID prints as "<MISSING>" (the tag list still shows element 0 with length 0).
set -euo pipefail
cd "$(dirname "$0")/.."
out=testdata/golden/tshark-devices
mkdir -p "$out"
fields=(
  # the record and its capture header
  frame.number frame.len frame.cap_len frame.encap_type
  radiotap.length ppi.length prism.msglen
  radiotap.flags.fcs radiotap.flags.badfcs
  ppi.80211-common.flags.fcs ppi.80211-common.flags.fcs-invalid
  radiotap.dbm_antsignal radiotap.channel.freq wlan_radio.signal_dbm wlan_radio.frequency
  # the 802.11 header
  wlan.fc.type wlan.fc.subtype wlan.fc.ds wlan.fc.protected wlan.fc.order
  wlan.ta wlan.ra wlan.bssid
  # fixed fields and elements of management frames
  wlan.fixed.beacon wlan.fixed.capabilities.ess wlan.fixed.capabilities.ibss
  wlan.fixed.capabilities.privacy
  wlan.tag.number wlan.tag.length wlan.ext_tag.length wlan.ssid wlan.ds.current_channel
  # RSN element
  wlan.rsn.version wlan.rsn.gcs.oui wlan.rsn.gcs.type
  wlan.rsn.pcs.count wlan.rsn.pcs.oui wlan.rsn.pcs.type
  wlan.rsn.akms.count wlan.rsn.akms.oui wlan.rsn.akms.type
  wlan.rsn.capabilities.mfpc wlan.rsn.capabilities.mfpr
  # the WPA vendor element (00:50:f2 type 1) and its suites; tshark 4.0 names the AKM type
  # wlan.wfa.ie.wpa.type
  wlan.wfa.ie.type wlan.wfa.ie.wpa.version
  wlan.wfa.ie.wpa.mcs.oui wlan.wfa.ie.wpa.mcs.type
  wlan.wfa.ie.wpa.ucs.count wlan.wfa.ie.wpa.ucs.oui wlan.wfa.ie.wpa.ucs.type
  wlan.wfa.ie.wpa.akms.count wlan.wfa.ie.wpa.akms.oui wlan.wfa.ie.wpa.type
  _ws.malformed
)
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done
for cap in testdata/captures/*.pcap testdata/captures/*.cap testdata/captures/*.pcapng; do
  name=$(basename "$cap")
  {
    printf '#'; printf '%s\t' "${fields[@]}" | sed 's/\t$//'; echo
    tshark -n -r "$cap" -T fields -E header=n -E separator=/t -E occurrence=a -E 'aggregator=|' \
      "${args[@]}" 2>/dev/null || true
  } > "$out/$name.tsv"
done
tshark --version | head -1 > "$out/TSHARK_VERSION"
echo "wrote $(ls "$out"/*.tsv | wc -l) golden files to $out"
