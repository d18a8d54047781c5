import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from './teardown.js'

// A stand-in for the parts of GitHub's REST API and GitLab's REST API v4 that Slipway reports
// through, written from the providers' documentation and (for GitLab's commit statuses) its source:
//
//   GitHub  POST  /repos/{owner}/{repo}/statuses/{sha}
//           GET   /repos/{owner}/{repo}/issues/{number}/comments     (per_page ≤ 100, page, Link)
//           POST  /repos/{owner}/{repo}/issues/{number}/comments
//           PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}
//   GitLab  POST  /projects/:id/statuses/:sha                         (:id the encoded path)
//           GET   /projects/:id/merge_requests/:iid/notes             (per_page ≤ 100, page, sort)
//           POST  /projects/:id/merge_requests/:iid/notes
//           PUT   /projects/:id/merge_requests/:iid/notes/:note_id
//
// GitLab's commit status is a job with a state machine (app/models/commit_status.rb). The API
// (lib/api/commit_statuses.rb, now Ci::CreateCommitStatusService) finds the pending or running
// status of that name, sha and ref, or makes a new one in `created`, then fires one event per
// asked state: pending → enqueue!, running → enqueue then run!, success → success!, failed →
// drop!, canceled → cancel!. enqueue goes created → pending, run pending → running, and success,
// drop and cancel go from created, pending or running. A status already finished is never found,
// so a new job starts. What it refuses is therefore: pending or running asked of a pending
// status (enqueue from pending; enqueue's soft failure, then run, is fine for running), and
// pending or running asked of a running one — with state_machines' InvalidTransition message.
// (app/models/generic_commit_status.rb also limits target_url to 255 characters.)

export type Provider = 'github' | 'gitlab'

export interface ForgeCall {
  provider: Provider
  method: string
  /** The API path and query, under the base (`/repos/acme/app/statuses/…`, `/projects/acme%2Fapp/…`). */
  path: string
  headers: IncomingHttpHeaders
  body: string
  /** What the stand-in answered. */
  statusCode: number
}

export interface StandInOptions {
  /** The token each repository accepts, per provider (owner/name; group/sub/project). */
  tokens?: { github?: Record<string, string>; gitlab?: Record<string, string> }
}

type Json = Record<string, unknown>
interface Comment extends Json { id: number; body: string }
interface Answer { status: number; body: unknown; headers?: Record<string, string> }

const GITHUB_STATES = ['pending', 'success', 'failure', 'error']
const GITLAB_STATES = ['pending', 'running', 'success', 'failed', 'canceled']
const GITHUB_DOCS = 'https://docs.github.com/rest'
const NO_USER_AGENT = 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n'

