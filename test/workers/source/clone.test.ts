import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { cloneSource } from '../../../workers/source/clone.js'
import { parseLsRemote, resolveRef } from '../../../workers/source/git-fetch.js'
import { tempFolder } from '../../helpers/files.js'
import { createRepo } from '../../helpers/git-repo.js'

const sha = (digit: string) => digit.repeat(40)
const MAIN = sha('a')
const DEV = sha('b')
const TAG_OBJECT = sha('c')
const TAGGED = sha('d')
const LIGHT = sha('e')
const DUP_BRANCH = sha('1')
const DUP_TAG = sha('2')

// `git ls-remote --symref` output: HEAD's target first, annotated tags followed by their peeled commit.
const LS_REMOTE = [
  'ref: refs/heads/main\tHEAD',
  `${MAIN}\tHEAD`,
  `${DEV}\trefs/heads/dev`,
  `${DUP_BRANCH}\trefs/heads/dup`,
  `${MAIN}\trefs/heads/main`,
  `${DUP_TAG}\trefs/tags/dup`,
  `${LIGHT}\trefs/tags/light`,
  `${TAG_OBJECT}\trefs/tags/v1.0`,
  `${TAGGED}\trefs/tags/v1.0^{}`,
  `${sha('f')}\trefs/pull/7/head`,
  ''
].join('\n')

t.test('parseLsRemote: ref name → sha, with HEAD\'s target under symref:HEAD', async (t) => {
  const refs = parseLsRemote(LS_REMOTE)
  t.strictSame(
    Object.fromEntries(refs),
    {
      'symref:HEAD': 'refs/heads/main',
      HEAD: MAIN,
      'refs/heads/dev': DEV,
      'refs/heads/dup': DUP_BRANCH,
      'refs/heads/main': MAIN,
      'refs/tags/dup': DUP_TAG,
      'refs/tags/light': LIGHT,
      'refs/tags/v1.0': TAG_OBJECT,
      'refs/tags/v1.0^{}': TAGGED,
      'refs/pull/7/head': sha('f')
    }
  )
  t.equal(parseLsRemote('').size, 0, 'an empty repository advertises nothing')
  t.strictSame(Object.fromEntries(parseLsRemote(`${MAIN}\trefs/heads/main`)), { 'refs/heads/main': MAIN }, 'no trailing newline')
  t.strictSame(
    Object.fromEntries(parseLsRemote(`ref: refs/heads/trunk\tHEAD\n${DEV}\tHEAD\n${DEV}\trefs/heads/trunk\n`)),
    { 'symref:HEAD': 'refs/heads/trunk', HEAD: DEV, 'refs/heads/trunk': DEV },
    'a default branch other than main'
  )
})

t.test('resolveRef: what to fetch for a ref', async (t) => {
  const refs = parseLsRemote(LS_REMOTE)
  const cases: [string | null, ReturnType<typeof resolveRef>, string][] = [
    [null, { kind: 'ref', name: 'refs/heads/main', sha: MAIN }, 'the default branch, from the symref HEAD'],
    ['main', { kind: 'ref', name: 'refs/heads/main', sha: MAIN }, 'a branch'],
    ['dev', { kind: 'ref', name: 'refs/heads/dev', sha: DEV }, 'another branch'],
    ['light', { kind: 'ref', name: 'refs/tags/light', sha: LIGHT }, 'a lightweight tag'],
    ['v1.0', { kind: 'ref', name: 'refs/tags/v1.0', sha: TAGGED }, 'an annotated tag: its peeled commit, not the tag object'],
    ['refs/tags/v1.0', { kind: 'ref', name: 'refs/tags/v1.0', sha: TAGGED }, 'a full tag name, peeled too'],
    ['dup', { kind: 'ref', name: 'refs/tags/dup', sha: DUP_TAG }, 'a tag wins over a branch of the same name, as in git'],
    ['refs/heads/dup', { kind: 'ref', name: 'refs/heads/dup', sha: DUP_BRANCH }, 'a full name picks the branch'],
    ['refs/tags/dup', { kind: 'ref', name: 'refs/tags/dup', sha: DUP_TAG }, 'a full name picks the tag'],
    ['refs/pull/7/head', { kind: 'ref', name: 'refs/pull/7/head', sha: sha('f') }, 'any advertised full ref'],
    ['tags/v1.0', { kind: 'ref', name: 'refs/tags/v1.0', sha: TAGGED }, 'refs/<name>, as git reads it'],
    ['heads/dup', { kind: 'ref', name: 'refs/heads/dup', sha: DUP_BRANCH }, 'refs/<name> picks the branch'],
    ['HEAD', { kind: 'ref', name: 'refs/heads/main', sha: MAIN }, 'HEAD is the default branch'],
    ['0123456789abcdef0123456789abcdef01234567', { kind: 'sha', sha: '0123456789abcdef0123456789abcdef01234567' }, '40 hex: a commit SHA'],
    ['0123456789ABCDEF0123456789ABCDEF01234567', { kind: 'sha', sha: '0123456789abcdef0123456789abcdef01234567' }, '40 hex, uppercase: lowercased'],
    ['abc1234', { kind: 'abbreviated', prefix: 'abc1234' }, '7 hex: abbreviated'],
    ['ABCDEF12', { kind: 'abbreviated', prefix: 'abcdef12' }, '8 hex, uppercase: abbreviated, lowercased'],
    ['0123456789abcdef0123456789abcdef0123456', { kind: 'abbreviated', prefix: '0123456789abcdef0123456789abcdef0123456' }, '39 hex: abbreviated'],
    ['abc123', null, '6 hex is too short for a SHA'],
    ['0123456789abcdef0123456789abcdef012345678', null, '41 hex is no SHA'],
    ['abcdefg', null, 'not hex'],
    ['nope', null, 'an unknown name'],
    ['refs/heads/nope', null, 'an unknown full name'],
    ['heads/main/x', null, 'no such ref']
  ]
  for (const [ref, expected, name] of cases) t.strictSame(resolveRef(refs, ref), expected, `${JSON.stringify(ref)}: ${name}`)
})

