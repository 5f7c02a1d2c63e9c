import { execFile } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface Certificate {
  certFile: string
  keyFile: string
  /** The certificate in PEM: self-signed, so it is its own CA. Hand it to clients as `ca`. */
  pem: string
}

/**
 * A throwaway self-signed P-256 certificate for localhost and 127.0.0.1, valid one day, written as
 * `pan.crt` / `pan.key` into `dir` (the names `infra/nginx/pan.conf` expects under `certs/`).
 * Clients trust exactly this certificate instead of turning verification off.
 */
export async function selfSignedCertificate (dir: string): Promise<Certificate> {
  mkdirSync(dir, { recursive: true })
  const certFile = join(dir, 'pan.crt')
  const keyFile = join(dir, 'pan.key')
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyFile, '-out', certFile
    ], { timeout: 30_000 })
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new Error(`openssl could not make the test certificate: ${(err as Error).message}\n${stderr}`)
  }
  chmodSync(keyFile, 0o600) // read by nginx's master (our user) only
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') }
}
