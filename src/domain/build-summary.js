// What a build made, in a few lines: its size and what the base image brought, the change since
// the previous build, its budget, its largest layer and the advisor's first finding. This one
// module words it for the build log (workers/run-build.ts), the CLI (src/cli/build-summary.ts),
// chat messages (webhooks/chat-formats.ts) and the portal (src/portal/pages/build.js), so all
// four say the same, rounded the same. Plain JavaScript the browser loads as it is: see format.js.

import { formatByteChange, formatBytes } from './format.js'

/** @import { Image } from './schemas/build.js' */

/**
 * @typedef {object} ImageSummary
 * @property {string} size The whole image: "176 MB".
 * @property {string} base What came with the base image.
 * @property {string} added What the Dockerfile added.
 * @property {{ bytes: string, comparedWith: string } | null} change Against the previous succeeded build of the same repository, ref, Dockerfile and target: "+2.1 MB".
 * @property {{ maxBytes: string, mode: 'fail' | 'warn', exceeded: boolean } | null} budget The size budget the build was held to.
 * @property {{ size: string, instruction: string, line: number | null, fromBase: boolean, of: number } | null} largestLayer The layer with the most bytes, of `of` layers; none when no layer holds any.
 * @property {{ rule: string, message: string, where: string, of: number } | null} firstFinding The advisor's first (largest) finding of `of`; `where`: "line 4, 51.2 MB".
 */

/** @typedef {'size' | 'change' | 'budget' | 'layers' | 'advisor'} SummaryLabel */

/** Long RUN lines are cut to this many characters in a summary; the log and the portal have them whole. */
const INSTRUCTION_CHARS = 60

/**
 * The summary's facts, each number already formatted, for layouts of their own (chat fields, the portal's).
 * @param {Image} image
 * @returns {ImageSummary}
 */
export function summarizeImage (image) {
  const largest = image.layers.reduce((/** @type {Image['layers'][number] | null} */ top, layer) => (top === null || layer.sizeBytes > top.sizeBytes ? layer : top), null)
  const finding = image.findings[0]
  return {
    size: formatBytes(image.sizeBytes),
    base: formatBytes(image.baseBytes),
    added: formatBytes(image.addedBytes),
    change: image.sizeDelta ? { bytes: formatByteChange(image.sizeDelta.bytes), comparedWith: image.sizeDelta.comparedWith } : null,
    budget: image.budget ? { maxBytes: formatBytes(image.budget.maxBytes), mode: image.budget.mode, exceeded: image.budget.exceeded } : null,
    largestLayer:
      largest && largest.sizeBytes > 0
        ? { size: formatBytes(largest.sizeBytes), instruction: cut(largest.instruction.replace(/\s+/g, ' ').trim()), line: largest.line, fromBase: largest.fromBase, of: image.layers.length }
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
 *   size     5.34 MB (1.2 MB base + 4.14 MB added)
 *   change   +2.1 MB since build 01JD7Z0000000000000000000A
 *   budget   200 MB, exceeded (warn)
 *   layers   9; the largest: 51.2 MB from line 4, RUN apt-get install -y build-essential
 *   advisor  2 findings; the largest: package-cache-kept (line 4, 51.2 MB): Remove the apt lists in the same RUN.
 * @param {Image} image
 * @returns {[label: SummaryLabel, text: string][]}
 */
export function summaryEntries (image) {
  const s = summarizeImage(image)
  /** @type {[label: SummaryLabel, text: string][]} */
  const entries = [['size', `${s.size} (${s.base} base + ${s.added} added)`]]
  if (s.change) entries.push(['change', `${s.change.bytes} since build ${s.change.comparedWith}`])
  if (s.budget) entries.push(['budget', `${s.budget.maxBytes}, ${s.budget.exceeded ? `exceeded (${s.budget.mode})` : 'kept'}`])
  if (s.largestLayer) entries.push(['layers', `${s.largestLayer.of}; the largest: ${s.largestLayer.size} ${layerOrigin(s.largestLayer)}`])
  if (s.firstFinding) {
    const { rule, message, where, of } = s.firstFinding
    entries.push(['advisor', `${of === 1 ? '1 finding' : `${of} findings`}; the largest: ${rule}${where ? ` (${where})` : ''}: ${message}`])
  }
  return entries
}

/**
 * The same as lines of text, as the build log and the CLI print them: the label in a column of its own.
 * @param {Image} image
 * @returns {string[]}
 */
export function summaryLines (image) {
  return summaryEntries(image).map(([label, text]) => `${label.padEnd(8)} ${text}`)
}

/**
 * "from line 4, RUN make", or "from the base image".
 * @param {NonNullable<ImageSummary['largestLayer']>} layer
 * @returns {string}
 */
function layerOrigin (layer) {
  if (layer.fromBase) return 'from the base image'
  return `from ${layer.line === null ? '' : `line ${layer.line}, `}${layer.instruction}`
}

/**
 * @param {string} text
 * @returns {string}
 */
function cut (text) {
  return text.length > INSTRUCTION_CHARS ? `${text.slice(0, INSTRUCTION_CHARS - 1)}…` : text
}
