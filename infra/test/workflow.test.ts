import t from 'tap'
import { readFileSync } from 'node:fs'
import { isRecord, readYaml, record, repoPath } from './helpers.ts'

/**
 * .github/workflows/ci.yml runs what .ci/run runs (the README's test command with real Postgres
 * and Redis, lint, typecheck, migrations in sync) plus a real docker build, with every action
 * pinned. GitHub is not reachable from here: this reads the workflow as Actions would.
 */

const workflow = record(readYaml(repoPath('.github/workflows/ci.yml')), 'ci.yml')
const jobs = record(workflow.jobs, 'jobs')
const steps = (job: string): Array<Record<string, unknown>> => record(jobs[job], job).steps as Array<Record<string, unknown>>
const runs = (job: string): string[] => steps(job).map((s) => String(s.run ?? '').trim()).filter((r) => r !== '')
const compose = record(readYaml(repoPath('infra/compose/compose.yaml')), 'compose.yaml')
const composeImage = (name: string): string => String(record(record(compose.services, 'services')[name], name).image)

// The README's "runs the whole test suite" command: the one line of a code block that runs `test`.
const readmeTest = [...readFileSync(repoPath('README.md'), 'utf8').matchAll(/```sh\n([^`]*?)\n```/g)]
  .flatMap((m) => (m[1] as string).split('\n'))
  .find((line) => /pnpm@9 test$/.test(line.trim()))?.trim()

t.test('triggers and permissions', async (t) => {
  const on = record(workflow.on, 'on')
  t.ok('push' in on && 'pull_request' in on, 'runs on pushes and pull requests')
  t.same(workflow.permissions, { contents: 'read' }, 'read-only token')
})

t.test('every action is pinned to a commit or an exact version', async (t) => {
  const uses = Object.keys(jobs).flatMap((job) => steps(job).map((s) => s.uses).filter((u): u is string => typeof u === 'string'))
  t.ok(uses.length > 0, `${uses.length} actions used`)
  for (const action of uses) t.match(action, /^[\w.-]+\/[\w.-]+@([0-9a-f]{40}|v\d+\.\d+\.\d+)$/, action)
})

t.test('the test job: the README\'s command against Postgres and Redis service containers', async (t) => {
  const job = record(jobs.test, 'test job')
  const services = record(job.services, 'services')
  const postgres = record(services.postgres, 'postgres')
  const redis = record(services.redis, 'redis')
  t.equal(postgres.image, composeImage('postgres'), `Postgres ${String(postgres.image)}, the compose version`)
  t.equal(redis.image, composeImage('redis'), `Redis ${String(redis.image)}, the compose version`)
  t.match(postgres.options, /--health-cmd "pg_isready/, 'Postgres has a health check (steps start once it passes)')
  t.match(redis.options, /--health-cmd "redis-cli ping"/, 'Redis has a health check')
  t.same(postgres.ports, ['5432:5432'], 'Postgres on 5432')
  t.same(redis.ports, ['6379:6379'], 'Redis on 6379')

  const env = record(job.env, 'test env')
  t.match(env.DATABASE_URL, /^postgres:\/\/\w+:\w+@127\.0\.0\.1:5432\/\w+$/, 'DATABASE_URL points at the service')
  t.equal(env.REDIS_URL, 'redis://127.0.0.1:6379', 'REDIS_URL points at the service')
  t.equal(env.CI, true, 'CI is set: the cluster tests must run, not skip')

  const setupNode = steps('test').find((s) => String(s.uses).startsWith('actions/setup-node@'))
  t.equal(record(setupNode?.with, 'setup-node with')['node-version'], 20, 'Node 20')
  t.ok(readmeTest, `the README's test command: ${readmeTest ?? '?'}`)
  t.ok(runs('test').includes(readmeTest ?? '?'), 'is run verbatim')
  const apt = runs('test').find((r) => r.includes('apt-get install'))
  for (const pkg of ['nginx', 'redis-server', 'openssl']) t.match(apt, new RegExp(`\\b${pkg}\\b`), `installs ${pkg} (the cluster harness runs it)`)
  for (const script of ['lint', 'typecheck', 'check:migrations']) {
    t.ok(runs('test').includes(`npx --yes pnpm@9 ${script}`), `runs ${script}`)
  }
})

t.test('the docker job builds infra/docker/Dockerfile without pushing', async (t) => {
  const build = steps('docker').find((s) => String(s.uses).startsWith('docker/build-push-action@'))
  const inputs = record(build?.with, 'build-push-action with')
  t.equal(inputs.context, '.', 'from the repository root')
  t.equal(inputs.file, 'infra/docker/Dockerfile', 'file: infra/docker/Dockerfile')
  t.equal(inputs.push, false, 'push: false')
  t.ok(steps('docker').some((s) => String(s.uses).startsWith('docker/setup-buildx-action@')), 'with buildx')
  t.ok(runs('docker').some((r) => r.includes('docker run') && r.includes('/readyz')), 'and starts the image once')
  t.ok(Object.values(jobs).every((job) => isRecord(job) && typeof job['timeout-minutes'] === 'number'), 'every job has a timeout')
})
