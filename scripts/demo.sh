#!/usr/bin/env bash
# Command 1: set up what is missing (scripts/setup.sh), start Slipway, and build the example app in
# examples/hello twice through the API, single-stage and multi-stage, then print both sizes side by
# side. Slipway keeps running afterwards, so the README's curl session works against it.
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  cat <<'EOF'
Usage: scripts/demo.sh

Installs and starts what is missing (Redis, Docker Engine, a registry on 127.0.0.1:5000, base
images), starts Slipway on http://127.0.0.1:${SLIPWAY_PORT:-8080} unless one already answers there,
and builds examples/hello as a single-stage and as a multi-stage image, pushed to
localhost:5000/demo/hello. Run as root on Debian 12.

Every API call needs a token: the demo makes an admin token (kept in
$SLIPWAY_STATE_DIR/admin-token, mode 600) and starts Slipway with it as SLIPWAY_ADMIN_TOKEN.
It also makes the key build secrets are sealed with ($SLIPWAY_STATE_DIR/secrets-key, mode 600,
as SLIPWAY_SECRETS_KEY), so `slipway secret create` works on the demo, and a key pushed images
are signed with ($SLIPWAY_STATE_DIR/signing-key.pem, mode 600, as SLIPWAY_SIGNING_KEY).

Environment: SLIPWAY_PORT (default 8080), SLIPWAY_STATE_DIR (default /var/lib/slipway).
EOF
  exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="${SLIPWAY_STATE_DIR:-/var/lib/slipway}"
port="${SLIPWAY_PORT:-8080}"
api="http://127.0.0.1:${port}"
cd "$root"

scripts/setup.sh --with-debian
echo "slipway: compiling"
npm run --silent build

token_file="$state_dir/admin-token"
if [[ ! -s "$token_file" ]]; then
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$token_file")
fi
token=$(cat "$token_file")
secrets_key_file="$state_dir/secrets-key"
if [[ ! -s "$secrets_key_file" ]]; then
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n' >"$secrets_key_file")
fi
signing_key_file="$state_dir/signing-key.pem"
if [[ ! -s "$signing_key_file" ]]; then
  (umask 077 && node -e "process.stdout.write(require('node:crypto').generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))" >"$signing_key_file")
fi
auth=(-H "authorization: Bearer $token")

if curl -fsS "$api/readyz" >/dev/null 2>&1; then
  echo "slipway: already running at $api"
else
  echo "slipway: starting at $api (log: $state_dir/slipway.log)"
  # Builds may push to the demo's registry only.
  SLIPWAY_PORT="$port" SLIPWAY_ALLOW_LOCAL_REPOS=true SLIPWAY_ADMIN_TOKEN="$token" SLIPWAY_PUSH_ALLOW='localhost:5000/**' \
    SLIPWAY_SECRETS_KEY="$(cat "$secrets_key_file")" SLIPWAY_SIGNING_KEY="$(cat "$signing_key_file")" setsid node dist/src/server.js >>"$state_dir/slipway.log" 2>&1 </dev/null &
  echo $! >"$state_dir/slipway.pid"
  for _ in $(seq 1 60); do
    curl -fsS "$api/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fsS "$api/readyz" >/dev/null || { tail -n 20 "$state_dir/slipway.log" >&2; echo "slipway did not start; its log is above" >&2; exit 1; }
fi

# The example becomes a git repository of its own, as a team's repository would be. It is kept
# between runs, and each run commits a change to hello.c's greeting, so the repository's history in
# the portal gains a point per run and the second run shows which steps its change rebuilt.
repo="$state_dir/demo-repo"
if [[ ! -d "$repo/.git" ]]; then
  mkdir -p "$repo"
  git -C "$repo" init --quiet --initial-branch=main
fi
cp -R examples/hello/. "$repo"
run=$(($(git -C "$repo" rev-list --count HEAD 2>/dev/null || echo 0) + 1))
sed -i "s/built by Slipway!/built by Slipway! (demo run $run)/" "$repo/hello.c"
git -C "$repo" add --all
git -C "$repo" -c user.name=demo -c user.email=demo@slipway.invalid commit --quiet -m "demo run $run: the greeting names the run"

submit() { # submit DOCKERFILE TAG → build id
  local body
  body=$(jq -n --arg repo "$repo" --arg dockerfile "$1" --arg tag "$2" \
    '{repo: $repo, dockerfile: $dockerfile, image: "localhost:5000/demo/hello", tags: [$tag]}')
  local response
  response=$(curl -sS -X POST "$api/v1/builds" "${auth[@]}" -H 'content-type: application/json' -d "$body")
  jq -er .id <<<"$response" || { echo "Slipway refused the build: $response" >&2; exit 1; }
}
single=$(submit Dockerfile single-stage)
multi=$(submit Dockerfile.multistage multi-stage)
echo "slipway: demo run $run: submitted single-stage build $single and multi-stage build $multi"
echo "         (the first run installs a compiler inside each build; a minute or two)"

# Follow both until they end, printing each change of phase.
declare -A last=()
started=$SECONDS
while :; do
  done_count=0
  for id in "$single" "$multi"; do
    build=$(curl -fsS "${auth[@]}" "$api/v1/builds/$id")
    state=$(jq -r '[.status, (.phases | map(select(.status == "running")) | .[0].name // "")] | join(" ")' <<<"$build")
    if [[ "${last[$id]:-}" != "$state" ]]; then
      printf '  %4ss  %s  %s\n' "$((SECONDS - started))" "$([[ $id == "$single" ]] && echo 'single-stage' || echo 'multi-stage ')" "$state"
      last[$id]=$state
    fi
    case "$(jq -r .status <<<"$build")" in queued | running) ;; *) done_count=$((done_count + 1)) ;; esac
  done
  ((done_count == 2)) && break
  sleep 1
done

echo
SLIPWAY_TOKEN="$token" node scripts/demo-report.mjs "$api" "$single" "$multi"
cat <<EOF

Slipway is still running at $api (docs: $api/docs).
Open the portal at $api/portal and paste the token from $token_file (cat it).
The example's sizes, a point per run of this script: $api/portal/#/repos/$(jq -rn --arg repo "$repo" '$repo | @uri')
Or try:
  export SLIPWAY_TOKEN=\$(cat $token_file)
  curl -s -H "authorization: Bearer \$SLIPWAY_TOKEN" $api/v1/builds/$multi | jq .
  curl -s -H "authorization: Bearer \$SLIPWAY_TOKEN" $api/v1/builds/$single/logs | tail
  curl -s -H "authorization: Bearer \$SLIPWAY_TOKEN" "$api/v1/builds/$multi/sbom?format=cyclonedx" | jq '.components[] | {name, version}'
  curl -s $api/v1/signing-key?format=pem    # the public key that verifies the signatures
Stop it with: kill \$(cat $state_dir/slipway.pid)
EOF
