import { execFile, spawn } from 'node:child_process'
import { access, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { EXIT } from '../../src/cli/exit-codes.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { packageRoot } from '../../src/package-info.js'
import { TEST_ADMIN_TOKEN } from '../helpers/config.js'
import { tempFolder } from '../helpers/files.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// The CI templates in ci/ as a new user's pipeline runs them: each file is parsed as GitHub or
// GitLab reads it, and the step that builds runs for real (its own shell text, the environment its
// own `env:` or `variables:` give) against a real Slipway, Docker and registry.
//
// What cannot run here: GitHub and GitLab themselves, and the install step. `npm ci && npm run
// build && npm link` takes minutes and changes the machine's global npm folder, so a `slipway`
// on PATH stands in for it: the same compiled dist/src/cli.js that `npm run build` makes and
// package.json's bin names. The shim also records the arguments it is given. The install steps'
// text is checked below.

const exec = promisify(execFile)
await exec('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: packageRoot })
const CLI = path.join(packageRoot, 'dist', 'src', 'cli.js')

interface GitHubStep { id?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string>; 'working-directory'?: string }
interface GitHubAction {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, { value: string }>
  runs: { using: string; steps: GitHubStep[] }
}
interface GitLabJob {
  image: string
  variables: Record<string, string>
  before_script: string[]
  script: string[]
  artifacts: { when: string; paths: string[]; reports: { dotenv: string } }
}

const readYaml = async (file: string) => parse(await readFile(path.join(packageRoot, file), 'utf8'))
const action = (await readYaml('ci/github/action.yml')) as GitHubAction
const gitlab = ((await readYaml('ci/gitlab/slipway.gitlab-ci.yml')) as Record<string, GitLabJob>)['.slipway-build']!
const ACTION_PATH = path.join(packageRoot, 'ci', 'github')
const submitStep = action.runs.steps.find((step) => step.id === 'submit')!
/** The submit step's output an action output is ("${{ steps.submit.outputs.NAME }}"), or undefined. */
const stepOutput = (value: string) => /^\$\{\{ steps\.submit\.outputs\.(\w+) \}\}$/.exec(value)?.[1]

const slipway = await startSlipway(t)
const url = await slipway.listen()
const registry = await startRegistry(t)
const image = `${registry.host}/ci/app`
// GREETING shows that a build argument with a space arrived whole.
const DOCKERFILE = 'FROM busybox\nARG GREETING\nRUN echo "greeting: $GREETING"\n'

interface Job { code: number | null; stdout: string; stderr: string; args: string[]; cwd: string }

/**
 * Runs a template's shell text as the CI system does (bash, -e and pipefail; GitHub adds
 * --noprofile --norc) in a new checkout holding DOCKERFILE, with only `env` and PATH, where
 * `slipway` is the shim.
 */
async function runJob (t: Test, script: string, env: Record<string, string>): Promise<Job> {
  const bin = await tempFolder(t)
  const argsFile = path.join(bin, 'args')
  await writeFile(path.join(bin, 'slipway'), `#!/usr/bin/env bash\nprintf '%s\\0' "$@" >'${argsFile}'\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 })
  const cwd = await tempFolder(t, { Dockerfile: DOCKERFILE })
  const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    env: { PATH: `${bin}:${process.env.PATH!}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const job: Job = { code: null, stdout: '', stderr: '', args: [], cwd }
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { job.stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { job.stderr += chunk })
  job.code = await new Promise((resolve) => child.on('close', resolve))
  job.args = (await readFile(argsFile, 'utf8')).split('\0').slice(0, -1)
  return job
}

/** KEY=value lines (GitHub's output file, GitLab's dotenv report) as an object. */
const keyValues = (text: string) => Object.fromEntries(text.trim().split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))

/** What GitHub makes of an `env:` value: inputs given, or their defaults; runner.temp. Anything else is not expected there. */
function githubEnv (inputs: Record<string, string>, runnerTemp: string): Record<string, string> {
  return Object.fromEntries(Object.entries(submitStep.env!).map(([name, value]) => [name, value.replace(/\$\{\{ ([\w.-]+) \}\}/g, (_, expression: string) => {
    if (expression === 'runner.temp') return runnerTemp
    const input = /^inputs\.([\w-]+)$/.exec(expression)?.[1]
    if (input === undefined || !(input in action.inputs)) throw new Error(`unexpected expression in the submit step's env: ${expression}`)
    return inputs[input] ?? action.inputs[input]!.default ?? ''
  })]))
}

/** Runs the action's submit step with these inputs; its outputs as GitHub would read them. */
async function runAction (t: Test, inputs: Record<string, string>) {
  const runnerTemp = await tempFolder(t)
  const outputFile = path.join(runnerTemp, 'github-output')
  await writeFile(outputFile, '')
  const job = await runJob(t, submitStep.run!, { ...githubEnv(inputs, runnerTemp), GITHUB_ACTION_PATH: ACTION_PATH, GITHUB_OUTPUT: outputFile, RUNNER_TEMP: runnerTemp })
  const written = keyValues(await readFile(outputFile, 'utf8'))
  const outputs = Object.fromEntries(Object.entries(action.outputs).map(([name, { value }]) => [name, written[stepOutput(value)!]]))
  return { job, written, outputs }
}

/** The build as the API has it. */
const getBuild = async (id: string) => (await slipway.app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()

/** The job's log, less the one line the GitHub runner reads and never shows. */
const shownLog = (job: Job) => (job.stdout + job.stderr).split('\n').filter((line) => !line.startsWith('::add-mask::')).join('\n')

t.test('the action: inputs reach the shell only as environment variables, every input is used, every output comes from the submit step', async (t) => {
  t.equal(action.runs.using, 'composite')
  for (const step of action.runs.steps) {
    if (step.run !== undefined) t.notMatch(step.run, /\$\{\{/, `no expression is pasted into the shell text of ${step.id ?? step.run}`)
  }
  const stepsText = JSON.stringify(action.runs.steps)
  for (const input of Object.keys(action.inputs)) t.match(stepsText, `\${{ inputs.${input} }}`, `input ${input} is used`)
  for (const [name, { value }] of Object.entries(action.outputs)) t.ok(stepOutput(value), `output ${name} is the submit step's`)

  // The install step works in the repository the action lives in: Slipway's checkout at the pinned ref.
  const install = action.runs.steps.find((step) => step.run?.includes('npm link'))!
  t.equal(install.run, 'npm ci --no-audit --no-fund && npm run build && npm link')
  t.equal(path.resolve(ACTION_PATH, install['working-directory']!.replace('${{ github.action_path }}', '.')), packageRoot)
  const pkg = JSON.parse(await readFile(path.join(packageRoot, 'package.json'), 'utf8'))
  t.equal(path.join(packageRoot, pkg.bin.slipway), CLI, 'npm link puts the compiled CLI on PATH, which the shim runs')
  t.equal(pkg.scripts.build, 'tsc -p tsconfig.build.json', 'npm run build makes it as this test does')
})

t.test('the GitLab template: installs from SLIPWAY_CLI_REPO at SLIPWAY_CLI_REF, reports what the script writes', async (t) => {
  const install = gitlab.before_script.join('\n')
  t.match(install, 'fetch -q --depth 1 "$SLIPWAY_CLI_REPO" "$SLIPWAY_CLI_REF"')
  t.match(install, '(cd "$SLIPWAY_CLI_DIR" && npm ci --no-audit --no-fund && npm run build && npm link)')
  t.equal(gitlab.image, 'node:20-bookworm-slim')
  t.equal(gitlab.artifacts.reports.dotenv, gitlab.variables.SLIPWAY_OUTPUTS, 'the dotenv report is the file the script writes')
  t.equal(gitlab.artifacts.when, 'always', 'a failed build is reported too')
})

const guide = await readFile(path.join(packageRoot, 'docs/guides/ci-with-the-cli.md'), 'utf8')
/** The guide's ```yaml blocks, parsed. */
const guideYaml = [...guide.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((block) => parse(block[1]!) as Record<string, any>)
const pipeline = guideYaml.find((doc) => doc.include) as Record<string, { extends?: string; variables?: Record<string, string>; script?: string[] }>
// The pipeline's two jobs: the one extending the template, and the later one that uses its results.
const [pipelineBuild, pipelineLater] = Object.values(pipeline).filter((job) => job.script !== undefined || job.extends !== undefined) as [typeof pipeline[string], typeof pipeline[string]]

t.test("the guide's snippets use the templates' inputs, outputs and variables, no others", async (t) => {
  const workflow = guideYaml.find((doc) => doc.jobs)!
  const steps = Object.values(workflow.jobs as Record<string, { steps: GitHubStep[] }>).flatMap((job) => job.steps)
  const uses = steps.find((step) => step.uses?.includes('/ci/github@'))!
  t.match(uses, { id: 'slipway' })
  for (const input of Object.keys(uses.with!)) t.ok(input in action.inputs, `with: ${input} is an input`)
  for (const [, output] of JSON.stringify(steps).matchAll(/steps\.slipway\.outputs\.([\w-]+)/g)) t.ok(output! in action.outputs, `${output} is an output`)

  t.match(pipeline.include, [{ remote: /\/ci\/gitlab\/slipway\.gitlab-ci\.yml$/ }])
  t.equal(pipelineBuild.extends, '.slipway-build')
  for (const variable of Object.keys(pipelineBuild.variables!)) t.ok(variable in gitlab.variables, `${variable} is the template's`)
  // A ": " in a script line makes YAML read a mapping, which GitLab refuses.
  for (const line of [...gitlab.before_script, ...gitlab.script, ...pipelineLater.script!]) t.type(line, 'string', `${JSON.stringify(line)} is a shell line`)
})

t.test('the action builds the checkout, passes tags and build args whole, outputs digest and size; the token is never shown', async (t) => {
  const { job, written, outputs } = await runAction(t, { url, token: TEST_ADMIN_TOKEN, image, tags: 'v1, gh-second\n', 'build-args': 'GREETING=hello there', 'extra-args': '--label\nci=github' })
  t.equal(job.code, EXIT.ok, job.stderr)
  t.same(Object.keys(written).sort(), Object.values(action.outputs).map(({ value }) => stepOutput(value)).sort(), 'the script writes exactly the outputs the action maps')
  const build = await getBuild(outputs['build-id']!)
  t.match(build, { status: 'succeeded', request: { labels: { ci: 'github' } }, image: { tags: [`${image}:v1`, `${image}:gh-second`], pushed: true } })
  t.equal(outputs.status, 'succeeded')
  t.equal(outputs.digest, build.image!.digest)
  t.match(outputs.digest, /^sha256:[0-9a-f]{64}$/)
  t.equal(outputs.image, `${image}@${build.image!.digest}`)
  t.equal(outputs['size-bytes'], String(build.image!.sizeBytes))
  t.match(outputs['size-bytes'], /^\d+$/)
  t.match(JSON.parse(await readFile(outputs['build-json']!, 'utf8')), { id: build.id, image: { digest: build.image!.digest } }, 'build-json is the ended build')
  t.same(job.args, ['submit', '--dir', '.', '--follow', '--json', '--image', image, '--tag', 'v1', '--tag', 'gh-second', '--build-arg', 'GREETING=hello there', '--label', 'ci=github'])
  // The guide's later steps read the build's JSON with jq: their filters work on a real build.
  for (const [, filter] of guide.matchAll(/jq -r '([^']+)'/g)) {
    const { stdout } = await exec('jq', ['-r', filter!, outputs['build-json']!])
    t.notMatch(stdout, /^null$/m, `the guide's jq -r '${filter}' reads the build`)
  }
  t.match(job.stderr, /greeting: hello there/, "the build's log is in the job's")
  t.match(job.stdout, `::add-mask::${TEST_ADMIN_TOKEN}\n`, 'the token is masked for the rest of the job')
  t.notMatch(shownLog(job), TEST_ADMIN_TOKEN, 'and appears nowhere else')
  // A Dockerfile could print "::set-output …": the runner reads no commands while the log streams.
  const [, off] = /^::stop-commands::([0-9a-f]{32})$/m.exec(job.stdout) ?? []
  t.ok(off, 'workflow commands are off, under a token of 32 hex digits')
  t.match(job.stdout, `::stop-commands::${off}\n::${off}::\n`, 'and on again once the build has ended')
})

t.test('a build that fails still has its outputs, for a step that reports it; the step fails with the CLI\'s code', async (t) => {
  // A size budget of 1 byte fails the build after it was built, before anything is pushed.
  const { job, outputs } = await runAction(t, { url, token: TEST_ADMIN_TOKEN, image, 'extra-args': '--max-image-size\n1' })
  t.equal(job.code, EXIT.buildFailed, job.stderr)
  t.match(await getBuild(outputs['build-id']!), { status: 'failed', error: { code: 'IMAGE_TOO_LARGE' } })
  t.match(outputs, { status: 'failed', digest: '', image: '', 'size-bytes': '' }, 'a failed build has no image')
})

t.test("a hostile tag reaches the CLI as one argument and runs nothing: the API refuses it, the step fails with the CLI's code", async (t) => {
  const pwned = path.join(await tempFolder(t), 'pwned')
  const hostile = `a b$(touch ${pwned})`
  const { job, written } = await runAction(t, { url, token: TEST_ADMIN_TOKEN, image, tags: `v1\n${hostile}`, 'build-args': `X=\`touch ${pwned}\`` })
  t.equal(job.code, EXIT.rejected, job.stderr)
  t.same(job.args.slice(job.args.indexOf('--tag')), ['--tag', 'v1', '--tag', hostile, '--build-arg', `X=\`touch ${pwned}\``])
  await t.rejects(access(pwned), 'nothing in the inputs ran')
  t.match(job.stderr, /^slipway: \w+: /m, "the API's refusal is in the log")
  t.same(written, {}, 'no outputs: there is no build')
  t.notMatch(shownLog(job), TEST_ADMIN_TOKEN)
})

t.test('the GitLab job builds the checkout tagged with the commit, writes the dotenv report and the JSON artifact, uploads neither', async (t) => {
  const commit = 'c0ffee'.padEnd(40, '0')
  // GitLab expands $VARIABLES in variables; the job extends the template with its image, and the
  // CLI's clone is this checkout.
  const predefined = { CI_COMMIT_SHA: commit }
  const variables = Object.fromEntries(Object.entries(gitlab.variables).map(([name, value]) => [name, value.replace(/\$(\w+)/g, (_, ref: string) => predefined[ref as keyof typeof predefined] ?? '')]))
  const job = await runJob(t, gitlab.script.join('\n'), { ...variables, SLIPWAY_IMAGE: image, SLIPWAY_CLI_DIR: packageRoot, SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN })
  t.equal(job.code, EXIT.ok, job.stderr)
  const report = keyValues(await readFile(path.join(job.cwd, gitlab.artifacts.reports.dotenv), 'utf8'))
  const build = await getBuild(report.SLIPWAY_BUILD_ID!)
  t.match(build, { status: 'succeeded', image: { tags: [`${image}:${commit}`] } })
  t.same(report, {
    SLIPWAY_BUILD_ID: build.id,
    SLIPWAY_STATUS: 'succeeded',
    SLIPWAY_DIGEST: build.image!.digest,
    SLIPWAY_IMAGE_REF: `${image}@${build.image!.digest}`,
    SLIPWAY_SIZE_BYTES: String(build.image!.sizeBytes),
    SLIPWAY_BUILD_JSON: gitlab.artifacts.paths[0]
  })
  t.match(JSON.parse(await readFile(path.join(job.cwd, gitlab.artifacts.paths[0]!), 'utf8')), { id: build.id }, 'the artifact is the ended build')
  const laterScript = pipelineLater.script!.join('\n')
  for (const [, variable] of laterScript.matchAll(/\$(SLIPWAY_\w+)/g)) t.ok(variable! in report, `the guide's later job's $${variable} is in the report`)
  t.match(laterScript, gitlab.artifacts.paths[0]!, "and it reads the build's JSON artifact")
  t.match(job.stderr, /uploading \.: 1 files/, 'the upload held the Dockerfile alone, not the files the job writes')
  t.notMatch(job.stdout + job.stderr, TEST_ADMIN_TOKEN)
})
