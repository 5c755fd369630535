#!/bin/sh
# `encourage` on PATH in the container images (/usr/local/bin/encourage).
# Starts the CLI with the V8 flags the gRPC all-reduce was measured with
# (TUNED_WORKER_EXEC_ARGV in services/worker/collective/process-tuning.ts; docs/performance.md):
# NODE_OPTIONS cannot carry --single-threaded-gc, and a worker pod runs `encourage worker`
# directly, so the flags are set here. The glibc malloc settings (TUNED_WORKER_ENV) are ENV
# lines of the Dockerfiles: glibc reads them when the process starts.
# ENCOURAGE_HOME (default /app) is where dist/ lives.
exec node --single-threaded-gc --max-semi-space-size=64 --initial-old-space-size=128 "${ENCOURAGE_HOME:-/app}/dist/services/cli/main.js" "$@"
