#!/usr/bin/env bash
# Fetch the pinned axe-core release from the npm registry into devtools/vendor/axe-core/.
#
# The browser tests inject axe.min.js into every student page (devtools/browser.py); the file
# and its licence are committed, so tests never reach the network. Run this script to check
# the committed copy or to move to another version (update VERSION and INTEGRITY together:
# `npm view axe-core@<version> dist.integrity`).
set -euo pipefail

VERSION="4.14.1"
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="

here="$(cd "$(dirname "$0")" && pwd)"
target="$here/axe-core"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
tarball="$(npm pack --silent "axe-core@$VERSION")"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "axe-core $VERSION: integrity mismatch ($actual)" >&2
  exit 1
fi
tar xzf "$tarball" package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt
mkdir -p "$target"
cp package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt "$target/"
echo "$VERSION" > "$target/VERSION"
echo "axe-core $VERSION is in $target"
