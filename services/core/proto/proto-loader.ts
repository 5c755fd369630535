/**
 * Loading the project's .proto files at run time, for both services.
 *
 * The .proto files under `proto/` are the contract; `scripts/gen-proto.sh` turns them into the
 * TypeScript types in `./generated/`, and this module loads the same files with
 * `@grpc/proto-loader` using the *same* options, so the generated types describe exactly the
 * objects the loader builds. Keep {@link PROTO_LOADER_OPTIONS} and the flags in gen-proto.sh in
 * step.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ConfigError } from '../errors.js';
import type { ProtoGrpcType as CollectiveProtoGrpcType } from './generated/collective.js';

/**
 * Options for `@grpc/proto-loader`, mirrored by the flags of scripts/gen-proto.sh
 * (`--longs=Number --enums=String --defaults --oneofs`). 64-bit integers become JS numbers:
 * generations, steps and offsets never approach 2^53.
 */
export const PROTO_LOADER_OPTIONS: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** The directory of the package inside `proto/` that holds this project's files. */
const PROTO_PACKAGE_DIR = join('encourage', 'v1');

/**
 * Find the repository's `proto/` directory by walking up from `startDir` (this module lives in
 * `services/core/proto/` in the sources and in `dist/services/core/proto/` once compiled, so a
 * fixed relative path would be wrong in one of the two). `ENCOURAGE_PROTO_DIR` overrides it, for
 * installs that ship the .proto files elsewhere.
 */
export function findProtoRoot(startDir: string = dirname(fileURLToPath(import.meta.url))): string {
  const override = process.env['ENCOURAGE_PROTO_DIR'];
  if (override !== undefined && override !== '') {
    const dir = resolve(override);
    if (!existsSync(join(dir, PROTO_PACKAGE_DIR))) {
      throw new ConfigError('ENCOURAGE_PROTO_DIR', override, `a directory containing ${PROTO_PACKAGE_DIR}`);
    }
    return dir;
  }
  let dir = resolve(startDir);
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, PROTO_PACKAGE_DIR))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new ConfigError('proto directory', startDir, `an ancestor directory containing proto/${PROTO_PACKAGE_DIR}`);
    }
    dir = parent;
  }
}

/**
 * Every `.proto` file under `root`, as paths relative to it with `/` separators, sorted, so that
 * both services see the same set (coordinator.proto, collective.proto, and whatever is added).
 */
export function listProtoFiles(root: string = findProtoRoot()): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.proto')) files.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return files.sort();
}

/**
 * Parse .proto files into a package definition (service and message descriptors).
 *
 * @param files - paths relative to the proto root (default: every file under it).
 * @param root - the proto root (default: {@link findProtoRoot}).
 */
export function loadPackageDefinition(
  files: readonly string[] = listProtoFiles(),
  root: string = findProtoRoot(),
): protoLoader.PackageDefinition {
  if (files.length === 0) throw new ConfigError('proto files', files, 'at least one .proto file');
  return protoLoader.loadSync([...files], { ...PROTO_LOADER_OPTIONS, includeDirs: [root] });
}

/**
 * Load .proto files as a gRPC object (service client constructors and service definitions).
 * The type parameter is one of the generated `ProtoGrpcType`s, e.g.
 * `loadGrpcObject<CoordinatorProtoGrpcType>(['encourage/v1/coordinator.proto'])`.
 */
export function loadGrpcObject<T>(files: readonly string[] = listProtoFiles(), root: string = findProtoRoot()): T {
  return grpc.loadPackageDefinition(loadPackageDefinition(files, root)) as unknown as T;
}

/** The `encourage.v1` package of collective.proto, typed. */
export function loadCollectiveProto(): CollectiveProtoGrpcType {
  return loadGrpcObject<CollectiveProtoGrpcType>(['encourage/v1/collective.proto']);
}
