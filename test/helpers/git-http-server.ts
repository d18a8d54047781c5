import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Teardown } from './teardown.js'

/**
 * A private git server over HTTP: git's own smart-HTTP CGI (`git http-backend`) behind Basic
 * auth, serving the repositories under `root` on loopback. Records what each request presented.
 */
export async function startGitHttpServer(t: Teardown, root: string, credentials: { username: string; password: string }) {
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  const seen: { url: string; authorized: boolean }[] = []
  const server = createServer((request, response) => {
    const authorized = request.headers.authorization === expected
    seen.push({ url: request.url ?? '', authorized })
    if (!authorized) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end()
      return
    }
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
        REMOTE_USER: credentials.username
      }
    })
    request.pipe(cgi.stdin)
    let head = Buffer.alloc(0)
    let headersDone = false
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void response.write(chunk)
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
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const port = (server.address() as AddressInfo).port
  return { seen, urlOf: (repoDir: string) => `http://127.0.0.1:${port}/${path.relative(root, repoDir)}` }
}
