import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import tar from 'tar-stream'
import { parseDockerfile } from '../../../src/domain/insight/dockerfile-stages.js'
import { expectedHistory, historyKeyword, mapLayers, type LayerMapInput } from '../../../src/domain/insight/layer-map.js'
import { inspectImage, instructionOf } from '../../../workers/phases/inspect.js'
import { docker } from '../../helpers/docker.js'

// ---------------------------------------------------------------------------------------------
// Histories recorded from Docker 20.10 (classic builder and BuildKit through the Engine API, with
// labels org.a=1 and org.b=two), as [CreatedBy, Size], oldest first.

const BUSYBOX: [string, number][] = [
  ['/bin/sh -c #(nop) COPY file:73e2b2d48642b21b357384b0cb81c1869cc5e0c48a00f61553756196058304b9 in /bin/busybox ', 1982256],
  ['/bin/busybox --install -s /bin', 3216]
]
const BUSYBOX_BYTES = 1982256 + 3216

// Every instruction kind, a FROM <stage> chain, a stage that is only copied from, a global ARG.
const EVERYTHING = [
  'ARG BASE=busybox:latest', // 1
  'FROM ${BASE} AS builder', // 2
  'ARG GREETING=hello', // 3
  'ARG EMPTY', // 4
  'ENV A=1 B=2', // 5
  'WORKDIR /src', // 6
  'RUN echo $GREETING > /src/file \\', // 7
  ' && dd if=/dev/zero of=/src/big bs=1024 count=100', // 8
  'LABEL stage=builder', // 9
  'FROM builder AS mid', // 10
  'COPY x.txt /x.txt', // 11
  'FROM busybox:latest AS other', // 12
  'RUN echo other > /o', // 13
  'FROM mid', // 14
  'copy --from=other /o /o', // 15
  'RUN ["sh", "-c", "echo exec > /e"]', // 16
  'EXPOSE 80', // 17
  'USER nobody', // 18
  'SHELL ["/bin/sh", "-c"]', // 19
  'STOPSIGNAL SIGTERM', // 20
  'VOLUME /data', // 21
  'HEALTHCHECK CMD true', // 22
  'ENTRYPOINT ["sh"]', // 23
  'ONBUILD RUN echo hi', // 24
  'MAINTAINER me', // 25
  'ADD x.txt /y.txt', // 26
  'CMD ["sh"]', // 27
  ''
].join('\n')

const EVERYTHING_CLASSIC: [string, number][] = [
  ...BUSYBOX,
  ['/bin/sh -c #(nop)  ARG GREETING=hello', 0],
  ['/bin/sh -c #(nop)  ARG EMPTY', 0],
  ['/bin/sh -c #(nop)  ENV A=1 B=2', 0],
  ['/bin/sh -c #(nop) WORKDIR /src', 0],
  ['|1 GREETING=hey /bin/sh -c echo $GREETING > /src/file  && dd if=/dev/zero of=/src/big bs=1024 count=100', 102404],
  ['/bin/sh -c #(nop)  LABEL stage=builder', 0],
  ['/bin/sh -c #(nop) COPY file:6a0c339f4a656104f9f26fe43d3f324f60ad38a08c41717b6b766acd0ca306d5 in /x.txt ', 800],
  ['/bin/sh -c #(nop) COPY file:2961cacdfd918b44d080033125e20098263bc7429dae8664b59dbed07e80d39a in /o ', 6],
  ['sh -c echo exec > /e', 5],
  ['/bin/sh -c #(nop)  EXPOSE 80', 0],
  ['/bin/sh -c #(nop)  USER nobody', 0],
  ['/bin/sh -c #(nop)  SHELL [/bin/sh -c]', 0],
  ['/bin/sh -c #(nop)  STOPSIGNAL SIGTERM', 0],
  ['/bin/sh -c #(nop)  VOLUME [/data]', 0],
  ['/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "0s" "0s" "0s" \'\\x00\'}', 0],
  ['/bin/sh -c #(nop)  ENTRYPOINT ["sh"]', 0],
  ['/bin/sh -c #(nop)  ONBUILD RUN echo hi', 0],
  ['/bin/sh -c #(nop)  MAINTAINER me', 0],
  ['/bin/sh -c #(nop) ADD file:6a0c339f4a656104f9f26fe43d3f324f60ad38a08c41717b6b766acd0ca306d5 in /y.txt ', 800],
  ['/bin/sh -c #(nop)  CMD ["sh"]', 0],
  ['/bin/sh -c #(nop)  LABEL org.a=1', 0],
  ['/bin/sh -c #(nop)  LABEL org.b=two', 0]
]

