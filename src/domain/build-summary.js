// What a build made, in a few lines: its size and what the base image brought, the change since
// the previous build, its budget, its largest layer and the advisor's first finding; how much
// of it came from the layer cache, with the first step that did not and why; and whether the
// pushed image is signed, and which statements are attached to it. This one
// module words it for the build log (workers/run-build.ts), the CLI (src/cli/build-summary.ts),
// chat messages (webhooks/chat-formats.ts) and the portal (src/portal/pages/build.js), so all
// four say the same, rounded the same. Plain JavaScript the browser loads as it is: see format.js.

import { formatByteChange, formatBytes } from './format.js'

/** @import { Attestation, BaseImage, Build, BuildCache, CacheMissReason, Image, NormalizedRequest, Step } from './schemas/build.js' */

/**
 * What the cache's words need of a build: its cache summary, and whether it is an upload (a list's
 * summary of a build has as much).
 * @typedef {Pick<Build, 'cache'> & { request: Pick<NormalizedRequest, 'source'> }} CacheOf
 */

/**
 * What a build knows besides its image that names the image's layers for people: the base images
 * (the image's own first: the one its base layers came from) and the steps, whose instructions are
 * the Dockerfile's text where the image history has the builder's ("COPY file:73e2… in /app/").
 * Either may be missing (a build with variants, one made before Slipway kept them): the history's
 * text is shown then. The steps of a build with variants are not used: they are every variant's,
 * whose Dockerfiles may differ at the same line.
 * @typedef {{ baseImages?: BaseImage[] | null, steps?: Step[], variants?: unknown[] }} LayerNames
 */

/**
 * @typedef {object} ImageSummary
 * @property {string} size The whole image: "176 MB".
 * @property {string} base What came with the base image.
 * @property {string | null} baseName The base image, when the build recorded it: "debian:bookworm-slim".
 * @property {string} added What the Dockerfile added.
 * @property {{ bytes: string, comparedWith: string } | null} change Against the previous succeeded build of the same repository, ref, Dockerfile and target: "+2.1 MB".
 * @property {{ maxBytes: string, mode: 'fail' | 'warn', exceeded: boolean } | null} budget The size budget the build was held to.
 * @property {{ size: string, instruction: string, label: string, line: number | null, fromBase: boolean, of: number } | null} largestLayer The layer with the most bytes, of `of` layers; none when no layer holds any. `instruction` as the image history has it, `label` as layerLabels words it; both cut.
 * @property {{ rule: string, message: string, where: string, of: number } | null} firstFinding The advisor's first (largest) finding of `of`; `where`: "line 4, 51.2 MB".
 */

/** @typedef {'size' | 'change' | 'budget' | 'layers' | 'advisor'} SummaryLabel */

/** Long RUN lines are cut to this many characters in a summary; the log and the portal have them whole. */
const INSTRUCTION_CHARS = 60

/**
 * What each layer of the image is called where people read it, one label per layer, in order:
 *   debian:bookworm-slim (base image)                   the image's one base layer
 *   node:20-bookworm-slim (base image, layer 2 of 5)    one of several, each labelled
 *   line 4 COPY app.py /app/                            the Dockerfile's text, from the step of that line
 *   line 4 COPY file:73e2… in /app/                     the history's, when no step has the line
 *   Imported from -                                     a layer not lined up with the Dockerfile, as the history has it
 * The base image is named only when the build recorded it; else "the base image" ("the base image, layer 2 of 5").
 * @param {Pick<Image, 'layers'>} image
 * @param {LayerNames} [build]
 * @returns {string[]}
 */
export function layerLabels (image, build = {}) {
  const baseName = build.baseImages?.[0]?.name ?? null
  const bases = image.layers.filter((layer) => layer.fromBase).length
  let nth = 0
  return image.layers.map((layer) => {
    if (layer.fromBase) {
      nth += 1
      const which = bases === 1 ? 'base image' : `base image, layer ${nth} of ${bases}`
      return baseName === null ? `the ${which}` : `${baseName} (${which})`
    }
    const instruction = oneLine(layer.instruction)
    if (layer.line === null) return instruction
    const step = build.variants?.length ? undefined : build.steps?.find((candidate) => candidate.line === layer.line)
    return `line ${layer.line} ${step ? oneLine(step.instruction) : instruction}`
  })
}

