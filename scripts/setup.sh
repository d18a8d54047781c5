#!/usr/bin/env bash
# Install and start whatever Slipway needs on this machine, skipping what is already there.
# Run as root on Debian 12. Safe to run again: with everything in place it takes a second or two.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/setup.sh [--without-node] [--with-debian] [--skip-npm] [-h|--help]

Installs and starts what is missing for Slipway on a Debian 12 machine (run as root):
  1. apt packages: redis-server docker.io docker-registry busybox-static debootstrap
     git curl jq apache2-utils ca-certificates chromium openssh-server wrk (one apt-get update,
     only if one is missing; chromium is the headless browser of the portal's tests; wrk the
     HTTP load generator of `npm run bench`;
     openssh-server gives the SSH clone test its sshd, which the tests start themselves on
     a free port: installed here, it runs no system sshd on port 22, now or at boot)
  2. Redis on 127.0.0.1:6379 (no persistence)
  3. Docker Engine: starts dockerd in the background if `docker info` fails
  4. a registry (Distribution) on 127.0.0.1:5000, plain HTTP, no auth, delete enabled
  5. base images, since nothing can be pulled here:
       busybox:latest                         from busybox-static
       debian:bookworm-slim, debian:bookworm  with debootstrap (~1 min, the first time)
       node:20-bookworm-slim                  a stand-in for Docker's official image:
                                              debian:bookworm-slim plus this machine's Node 20
                                              and npm (docker/Dockerfile starts from it)
       slipway-test/git-ssh:bookworm          debian:bookworm-slim plus git and openssh-client,
                                              installed in a chroot with this host's network
                                              (~30 s, the first time), for the test that
                                              clones a private repository over SSH in a build
  6. npm dependencies: `npm ci` when node_modules is missing or older than package-lock.json

Options:
  --without-node  skip node:20-bookworm-slim and slipway-test/git-ssh:bookworm, and with them
                  debian:bookworm-slim unless --with-debian
  --with-debian   build debian:bookworm-slim even with --without-node (the demo in examples/hello needs it)
  --skip-npm      do not touch node_modules
  -h, --help      show this help

Environment:
  SLIPWAY_STATE_DIR      logs, registry config and storage (default /var/lib/slipway)
  SLIPWAY_DEBIAN_MIRROR  Debian mirror for debootstrap (default: the one apt uses here)
EOF
}

with_debian=0
with_node=1
skip_npm=0
for arg in "$@"; do
  case "$arg" in
    --with-debian) with_debian=1 ;;
    --without-node) with_node=0 ;;
    --skip-npm) skip_npm=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="${SLIPWAY_STATE_DIR:-/var/lib/slipway}"
export DEBIAN_FRONTEND=noninteractive

