import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempFolder } from './files.js'
import { createRepo } from './git-repo.js'
import { freePort } from './ports.js'
import type { Teardown } from './teardown.js'

const exec = promisify(execFile)
const SSHD = '/usr/sbin/sshd'

export interface TestSshd {
  port: number
  /** The one user it lets in (root), and only with the public key it was given. */
  user: string
  /** Its host key's public half, as known_hosts would hold it after the host name. */
  hostKey: string
  /**
   * A bare repository it serves, made from `files` (one commit on main); returns its absolute
   * path, which an ssh:// URL names after the host: ssh://root@HOST:PORT/that/path.
   */
  bareRepo(name: string, files: Record<string, string>): Promise<string>
  /** What sshd printed so far (-e: its log on stderr), the logins it accepted and refused among it. */
  log(): string
}

/**
 * A real OpenSSH server (Debian's openssh-server, from scripts/setup.sh) on a free port on every
 * address (0.0.0.0, so a build's container reaches it at its bridge's host address), with a host
 * key made here, letting in root with `authorizedKey` only: no passwords, no keyboard-interactive,
 * the key `restrict`ed (no pty, no forwarding), which git over SSH does not need. Everything it
 * uses is in a temp folder (config, host key, authorized_keys, pid file, repositories); stopped
 * and removed when the test ends. The system's sshd, if any, is left alone.
 */
export async function startSshd (t: Teardown, authorizedKey: string): Promise<TestSshd> {
  // Removed after sshd stops: teardowns run last registered first.
  const dir = await tempFolder(t, {}, 'slipway-sshd-')
  const port = await freePort()
  const hostKeyFile = path.join(dir, 'host_ed25519')
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-test-sshd', '-f', hostKeyFile]).catch((error: unknown) => {
    throw new Error(`ssh-keygen failed (is openssh-client installed?): ${String(error)}`)
  })
  await writeFile(path.join(dir, 'authorized_keys'), `restrict ${authorizedKey.trim()}\n`)
  const config = path.join(dir, 'sshd_config')
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 0.0.0.0',
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      // The temp folder is not root's home: sshd would refuse its modes for a key file.
      'StrictModes no',
      'AllowUsers root',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      ''
    ].join('\n')
  )
  // sshd's privilege separation needs this folder; Debian makes it only when its service starts.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
  // Checks the config before starting, so a bad one is an error that says why.
  await exec(SSHD, ['-t', '-f', config]).catch((error: unknown) => {
    throw new Error(`sshd -t failed (is openssh-server installed? scripts/setup.sh): ${String(error)}`)
  })

  let output = ''
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  })
  await waitForBanner(port, child, () => output)

  const repos = path.join(dir, 'repos')
  await mkdir(repos)
  const { stdout: hostKey } = await exec('ssh-keygen', ['-y', '-f', hostKeyFile])
  return {
    port,
    user: 'root',
    hostKey: hostKey.trim(),
    log: () => output,
    async bareRepo (name, files) {
      const work = await createRepo(t, files)
      const bare = path.join(repos, `${name}.git`)
      await exec('git', ['clone', '--quiet', '--bare', work.dir, bare])
      return bare
    }
  }
}

/** Until sshd greets on its port (SSH-2.0-…); an exit before that is an error with its log. */
async function waitForBanner (port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) on starting:\n${output()}`)
    const banner = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.setEncoding('utf8')
      socket.once('data', (text: string) => {
        socket.destroy()
        resolve(text)
      })
      socket.once('error', () => resolve(''))
    })
    if (banner.startsWith('SSH-2.0-')) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`sshd on port ${port} did not greet within 10 s:\n${output()}`)
}

/** An ed25519 key pair as ssh-keygen writes it (OpenSSH format, no passphrase), in `dir`. */
export async function sshKeyPair (dir: string, name: string): Promise<{ privateKey: Buffer; publicKey: string }> {
  const file = path.join(dir, name)
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `slipway-${name}`, '-f', file])
  return { privateKey: await readFile(file), publicKey: (await readFile(`${file}.pub`, 'utf8')).trim() }
}
