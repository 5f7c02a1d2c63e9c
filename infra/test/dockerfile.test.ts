import t from 'tap'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { execForm, parseDockerfile, stageEnv, type Stage } from './dockerfile.ts'
import { repoPath } from './helpers.ts'

/**
 * What can be known of the Dockerfile without a Docker engine (none runs here; the CI workflow's
 * docker job builds it for real): its stages, pins, user, health check, and that everything it
 * copies from the build context exists and is not excluded by .dockerignore.
 */

const dockerfile = parseDockerfile(readFileSync(repoPath('infra/docker/Dockerfile'), 'utf8'))
const stages = dockerfile.stages
const runtime = stages.at(-1) as Stage
const of = (stage: Stage, keyword: string): string[] => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)

t.test('multi-stage, every base image pinned to a version', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`)
  t.ok(stages.every((stage) => stage.name !== undefined), 'every stage is named')
  for (const stage of stages) {
    t.match(stage.from, /^node:20\.\d+\.\d+-[a-z]+(-slim)?$/, `${stage.name ?? '?'} FROM ${stage.from}: Node 20, an exact version, not latest`)
  }
  const rootPackage = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { packageManager: string }
  t.equal(`pnpm@${dockerfile.globalArgs.PNPM_VERSION ?? '?'}`, rootPackage.packageManager, 'the pnpm of package.json#packageManager')
})

t.test('the final stage: compiled output only, non-root, health check, the server command', async (t) => {
  const copies = of(runtime, 'COPY')
  t.ok(copies.length > 0 && copies.every((args) => args.includes('--from=')), 'it copies from the build stage only, never the source tree')
  const assemble = stages.flatMap((stage) => of(stage, 'RUN')).find((args) => args.includes('infra/docker/assemble.sh'))
  t.ok(assemble, 'the build stage assembles with infra/docker/assemble.sh (the script the image test runs)')
  const runs = stages.flatMap((stage) => of(stage, 'RUN'))
  t.ok(runs.some((args) => /pnpm install\b.*--frozen-lockfile/.test(args)), 'dependencies come from the lockfile as it is (--frozen-lockfile)')

  const user = of(runtime, 'USER').at(-1)
  t.ok(user !== undefined, 'USER is set')
  t.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, `USER ${user ?? ''}: a numeric non-root uid, which Kubernetes' runAsNonRoot can verify`)

  const healthcheck = of(runtime, 'HEALTHCHECK').at(-1) ?? ''
  t.match(healthcheck, /\bCMD\b.*\/healthz/, 'HEALTHCHECK asks /healthz')
  t.match(healthcheck, /--interval=\d+s/, 'with an interval')

  t.same(execForm(of(runtime, 'CMD').at(-1) ?? ''), ['node', 'dist/server.js'], 'CMD node dist/server.js (exec form: node is PID 1 and gets SIGTERM)')
  const env = stageEnv(runtime)
  t.equal(env.NODE_ENV, 'production', 'NODE_ENV=production')
  t.equal(env.HOST, '0.0.0.0', 'listens on the container network')
  t.ok(env.PAN_MIGRATIONS_DIR?.startsWith(`${of(runtime, 'WORKDIR').at(-1) ?? '?'}/`), 'PAN_MIGRATIONS_DIR is inside the app directory')
  t.ok(of(runtime, 'EXPOSE').includes(env.PORT ?? '?'), `EXPOSE ${env.PORT ?? '?'} (PORT)`)
})

t.test('what the build stage copies exists, is executable where run, and is not dockerignored', async (t) => {
  const ignore = dockerignore(readFileSync(repoPath('.dockerignore'), 'utf8'))
  const sources = stages.flatMap((stage) => of(stage, 'COPY'))
    .filter((args) => !args.includes('--from='))
    .flatMap((args) => args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1))
  t.ok(sources.length > 0, `COPY ${sources.join(' ')}`)
  for (const source of sources) {
    t.ok(existsSync(repoPath(source)), `${source} exists`)
    if (source !== '.') t.notOk(ignore(source), `${source} is not in .dockerignore`)
  }
  accessSync(repoPath('infra/docker/assemble.sh'), constants.R_OK)
  // What assemble.sh and the install read from the context must survive .dockerignore.
  const needed = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'apps/server/package.json', 'apps/server/build.mjs',
    'apps/server/src/server.ts', 'apps/server/src/cli/pan.ts', 'packages/db/src/index.ts', 'drizzle/meta/_journal.json', 'infra/docker/assemble.sh']
  for (const path of needed) {
    t.ok(existsSync(repoPath(path)), `${path} exists`)
    t.notOk(ignore(path), `${path} reaches the build`)
  }
  for (const path of ['node_modules/x', 'apps/server/node_modules/x', 'apps/server/dist/server.js', '.git/HEAD', 'infra/compose/certs/pan.key', 'infra/compose/.env']) {
    t.ok(ignore(path), `${path} stays out of the context`)
  }
})

/**
 * A matcher for .dockerignore patterns (Go filepath.Match plus `**`, last match wins, `!` negates);
 * a pattern that matches a directory excludes what is under it.
 */
function dockerignore (text: string): (path: string) => boolean {
  const rules = text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const negate = line.startsWith('!')
    const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '')
    const source = pattern.split('/').map((part) => part === '**'
      ? '.*'
      : part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/')
    // `**/x` also matches `x` at the top; a directory match covers its contents.
    return { negate, regex: new RegExp(`^${source.replace(/^\.\*\//, '(?:.*/)?')}(?:/.*)?$`) }
  })
  return (path) => rules.reduce((ignored, rule) => rule.regex.test(path) ? !rule.negate : ignored, false)
}