say() { printf '%s\n' "$*"; }
die() {
  printf 'setup: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}
log_tail() {
  if [[ -f "$1" ]]; then tail -n 20 "$1" | sed 's/^/    | /' >&2; fi
}

# wait_for SECONDS COMMAND...: poll every 0.5 s until COMMAND succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons)" "try: sudo $0 $*"
mkdir -p "$state_dir"

# CI, the demo and a developer may run this at the same time; let one finish first. Daemons
# started below get `9>&-` so they do not inherit the lock and hold it forever.
exec 9>"$state_dir/setup.lock"
if ! flock -n 9; then
  say "setup: another setup.sh is running, waiting for it…"
  flock -w 600 9 || die "still locked after 10 min ($state_dir/setup.lock)" \
    "find the holder with: fuser -v $state_dir/setup.lock"
fi

# --- 1. apt packages -----------------------------------------------------------------------
packages=(redis-server docker.io docker-registry busybox-static debootstrap git curl jq apache2-utils ca-certificates chromium openssh-server wrk)
missing=()
for pkg in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  say "apt: all ${#packages[@]} packages present"
else
  say "apt: installing ${missing[*]}…"
  apt_log="$state_dir/apt.log"
  # openssh-server's postinst starts Debian's sshd on port 22 and enables it at boot (through
  # invoke-rc.d and deb-systemd-helper). The tests start their own sshd on a free port and want
  # no system one. Debian's ssh init script and ssh.service both do nothing while
  # /etc/ssh/sshd_not_to_be_run exists (a plain /usr/sbin/sshd, as the tests run it, is not
  # affected), so it is made before the package is first installed: no sshd on port 22, now or
  # after a reboot. A machine that already has openssh-server is left as it is. On top, while
  # apt runs, a policy-rc.d (when there is none) denies invoke-rc.d any start.
  if [[ " ${missing[*]} " == *" openssh-server "* ]]; then
    mkdir -p /etc/ssh
    [[ -e /etc/ssh/sshd_not_to_be_run ]] ||
      echo "Made by Slipway's scripts/setup.sh: no system sshd (remove this file to allow one)." >/etc/ssh/sshd_not_to_be_run
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\n# Temporary, from scripts/setup.sh: no service starts while apt installs.\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      policy_rc_made=1
    fi
  fi
  apt_ok=1
  { apt-get update && apt-get install -y "${missing[@]}"; } >"$apt_log" 2>&1 || apt_ok=0
  if [[ -n "${policy_rc_made:-}" ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if ((apt_ok == 0)); then
    log_tail "$apt_log"
    die "apt-get failed installing: ${missing[*]} (full log: $apt_log)" \
      "check that Debian's archive is reachable (apt-get update) and retry"
  fi
fi

# --- 2. Redis --------------------------------------------------------------------------------
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]; }
if redis_up; then
  say "redis: already running on 127.0.0.1:6379"
else
  say "redis: starting redis-server on 127.0.0.1:6379…"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "$state_dir/redis.log" >/dev/null 9>&-
  wait_for 10 redis_up || {
    log_tail "$state_dir/redis.log"
    die "redis did not answer PING within 10 s (log: $state_dir/redis.log)" \
      "is something else on port 6379? try: ss -ltnp 'sport = :6379'"
  }
fi

# --- 3. Docker Engine ------------------------------------------------------------------------
# The docker CLI in /usr/local/bin may be newer than Debian's Engine 20.10 (API 1.41). It
# negotiates the version by itself; only a DOCKER_API_VERSION exported too high breaks it.
docker_fix_api_version() {
  local out max
  out="$(docker version 2>&1 >/dev/null)" || true
  max="$(sed -n 's/.*is too new\. Maximum supported API version is \([0-9.]*\).*/\1/p' <<<"$out" | head -n 1)"
  if [[ -n "$max" ]]; then
    export DOCKER_API_VERSION="$max"
    say "docker: DOCKER_API_VERSION was too new for this daemon; using $max"
  fi
}
docker_up() { docker info >/dev/null 2>&1; }

dockerd_log="$state_dir/dockerd.log"
docker_fix_api_version
if docker_up; then
  say "docker: already running (Engine $(docker version -f '{{.Server.Version}}' 2>/dev/null))"
else
  if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != "unix:///var/run/docker.sock" ]]; then
    die "docker: DOCKER_HOST=$DOCKER_HOST does not answer" "start that daemon, or unset DOCKER_HOST to use a local dockerd"
  fi
  if pgrep -x dockerd >/dev/null; then
    # Someone else started it a moment ago; a second dockerd would only fight over the pid file.
    say "docker: dockerd is starting, waiting for it…"
  else
    say "docker: starting dockerd (log: $dockerd_log)…"
    setsid dockerd >>"$dockerd_log" 2>&1 </dev/null 9>&- &
  fi
  wait_for 60 docker_up || {
    log_tail "$dockerd_log"
    die "docker: dockerd did not answer within 60 s (log: $dockerd_log)" \
      "read the log above; a stale /var/run/docker.pid or a missing iptables are the usual causes"
  }
  docker_fix_api_version
fi

# --- 4. Registry -----------------------------------------------------------------------------
registry_dir="$state_dir/registry"
registry_config="$registry_dir/config.yml"
registry_log="$state_dir/registry.log"
registry_up() { curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:5000/v2/ 2>/dev/null; }

if registry_up; then
  say "registry: already running on 127.0.0.1:5000"