/**
 * A Dockerfile stage as people read it: "stage build" for one named build, "stage 1" for the first
 * stage when it has no name, counted from 1 as the FROM lines are read, where the builders and the
 * API's `stage` fields say "stage-0".
 * @param {string} label A stage as layers, findings and steps record it: its AS name, or `stage-N` (N from 0).
 * @returns {string}
 */
export function stageName (label) {
  const unnamed = /^stage-(\d+)$/.exec(label)
  return unnamed ? `stage ${Number(unnamed[1]) + 1}` : `stage ${label}`
}

/**
 * @param {string} text
 * @returns {string}
 */
function oneLine (text) {
  return text.replace(/\s+/g, ' ').trim()
}

/**
 * The summary's facts, each number already formatted, for layouts of their own (chat fields, the portal's).
 * @param {Image} image
 * @param {LayerNames} [build] The build's base images and steps, which name its layers (layerLabels).
 * @returns {ImageSummary}
 */
export function summarizeImage (image, build = {}) {
  const largestIndex = image.layers.reduce((top, layer, index) => (top === -1 || layer.sizeBytes > (image.layers[top]?.sizeBytes ?? 0) ? index : top), -1)
  const largest = image.layers[largestIndex] ?? null
  const finding = image.findings[0]
  return {
    size: formatBytes(image.sizeBytes),
    base: formatBytes(image.baseBytes),
    baseName: build.baseImages?.[0]?.name ?? null,
    added: formatBytes(image.addedBytes),
    change: image.sizeDelta ? { bytes: formatByteChange(image.sizeDelta.bytes), comparedWith: image.sizeDelta.comparedWith } : null,
    budget: image.budget ? { maxBytes: formatBytes(image.budget.maxBytes), mode: image.budget.mode, exceeded: image.budget.exceeded } : null,
    largestLayer:
      largest && largest.sizeBytes > 0
        ? {
            size: formatBytes(largest.sizeBytes),
            instruction: cut(oneLine(largest.instruction)),
            label: cut(layerLabels(image, build)[largestIndex] ?? ''),
            line: largest.line,
            fromBase: largest.fromBase,
            of: image.layers.length
          }
        : null,
    firstFinding: finding
      ? {
          rule: finding.rule,
          message: finding.message,
          where: [finding.lines.length > 0 ? `line ${finding.lines.join(', ')}` : null, finding.bytes === undefined ? null : formatBytes(finding.bytes)].filter(Boolean).join(', '),
          of: image.findings.length
        }
      : null
  }
}

/**
 * The summary as labelled text, in the order every surface shows it; facts the image lacks are left out.
 *   size     5.34 MB (1.2 MB debian:bookworm-slim + 4.14 MB added)   "1.2 MB base" when the base image was not recorded
 *   change   +2.1 MB since build 01JD7Z0000000000000000000A
 *   budget   200 MB, exceeded (warn)
 *   layers   9; the largest: 51.2 MB from line 4 RUN apt-get install -y build-essential
 *   advisor  2 findings; the largest: package-cache-kept (line 4, 51.2 MB): Remove the apt lists in the same RUN.
 * @param {Image} image
 * @param {LayerNames} [build]
 * @returns {[label: SummaryLabel, text: string][]}
 */
export function summaryEntries (image, build = {}) {
  const s = summarizeImage(image, build)
  /** @type {[label: SummaryLabel, text: string][]} */
  const entries = [['size', `${s.size} (${s.base} ${s.baseName ?? 'base'} + ${s.added} added)`]]
  if (s.change) entries.push(['change', `${s.change.bytes} since build ${s.change.comparedWith}`])
  if (s.budget) entries.push(['budget', `${s.budget.maxBytes}, ${s.budget.exceeded ? `exceeded (${s.budget.mode})` : 'kept'}`])
  if (s.largestLayer) entries.push(['layers', `${s.largestLayer.of}; the largest: ${s.largestLayer.size} from ${s.largestLayer.label}`])
  if (s.firstFinding) {
    const { rule, message, where, of } = s.firstFinding
    entries.push(['advisor', `${of === 1 ? '1 finding' : `${of} findings`}; the largest: ${rule}${where ? ` (${where})` : ''}: ${message}`])
  }
  return entries
}