const BK = (createdBy: string, size = 0): [string, number] => [createdBy, size]
const EVERYTHING_BUILDKIT: [string, number][] = [
  ...BUSYBOX,
  BK('ARG GREETING=hello'),
  BK('ARG EMPTY'),
  BK('ENV A=1 B=2'),
  BK('WORKDIR /src'),
  BK('RUN |2 GREETING=hey EMPTY= /bin/sh -c echo $GREETING > /src/file  && dd if=/dev/zero of=/src/big bs=1024 count=100 # buildkit', 102404),
  BK('LABEL stage=builder'),
  BK('COPY x.txt /x.txt # buildkit', 800),
  BK('COPY /o /o # buildkit', 6),
  BK('RUN sh -c echo exec > /e # buildkit', 5),
  BK('EXPOSE map[80/tcp:{}]'),
  BK('USER nobody'),
  BK('SHELL [/bin/sh -c]'),
  BK('STOPSIGNAL SIGTERM'),
  BK('VOLUME [/data]'),
  BK('HEALTHCHECK &{["CMD-SHELL" "true"] "0s" "0s" "0s" \'\\x00\'}'),
  BK('ENTRYPOINT ["sh"]'),
  BK('MAINTAINER me'),
  BK('ADD x.txt /y.txt # buildkit', 800),
  BK('CMD ["sh"]')
]

// ONBUILD triggers of a parent stage run first in the stage built FROM it (target: final).
const TRIGGERS = [
  'FROM busybox:latest AS base', // 1
  'ONBUILD RUN echo trig > /t', // 2
  'ONBUILD ENV T=1', // 3
  'RUN echo base > /b', // 4
  'FROM base AS mid', // 5
  'RUN echo mid > /m', // 6
  'FROM mid AS final', // 7
  'RUN echo final > /f', // 8
  'FROM busybox AS unused', // 9
  'RUN echo unused', // 10
  ''
].join('\n')

const TRIGGERS_CLASSIC: [string, number][] = [
  ...BUSYBOX,
  ['/bin/sh -c #(nop)  ONBUILD RUN echo trig > /t', 0],
  ['/bin/sh -c #(nop)  ONBUILD ENV T=1', 0],
  ['/bin/sh -c echo base > /b', 5],
  ['/bin/sh -c echo trig > /t', 5],
  ['/bin/sh -c #(nop)  ENV T=1', 0],
  ['/bin/sh -c echo mid > /m', 4],
  ['/bin/sh -c echo final > /f', 6],
  ['/bin/sh -c #(nop)  LABEL org.a=1', 0],
  ['/bin/sh -c #(nop)  LABEL org.b=two', 0]
]
const TRIGGERS_BUILDKIT: [string, number][] = [
  ...BUSYBOX,
  BK('RUN /bin/sh -c echo base > /b # buildkit', 5),
  BK('RUN /bin/sh -c echo trig > /t # buildkit', 5),
  BK('ENV T=1'),
  BK('RUN /bin/sh -c echo mid > /m # buildkit', 4),
  BK('RUN /bin/sh -c echo final > /f # buildkit', 6)
]

// FROM scratch as the target, copying from a stage picked by index and by name.
const SCRATCH = [
  'ARG BASE=busybox', // 1
  'FROM ${BASE}:latest AS builder', // 2
  'RUN echo 1 > /v', // 3
  'FROM scratch AS final', // 4
  'COPY --from=0 /v /v', // 5
  'COPY --from=builder /bin/busybox /bin/busybox', // 6
  'FROM builder AS tail', // 7
  'RUN echo tail', // 8
  ''
].join('\n')
const SCRATCH_BUILDKIT: [string, number][] = [BK('COPY /v /v # buildkit', 2), BK('COPY /bin/busybox /bin/busybox # buildkit', 1982256)]

