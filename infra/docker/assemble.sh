#!/usr/bin/env bash
# Assembles the production tree of the PAN server into OUT, exactly as the image's final stage
# holds it under /app (infra/docker/Dockerfile runs this; infra/test/image.test.ts runs it too,
# then starts the result, so the image's recipe is exercised without Docker):
#
#   OUT/package.json   {"type": "module"} and the name and version, nothing to install
#   OUT/dist/          server.js (the replica) and pan.js (the CLI: `pan migrate` for the Job),
#                      compiled by apps/server/build.mjs with the workspace packages bundled in
#   OUT/node_modules/  production dependencies only (`pnpm deploy --prod`, hoisted so that the
#                      bundled workspace code finds its packages' dependencies too), without the
#                      workspace packages themselves: their TypeScript is compiled into dist
#   OUT/drizzle/       the SQL migrations (PAN_MIGRATIONS_DIR points here)
#
# Run from a workspace whose dependencies are installed (`pnpm install`). PNPM names the pnpm
# command (default: pnpm). OUT must not exist yet.
set -euo pipefail

out=${1:?usage: assemble.sh OUT}
root=$(cd "$(dirname "$0")/../.." && pwd)
read -r -a pnpm <<< "${PNPM:-pnpm}"

if [ -e "$out" ]; then
  echo "assemble.sh: $out exists; give a new path" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# A sibling of OUT: same filesystem, so node_modules moves instead of being copied.
deploy=$(mktemp -d "$out.deploy.XXXXXX")
trap 'rm -rf "$deploy"' EXIT

cd "$root"
node apps/server/build.mjs "$out/dist"
"${pnpm[@]}" --filter @pan/server deploy --prod --prefer-offline --config.node-linker=hoisted "$deploy/server" >/dev/null
mv "$deploy/server/node_modules" "$out/node_modules"
rm -rf "$out/node_modules/@pan" "$out/node_modules/.bin"
node -e '
  const { name, version } = JSON.parse(require("fs").readFileSync("apps/server/package.json", "utf8"))
  const manifest = { name, version, private: true, type: "module", main: "dist/server.js" }
  require("fs").writeFileSync(process.argv[1], JSON.stringify(manifest, null, 2) + "\n")
' "$out/package.json"
cp -R drizzle "$out/drizzle"
echo "assembled $out"
