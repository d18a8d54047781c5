import t from 'tap'
import { explainCache, sourceMatcher, type CacheSide } from '../../../src/domain/insight/cache-explanation.js'
import { parseDockerfile } from '../../../src/domain/insight/dockerfile-stages.js'
import { dockerfileFacts, stepLocator } from '../../../src/domain/insight/step-facts.js'
import type { Step } from '../../../src/domain/schemas/build.js'
import { buildkitSteps } from '../../helpers/builder-steps.js'

// The comparison without a builder: two builds' facts, and the steps a builder reported (which
// ran, which came from the cache). The integration test (test/integration/cache-misses.test.ts)
// drives the same through real builds; these pin the cases that are hard to stage there.

function side (dockerfile: string, options: { buildArgs?: Record<string, string>; files?: Record<string, string>; id?: string; engine?: string } = {}): CacheSide {
  return {
    buildId: options.id ?? 'current',
    engine: { id: options.engine ?? 'engine-a', name: options.engine ?? 'engine-a' },
    dockerfile: dockerfileFacts(parseDockerfile(dockerfile, options.buildArgs ?? {})),
    bases: { 'stage-0': 'sha256:base', build: 'sha256:base' },
    files: Object.entries(options.files ?? {})
      .map(([file, id]) => `${file}\0${id}`)
      .sort()
  }
}

/** BuildKit's steps for the Dockerfile: those on the lines in `ran` ran, the rest came from the cache. */
function steps (current: CacheSide, ran: number[]): Step[] {
  return buildkitSteps(current.dockerfile, (fact) => ran.includes(fact.line))
}

const missAt = (result: { steps: Step[] }, line: number) => result.steps.find((step) => step.line === line)?.cacheMiss

t.test('an ENV line, which has no step of its own with BuildKit, is named as the change', async (t) => {
  const previous = side('FROM busybox\nENV A=1\nRUN echo $A\n', { id: 'previous' })
  const current = side('FROM busybox\nENV A=2\nRUN echo $A\n')
  const result = explainCache({ steps: steps(current, [3]), current, previous, noCache: false, registryImports: [] })
  t.match(missAt(result, 3), { reason: 'instruction-changed', detail: { before: 'ENV A=1', after: 'ENV A=2', summary: 'line 2 changed: ENV A=1 → ENV A=2' } })
  t.match(result.cache, { comparedWith: 'previous', steps: 1, cached: 0, hitRate: 0, firstMiss: { line: 3, reason: 'instruction-changed', followers: 0 } })
})

t.test('a line removed above a step, and a line added above one', async (t) => {
  const three = 'FROM busybox\nRUN a\nRUN b\nRUN c\n'
  const removed = side('FROM busybox\nRUN a\nRUN c\n')
  const afterRemoval = explainCache({ steps: steps(removed, [3]), current: removed, previous: side(three, { id: 'previous' }), noCache: false, registryImports: [] })
  t.match(missAt(afterRemoval, 3), { reason: 'instruction-changed', detail: { before: 'RUN b', after: null, summary: 'RUN b was removed above line 3' } })

  const added = side('FROM busybox\nRUN a\nRUN new\nRUN b\nRUN c\n')
  const afterAdding = explainCache({ steps: steps(added, [3, 4, 5]), current: added, previous: side(three, { id: 'previous' }), noCache: false, registryImports: [] })
  t.match(missAt(afterAdding, 3), { reason: 'instruction-changed', detail: { before: null, after: 'RUN new' } })
  t.match(missAt(afterAdding, 4), { reason: 'earlier-step-rebuilt', detail: { summary: 'builds on line 3 (RUN new), which rebuilt' } })
  t.match(afterAdding.cache.firstMiss, { line: 3, followers: 2 })
})

t.test("a secret-named build arg's values are never shown", async (t) => {
  const dockerfile = 'FROM busybox\nARG NPM_TOKEN\nRUN npm ci\n'
  const previous = side(dockerfile, { id: 'previous', buildArgs: { NPM_TOKEN: 'old-secret-value' } })
  const current = side(dockerfile, { buildArgs: { NPM_TOKEN: 'new-secret-value' } })
  const result = explainCache({ steps: steps(current, [3]), current, previous, noCache: false, registryImports: [] })
  t.match(missAt(result, 3), { reason: 'build-arg-changed', detail: { arg: 'NPM_TOKEN', before: '(redacted)', after: '(redacted)' } })
  t.notMatch(JSON.stringify(result), /secret-value/, 'neither value appears anywhere')
  t.notMatch(JSON.stringify(current.dockerfile), /secret-value/, 'nor in the facts kept for the next build')
})

