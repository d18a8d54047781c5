import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { gitHubSignature } from '../../src/domain/triggers/event-signature.js'

// Push events shaped as GitHub and GitLab send them (the fields of their documented payloads
// that a receiver sees, trimmed of the long lists), for a repository the test made.

const ZERO = '0'.repeat(40)

export interface PushOptions {
  /** The repository's clone URL, as the provider would give it. */
  repoUrl: string
  ref: string
  after: string
  before?: string
}

/** The spellings of one repository a provider's payload gives: for https, its web page and ssh URL too. */
function spellings (repoUrl: string) {
  const https = /^https:\/\/([^/]+)\/(.+?)(\.git)?$/.exec(repoUrl)
  return https ? { web: `https://${https[1]}/${https[2]}`, ssh: `git@${https[1]}:${https[2]}.git` } : { web: repoUrl, ssh: repoUrl }
}

export function gitHubPushPayload ({ repoUrl, ref, after, before = ZERO }: PushOptions) {
  const deleted = after === ZERO
  const { web, ssh } = spellings(repoUrl)
  return {
    ref,
    before,
    after,
    repository: {
      id: 123456,
      node_id: 'R_kgDOAAAAAA',
      name: 'app',
      full_name: 'acme/app',
      private: false,
      owner: { name: 'acme', login: 'acme', id: 1, type: 'Organization' },
      html_url: web,
      clone_url: repoUrl,
      git_url: repoUrl.replace(/^https:/, 'git:'),
      ssh_url: ssh,
      default_branch: 'main',
      master_branch: 'main'
    },
    pusher: { name: 'octocat', email: 'octocat@example.com' },
    sender: { login: 'octocat', id: 583231, type: 'User' },
    created: before === ZERO,
    deleted,
    forced: false,
    base_ref: null,
    compare: `${web}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: deleted ? [] : [{ id: after, tree_id: 'f'.repeat(40), distinct: true, message: 'change', timestamp: '2026-01-02T03:04:05Z' }],
    head_commit: deleted ? null : { id: after, tree_id: 'f'.repeat(40), distinct: true, message: 'change', timestamp: '2026-01-02T03:04:05Z' }
  }
}

export function gitLabPushPayload ({ repoUrl, ref, after, before = ZERO }: PushOptions) {
  const { web, ssh } = spellings(repoUrl)
  return {
    object_kind: 'push',
    event_name: 'push',
    before,
    after,
    ref,
    ref_protected: true,
    checkout_sha: after === ZERO ? null : after,
    user_id: 4,
    user_name: 'John Smith',
    user_username: 'jsmith',
    project_id: 15,
    project: {
      id: 15,
      name: 'app',
      web_url: web,
      git_ssh_url: ssh,
      git_http_url: repoUrl,
      namespace: 'acme',
      path_with_namespace: 'acme/app',
      default_branch: 'main'
    },
    commits: after === ZERO ? [] : [{ id: after, message: 'change', timestamp: '2026-01-02T03:04:05+00:00' }],
    total_commits_count: after === ZERO ? 0 : 1,
    repository: { name: 'app', url: ssh, homepage: web }
  }
}

export interface PullRequestOptions {
  /** The target repository's clone URL: where the webhook is, and the pull request goes. */
  repoUrl: string
  number: number
  headSha: string
  headRef?: string
  baseRef?: string
  /** GitHub: opened, synchronize, reopened, closed, …; GitLab: open, update, reopen, close, … */
  action: string
  /** The head comes from another repository: this one's clone URL. */
  forkUrl?: string
}

/** A GitHub repository object as events carry it. */
function gitHubRepository (repoUrl: string, id: number, fullName: string) {
  const { web, ssh } = spellings(repoUrl)
  return { id, node_id: `R_${id}`, name: fullName.split('/')[1], full_name: fullName, private: false, owner: { login: fullName.split('/')[0], id: 1, type: 'Organization' }, html_url: web, clone_url: repoUrl, ssh_url: ssh, default_branch: 'main' }
}

/** GitHub's pull_request event, as its documentation shows it (trimmed of the long fields). */
export function gitHubPullRequestPayload ({ repoUrl, number, headSha, headRef = 'feature', baseRef = 'main', action, forkUrl }: PullRequestOptions) {
  const base = gitHubRepository(repoUrl, 123456, 'acme/app')
  const head = forkUrl ? gitHubRepository(forkUrl, 654321, 'mallory/app') : base
  return {
    action,
    number,
    pull_request: {
      url: `https://api.github.com/repos/acme/app/pulls/${number}`,
      id: 1000 + number,
      html_url: `${base.html_url}/pull/${number}`,
      number,
      state: action === 'closed' ? 'closed' : 'open',
      title: 'A change',
      user: { login: forkUrl ? 'mallory' : 'octocat', id: 583231, type: 'User' },
      head: { label: `${head.owner.login}:${headRef}`, ref: headRef, sha: headSha, repo: head },
      base: { label: `acme:${baseRef}`, ref: baseRef, sha: 'b'.repeat(40), repo: base },
      draft: false,
      merged: false
    },
    repository: base,
    sender: { login: forkUrl ? 'mallory' : 'octocat', id: 583231, type: 'User' }
  }
}

