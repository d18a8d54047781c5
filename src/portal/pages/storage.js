import { json } from '../api.js'
import { h, show } from '../dom.js'
import { bytes, duration, time } from '../format.js'

/**
 * @import { HostReport, StorageReport, SweepReport } from '../../domain/schemas/storage.js'
 * @import { PageContext } from '../app.js'
 */

/**
 * #/storage: what the installation keeps (GET /v1/admin/storage, admin tokens only): history by
 * age, Redis, each build host, and the retention sweeper. For an operator checking that nothing
 * fills up; read once, refreshed on request.
 * @param {HTMLElement} main
 * @param {PageContext} context
 */
export async function storagePage (main, { signal }) {
  const report = /** @type {StorageReport} */ (await json('/v1/admin/storage', { signal }))
  // Loaded again as the route loads it, with its error box if it fails.
  const refresh = h('button', { type: 'button', id: 'refresh', onclick: () => window.dispatchEvent(new HashChangeEvent('hashchange')) }, 'Refresh')
  show(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Storage'), refresh),
    h('p', { class: 'help' }, `What Slipway keeps, measured ${time(report.measuredAt)}. Old history goes by itself: see the retention settings below and docs/operations/retention.md.`),
    historySection(report),
    redisSection(report.redis),
    hostsSection(report.hosts),
    sweepSection(report.retention)
  )
}

/** @param {StorageReport} report */
function historySection ({ history, redis }) {
  return h(
    'section',
    { id: 'history' },
    h('h2', {}, 'Build history'),
    h('p', {}, `${history.builds} build record${history.builds === 1 ? '' : 's'} kept.`),
    h(
      'table',
      { class: 'history' },
      h('thead', {}, h('tr', {}, ['Made', 'Records', 'Logs'].map((title) => h('th', { scope: 'col' }, title)))),
      h(
        'tbody',
        {},
        history.byAge.map((band) => h('tr', {}, h('td', {}, band.age), h('td', { class: 'num' }, String(band.builds)), h('td', { class: 'num' }, band.logs === null ? '–' : String(band.logs))))
      )
    ),
    h('p', { class: 'help' }, redis.keysCountedAt ? `Logs as counted ${time(redis.keysCountedAt)} (every 5 minutes).` : 'Logs are counted by the retention sweeper every 5 minutes; not yet.')
  )
}

/** @param {StorageReport['redis']} redis */
function redisSection ({ memory, keys, keysCountedAt }) {
  const kinds = Object.entries(keys ?? {})
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1])
  return h(
    'section',
    { id: 'redis' },
    h('h2', {}, 'Redis'),
    memory
      ? [
          h('p', { id: 'redis-memory' }, `${bytes(memory.usedBytes)} used`, memory.maxBytes === null ? ', no maxmemory set' : ` of ${bytes(memory.maxBytes)} (maxmemory)`, `; policy ${memory.policy}.`),
          memory.warning ? h('div', { class: 'warning-box', role: 'alert' }, memory.warning) : null
        ]
      : h('p', { class: 'empty' }, 'Redis did not say how much memory it uses (INFO memory).'),
    kinds.length
      ? h(
        'details',
        {},
        h('summary', {}, `Slipway's keys by kind, as counted ${time(keysCountedAt)}`),
        h(
          'table',
          { class: 'keys' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Keys'))),
          h('tbody', {}, kinds.map(([kind, count]) => h('tr', {}, h('td', {}, h('code', {}, kind)), h('td', { class: 'num' }, String(count)))))
        )
      )
      : null
  )
}

/** @param {HostReport[]} hosts */
function hostsSection (hosts) {
  return h(
    'section',
    { id: 'hosts' },
    h('h2', {}, 'Build hosts'),
    hosts.length
      ? h(
        'table',
        { class: 'hosts' },
        h('thead', {}, h('tr', {}, ['Worker', 'Docker Engine', 'Images', 'Build cache', 'Free disk', 'Git mirrors', 'State', 'Reported'].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          hosts.map((host) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, host.worker)),
              h('td', { title: host.engine.id }, host.engine.name),
              h('td', { class: 'num' }, bytes(host.imagesBytes)),
              h('td', { class: 'num' }, bytes(host.buildCacheBytes)),
              h('td', { class: 'num' }, bytes(host.freeBytes)),
              h('td', { class: 'num' }, `${bytes(host.mirrorBytes)} (${host.mirrors})`),
              h('td', {}, host.paused ? h('span', { class: 'paused', title: host.paused }, 'Paused: ', host.paused) : 'Taking builds'),
              h('td', {}, time(host.reportedAt))
            )
          )
        )
      )
      : h('p', { class: 'empty' }, 'No worker has reported in the last 3 minutes. Workers (SLIPWAY_ROLE=worker or all) report their Docker host every minute.')
  )
}

/** @param {StorageReport['retention']} retention */
function sweepSection ({ retention, keepLast, logRetention, auditRetention, lastSweep }) {
  return h(
    'section',
    { id: 'retention' },
    h('h2', {}, 'Retention'),
    h(
      'p',
      {},
      `Build records are kept ${retention} after their build ended, and the newest ${keepLast} of each repository and ref whatever their age; `,
      `logs ${logRetention ? `${logRetention}` : 'as long as their records'}; audit entries ${auditRetention}.`
    ),
    lastSweep ? sweepSummary(lastSweep) : h('p', { class: 'empty' }, 'The sweeper has not run yet: every Slipway process tries once a minute, one at a time.')
  )
}

/** @param {SweepReport} sweep */
function sweepSummary (sweep) {
  const { builds, logs, deliveries, tombstones, auditEntries } = sweep.removed
  const took = Date.parse(sweep.finishedAt) - Date.parse(sweep.startedAt)
  return h(
    'p',
    { id: 'last-sweep' },
    `Last sweep ${time(sweep.finishedAt)} (took ${duration(took)}, looked at ${sweep.scanned} builds): removed ${builds} build${builds === 1 ? '' : 's'}, `,
    `${logs} log${logs === 1 ? '' : 's'}, ${deliveries} deliver${deliveries === 1 ? 'y' : 'ies'}, ${tombstones} tombstone${tombstones === 1 ? '' : 's'} and ${auditEntries} audit entr${auditEntries === 1 ? 'y' : 'ies'}.`,
    sweep.incomplete ? ' It stopped early; the next sweep carries on.' : ''
  )
}
