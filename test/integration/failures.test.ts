import t from 'tap'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// Each way a build can fail ends `failed` with a stable code, a message that says what to do,
// and the detail in the log.

// How each builder names the failing step.
const FAILING_STEP = { classic: 'Step 2/5 : RUN echo about to fail && exit 3', buildkit: '[2/3] RUN echo about to fail && exit 3' }

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: a failing RUN step names the step and its exit code`, async (t) => {
    const slipway = await startSlipway(t)
    const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\nRUN echo never\n' })
    const build = await slipway.build({ repo: repo.url, builder })
    t.equal(build.status, 'failed')
    t.match(build.error, { code: 'BUILD_STEP_FAILED', phase: 'build', exitCode: 3, step: FAILING_STEP[builder] })
    t.match(build.error?.message, `${FAILING_STEP[builder]} failed with exit code 3`)
    t.same(
      build.phases.map((phase) => [phase.name, phase.status]),
      [['clone', 'succeeded'], ['context', 'succeeded'], ['build', 'failed']]
    )
    const failed = build.steps.find((step) => step.status === 'failed')
    t.match(failed, { instruction: 'RUN echo about to fail && exit 3', exitCode: 3 }, 'the timeline marks the failing step')
    const log = await slipway.logs(build.id)
    t.match(log, /about to fail/, "the log holds the step's output")
    t.notMatch(log, /never/)
  })

  t.test(`${builder}: a Dockerfile Docker cannot parse, and a target that is not in it`, async (t) => {
    const slipway = await startSlipway(t)
    const typo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUNN echo typo\n' })
    const invalid = await slipway.build({ repo: typo.url, builder })
    t.match(invalid.error, { code: 'DOCKERFILE_INVALID', phase: 'build' })
    t.match(invalid.error?.message, /RUNN/i)
    const staged = await createRepo(t, { Dockerfile: 'FROM busybox AS base\nRUN true\n' })
    const target = await slipway.build({ repo: staged.url, target: 'nope', builder })
    t.match(target.error, { code: 'TARGET_NOT_FOUND', phase: 'build' })
  })
}

t.test('a missing Dockerfile says where Dockerfiles are', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { 'docker/app.Dockerfile': 'FROM busybox\n', 'README.md': 'hi\n' })
  const build = await slipway.build({ repo: repo.url })
  t.equal(build.status, 'failed')
  t.match(build.error, { code: 'DOCKERFILE_NOT_FOUND', phase: 'context' })
  t.match(build.error?.message, /No Dockerfile at 'Dockerfile'.*docker\/app\.Dockerfile/)
})

t.test('a ref that does not exist is named in the error', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  const build = await slipway.build({ repo: repo.url, ref: 'no-such-branch' })
  t.equal(build.status, 'failed')
  t.match(build.error, { code: 'REF_NOT_FOUND', phase: 'clone' })
  t.match(build.error?.message, /'no-such-branch' is not a branch, tag or commit/)
  const missingCommit = await slipway.build({ repo: repo.url, ref: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef' })
  t.match(missingCommit.error, { code: 'REF_NOT_FOUND' })
  t.match(missingCommit.error?.message, /deadbeef/)
})

t.test('a repository that does not exist, or cannot be reached', async (t) => {
  const slipway = await startSlipway(t)
  const missing = await slipway.build({ repo: 'file:///nonexistent/slipway-repo.git' })
  t.match(missing.error, { code: 'REPO_NOT_FOUND', phase: 'clone' })
  // Nothing listens on port 1: the connection is refused at once.
  const unreachable = await slipway.build({ repo: 'https://127.0.0.1:1/team/app.git' })
  t.match(unreachable.error, { code: 'REPO_UNREACHABLE', phase: 'clone' })
  t.match(unreachable.error?.message, /could not be reached/)
  t.match(await slipway.logs(unreachable.id), /Failed to connect|Connection refused|Could not connect/i, 'git says why in the log')
})

t.test('pushes the registry refuses', async (t) => {
  const slipway = await startSlipway(t)
  const registry = await startRegistry(t, { username: 'ci', password: 'right-password' })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo push-test\n' })
  const build = await slipway.build({ repo: repo.url, image: `${registry.host}/team/app` })
  t.equal(build.status, 'failed')
  t.match(build.error, { code: 'PUSH_UNAUTHORIZED', phase: 'push' })
  t.match(build.error?.message, /docker login/)
  t.match(await slipway.logs(build.id), /no basic auth credentials|unauthorized/i)

  const nowhere = await slipway.build({ repo: repo.url, image: 'localhost:1/team/app' })
  t.match(nowhere.error, { code: 'REGISTRY_UNREACHABLE', phase: 'push' })
})
