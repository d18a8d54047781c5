// Reports to the forge a build came from: commit statuses and the one comment Slipway keeps on a
// pull/merge request, through GitHub's REST API and GitLab's REST API v4, as their docs shape them:
//
//   GitHub  POST  /repos/{owner}/{repo}/statuses/{sha}                     create a commit status
//           GET   /repos/{owner}/{repo}/issues/{number}/comments           list issue comments
//           POST  /repos/{owner}/{repo}/issues/{number}/comments           create an issue comment
//           PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}       update an issue comment
//   GitLab  POST  /projects/:id/statuses/:sha                              set a commit's status
//           GET   /projects/:id/merge_requests/:iid/notes                  list a merge request's notes
//           POST  /projects/:id/merge_requests/:iid/notes                  create a note
//           PUT   /projects/:id/merge_requests/:iid/notes/:note_id         modify a note
//
// Each function answers in the shape of a webhook delivery attempt, so the caller records it as one.
// Nothing here throws, and the token is sent only in its header, never written into an answer.

import type { ForgeProvider } from '../../src/domain/schemas/build.js'
import type { CommitState } from '../../src/domain/reports/report-text.js'

export type { CommitState, ForgeProvider }
/** Where to report: the API base (https://api.github.com, https://ghe.example.com/api/v3, https://gitlab.com/api/v4), the repository path (owner/name; group/sub/project), and the token. */
export interface ForgeTarget { provider: ForgeProvider; apiUrl: string; repo: string; token: string }
// Slipway's states, mapped per provider: GitHub pending|running→pending, success→success, failure→failure, canceled→error; GitLab pending, running, success, failure→failed, canceled→canceled.
/** `ref` (GitLab only, optional): the branch or tag the status belongs to; without it GitLab picks the first branch that contains the commit. */
export interface CommitStatus { sha: string; state: CommitState; context: string; description: string; targetUrl: string | null; ref?: string | null }
/** One call's outcome, in the shape of a webhook delivery attempt (so the lead records it as one). */
export interface ForgeResult { statusCode: number | null; durationMs: number; error: string | null; response: string | null }

const RESPONSE_BYTES = 1024
/** A listing page is parsed whole; past this it is not a page of comments. */
const MAX_BODY_BYTES = 8 * 1024 * 1024
const PER_PAGE = 100
const MAX_PAGES = 10
/** GitHub refuses a longer description (422); GitLab's column holds 255. */
const DESCRIPTION_LIMIT: Record<ForgeProvider, number> = { github: 140, gitlab: 255 }
const NAME: Record<ForgeProvider, string> = { github: 'GitHub', gitlab: 'GitLab' }
const GITHUB_STATE: Record<CommitState, string> = { pending: 'pending', running: 'pending', success: 'success', failure: 'failure', canceled: 'error' }
const GITLAB_STATE: Record<CommitState, string> = { pending: 'pending', running: 'running', success: 'success', failure: 'failed', canceled: 'canceled' }

export function postCommitStatus (target: ForgeTarget, status: CommitStatus, options: { timeoutMs: number }): Promise<ForgeResult> {
  const description = cut(status.description, DESCRIPTION_LIMIT[target.provider])
  if (target.provider === 'github') {
    const body = { state: GITHUB_STATE[status.state], context: status.context, description, ...(status.targetUrl ? { target_url: status.targetUrl } : {}) }
    return call(target, 'POST', `/repos/${repoPath(target)}/statuses/${encodeURIComponent(status.sha)}`, body, options).then(outcome)
  }
  const body = {
    state: GITLAB_STATE[status.state],
    name: status.context,
    description,
    ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    ...(status.ref ? { ref: status.ref } : {})
  }
  return call(target, 'POST', `/projects/${projectId(target)}/statuses/${encodeURIComponent(status.sha)}`, body, options).then((answer) => {
    // GitLab moves a status through a state machine and answers 400 "Cannot transition status via
    // :run from :running" when the status of that name is already there: a retried call whose
    // first try in fact landed. The commit shows what was asked, so this is a success.
    if (answer.statusCode === 400 && /Cannot transition status/.test(answer.text)) return { ...outcome(answer), error: null }
    return outcome(answer)
  })
}