/**
 * The same as lines of text, as the build log and the CLI print them: the label in a column of its own.
 * @param {Image} image
 * @param {LayerNames} [build]
 * @returns {string[]}
 */
export function summaryLines (image, build = {}) {
  return summaryEntries(image, build).map(([label, text]) => `${label.padEnd(8)} ${text}`)
}

/**
 * @param {string} text
 * @returns {string}
 */
function cut (text) {
  return text.length > INSTRUCTION_CHARS ? `${text.slice(0, INSTRUCTION_CHARS - 1)}…` : text
}

// --- The layer cache ------------------------------------------------------------------------------
//
// A step is named by its Dockerfile line ("line 4 COPY . /app"), not by a step number: BuildKit
// numbers steps per stage ("[2/5]"), the classic builder across the file ("Step 4/9"), and
// `steps` holds builder-internal steps too, so only the line is the same in the Dockerfile, the
// log and the portal's timeline (which shows each step's line).

/**
 * What each reason is called where there is room for a word or two only: the portal's badges.
 * @type {Record<CacheMissReason, string>}
 */
export const CACHE_MISS_LABELS = {
  'first-build': 'first build',
  'no-cache': 'no cache',
  'instruction-changed': 'instruction changed',
  'build-arg-changed': 'build arg changed',
  'base-image-changed': 'base image changed',
  'files-changed': 'files changed',
  'earlier-step-rebuilt': 'earlier step rebuilt',
  'cache-not-on-engine': 'not in engine cache'
}

/**
 * The share of steps that came from the cache, as a whole percentage: "56%". Never "100%" while a
 * step ran, nor "0%" while one came from the cache; null without steps.
 * @param {BuildCache} cache
 * @returns {string | null}
 */
export function cachePercent (cache) {
  if (cache.steps === 0) return null
  const percent = Math.round((cache.cached / cache.steps) * 100)
  return `${cache.cached < cache.steps ? Math.min(99, cache.cached > 0 ? Math.max(1, percent) : 0) : 100}%`
}

/**
 * How much came from the cache: "5 of 9 steps (56%)"; null when the build has no cache
 * summary or no step that could have come from the cache.
 * @param {BuildCache | null} cache
 * @returns {string | null}
 */
export function cacheHitText (cache) {
  const percent = cache && cachePercent(cache)
  if (!cache || !percent) return null
  return `${cache.cached} of ${cache.steps} ${cache.steps === 1 ? 'step' : 'steps'} (${percent})`
}

/**
 * The first step that did not come from the cache, and why, in one line:
 *   line 4 COPY . /app rebuilt: src/app.py changed; 6 steps after it followed
 *   line 4 COPY . /app rebuilt: src/app.py changed; nothing after it rebuilt
 *   every step came from the cache
 *   first build of this branch: nothing to compare with      (of an upload: "of this image")
 *   no-cache build: every step ran
 * null when there is nothing to say: no cache summary (a build before Slipway kept one, one with
 * variants, one whose build phase has not ended), or no step that could have come from the cache.
 * @param {CacheOf} build
 * @returns {string | null}
 */
export function firstMissText (build) {
  const cache = build.cache
  if (!cache || cache.steps === 0) return null
  const miss = cache.firstMiss
  if (!miss) return cache.cached === cache.steps ? 'every step came from the cache' : null
  if (miss.reason === 'first-build') return `first build of this ${build.request.source ? 'image' : 'branch'}: nothing to compare with`
  if (miss.reason === 'no-cache') return 'no-cache build: every step ran'
  const step = `${miss.line === null ? '' : `line ${miss.line} `}${cut(oneLine(miss.instruction))}`
  const followers = miss.followers === 0 ? 'nothing after it rebuilt' : `${miss.followers} ${miss.followers === 1 ? 'step' : 'steps'} after it followed`
  return `${step} rebuilt: ${miss.summary}; ${followers}`
}

