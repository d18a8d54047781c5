import t from 'tap'
import { liveDisplay, plainDisplay } from '../../src/cli/progress-display.js'

/** A terminal of `columns` that keeps what was written, and what its last line shows now. */
function terminal (columns = 80) {
  let written = ''
  return {
    columns,
    write: (text: string) => { written += text },
    get written () {
      return written
    },
    /** The line the cursor is on, as the screen shows it after carriage returns and clears. */
    get statusLine () {
      const last = written.slice(written.lastIndexOf('\n') + 1)
      return last.slice(last.lastIndexOf('\r\x1b[2K') + 5)
    },
    /** The lines that scrolled up, without the status lines drawn between them. */
    get scrolled () {
      return written.split('\n').slice(0, -1).map((line) => line.slice(line.lastIndexOf('\r\x1b[2K') + 5))
    }
  }
}

t.test('on a terminal: one status line with elapsed time first, then status, phase and step, under the log lines', async (t) => {
  const screen = terminal()
  let now = 10_000
  const display = liveDisplay(screen, 7_000, () => now)
  t.equal(screen.statusLine, '3 s · queued')

  display.status({ status: 'running', phase: 'clone', ts: 0 })
  display.log({ phase: 'clone', stream: 'system', ts: 0, text: 'Cloning https://example.com/app.git' })
  t.equal(screen.statusLine, '3 s · running · clone')
  display.status({ status: 'running', phase: 'build', ts: 0 })
  display.log({ phase: 'build', stream: 'stdout', ts: 0, text: '#5 [2/3] RUN make' })
  display.log({ phase: 'build', stream: 'stdout', ts: 0, text: '#5 cc -o app main.c' })
  now = 82_000
  display.tick()
  t.equal(screen.statusLine, '1 min 15 s · running · build · [2/3] RUN make', 'the step a line started stays until the next')
  display.log({ phase: 'build', stream: 'stdout', ts: 0, text: 'Step 3/5 : COPY . /src' })
  t.equal(screen.statusLine, '1 min 15 s · running · build · Step 3/5 : COPY . /src', "the classic builder's steps too")
  display.status({ status: 'running', phase: 'push', ts: 0 })
  t.equal(screen.statusLine, '1 min 15 s · running · push', 'a new phase forgets the step')

  t.same(screen.scrolled, ['Cloning https://example.com/app.git', '#5 [2/3] RUN make', '#5 cc -o app main.c', 'Step 3/5 : COPY . /src'], 'every log line is shown whole')
  display.close()
  t.equal(screen.statusLine, '', 'closing clears the status line')
  const after = screen.written.length
  display.close()
  display.tick()
  t.equal(screen.written.length, after, 'closed, it writes nothing more: what follows has its line to itself')
})

t.test('the status line is cut to the terminal width, the step and never the time', async (t) => {
  const screen = terminal(30)
  const display = liveDisplay(screen, 0, () => 3_723_000)
  display.status({ status: 'running', phase: 'build', ts: 0 })
  display.log({ phase: 'build', stream: 'stdout', ts: 0, text: `#1 [1/1] RUN ${'x'.repeat(100)}` })
  t.equal(screen.statusLine.length, 29)
  t.match(screen.statusLine, /^1 h 2 min · running · build/)
  t.match(screen.statusLine, /…$/)
  display.close()

  const wide = terminal(80)
  liveDisplay(wide, 0, () => 75_000).log({ phase: 'build', stream: 'stdout', ts: 0, text: `#12 [build 7/9] RUN apt-get update && apt-get install -y --no-install-recommends ${'pkg '.repeat(20)}` })
  t.match(wide.statusLine, /^1 min 15 s · queued · \[build 7\/9\] RUN apt-get/, 'in 80 columns the time is whole')
})

t.test('plain lines: the log as it is', async (t) => {
  let written = ''
  const display = plainDisplay({ write: (text: string) => (written += text) })
  display.status({ status: 'running', phase: 'build', ts: 0 })
  display.log({ phase: 'build', stream: 'system', ts: 0, text: '==> build' })
  display.log({ phase: 'build', stream: 'stdout', ts: 0, text: '#5 [2/3] RUN make' })
  display.status({ status: 'succeeded', phase: null, ts: 0 })
  display.close()
  t.equal(written, '==> build\n#5 [2/3] RUN make\n')
})