/**
 * The one comment Slipway keeps on a pull/merge request, found by `marker` (an HTML comment
 * like `<!-- slipway:ctx -->` that `body` contains): updated in place when it exists (by
 * `knownId` first when given; if that answers 404, or none is given, by listing the comments and
 * finding the marker, paging up to 10 pages of 100), created otherwise. `commentId` is the id
 * of the comment written, on success.
 */
export async function upsertComment (target: ForgeTarget, comment: { number: number; marker: string; body: string; knownId?: string | null }, options: { timeoutMs: number }): Promise<ForgeResult & { commentId: string | null }> {
  let durationMs = 0
  // Every call adds to the total; the last answer is the one reported.
  const step = async (method: string, path: string, body?: unknown) => {
    const answer = await call(target, method, path, body, options)
    durationMs += answer.durationMs
    return answer
  }
  const finish = (answer: Answer, commentId: string | null) => ({ ...outcome(answer), durationMs, commentId: answer.error === null ? commentId : null })
  const github = target.provider === 'github'
  const listPath = github ? `/repos/${repoPath(target)}/issues/${comment.number}/comments` : `/projects/${projectId(target)}/merge_requests/${comment.number}/notes`
  const update = (id: string) => step(github ? 'PATCH' : 'PUT', github ? `/repos/${repoPath(target)}/issues/comments/${encodeURIComponent(id)}` : `${listPath}/${encodeURIComponent(id)}`, { body: comment.body })

  if (comment.knownId) {
    const answer = await update(comment.knownId)
    // A 404 means the comment was deleted (or the id is stale): look for it, or write a new one.
    if (answer.statusCode !== 404) return finish(answer, idOf(answer) ?? comment.knownId)
  }

  for (let page = 1; page <= MAX_PAGES; page++) {
    // Oldest first on both, so the comment found is the first Slipway wrote.
    const query = github ? `?per_page=${PER_PAGE}&page=${page}` : `?sort=asc&order_by=created_at&per_page=${PER_PAGE}&page=${page}`
    const answer = await step('GET', listPath + query)
    if (answer.error !== null) return finish(answer, null)
    const items = parseList(answer.text)
    if (items === null) return finish({ ...answer, error: `${NAME[target.provider]} answered ${answer.statusCode} with something other than a list of comments` }, null)
    // Anyone can write the marker into a comment of their own; the forge refuses to let us edit
    // theirs (403), so such a comment is passed over rather than stopping every update.
    for (const found of items.filter((item) => typeof item.body === 'string' && item.body.includes(comment.marker) && item.system !== true)) {
      const answer = await update(String(found.id))
      if (answer.statusCode !== 403 && answer.statusCode !== 404) return finish(answer, idOf(answer) ?? String(found.id))
    }
    if (items.length < PER_PAGE) break
  }

  const created = await step('POST', listPath, { body: comment.body })
  return finish(created, idOf(created))
}

interface Answer extends ForgeResult { text: string }

/**
 * One request. Redirects are not followed: a 3xx is a failure that names where it pointed (an API
 * base that redirects is misconfigured, and following it would send the token elsewhere).
 */
