import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempFolder } from './files.js'
import type { Teardown } from './teardown.js'

const exec = promisify(execFile)
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Slipway Test',
  GIT_AUTHOR_EMAIL: 'test@slipway.invalid',
  GIT_COMMITTER_NAME: 'Slipway Test',
  GIT_COMMITTER_EMAIL: 'test@slipway.invalid'
}

export interface TestRepo {
  dir: string
  /** The repository as a client names it: a file:// URL. */
  url: string
  /** Writes files (path → content, null deletes) and commits them; returns the new commit. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>
  tag(name: string, options?: { annotated?: boolean }): Promise<void>
  branch(name: string): Promise<void>
  checkout(name: string): Promise<void>
  git(...args: string[]): Promise<string>
}

/** A real git repository in a temp folder, with `files` as its first commit on `main`. */
export async function createRepo (t: Teardown, files: Record<string, string>): Promise<TestRepo> {
  const dir = await tempFolder(t, {}, 'slipway-repo-')
  const git = async (...args: string[]) => (await exec('git', args, { cwd: dir, env: GIT_ENV })).stdout.trim()
  await git('init', '--quiet', '--initial-branch=main')
  const repo: TestRepo = {
    dir,
    url: `file://${dir}`,
    git,
    async commit (changes, message = 'change') {
      for (const [file, content] of Object.entries(changes)) {
        const target = path.join(dir, file)
        if (content === null) {
          await rm(target, { force: true })
          continue
        }
        await mkdir(path.dirname(target), { recursive: true })
        await writeFile(target, content)
      }
      await git('add', '--all')
      await git('commit', '--quiet', '--allow-empty', '-m', message)
      return git('rev-parse', 'HEAD')
    },
    async tag (name, options = {}) {
      await (options.annotated ? git('tag', '-a', name, '-m', name) : git('tag', name))
    },
    async branch (name) {
      await git('branch', name)
    },
    async checkout (name) {
      await git('checkout', '--quiet', name)
    }
  }
  await repo.commit(files, 'first')
  return repo
}
