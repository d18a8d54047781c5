import t from 'tap'
import { blobOf, cosignImage, cosignTag, referrerArtifact, referrersIndex, referrersTag } from '../../../src/domain/supply-chain/oci-artifacts.js'

const DIGEST = `sha256:${'ab'.repeat(32)}`

t.test("cosign's tags and the referrers tag are the digest with '-' for ':'", async (t) => {
  t.equal(cosignTag(DIGEST, 'sig'), `sha256-${'ab'.repeat(32)}.sig`)
  t.equal(cosignTag(DIGEST, 'att'), `sha256-${'ab'.repeat(32)}.att`)
  t.equal(referrersTag(DIGEST), `sha256-${'ab'.repeat(32)}`)
})

t.test("a cosign image names each layer in its config's rootfs, and its blobs are the config alone", async (t) => {
  const layer = blobOf(Buffer.from('{"x":1}'), 'application/vnd.dsse.envelope.v1+json', { predicateType: 'p' })
  const { manifest, blobs } = cosignImage([layer.descriptor])
  const body = JSON.parse(manifest.bytes.toString())
  t.equal(body.mediaType, 'application/vnd.oci.image.manifest.v1+json')
  t.same(body.layers, [layer.descriptor])
  t.equal(blobs.length, 1)
  t.same(JSON.parse(blobs[0]!.bytes.toString()).rootfs.diff_ids, [layer.descriptor.digest])
  t.equal(body.config.digest, blobs[0]!.descriptor.digest)
})

t.test('a referrer names its subject by descriptor alone, and the referrers index holds each once', async (t) => {
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 10, annotations: { dropped: 'yes' } }
  const layer = blobOf(Buffer.from('{}x'), 'application/vnd.dsse.envelope.v1+json')
  const artifact = referrerArtifact(subject, 'application/vnd.in-toto+json', [layer], { 'in-toto.io/predicate-type': 'p' })
  const body = JSON.parse(artifact.manifest.bytes.toString())
  t.same(body.subject, { mediaType: subject.mediaType, digest: DIGEST, size: 10 })
  t.equal(body.artifactType, 'application/vnd.in-toto+json')
  t.same(body.config, { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 }, "the OCI spec's empty descriptor")
  const first = { ...artifact.manifest.descriptor, artifactType: 'a' }
  const other = { mediaType: 'm', digest: `sha256:${'cd'.repeat(32)}`, size: 1 }
  const once = JSON.parse(referrersIndex(null, [first]).bytes.toString())
  t.same(once.manifests, [first])
  const twice = JSON.parse(referrersIndex(once, [other, { ...first, annotations: { n: '2' } }]).bytes.toString())
  t.same(twice.manifests, [other, { ...first, annotations: { n: '2' } }], 'a descriptor of the same digest is replaced, not repeated')
})
