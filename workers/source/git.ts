import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { sshCommand } from './git-credentials.js'
import { createLineSplitter } from '../line-splitter.js'

export interface GitOptions {
  cwd: string
  signal: AbortSignal
  /** Receives git's stderr line by line (its progress and errors). */
  onStderr?: (line: string) => void
  /** Transports besides https and ssh that the server allows (local repositories, plain http). */
  transports: { file: boolean; http: boolean }
  /** More environment for git: credentials for the repository's host. */
  env?: Record<string, string>
  /** A bare repository to work on. Named explicitly: git takes no folder for one by itself. */
  gitDir?: string
}

export class GitError extends Error {
  override name = 'GitError'
  constructor (
    readonly args: string[],
    readonly exitCode: number | null,
    /** git's last stderr lines: where it says what went wrong. */
    readonly stderrTail: string
  ) {
    super(`git ${args[0]} exited with ${exitCode}: ${stderrTail}`)
  }
}

const MAX_STDOUT_BYTES = 32 * 1024 * 1024
const STDERR_TAIL_LINES = 5

/**
 * Starts git with the repository treated as untrusted: only the https and ssh transports (and file
 * or http when the server allows them), no hooks, no prompts, no system config. Nor does git ever
 * take a folder it finds for a bare repository (safe.bareRepository=explicit): a repository can
 * commit one, whose config would choose commands for git to run.
 */
export function spawnGit (args: string[], options: GitOptions, stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcessByStdio<Writable | null, Readable, Readable> {
  const policy = [
    '-c', 'protocol.allow=never',
    '-c', 'protocol.https.allow=always',
    '-c', 'protocol.ssh.allow=always',
    '-c', `protocol.file.allow=${options.transports.file ? 'always' : 'never'}`,
    '-c', `protocol.http.allow=${options.transports.http ? 'always' : 'never'}`,
    '-c', 'core.hooksPath=/dev/null',
    '-c', 'core.fsmonitor=false',
    '-c', 'submodule.recurse=false',
    '-c', 'advice.detachedHead=false',
    '-c', 'safe.bareRepository=explicit'
  ]
  const gitDir = options.gitDir ? ['--git-dir', options.gitDir] : []
  return spawn('git', [...policy, ...gitDir, ...args], {
    cwd: options.cwd,
    signal: options.signal,
    killSignal: 'SIGKILL',
    stdio: [stdin, 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROTOCOL_FROM_USER: '0',
      GIT_LFS_SKIP_SMUDGE: '1',
      GIT_SSH_COMMAND: sshCommand(),
      ...options.env
    }
    // spawn's overloads cannot see that stdout and stderr are always pipes here.
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>
}

/** Runs git (see spawnGit) to the end; resolves with its stdout, rejects with a GitError. */
export function runGit (args: string[], options: GitOptions): Promise<string> {
  const child = spawnGit(args, options)
  const stdout: Buffer[] = []
  let stdoutBytes = 0
  const tail: string[] = []
  const stderr = createLineSplitter((line) => {
    if (!line) return
    tail.push(line)
    if (tail.length > STDERR_TAIL_LINES) tail.shift()
    options.onStderr?.(line)
  })
  child.stdout.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length
    if (stdoutBytes <= MAX_STDOUT_BYTES) stdout.push(chunk)
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      stderr.end()
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'))
      else reject(new GitError(args, code, tail.join('\n')))
    })
  })
}
