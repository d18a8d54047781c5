import t from 'tap'
import type { TriggerProvider } from '../../../src/domain/schemas/trigger.js'
import { readEvent } from '../../../src/domain/triggers/provider-event.js'
import { gitHubPullRequestPayload, gitHubPushPayload, gitLabMergeRequestPayload, gitLabPushPayload } from '../../helpers/push-events.js'

// Who the event says pushed, or opened or updated the pull (merge) request: read from the fields
// each forge puts it in, and kept only when it is a plain name. The payload is the sender's to
// write (the signature proves only that the forge, or whoever has the secret, sent it), so a name
// with control characters, markup, parentheses or no end is recorded as absent, and the event is
// still acted on.

const REPO = 'https://github.com/acme/app.git'
const SHA = 'a'.repeat(40)
const EVENT_HEADERS = { github: { push: 'push', pull: 'pull_request' }, gitlab: { push: 'Push Hook', pull: 'Merge Request Hook' } } as const

const read = (provider: TriggerProvider, kind: 'push' | 'pull', payload: object) =>
  readEvent(provider, {
    headers: { [provider === 'github' ? 'x-github-event' : 'x-gitlab-event']: EVENT_HEADERS[provider][kind], 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(payload))
  })
const pushPusher = (provider: TriggerProvider, payload: object) => read(provider, 'push', payload).push().pusher
const requestPusher = (provider: TriggerProvider, payload: object) => read(provider, 'pull', payload).pullRequest().pusher

const gitHubPush = (changes: object) => ({ ...gitHubPushPayload({ repoUrl: REPO, ref: 'refs/heads/main', after: SHA }), ...changes })
const gitLabPush = (changes: object) => ({ ...gitLabPushPayload({ repoUrl: REPO, ref: 'refs/heads/main', after: SHA }), ...changes })
const gitHubPullRequest = (changes: object) => ({ ...gitHubPullRequestPayload({ repoUrl: REPO, number: 7, headSha: SHA, action: 'opened' }), ...changes })
const gitLabMergeRequest = (changes: object) => ({ ...gitLabMergeRequestPayload({ repoUrl: REPO, number: 7, headSha: SHA, action: 'open' }), ...changes })

const HOSTILE: Array<[string, unknown]> = [
  ['a newline (a forged second line in a log or terminal)', 'alice\nbuild succeeded'],
  ['a terminal escape', 'alice\u001b[2J'],
  ['a NUL', 'alice\u0000'],
  ['a bidi override', 'alice\u202eevil'],
  ['markup', '<img src=x onerror=alert(1)>'],
  ["parentheses, posing as Slipway's words", 'alice (trigger rule prod)'],
  ['a quote and an ampersand', 'a"b&c'],
  ['101 characters', 'a'.repeat(101)],
  ['a megabyte', 'a'.repeat(1_000_000)],
  ['nothing', ''],
  ['spaces alone', '   '],
  ['a leading space', ' alice'],
  ['two spaces in a row', 'John  Smith'],
  ['a number', 42],
  ['an object', { login: 'alice' }]
]

t.test('GitHub: a push names its sender, or else its pusher', async (t) => {
  t.equal(pushPusher('github', gitHubPush({})), 'octocat', "the sender's login")
  t.equal(pushPusher('github', gitHubPush({ sender: { login: 'alice' }, pusher: { name: 'bob' } })), 'alice', 'the sender before the pusher')
  t.equal(pushPusher('github', gitHubPush({ sender: undefined, pusher: { name: 'bob' } })), 'bob', 'the pusher when there is no sender')
  t.equal(pushPusher('github', gitHubPush({ sender: { login: null }, pusher: { name: 'bob' } })), 'bob', 'a null login is no login')
  t.equal(pushPusher('github', gitHubPush({ sender: undefined, pusher: undefined })), null, 'neither: absent')
  t.equal(pushPusher('github', gitHubPush({ sender: 'alice', pusher: undefined })), null, 'a sender that is not an object')
})

t.test('GitHub: a pull request names its sender', async (t) => {
  t.equal(requestPusher('github', gitHubPullRequest({ sender: { login: 'bob-the.builder_2' } })), 'bob-the.builder_2')
  t.equal(requestPusher('github', gitHubPullRequest({ sender: undefined })), null, 'no sender: absent')
})

t.test('GitLab: a push names user_username, or else user_name; a merge request its user', async (t) => {
  t.equal(pushPusher('gitlab', gitLabPush({})), 'jsmith', 'user_username')
  t.equal(pushPusher('gitlab', gitLabPush({ user_username: undefined })), 'John Smith', 'user_name without it: words with single spaces between are kept')
  t.equal(pushPusher('gitlab', gitLabPush({ user_username: undefined, user_name: undefined })), null)
  t.equal(requestPusher('gitlab', gitLabMergeRequest({})), 'root', 'user.username')
  t.equal(requestPusher('gitlab', gitLabMergeRequest({ user: { name: 'Administrator' } })), null, 'no username: absent, not the display name')
})

t.test('a hostile name is recorded as absent and the event is still read', async (t) => {
  for (const [what, name] of HOSTILE) {
    t.equal(pushPusher('github', gitHubPush({ sender: { login: name } })), null, `GitHub push: ${what}`)
    t.equal(requestPusher('github', gitHubPullRequest({ sender: { login: name } })), null, `GitHub pull request: ${what}`)
    t.equal(pushPusher('gitlab', gitLabPush({ user_username: name })), null, `GitLab push: ${what}`)
    t.equal(requestPusher('gitlab', gitLabMergeRequest({ user: { username: name } })), null, `GitLab merge request: ${what}`)
  }
  // The first field present decides: a hostile sender does not fall through to another name.
  t.equal(pushPusher('github', gitHubPush({ sender: { login: 'alice\n' }, pusher: { name: 'bob' } })), null, 'no fallback past a hostile sender')
  t.equal(pushPusher('gitlab', gitLabPush({ user_username: '<b>x</b>', user_name: 'John Smith' })), null, 'nor past a hostile user_username')

  const push = read('github', 'push', gitHubPush({ sender: { login: 'x'.repeat(1_000_000) } })).push()
  t.same(push, { ref: 'refs/heads/main', after: SHA, deleted: false, pusher: null }, 'the push itself is read as ever')
  const change = read('gitlab', 'pull', gitLabMergeRequest({ user: { username: 'a\u0007b' } })).pullRequest()
  t.match(change, { builds: true, pullRequest: { number: 7, headSha: SHA }, pusher: null }, 'and so is the merge request')
})

t.test('the longest plain name is kept whole', async (t) => {
  const longest = `a${'-'.repeat(98)}z`
  t.equal(pushPusher('github', gitHubPush({ sender: { login: longest } })), longest, '100 characters')
})
