import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Step } from '../../src/domain/schemas/build.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipway } from '../helpers/slipway.js'

// The same Dockerfile's timeline under each builder; no .dockerignore, so `COPY . /src` is cached
// only because the context is the tree at the commit (no .git) and the tree did not change.
const DOCKERFILE = 'FROM busybox AS compile\nCOPY . /src\nRUN echo compiled > /out\nFROM busybox\nCOPY --from=compile /out /out\n'

const find = (steps: Step[], instruction: string) => steps.find((step) => step.instruction === instruction)

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: steps with their stage and timing; a second build of the unchanged repository is cached`, async (t) => {
    const slipway = await startSlipway(t)
    // A nonce keeps an earlier run's layer cache from answering this run's first build.
    const nonce = randomUUID()
    const repo = await createRepo(t, { Dockerfile: DOCKERFILE, 'main.c': `int main(void) { return 0; } // ${nonce}\n` })

    const first = await slipway.build({ repo: repo.url, builder })
    t.equal(first.status, 'succeeded', JSON.stringify(first.error))
    const run = find(first.steps, 'RUN echo compiled > /out')
    t.match(run, { stage: 'compile', status: 'succeeded', cached: false }, 'a step names its stage')
    t.match(run?.startedAt, /^\d{4}-\d\d-\d\dT/)
    t.ok(typeof run?.durationMs === 'number' && run.durationMs >= 0, 'and how long it took')
    t.match(find(first.steps, 'COPY --from=compile /out /out'), { stage: 'stage-1' }, 'an unnamed stage is stage-<index>')
    t.ok(first.steps.every((step) => step.status === 'succeeded'))

    const second = await slipway.build({ repo: repo.url, builder })
    t.equal(second.status, 'succeeded', JSON.stringify(second.error))
    for (const instruction of ['COPY . /src', 'RUN echo compiled > /out', 'COPY --from=compile /out /out']) {
      t.match(find(second.steps, instruction), { cached: true }, `${instruction}: cached the second time`)
    }
    t.equal(second.image?.id, first.image?.id, 'the same image')

    await repo.commit({ 'main.c': `int main(void) { return 1; } // ${nonce}\n` })
    const changed = await slipway.build({ repo: repo.url, builder })
    t.match(find(changed.steps, 'COPY . /src'), { cached: false }, 'a changed file reruns from the COPY that takes it')
  })
}
