import t from 'tap'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import postgres from 'postgres'
import WebSocket from 'ws'
import { signHs256 } from '@pan/cluster'
import { execForm, parseDockerfile, stageEnv, type Stage } from './dockerfile.ts'
import { freePort, httpStatus, pnpmCommand, repoPath, repoRoot, run, skipWithoutPostgres, startProcess, tail, waitFor } from './helpers.ts'

/**
 * The image's recipe without Docker: infra/docker/assemble.sh (what the Dockerfile's build stage
 * runs) into a temporary folder, then the runtime stage's environment and commands from the
 * Dockerfile itself: `node dist/pan.js migrate` as the migration Job, `node dist/server.js` as a
 * replica in cluster mode with PAN_MIGRATE=false, the HEALTHCHECK command, SIGTERM.
 */

const dockerfile = parseDockerfile(readFileSync(repoPath('infra/docker/Dockerfile'), 'utf8'))
const runtime = dockerfile.stages.at(-1) as Stage
const workdir = runtime.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args ?? '/'
const imageEnv = stageEnv(runtime)

const base = mkdtempSync(join(tmpdir(), 'pan-image-'))
t.teardown(() => rmSync(base, { recursive: true, force: true }))
const app = join(base, 'app')
const dataDir = join(base, 'data')

/** An image path (`/app/drizzle`) as a path in the assembled tree. */
function local (imagePath: string): string {
  if (imagePath === workdir || imagePath.startsWith(`${workdir}/`)) return join(app, imagePath.slice(workdir.length))
  if (imagePath === imageEnv.PAN_DATA_DIR) return dataDir
  return imagePath
}

// The environment of a container of this image: the Dockerfile's ENV with its paths mapped, and
// nothing of ours (tap's NODE_OPTIONS hooks, tsx) leaking in.
const containerEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  ...Object.fromEntries(Object.entries(imageEnv).map(([key, value]) => [key, value.startsWith('/') ? local(value) : value]))
}

// Assemble once for all the tests below, as the build stage does.
const { NODE_OPTIONS: _omit, ...buildEnv } = process.env
await run('bash', [repoPath('infra/docker/assemble.sh'), app], {
  cwd: repoRoot,
  env: { ...buildEnv, PNPM: pnpmCommand().join(' ') },
  timeout: 300_000,
  maxBuffer: 16 * 1024 * 1024
})

t.test('the final stage holds compiled JavaScript, production dependencies and migrations only', async (t) => {
  const outside = walk(app, (path) => !path.startsWith('node_modules/'))
  t.same(outside.filter((file) => /\.(ts|mts|cts|tsx)$/.test(file)), [], 'no TypeScript outside node_modules')
  t.same(outside.filter((file) => !/^(package\.json|dist\/[\w.-]+\.(js|js\.map|json)|drizzle\/.+\.(sql|json))$/.test(file)), [],
    'only package.json, dist/ and drizzle/')
  t.ok(existsSync(join(app, 'dist/server.js')) && existsSync(join(app, 'dist/pan.js')), 'dist/server.js and dist/pan.js')
  t.notOk(existsSync(join(app, 'node_modules/@pan')), 'the workspace packages are compiled into dist, not shipped as source')
  t.same(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).type, 'module', 'package.json makes dist/*.js ES modules')
  t.same(readdirSync(join(app, 'drizzle')).filter((f) => f.endsWith('.sql')), readdirSync(repoPath('drizzle')).filter((f) => f.endsWith('.sql')),
    'every migration of the repository is shipped')
  const devOnly = ['tap', 'typescript', 'fast-check', '@types/node', 'drizzle-kit', 'eslint', 'turbo']
  t.same(devOnly.filter((name) => existsSync(join(app, 'node_modules', name))), [], 'no development dependencies')
})

t.test('every npm package the bundles import resolves from dist/', async (t) => {
  const externals = JSON.parse(readFileSync(join(app, 'dist/externals.json'), 'utf8')) as string[]
  t.ok(externals.length > 0, 'the build recorded its external packages')
  const script = 'for (const name of JSON.parse(process.argv[1])) import.meta.resolve(name)'
  // Resolved the way dist/server.js resolves them: from dist/, in a clean environment.
  await t.resolves(run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(externals)], { cwd: join(app, 'dist'), env: containerEnv }),
    externals.join(', '))
})

