// The network a build's RUN steps see. The operator sets it (SLIPWAY_BUILD_NETWORK: Docker's
// default bridge, none, or a network made with egress rules); a request may only narrow it to none.

/** What a build request may ask for: "default" is the operator's setting, never more. */
export const REQUEST_NETWORKS = ['default', 'none'] as const
export type RequestNetwork = (typeof REQUEST_NETWORKS)[number]

/** Whether the setting names a network the operator made, rather than one of Docker's own modes. */
export function isNamedNetwork (network: string): boolean {
  return network !== 'default' && network !== 'none'
}

/** The network a build runs on: the operator's, unless the request narrows it to none. */
export function buildNetworkOf (requested: RequestNetwork | undefined, configured: string): string {
  return requested === 'none' ? 'none' : configured
}