async function call (target: ForgeTarget, method: string, path: string, body: unknown, options: { timeoutMs: number }): Promise<Answer> {
  const started = Date.now()
  const url = target.apiUrl.replace(/\/+$/, '') + path
  const headers: Record<string, string> = target.provider === 'github'
    ? { authorization: `Bearer ${target.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'Slipway' }
    : { 'private-token': target.token, accept: 'application/json', 'user-agent': 'Slipway' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  try {
    const signal = AbortSignal.timeout(options.timeoutMs)
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual', signal })
    const text = await readText(response)
    const statusCode = response.status
    return { statusCode, durationMs: Date.now() - started, error: explain(target, statusCode, text, response.headers), response: firstBytes(text) || null, text }
  } catch (error) {
    return { statusCode: null, durationMs: Date.now() - started, error: unreachable(target, error, options.timeoutMs), response: null, text: '' }
  }
}

/** The body as text, read no further than MAX_BODY_BYTES. */
async function readText (response: Response): Promise<string> {
  if (!response.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    chunks.push(chunk)
    size += chunk.length
    if (size >= MAX_BODY_BYTES) break
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The first RESPONSE_BYTES bytes of the text, without a character cut in half (`stream` holds it back). */
function firstBytes (text: string): string {
  return new TextDecoder().decode(Buffer.from(text).subarray(0, RESPONSE_BYTES), { stream: true })
}

/** What an operator should do about an answer that is not a 2xx; null for a 2xx. */
function explain (target: ForgeTarget, statusCode: number, text: string, headers: Headers): string | null {
  if (statusCode >= 200 && statusCode < 300) return null
  const name = NAME[target.provider]
  const said = providerMessage(text)
  const suffix = said ? ` (${name} said: ${said})` : ''
  if (statusCode >= 300 && statusCode < 400) return `${name} answered ${statusCode}: redirect to ${headers.get('location') ?? '(no location)'} not followed; check the API URL ${target.apiUrl}`
  if (statusCode === 401) return `${name} answered 401: the token was refused; check the stored secret${suffix}`
  if (statusCode === 429 || (statusCode === 403 && headers.get('x-ratelimit-remaining') === '0')) return `${name} answered ${statusCode}: rate limited; a later attempt may succeed${suffix}`
  if (statusCode === 403) return `${name} answered 403: the token may not write to ${target.repo}; give it the rights to set commit statuses and comment${suffix}`
  if (statusCode === 404) return `${name} answered 404: ${target.repo} or what was asked of it was not found, or the token cannot see it; check the repository path, the number and the token's access${suffix}`
  if (statusCode >= 500) return `${name} answered ${statusCode}: the server failed; a later attempt may succeed${suffix}`
  return `${name} answered ${statusCode}: the request was refused${suffix}`
}

/** The provider's own words, short: GitHub's and GitLab's `message`, Grape's `error`. */
function providerMessage (text: string): string | null {
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null) {
      const { message, error } = parsed as { message?: unknown; error?: unknown }
      const words = message ?? error
      if (words !== undefined && words !== null) return cut(typeof words === 'string' ? words : JSON.stringify(words), 200)
    }
  } catch {}
  return null
}

function unreachable (target: ForgeTarget, error: unknown, timeoutMs: number): string {
  const name = error instanceof Error ? error.name : ''
  if (name === 'TimeoutError' || name === 'AbortError') return `${NAME[target.provider]} gave no answer within ${timeoutMs / 1000} s`
  // fetch says "fetch failed" and puts the reason (ECONNREFUSED, a certificate error…) in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause)
  return `could not reach ${NAME[target.provider]} at ${target.apiUrl}: ${reason}`
}

function outcome (answer: Answer): ForgeResult {
  return { statusCode: answer.statusCode, durationMs: answer.durationMs, error: answer.error, response: answer.response }
}

function parseList (text: string): { id: unknown; body?: unknown; system?: unknown }[] | null {
  try {
    const parsed = JSON.parse(text) as unknown
    return Array.isArray(parsed) ? (parsed as { id: unknown; body?: unknown; system?: unknown }[]) : null
  } catch {
    return null
  }
}

function idOf (answer: Answer): string | null {
  if (answer.error !== null) return null
  try {
    const parsed = JSON.parse(answer.text) as { id?: unknown }
    return typeof parsed.id === 'number' || typeof parsed.id === 'string' ? String(parsed.id) : null
  } catch {
    return null
  }
}

/** GitHub's path segments: owner/name, each encoded. */
function repoPath (target: ForgeTarget): string {
  return target.repo.split('/').map(encodeURIComponent).join('/')
}

/** GitLab's :id: the whole project path as one encoded segment (group%2Fsub%2Fproject). */
function projectId (target: ForgeTarget): string {
  return encodeURIComponent(target.repo)
}

/** At most `limit` characters (code points), the last an ellipsis when cut. */
function cut (text: string, limit: number): string {
  const characters = Array.from(text)
  return characters.length <= limit ? text : characters.slice(0, limit - 1).join('') + '…'
}
