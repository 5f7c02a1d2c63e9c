import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Managed, describeExit } from './process.ts'
import { request } from './http.ts'
import { repoRoot } from './replica.ts'
import { WaitAbort, tail, waitUntil } from './wait.ts'

const NGINX = '/usr/sbin/nginx'
const run = promisify(execFile)

/** The shared server config; the harness adds only what differs per run. */
export const panConf = join(repoRoot, 'infra/nginx/pan.conf')

export interface NginxOptions {
  /** nginx's prefix and conf directory: nginx.conf, pan-upstream.conf, pan-listen.conf, certs/. */
  dir: string
  /** TLS port on 127.0.0.1. */
  port: number
  /** host:port of each replica. */
  upstreams: string[]
  /** PEM CA that verifies the certificate under `dir/certs/`. */
  ca: string
  readyTimeoutMs: number
}

/**
 * nginx in the foreground, configured by `infra/nginx/pan.conf` itself: the main config written
 * here only sets process-level things (pid, logs, temp paths) and includes it. pan.conf resolves
 * `pan-upstream.conf`, `pan-listen.conf` and `certs/` against the main config's directory.
 */
export class Nginx {
  readonly port: number
  readonly url: string
  readonly errorLog: string
  readonly #process: Managed

  private constructor (port: number, errorLog: string, proc: Managed) {
    this.port = port
    this.url = `https://127.0.0.1:${port}`
    this.errorLog = errorLog
    this.#process = proc
  }

  static async start (options: NginxOptions): Promise<Nginx> {
    const { dir } = options
    const conf = join(dir, 'nginx.conf')
    const errorLog = join(dir, 'nginx-error.log')
    writeConfig(options, conf, errorLog)
    const args = ['-p', dir, '-c', conf, '-e', errorLog]
    try {
      await run(NGINX, ['-t', '-q', ...args], { timeout: 30_000 })
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? ''
      throw new Error(`nginx -t rejected ${conf}: ${stderr.trim() || (err as Error).message}`)
    }
    // The master gets SIGTERM if we die first: SIGKILL would leave its workers holding the port.
    const proc = new Managed(NGINX, args, { logFile: join(dir, 'nginx-stderr.log'), reapSignal: 'SIGTERM' })
    const nginx = new Nginx(options.port, errorLog, proc)
    await waitUntil(async () => {
      if (proc.exit !== undefined) throw new WaitAbort(`nginx ${describeExit(proc.exit)}\n${tail(errorLog)}`)
      const res = await request({ method: 'GET', url: `${nginx.url}/healthz`, ca: options.ca, timeoutMs: 2000 })
      return res.status === 200
    }, { timeoutMs: options.readyTimeoutMs, what: `nginx to answer GET ${nginx.url}/healthz`, details: () => tail(errorLog) })
    return nginx
  }

  get pid (): number | undefined { return this.#process.pid }
  get running (): boolean { return this.#process.running }

  /** Fast shutdown (SIGTERM: the master stops its workers, open sockets are cut). */
  async stop (): Promise<void> {
    await this.#process.kill('SIGTERM')
  }
}

function writeConfig (options: NginxOptions, conf: string, errorLog: string): void {
  const { dir } = options
  const temp = join(dir, 'nginx-temp')
  mkdirSync(temp, { recursive: true })
  // As root, nginx runs its workers as `nobody` and gives them the temp dirs; they must be able to
  // reach those through our private directories (traverse only: the key stays unreadable).
  chmodSync(dir, 0o711)
  chmodSync(temp, 0o711)
  const quote = (path: string): string => JSON.stringify(path)
  writeFileSync(conf, [
    '# Written by @pan/cluster for one run; the server config is the repo\'s infra/nginx/pan.conf.',
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${quote(join(dir, 'nginx.pid'))};`,
    `error_log ${quote(errorLog)} warn;`,
    'events { worker_connections 20000; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${quote(join(temp, kind))};`),
    `  include ${quote(panConf)};`,
    '}',
    ''
  ].join('\n'))
  writeFileSync(join(dir, 'pan-upstream.conf'), options.upstreams.map((hostPort) => `server ${hostPort} max_fails=0;\n`).join(''))
  writeFileSync(join(dir, 'pan-listen.conf'), `listen 127.0.0.1:${options.port} ssl;\n`)
}
