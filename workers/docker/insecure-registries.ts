import type Docker from 'dockerode'

interface RegistryConfig {
  IndexConfigs?: Record<string, { Secure?: boolean }>
}

/**
 * Whether the engine talks to `host` over plain HTTP, so the worker does the same: a loopback
 * registry (the engine's default insecure range, 127.0.0.0/8), or one the engine was told is
 * insecure (daemon.json `insecure-registries`). Every other registry is HTTPS.
 */
export async function talksPlainHttp (docker: Docker, host: string): Promise<boolean> {
  const name = host.replace(/:\d+$/, '')
  if (name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '[::1]') return true
  const info = (await docker.info()) as { RegistryConfig?: RegistryConfig }
  return info.RegistryConfig?.IndexConfigs?.[host]?.Secure === false
}