/**
 * Both in one line, for a single field (chat messages):
 *   5 of 9 steps (56%); line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed
 * null when the build has no cache summary to give.
 * @param {CacheOf} build
 * @returns {string | null}
 */
export function cacheText (build) {
  const parts = [cacheHitText(build.cache), firstMissText(build)].filter((part) => part !== null)
  return parts.length > 0 ? parts.join('; ') : null
}

/**
 * The same as lines of text, as the build log and the CLI print them, in the column of
 * summaryLines; the first miss under the hit rate, as its line is long:
 *   cache    5 of 9 steps (56%)
 *            line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed
 * @param {CacheOf} build
 * @returns {string[]}
 */
export function cacheLines (build) {
  const hit = cacheHitText(build.cache)
  const miss = firstMissText(build)
  if (hit === null) return miss === null ? [] : [`${'cache'.padEnd(8)} ${miss}`]
  return [`${'cache'.padEnd(8)} ${hit}`, ...(miss === null ? [] : [`${''.padEnd(8)} ${miss}`])]
}

// --- Signature and attestations -----------------------------------------------------------------

/**
 * What each in-toto statement is called where people read it, by its predicate type.
 * @type {Record<string, string>}
 */
const ATTESTATION_NAMES = {
  'https://slsa.dev/provenance/v1': 'provenance',
  'https://spdx.dev/Document': 'SPDX',
  'https://cyclonedx.org/bom': 'CycloneDX'
}

/**
 * "provenance", "SPDX", "CycloneDX"; a predicate type of another kind as it is.
 * @param {string} predicateType
 * @returns {string}
 */
export function attestationName (predicateType) {
  return ATTESTATION_NAMES[predicateType] ?? predicateType
}

/**
 * The attestations by name, and whether they are signed: "provenance, SPDX, CycloneDX (signed)";
 * null when none is attached.
 * @param {Attestation[] | null} attestations
 * @returns {string | null}
 */
export function attestationsText (attestations) {
  if (!attestations || attestations.length === 0) return null
  const signed = attestations.filter((attestation) => attestation.signed).length
  const note = signed === attestations.length ? 'signed' : signed === 0 ? 'not signed' : `${signed} of ${attestations.length} signed`
  return `${attestations.map((attestation) => attestationName(attestation.predicateType)).join(', ')} (${note})`
}

/**
 * "sha256:0123456789ab…": a key id (or digest) short enough to read, long enough to tell apart.
 * @param {string} digest
 * @returns {string}
 */
export function shortDigest (digest) {
  const [algorithm, hex = ''] = digest.split(':')
  return hex.length > 12 ? `${algorithm}:${hex.slice(0, 12)}…` : digest
}

/**
 * Why the build's image is not signed, as far as the build tells: "the image was not pushed",
 * "the build asked for none (sign: false)", "the server has no signing key", or "nothing could
 * be attached to the image (see the warnings)". Null when it is signed, and when the build cannot
 * tell yet or at all (its attest phase has not ended; a build with variants or one made before
 * Slipway signed images has none).
 * @param {Pick<Build, 'signature' | 'attestations' | 'request' | 'image' | 'phases'>} build
 * @returns {string | null}
 */
export function unsignedReason (build) {
  if (build.signature) return null
  // Not pushed first: such a build asks for no signature by default, and was not asked to sign anything.
  if (!build.image?.pushed) return 'the image was not pushed'
  if (!build.request.sign) return 'the build asked for none (sign: false)'
  const attest = build.phases.find((phase) => phase.name === 'attest' && !phase.variant)
  // The phase keeps the build succeeded when the registry refuses what it attaches (signature or
  // statements); it records nothing then, and its warning says why.
  if (attest?.status === 'succeeded' && build.attestations === null) return 'nothing could be attached to the image (see the warnings)'
  // It ran with no key (attaching statements unsigned), or was skipped for want of one and of anything else to attach,
  // or the build reused an earlier image, which it does unsigned only when the server has no key to sign with.
  if (attest?.status === 'succeeded' || attest?.status === 'skipped') return 'the server has no signing key'
  return null
}
