import { chmod, cp, mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createRepo } from './git-repo.js'
import type { Teardown } from './teardown.js'

/**
 * Writes, at `dir`, a folder laid out as a bare git repository whose own config would run
 * `touch <marker>` through every hook git has for it (a submodule's `update = !command`,
 * core.fsmonitor, core.sshCommand, a credential helper, a post-checkout hook), with core.worktree
 * making the folder its own working tree: what a repository commits to make git, started inside
 * that folder, run the attacker's command. Its one submodule points at a real repository
 * (`submoduleUrl`), so `git submodule update` there gets as far as running the command.
 */
export async function writeSubmoduleTrap (t: Teardown, dir: string, marker: string, submoduleUrl: string): Promise<void> {
  const inner = await createRepo(t, { 'README.md': 'looks harmless\n' })
  await inner.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', submoduleUrl, 'sub')
  await inner.git('commit', '--quiet', '-m', 'submodule')
  const touch = `touch '${marker}'`
  for (const [key, value] of [
    ['core.bare', 'false'],
    ['core.worktree', '.'],
    ['submodule.sub.update', `!${touch}`],
    ['core.fsmonitor', touch],
    ['core.sshCommand', touch],
    ['credential.helper', `!${touch}`],
    ['core.hooksPath', 'hooks']
  ]) {
    await inner.git('config', key!, value!)
  }
  await mkdir(dir, { recursive: true })
  await cp(path.join(inner.dir, '.git'), dir, { recursive: true })
  // Gone, so that git clones the submodule afresh, and a fresh clone always runs the update command.
  await rm(path.join(dir, 'modules'), { recursive: true, force: true })
  await cp(path.join(inner.dir, '.gitmodules'), path.join(dir, '.gitmodules'))
  await writeFile(path.join(dir, 'hooks', 'post-checkout'), `#!/bin/sh\n${touch}\n`)
  await chmod(path.join(dir, 'hooks', 'post-checkout'), 0o755)
}
