#!/bin/sh
# Runs a command with the files a kubelet gives a container of upstream's br-federation chart,
# in a private mount namespace (run it under `unshare --mount --propagation private`, as root):
#   /usr/local/bin/br-federation-manager            <- BINARY (the image's entrypoint path)
#   /var/run/secrets/kubernetes.io/serviceaccount/  <- POD_DIR/serviceaccount (token, ca.crt,
#                                                      namespace; read-only)
#   /etc/br-federation/federation-kubeconfig/       <- POD_DIR/federation-kubeconfig (the
#                                                      Secret's keys; read-only)
# /etc and /run get an overlay whose writes go to POD_DIR, so nothing outside the namespace
# changes. The command then runs with exactly the environment given (env -i), as a container's.
# Usage: run_in_pod.sh POD_DIR BINARY [NAME=VALUE...] COMMAND [ARGS...]
set -eu
pod=$1
binary=$2
shift 2
for d in etc run; do
  mkdir -p "$pod/overlay/$d/upper" "$pod/overlay/$d/work"
  mount -t overlay overlay \
    -o "lowerdir=/$d,upperdir=$pod/overlay/$d/upper,workdir=$pod/overlay/$d/work" "/$d"
done
sa=/var/run/secrets/kubernetes.io/serviceaccount
fed=/etc/br-federation/federation-kubeconfig
mkdir -p "$sa" "$fed"
mount --bind "$pod/serviceaccount" "$sa"
mount -o remount,bind,ro "$sa"
mount --bind "$pod/federation-kubeconfig" "$fed"
mount -o remount,bind,ro "$fed"
mount -t tmpfs tmpfs /usr/local/bin
: >/usr/local/bin/br-federation-manager
mount --bind "$binary" /usr/local/bin/br-federation-manager
exec /usr/bin/env -i "$@"
