import t from 'tap'
import { byteSize, keyValues, parseCommand, seconds } from '../../src/cli/args.js'
import { UsageError } from '../../src/cli/exit-codes.js'
import { submitSpec } from '../../src/cli/commands/submit.js'
import { statusSpec } from '../../src/cli/commands/status.js'

t.test('flags are parsed from the command spec; repeatable ones keep every value', async (t) => {
  const parsed = parseCommand(submitSpec, ['--repo', 'https://h/a.git', '--tag', 'a', '--tag=b', '-f', '--no-push', '--build-arg', 'A=1=2'])
  t.equal(parsed.string('repo'), 'https://h/a.git')
  t.same(parsed.strings('tag'), ['a', 'b'])
  t.ok(parsed.has('follow'))
  t.ok(parsed.has('no-push'))
  t.notOk(parsed.has('push'))
  t.same(keyValues('build-arg', parsed.strings('build-arg')), { A: '1=2' }, 'a value may hold "="')
})

t.test('mistakes are usage errors that name the command', async (t) => {
  t.throws(() => parseCommand(submitSpec, ['--nope']), new UsageError("Unknown option '--nope' for slipway submit. See `slipway submit --help`."))
  t.throws(() => parseCommand(submitSpec, ['--repo']), UsageError)
  t.throws(() => parseCommand(statusSpec, []), new UsageError('status takes ID. See `slipway status --help`.'))
  t.throws(() => parseCommand(statusSpec, ['a', 'b']), /not 'a b'/)
  t.same(parseCommand(statusSpec, ['--help']).args, [], '--help needs no arguments')
  t.throws(() => keyValues('label', ['novalue']), /--label takes KEY=VALUE, not 'novalue'/)
  t.throws(() => keyValues('label', ['=x']), UsageError)
})

t.test('sizes and durations as people write them', async (t) => {
  t.equal(byteSize('s', '500MB'), 500_000_000)
  t.equal(byteSize('s', '1.5G'), 1_500_000_000)
  t.equal(byteSize('s', '200kb'), 200_000)
  t.equal(byteSize('s', '1234'), 1234)
  t.equal(byteSize('s', undefined), undefined)
  t.throws(() => byteSize('max-image-size', '5 parsecs'), /--max-image-size takes a size/)
  t.equal(seconds('t', '900'), 900)
  t.equal(seconds('t', '90s'), 90)
  t.equal(seconds('t', '15m'), 900)
  t.equal(seconds('t', '2h'), 7200)
  t.throws(() => seconds('timeout', '1.5h'), /--timeout takes a duration/)
})

t.test('a usage error names the program once: "slipway: submit needs …", never "slipway: slipway submit"', async (t) => {
  const { main } = await import('../../src/cli/main.js')
  const { EXIT } = await import('../../src/cli/exit-codes.js')
  const saved = { write: process.stderr.write.bind(process.stderr), url: process.env.SLIPWAY_URL, token: process.env.SLIPWAY_TOKEN }
  process.env.SLIPWAY_URL = 'http://127.0.0.1:9'
  process.env.SLIPWAY_TOKEN = 'unused'
  t.teardown(() => {
    Object.assign(process.stderr, { write: saved.write })
    for (const [name, value] of [['SLIPWAY_URL', saved.url], ['SLIPWAY_TOKEN', saved.token]] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  const deps = { openOperatorTokens: () => { throw new Error('not used') } }
  for (const argv of [['submit'], ['token', 'create', '--scopes', 'builds:read'], ['secret', 'create', 'npm-token'], ['trigger', 'create']]) {
    let said = ''
    Object.assign(process.stderr, { write: (text: string) => { said += text; return true } })
    const code = await main(argv, deps)
    Object.assign(process.stderr, { write: saved.write })
    t.equal(code, EXIT.usage, argv.join(' '))
    t.match(said, new RegExp(`^slipway: ${argv[0]!} `), argv.join(' '))
    t.notMatch(said, /slipway: slipway/, argv.join(' '))
  }
})
