import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, httpStatus, isRecord, record, repoPath, repoRoot, startProcess, tail, waitFor } from './helpers.ts'

/**
 * infra/grafana/pan-dashboard.json is built on the metric names a real server exports: a server
 * is started (embedded mode: PGlite, nothing else needed) and scraped, and every PromQL
 * expression of the dashboard may name only those series; every PAN metric has a panel.
 */

const dashboard = record(JSON.parse(readFileSync(repoPath('infra/grafana/pan-dashboard.json'), 'utf8')), 'dashboard')

interface Query { where: string, expr: string }

/** Every PromQL expression: panel targets (rows included) and query variables. */
function queries (): Query[] {
  const found: Query[] = []
  const panels = (dashboard.panels as unknown[]).flatMap((p) => [p, ...((isRecord(p) ? p.panels : undefined) as unknown[] ?? [])])
  for (const panel of panels.filter(isRecord)) {
    for (const target of (panel.targets ?? []) as unknown[]) {
      if (isRecord(target) && typeof target.expr === 'string') found.push({ where: `panel "${String(panel.title)}" ${String(target.refId)}`, expr: target.expr })
    }
  }
  for (const variable of (record(dashboard.templating, 'templating').list as unknown[]).filter(isRecord)) {
    if (variable.type !== 'query') continue
    const query = isRecord(variable.query) ? variable.query.query : variable.query
    found.push({ where: `variable $${String(variable.name)}`, expr: String(query) })
  }
  return found
}

// PromQL's functions and aggregations that the dashboard may call, and Grafana's label_values().
const FUNCTIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'topk', 'bottomk', 'quantile', 'rate', 'irate', 'increase', 'delta',
  'deriv', 'histogram_quantile', 'clamp_min', 'clamp_max', 'abs', 'round', 'vector', 'scalar', 'time', 'avg_over_time',
  'max_over_time', 'min_over_time', 'label_values', 'label_replace'])
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset'])

/**
 * The metric (series) names an expression reads. Strings, label matchers, ranges and grouping
 * label lists are removed first; what remains is functions (followed by a parenthesis), keywords,
 * numbers, $variables and metric names.
 */
export function metricNames (expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // label_values(metric, label): only the metric is a series.
    .replace(/\blabel_values\s*\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g, 'label_values($1)')
  const names: string[] = []
  for (const match of stripped.matchAll(/(\$?)\b([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, dollar, name, call] = match as unknown as [string, string, string, string | undefined]
    if (dollar !== '' || KEYWORDS.has(name)) continue
    if (call !== undefined) {
      if (!FUNCTIONS.has(name)) throw new Error(`unknown function ${name}() in ${expr}`)
      continue
    }
    names.push(name)
  }
  return names
}

/** Series names a Prometheus scrape can hold, from its `# TYPE` lines: metric family → type. */
function families (exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]))
}

function seriesNames (types: Map<string, string>): Set<string> {
  const names = new Set<string>()
  for (const [family, type] of types) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix)
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix)
    else names.add(family)
  }
  return names
}

t.test('the PromQL parser finds metric names and nothing else', async (t) => {
  t.same(metricNames('histogram_quantile(0.99, sum by (le) (rate(pan_commit_seconds_bucket{instance=~"$instance"}[$__rate_interval])))'),
    ['pan_commit_seconds_bucket'], 'a quantile of a histogram')
  t.same(metricNames('sum(rate(a_total[5m])) by (type) / ignoring(x) b offset 5m'), ['a_total', 'b'], 'trailing by, vector matching, offset')
  t.same(metricNames('label_values(pan_connections, instance)'), ['pan_connections'], 'a Grafana variable query')
  t.throws(() => metricNames('sum(rat(a[5m]))'), /unknown function rat/, 'an unknown function is an error, not a metric')
})

t.test('every query names only series the server exports, and every PAN metric has a panel', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pan-grafana-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const logFile = join(dir, 'server.log')
  // The server from source, as `pnpm start` runs it, in a clean environment (no test-runner hooks).
  const server = startProcess(process.execPath, ['--import', import.meta.resolve('tsx'), 'apps/server/src/server.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', PAN_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn', PAN_DRAIN_MS: '0' },
    logFile
  })
  t.teardown(async () => { await server.stop() })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (server.exited()) throw new Error(`the server exited:\n${tail(logFile)}`)
    return await httpStatus(`${url}/readyz`) === 200
  }, 'the server to be ready', 60_000).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${tail(logFile)}`) })
  const scrape = await (await fetch(`${url}/metrics`)).text()
  const types = families(scrape)
  const exported = seriesNames(types)
  t.ok(exported.has('pan_connections') && exported.has('pan_process_cpu_seconds_total'), `scraped ${types.size} metric families`)

  const used = new Set<string>()
  for (const { where, expr } of queries()) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${where} reads a metric`)
    for (const name of names) {
      used.add(name)
      t.ok(exported.has(name), `${where}: ${name} is exported`)
    }
    if (names.some((name) => name.endsWith('_bucket'))) {
      t.match(expr, /histogram_quantile\(\s*0?\.\d+,\s*sum by \([^)]*\ble\b[^)]*\)/, `${where}: buckets go through histogram_quantile by le`)
    }
  }

  // The metrics of apps/server/src/metrics.ts (prom-client's default ones are process_/nodejs_).
  const panMetrics = [...types.keys()].filter((family) => family.startsWith('pan_') && !/^pan_(process|nodejs)_/.test(family))
  const withoutPanel = panMetrics.filter((family) => ![...used].some((name) => name === family || name.startsWith(`${family}_`)))
  t.same(withoutPanel, [], 'every PAN metric is on the dashboard')
})

t.test('the dashboard is importable: a Prometheus data source variable, unique panel ids', async (t) => {
  t.equal(dashboard.uid, 'pan-overview', 'a stable uid, so re-imports replace it')
  const variables = record(dashboard.templating, 'templating').list as Array<Record<string, unknown>>
  t.ok(variables.some((v) => v.type === 'datasource' && v.query === 'prometheus' && v.name === 'datasource'), 'a $datasource variable')
  const panels = dashboard.panels as Array<Record<string, unknown>>
  const ids = panels.map((p) => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const panel of panels.filter((p) => p.type !== 'row')) {
    // eslint-disable-next-line no-template-curly-in-string -- Grafana's variable syntax
    t.match(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, `panel "${String(panel.title)}" uses $datasource`)
  }
})
