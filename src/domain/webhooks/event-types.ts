// What a webhook subscribes to and the shape it is sent in: constants the schemas, the
// formatter and the queue share.

export const WEBHOOK_FORMATS = ['json', 'slack', 'discord', 'teams', 'googlechat'] as const
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number]

export const BUILD_EVENT_TYPES = [
  'build.queued',
  'build.started',
  'build.succeeded',
  'build.failed',
  'build.canceled',
  'build.timed_out'
] as const
export type BuildEventType = (typeof BUILD_EVENT_TYPES)[number]
