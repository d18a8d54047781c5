import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempFolder } from './files.js'
import type { Teardown } from './teardown.js'

export interface TestCertificate {
  key: string
  cert: string
  /** The certificate as a file: what git is told to trust (http.sslCAInfo, GIT_SSL_CAINFO). */
  certFile: string
}

/** A self-signed certificate for 127.0.0.1, made by openssl for this test alone. */
export async function createTestCertificate (t: Teardown): Promise<TestCertificate> {
  const dir = await tempFolder(t, {}, 'slipway-tls-')
  const keyFile = path.join(dir, 'key.pem')
  const certFile = path.join(dir, 'cert.pem')
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile
  ])
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile }
}