function layersOf (history: [string, number][]): LayerMapInput['layers'] {
  return history.map(([CreatedBy, sizeBytes], index) => ({
    instruction: instructionOf({ CreatedBy, Comment: '' }),
    sizeBytes,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString()
  }))
}

function input (
  dockerfile: string,
  history: [string, number][],
  builder: 'classic' | 'buildkit',
  { buildArgs = {}, ...overrides }: Partial<Omit<LayerMapInput, 'dockerfile'>> & { buildArgs?: Record<string, string> } = {}
): LayerMapInput {
  return { dockerfile: parseDockerfile(dockerfile, buildArgs), target: null, layers: layersOf(history), builder, extraLabelCount: 2, ...overrides }
}

/** [line, stage] of each layer, base layers as 'base'. */
function placement (layers: ReturnType<typeof mapLayers>['layers']): (string | [number | null, string | null])[] {
  return layers.map((layer) => (layer.fromBase ? 'base' : [layer.line, layer.stage]))
}

t.test('every instruction kind, FROM <stage> chain: classic builder with API labels', async (t) => {
  const mapped = mapLayers(input(EVERYTHING, EVERYTHING_CLASSIC, 'classic', { buildArgs: { GREETING: 'hey' } }))
  t.same(placement(mapped.layers), [
    'base',
    'base',
    [3, 'builder'],
    [4, 'builder'],
    [5, 'builder'],
    [6, 'builder'],
    [7, 'builder'],
    [9, 'builder'],
    [11, 'mid'],
    [15, 'stage-3'],
    [16, 'stage-3'],
    [17, 'stage-3'],
    [18, 'stage-3'],
    [19, 'stage-3'],
    [20, 'stage-3'],
    [21, 'stage-3'],
    [22, 'stage-3'],
    [23, 'stage-3'],
    [24, 'stage-3'],
    [25, 'stage-3'],
    [26, 'stage-3'],
    [27, 'stage-3'],
    [null, 'stage-3'],
    [null, 'stage-3']
  ])
  t.equal(mapped.baseBytes, BUSYBOX_BYTES)
  t.equal(mapped.addedBytes, 102404 + 800 + 6 + 5 + 800)
  t.match(mapped.layers[6], { instruction: /^RUN echo \$GREETING/, sizeBytes: 102404, createdAt: '2026-01-01T00:00:06.000Z', fromBase: false })
})

t.test('every instruction kind: BuildKit records no ONBUILD and no entry for API labels', async (t) => {
  const mapped = mapLayers(input(EVERYTHING, EVERYTHING_BUILDKIT, 'buildkit'))
  const lines = mapped.layers.map((layer) => layer.line)
  t.same(lines, [null, null, 3, 4, 5, 6, 7, 9, 11, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25, 26, 27])
  t.same(
    mapped.layers.map((layer) => layer.fromBase),
    [true, true, ...Array<boolean>(19).fill(false)]
  )
  t.equal(mapped.baseBytes, BUSYBOX_BYTES)
  t.equal(mapped.addedBytes, 102404 + 800 + 6 + 5 + 800)
})

t.test('ONBUILD triggers of the parent stage come first, one entry each, on the ONBUILD lines', async (t) => {
  const classic = mapLayers(input(TRIGGERS, TRIGGERS_CLASSIC, 'classic', { target: 'final' }))
  t.same(placement(classic.layers), ['base', 'base', [2, 'base'], [3, 'base'], [4, 'base'], [2, 'base'], [3, 'base'], [6, 'mid'], [8, 'final'], [null, 'final'], [null, 'final']])
  const buildkit = mapLayers(input(TRIGGERS, TRIGGERS_BUILDKIT, 'buildkit', { target: 'final' }))
  t.same(placement(buildkit.layers), ['base', 'base', [4, 'base'], [2, 'base'], [3, 'base'], [6, 'mid'], [8, 'final']])
  t.equal(buildkit.addedBytes, 20)
  // Without the target the last stage (unused) is the one expected: it does not line up.
  t.equal(mapLayers(input(TRIGGERS, TRIGGERS_BUILDKIT, 'buildkit')).layers.some((layer) => layer.line !== null), false)
})