t.test('the runtime environment points into the tree', async (t) => {
  t.equal(imageEnv.HOST, '0.0.0.0', 'containers listen on every interface')
  t.ok(imageEnv.PAN_MIGRATIONS_DIR !== undefined && existsSync(join(local(imageEnv.PAN_MIGRATIONS_DIR), 'meta/_journal.json')),
    'PAN_MIGRATIONS_DIR is the shipped drizzle/ with its journal')
})

t.test('the assembled server migrates and serves in cluster mode', { skip: skipWithoutPostgres() }, async (t) => {
  const serverUrl = process.env.DATABASE_URL as string
  const name = `pan_image_${randomBytes(6).toString('hex')}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end({ timeout: 5 })
  })
  await admin.unsafe(`create database ${name}`)
  const databaseUrl = new URL(serverUrl)
  databaseUrl.pathname = `/${name}`

  const secret = randomBytes(30).toString('base64url')
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...containerEnv,
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    JWT_SECRET: secret,
    // Loopback here; the image's 0.0.0.0 is for a container's own network.
    HOST: '127.0.0.1',
    PORT: String(port),
    PAN_REPLICA_ID: 'image-test',
    PAN_MIGRATE: 'false',
    PAN_DRAIN_MS: '500',
    LOG_LEVEL: 'warn'
  }

  // The migration Job / compose service.
  const migrate = await run('node', ['dist/pan.js', 'migrate'], { cwd: app, env, timeout: 60_000 })
    .then((r) => ({ ok: true, out: r.stdout }), (err: Error & { stderr?: string }) => ({ ok: false, out: `${err.message}\n${err.stderr ?? ''}` }))
  t.ok(migrate.ok, 'node dist/pan.js migrate exits 0', { diagnostic: !migrate.ok, output: migrate.out })
  t.match(migrate.out, /migrations applied \(postgres\)/, 'it applied the migrations to Postgres')
  // Replicas with PAN_MIGRATE=false would wait for the schema for ever.
  if (!migrate.ok) return

  const logFile = join(base, 'server.log')
  const server = startProcess('node', ['dist/server.js'], { cwd: app, env, logFile })
  t.teardown(async () => { await server.stop(5000) })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (server.exited()) throw new Error(`the server exited:\n${tail(logFile)}`)
    return await httpStatus(`${url}/readyz`) === 200
  }, `GET ${url}/readyz to answer 200`, 30_000).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${tail(logFile)}`) })
  t.pass('/readyz answers 200 (Postgres and Redis reachable, schema current)')
  t.equal(await httpStatus(`${url}/healthz`), 200, '/healthz answers 200')
  t.equal(await httpStatus(`${url}/docs/static/swagger-ui-bundle.js`), 200, 'the API docs UI finds its static files in node_modules')

  const hello = await firstFrame(`ws://127.0.0.1:${port}/v1/ws`, signHs256(secret, { sub: 'image-agent' }))
  t.match(hello, { type: 'hello', server: { replica: 'image-test' } }, 'a WebSocket client gets its hello')

  // The image's HEALTHCHECK command, as Docker runs it inside the container.
  const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')
  const command = execForm(healthcheck?.args.replace(/^.*?\bCMD\s+/, '') ?? '')
  if (command === undefined) throw new Error('HEALTHCHECK is not in exec form')
  await t.resolves(run(command[0] as string, command.slice(1), { cwd: app, env, timeout: 10_000 }), `HEALTHCHECK ${command.join(' ')} exits 0`)

  t.equal(await server.stop(15_000), 0, 'SIGTERM drains and exits 0')
})

/** The first frame a WebSocket client receives, parsed. */
async function firstFrame (url: string, token: string): Promise<unknown> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: 5000 })
  try {
    return await new Promise((resolve, reject) => {
      ws.once('message', (data) => { resolve(JSON.parse((data as Buffer).toString('utf8'))) })
      ws.once('error', reject)
      ws.once('close', (code) => { reject(new Error(`closed with ${code} before a frame`)) })
    })
  } finally {
    ws.close()
  }
}

/** Files under `dir`, relative, skipping directories for which `enter` is false. */
function walk (dir: string, enter: (path: string) => boolean, prefix = ''): string[] {
  const files: string[] = []
  for (const entry of readdirSync(join(dir, prefix))) {
    const path = prefix === '' ? entry : `${prefix}/${entry}`
    if (statSync(join(dir, path)).isDirectory()) {
      if (enter(`${path}/`)) files.push(...walk(dir, enter, path))
    } else {
      files.push(relative(dir, join(dir, path)))
    }
  }
  return files
}
