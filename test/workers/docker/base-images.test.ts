import t from 'tap'
import { parseDockerfile } from '../../../src/domain/insight/dockerfile-stages.js'
import type { BaseImage } from '../../../src/domain/schemas/build.js'
import { orderedBases } from '../../../workers/docker/base-images.js'

// The build keeps its base images with the image's own first: the portal, the CLI, the log and
// chat messages name the image's base layers by it ("debian:bookworm-slim (base image)"). The
// engine answers for the stages in any order; the record must not.

const base = (name: string, imageId = `sha256:${name}`): BaseImage => ({ name, digest: null, imageId })

const dockerfile = parseDockerfile(['FROM golang:1.22 AS build', 'RUN go build', 'FROM debian:bookworm-slim AS runtime', 'COPY --from=build /app /app', 'FROM runtime', 'CMD ["/app"]', 'FROM busybox AS tools', 'RUN true'].join('\n'))

t.test("the image's own base first, whatever order the engine answered in, then the others in Dockerfile order", async (t) => {
  // Answered last-first, as Promise.all may fill the map.
  const byStage = new Map([['tools', base('busybox')], ['runtime', base('debian:bookworm-slim')], ['build', base('golang:1.22')]])
  t.same(orderedBases(byStage, dockerfile, null).map((b) => b.name), ['busybox', 'golang:1.22', 'debian:bookworm-slim'], 'the last stage is built: busybox')
  t.same(orderedBases(byStage, dockerfile, 'stage-2').map((b) => b.name), ['golang:1.22', 'debian:bookworm-slim', 'busybox'], 'a target that names no stage: Dockerfile order')
  t.same(orderedBases(byStage, dockerfile, 'runtime').map((b) => b.name), ['debian:bookworm-slim', 'golang:1.22', 'busybox'])
})

t.test('a stage built on another stage has the base its chain starts from; each image once', async (t) => {
  const parsed = parseDockerfile(['FROM debian:bookworm-slim AS runtime', 'RUN true', 'FROM golang:1.22 AS build', 'FROM debian:bookworm-slim', 'FROM runtime'].join('\n'))
  const byStage = new Map([['build', base('golang:1.22')], ['stage-2', base('debian:bookworm-slim')], ['runtime', base('debian:bookworm-slim')]])
  t.same(orderedBases(byStage, parsed, null).map((b) => b.name), ['debian:bookworm-slim', 'golang:1.22'])
})