t.test('FROM scratch: nothing from a base image; ARG in FROM; COPY --from by index', async (t) => {
  const mapped = mapLayers(input(SCRATCH, SCRATCH_BUILDKIT, 'buildkit', { target: 'final' }))
  t.same(placement(mapped.layers), [
    [5, 'final'],
    [6, 'final']
  ])
  t.equal(mapped.baseBytes, 0)
  t.equal(mapped.addedBytes, 1982258)
  const tail = mapLayers(input(SCRATCH, [...BUSYBOX, BK('RUN |1 V=1 /bin/sh -c echo 1 > /v # buildkit', 2), BK('RUN /bin/sh -c echo tail # buildkit')], 'buildkit'))
  t.same(placement(tail.layers), ['base', 'base', [3, 'builder'], [8, 'tail']])
})

t.test('a Dockerfile with nothing after FROM: the whole history is the base', async (t) => {
  const mapped = mapLayers(input('FROM busybox\n', BUSYBOX, 'buildkit'))
  t.same(placement(mapped.layers), ['base', 'base'])
  t.same(mapped.layers[0], { instruction: 'COPY file:73e2b2d48642b21b357384b0cb81c1869cc5e0c48a00f61553756196058304b9 in /bin/busybox', sizeBytes: 1982256, createdAt: '2026-01-01T00:00:00.000Z', line: null, stage: null, fromBase: true })
  t.equal(mapped.baseBytes, BUSYBOX_BYTES)
  t.equal(mapped.addedBytes, 0)
  const labelled = mapLayers(input('FROM busybox\n', [...BUSYBOX, ['/bin/sh -c #(nop)  LABEL org.a=1', 0]], 'classic', { extraLabelCount: 1 }))
  t.same(placement(labelled.layers), ['base', 'base', [null, 'stage-0']])
})

t.test('when the history does not line up, nothing is guessed', async (t) => {
  const unmapped = (mapped: ReturnType<typeof mapLayers>, total: number, name: string) => {
    t.ok(
      mapped.layers.every((layer) => layer.line === null && layer.stage === null && !layer.fromBase),
      `${name}: no line, no stage, nothing from the base`
    )
    t.equal(mapped.baseBytes, 0, `${name}: no base bytes`)
    t.equal(mapped.addedBytes, total, `${name}: every byte added`)
  }
  const classicTotal = BUSYBOX_BYTES + 102404 + 800 + 6 + 5 + 800
  unmapped(mapLayers(input(EVERYTHING, EVERYTHING_CLASSIC, 'classic', { extraLabelCount: 1 })), classicTotal, 'one label fewer than the history has')
  unmapped(mapLayers(input(EVERYTHING, EVERYTHING_CLASSIC, 'classic', { extraLabelCount: 3 })), classicTotal, 'one label more')
  unmapped(mapLayers(input(EVERYTHING, EVERYTHING_CLASSIC, 'buildkit')), classicTotal, 'the wrong builder')
  unmapped(mapLayers(input(EVERYTHING, EVERYTHING_BUILDKIT, 'classic', { extraLabelCount: 0 })), classicTotal, 'BuildKit history read as classic')
  unmapped(mapLayers(input(TRIGGERS, TRIGGERS_BUILDKIT, 'buildkit', { target: 'nope' })), BUSYBOX_BYTES + 20, 'a target no stage has')
  unmapped(mapLayers(input('ARG BASE\nFROM $BASE\nRUN true\n', [...BUSYBOX, BK('RUN /bin/sh -c true # buildkit')], 'buildkit')), BUSYBOX_BYTES, 'a FROM variable without a value')
  unmapped(mapLayers(input('FROM busybox\nRUN a\nRUN b\nRUN c\n', [BK('RUN /bin/sh -c b # buildkit'), BK('RUN /bin/sh -c c # buildkit')], 'buildkit')), 0, 'fewer entries than instructions')
  unmapped(mapLayers(input('no FROM here\n', BUSYBOX, 'buildkit')), BUSYBOX_BYTES, 'no stage at all')
  unmapped(
    mapLayers(input('FROM busybox\nENV A=1\nRUN true\n', [...BUSYBOX, BK('RUN /bin/sh -c true # buildkit'), BK('ENV A=1')], 'buildkit')),
    BUSYBOX_BYTES,
    'instructions in another order'
  )
  unmapped(mapLayers(input('FROM busybox\nRUN true\n', [['', 5], ['', 7]], 'classic', { extraLabelCount: 0 })), 12, 'a RUN is never a base-image entry without an instruction')
  unmapped(
    mapLayers(input('FROM busybox\nRUN echo two\n', [...BUSYBOX, BK('RUN /bin/sh -c echo one # buildkit', 4)], 'buildkit')),
    BUSYBOX_BYTES + 4,
    'the same keywords but another command'
  )
})

