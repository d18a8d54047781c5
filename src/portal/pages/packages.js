import { json } from '../api.js'
import { layerLabels } from '../../domain/build-summary.js'
import { errorBox, h, show } from '../dom.js'

/**
 * @import { Build, Image } from '../../domain/schemas/build.js'
 */

// A layer's packages are listed by name up to this many; the rest are counted.
const NAMES_SHOWN = 40

/**
 * A CycloneDX component as /v1/builds/{id}/sbom?format=cyclonedx writes it.
 * @typedef {object} Component
 * @property {string} name
 * @property {string} version
 * @property {string} purl
 * @property {{ name: string, value: string }[]} properties
 */

/**
 * What is in the image, beside where its bytes are: the packages counted by ecosystem, and, opened,
 * by the layer (so the Dockerfile line) that added them, read from the build's SBOM.
 * @param {Build & { image: Image }} build
 */
export function packagesSection (build) {
  const packages = build.packages
  if (!packages) {
    const why = build.request.sbom ? 'Its packages were not listed; the log of the inspect phase says why.' : 'Its packages were not listed: the build did not ask for an SBOM.'
    return h('p', { class: 'empty', id: 'packages' }, why)
  }
  const counts = Object.entries(packages.byEcosystem).filter(([, count]) => count > 0).map(([ecosystem, count]) => `${ecosystem} ${count}`)
  const byLayer = h('div', {}, h('p', { class: 'muted' }, 'Reading the SBOM…'))
  const opened = h(
    'details',
    {
      id: 'packages',
      ontoggle: (/** @type {Event} */ event) => {
        if (/** @type {HTMLDetailsElement} */ (event.target).open && !byLayer.dataset.loaded) {
          byLayer.dataset.loaded = 'yes'
          void showByLayer(build, byLayer)
        }
      }
    },
    h('summary', {}, `${packages.count} packages`, counts.length ? ` (${counts.join(', ')})` : '', ': by the layer that added them'),
    byLayer
  )
  return opened
}

/**
 * @param {Build & { image: Image }} build
 * @param {HTMLElement} into
 */
async function showByLayer (build, into) {
  try {
    const bom = /** @type {{ components: Component[] }} */ (await json(`/v1/builds/${encodeURIComponent(build.id)}/sbom?format=cyclonedx`))
    /** @type {Map<number, Component[]>} */
    const layers = new Map()
    for (const component of bom.components) {
      const layer = Number(component.properties.find((property) => property.name === 'slipway:layer')?.value ?? -1)
      layers.set(layer, [...(layers.get(layer) ?? []), component])
    }
    const labels = layerLabels(build.image, build)
    show(
      into,
      h(
        'table',
        { class: 'packages' },
        h('thead', {}, h('tr', {}, ['Layer', 'Packages'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, [...layers].sort(([a], [b]) => a - b).map(([index, components]) => layerRow(labels[index], index, components)))
      )
    )
  } catch (error) {
    show(into, errorBox(error, 'The SBOM could not be read.'))
  }
}

/**
 * @param {string | undefined} label The layer's, as layerLabels words it: "line 4 RUN apt-get install -y curl", "debian:bookworm-slim (base image)".
 * @param {number} index The layer's history index; -1 when the scan could not line it up.
 * @param {Component[]} components
 */
function layerRow (label, index, components) {
  const where = index >= 0 && label !== undefined ? label : 'a layer that could not be lined up with the history'
  const ecosystems = new Map()
  for (const component of components) {
    const ecosystem = component.purl.slice(4, component.purl.indexOf('/'))
    ecosystems.set(ecosystem, (ecosystems.get(ecosystem) ?? 0) + 1)
  }
  const names = components.slice(0, NAMES_SHOWN).map((component) => `${component.name} ${component.version}`)
  const more = components.length - names.length
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, h('code', {}, where)),
    h(
      'td',
      {},
      h('strong', {}, [...ecosystems].map(([ecosystem, count]) => `${ecosystem} ${count}`).join(', ')),
      h('div', { class: 'small' }, names.join(', '), more > 0 ? ` and ${more} more` : '')
    )
  )
}
