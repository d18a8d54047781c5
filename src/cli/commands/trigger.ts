import { actorText } from '../../domain/actor-text.js'
import { TRIGGER_PROVIDERS, type Trigger, type TriggerProvider } from '../../domain/schemas/trigger.js'
import { type CommandSpec, COMMON_FLAGS, type Parsed } from '../args.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { BUILD_OPTION_FLAGS, buildOptions, buildOptionsText } from './build-options.js'
import { ago, apiOf, print, say, subcommand, table } from './shared.js'

export const triggerSpec: CommandSpec = {
  name: 'trigger',
  usage:
    'trigger create --provider github|gitlab --repo URL --branch PATTERN... [--pull-requests [--push-pull-requests]] [--name NAME] [--disabled] [build options] | trigger list | trigger show ID | trigger delete ID',
  summary: 'Build on every push and pull request: rules that turn GitHub or GitLab events into builds (scope triggers:admin).',
  description: `
A rule names a repository, the branches whose pushes build, and how to build: the same options
as \`slipway submit\`, without --ref (the pushed commit is built). \`create\` prints the URL and
the secret to paste into the repository's webhook settings; the secret is shown only then.

With --pull-requests, pull requests (GitHub) and merge requests (GitLab) into those branches
build their head commit too, measured against the branch's latest build; with --report, each
build sets its commit's status and keeps one comment on the request up to date
(docs/guides/pull-requests.md).

Branch patterns: "main", "release/*" ("*" stops at "/"), "feature/**" (any depth).

Examples:
  slipway trigger create --provider github --repo https://github.com/acme/app.git --branch main --branch 'release/*' \\
    --image registry.example.com/acme/app --build-arg NODE_ENV=production
  slipway trigger create --provider github --repo https://github.com/acme/app.git --branch main --pull-requests \\
    --image registry.example.com/acme/app --report github --report-token github-status
  slipway trigger list
  slipway trigger show 01JD7Z0000000000000000000A
  slipway trigger delete 01JD7Z0000000000000000000A`,
  flags: [
    { name: 'provider', value: 'NAME', help: `Who sends the push events: ${TRIGGER_PROVIDERS.join(' or ')} (create)` },
    { name: 'repo', value: 'URL', help: 'The repository to build, as `slipway submit --repo` takes it (create)' },
    { name: 'branch', value: 'PATTERN', multiple: true, help: 'A branch whose pushes build; repeat for more (create)' },
    { name: 'name', value: 'NAME', help: 'What the rule is for, e.g. "app main" (create)' },
    { name: 'disabled', help: 'Make it switched off: pushes build nothing until it is switched on (over the API, for now) (create)' },
    { name: 'pull-requests', help: 'Build pull requests (GitHub) or merge requests (GitLab) into the branches too (create)' },
    { name: 'push-pull-requests', help: "Push their images, tagged pr-<number>; never a fork's (create; default: built, not pushed)" },
    ...BUILD_OPTION_FLAGS,
    ...COMMON_FLAGS
  ]
}

const PROVIDER_NAMES: Record<TriggerProvider, string> = { github: 'GitHub', gitlab: 'GitLab' }

// Where each provider's webhook form is, and its fields' names, so the user pastes the right value in the right box.
const WEBHOOK_SETTINGS: Record<TriggerProvider, { where: string; url: string; secret: string; events: string; withRequests: string; requests: string }> = {
  github: {
    where: 'Settings → Webhooks → Add webhook',
    url: 'Payload URL',
    secret: 'Secret',
    events: 'Content type application/json; "Just the push event"',
    withRequests: 'Content type application/json; "Let me select individual events": Pushes and Pull requests',
    requests: 'pull requests'
  },
  gitlab: {
    where: 'Settings → Webhooks → Add new webhook',
    url: 'URL',
    secret: 'Secret token',
    events: 'Trigger: "Push events"',
    withRequests: 'Trigger: "Push events" and "Merge request events"',
    requests: 'merge requests'
  }
}
const PULL_REQUEST_EVENT: Record<TriggerProvider, Trigger['events'][number]> = { github: 'pull_request', gitlab: 'merge_request' }