else
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:5000/v2/ || true)"
  if [[ "$status" == "401" ]]; then
    # On a systemd machine, installing docker-registry starts Debian's service on :5000,
    # configured for htpasswd auth. Slipway's tests and demo want the plain one.
    if systemctl is-active --quiet docker-registry 2>/dev/null; then
      say "registry: stopping Debian's docker-registry service (it asks for auth)…"
      systemctl disable --now docker-registry >/dev/null 2>&1 || true
    else
      die "registry: something on 127.0.0.1:5000 asks for authentication" \
        "stop it (ss -ltnp 'sport = :5000' shows which process) and run this again"
    fi
  fi
  mkdir -p "$registry_dir/data"
  cat >"$registry_config" <<EOF
# Written by scripts/setup.sh: a local registry for Slipway's tests and demo.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $registry_dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
EOF
  say "registry: starting docker-registry on 127.0.0.1:5000 (log: $registry_log)…"
  setsid docker-registry serve "$registry_config" >>"$registry_log" 2>&1 </dev/null 9>&- &
  wait_for 15 registry_up || {
    log_tail "$registry_log"
    die "registry: no answer on http://127.0.0.1:5000/v2/ within 15 s (log: $registry_log)" \
      "is port 5000 taken? try: ss -ltnp 'sport = :5000'"
  }
fi

# --- 5. Base images --------------------------------------------------------------------------
image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# Temporary folders, removed on exit whatever happens. A debootstrap that failed half-way can
# leave /proc or /sys mounted inside its folder: unmount before deleting, and never cross into
# another filesystem.
tmp_dirs=()
cleanup() {
  local dir mnt
  for dir in "${tmp_dirs[@]}"; do
    [[ -d "$dir" ]] || continue
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done
    rm -rf --one-file-system "$dir"
  done
}
trap cleanup EXIT

if image_present busybox:latest; then
  say "image busybox:latest: present"
else
  say "image busybox:latest: building from busybox-static…"
  ctx="$(mktemp -d "$state_dir/busybox.XXXXXX")"
  tmp_dirs+=("$ctx")
  cp /bin/busybox "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
EOF
  if ! out="$(docker build -t busybox:latest "$ctx" 2>&1)"; then
    printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /' >&2
    die "image busybox:latest: docker build failed" "check that /bin/busybox is the static build (busybox-static)"
  fi
fi

# The first mirror apt uses for SUITE on this host, from deb822 .sources or one-line .list files.
apt_mirror() {
  local suite="$1" f line uri suites words kind rest
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri="" suites=""
    # A stanza ends at a blank line; the extra echo closes the last one.
    while IFS= read -r line; do
      if [[ -z "${line//[[:space:]]/}" ]]; then
        [[ -n "$uri" && "$suites" == *" $suite "* ]] && { echo "$uri"; return; }
        uri="" suites=""
        continue
      fi
      case "$line" in
        URIs:*) read -r uri _ <<<"${line#URIs:}" ;;
        Suites:*) read -r -a words <<<"${line#Suites:}"; suites=" ${words[*]} " ;;
      esac
    done < <(cat "$f"; echo)
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    while read -r kind rest; do
      [[ "$kind" == deb ]] || continue
      # drop options: deb [arch=amd64 signed-by=…] URI SUITE…
      if [[ "$rest" =~ ^\[[^]]*\][[:space:]]*(.*)$ ]]; then rest="${BASH_REMATCH[1]}"; fi
      read -r uri words _ <<<"$rest"
      [[ "$words" == "$suite" ]] && { echo "$uri"; return; }
    done <"$f"
  done
  return 0
}

# The node image is made from the Debian one, so wanting it means wanting Debian too.
if ((with_node)); then with_debian=1; fi
if ((with_debian == 0)); then
  if image_present debian:bookworm-slim; then
    say "image debian:bookworm-slim: present"
  else
    say "image debian:bookworm-slim: skipped (drop --without-node or pass --with-debian to build it)"
  fi
elif image_present debian:bookworm-slim; then
  image_present debian:bookworm || docker tag debian:bookworm-slim debian:bookworm
  say "image debian:bookworm-slim: present"
