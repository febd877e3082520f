#!/usr/bin/env bash
# Base images for `npm run test:images`, made here because no image registry is reachable:
# Debian bookworm bootstrapped with debootstrap from Debian's mirror, committed with buildah under the
# names the Dockerfiles' FROM lines expect.
#
#   node:<major.minor>-bookworm-slim   bookworm (minbase) + this machine's Node and npm (the nodejs
#                                      package installed here, copied) + user `node` (uid 1000),
#                                      as in the official image api/Dockerfile names.
#   localhost/meshtune/bookworm:base   bookworm (minbase) + ca-certificates, passed to
#                                      python-runner/Dockerfile as CUDA_IMAGE (see test-images.sh).
#
# Needs root, debootstrap and buildah (apt-get install debootstrap buildah). Each image is made once;
# MESHTUNE_REBUILD_BASES=1 makes them again.
set -euo pipefail

cache="${MESHTUNE_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshtune/images}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
mkdir -p "$cache"

node_version="$(node -p 'process.versions.node')"
node_tag="node:${node_version%.*}-bookworm-slim"
debian_tag="localhost/meshtune/bookworm:base"

have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# Bootstraps bookworm once into $cache/rootfs-bookworm.tar (the slow, network-bound step).
bookworm_tar() {
  local tar="$cache/rootfs-bookworm.tar"
  if [[ ! -f "$tar" || "${MESHTUNE_REBUILD_BASES:-0}" == 1 ]]; then
    local dir="$cache/rootfs-bookworm"
    rm -rf "$dir"
    echo "bases: debootstrap bookworm (minbase) from $mirror" >&2
    debootstrap --variant=minbase --include=ca-certificates bookworm "$dir" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
      { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    # What the slim images drop: package lists, caches, docs.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
    tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir"
  fi
  echo "$tar"
}

commit_rootfs() { # <rootfs tar> <image name> [extra buildah config args...]
  local tar="$1" name="$2"
  shift 2
  local ctr
  ctr="$(buildah from scratch)"
  buildah add --quiet "$ctr" "$tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" "$ctr"
  buildah commit --quiet --rm "$ctr" "$name" >/dev/null
  echo "bases: committed $name" >&2
}

if ! have_image "$debian_tag" || [[ "${MESHTUNE_REBUILD_BASES:-0}" == 1 ]]; then
  commit_rootfs "$(bookworm_tar)" "$debian_tag" --cmd /bin/bash
fi

if ! have_image "$node_tag" || [[ "${MESHTUNE_REBUILD_BASES:-0}" == 1 ]]; then
  node_bin="$(command -v node)"
  package="$(dpkg -S "$(readlink -f "$node_bin")" 2>/dev/null | cut -d: -f1 || true)"
  if [[ -z "$package" ]]; then
    echo "bases: $node_bin does not come from a Debian package; install nodejs with apt" >&2
    exit 1
  fi
  dir="$cache/rootfs-node"
  rm -rf "$dir" && mkdir -p "$dir"
  tar -C "$dir" -xf "$(bookworm_tar)"
  # The nodejs package's files (node, npx, headers) and npm as it is on this machine now (an
  # `npm install -g npm` replaces files the package listed, so the folder is copied whole).
  {
    dpkg -L "$package" | while read -r path; do
      [[ (-f "$path" || -L "$path") && "$path" != /usr/lib/node_modules/* ]] && echo "${path#/}"
    done
    echo usr/lib/node_modules/npm
  } >"$cache/node-files.txt"
  tar -C / -cf - -T "$cache/node-files.txt" | tar -C "$dir" -xf -
  # User node (uid/gid 1000) as in the official image; libstdc++ for node is already in minbase (apt needs it).
  chroot "$dir" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  chroot "$dir" node --version >/dev/null
  chroot "$dir" npm --version >/dev/null
  tar -C "$dir" -cf "$cache/rootfs-node.tar" . && rm -rf "$dir"
  commit_rootfs "$cache/rootfs-node.tar" "$node_tag" --cmd node --env NODE_VERSION="$node_version"
  rm -f "$cache/rootfs-node.tar"
fi

echo "$node_tag $debian_tag"
