#!/usr/bin/env bash
# Runs `node "$@"` on a Node that satisfies engines (>=22.18): the one on PATH when new enough,
# else Node 24 put on PATH by use-node24.sh. `exec`, so the launcher is the process npm started
# and a signal to it (kill -TERM, Ctrl+C) reaches the stack, not a shell in between.
# shellcheck source=./use-node24.sh
source "$(dirname "${BASH_SOURCE[0]}")/use-node24.sh" || exit 1
exec node "$@"
