// What scripts/demo.sh prints once its two builds have ended: their sizes side by side, what the
// run's change rebuilt, where the single-stage bytes go, what the advisor says, and what each
// image holds and carries. Worded by the same modules as the portal and the CLI (layerLabels,
// firstMissText, formatBytes), so the demo says what they say.
//
// Usage: node scripts/demo-report.mjs API_URL SINGLE_ID MULTI_ID   (token in $SLIPWAY_TOKEN)

import { attestationsText, firstMissText, layerLabels, shortDigest, unsignedReason } from '../src/domain/build-summary.js'
import { formatByteChange, formatBytes, formatDuration } from '../src/domain/format.js'

/** @import { Build } from '../src/domain/schemas/build.js' */

const [api, singleId, multiId] = process.argv.slice(2)
if (!api || !singleId || !multiId) throw new Error('usage: node scripts/demo-report.mjs API_URL SINGLE_ID MULTI_ID')

/**
 * @param {string} id
 * @returns {Promise<Build>}
 */
async function build (id) {
  const response = await fetch(`${api}/v1/builds/${id}`, { headers: { authorization: `Bearer ${process.env.SLIPWAY_TOKEN}` } })
  if (!response.ok) throw new Error(`GET /v1/builds/${id} answered ${response.status}: ${await response.text()}`)
  return /** @type {Promise<Build>} */ (response.json())
}

const builds = [
  { name: 'single-stage', build: await build(singleId) },
  { name: 'multi-stage', build: await build(multiId) }
]
/**
 * @param {(string | number)[]} cells
 * @param {number[]} widths Negative: right-aligned.
 */
const row = (cells, widths) => console.log(cells.map((cell, i) => {
  const width = widths[i] ?? 0
  return width < 0 ? String(cell).padStart(-width) : String(cell).padEnd(width)
}).join(' ').trimEnd())

const WIDTHS = [14, 10, -9, -10, 0]
row(['BUILD', 'STATUS', 'SIZE', 'TIME', ' IMAGE (pushed to the local registry)'], WIDTHS)
for (const { name, build: b } of builds) {
  const image = b.image?.digest ? `${b.image.repository}@${shortDigest(b.image.digest)}` : (b.error?.code ?? '-')
  row([name, b.status, b.image ? formatBytes(b.image.sizeBytes) : '-', b.durationMs === null ? '-' : formatDuration(b.durationMs), ` ${image}`], WIDTHS)
}

// From the second run on, each build has the previous run's to compare with.
const compared = builds.filter(({ build: b }) => b.cache?.comparedWith)
if (compared.length > 0) {
  console.log('\nWhat this run changed (hello.c\'s greeting), against the previous run:')
  for (const { name, build: b } of compared) {
    const delta = b.image?.sizeDelta ? `${formatByteChange(b.image.sizeDelta.bytes)}; ` : ''
    console.log(`  ${name.padEnd(13)} ${delta}${firstMissText(b) ?? 'every step came from the cache'}`)
  }
}

const single = builds[0]?.build
if (single?.image) {
  console.log('\nWhere the single-stage bytes go (largest layers):')
  const labels = layerLabels(single.image, single)
  const largest = single.image.layers.map((layer, i) => ({ bytes: layer.sizeBytes, label: labels[i] ?? '' })).sort((a, b) => b.bytes - a.bytes).slice(0, 3)
  for (const { bytes, label } of largest) console.log(`  ${formatBytes(bytes).padEnd(9)}${label.slice(0, 70)}`)

  console.log("\nWhat would make it smaller (Slipway's advisor, largest first):")
  for (const finding of single.image.findings.slice(0, 4)) {
    console.log(`  ${formatBytes(finding.bytes ?? 0).padEnd(9)}${finding.rule} (line ${finding.lines.join(', ')})`)
  }
}

console.log('\nWhat is in each image (its SBOM: build tools left behind by the multi-stage build):')
for (const { name, build: b } of builds) {
  const ecosystems = b.packages ? Object.entries(b.packages.byEcosystem).filter(([, count]) => count > 0).map(([ecosystem, count]) => `${ecosystem} ${count}`) : []
  const listed = b.packages ? `${b.packages.count} packages${ecosystems.length > 0 ? ` (${ecosystems.join(', ')})` : ''}` : 'not listed'
  console.log(`  ${name.padEnd(13)} ${listed}`)
}

console.log("\nSigned, and described in the registry beside each image (cosign's .sig and .att tags):")
for (const { name, build: b } of builds) {
  const signed = b.signature ? `signed with key ${shortDigest(b.signature.keyId)}` : `not signed (${unsignedReason(b) ?? 'the build does not say why'})`
  const attached = b.attestations?.length ? `attested: ${attestationsText(b.attestations)}` : 'nothing attached'
  console.log(`  ${name.padEnd(13)} ${signed}; ${attached}`)
}
