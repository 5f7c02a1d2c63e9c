import t from 'tap'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { isRecord, readYaml, record, repoPath, run } from './helpers.ts'
import { checkServerEnv } from './server-config.ts'

/**
 * infra/compose/compose.yaml, read as docker compose reads it (anchors, `<<` merges, ${VAR}
 * interpolation); no Docker engine runs here. Its nginx service is checked for real: the files it
 * mounts are laid out as in the nginx image and `nginx -t` (Debian's nginx) accepts them.
 */

const composeDir = repoPath('infra/compose')
const compose = record(readYaml(join(composeDir, 'compose.yaml')), 'compose.yaml')
const services = record(compose.services, 'services')
const replicas = ['pan-1', 'pan-2', 'pan-3']
// What make-cert.sh writes into .env, and compose's own defaults for the rest.
const dotenv: Record<string, string> = { JWT_SECRET: 'a'.repeat(64) }

function service (name: string): Record<string, unknown> {
  return record(services[name], `service ${name}`)
}

/** compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate (value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string) => {
    const set = vars[name]
    if (set !== undefined && set !== '') return set
    if (op === '-') return arg
    throw new Error(`${name} is required: ${arg}`)
  })
}

function environment (name: string): Record<string, string> {
  const env = service(name).environment
  if (!isRecord(env)) throw new Error(`${name}: environment must be a mapping`)
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(String(value), dotenv)]))
}

function dependsOn (name: string): Record<string, string> {
  const deps = record(service(name).depends_on ?? {}, `${name}.depends_on`)
  return Object.fromEntries(Object.entries(deps).map(([dep, spec]) => [dep, String(record(spec, `${name}.depends_on.${dep}`).condition)]))
}

t.test('the services: Postgres, Redis, a one-shot migration, three replicas, nginx', async (t) => {
  t.same(Object.keys(services).sort(), ['migrate', 'nginx', 'postgres', 'redis', ...replicas].sort(), 'exactly these services')
  for (const [name, value] of Object.entries(services)) {
    const image = String(record(value, name).image)
    if (record(value, name).build !== undefined) continue
    t.match(image, /^[\w./-]+:\d+\.\d+(\.\d+)?(-[\w.]+)?$/, `${name}: ${image} is pinned to a version`)
  }
  for (const name of ['migrate', ...replicas]) {
    const build = record(service(name).build, `${name}.build`)
    const context = resolve(composeDir, String(build.context))
    t.equal(context, repoPath('.').replace(/\/$/, ''), `${name} builds from the repository root`)
    t.equal(build.dockerfile, 'infra/docker/Dockerfile', `${name} builds infra/docker/Dockerfile`)
    t.equal(service(name).image, service('migrate').image, `${name} runs the same image as the migration`)
  }
  t.ok(existsSync(repoPath('infra/docker/Dockerfile')), 'the Dockerfile exists')
})

t.test('health checks and the order of start', async (t) => {
  for (const name of ['postgres', 'redis', 'nginx', ...replicas]) {
    const healthcheck = record(service(name).healthcheck, `${name}.healthcheck`)
    t.ok(Array.isArray(healthcheck.test) && healthcheck.test.length > 1, `${name} has a health check`)
  }
  for (const name of replicas) {
    t.match(JSON.stringify(record(service(name).healthcheck, name).test), /\/readyz/, `${name} is healthy when ready (/readyz)`)
  }
  t.same(service('migrate').command, ['node', 'dist/pan.js', 'migrate'], 'migrate runs the migration CLI of the image')
  t.equal(service('migrate').restart, 'no', 'migrate runs once')
  t.same(dependsOn('migrate'), { postgres: 'service_healthy' }, 'migrate waits for a healthy Postgres')
  for (const name of replicas) {
    t.same(dependsOn(name), { migrate: 'service_completed_successfully', postgres: 'service_healthy', redis: 'service_healthy' },
      `${name} starts after the migration succeeded, on healthy Postgres and Redis`)
  }
  t.same(dependsOn('nginx'), Object.fromEntries(replicas.map((name) => [name, 'service_healthy'])), 'nginx waits for ready replicas')
})

t.test('the replicas: cluster mode, no migration of their own, a drain that fits the stop timeout', async (t) => {
  const ids = new Set<string>()
  for (const name of replicas) {
    const env = environment(name)
    const config = checkServerEnv(t, env, name)
    t.equal(config?.mode, 'cluster', `${name} runs in cluster mode`)
    t.equal(config?.PAN_MIGRATE, false, `${name} leaves migrations to the migrate service`)
    t.equal(new URL(env.DATABASE_URL ?? '').hostname, 'postgres', `${name} uses the postgres service`)
    t.equal(new URL(env.REDIS_URL ?? '').hostname, 'redis', `${name} uses the redis service`)
    t.ok(env.PAN_TRUST_PROXY !== undefined, `${name} believes nginx's X-Forwarded-For`)
    ids.add(env.PAN_REPLICA_ID ?? '')
    t.equal(service(name).ports, undefined, `${name} publishes no port: only nginx does`)
    t.equal(service(name).read_only, true, `${name} runs on a read-only root filesystem`)
    const graceSeconds = Number(/^(\d+)s$/.exec(String(service(name).stop_grace_period))?.[1])
    const drainSeconds = (config?.PAN_DRAIN_MS ?? 10_000) / 1000
    t.ok(graceSeconds >= drainSeconds + 10, `${name}: stop_grace_period ${graceSeconds} s covers the ${drainSeconds} s drain and the server's 10 s margin`)
  }
  t.equal(ids.size, replicas.length, 'each replica has its own PAN_REPLICA_ID')
  checkServerEnv(t, environment('migrate'), 'migrate')
  t.throws(() => interpolate(String(record(compose['x-pan-env'], 'x-pan-env').JWT_SECRET), {}), /JWT_SECRET is required/,
    'without a JWT_SECRET compose refuses to start instead of using a known one')
})

t.test('nginx mounts infra/nginx/ itself and publishes its TLS port', async (t) => {
  const nginx = service('nginx')
  const mounts = Object.fromEntries((nginx.volumes as string[]).map((spec) => {
    const [source, target] = spec.split(':')
    return [target as string, relative(repoPath('.'), resolve(composeDir, source as string))]
  }))
  t.same(mounts, {
    // Replacing the image's default.conf: its port-80 demo server goes, pan.conf comes in.
    '/etc/nginx/conf.d/default.conf': 'infra/nginx/pan.conf',
    '/etc/nginx/pan-upstream.conf': 'infra/nginx/pan-upstream.compose.conf',
    '/etc/nginx/pan-listen.conf': 'infra/nginx/pan-listen.compose.conf',
    '/etc/nginx/certs': 'infra/compose/certs'
  }, 'pan.conf, the compose upstream and listen pieces, and make-cert.sh\'s certificates')
  const listen = readFileSync(repoPath('infra/nginx/pan-listen.compose.conf'), 'utf8')
  const port = /^\s*listen\s+(\d+)\s+ssl;/m.exec(listen)?.[1]
  t.same(nginx.ports, [`${port ?? '?'}:${port ?? '?'}`], `nginx publishes ${port ?? '?'}, its listen port`)
  const upstreams = [...readFileSync(repoPath('infra/nginx/pan-upstream.compose.conf'), 'utf8').matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)]
  t.same(upstreams.map((m) => m[1]), replicas, 'the upstream lists exactly the replicas')
  t.ok(upstreams.every((m) => m[2] === '3000'), 'on the port they listen on (the image\'s PORT)')
})

t.test('make-cert.sh makes the certificate and secret compose expects, once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pan-compose-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await run('bash', [join(composeDir, 'make-cert.sh'), dir])
  const cert = join(dir, 'certs/pan.crt')
  const { stdout } = await run('openssl', ['x509', '-in', cert, '-noout', '-ext', 'subjectAltName'])
  t.match(stdout, /DNS:localhost/, 'for localhost')
  t.match(stdout, /IP Address:127\.0\.0\.1/, 'and 127.0.0.1')
  t.equal(statSync(join(dir, 'certs/pan.key')).mode & 0o077, 0, 'the key is private')
  const secret = /^JWT_SECRET=(.+)$/m.exec(readFileSync(join(dir, '.env'), 'utf8'))?.[1] ?? ''
  t.ok(secret.length >= 32, 'a JWT_SECRET of 32+ characters in .env')
  const before = readFileSync(cert, 'utf8')
  await run('bash', [join(composeDir, 'make-cert.sh'), dir])
  t.equal(readFileSync(cert, 'utf8'), before, 'a second run keeps the certificate')
  t.equal(readFileSync(join(dir, '.env'), 'utf8').match(/JWT_SECRET=/g)?.length, 1, 'and the secret')
})

t.test('nginx -t accepts the mounted files laid out as in the nginx image', { skip: existsSync('/usr/sbin/nginx') ? false : 'no /usr/sbin/nginx' }, async (t) => {
  // /etc/nginx of the container, as a temporary directory: the image's main nginx.conf includes
  // conf.d/*.conf inside http { }, and relative paths resolve against its directory.
  const etc = mkdtempSync(join(tmpdir(), 'pan-compose-nginx-'))
  t.teardown(() => rmSync(etc, { recursive: true, force: true }))
  mkdirSync(join(etc, 'conf.d'))
  await run('bash', [join(composeDir, 'make-cert.sh'), join(etc, 'cert-source')])
  for (const spec of service('nginx').volumes as string[]) {
    const [source, target] = spec.split(':') as [string, string]
    const from = source === './certs' ? join(etc, 'cert-source/certs') : resolve(composeDir, source)
    const to = join(etc, posix.relative('/etc/nginx', target))
    mkdirSync(dirname(to), { recursive: true })
    if (statSync(from).isDirectory()) cpSync(from, to, { recursive: true })
    else copyFileSync(from, to)
  }
  // Compose's service names resolve only inside compose: same lines, loopback instead.
  const upstream = join(etc, 'pan-upstream.conf')
  writeFileSync(upstream, readFileSync(upstream, 'utf8').replace(/\bpan-\d+:/g, '127.0.0.1:'))
  const temp = join(etc, 'temp')
  mkdirSync(temp)
  writeFileSync(join(etc, 'nginx.conf'), [
    // The image's nginx.conf, with process paths in the temporary directory and no `user`.
    'worker_processes auto;',
    `pid ${join(etc, 'nginx.pid')};`,
    'events { worker_connections 1024; }',
    'http {',
    '  default_type application/octet-stream;',
    '  keepalive_timeout 65;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(temp, kind)};`),
    '  include conf.d/*.conf;',
    '}',
    ''
  ].join('\n'))
  const result = await run('/usr/sbin/nginx', ['-t', '-p', etc, '-c', join(etc, 'nginx.conf'), '-e', join(etc, 'error.log')])
    .then((r) => r.stderr, (err: Error & { stderr?: string }) => `FAILED ${err.stderr ?? err.message}`)
  t.match(result, /test is successful/, 'nginx -t is successful')
})