t.test('RUN commands match as the builders record them', async (t) => {
  const dockerfile = [
    'FROM busybox', // 1
    'SHELL ["/bin/ash", "-eo", "pipefail", "-c"]', // 2
    'RUN echo a \\', // 3
    '  # a comment line inside',
    '  && echo b', // 5
    'RUN ["echo", "exec form"]', // 6
    'ONBUILD RUN echo later', // 7
    ''
  ].join('\n')
  const classic = mapLayers(
    input(
      dockerfile,
      [
        ...BUSYBOX,
        ['/bin/ash -eo pipefail -c #(nop)  SHELL [/bin/ash -eo pipefail -c]', 0],
        ['/bin/ash -eo pipefail -c echo a   && echo b', 0],
        ['echo exec form', 0],
        ['/bin/ash -eo pipefail -c #(nop)  ONBUILD RUN echo later', 0],
        ['/bin/ash -eo pipefail -c #(nop)  LABEL org.a=1', 0],
        ['/bin/ash -eo pipefail -c #(nop)  LABEL org.b=two', 0]
      ],
      'classic'
    )
  )
  t.same(
    classic.layers.map((layer) => layer.line),
    [null, null, 2, 3, 6, 7, null, null]
  )
  t.same(
    classic.layers.map((layer) => layer.fromBase),
    [true, true, false, false, false, false, false, false]
  )
  const buildkit = mapLayers(
    input(dockerfile, [...BUSYBOX, BK('SHELL [/bin/ash -eo pipefail -c]'), BK('RUN /bin/ash -eo pipefail -c echo a   && echo b # buildkit'), BK('RUN echo exec form # buildkit')], 'buildkit')
  )
  t.same(
    buildkit.layers.map((layer) => layer.line),
    [null, null, 2, 3, 6]
  )
})

t.test('historyKeyword reads what instructionOf renders', async (t) => {
  const cases: [string, string | null][] = [
    ['RUN apt-get update', 'RUN'],
    ['sh -c echo exec > /e', 'RUN'],
    ['COPY file:abc in /x', 'COPY'],
    ['EXPOSE map[80/tcp:{}]', 'EXPOSE'],
    ['HEALTHCHECK &{["CMD-SHELL" "true"] "0s" "0s" "0s" \'\\x00\'}', 'HEALTHCHECK'],
    ['ONBUILD RUN echo hi', 'ONBUILD'],
    ['/bin/ash -eo pipefail -c #(nop)  ENV A=1', 'ENV'],
    ['/bin/ash -eo pipefail -c echo "#(nop) ENV"', 'RUN'],
    ['env', 'RUN'],
    ['(base image layer)', null],
    ['Imported from -', null],
    ['', null]
  ]
  for (const [instruction, keyword] of cases) t.equal(historyKeyword(instruction), keyword, instruction || '(empty)')
})

t.test('expectedHistory: classic labels only with the classic builder', async (t) => {
  const dockerfile = 'FROM busybox AS app\nRUN true\n'
  t.same(expectedHistory({ dockerfile: parseDockerfile(dockerfile), target: null, builder: 'classic', extraLabelCount: 2 }), [
    { keyword: 'RUN', line: 2, stage: 'app', command: 'true' },
    { keyword: 'LABEL', line: null, stage: 'app', command: null },
    { keyword: 'LABEL', line: null, stage: 'app', command: null }
  ])
  t.same(expectedHistory({ dockerfile: parseDockerfile(dockerfile), target: null, builder: 'buildkit', extraLabelCount: 2 }), [{ keyword: 'RUN', line: 2, stage: 'app', command: 'true' }])
})

// ---------------------------------------------------------------------------------------------
// The real thing: both builders through the Engine API, read back with inspectImage.

