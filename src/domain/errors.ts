import createError from '@fastify/error'

// Every error the API answers with, in one place. Callers branch on `code`; the message is for
// a person and says what to do next. `%s` slots take the specifics.

export const ValidationFailed = createError('VALIDATION_FAILED', '%s', 400)
export const RepoUrlInvalid = createError('REPO_URL_INVALID', '%s', 400)
export const LocalReposDisabled = createError(
  'LOCAL_REPOS_DISABLED',
  "'%s' is a local path; this server builds only remote repositories. " +
    'Use an https:// or ssh:// URL, or start the server with SLIPWAY_ALLOW_LOCAL_REPOS=true.',
  400
)
export const RepoHostNotAllowed = createError(
  'REPO_HOST_NOT_ALLOWED',
  "This server does not clone from '%s'; the hosts it clones from are %s (SLIPWAY_REPO_ALLOW_HOSTS).",
  400
)
export const RefInvalid = createError('REF_INVALID', '%s', 400)
export const PathInvalid = createError('PATH_INVALID', '%s', 400)
export const ImageNameInvalid = createError('IMAGE_NAME_INVALID', '%s', 400)
// Who, the image as given and in canonical form, the patterns, where they come from, what to do.
export const ImageNotAllowed = createError<'IMAGE_NOT_ALLOWED', 403, [string, string, string, string, string, string]>(
  'IMAGE_NOT_ALLOWED',
  "%s may not push to '%s'%s: the repositories it may push to are %s (from %s). %s",
  403
)
// Who, the reference, the patterns, where they come from.
export const CacheFromNotAllowed = createError<'CACHE_FROM_NOT_ALLOWED', 403, [string, string, string, string]>(
  'CACHE_FROM_NOT_ALLOWED',
  "%s may not import cache from '%s': cacheFrom may name only images in repositories the token may push to, which are %s (from %s). " +
    'The worker reads them with its own registry credentials, so another repository would hand over layers its owner built. Name an image of your own, or leave it out.',
  403
)
export const PushPatternInvalid = createError(
  'PUSH_PATTERN_INVALID',
  "pushAllow pattern '%s' %s. A pattern is a registry host (with its port), matched exactly, and a repository path in which \"*\" matches within one component and \"**\" any number of them: registry.example.com/team-a/*, localhost:5000/**, docker.io/library/node.",
  400
)
export const PushWithoutImage = createError(
  'PUSH_WITHOUT_IMAGE',
  'push is true but no image was given: set `image` to the repository to push to, e.g. "registry.example.com/team/app".',
  400
)
export const TimeoutTooLong = createError(
  'TIMEOUT_TOO_LONG',
  'timeoutSeconds %s is more than this server allows (%s); ask for less, or have the operator raise SLIPWAY_BUILD_TIMEOUT_MAX_SECONDS.',
  400
)
export const VariantNameRepeated = createError(
  'VARIANT_NAME_REPEATED',
  "Two variants are named '%s'; each variant's tags end in \"-<name>\", so give each a name of its own.",
  400
)
export const WaitTooLong = createError(
  'WAIT_TOO_LONG',
  'wait %s is longer than a GET of a build may wait (%s s); ask for %ss or less, and ask again if the build has not changed by then.',
  400
)
export const BuildFinished = createError('BUILD_FINISHED', "Build '%s' has already ended (%s); there is nothing to cancel.", 409)
export const BuildNotFinished = createError(
  'BUILD_NOT_FINISHED',
  "Build '%s' is still %s; retry it once it has ended, or cancel it first.",
  409
)
export const ProvenanceUnavailable = createError(
  'PROVENANCE_NOT_AVAILABLE',
  "Build '%s' has no provenance statement: %s. A build that pushes its image has one once it succeeds, unless its request says provenance: false.",
  409
)
export const SbomUnavailable = createError(
  'SBOM_NOT_AVAILABLE',
  "Build '%s' has no software bill of materials: %s.",
  409
)
export const TagReserved = createError(
  'TAG_RESERVED',
  "Tag '%s' is where an image's signatures and attestations are kept (cosign's sha256-<digest>.sig and .att, the OCI referrers tag sha256-<digest>); pushing it would replace them. Choose another tag.",
  400
)
export const NoSigningKey = createError(
  'NO_SIGNING_KEY',
  'This server signs nothing: it has no signing key. An operator sets one as SLIPWAY_SIGNING_KEY (docs/guides/sbom.md#signatures).',
  404
)
export const ReportRepoInvalid = createError('REPORT_REPO_INVALID', '%s', 400)
export const ReportTokenNotAnId = createError(
  'REPORT_TOKEN_NOT_AN_ID',
  'report.token looks like a GitHub or GitLab token itself; it takes the id of a secret Slipway holds. Store the token once (slipway secret create ID --from-file PATH --repo PATTERN, or POST /v1/secrets) and name that id. Nothing was stored.',
  400
)
export const IdempotencyKeyReused = createError(
  'IDEMPOTENCY_KEY_REUSED',
  'This Idempotency-Key was used with a different request body. Use a new key for a different request.',
  422
)
export const IdempotencyKeyInProgress = createError(
  'IDEMPOTENCY_KEY_IN_PROGRESS',
  'A request with this Idempotency-Key is still being processed. Send it again in a moment.',
  409
)
export const IdempotencyKeyInvalid = createError(
  'IDEMPOTENCY_KEY_INVALID',
  'The Idempotency-Key header must be 1 to 255 printable characters (optionally quoted, as a structured-field string).',
  400
)
export const BuildNotFound = createError(
  'BUILD_NOT_FOUND',
  "No build has the id '%s'. GET /v1/builds lists the builds there are.",
  404
)
// The build, when it was removed, SLIPWAY_RETENTION and SLIPWAY_RETENTION_KEEP_LAST.
export const BuildExpired = createError<'BUILD_EXPIRED', 410, [string, string, string, number]>(
  'BUILD_EXPIRED',
  "Build '%s' was removed at %s: a build is kept for SLIPWAY_RETENTION (%s) after it ends, apart from the newest %s of each repository and ref (SLIPWAY_RETENTION_KEEP_LAST). GET /v1/builds lists the builds there are.",
  410
)
// The build, when its log was removed, SLIPWAY_LOG_RETENTION (or SLIPWAY_RETENTION) and the build again.
export const LogExpired = createError<'LOG_EXPIRED', 410, [string, string, string, string]>(
  'LOG_EXPIRED',
  "The log of build '%s' was removed at %s: logs are kept for SLIPWAY_LOG_RETENTION (%s) after their build ends. The build record is still there: GET /v1/builds/%s.",
  410
)
export const WebhookUrlInvalid = createError(
  'WEBHOOK_URL_INVALID',
  'The webhook URL %s. Give an absolute http:// or https:// URL of at most 2048 characters, without user:password@ and without a #fragment.',
  400
)
export const WebhookUrlForbidden = createError(
  'WEBHOOK_URL_FORBIDDEN',
  '%s Webhooks are delivered only to public hosts. For a receiver on an internal network, ' +
    "the server's operator can allow its hostname or address range (CIDR) in SLIPWAY_WEBHOOK_ALLOW.",
  400
)
export const WebhookNotFound = createError('WEBHOOK_NOT_FOUND', "No webhook has the id '%s'. GET /v1/webhooks lists them.", 404)
export const DeliveryNotFound = createError(
  'DELIVERY_NOT_FOUND',
  "Webhook '%s' has no delivery '%s'. GET /v1/webhooks/%s/deliveries lists them.",
  404
)
export const Unauthenticated = createError(
  'UNAUTHENTICATED',
  '%s Send "Authorization: Bearer <token>"; an admin makes tokens with `slipway token create` or POST /v1/tokens.',
  401
)
export const Forbidden = createError('FORBIDDEN', "This token lacks the scope '%s' that %s needs. Ask an admin for a token with it.", 403)
export const TokenNotFound = createError('TOKEN_NOT_FOUND', "No token has the id '%s'. GET /v1/tokens lists them.", 404)
export const RateLimited = createError('RATE_LIMITED', 'This token made more than %s requests in a minute. Try again in %s.', 429)
export const AuthFailuresLimited = createError(
  'AUTH_FAILURES_LIMITED',
  'This address presented %s unknown tokens within a minute (SLIPWAY_AUTH_FAILURES_PER_MINUTE), so no token from it is checked for %s. ' +
    'Check the token your client sends; if many clients share this address behind a proxy, the operator sets SLIPWAY_TRUST_PROXY.',
  429
)
/** Filled in by src/quotas.ts: who, which quota, its limit and setting, and what to do. */
export const QuotaExceeded = createError<'QUOTA_EXCEEDED', 429, [string, string, string, string, string]>(
  'QUOTA_EXCEEDED',
  '%s has used up its quota of %s: at most %s (%s). %s',
  429
)
export const RouteNotFound = createError('ROUTE_NOT_FOUND', '%s', 404)
export const BodyTooLarge = createError('BODY_TOO_LARGE', 'The request body is larger than %s bytes.', 413)
export const BodyInvalid = createError('BODY_INVALID', '%s', 400)
export const UnsupportedMediaType = createError(
  'UNSUPPORTED_MEDIA_TYPE',
  "Content-Type '%s' is not accepted here; send application/json.",
  415
)
export const UploadTooLarge = createError('UPLOAD_TOO_LARGE', '%s', 413)
export const UploadInvalid = createError('UPLOAD_INVALID', '%s', 400)
export const UploadUnsafe = createError(
  'UPLOAD_UNSAFE',
  "The tar's entry '%s' %s. An upload may hold only files, folders and symlinks, all inside its root.",
  400
)
export const UploadNotKept = createError(
  'UPLOAD_NOT_KEPT',
  "Build '%s' built an uploaded tar, which is not kept once its build ends; upload the source again to build it again.",
  409
)
export const RedisUnavailable = createError(
  'REDIS_UNAVAILABLE',
  'The build store (Redis) cannot be reached; nothing was changed. Try again shortly.',
  503
)
export const TriggerEventsInvalid = createError('TRIGGER_EVENTS_INVALID', '%s', 400)
export const TriggerNotFound = createError('TRIGGER_NOT_FOUND', "No trigger rule has the id '%s'. GET /v1/triggers lists them.", 404)
export const TriggerSignatureMissing = createError(
  'TRIGGER_SIGNATURE_MISSING',
  'The event carries no %s header. Set the secret of the trigger rule in the webhook settings (GitHub: "Secret"; GitLab: "Secret token").',
  401
)
export const TriggerSignatureInvalid = createError(
  'TRIGGER_SIGNATURE_INVALID',
  "The event's %s does not match the secret of any %s trigger rule for its repository (%s). Check that a rule names this repository (GET /v1/triggers; create one with POST /v1/triggers) and that its secret is the one in the webhook settings.",
  401
)
export const TriggerDeliveryIdInvalid = createError(
  'TRIGGER_DELIVERY_ID_INVALID',
  'A push event needs a delivery id (%s) of 1 to 200 printable characters, so that a redelivery starts nothing twice.',
  400
)
export const TriggerEventInProgress = createError(
  'TRIGGER_EVENT_IN_PROGRESS',
  'Delivery %s is still being handled by another request. Send it again in a minute; it will not start builds twice.',
  409
)
export const SecretsDisabled = createError(
  'SECRETS_DISABLED',
  'This server holds no secrets: %s. Until then, builds cannot use secret or SSH mounts.',
  503
)
// The kind, the id, the build (repository or upload), who asks, the id again: the same answer
// whether the secret exists or not, so that ids cannot be probed.
export const SecretNotAllowed = createError<'SECRET_NOT_ALLOWED', 403, [string, string, string, string, string]>(
  'SECRET_NOT_ALLOWED',
  "This build may not use the %s '%s': there is no such secret for %s made by %s. Ask an admin (scope secrets:admin) to create it, " +
    'or to add this repository to its repos and this token to its tokens (PATCH /v1/secrets/%s); an upload may use only secrets whose tokens name its token.',
  403
)
// What the build asks for and why it would run on the classic builder, then what to do.
export const SecretsNeedBuildkit = createError<'SECRETS_NEED_BUILDKIT', 400, [string, string]>(
  'SECRETS_NEED_BUILDKIT',
  'The build asks for %s, which only BuildKit can mount: the classic builder has no secret or SSH mounts. %s',
  400
)
export const SecretNotFound = createError('SECRET_NOT_FOUND', "No secret has the id '%s'. GET /v1/secrets lists them.", 404)
export const SecretExists = createError(
  'SECRET_EXISTS',
  "A secret with the id '%s' exists already. Change its value with PATCH /v1/secrets/%s, or delete it first.",
  409
)
export const SecretValueInvalid = createError('SECRET_VALUE_INVALID', '%s', 400)
export const SecretRepoPatternInvalid = createError(
  'SECRET_REPO_PATTERN_INVALID',
  "repos pattern '%s' %s. A pattern is a repository's host and path (or its URL), in which \"*\" matches within one component and \"**\" any number of them: github.com/acme/app, github.com/acme/*, git.example.com/team/**; \"**\" alone: any repository.",
  400
)