t.test('resolveRef: an advertised ref wins over reading the name as a SHA', async (t) => {
  const hexBranch = 'deadbeef'
  const refs = parseLsRemote(`${MAIN}\trefs/heads/${hexBranch}\n`)
  t.strictSame(resolveRef(refs, hexBranch), { kind: 'ref', name: `refs/heads/${hexBranch}`, sha: MAIN })
})

t.test('resolveRef: an empty repository has no default branch', async (t) => {
  t.equal(resolveRef(parseLsRemote(''), null), null, 'nothing advertised')
  t.equal(resolveRef(parseLsRemote(`${MAIN}\trefs/heads/main\n`), null), null, 'refs but no HEAD')
  t.equal(resolveRef(parseLsRemote('ref: refs/heads/main\tHEAD\n'), null), null, 'HEAD names a branch with no commit yet')
  t.equal(resolveRef(parseLsRemote(''), 'main'), null)
})

t.test('cloneSource checks out a real local repository', async (t) => {
  const repo = await createRepo(t, { 'version.txt': 'one\n' })
  await repo.tag('v1', { annotated: true })
  const first = await repo.git('rev-parse', 'HEAD')
  const head = await repo.commit({ 'version.txt': 'two\n', 'added.txt': 'added in two\n' }, 'second')
  t.not(first, head)
  const tmp = await tempFolder(t, {}, 'slipway-clone-test-')

  const cases: [string | null, string, string | null, string, boolean][] = [
    [null, head, 'refs/heads/main', 'two\n', true],
    ['v1', first, 'refs/tags/v1', 'one\n', false]
  ]
  for (const [ref, commit, resolvedRef, version, hasAdded] of cases) {
    const label = ref ?? 'the default branch'
    const dir = path.join(tmp, `checkout-${ref ?? 'default'}`)
    const log: [string, string][] = []
    const result = await cloneSource({
      repo: repo.url,
      ref,
      dir,
      policy: { allowLocal: true },
      signal: new AbortController().signal,
      log: (stream, text) => log.push([stream, text])
    })
    t.strictSame({ commit: result.commit, resolvedRef: result.resolvedRef }, { commit, resolvedRef }, `${label}: the commit git rev-parse names in the source`)
    t.equal(result.time.getTime() / 1000, Number(await repo.git('log', '-1', '--format=%ct', commit)), `${label}: and its time`)
    t.equal(await readFile(path.join(dir, 'version.txt'), 'utf8'), version, `${label}: the checkout has the file at that commit`)
    t.equal(
      await readFile(path.join(dir, 'added.txt'), 'utf8').then(() => true, () => false),
      hasAdded,
      `${label}: files of other commits ${hasAdded ? 'are' : 'are not'} there`
    )
    const checkedOut = (await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim()
    t.equal(checkedOut, commit, `${label}: HEAD of the checkout is the commit`)
    t.ok(
      log.some(([stream, text]) => stream === 'system' && text.includes(`Checked out ${commit}`)),
      `${label}: the log says what was checked out`
    )
  }
})