const REAL_DOCKERFILE = [
  'ARG BASE=busybox:latest', // 1
  'FROM ${BASE} AS builder', // 2
  'ARG GREETING=hello', // 3
  'ENV APP_HOME=/app \\', // 4
  '    MODE=test', // 5
  'WORKDIR /app', // 6
  'RUN echo "$GREETING" > greeting.txt \\', // 7
  '  && head -c 300000 /dev/urandom > payload.bin', // 8
  'LABEL stage=builder', // 9
  'FROM busybox:latest AS assets', // 10
  'RUN head -c 200000 /dev/urandom > /asset.bin', // 11
  'FROM builder AS final', // 12
  'COPY --from=assets /asset.bin /app/asset.bin', // 13
  'COPY hello.txt /app/', // 14
  'CMD ["cat", "/app/greeting.txt"]', // 15
  'FROM busybox AS never', // 16
  'RUN false', // 17
  ''
].join('\n')

async function contextTar (files: Record<string, string>): Promise<Readable> {
  const pack = tar.pack()
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, content)
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return Readable.from([Buffer.concat(chunks)])
}

for (const builder of ['classic', 'buildkit'] as const) {
  t.test(`${builder}: a real build's history maps onto the Dockerfile`, async (t) => {
    const tag = `slipway-test/layer-map-${builder}:${randomUUID().slice(0, 8)}`
    t.teardown(() => docker.getImage(tag).remove({ force: true }).catch(() => undefined))
    const labels = { 'org.example.one': '1', 'org.example.two': '2' }
    const stream = await docker.buildImage(await contextTar({ Dockerfile: REAL_DOCKERFILE, 'hello.txt': `hello ${randomUUID()}\n` }), {
      t: tag,
      target: 'final',
      buildargs: { GREETING: 'hi' },
      labels,
      version: builder === 'buildkit' ? '2' : '1',
      rm: true,
      forcerm: true
    })
    const messages = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => (error ? reject(error) : resolve(output)))
    )
    t.same(
      messages.filter((m) => m.error),
      [],
      'the build succeeded'
    )

    const { layers } = await inspectImage(docker, tag)
    const busybox = (await docker.getImage('busybox:latest').history()) as { Size: number }[]
    const mapped = mapLayers({ dockerfile: parseDockerfile(REAL_DOCKERFILE, { GREETING: 'hi' }), target: 'final', layers, builder, extraLabelCount: Object.keys(labels).length })

    const dockerfileLines = [3, 4, 6, 7, 9, 13, 14, 15]
    const labelLines = builder === 'classic' ? [null, null] : []
    t.same(
      mapped.layers.map((layer) => layer.line),
      [...busybox.map(() => null), ...dockerfileLines, ...labelLines],
      'each instruction of the final chain at its line, API labels last (classic only)'
    )
    t.same(
      mapped.layers.map((layer) => layer.stage),
      [...busybox.map(() => null), 'builder', 'builder', 'builder', 'builder', 'builder', 'final', 'final', 'final', ...labelLines.map(() => 'final')]
    )
    t.same(
      mapped.layers.map((layer) => layer.fromBase),
      [...busybox.map(() => true), ...dockerfileLines.map(() => false), ...labelLines.map(() => false)]
    )
    const base = busybox.reduce((sum, entry) => sum + entry.Size, 0)
    t.equal(mapped.baseBytes, base, `base bytes are busybox's own history sizes (${base})`)
    t.equal(mapped.baseBytes + mapped.addedBytes, layers.reduce((sum, layer) => sum + layer.sizeBytes, 0), 'base and added make the total')
    const at = (line: number) => mapped.layers.find((layer) => layer.line === line)!
    t.ok(Math.abs(at(7).sizeBytes - 300_000) < 5_000, `the RUN over lines 7-8 holds its 300 kB (${at(7).sizeBytes})`)
    t.ok(Math.abs(at(13).sizeBytes - 200_000) < 5_000, `the COPY --from holds the asset (${at(13).sizeBytes})`)
    t.ok(Math.abs(mapped.addedBytes - 500_000) < 10_000, `added bytes (${mapped.addedBytes})`)
    t.match(at(7).instruction, /^RUN echo "\$GREETING"/)
    t.match(at(15).instruction, /^CMD /)
  })
}
