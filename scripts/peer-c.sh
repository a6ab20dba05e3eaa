#!/bin/sh
# Builds and runs the C reference of the floor and the queue handoff
# (peers/c/queue_pingpong.c) on two CPUs, in Go's benchmark format:
#   scripts/peer-c.sh [-c cpuA,cpuB] [-r rounds] [-n transfers] | tee c.txt
#   go tool benchstat -col /spin c.txt
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 -pthread -o "$tmp/queue_pingpong" peers/c/queue_pingpong.c
"$tmp/queue_pingpong" "$@"