/** A stand-in of GitHub's and GitLab's APIs on a loopback port, recording every call; closed when the test ends. */
export async function startForgeStandIn (t: Teardown, options: StandInOptions = {}) {
  const tokens = { github: options.tokens?.github ?? {}, gitlab: options.tokens?.gitlab ?? {} }
  const calls: ForgeCall[] = []
  const statusStore = new Map<string, Json[]>()
  const commentStore = new Map<string, Comment[]>()
  let failing: { count: number; statusCode: number; when: (call: ForgeCall) => boolean } = { count: 0, statusCode: 502, when: () => true }
  const nextId = { githubStatus: 26_000_000_001, githubComment: 1_900_000_001, gitlabStatus: 7001, gitlabNote: 3001 }
  let base = ''

  const key = (...parts: (string | number)[]) => parts.join('\u0000')
  const listOf = <T>(store: Map<string, T[]>, k: string) => {
    let list = store.get(k)
    if (!list) store.set(k, (list = []))
    return list
  }
  const githubTime = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  const githubUser = { login: 'slipway-bot', id: 4242, node_id: 'MDQ6VXNlcjQyNDI=', type: 'User', site_admin: false }
  const gitlabUser = { id: 42, username: 'slipway-bot', name: 'Slipway', state: 'active', avatar_url: null, web_url: 'https://gitlab.example.com/slipway-bot' }

  function githubComment (repo: string, number: number, body: string): Comment {
    const id = nextId.githubComment++
    const now = githubTime()
    return {
      id,
      node_id: Buffer.from(`IC_${id}`).toString('base64'),
      url: `${base}/github/repos/${repo}/issues/comments/${id}`,
      html_url: `https://github.com/${repo}/pull/${number}#issuecomment-${id}`,
      issue_url: `${base}/github/repos/${repo}/issues/${number}`,
      body,
      user: githubUser,
      created_at: now,
      updated_at: now,
      author_association: 'NONE'
    }
  }

  function gitlabNote (number: number, body: string): Comment {
    const now = new Date().toISOString()
    return {
      id: nextId.gitlabNote++,
      type: null,
      body,
      attachment: null,
      author: gitlabUser,
      created_at: now,
      updated_at: now,
      system: false,
      noteable_id: 900 + number,
      noteable_type: 'MergeRequest',
      noteable_iid: number,
      resolvable: false,
      confidential: false,
      internal: false
    }
  }

  /** GitHub's answer: after the User-Agent check and the token, one of four routes. */
  function github (method: string, url: URL, headers: IncomingHttpHeaders, raw: string): Answer {
    const notFound = { status: 404, body: { message: 'Not Found', documentation_url: GITHUB_DOCS, status: '404' } }
    if (!headers['user-agent']) return { status: 403, body: NO_USER_AGENT, headers: { 'content-type': 'text/plain; charset=utf-8' } }
    const auth = /^(?:Bearer|token) (.+)$/i.exec(headers.authorization ?? '')?.[1]
    if (!auth) return { status: 401, body: { message: 'Requires authentication', documentation_url: GITHUB_DOCS, status: '401' } }
    if (!Object.values(tokens.github).includes(auth)) return { status: 401, body: { message: 'Bad credentials', documentation_url: GITHUB_DOCS, status: '401' } }

    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent) // repos, owner, name, …
    if (parts[0] !== 'repos' || parts.length < 5) return notFound
    const repo = `${parts[1]}/${parts[2]}`
    // A token that is good, but not for this repository, sees no repository at all.
    if (tokens.github[repo] !== auth) return notFound
    const rest = parts.slice(3)
    let body: Json
    try {
      body = raw ? (JSON.parse(raw) as Json) : {}
    } catch {
      return { status: 400, body: { message: 'Problems parsing JSON', documentation_url: GITHUB_DOCS, status: '400' } }
    }
    const invalid = (resource: string, field: string, message: string) => ({ status: 422, body: { message: 'Validation Failed', errors: [{ resource, code: 'custom', field, message }], documentation_url: GITHUB_DOCS, status: '422' } })

    if (method === 'POST' && rest[0] === 'statuses' && rest.length === 2) {
      const sha = rest[1]!
      if (typeof body.state !== 'string' || !GITHUB_STATES.includes(body.state)) return invalid('Status', 'state', `state is not included in the list (${GITHUB_STATES.join(', ')})`)
      if (typeof body.description === 'string' && body.description.length > 140) return invalid('Status', 'description', 'description is too long (maximum is 140 characters)')
      const id = nextId.githubStatus++
      const now = githubTime()
      const status = {
        url: `${base}/github/repos/${repo}/statuses/${sha}`,
        avatar_url: null,
        id,
        node_id: Buffer.from(`SC_${id}`).toString('base64'),
        state: body.state,
        description: body.description ?? null,
        target_url: body.target_url ?? null,
        context: body.context ?? 'default',
        created_at: now,
        updated_at: now,
        creator: githubUser
      }
      listOf(statusStore, key('github', repo, sha)).push(status)
      return { status: 201, body: status }
    }
    if (rest[0] === 'issues' && rest[1] === 'comments' && rest.length === 3 && method === 'PATCH') {
      const found = [...commentStore.entries()].filter(([k]) => k.startsWith(key('github', repo, ''))).flatMap(([, list]) => list).find((comment) => String(comment.id) === rest[2])
      if (!found) return notFound
      // The bot's token may edit only the bot's comments, as on GitHub.
      if ((found.user as { login: string }).login !== githubUser.login) return { status: 403, body: { message: 'Must have admin rights to Repository.', documentation_url: GITHUB_DOCS, status: '403' } }
      if (typeof body.body !== 'string') return invalid('IssueComment', 'body', 'body wasn\'t supplied')
      found.body = body.body
      found.updated_at = githubTime()
      return { status: 200, body: found }
    }
    if (rest[0] === 'issues' && rest[2] === 'comments' && rest.length === 3 && /^\d+$/.test(rest[1]!)) {
      const number = Number(rest[1])
      const list = listOf(commentStore, key('github', repo, number))
      if (method === 'GET') {
        const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1), 100)
        const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1)
        const last = Math.max(Math.ceil(list.length / perPage), 1)
        const link = (p: number, rel: string) => `<${base}/github${url.pathname}?per_page=${perPage}&page=${p}>; rel="${rel}"`
        const links = [...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])]
        return { status: 200, body: list.slice((page - 1) * perPage, page * perPage), headers: links.length ? { link: links.join(', ') } : {} }
      }
      if (method === 'POST') {
        if (typeof body.body !== 'string') return invalid('IssueComment', 'body', 'body wasn\'t supplied')
        const comment = githubComment(repo, number, body.body)
        list.push(comment)
        return { status: 201, body: comment }
      }
    }
    return notFound
  }

  /** GitLab's answer: the token, then one of four routes, parameters checked as Grape does. */
  function gitlab (method: string, url: URL, headers: IncomingHttpHeaders, raw: string): Answer {
    const token = headers['private-token'] ?? /^Bearer (.+)$/i.exec(headers.authorization ?? '')?.[1]
    if (typeof token !== 'string' || !Object.values(tokens.gitlab).includes(token)) return { status: 401, body: { message: '401 Unauthorized' } }
    const parts = url.pathname.split('/').slice(1) // projects, <encoded path>, …
    if (parts[0] !== 'projects' || parts.length < 3) return { status: 404, body: { error: '404 Not Found' } }
    const project = decodeURIComponent(parts[1]!)
    if (tokens.gitlab[project] !== token) return { status: 404, body: { message: '404 Project Not Found' } }
    const rest = parts.slice(2).map(decodeURIComponent)
    // Grape reads a JSON body by its content type, and a form otherwise.
    const type = headers['content-type'] ?? ''
    let body: Json = {}
    try {
      if (type.startsWith('application/json') && raw) body = JSON.parse(raw) as Json
      else if (type.startsWith('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw))
    } catch {
      return { status: 400, body: { error: 'The provided content-type \'application/json\' is not valid JSON' } }
    }

    if (method === 'POST' && rest[0] === 'statuses' && rest.length === 2) {
      if (body.state === undefined) return { status: 400, body: { error: 'state is missing' } }
      if (typeof body.state !== 'string' || !GITLAB_STATES.includes(body.state)) return { status: 400, body: { error: 'state does not have a valid value' } }
      // GenericCommitStatus validates target_url (at most 255 characters) before any transition.
      if (typeof body.target_url === 'string' && body.target_url.length > 255) return { status: 400, body: { message: { target_url: ['is too long (maximum is 255 characters)'] } } }
      const sha = rest[1]!
      const name = typeof body.name === 'string' ? body.name : typeof body.context === 'string' ? body.context : 'default'
      const ref = typeof body.ref === 'string' ? body.ref : 'main'
      const jobs = listOf(statusStore, key('gitlab', project, sha))
      let job = jobs.find((candidate) => candidate.name === name && candidate.ref === ref && (candidate.status === 'pending' || candidate.status === 'running'))
      const from = (job?.status as string | undefined) ?? 'created'
      const refuse = (event: string, state: string) => ({ status: 400, body: { message: `Cannot transition status via :${event} from :${state} (Reason(s): Status cannot transition via "${event}")` } })
      let to: string
      switch (body.state) {
        case 'pending':
          if (from !== 'created') return refuse('enqueue', from)
          to = 'pending'
          break
        case 'running':
          if (from === 'running') return refuse('run', from)
          to = 'running'
          break
        default:
          to = body.state
      }
      const now = new Date().toISOString()
      if (!job) {
        job = { id: nextId.gitlabStatus++, sha, ref, status: 'created', name, target_url: null, description: null, created_at: now, started_at: null, finished_at: null, allow_failure: false, coverage: null, pipeline_id: 500, author: gitlabUser }
        jobs.push(job)
      }
      if (body.target_url !== undefined) job.target_url = body.target_url
      if (body.description !== undefined) job.description = body.description
      if (to === 'running') job.started_at = now
      if (['success', 'failed', 'canceled'].includes(to)) job.finished_at = now
      job.status = to
      return { status: 201, body: job }
    }
    if (rest[0] === 'merge_requests' && rest[2] === 'notes' && /^\d+$/.test(rest[1]!)) {
      const number = Number(rest[1])
      const list = listOf(commentStore, key('gitlab', project, number))
      if (rest.length === 3 && method === 'GET') {
        const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 20) || 20, 1), 100)
        const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1)
        // GitLab lists notes newest first unless asked for sort=asc.
        const sorted = url.searchParams.get('sort') === 'asc' ? [...list] : [...list].reverse()
        const total = Math.max(Math.ceil(list.length / perPage), 1)
        return {
          status: 200,
          body: sorted.slice((page - 1) * perPage, page * perPage),
          headers: { 'x-page': String(page), 'x-per-page': String(perPage), 'x-total': String(list.length), 'x-total-pages': String(total), 'x-next-page': page < total ? String(page + 1) : '', 'x-prev-page': page > 1 ? String(page - 1) : '' }
        }
      }
      if (rest.length === 3 && method === 'POST') {
        if (typeof body.body !== 'string' || body.body === '') return { status: 400, body: { error: 'body is missing' } }
        const note = gitlabNote(number, body.body)
        list.push(note)
        return { status: 201, body: note }
      }
      if (rest.length === 4 && method === 'PUT') {
        const note = list.find((candidate) => String(candidate.id) === rest[3])
        if (!note) return { status: 404, body: { message: '404 Not found' } }
        if ((note.author as { id: number }).id !== gitlabUser.id) return { status: 403, body: { message: '403 Forbidden' } }
        if (typeof body.body === 'string') note.body = body.body
        note.updated_at = new Date().toISOString()
        return { status: 200, body: note }
      }
    }
    return { status: 404, body: { error: '404 Not Found' } }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const url = new URL(request.url ?? '/', 'http://stand-in')
    const prefix = url.pathname.startsWith('/github/') ? '/github' : url.pathname.startsWith('/gitlab/api/v4/') ? '/gitlab/api/v4' : null
    if (!prefix) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const provider: Provider = prefix === '/github' ? 'github' : 'gitlab'
    const method = request.method ?? 'GET'
    const call: ForgeCall = { provider, method, path: (request.url ?? '').slice(prefix.length), headers: request.headers, body: raw, statusCode: 0 }
    calls.push(call)
    const inner = new URL(url.pathname.slice(prefix.length) + url.search, 'http://stand-in')
    let answer: Answer
    if (failing.count > 0 && failing.when(call)) {
      failing.count--
      answer = { status: failing.statusCode, body: provider === 'github' ? { message: 'Server Error' } : { message: `${failing.statusCode} Bad Gateway` } }
    } else {
      answer = provider === 'github' ? github(method, inner, request.headers, raw) : gitlab(method, inner, request.headers, raw)
    }
    call.statusCode = answer.status
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)
    response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers }).end(text)
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => response.writeHead(500).end(String(error)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  t.teardown(close)

  return {
    githubUrl: `${base}/github`,
    gitlabUrl: `${base}/gitlab/api/v4`,
    calls,
    /** The next `count` calls (of those `when` picks) answer `statusCode` without being applied. */
    failNext (count: number, statusCode = 502, when: (call: ForgeCall) => boolean = () => true) {
      failing = { count, statusCode, when }
    },
    /** GitHub: every status posted, in order. GitLab: every status job, each in its current state. */
    statuses (provider: Provider, repo: string, sha: string): Json[] {
      return statusStore.get(key(provider, repo, sha)) ?? []
    },
    comments (provider: Provider, repo: string, number: number): Comment[] {
      return commentStore.get(key(provider, repo, number)) ?? []
    },
    /** A comment written earlier by the bot, or by `someoneElse` (which the bot's token may not edit), as the API would have stored it; its id. */
    addComment (provider: Provider, repo: string, number: number, body: string, someoneElse = false): string {
      const comment = provider === 'github' ? githubComment(repo, number, body) : gitlabNote(number, body)
      if (someoneElse) Object.assign(comment, provider === 'github' ? { user: { ...githubUser, login: 'mallory', id: 666 } } : { author: { ...gitlabUser, id: 666, username: 'mallory' } })
      listOf(commentStore, key(provider, repo, number)).push(comment)
      return String(comment.id)
    },
    /** Deletes a comment as a user of the forge would. */
    deleteComment (provider: Provider, repo: string, number: number, id: string) {
      const list = commentStore.get(key(provider, repo, number)) ?? []
      const index = list.findIndex((comment) => String(comment.id) === id)
      if (index >= 0) list.splice(index, 1)
    },
    close
  }
}

export type ForgeStandIn = Awaited<ReturnType<typeof startForgeStandIn>>