t.test('an arg substituted into a line is named as the change, with its two values and the line as it reads now', async (t) => {
  const dockerfile = 'FROM busybox\nARG DIR=/app\nWORKDIR $DIR\n'
  const current = side(dockerfile, { buildArgs: { DIR: '/srv' } })
  const result = explainCache({ steps: steps(current, [3]), current, previous: side(dockerfile, { id: 'previous' }), noCache: false, registryImports: [] })
  t.same(missAt(result, 3), {
    reason: 'build-arg-changed',
    detail: { arg: 'DIR', before: '/app', after: '/srv', summary: 'ARG DIR: /app → /srv; line 3 now reads WORKDIR /srv' }
  })
})

t.test('of the args a line names, the one whose value changed is named, not the first', async (t) => {
  const dockerfile = 'FROM busybox\nARG A=a\nARG B=b\nCOPY $A/$B /dest/\n'
  const current = side(dockerfile, { buildArgs: { B: 'c' } })
  const result = explainCache({ steps: steps(current, [4]), current, previous: side(dockerfile, { id: 'previous' }), noCache: false, registryImports: [] })
  t.match(missAt(result, 4), { reason: 'build-arg-changed', detail: { arg: 'B', before: 'b', after: 'c' } })
})

t.test('a secret-named arg a line names, which the line never shows substituted, is still named as the change, its values redacted', async (t) => {
  const dockerfile = 'FROM busybox\nARG AUTH_REALM=a\nWORKDIR /srv/$AUTH_REALM\n'
  const current = side(dockerfile, { buildArgs: { AUTH_REALM: 'b' } })
  const result = explainCache({ steps: steps(current, [3]), current, previous: side(dockerfile, { id: 'previous' }), noCache: false, registryImports: [] })
  t.same(missAt(result, 3), { reason: 'build-arg-changed', detail: { arg: 'AUTH_REALM', before: '(redacted)', after: '(redacted)', summary: 'ARG AUTH_REALM: (redacted) → (redacted)' } })
})

t.test("args a repository's Dockerfile names after Object's own properties are args like any other", async (t) => {
  for (const name of ['constructor', '__proto__', 'toString']) {
    for (const dockerfile of [`FROM busybox\nARG ${name}=a\nWORKDIR /$${name}\n`, `FROM busybox\nARG ${name}=a\nRUN echo hi\n`]) {
      // The previous side as the worker reads it back from Redis: through JSON.
      const previous = JSON.parse(JSON.stringify(side(dockerfile, { id: 'previous' }))) as CacheSide
      const current = side(dockerfile, { buildArgs: Object.fromEntries([[name, 'b']]) })
      const result = explainCache({ steps: steps(current, [3]), current, previous, noCache: false, registryImports: [] })
      t.match(missAt(result, 3), { reason: 'build-arg-changed', detail: { arg: name, before: 'a', after: 'b' } }, `${name}: ${dockerfile.split('\n')[2]}`)
    }
  }
})

t.test("a stage named after one of Object's own properties, whose base image the previous build's facts do not hold", async (t) => {
  for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
    const dockerfile = `FROM busybox AS ${name}\nRUN a\n`
    // Read back from Redis, as the worker reads it: a plain object, without this stage's base.
    const previous = JSON.parse(JSON.stringify({ ...side(dockerfile, { id: 'previous' }), bases: {}, baseDigests: {} })) as CacheSide
    const current = { ...side(dockerfile), bases: { [name]: 'sha256:base' }, baseDigests: { [name]: null } }
    const result = explainCache({ steps: steps(current, [2]), current, previous, noCache: false, registryImports: [] })
    t.match(missAt(result, 2), { reason: 'cache-not-on-engine' }, `AS ${name}: no base image to compare, nothing else changed`)
  }
})

t.test('facts kept by an older worker, without the args a line names: the line change, not a guess at the arg', async (t) => {
  const dockerfile = 'FROM busybox\nARG A=a\nARG B=b\nCOPY $A/$B /dest/\n'
  const previous = side(dockerfile, { id: 'previous' })
  for (const fact of previous.dockerfile.instructions) if (fact.keyword === 'COPY') fact.args = {}
  const current = side(dockerfile, { buildArgs: { B: 'c' } })
  const result = explainCache({ steps: steps(current, [4]), current, previous, noCache: false, registryImports: [] })
  t.match(missAt(result, 4), { reason: 'instruction-changed', detail: { before: 'COPY a/b /dest/', after: 'COPY a/c /dest/' } })
})

