import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Teardown } from './teardown.js'
import type { TestCertificate } from './tls-certificate.js'

export interface GitHttpServerOptions {
  /** Basic credentials every request must present; without them, the server serves anyone. */
  credentials?: { username: string; password: string }
  /** Serve https with this certificate, rather than plain http. */
  tls?: TestCertificate
  /** Answer every request it lets in with a redirect to the same path under this base URL. */
  redirectTo?: string
}

/**
 * A git server over HTTP(S): git's own smart-HTTP CGI (`git http-backend`), serving the
 * repositories under `root` on loopback. Records each request and the Authorization it presented.
 */
export async function startGitHttpServer (t: Teardown, root: string, options: GitHttpServerOptions = {}) {
  const { credentials } = options
  const expected = credentials && `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  const seen: { url: string; authorization: string | undefined; authorized: boolean }[] = []
  const serve = (request: IncomingMessage, response: ServerResponse) => {
    const { authorization } = request.headers
    const authorized = expected === undefined || authorization === expected
    seen.push({ url: request.url ?? '', authorization, authorized })
    if (!authorized) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end()
    } else if (options.redirectTo) {
      response.writeHead(301, { location: `${options.redirectTo}${request.url ?? '/'}` }).end()
    } else {
      runBackend(root, request, response, credentials?.username)
    }
  }
  const server = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, serve) : createServer(serve)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const base = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { seen, base, urlOf: (repoDir: string) => `${base}/${path.relative(root, repoDir)}` }
}

function runBackend (root: string, request: IncomingMessage, response: ServerResponse, user: string | undefined): void {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const cgi = spawn('git', ['http-backend'], {
    env: {
      ...process.env,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: request.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: request.headers['content-type'] ?? '',
      GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
      ...(user ? { REMOTE_USER: user } : {})
    }
  })
  request.pipe(cgi.stdin)
  let head = Buffer.alloc(0)
  let headersDone = false
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      response.write(chunk)
      return
    }
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end === -1) return
    headersDone = true
    const headers: Record<string, string> = {}
    let status = 200
    for (const line of head.subarray(0, end).toString().split('\r\n')) {
      const [name, ...rest] = line.split(':')
      if (name!.toLowerCase() === 'status') status = Number(rest.join(':').trim().split(' ')[0])
      else headers[name!] = rest.join(':').trim()
    }
    response.writeHead(status, headers)
    response.write(head.subarray(end + 4))
  })
  cgi.on('close', () => response.end())
}
