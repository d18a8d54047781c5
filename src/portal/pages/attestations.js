import { attestationName, shortDigest, unsignedReason } from '../../domain/build-summary.js'
import { h } from '../dom.js'

/**
 * @import { Build, Image } from '../../domain/schemas/build.js'
 */

/**
 * Whether the image is signed (with which key, and where the signature is) or why not, and the
 * statements attached beside it in the registry; worded as the CLI and chat messages word them
 * (src/domain/build-summary.js). Null while the build cannot tell: its attest phase has not ended,
 * or it was made before Slipway signed images.
 * @param {Build & { image: Image }} build
 */
export function signingSection (build) {
  const { signature } = build
  const reason = unsignedReason(build)
  const attestations = build.attestations ?? []
  if (!signature && !reason && attestations.length === 0) return null
  return h(
    'div',
    { id: 'signing' },
    signature ? h('p', { id: 'signature' }, 'Signed with key ', h('code', { title: signature.keyId }, shortDigest(signature.keyId)), '; the signature is at ', h('code', { class: 'reference' }, signature.reference)) : null,
    reason ? h('p', { id: 'signature', class: 'empty' }, `Not signed: ${reason}.`) : null,
    attestations.length
      ? [
          h('p', { class: 'help' }, 'Attached beside the image in the registry, where cosign and OCI referrers find them from its digest:'),
          h(
            'table',
            { class: 'attestations' },
            h('thead', {}, h('tr', {}, ['Statement', 'Digest', 'Where it is', 'Signed'].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              attestations.map((attestation) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row', title: attestation.predicateType }, attestationName(attestation.predicateType)),
                  h('td', {}, h('code', { title: attestation.digest }, shortDigest(attestation.digest))),
                  h('td', {}, h('code', { class: 'reference' }, attestation.reference)),
                  h('td', {}, attestation.signed ? 'yes' : 'no')
                )
              )
            )
          )
        ]
      : null
  )
}
