import { execFile, spawn } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { packageRoot } from '../../src/package-info.js'

/** The compiled `slipway` command, as `npm run build` makes it; compiled afresh, so it runs the sources under test. */
export async function compiledCli (): Promise<string> {
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: packageRoot })
  return path.join(packageRoot, 'dist', 'src', 'cli.js')
}

/** Runs `bin` with only PATH and `env` (what a CI job gives it), `stdin` as its input; answers when it ends. */
export function runCli (bin: string, env: Record<string, string>, args: string[], stdin?: string) {
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH!, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(stdin ?? '')
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