/** GitLab's Merge Request Hook, as its documentation shows it (trimmed). `oldrev` comes with an update that added commits. */
export function gitLabMergeRequestPayload ({ repoUrl, number, headSha, headRef = 'feature', baseRef = 'main', action, forkUrl }: PullRequestOptions, oldrev?: string) {
  const { web, ssh } = spellings(repoUrl)
  const project = { id: 15, name: 'app', web_url: web, git_ssh_url: ssh, git_http_url: repoUrl, namespace: 'acme', path_with_namespace: 'acme/app', default_branch: 'main' }
  const source = forkUrl ? { ...project, id: 99, namespace: 'mallory', path_with_namespace: 'mallory/app', git_http_url: forkUrl, web_url: forkUrl } : project
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: { id: 1, name: 'Administrator', username: 'root' },
    project,
    object_attributes: {
      id: 90 + number,
      iid: number,
      target_branch: baseRef,
      source_branch: headRef,
      source_project_id: source.id,
      target_project_id: project.id,
      title: 'A change',
      state: action === 'close' ? 'closed' : 'opened',
      url: `${web}/-/merge_requests/${number}`,
      source,
      target: project,
      last_commit: { id: headSha, message: 'change', timestamp: '2026-01-02T03:04:05+00:00' },
      action,
      ...(oldrev ? { oldrev } : {})
    },
    repository: { name: 'app', url: ssh, homepage: web }
  }
}

/** POSTs an event to /v1/triggers/github as GitHub would: signed with `secret`, with a delivery id and no Slipway token. */
export function sendGitHubEvent (
  app: FastifyInstance,
  options: { secret: string; body: object | string; event?: string; deliveryId?: string; headers?: Record<string, string> }
) {
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  return app.inject({
    method: 'POST',
    url: '/v1/triggers/github',
    payload: body,
    headers: {
      authorization: '',
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/5a1b2c3',
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-github-hook-id': '42',
      'x-hub-signature-256': gitHubSignature(options.secret, body),
      ...options.headers
    }
  })
}

/** POSTs an event to /v1/triggers/gitlab as GitLab would: with the token, an Idempotency-Key and no Slipway token. */
export function sendGitLabEvent (
  app: FastifyInstance,
  options: { token: string; body: object; event?: string; deliveryId?: string; headers?: Record<string, string> }
) {
  return app.inject({
    method: 'POST',
    url: '/v1/triggers/gitlab',
    payload: JSON.stringify(options.body),
    headers: {
      authorization: '',
      'content-type': 'application/json',
      'user-agent': 'GitLab/17.5.0',
      'x-gitlab-event': options.event ?? 'Push Hook',
      'x-gitlab-event-uuid': randomUUID(),
      'x-gitlab-webhook-uuid': randomUUID(),
      'idempotency-key': options.deliveryId ?? randomUUID(),
      'x-gitlab-instance': 'https://gitlab.example.com',
      'x-gitlab-token': options.token,
      ...options.headers
    }
  })
}
