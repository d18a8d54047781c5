import t from 'tap'
import { createBuildDocuments } from '../../src/services/build-documents.js'
import { sampleBuild } from '../helpers/fixtures.js'

const pushed = sampleBuild('01JPUSHED000000000000000', {
  status: 'succeeded',
  image: { id: 'sha256:1', repository: 'registry.example.com/app', tags: [], pushed: true, digest: `sha256:${'a'.repeat(64)}`, sizeBytes: 1, layers: [], baseBytes: 0, addedBytes: 1, sizeDelta: null, findings: [], budget: null }
})
pushed.request = { ...pushed.request, push: true, provenance: true }
const installation = { publicUrl: 'https://slipway.example.com', version: '1.0.0' }

t.test('an operator who turned provenance off gets none, whatever the build asked', async (t) => {
  const on = createBuildDocuments({ getBuild: async () => pushed, installation, packages: { get: async () => null }, settings: { provenance: 'on', sbom: 'on' } })
  t.match(await on.provenance(pushed.id), { subject: [{ digest: { sha256: 'a'.repeat(64) } }] })
  const off = createBuildDocuments({ getBuild: async () => pushed, installation, packages: { get: async () => null }, settings: { provenance: 'off', sbom: 'on' } })
  await t.rejects(off.provenance(pushed.id), { code: 'PROVENANCE_NOT_AVAILABLE', statusCode: 409, message: /SLIPWAY_PROVENANCE=off/ })
})
