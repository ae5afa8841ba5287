/**
 * Runs the CommonJS bundle (dist/certdesk.cjs) with a V8 code cache beside it.
 * Compiling the 2 MB bundle, and then each library's functions as start-up
 * first calls them, took about a third of the time to /healthz; from the cache
 * V8 reads the compiled code instead. Node 20 has no compile cache of its own
 * (module.enableCompileCache came with Node 22), so the bundle is compiled
 * through node:vm, which takes and produces V8's cached data.
 *
 * The cache file starts with the SHA-256 of the bundle's text and Node's
 * version, then the SHA-256 of V8's data: a cache of another build is never
 * handed to V8, nor a damaged one (V8 checks the header of its data but not
 * the rest, and aborts the process on damaged code), and V8 itself refuses
 * one made under other flags. A missing, stale, damaged or refused cache costs
 * only the compiling; `saveCache` writes a new one (through a rename, so a
 * process starting at the same time reads the old file or the new one, whole).
 * The cache sits beside the bundle because whoever may write there may already
 * change the code; an install whose folder the service cannot write runs
 * without it. Node maps stack traces only for code its own loader compiled,
 * so under --enable-source-maps the bundle is required without the cache.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** Whether V8 read the compiled code from the cache; 'off' under --enable-source-maps. */
export type CacheUse = 'used' | 'absent' | 'stale' | 'damaged' | 'refused' | 'off';

export interface LoadedBundle {
  exports: Record<string, unknown>;
  cache: CacheUse;
  /** Writes the code compiled so far, once start-up has compiled what it needs; false if the folder cannot be written. */
  saveCache(): boolean;
}

const DIGEST_BYTES = 32;
const HEADER_BYTES = 2 * DIGEST_BYTES;
// The wrapper takes its own line, and lineOffset -1 keeps the bundle's line numbers for stack traces and source maps.
const WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {\n';

export const cacheFileOf = (bundleFile: string): string => `${bundleFile}.cache`;

export function loadBundle(bundleFile: string): LoadedBundle {
  if (process.sourceMapsEnabled) return { exports: createRequire(bundleFile)(bundleFile) as Record<string, unknown>, cache: 'off', saveCache: () => false };
  const source = readFileSync(bundleFile, 'utf8');
  const key = createHash('sha256').update(source).update(process.version).digest();
  const cacheFile = cacheFileOf(bundleFile);
  const stored = readCache(cacheFile);
  const current = stored !== null && stored.length > HEADER_BYTES && stored.subarray(0, DIGEST_BYTES).equals(key);
  const cachedData = current ? intactData(stored) : undefined;
  const script = new vm.Script(`${WRAPPER_START}${source}\n})`, {
    filename: bundleFile,
    lineOffset: -1,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  run(module.exports, createRequire(bundleFile), module, bundleFile, path.dirname(bundleFile));
  const cache: CacheUse = !stored ? 'absent' : !current ? 'stale' : !cachedData ? 'damaged' : script.cachedDataRejected ? 'refused' : 'used';
  return {
    exports: module.exports,
    cache,
    saveCache: () => {
      const compiled = script.createCachedData();
      return writeCache(cacheFile, Buffer.concat([key, sha256(compiled), compiled]));
    },
  };
}

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

/** V8's data from a cache file, if it is what was written. */
function intactData(stored: Buffer): Buffer | undefined {
  const data = stored.subarray(HEADER_BYTES);
  return sha256(data).equals(stored.subarray(DIGEST_BYTES, HEADER_BYTES)) ? data : undefined;
}

function readCache(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

function writeCache(file: string, bytes: Buffer): boolean {
  const partial = `${file}.${process.pid}`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, file);
    return true;
  } catch {
    rmSync(partial, { force: true });
    return false;
  }
}
