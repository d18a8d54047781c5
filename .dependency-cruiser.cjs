// The layers of Slipway and the one direction they import in (docs/how-it-works.md draws them).
// `npm run deps` checks them; .ci/run fails on any rule broken.
//
//   src/domain         types, schemas, rules, constants: no I/O, imports no other layer
//   src/build-context  the build context packer, shared by the CLI and the workers
//   src/storage        the only code that knows Redis keys, scripts and queues
//   src/metrics        Prometheus collectors
//   src/services       what the API and the workers do, over storage
//   src/api            Fastify: plugins and routes          workers/   the queue processors
//   src/cli            the `slipway` command: HTTP client + domain
//   src/portal         the browser's: itself and the domain modules it shares (BROWSER_MODULES)
//   src/server.ts, src/cli.ts, src/openapi.ts: entries; the composition roots that wire the rest

const DOMAIN = '^src/domain/'
const CONTEXT = '^src/build-context/'
const STORAGE = '^src/storage/'
const METRICS = '^src/metrics/'
const SERVICES = '^src/services/'
const API = '^src/api/'
const CLI = '^src/cli/'
const WORKERS = '^workers/'
const ENTRIES = '^src/(server|cli|openapi)[.]ts$'
const LEAF = '^src/package-info[.]ts$'
// Domain modules the portal loads in the browser as they are (src/api/routes/portal.ts serves them).
const BROWSER_MODULES = '^src/domain/(format|build-status|build-summary|actor-text)[.]js$'
// Packages are matched wherever their node_modules is: a symlinked one (a git worktree sharing
// another checkout's) resolves to a path outside the repository, which `^node_modules/` misses.

/** A rule: files under `from` may import nothing of ours but `allowed` (and themselves). */
function only (name, from, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from },
    to: { path: '^(src|workers)/', pathNot: [from, LEAF, ...allowed].join('|') }
  }
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one; split what both need into a third.',
      severity: 'error',
      from: {},
      to: { circular: true }
    },
    only('domain-imports-no-layer', DOMAIN, [], 'The domain is what every layer shares: it may not know any of them.'),
    {
      name: 'domain-does-no-io',
      comment: 'Domain modules are pure: no Redis, queue, Docker, HTTP server, file system, network or processes.',
      severity: 'error',
      from: { path: DOMAIN },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        path: '(^|/)node_modules/(ioredis|bullmq|dockerode|fastify|@fastify/(?!error/)[^/]+|prom-client|pino)/|^(node:)?(fs|fs/promises|net|dns|http|https|child_process|worker_threads|cluster)$'
      }
    },
    {
      name: 'browser-modules-stand-alone',
      comment: 'The browser loads these files as they are: they may import one another, and nothing else (not even Node).',
      severity: 'error',
      from: { path: BROWSER_MODULES },
      to: { pathNot: BROWSER_MODULES }
    },
    {
      name: 'portal-in-the-browser',
      comment: 'The portal runs in the browser: of the rest of Slipway it may load only the domain modules served at /domain/.',
      severity: 'error',
      from: { path: '^src/portal/' },
      to: { pathNot: `^src/portal/|${BROWSER_MODULES}` }
    },
    only('build-context-on-domain', CONTEXT, [DOMAIN], 'The packer runs in the CLI and in workers: it may use only the domain.'),
    only('storage-on-domain', STORAGE, [DOMAIN], 'Storage knows Redis and the domain types it keeps, nothing above it.'),
    only('metrics-on-domain', METRICS, [DOMAIN], 'Collectors are handed what they read.'),
    only('services-below-api', SERVICES, [DOMAIN, STORAGE, METRICS], 'Services are used by the API and workers, never the other way round.'),
    only('api-below-entries', API, [DOMAIN, STORAGE, METRICS, SERVICES], 'The API does not run builds, and nothing imports the entries.'),
    only('workers-below-entries', WORKERS, [DOMAIN, CONTEXT, STORAGE, METRICS, SERVICES], 'Workers share no code with the API but the layers under both.'),
    only('cli-over-http', CLI, [DOMAIN, CONTEXT], 'The CLI talks to Slipway over HTTP; storage is handed to it by src/cli.ts.'),
    {
      name: 'redis-keys-in-storage',
      comment: 'Only storage knows a key name or a field encoding: everything else calls the module that owns the key.',
      severity: 'error',
      from: { pathNot: `${STORAGE}|^test/|^bench/` },
      to: { path: '^src/storage/(keys|redis-hash)[.]ts$' }
    },
    {
      name: 'redis-client-in-storage',
      comment: 'Connections and commands belong to storage; other layers hold a store, not a client.',
      severity: 'error',
      from: { pathNot: `${STORAGE}|${METRICS}|${ENTRIES}|^test/|^bench/` },
      to: { path: '(^|/)node_modules/ioredis/' }
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } }
  }
}
