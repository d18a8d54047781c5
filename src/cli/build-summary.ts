import { actorWithEvent } from '../domain/actor-text.js'
import { statusText } from '../domain/build-status.js'
import { attestationName, attestationsText, cacheLines, shortDigest, summaryLines, unsignedReason } from '../domain/build-summary.js'
import { formatAgo, formatBytes, formatDuration, formatUpload } from '../domain/format.js'
import type { Build } from '../domain/schemas/build.js'
import { EXIT, type ExitCode } from './exit-codes.js'

/** What a build's state means for the shell; one not yet ended is no failure. */
export function exitCodeOf (build: Build): ExitCode {
  switch (build.status) {
    case 'succeeded':
      return EXIT.ok
    case 'canceled':
      return EXIT.canceled
    case 'timed_out':
      return EXIT.timedOut
    case 'failed':
      return EXIT.buildFailed
    case 'queued':
    case 'running':
      return EXIT.ok
  }
}

/**
 * A build for a person: a headline with its status and time, then what was built from where, what
 * started it (worded as the portal words it), its phases, where it ran, how much came from the layer cache and the first step that did not, and
 * the image (digest, then the summary of ../domain/build-summary.js, its signature and
 * attestations) or the error.
 */
export function describeBuild (build: Build, now = Date.now()): string {
  const lines = [headline(build, now)]
  const request = build.request
  if (request.repo === null) lines.push(`  source   ${formatUpload(request.source)}`)
  else lines.push(`  source   ${request.repo} @ ${sourceRef(request.ref, build.commit)}`)
  const started = startedText(build)
  if (started) lines.push(`  started  ${started}`)
  if (build.phases.length > 0) {
    const phases = build.phases.map((phase) => {
      const took = phase.status === 'skipped' || phase.durationMs === null ? phase.status : formatDuration(phase.durationMs)
      return `${phase.variant ? `${phase.variant}:` : ''}${phase.name} ${took}${phase.status === 'failed' ? ' (failed)' : ''}`
    })
    lines.push(`  phases   ${phases.join(', ')}`)
  }
  const ranOn = build.ranOn
  if (ranOn) lines.push(`  ran on   ${ranOn.engine ? `${ranOn.engine.name} (worker ${ranOn.worker})` : `worker ${ranOn.worker} (its Docker Engine could not be asked who it is)`}`)
  if (build.reusedFrom) lines.push(`  reused   the image of the identical build ${build.reusedFrom}`)
  // "5 of 9 steps (56%)", then "line 4 COPY . /app rebuilt: src/app.py changed; …", as the log, chat and portal word them.
  for (const line of cacheLines(build)) lines.push(`  ${line}`)
  const image = build.image
  if (image) {
    lines.push(`  image    ${image.tags.join(' ')}${image.pushed ? ' (pushed)' : ' (not pushed)'}`)
    lines.push(image.digest ? `  digest   ${image.digest}` : `  id       ${image.id}`)
    // Size, change, budget, largest layer and first finding, worded as the log, chat and portal word them.
    for (const line of summaryLines(image, build)) lines.push(`  ${line}`)
  }
  if (build.packages) lines.push(`  packages ${packagesText(build.packages)} (GET ${build.links.self}/sbom)`)
  if (image?.pushed) lines.push(...signingLines(build))
  for (const variant of build.variants) {
    const result = variant.status === 'succeeded' ? `${variant.sizeBytes === null ? '' : formatBytes(variant.sizeBytes)} ${variant.digest ?? ''}` : (variant.error?.code ?? '')
    lines.push(`  variant  ${variant.name}: ${variant.status} ${result}`.trimEnd())
  }
  for (const warning of build.warnings) lines.push(`  warning  ${warning}`)
  if (build.error) {
    lines.push(`  error    ${build.error.code}${build.error.phase ? ` in ${build.error.phase}` : ''}: ${build.error.message}`)
  }
  return `${lines.join('\n')}\n`
}

/** "push to main by alice (trigger rule web-main)", "retry of <id> by token ops"; null for a build from before Slipway recorded who started it. */
function startedText (build: Build): string | null {
  const who = build.createdBy ? actorWithEvent(build.createdBy) : null
  if (build.retryOf) return `retry of ${build.retryOf}${who ? ` by ${who}` : ''}`
  return who
}

/**
 * The signature and the attestations, each reference whole on a line of its own (a verifier is
 * given them as they are):
 *   signed   with key sha256:0123456789ab…
 *            localhost:5000/team/app@sha256:…
 *   attested provenance, SPDX, CycloneDX (signed)
 *            provenance localhost:5000/team/app@sha256:…
 * or "signed   no: the server has no signing key"; nothing where the build cannot tell yet.
 */
function signingLines (build: Build): string[] {
  const lines: string[] = []
  const reason = unsignedReason(build)
  if (build.signature) lines.push(`  signed   with key ${shortDigest(build.signature.keyId)}`, `           ${build.signature.reference}`)
  else if (reason) lines.push(`  signed   no: ${reason}`)
  const attestations = build.attestations ?? []
  const attested = attestationsText(attestations)
  if (attested) {
    const names = attestations.map((attestation) => attestationName(attestation.predicateType))
    const width = Math.max(...names.map((name) => name.length))
    lines.push(`  attested ${attested}`, ...attestations.map((attestation, index) => `           ${names[index]!.padEnd(width)} ${attestation.reference}`))
  }
  return lines
}

/**
 * "main (3f2a9c1d4e5f)", "(default branch) (3f2a9c1d4e5f)"; the commit once when the ref is that
 * commit (a retry is pinned to the commit it built): "3f2a9c1d4e5f".
 */
function sourceRef (ref: string | null, commit: string | null): string {
  const short = commit?.slice(0, 12)
  if (ref !== null && commit !== null && /^[0-9a-f]{7,64}$/i.test(ref) && commit.toLowerCase().startsWith(ref.toLowerCase())) return short!
  return `${ref ?? '(default branch)'}${short ? ` (${short})` : ''}`
}

/** "93 (deb 88, npm 5)": the SBOM's count, by ecosystem. */
function packagesText (packages: NonNullable<Build['packages']>): string {
  const counts = Object.entries(packages.byEcosystem).filter(([, count]) => count > 0).map(([ecosystem, count]) => `${ecosystem} ${count}`)
  return `${packages.count}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}`
}

function headline (build: Build, now: number): string {
  const status = statusText(build.status)
  if (build.status === 'queued') return `Build ${build.id} queued ${formatAgo(build.createdAt, now)}`
  if (build.status === 'running') {
    const phase = build.phases.findLast((candidate) => candidate.status === 'running')?.name
    const since = build.startedAt ? ` for ${formatDuration(now - Date.parse(build.startedAt))}` : ''
    return `Build ${build.id} running${phase ? ` (${phase})` : ''}${since}`
  }
  const took = build.durationMs === null ? '' : ` ${build.status === 'succeeded' ? 'in' : 'after'} ${formatDuration(build.durationMs)}`
  return `Build ${build.id} ${status}${took}`
}
