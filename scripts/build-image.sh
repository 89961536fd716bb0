#!/usr/bin/env bash
# Builds the br-federation-manager runtime image without a container engine:
#   1. the Release binaries br-federation-manager and brfed (scripts/build.sh release);
#   2. a root filesystem in build/image/rootfs: both binaries in /usr/local/bin (stripped), the
#      shared libraries they load (from ldd, with the dynamic loader), the CA bundle, zoneinfo,
#      and /etc/passwd + /etc/group with the nonroot user 65532;
#   3. an OCI image archive build/image/br-federation-manager.oci.tar (oci-layout, index.json,
#      manifest, config and one gzip layer, all addressed by sha256), written here with tar,
#      gzip and sha256sum. The output is deterministic: fixed mtimes, owners and entry order, so
#      the same binaries give the same digests.
# deploy/image/Dockerfile makes the same image from the same rootfs for users with Docker.
# Usage: scripts/build-image.sh [--no-build]   (--no-build: use build/release as it is)
set -euo pipefail
cd "$(dirname "$0")/.."

name=br-federation-manager
repository=brfed/br-federation-manager
version=$(sed -n 's/^project(brfed VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
out=build/image
rootfs=$out/rootfs
epoch=@0

if [ "${1:-}" != "--no-build" ]; then
  # Configure again so that --version names the commit being packaged.
  if [ -f build/release/CMakeCache.txt ]; then cmake -S . -B build/release >/dev/null; fi
  scripts/build.sh release --target br-federation-manager brfed >/dev/null
fi
bins=(build/release/src/manager/br-federation-manager build/release/src/cli/brfed)
for b in "${bins[@]}"; do
  [ -x "$b" ] || { echo "build-image: $b is missing (run without --no-build)" >&2; exit 1; }
done
commit=$("${bins[0]}" --version | sed -n 's/.*(commit \(.*\))$/\1/p')

rm -rf "$out"
mkdir -p "$rootfs"/{usr/local/bin,usr/lib,usr/lib64,etc/ssl/certs,usr/share}
# Debian's merged /usr: /lib and /lib64 are links into /usr, as the loader path expects.
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"

for b in "${bins[@]}"; do
  strip --strip-unneeded -o "$rootfs/usr/local/bin/$(basename "$b")" "$b"
  chmod 0755 "$rootfs/usr/local/bin/$(basename "$b")"
done

# Every library the binaries load, and the loader, at its canonical (merged-/usr) path.
libs=$(for b in "${bins[@]}"; do ldd "$b"; done |
  sed -n -e 's/.*=> \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' | sort -u)
for lib in $libs; do
  dir=$(realpath "$(dirname "$lib")")
  mkdir -p "$rootfs$dir"
  cp -L "$lib" "$rootfs$dir/$(basename "$lib")"
  chmod 0755 "$rootfs$dir/$(basename "$lib")"
done

cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# zoneinfo without the leap-second "right/" copies and the host's localtime link.
cp -a /usr/share/zoneinfo "$rootfs/usr/share/zoneinfo"
rm -rf "$rootfs/usr/share/zoneinfo/right" "$rootfs/usr/share/zoneinfo/localtime"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
chmod -R u+rwX,go+rX,go-w "$rootfs"

# ---- the OCI image archive --------------------------------------------------------------
blobs=$out/oci/blobs/sha256
mkdir -p "$blobs"
deterministic_tar() {  # deterministic_tar DIR OUTPUT ENTRIES...
  local dir=$1 output=$2
  shift 2
  tar -C "$dir" --sort=name --mtime="$epoch" --owner=0 --group=0 --numeric-owner \
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -cf "$output" "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# Stores file $1 as a blob and prints its digest.
add_blob() {
  local digest
  digest=$(sha "$1")
  mv "$1" "$blobs/$digest"
  echo "$digest"
}

deterministic_tar "$rootfs" "$out/layer.tar" $(cd "$rootfs" && ls -A | sort)
diff_id=$(sha "$out/layer.tar")
gzip -n -9 "$out/layer.tar"
layer_size=$(size "$out/layer.tar.gz")
layer=$(add_blob "$out/layer.tar.gz")

created=1970-01-01T00:00:00Z
cat >"$out/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"$created","config":{"User":"65532:65532","Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"Entrypoint":["/usr/local/bin/br-federation-manager"],"WorkingDir":"/","Labels":{"org.opencontainers.image.title":"$name","org.opencontainers.image.version":"$version","org.opencontainers.image.revision":"$commit"}},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"$created","created_by":"scripts/build-image.sh"}]}
EOF
config_size=$(size "$out/config.json")
config=$(add_blob "$out/config.json")

cat >"$out/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$layer_size}]}
EOF
manifest_size=$(size "$out/manifest.json")
manifest=$(add_blob "$out/manifest.json")

cat >"$out/oci/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"$version","io.containerd.image.name":"$repository:$version"}}]}
EOF
printf '{"imageLayoutVersion":"1.0.0"}\n' >"$out/oci/oci-layout"
deterministic_tar "$out/oci" "$out/$name.oci.tar" oci-layout index.json blobs
rm -rf "$out/oci"

echo "build-image: $out/$name.oci.tar ($repository:$version, commit $commit)"
echo "build-image: layer sha256:$layer, $layer_size bytes compressed"