t.test('COPY --from a stage that rebuilt follows that stage; files changed under a source are listed', async (t) => {
  const dockerfile = 'FROM busybox AS build\nCOPY src/ /src/\nRUN make\nFROM busybox\nCOPY --from=build /out /out\nCOPY static/ /static/\n'
  const previous = side(dockerfile, { id: 'previous', files: { 'src/a.c': '1', 'src/b.c': '1', 'static/x.css': '1', 'README.md': '1' } })
  const current = side(dockerfile, { files: { 'src/a.c': '2', 'src/c.c': '1', 'static/x.css': '1', 'README.md': '2' } })
  const result = explainCache({ steps: steps(current, [2, 3, 5]), current, previous, noCache: false, registryImports: [] })
  t.match(missAt(result, 2), { reason: 'files-changed', detail: { files: ['src/a.c', 'src/b.c', 'src/c.c'], fileCount: 3, summary: 'src/a.c and 2 more changed' } })
  t.match(missAt(result, 5), { reason: 'earlier-step-rebuilt', detail: { summary: /line 3 \(RUN make\)/ } })
  t.equal(missAt(result, 6), undefined, 'the cached COPY has no miss')
})

t.test('a files-changed detail lists the first 20 files, sorted, and counts them all', async (t) => {
  const dockerfile = 'FROM busybox\nCOPY . /app\n'
  const names = Array.from({ length: 25 }, (_, i) => `file-${String(i).padStart(2, '0')}.txt`)
  const previous = side(dockerfile, { id: 'previous', files: Object.fromEntries(names.map((name) => [name, '1'])) })
  const current = side(dockerfile, { files: Object.fromEntries(names.map((name) => [name, '2'])) })
  const result = explainCache({ steps: steps(current, [2]), current, previous, noCache: false, registryImports: [] })
  t.same(missAt(result, 2)?.detail, { summary: 'file-00.txt and 24 more changed', files: names.slice(0, 20), fileCount: 25 })
})

t.test("a base image that is another image: its ids, and the registry's digests where the engine knows them", async (t) => {
  const dockerfile = 'FROM busybox\nRUN make\n'
  const on = (id: string, digest: string | null, sideId: string) => ({ ...side(dockerfile, { id: sideId }), bases: { 'stage-0': id }, baseDigests: { 'stage-0': digest } })
  const previous = on('sha256:1111111111111111aa', 'sha256:aaaaaaaaaaaaaaaa11', 'previous')
  const current = on('sha256:2222222222222222bb', 'sha256:bbbbbbbbbbbbbbbb22', 'current')
  const pulled = explainCache({ steps: steps(current, [2]), current, previous, noCache: false, registryImports: [] })
  t.same(missAt(pulled, 2), {
    reason: 'base-image-changed',
    detail: {
      summary: 'busybox is another image: digest aaaaaaaaaaaa → bbbbbbbbbbbb',
      before: 'sha256:1111111111111111aa',
      after: 'sha256:2222222222222222bb',
      beforeDigest: 'sha256:aaaaaaaaaaaaaaaa11',
      afterDigest: 'sha256:bbbbbbbbbbbbbbbb22'
    }
  })
  // Built on the engine (or kept by an older worker): no digest to show, so the ids.
  const { baseDigests: _none, ...older } = previous
  const local = explainCache({ steps: steps(current, [2]), current, previous: older, noCache: false, registryImports: [] })
  t.match(missAt(local, 2)?.detail, { summary: 'busybox is another image: 111111111111 → 222222222222', beforeDigest: null, afterDigest: 'sha256:bbbbbbbbbbbbbbbb22' })
})

t.test('nothing changed but the engine: the previous build ran elsewhere, or the cache was pruned', async (t) => {
  const dockerfile = 'FROM busybox\nRUN make\n'
  const elsewhere = explainCache({ steps: steps(side(dockerfile), [2]), current: side(dockerfile), previous: side(dockerfile, { id: 'p', engine: 'engine-b' }), noCache: false, registryImports: [] })
  t.match(missAt(elsewhere, 2), { reason: 'cache-not-on-engine', detail: { engine: 'engine-b', summary: /ran on engine engine-b/ } })
  const pruned = explainCache({ steps: steps(side(dockerfile), [2]), current: side(dockerfile), previous: side(dockerfile, { id: 'p' }), noCache: false, registryImports: [] })
  t.match(missAt(pruned, 2), { reason: 'cache-not-on-engine', detail: { summary: /pruned\); no registry cache was imported$/ } })
  const registry = (imported: boolean) =>
    explainCache({ steps: steps(side(dockerfile), [2]), current: side(dockerfile), previous: side(dockerfile, { id: 'p', engine: 'engine-b' }), noCache: false, registryImports: [{ reference: 'registry/app@sha256:1', imported }] })
  t.match(missAt(registry(true), 2)?.detail.summary, /; the registry cache of registry\/app@sha256:1 did not hold it$/)
  t.match(missAt(registry(false), 2)?.detail.summary, /; the registry cache of registry\/app@sha256:1 could not be imported$/)
})