else
  mirror="${SLIPWAY_DEBIAN_MIRROR:-$(apt_mirror bookworm)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="$(apt_mirror bookworm-security)"
  security="${security:-http://deb.debian.org/debian-security}"
  say "image debian:bookworm-slim: debootstrap from $mirror (about a minute)…"
  rootfs="$(mktemp -d "$state_dir/debootstrap.XXXXXX")"
  tmp_dirs+=("$rootfs")
  debootstrap_log="$state_dir/debootstrap.log"
  started=$SECONDS
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$debootstrap_log" 2>&1; then
    log_tail "$debootstrap_log"
    log_tail "$rootfs/debootstrap/debootstrap.log"
    die "image debian:bookworm-slim: debootstrap failed (log: $debootstrap_log)" \
      "check that $mirror is reachable, or set SLIPWAY_DEBIAN_MIRROR"
  fi
  debootstrap_s=$((SECONDS - started))

  # Make it behave like Docker's official slim image: apt sources in deb822 form, empty package
  # lists (builds start with apt-get update), no docs/man pages/translations installed, and apt
  # cleaning its .deb cache after every install so layers stay small.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'APT::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  # What dpkg will exclude from now on, also out of the packages debootstrap already installed.
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "${rootfs:?}"/usr/share/{man,info,locale,lintian}/*
  rm -rf "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/cache/apt/*.bin \
    "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/log/*.log \
    "${rootfs:?}"/dev/* "${rootfs:?}"/run/* "${rootfs:?}"/tmp/*
  # Docker provides these at run time; keep the host's values out of the image.
  rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  : >"$rootfs/etc/machine-id"

  if ! out="$(tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - debian:bookworm-slim 2>&1)"; then
    die "image debian:bookworm-slim: docker import failed" "$out"
  fi
  docker tag debian:bookworm-slim debian:bookworm
  say "image debian:bookworm-slim: built in $((SECONDS - started)) s (debootstrap ${debootstrap_s} s), also tagged debian:bookworm"
fi

# Docker's official node:20-bookworm-slim is debian:bookworm-slim with Node's release binary in
# /usr/local/bin, npm beside it and a user "node" (uid 1000). This machine's Node 20 is such a
# release binary (it needs only glibc and libstdc++, both in the slim image), so the stand-in is
# made of it under the official name: docker/Dockerfile says `FROM node:20-bookworm-slim` here as
# anywhere else, and where images can be pulled the official one is used.
node_image=node:20-bookworm-slim
if ((with_node == 0)); then
  say "image $node_image: skipped (--without-node)"
elif image_present "$node_image"; then
  say "image $node_image: present"
else
  node_bin="$(command -v node || true)"
  [[ -n "$node_bin" ]] || die "image $node_image: node not found" "install Node.js 20 (with npm) and run this again"
  node_bin="$(readlink -f "$node_bin")"
  node_version="$("$node_bin" --version)"
  [[ "$node_version" == v20.* ]] || die "image $node_image: this machine's Node is $node_version, not 20" \
    "install Node.js 20 and run this again"
  npm_dir="$(npm root -g)/npm"
  [[ -f "$npm_dir/bin/npm-cli.js" ]] || die "image $node_image: npm not found at $npm_dir" "install npm and run this again"
  say "image $node_image: building from debian:bookworm-slim and Node $node_version…"
  ctx="$(mktemp -d "$state_dir/node-image.XXXXXX")"
  tmp_dirs+=("$ctx")
  cp "$node_bin" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
LABEL org.opencontainers.image.description="Stand-in for Docker's official $node_image, made by Slipway's scripts/setup.sh"
ENV NODE_VERSION=${node_version#v}
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
CMD ["node"]
EOF
  if ! out="$(docker build -t "$node_image" "$ctx" 2>&1)"; then
    printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /' >&2
    die "image $node_image: docker build failed" "the lines above show the failing step; 'ldd $node_bin' lists the libraries node needs"
  fi
  say "image $node_image: built with Node $node_version and npm $(docker run --rm "$node_image" npm --version)"
fi

# The SSH clone test's image: a RUN step there runs `git clone ssh://…`, and no base image here
# has git or an ssh client, nor can a build install them (RUN steps have no internet here). So
# the packages go in from the host: a container of debian:bookworm-slim is exported into a
# folder, apt-get installs in a chroot of it (through this host's network and DNS), and the
# folder is imported as the image.
git_ssh_image=slipway-test/git-ssh:bookworm
if ((with_node == 0)); then
  say "image $git_ssh_image: skipped (--without-node)"
elif image_present "$git_ssh_image"; then
  say "image $git_ssh_image: present"
else
  say "image $git_ssh_image: installing git and openssh-client into debian:bookworm-slim…"
  started=$SECONDS
  rootfs="$(mktemp -d "$state_dir/git-ssh.XXXXXX")"
  tmp_dirs+=("$rootfs")
  git_ssh_log="$state_dir/git-ssh-image.log"
  container="$(docker create debian:bookworm-slim true)"
  if ! docker export "$container" | tar --numeric-owner -C "$rootfs" -x; then
    docker rm -f "$container" >/dev/null 2>&1 || true
    die "image $git_ssh_image: exporting a container of debian:bookworm-slim failed"
  fi
  docker rm -f "$container" >/dev/null
  # The chroot resolves names as the host does and has /proc and /dev for dpkg's scripts. /dev
  # is made a slave mount first, so unmounting it later cannot propagate back to the host's
  # /dev/pts or /dev/shm; the mounts are undone on exit (cleanup) before the folder is deleted.
  # A policy-rc.d of its own keeps any package from starting a service, and goes afterwards.
  cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mkdir -p "$rootfs/proc" "$rootfs/dev"
  mount -t proc proc "$rootfs/proc"
  mount --rbind /dev "$rootfs/dev"
  mount --make-rslave "$rootfs/dev"
  chroot_policy=""
  if [[ ! -e "$rootfs/usr/sbin/policy-rc.d" ]]; then
    chroot_policy="$rootfs/usr/sbin/policy-rc.d"
    printf '#!/bin/sh\nexit 101\n' >"$chroot_policy"
    chmod 755 "$chroot_policy"
  fi
  if ! chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates' \
    >"$git_ssh_log" 2>&1; then
    log_tail "$git_ssh_log"
    die "image $git_ssh_image: apt-get in the chroot failed (log: $git_ssh_log)" \
      "check that the mirrors in debian:bookworm-slim's /etc/apt/sources.list.d are reachable from this host"
  fi
  umount -l "$rootfs/dev" "$rootfs/proc"
  rm -rf "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/cache/apt/*.bin "${rootfs:?}"/var/log/apt/* \
    "${rootfs:?}"/tmp/* "${rootfs:?}/etc/resolv.conf" "${rootfs:?}/.dockerenv"
  if [[ -n "$chroot_policy" ]]; then rm -f "$chroot_policy"; fi
  : >"$rootfs/etc/resolv.conf"
  if ! out="$(tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.opencontainers.image.description="debian:bookworm-slim with git and openssh-client, made by Slipway'"'"'s scripts/setup.sh for its tests"' \
    --change 'CMD ["bash"]' - "$git_ssh_image" 2>&1)"; then
    die "image $git_ssh_image: docker import failed" "$out"
  fi
  say "image $git_ssh_image: built in $((SECONDS - started)) s ($(docker run --rm "$git_ssh_image" git --version), $(docker run --rm "$git_ssh_image" ssh -V 2>&1))"
fi

# --- 6. npm dependencies ---------------------------------------------------------------------
if ((skip_npm)); then
  say "npm: skipped (--skip-npm)"
elif [[ ! -f "$repo_root/package.json" ]]; then
  say "npm: no package.json in $repo_root, nothing to install"
else
  command -v npm >/dev/null || die "npm: not found" "install Node.js 20 (with npm) and run this again"
  lock="$repo_root/package-lock.json"
  installed="$repo_root/node_modules/.package-lock.json" # npm writes it after every install
  [[ -f "$lock" ]] || die "npm: $lock is missing" "run 'npm install' once and commit package-lock.json"
  if [[ -f "$installed" && ! "$lock" -nt "$installed" ]]; then
    say "npm: node_modules up to date"
  else
    say "npm: running npm ci…"
    npm_log="$state_dir/npm.log"
    if ! (cd "$repo_root" && npm ci --no-audit --no-fund) >"$npm_log" 2>&1; then
      log_tail "$npm_log"
      die "npm: npm ci failed (log: $npm_log)" "is package-lock.json in sync with package.json? try 'npm install'"
    fi
  fi
fi

say "setup: done"
