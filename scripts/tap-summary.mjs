#!/usr/bin/env node
// Passes a TAP stream through and ends it with "N passed, N failed, N skipped", counting each
// test (a t.test block directly inside a test file); a file that fails outside any of its tests
// counts as one failure of its own. Exits non-zero when anything failed.
import { createInterface } from 'node:readline'

const counts = { passed: 0, failed: 0, skipped: 0 }
let failedInFile = 0

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${line}\n`)
  const file = /^(not )?ok \d+ - /.exec(line)
  if (file) {
    if (file[1] && failedInFile === 0) counts.failed += 1
    failedInFile = 0
    continue
  }
  const test = /^ {4}(not )?ok \d+ - .*?(# (SKIP|TODO)\b.*)?$/.exec(line)
  if (!test) continue
  if (test[3]) counts.skipped += 1
  else if (test[1]) {
    counts.failed += 1
    failedInFile += 1
  } else counts.passed += 1
}

process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
process.exitCode = counts.failed > 0 || counts.passed === 0 ? 1 : 0
