import os from 'node:os'
import type { Scope, TokenRecord } from '../domain/auth/tokens.js'
import { loadConfig } from '../domain/config.js'
import type { Actor } from '../domain/schemas/audit.js'
import { createRedis } from '../storage/redis.js'
import { createStorage } from '../storage/storage.js'

/** Tokens made, listed and revoked straight in the service's Redis: how the first token is made. */
export interface OperatorTokens {
  create(name: string, scopes: Scope[], pushAllow: string[] | null): Promise<TokenRecord & { token: string }>
  list(): Promise<TokenRecord[]>
  /** False when no token has the id. */
  revoke(id: string): Promise<boolean>
  close(): void
}

/** Connects to the Redis the environment names (SLIPWAY_REDIS_URL, SLIPWAY_PREFIX); rejects when it cannot. */
export async function openOperatorTokens (): Promise<OperatorTokens> {
  const config = loadConfig()
  const redis = createRedis(config.redisUrl, 'worker', { warn: () => undefined })
  const { tokens } = createStorage(redis, config)
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw error
  }
  // Whoever reaches Redis is trusted as an operator; the trail names the account and host.
  const actor: Actor = { kind: 'operator', id: 'operator', name: `${os.userInfo().username}@${os.hostname()}`, deliveryId: null }
  return {
    create: async (name, scopes, pushAllow) => {
      const { token, record } = await tokens.create(name, scopes, pushAllow, actor)
      return { ...record, token }
    },
    list: () => tokens.list(),
    revoke: (id) => tokens.revoke(id, actor),
    close: () => redis.disconnect()
  }
}
