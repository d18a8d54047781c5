import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { runGit } from '../../../workers/source/git.js'
import { tempFolder } from '../../helpers/files.js'
import { createRepo } from '../../helpers/git-repo.js'
import { writeSubmoduleTrap } from '../../helpers/submodule-trap.js'

t.test('git started inside a folder laid out as a bare repository refuses it, and runs none of its commands', async (t) => {
  // Outside Slipway's checkout: from a folder inside it, git would find Slipway's own repository.
  const dir = await tempFolder(t, {}, 'slipway-git-test-')
  const marker = path.join(dir, `pwned-${randomUUID()}`)
  const library = await createRepo(t, { 'lib.txt': 'library\n' })
  await writeSubmoduleTrap(t, path.join(dir, 'trap'), marker, library.url)
  const options = { cwd: path.join(dir, 'trap'), signal: new AbortController().signal, transports: { file: true, http: false } }
  await t.rejects(runGit(['submodule', 'update', '--init', '--depth=1'], options), { message: /cannot use bare repository/ })
  await t.rejects(runGit(['status'], options), { message: /cannot use bare repository/ })
  t.notOk(existsSync(marker))
})
