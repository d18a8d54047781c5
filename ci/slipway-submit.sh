#!/usr/bin/env bash
# Submits the folder a CI job holds to Slipway, follows the build, and prints what a later step
# needs as KEY=value lines: the body of both ci/github/action.yml and ci/gitlab/slipway.gitlab-ci.yml,
# which only install the `slipway` command and map their inputs onto the variables below.
#
# Read from the environment (the CI templates set them; unset or empty means the CLI's default):
#   SLIPWAY_URL, SLIPWAY_TOKEN  read by `slipway` itself, so the token is never on a command line
#   SLIPWAY_DIR                 folder to upload (default .)
#   SLIPWAY_IMAGE               repository to push to, without a tag
#   SLIPWAY_TAGS                tags, separated by commas or newlines
#   SLIPWAY_DOCKERFILE, SLIPWAY_CONTEXT   relative to SLIPWAY_DIR
#   SLIPWAY_BUILD_ARGS          build arguments, one NAME=value per line
#   SLIPWAY_EXTRA_ARGS          more `slipway submit` arguments, one argument per line
#   SLIPWAY_BUILD_JSON          where to write the ended build as JSON (default slipway-build.json)
#   SLIPWAY_OUTPUTS             file to append the lines below to (default: stdout)
#
# Once the build has ended, writes for $GITHUB_OUTPUT or a GitLab dotenv report (the build's log
# goes to stderr):
#   SLIPWAY_BUILD_ID, SLIPWAY_STATUS, SLIPWAY_DIGEST, SLIPWAY_IMAGE_REF (repository@digest),
#   SLIPWAY_SIZE_BYTES, SLIPWAY_BUILD_JSON
# and exits with the CLI's exit code (0 succeeded, 1 build failed, 4 refused, …: docs/reference/cli.md).
#
# Every value arrives as data in an environment variable and reaches the CLI as array elements,
# never as shell text: a tag like 'a b$(touch x)' is one argument, and nothing in it runs.
set -euo pipefail

# Puts the non-empty lines of $2 into the array named $1, each trimmed of surrounding blanks and a
# Windows line end (a YAML block or a CI variable typed in a browser may carry either).
lines_into () {
  local -n into=$1
  local line
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%$'\r'}"
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    if [[ -n "$line" ]]; then into+=("$line"); fi
  done <<<"$2"
}

build_json="${SLIPWAY_BUILD_JSON:-slipway-build.json}"
args=(submit --dir "${SLIPWAY_DIR:-.}" --follow --json)
[[ -n "${SLIPWAY_IMAGE:-}" ]] && args+=(--image "$SLIPWAY_IMAGE")
[[ -n "${SLIPWAY_DOCKERFILE:-}" ]] && args+=(--dockerfile "$SLIPWAY_DOCKERFILE")
[[ -n "${SLIPWAY_CONTEXT:-}" ]] && args+=(--context "$SLIPWAY_CONTEXT")

tags=()
tags_text="${SLIPWAY_TAGS:-}"
lines_into tags "${tags_text//,/$'\n'}"
for tag in "${tags[@]}"; do args+=(--tag "$tag"); done

build_args=()
lines_into build_args "${SLIPWAY_BUILD_ARGS:-}"
for build_arg in "${build_args[@]}"; do args+=(--build-arg "$build_arg"); done

extra_args=()
lines_into extra_args "${SLIPWAY_EXTRA_ARGS:-}"
args+=("${extra_args[@]}")

# The command as it runs, each argument quoted, so the job log shows exactly what was asked.
echo "slipway-submit: slipway ${args[*]@Q}" >&2

# The CLI's answer goes to a temporary file first: made inside the folder being uploaded (GitLab's
# artifacts must be in the checkout), the file would be packed into the build's context.
answer="$(mktemp)"
trap 'rm -f "$answer"' EXIT
code=0
slipway "${args[@]}" >"$answer" || code=$?

# With --follow --json, the answer is the ended build whatever its outcome; a refused request
# leaves it empty (the CLI said why on stderr), and then there is nothing to report.
if [[ -s "$answer" ]]; then
  cp "$answer" "$build_json"
  node - "$build_json" >>"${SLIPWAY_OUTPUTS:-/dev/stdout}" <<'JS'
const build = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'))
const image = build.image ?? {}
const outputs = {
  SLIPWAY_BUILD_ID: build.id,
  SLIPWAY_STATUS: build.status,
  SLIPWAY_DIGEST: image.digest,
  SLIPWAY_IMAGE_REF: image.digest ? `${image.repository}@${image.digest}` : undefined,
  SLIPWAY_SIZE_BYTES: image.sizeBytes,
  SLIPWAY_BUILD_JSON: process.argv[2]
}
for (const [name, value] of Object.entries(outputs)) process.stdout.write(`${name}=${value ?? ''}\n`)
JS
fi
exit "$code"
