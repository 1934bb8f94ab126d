#!/usr/bin/env bash
# Refresh the vendored front-end libraries in static/vendor/ from the npm registry.
# Usage: scripts/vendor-assets.sh  (needs node/npm; the UI itself never loads from a CDN)
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-bootstrap@5.3.9}
ICONS=${ICONS:-bootstrap-icons@1.13.2}
TUS=${TUS:-tus-js-client@4.3.1}
SWAGGER=${SWAGGER:-swagger-ui-dist@5.35.0}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "$BOOTSTRAP" "$ICONS" "$TUS" "$SWAGGER" >/dev/null
mkdir b bi tus sw
tar xzf bootstrap-[0-9]*.tgz -C b --strip-components=1
tar xzf bootstrap-icons-*.tgz -C bi --strip-components=1
tar xzf tus-js-client-*.tgz -C tus --strip-components=1
tar xzf swagger-ui-dist-*.tgz -C sw --strip-components=1
dst="$root/static/vendor"
rm -rf "$dst/bootstrap" "$dst/bootstrap-icons" "$dst/tus-js-client" "$dst/swagger-ui"
mkdir -p "$dst/bootstrap" "$dst/bootstrap-icons" "$dst/tus-js-client" "$dst/swagger-ui"
cp b/dist/css/bootstrap.min.css b/dist/js/bootstrap.bundle.min.js b/LICENSE "$dst/bootstrap/"
cp bi/font/bootstrap-icons.min.css bi/LICENSE "$dst/bootstrap-icons/"
cp -r bi/font/fonts "$dst/bootstrap-icons/"
# The browser bundle (UMD: defines window.tus), for resumable uploads of large files.
cp tus/dist/tus.min.js tus/LICENSE "$dst/tus-js-client/"
# Swagger UI for /docs, served from here so the API docs work offline under our CSP.
cp sw/swagger-ui-bundle.js sw/swagger-ui.css sw/LICENSE sw/NOTICE sw/oauth2-redirect.html \
  sw/oauth2-redirect.js "$dst/swagger-ui/"
# The source maps are not shipped; drop the comments that point at them.
sed -i '/sourceMappingURL/d' "$dst"/bootstrap/*.min.* "$dst"/tus-js-client/*.min.js \
  "$dst"/swagger-ui/swagger-ui-bundle.js "$dst"/swagger-ui/swagger-ui.css
echo "vendored $BOOTSTRAP, $ICONS, $TUS and $SWAGGER into $dst"