export async function trigger (parsed: Parsed): Promise<ExitCode> {
  const { action, args } = subcommand(triggerSpec, parsed, { create: 0, list: 0, show: 1, delete: 1 })
  const path = args[0] === undefined ? 'v1/triggers' : `v1/triggers/${encodeURIComponent(args[0])}`
  const api = apiOf(parsed)
  switch (action) {
    case 'create': {
      const made = await api.json<Trigger>('POST', path, { json: createBody(parsed) })
      print(parsed, made, `${describeTrigger(made)}\n${pasteInstructions(made)}`)
      return EXIT.ok
    }
    case 'list': {
      const { items } = await api.json<{ items: Trigger[] }>('GET', path)
      const rows = items.map((rule) => [rule.id, rule.name ?? '-', PROVIDER_NAMES[rule.provider], rule.repo, rule.branches.join(','), rule.enabled ? 'on' : 'off', ago(rule.createdAt)])
      print(parsed, { items }, items.length === 0 ? '' : table([['ID', 'NAME', 'FROM', 'REPOSITORY', 'BRANCHES', 'ON', 'MADE'], ...rows]))
      if (items.length === 0 && !parsed.has('json')) say('no trigger rules yet; `slipway trigger create --help` says how to make one')
      return EXIT.ok
    }
    case 'show': {
      const rule = await api.json<Trigger>('GET', path)
      print(parsed, rule, describeTrigger(rule))
      return EXIT.ok
    }
    default:
      await api.send('DELETE', path)
      say(`trigger rule ${args[0]} deleted; remove its webhook from the repository's settings too`)
      return EXIT.ok
  }
}

/** The POST /v1/triggers body the flags give; what the API checks itself (patterns, options) is left to it. */
function createBody (parsed: Parsed): object {
  const provider = parsed.string('provider')
  const repo = parsed.string('repo')
  const branches = parsed.strings('branch')
  if (provider === undefined || repo === undefined || branches.length === 0) {
    throw new UsageError('trigger create needs --provider, --repo and at least one --branch. See `slipway trigger --help`.')
  }
  if (!(TRIGGER_PROVIDERS as readonly string[]).includes(provider)) throw new UsageError(`--provider is ${TRIGGER_PROVIDERS.join(' or ')}, not ${provider}.`)
  if (parsed.has('push-pull-requests') && !parsed.has('pull-requests')) throw new UsageError('--push-pull-requests goes with --pull-requests.')
  const build = buildOptions(parsed)
  return {
    provider,
    repo,
    branches,
    ...(parsed.string('name') === undefined ? {} : { name: parsed.string('name') }),
    ...(parsed.has('disabled') ? { enabled: false } : {}),
    ...(parsed.has('pull-requests') ? { events: ['push', PULL_REQUEST_EVENT[provider as TriggerProvider]] } : {}),
    ...(parsed.has('push-pull-requests') ? { pushPullRequests: true } : {}),
    ...(Object.keys(build).length === 0 ? {} : { build })
  }
}

/** A rule for a person: what it builds, from which pushes, and who made it; never its secret. */
function describeTrigger (rule: Trigger): string {
  const build = buildOptionsText(rule.build)
  const lines = [
    `Trigger rule ${rule.id}${rule.name === null ? '' : ` "${rule.name}"`}: ${rule.enabled ? 'on' : 'off (pushes build nothing)'}`,
    `  repo      ${rule.repo} (${PROVIDER_NAMES[rule.provider]})`,
    `  branches  ${rule.branches.join(', ')}`,
    `  on        ${onText(rule)}`,
    `  builds    ${build || "with the server's defaults"}`,
    `  pushes to ${rule.pushAllow === null ? 'where the server allows (SLIPWAY_PUSH_ALLOW)' : rule.pushAllow.join(', ') || 'nowhere'}`,
    `  events    ${rule.eventsUrl}`,
    `  made      ${ago(rule.createdAt)}${rule.createdBy === null ? '' : ` by ${actorText(rule.createdBy)}`}`
  ]
  return `${lines.join('\n')}\n`
}

/** What a rule builds on: "pushes, and pull requests into those branches (pushed as pr-<number>)". */
function onText (rule: Trigger): string {
  const requests = rule.events.some((event) => event !== 'push') ? `${WEBHOOK_SETTINGS[rule.provider].requests} into them${rule.pushPullRequests ? ' (pushed as pr-<number>, never from forks)' : ' (built, not pushed)'}` : null
  const pushes = rule.events.includes('push') ? 'pushes' : null
  return [pushes, requests].filter(Boolean).join(', and ')
}

/** The webhook to add to the repository, with the secret: only the answer to create holds it (Slipway makes one, as the CLI sends none). */
function pasteInstructions (rule: Trigger): string {
  const settings = WEBHOOK_SETTINGS[rule.provider]
  return `
Add a webhook to the repository (${PROVIDER_NAMES[rule.provider]}: ${settings.where}):
  ${settings.url.padEnd(12)}  ${rule.eventsUrl}
  ${settings.secret.padEnd(12)}  ${rule.secret!}
  ${rule.events.some((event) => event !== 'push') ? settings.withRequests : settings.events}
The secret is shown only now: copy it into the webhook before closing this terminal.
`
}