t.test('first build and noCache give every step that ran the same reason; all cached has no first miss', async (t) => {
  const current = side('FROM busybox\nRUN a\nRUN b\n')
  const first = explainCache({ steps: steps(current, [2, 3]), current, previous: null, noCache: false, registryImports: [] })
  t.same([missAt(first, 2)?.reason, missAt(first, 3)?.reason], ['first-build', 'first-build'])
  t.match(first.cache, { comparedWith: null, firstMiss: { line: 2, followers: 1 } })
  const asked = explainCache({ steps: steps(current, [2, 3]), current, previous: side('FROM busybox\nRUN a\nRUN b\n', { id: 'p' }), noCache: true, registryImports: [] })
  t.same([missAt(asked, 2)?.reason, missAt(asked, 3)?.reason], ['no-cache', 'no-cache'])
  const cached = explainCache({ steps: steps(current, []), current, previous: side('FROM busybox\nRUN a\nRUN b\n', { id: 'p' }), noCache: false, registryImports: [] })
  t.match(cached.cache, { steps: 2, cached: 2, hitRate: 1, firstMiss: null })
})

t.test('steps are placed on their lines as each builder numbers them', async (t) => {
  const facts = dockerfileFacts(parseDockerfile('ARG V=1\nFROM busybox AS build\nENV A=1\nRUN a\nFROM busybox\nCOPY --from=build /a /a\nLABEL x=y\nRUN b\n'))
  const buildkit = stepLocator(facts, 'buildkit')
  t.equal(buildkit({ stage: 'build', position: 2 }), 4, '[build 2/2] RUN a: ENV is not counted')
  t.equal(buildkit({ stage: 'stage-1', position: 3 }), 8, '[stage-1 3/3] RUN b')
  t.equal(buildkit({ stage: 'nowhere', position: 1 }), null)
  const classic = stepLocator(facts, 'classic')
  t.equal(classic({ stage: null, position: 4 }), 4, 'Step 4/8 : RUN a (the global ARG is step 1)')
  t.equal(classic({ stage: null, position: 7 }), 7, 'Step 7/8 : LABEL x=y')
  const single = stepLocator(dockerfileFacts(parseDockerfile('FROM busybox\nWORKDIR /w\nRUN a\n')), 'buildkit')
  t.equal(single({ stage: null, position: 3 }), 3, 'a Dockerfile of one stage: "[3/3] RUN a" has no stage')
})

t.test('COPY sources match files as Docker does: folders, ./, and patterns that stop at /', async (t) => {
  t.ok(sourceMatcher('.')('any/file'))
  t.ok(sourceMatcher('./')('file'))
  t.ok(sourceMatcher('src/')('src/deep/file.py'))
  t.notOk(sourceMatcher('src')('srcs/file.py'))
  t.ok(sourceMatcher('package*.json')('package-lock.json'))
  t.notOk(sourceMatcher('*.py')('src/app.py'), '* does not cross /')
  t.ok(sourceMatcher('src/*.py')('src/app.py'))
  t.ok(sourceMatcher('/config')('config/app.yml'), 'a source is relative to the context even with a leading /')
  t.ok(sourceMatcher('file[0-9].txt')('file1.txt'))
})

t.test("a COPY source a repository's Dockerfile crafts to backtrack does not hold up the worker", async (t) => {
  // As a regular expression, `*a*a…*b` backtracks exponentially against a long run of a's: a
  // worker explaining a build with this Dockerfile hung. The pattern must fail quickly instead.
  const crafted = `${'*a'.repeat(14)}*b`
  t.notOk(sourceMatcher(crafted)(`src/${'a'.repeat(60)}`))
  t.notOk(sourceMatcher(`${'*'.repeat(50)}x`)('a'.repeat(200)))
  t.ok(sourceMatcher(crafted)(`${'a'.repeat(20)}b`))
})
