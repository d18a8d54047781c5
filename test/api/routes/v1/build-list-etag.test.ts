import t from 'tap'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'

// GET /v1/builds answers a poller that shows its ETag with 304 and no body while the page is
// unchanged, and with the page again once a build on it changed (or a new one arrived).

t.test('GET /v1/builds: a weak ETag; If-None-Match gets 304 until a build on the page changes', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const submit = async (repo: string) => (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo, force: true } })).json<Build>()
  const list = (headers: Record<string, string> = {}, query = 'limit=50') => app.inject({ method: 'GET', url: `/v1/builds?${query}`, headers })
  const first = await submit('https://git.example.com/team/a.git')
  await submit('https://git.example.com/team/b.git')

  const answer = await list()
  t.equal(answer.statusCode, 200)
  const etag = answer.headers.etag as string
  t.match(etag, /^W\/"[\w-]{27}"$/, 'a weak ETag')
  t.equal((await list()).headers.etag, etag, 'the same page, the same ETag')

  const unchanged = await list({ 'if-none-match': etag })
  t.equal(unchanged.statusCode, 304, 'unchanged: 304')
  t.equal(unchanged.body, '', 'with no body')
  t.equal(unchanged.headers['content-length'], undefined, 'nor a length of one')
  t.equal(unchanged.headers.etag, etag, 'and the ETag again')
  t.equal((await list({ 'if-none-match': `W/"other", ${etag.slice(2)}` })).statusCode, 304, 'one tag of a list matches, W/ or not (weak comparison)')
  t.equal((await list({ 'if-none-match': '*' })).statusCode, 304, '* matches any answer')
  t.equal((await list({ 'if-none-match': etag }, 'limit=1')).statusCode, 200, 'another page has another ETag')

  const canceled = await app.inject({ method: 'POST', url: `/v1/builds/${first.id}/cancel` })
  t.equal(canceled.statusCode, 202)
  const changed = await list({ 'if-none-match': etag })
  t.equal(changed.statusCode, 200, 'a build on the page changed status: the page again')
  t.not(changed.headers.etag, etag, 'under a new ETag')
  t.equal(changed.json<{ items: Build[] }>().items.find((build) => build.id === first.id)?.status, 'canceled')

  const newer = await submit('https://git.example.com/team/c.git')
  const arrived = await list({ 'if-none-match': changed.headers.etag as string })
  t.equal(arrived.statusCode, 200, 'a new build: the page again')
  t.equal(arrived.json<{ items: Build[] }>().items[0]?.id, newer.id)
})
