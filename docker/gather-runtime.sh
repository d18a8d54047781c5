#!/bin/sh
# Usage: gather-runtime.sh ROOT FILE...
#
# Copies each FILE, and every shared library it loads (as ldd resolves them here), into ROOT at
# the same paths, so that a `FROM scratch` stage given ROOT runs them: a distroless root made of
# Debian's own files, without apt, dpkg, perl or anything else the programs do not load.
# Symlinks are kept as symlinks, and what they point at is gathered too.
set -eu

root=$1
shift

# Debian 12 keeps everything under /usr; the top-level folders are links to it, as on the host.
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
for dir in bin sbin lib lib64; do
  [ -L "$root/$dir" ] || ln -s "usr/$dir" "$root/$dir"
done

gather() {
  local file=$1 target lib
  [ -L "$root$file" ] || [ -e "$root$file" ] && return 0
  cp -a --parents "$file" "$root"
  if [ -L "$file" ]; then
    target=$(readlink "$file")
    case "$target" in
      /*) gather "$target" ;;
      *) gather "$(dirname "$file")/$target" ;;
    esac
  elif ldd "$file" >/dev/null 2>&1; then
    # "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)" and "/lib64/ld-linux-x86-64.so.2 (0x…)"
    for lib in $(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      gather "$lib"
    done
  fi
}

for file in "$@"; do
  gather "$file"
done
