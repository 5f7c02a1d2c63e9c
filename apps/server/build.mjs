// Compiles the server for production: `dist/server.js` (the replica) and `dist/pan.js` (the CLI:
// `pan migrate` for the migration Job), ESM for Node 20, with source maps.
//
// Our own code, including the workspace packages (@pan/protocol, @pan/db, @pan/bus, which export
// TypeScript source), is bundled: Node will not strip types under node_modules, where
// `pnpm deploy` puts workspace packages. Every npm package stays external and is loaded from
// node_modules as published: some find their own files at run time (PGlite's WebAssembly and data
// bundle, @fastify/swagger-ui's static assets), and none is rewritten by us.
//
// `dist/externals.json` lists the npm packages the bundles import; the image test
// (infra/test/image.test.ts) checks that each one resolves in the deployed tree.
//
// Usage: node build.mjs [outdir]   (default: dist next to this file)
import { writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const outdir = resolve(process.argv[2] ?? join(here, 'dist'))
const builtins = new Set(builtinModules)

/** The package name of a bare import: `a/b/c` → `a`, `@s/a/b` → `@s/a`. */
function packageName (specifier) {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const externals = new Set()
/** Bare imports other than @pan/* stay imports; the workspace packages are compiled in. */
const externalNpm = {
  name: 'external-npm',
  setup (b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || builtins.has(args.path)) return { path: args.path, external: true }
      if (args.path.startsWith('@pan/')) return undefined
      externals.add(packageName(args.path))
      return { path: args.path, external: true }
    })
  }
}

await build({
  absWorkingDir: here,
  entryPoints: { server: 'src/server.ts', pan: 'src/cli/pan.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Source paths in the maps are relative to dist; the sources themselves are not shipped.
  sourcesContent: false,
  // Keep class and function names: they appear in logs and error stacks.
  keepNames: true,
  logLevel: 'warning',
  plugins: [externalNpm]
})

writeFileSync(join(outdir, 'externals.json'), JSON.stringify([...externals].sort(), null, 2) + '\n')
process.stdout.write(`built ${outdir}: server.js, pan.js (${externals.size} external packages)\n`)
