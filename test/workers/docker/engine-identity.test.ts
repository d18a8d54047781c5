import t from 'tap'
import { engineIdentity } from '../../../workers/docker/engine-identity.js'

/** A stand-in for dockerode's info(): each call takes the next answer (an error is thrown, `hang` never settles). */
function fakeDocker (answers: ({ ID?: string; Name?: string } | Error | 'hang')[]) {
  const calls: unknown[] = []
  const docker = {
    info: async (options?: unknown) => {
      calls.push(options)
      const answer = answers.shift()
      if (answer === 'hang') return new Promise<never>(() => undefined)
      if (answer instanceof Error || answer === undefined) throw answer ?? new Error('no more answers')
      return answer
    }
  }
  return { docker: docker as never, calls }
}

t.test('the engine is asked once per process, and concurrent callers share the one question', async (t) => {
  const { docker, calls } = fakeDocker([{ ID: 'ENGINE:ID', Name: 'build-host-1', Containers: 3 } as { ID: string; Name: string }])
  const lookup = engineIdentity(docker)
  const [first, second] = await Promise.all([lookup(), lookup()])
  t.same(first, { id: 'ENGINE:ID', name: 'build-host-1' }, 'its ID and Name, nothing else')
  t.equal(second, first)
  t.same(await lookup(), first, 'and the same answer later')
  t.equal(calls.length, 1, 'one call to docker info')
  t.type((calls[0] as { abortSignal?: unknown }).abortSignal, AbortSignal, 'which its time limit can abort')
})

t.test('an engine that cannot be asked gives null, and is asked again next time', async (t) => {
  const { docker, calls } = fakeDocker([Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }), { ID: 'ENGINE:ID', Name: 'build-host-1' }])
  const lookup = engineIdentity(docker)
  t.equal(await lookup(), null, 'down: null, not an error')
  t.same(await lookup(), { id: 'ENGINE:ID', name: 'build-host-1' }, 'back: its identity')
  t.same(await lookup(), { id: 'ENGINE:ID', name: 'build-host-1' })
  t.equal(calls.length, 2, 'a failure is not remembered, a success is')
})

t.test('an engine that does not answer within the time limit gives null', async (t) => {
  const { docker } = fakeDocker(['hang', { ID: 'ENGINE:ID', Name: 'build-host-1' }])
  const lookup = engineIdentity(docker, { timeoutMs: 50 })
  const started = Date.now()
  t.equal(await lookup(), null)
  t.ok(Date.now() - started < 1000, 'within about the limit')
  t.same(await lookup(), { id: 'ENGINE:ID', name: 'build-host-1' }, 'and it is asked again')
})

t.test('an answer without ID or Name says unknown for what it lacks', async (t) => {
  const { docker } = fakeDocker([{}])
  t.same(await engineIdentity(docker)(), { id: 'unknown', name: 'unknown' })
})
