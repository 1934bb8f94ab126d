#!/usr/bin/env bash
# Refresh the vendored front-end libraries in static/vendor/ from the npm registry.
# Usage: scripts/vendor-assets.sh  (needs node/npm; the UI itself never loads from a CDN)
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-bootstrap@5.3.9}
ICONS=${ICONS:-bootstrap-icons@1.13.2}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$BOOTSTRAP" "$ICONS" >/dev/null
mkdir b bi
tar xzf bootstrap-*.tgz -C b --strip-components=1
tar xzf bootstrap-icons-*.tgz -C bi --strip-components=1
dst="$root/static/vendor"
rm -rf "$dst/bootstrap" "$dst/bootstrap-icons"
mkdir -p "$dst/bootstrap" "$dst/bootstrap-icons"
cp b/dist/css/bootstrap.min.css b/dist/js/bootstrap.bundle.min.js b/LICENSE "$dst/bootstrap/"
cp bi/font/bootstrap-icons.min.css bi/LICENSE "$dst/bootstrap-icons/"
cp -r bi/font/fonts "$dst/bootstrap-icons/"
# The source maps are not shipped; drop the comments that point at them.
sed -i '/sourceMappingURL/d' "$dst"/bootstrap/*.min.*
echo "vendored $BOOTSTRAP and $ICONS into $dst"
