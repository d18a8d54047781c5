import { mkdir, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/**
 * This process's own folder under the shared work dir, named host-pid. Folders of processes of
 * this host that no longer run (a worker killed mid-build) are removed first; other live workers'
 * folders are left alone.
 */
export async function claimWorkDir (base: string, logger: { info(details: object, message: string): void }): Promise<string> {
  const host = os.hostname()
  await mkdir(base, { recursive: true })
  const ownedBy = new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`)
  for (const entry of await readdir(base)) {
    const owner = ownedBy.exec(entry)
    if (!owner || Number(owner[1]) === process.pid || isAlive(Number(owner[1]))) continue
    await rm(path.join(base, entry), { recursive: true, force: true })
    logger.info({ folder: entry }, "removed a dead worker's work folder")
  }
  const own = path.join(base, `${host}-${process.pid}`)
  await mkdir(own, { recursive: true })
  return own
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it just isn't ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
