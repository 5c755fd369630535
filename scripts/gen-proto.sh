#!/usr/bin/env bash
# Regenerate ALL generated code from proto/ in one command: TypeScript types for every .proto file
# under proto/, written to services/core/proto/generated/ (never edit those files by hand).
#
# The flags must match PROTO_LOADER_OPTIONS in services/core/proto/proto-loader.ts, because the
# generated types describe the objects that @grpc/proto-loader builds at run time with them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# GEN_PROTO_OUT redirects the output (the freshness test generates into a temporary directory).
out="${GEN_PROTO_OUT:-$root/services/core/proto/generated}"
gen="$root/node_modules/.bin/proto-loader-gen-types"

if [[ ! -x "$gen" ]]; then
  echo "gen-proto: $gen not found (is @grpc/proto-loader installed?)" >&2
  exit 1
fi

mapfile -t files < <(cd "$root/proto" && find . -name '*.proto' -type f | sed 's|^\./||' | LC_ALL=C sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "gen-proto: no .proto files under $root/proto" >&2
  exit 1
fi

# Generate into a temporary directory and swap it in, so a failed run leaves the old code intact.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/gen-proto.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(
  cd "$root/proto"
  "$gen" \
    --grpcLib=@grpc/grpc-js \
    --longs=Number \
    --enums=String \
    --defaults \
    --oneofs \
    --includeComments \
    --importFileExtension=.js \
    --includeDirs . \
    --outDir "$tmp" \
    "${files[@]}"
)
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -R "$tmp" "$out"
echo "gen-proto: generated $(find "$out" -name '*.ts' | wc -l) files from ${#files[@]} proto file(s) into ${out#"$root"/}" >&2
