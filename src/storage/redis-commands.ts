import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Redis } from 'ioredis'
import { packageRoot } from '../package-info.js'

// Slipway's Lua scripts, one file each in src/storage/commands, named as BullMQ names its own:
// `<command>-<number of keys>.lua`, or `<command>.lua` for a script whose keys vary in number (its
// callers pass that number first). Each file's header names its KEYS and ARGV. They are read from
// the package's source tree (tsc does not copy them into dist/; the image copies them itself) and
// defined on each connection as ioredis commands, which send a script by its SHA1 and its source
// only where Redis does not know it yet.
const COMMANDS_DIR = path.join(packageRoot, 'src/storage/commands')

type Arg = string | number | Buffer

/** The scripts as commands of a connection: their keys, then their arguments (see each file's header). */
export interface StorageCommands {
  transitionBuild(build: string, log: string, from: string, to: string, attempt: string, eventTs: number, changes: string, id: string, ...fields: string[]): Promise<[applied: number, previous: string]>
  createBuild(numberOfKeys: number, ...keysThenArgs: Arg[]): Promise<['held', string] | ['full'] | null>
  appendAudit(all: string, byActor: string, byKind: string, ...fields: string[]): Promise<string>
  appendLog(log: string, build: string, bytesField: string, bytes: number, ...entries: string[]): Promise<number>
  createDelivery(delivery: string, ...fields: string[]): Promise<0 | 1>
  acquireFollowerLease(leases: string, lease: string, ttlMs: number, limit: number): Promise<0 | 1>
  refreshFollowerLeases(leases: string, ttlMs: number, ...leaseIds: string[]): Promise<1>
  admitToken(numberOfKeys: number, ...keysThenArgs: Arg[]): Promise<['admitted', string, number, number] | ['unknown'] | ['limited', number]>
  storeUploadPiece(upload: string, uploadBytes: string, id: string, piece: Buffer, ttlSeconds: number, quotaBytes: number, first: '0' | '1'): Promise<0 | 1>
  expireBuild(numberOfKeys: number, ...keysThenArgs: Arg[]): Promise<0 | 1>
  expireLog(build: string, log: string, terminal: string, field: string, value: string, changes: string, id: string): Promise<0 | 1>
  holdLock(lock: string, token: string, ttlMs: number): Promise<0 | 1>
  releaseLock(lock: string, token: string): Promise<0 | 1>
  createSecret(secret: string, index: string, id: string, ...fields: string[]): Promise<0 | 1>
  changeSecret(secret: string, expectedSealed: string, ...fields: string[]): Promise<0 | 1>
}

/** A connection with Slipway's commands defined on it. */
export type StorageConnection = Redis & StorageCommands

// Every command, to check the folder against: the type asks for each of StorageCommands.
const KNOWN: Record<keyof StorageCommands, true> = {
  transitionBuild: true,
  createBuild: true,
  appendAudit: true,
  appendLog: true,
  createDelivery: true,
  acquireFollowerLease: true,
  refreshFollowerLeases: true,
  admitToken: true,
  storeUploadPiece: true,
  expireBuild: true,
  expireLog: true,
  holdLock: true,
  releaseLock: true,
  createSecret: true,
  changeSecret: true
}
const NAMES = Object.keys(KNOWN)

interface Script {
  numberOfKeys: number | undefined
  lua: string
}

function loadScripts (): Map<string, Script> {
  const scripts = new Map<string, Script>()
  for (const file of readdirSync(COMMANDS_DIR).filter((name) => name.endsWith('.lua'))) {
    const [, name = '', keys] = /^([A-Za-z]+)(?:-(\d+))?\.lua$/.exec(file) ?? []
    if (!NAMES.includes(name)) throw new Error(`${path.join(COMMANDS_DIR, file)}: not a command Slipway knows (src/storage/redis-commands.ts)`)
    scripts.set(name, { numberOfKeys: keys === undefined ? undefined : Number(keys), lua: readFileSync(path.join(COMMANDS_DIR, file), 'utf8') })
  }
  const missing = NAMES.filter((name) => !scripts.has(name))
  if (missing.length > 0) throw new Error(`${COMMANDS_DIR} lacks the scripts of ${missing.join(', ')}`)
  return scripts
}

const SCRIPTS = loadScripts()

/** The same connection, typed with Slipway's commands: they are defined on it the first time it comes here. */
export function withCommands (redis: Redis): StorageConnection {
  const connection = redis as StorageConnection
  if (typeof connection.transitionBuild === 'function') return connection
  for (const [name, script] of SCRIPTS) redis.defineCommand(name, script)
  return connection
}
