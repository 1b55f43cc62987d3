#!/bin/sh
# Regenerates data/cisco-oui.txt from the IEEE MA-L registry as Debian ships it (package
# ieee-data). Keeps every block registered to "Cisco Systems, Inc" or "Cisco Systems Inc";
# leaves out Cisco SPVTG (set-top boxes), Cisco Meraki and Cisco-Linksys, which make no IP
# phones (see shared/reference/cisco-facts.md section 6).
#
# usage: scripts/gen-oui.sh [path/to/oui.txt] > data/cisco-oui.txt
set -eu
src=${1:-/usr/share/ieee-data/oui.txt}
[ -r "$src" ] || { echo "gen-oui: cannot read $src (apt-get install ieee-data)" >&2; exit 1; }
version=$(dpkg-query -W -f '${Version}' ieee-data 2>/dev/null || echo unknown)
echo "# Cisco Systems MA-L blocks from the IEEE registry (Debian ieee-data $version)."
echo "# One OUI per line, 6 upper-case hex digits. Regenerate with scripts/gen-oui.sh."
LC_ALL=C awk -F'\t' '/\(hex\)/ {
    org = $NF; sub(/\r$/, "", org)
    if (org == "Cisco Systems, Inc" || org == "Cisco Systems Inc") {
        oui = substr($1, 1, 8); gsub(/-/, "", oui); print toupper(oui)
    }
}' "$src" | LC_ALL=C sort -u
