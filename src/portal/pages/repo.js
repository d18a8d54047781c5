import { json } from '../api.js'
import { sizeChart } from '../charts.js'
import { h, show } from '../dom.js'
import { bytes, shortCommit, signedBytes, time } from '../format.js'
import { variantsTable } from './build.js'
import { buildsTable } from './builds.js'

/**
 * @import { SizePoint, SizeSeries } from '../charts.js'
 * @import { PageContext } from '../app.js'
 * @import { Build } from '../../domain/schemas/build.js'
 */

/**
 * #/repos/URL: the repository's image size over time (GET /v1/repos/{repo}/sizes), with its size
 * budgets, the latest comparison of variants, and its recent builds.
 * @param {HTMLElement} main
 * @param {PageContext} context
 */
export async function repoPage (main, { id: repo, signal }) {
  const encoded = encodeURIComponent(repo)
  const [sizes, builds] = /** @type {[{ items: SizePoint[] }, { items: Build[] }]} */ (
    await Promise.all([json(`/v1/repos/${encoded}/sizes?limit=200`, { signal }), json(`/v1/builds?repo=${encoded}&limit=50`, { signal })])
  )
  const compared = builds.items.find((build) => build.variants.length > 0)
  show(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Repository ', h('code', { class: 'repo-name' }, repo)), h('a', { class: 'button', href: `#/submit?repo=${encoded}` }, 'Build it')),
    h('section', { id: 'sizes' }, h('h2', {}, 'Image size over time'), sizesPart(sizes.items)),
    h(
      'section',
      { id: 'variants' },
      h('h2', {}, 'Variants compared'),
      compared
        ? [h('p', { class: 'help' }, 'The newest build of this repository that built variants: ', h('a', { href: `#/builds/${compared.id}` }, `build ${compared.id}`), ` at commit ${shortCommit(compared.commit)}.`), variantsTable(compared.variants)]
        : h('p', { class: 'empty' }, 'No build of this repository compared variants yet. To compare Dockerfiles, targets or build arguments side by side, submit a build with Variants (under More options).')
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Recent builds'),
      builds.items.length ? buildsTable(builds.items) : h('p', { class: 'empty' }, 'No builds of this repository.'),
      h('p', {}, h('a', { href: `#/builds?repo=${encoded}` }, 'All builds of this repository, live'))
    )
  )
}

/**
 * The chart, one line per ref, Dockerfile and target, and the same points as a table.
 * @param {SizePoint[]} points
 */
function sizesPart (points) {
  if (points.length === 0) {
    return h('p', { class: 'empty' }, 'No succeeded build of this repository yet: each one adds a point here, with its size budget if it had one.')
  }
  /** @type {Map<string, SizeSeries>} */
  const series = new Map()
  for (const point of points) {
    const name = [point.ref ?? 'default branch', point.dockerfile, point.target ? `target ${point.target}` : null].filter(Boolean).join(' · ')
    const line = series.get(name) ?? { name, points: [] }
    series.set(name, line)
    line.points.push(point)
  }
  const lines = [...series.values()]
  return [
    sizeChart(lines),
    h('ul', { class: 'legend' }, lines.map((s, i) => h('li', { class: `series-${i % 6}` }, h('span', { class: 'swatch' }), s.name, ` (${s.points.length} build${s.points.length === 1 ? '' : 's'})`))),
    h(
      'p',
      { class: 'help' },
      'Each point is a succeeded build (click it to open the build); dashed lines are size budgets, each labelled with its size and the line it holds. Builds of the same ref, Dockerfile and target share a line. ' +
        'When the largest size is more than ten times the smallest, the size axis is logarithmic (each step up multiplies by 10, with 2× and 5× between), so that small and large images both show.'
    ),
    h(
      'details',
      {},
      h('summary', {}, 'The numbers'),
      h(
        'table',
        { class: 'sizes' },
        h('thead', {}, h('tr', {}, ['Finished', 'Series', 'Commit', 'Size', 'Change', 'Base', 'Added', 'Budget'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          lines.flatMap((s) =>
            s.points.map((p, i, all) => {
              const previous = all[i - 1]
              return h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/builds/${p.buildId}` }, time(p.finishedAt))),
                h('td', {}, s.name),
                h('td', {}, h('code', {}, shortCommit(p.commit))),
                h('td', { class: 'num' }, bytes(p.sizeBytes)),
                h('td', { class: 'num' }, previous ? signedBytes(p.sizeBytes - previous.sizeBytes) : '–'),
                h('td', { class: 'num' }, bytes(p.baseBytes)),
                h('td', { class: 'num' }, bytes(p.addedBytes)),
                h('td', { class: 'num' }, bytes(p.maxImageBytes))
              )
            })
          )
        )
      )
    )
  ]
}
