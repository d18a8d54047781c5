import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { packageRoot } from '../../package-info.js'

/** The portal's files: plain HTML, CSS and ES modules, served as they are (no build step). */
export const PORTAL_DIR = path.join(packageRoot, 'src', 'portal')

/**
 * The domain modules the portal shares with the server, rather than keeping copies that round
 * differently: the status list, bytes and durations, the build summary. They are plain JavaScript
 * (src/domain/format.js says why), so the browser runs the very files the server imported: they
 * are served from next to this code, src/domain under tests and dist/src/domain once compiled
 * (the Docker image holds dist/, not src/domain). The portal imports them by their path in the
 * source tree, which in the browser is /domain/<module> since src/portal is /portal/. Only these
 * are served; .dependency-cruiser.cjs keeps them free of imports from elsewhere.
 */
export const BROWSER_MODULES: readonly string[] = ['format.js', 'build-status.js', 'build-summary.js', 'actor-text.js']
const DOMAIN_DIR = fileURLToPath(new URL('../../domain/', import.meta.url))

// The portal renders untrusted text (repository URLs, log lines, messages) as text only; this
// policy makes sure nothing else can run even if that slipped: its own scripts and styles, no
// inline code, fetch only to this origin, never framed.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ')

/**
 * The web portal at /portal/. Its files hold no data and need no token: every build, log and
 * size comes from the /v1 API, with the token the person gives in the page. The routes are kept
 * out of the OpenAPI document (they are not API).
 */
export default async function portalRoutes (fastify: FastifyInstance) {
  const setHeaders = (reply: { header: (name: string, value: string) => unknown }) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
  }
  await fastify.register(fastifyStatic, { root: PORTAL_DIR, prefix: '/portal/', decorateReply: false, schemaHide: true, setHeaders })
  await fastify.register(fastifyStatic, {
    root: DOMAIN_DIR,
    prefix: '/domain/',
    decorateReply: false,
    schemaHide: true,
    index: false,
    allowedPath: (pathName) => BROWSER_MODULES.includes(pathName.replace(/^\//, '')),
    setHeaders
  })
  // The page's scripts and styles are relative to /portal/, so /portal leads there.
  fastify.get('/portal', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/portal/'))
}
