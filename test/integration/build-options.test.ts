import t from 'tap'
import { docker } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipway } from '../helpers/slipway.js'

// Each option is checked inside the build itself: a RUN step that fails unless the option took
// effect makes the build fail, so "succeeded" means the image holds what was asked.

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: .dockerignore is honoured as Docker honours it, re-includes under an excluded folder too`, async (t) => {
    const slipway = await startSlipway(t)
    const repo = await createRepo(t, {
      '.dockerignore': '# comment\nsecret.txt\nlogs\nvendor/**\n!vendor/keep/this.txt\n*.tmp\n',
      'secret.txt': 'do not ship\n',
      'logs/today.log': 'noise\n',
      'vendor/drop/me.txt': 'dropped\n',
      'vendor/keep/this.txt': 'kept\n',
      'vendor/keep/other.txt': 'dropped\n',
      'scratch.tmp': 'tmp\n',
      'sub/scratch.tmp': 'only top-level *.tmp is excluded\n',
      'app.txt': 'app\n',
      Dockerfile: [
        'FROM busybox',
        'COPY . /ctx',
        'RUN test ! -e /ctx/secret.txt && test ! -e /ctx/logs && test ! -e /ctx/scratch.tmp',
        'RUN test ! -e /ctx/vendor/drop/me.txt && test ! -e /ctx/vendor/keep/other.txt',
        'RUN test "$(cat /ctx/vendor/keep/this.txt)" = kept && test -e /ctx/sub/scratch.tmp && test -e /ctx/app.txt',
        ''
      ].join('\n')
    })
    const build = await slipway.build({ repo: repo.url, builder })
    t.equal(build.status, 'succeeded', JSON.stringify(build.error))
    t.equal(build.builder, builder)
  })
}

t.test("the repository's .git is not in the context unless keepGitDir asks for it", async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, {
    Dockerfile: 'FROM busybox\nARG WANT_GIT\nCOPY . /ctx\nRUN if [ "$WANT_GIT" = yes ]; then test -d /ctx/.git; else test ! -e /ctx/.git; fi\n'
  })
  const without = await slipway.build({ repo: repo.url, buildArgs: { WANT_GIT: 'no' } })
  t.equal(without.status, 'succeeded', JSON.stringify(without.error))
  const kept = await slipway.build({ repo: repo.url, buildArgs: { WANT_GIT: 'yes' }, keepGitDir: true })
  t.equal(kept.status, 'succeeded', JSON.stringify(kept.error))
})

t.test('build args reach ARG, including ARG before FROM', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, {
    Dockerfile: 'ARG BASE=no-such-image\nFROM ${BASE}\nARG GREETING\nRUN test "$GREETING" = "hello world"\n'
  })
  const build = await slipway.build({ repo: repo.url, buildArgs: { BASE: 'busybox', GREETING: 'hello world' } })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
})

t.test('target builds the named stage, not the last one', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, {
    Dockerfile: 'FROM busybox AS base\nRUN echo base > /stage\nFROM base AS tester\nRUN echo tester > /stage\nFROM base\nRUN false\n'
  })
  const build = await slipway.build({ repo: repo.url, target: 'tester' })
  t.equal(build.status, 'succeeded', 'the failing last stage is not built')
  t.ok(build.image?.layers.some((layer) => layer.instruction === 'RUN echo tester > /stage'))
})

t.test('a Dockerfile in a subdirectory, inside or outside the context', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, {
    'docker/app.Dockerfile': 'FROM busybox\nCOPY app/marker.txt /marker.txt\nRUN test -e /marker.txt\n',
    'docker/outside.Dockerfile': 'FROM busybox\nCOPY . /ctx\nRUN test -e /ctx/marker.txt && test ! -e /ctx/.dockerfile.slipway\n',
    'app/marker.txt': 'here\n',
    'app/.dockerignore': 'nothing-to-ignore\n'
  })
  const inside = await slipway.build({ repo: repo.url, dockerfile: 'docker/app.Dockerfile' })
  t.equal(inside.status, 'succeeded', JSON.stringify(inside.error))

  const outside = await slipway.build({ repo: repo.url, context: 'app', dockerfile: 'docker/outside.Dockerfile' })
  t.equal(outside.status, 'succeeded', JSON.stringify(outside.error))
  t.equal(outside.request.dockerfile, 'docker/outside.Dockerfile')
  t.equal(outside.builder, 'classic', 'only the classic builder keeps a Dockerfile from outside the context out of COPY')
  t.match(await slipway.logs(outside.id), /Building with the classic builder \(the Dockerfile is outside the context/)

  const asked = await slipway.build({ repo: repo.url, context: 'app', dockerfile: 'docker/outside.Dockerfile', builder: 'buildkit' })
  t.match(asked.error, { code: 'DOCKERFILE_OUTSIDE_CONTEXT', phase: 'build' }, 'BuildKit, asked for by name, says why it cannot')

  const defaulted = await slipway.build({ repo: repo.url, context: 'app' })
  t.equal(defaulted.request.dockerfile, 'app/Dockerfile', 'the Dockerfile defaults to <context>/Dockerfile')
  t.match(defaulted.error, { code: 'DOCKERFILE_NOT_FOUND' })
})

t.test('labels, several tags and noCache', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN date +%s%N > /built-at\n' })
  const first = await slipway.build({ repo: repo.url, tags: ['one', 'two'], labels: { 'com.example.team': 'platform' } })
  t.equal(first.status, 'succeeded', JSON.stringify(first.error))
  const name = first.request.image
  t.same(first.image?.tags, [`${name}:one`, `${name}:two`])
  const info = await docker.getImage(`${name}:two`).inspect()
  t.equal(info.Id, first.image?.id, 'every tag names the built image')
  t.equal(info.Config.Labels?.['com.example.team'], 'platform')

  const cached = await slipway.build({ repo: repo.url, tags: ['one'], labels: { 'com.example.team': 'platform' } })
  t.equal(cached.image?.id, first.image?.id, 'the same build again is served from the layer cache')
  const fresh = await slipway.build({ repo: repo.url, tags: ['one'], labels: { 'com.example.team': 'platform' }, noCache: true })
  t.not(fresh.image?.id, first.image?.id, 'noCache runs every step again')
})