t.test("the server's text is shown without its terminal controls; the display's own line redraws stay", async (t) => {
  const hostile = 'made \u001b]52;c;cHduZWQ=\u0007it\u001b[1A\u001b[2K \u009b2Jhere\r'
  let plain = ''
  const display = plainDisplay({ write: (text: string) => (plain += text) })
  display.log({ phase: 'build', stream: 'stdout', ts: 0, text: hostile })
  t.equal(plain, 'made it here\n')

  const screen = terminal()
  const live = liveDisplay(screen, 0, () => 0)
  live.status({ status: 'running', phase: 'build\u001b]0;title\u0007', ts: 0 })
  live.log({ phase: 'build', stream: 'stdout', ts: 0, text: `#5 [2/3] RUN ${hostile}` })
  t.same(screen.scrolled, ['#5 [2/3] RUN made it here'])
  t.equal(screen.statusLine, '0 ms · running · build · [2/3] RUN made it here')
  t.notMatch(screen.written.replaceAll('\r\u001b[2K', ''), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control but the redraws and newlines')
  live.close()
})

t.test('Ctrl-C while following on a terminal: the status line is cleared, and the last line says the build goes on', async (t) => {
  const { watch } = await import('../../src/cli/commands/shared.js')
  const { parseCommand } = await import('../../src/cli/args.js')
  const { logsSpec } = await import('../../src/cli/commands/logs.js')
  const { sampleBuild } = await import('../helpers/fixtures.js')
  const { EXIT } = await import('../../src/cli/exit-codes.js')
  // A log stream that sends one line, then waits until the follow is aborted.
  const api = {
    send: async (_method: string, _path: string, options: { signal?: AbortSignal } = {}) =>
      new Response(
        new ReadableStream({
          start (controller) {
            controller.enqueue(new TextEncoder().encode('event: log\nid: 1\ndata: {"phase":"build","stream":"stdout","ts":0,"text":"#5 [2/3] RUN make"}\n\n'))
            options.signal?.addEventListener('abort', () => controller.error(options.signal!.reason))
          }
        })
      ),
    json: async () => { throw new Error('not used') }
  }
  // One terminal behind both streams, as in a shell.
  let screen = ''
  const write = (text: string | Uint8Array) => { screen += String(text); return true }
  const saved = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr), outTTY: process.stdout.isTTY, errTTY: process.stderr.isTTY }
  Object.assign(process.stdout, { write })
  Object.assign(process.stderr, { write })
  process.stdout.isTTY = true
  process.stderr.isTTY = true
  t.teardown(() => {
    Object.assign(process.stdout, { write: saved.out, isTTY: saved.outTTY })
    Object.assign(process.stderr, { write: saved.err, isTTY: saved.errTTY })
  })
  const build = sampleBuild('01JD7Z0000000000000000000A', { status: 'running' })
  const watching = watch(api as never, build, parseCommand(logsSpec, [build.id]))
  while (!screen.includes('RUN make')) await new Promise((resolve) => setTimeout(resolve, 10))
  screen += '^C' // what the terminal echoes where the cursor is: on the status line
  process.emit('SIGINT', 'SIGINT')
  const code = await watching
  Object.assign(process.stdout, { write: saved.out, isTTY: saved.outTTY })
  Object.assign(process.stderr, { write: saved.err, isTTY: saved.errTTY })
  t.equal(code, EXIT.interrupted)
  const shown = screen.split('\n').map((line) => line.slice(line.lastIndexOf('\r\x1b[2K') + (line.includes('\r\x1b[2K') ? 5 : 0)))
  t.same(shown.slice(-3), ['#5 [2/3] RUN make', `slipway: stopped following; build ${build.id} goes on (\`slipway cancel ${build.id}\` stops it)`, ''], 'no status line, no ^C, no blank line left above the message')
})
