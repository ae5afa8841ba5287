/** The bundle loader runs a CommonJS bundle with V8's code cache: never code of another build, always the bundle's own behaviour. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cacheFileOf, loadBundle } from '../../src/cli/bundle_loader.js';

const LOADER = fileURLToPath(new URL('../../src/cli/bundle_loader.js', import.meta.url));

const bundleText = (answer: number) => `'use strict';
exports.answer = () => ${answer};
exports.where = () => [__filename, __dirname, typeof require('node:path').join, module.exports === exports];
exports.fail = () => { throw new Error('from line 4'); };
`;

/** Runs `work` on a bundle in a new folder, removed afterwards. */
function withBundle(answer: number, work: (file: string, dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'certdesk-bundle-'));
  try {
    const file = path.join(dir, 'bundle.cjs');
    writeFileSync(file, bundleText(answer));
    work(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Exports = { answer(): number; where(): unknown[]; fail(): never };

/**
 * Loads the bundle in a new process, as a start does (within one process V8
 * finds code it compiled for the same text in memory and never reads a cache);
 * with `save`, the process then writes its cache.
 */
function loadInChild(file: string, options: { nodeArgs?: string[]; save?: boolean } = {}): { cache: string; answer: number; saved?: boolean } {
  const script = `const { loadBundle } = await import(${JSON.stringify(LOADER)});
    const loaded = loadBundle(${JSON.stringify(file)});
    const result = { cache: loaded.cache, answer: loaded.exports.answer() };
    if (${options.save === true}) result.saved = loaded.saveCache();
    console.log(JSON.stringify(result));`;
  const run = spawnSync(process.execPath, [...(options.nodeArgs ?? []), '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { cache: string; answer: number; saved?: boolean };
}

describe('loadBundle', () => {
  test('runs the bundle as a CommonJS module: exports, require, its file and folder', () =>
    withBundle(1, (file, dir) => {
      const loaded = loadBundle(file);
      const bundle = loaded.exports as Exports;
      assert.equal(loaded.cache, 'absent');
      assert.equal(bundle.answer(), 1);
      assert.deepEqual(bundle.where(), [file, dir, 'function', true]);
    }));

  test('stack traces keep the bundle’s line numbers', () =>
    withBundle(1, (file) => {
      const bundle = loadBundle(file).exports as Exports;
      assert.throws(() => bundle.fail(), (error: Error) => (error.stack ?? '').includes(`${file}:4:`));
    }));

  test('the cache a start saves is used by the next start, which behaves the same', () =>
    withBundle(7, (file) => {
      assert.deepEqual(loadInChild(file, { save: true }), { cache: 'absent', answer: 7, saved: true });
      assert.deepEqual(loadInChild(file), { cache: 'used', answer: 7 });
    }));

  test('a cache of another build is not used: the new code runs', () =>
    withBundle(1, (file) => {
      loadInChild(file, { save: true });
      // Same length, other code.
      writeFileSync(file, bundleText(2));
      assert.deepEqual(loadInChild(file, { save: true }), { cache: 'stale', answer: 2, saved: true });
      assert.deepEqual(loadInChild(file), { cache: 'used', answer: 2 });
    }));

  test('a damaged cache never reaches V8: the bundle compiles from its text', () =>
    withBundle(3, (file) => {
      loadInChild(file, { save: true });
      const cacheFile = cacheFileOf(file);
      const bytes = readFileSync(cacheFile);
      // Past V8's own header, where V8 would not notice and would abort the process.
      bytes.fill(0x5a, 64 + 28);
      writeFileSync(cacheFile, bytes);
      assert.deepEqual(loadInChild(file), { cache: 'damaged', answer: 3 });
      writeFileSync(cacheFile, bytes.subarray(0, 40));
      assert.deepEqual(loadInChild(file), { cache: 'stale', answer: 3 });
    }));

  test('a cache made under other V8 flags is refused by V8 and the bundle still runs', () =>
    withBundle(4, (file) => {
      loadInChild(file, { save: true });
      assert.deepEqual(loadInChild(file, { nodeArgs: ['--no-opt'] }), { cache: 'refused', answer: 4 });
    }));

  test('a folder that cannot be written leaves no cache and no partial file', () =>
    withBundle(1, (file, dir) => {
      const loaded = loadBundle(file);
      rmSync(dir, { recursive: true, force: true });
      assert.equal(loaded.saveCache(), false);
      assert.equal(existsSync(dir), false);
    }));

  test('under --enable-source-maps the bundle is loaded by Node, which maps its stack traces', () =>
    withBundle(5, (file) => {
      writeFileSync(`${file}.map`, JSON.stringify({ version: 3, sources: ['original.ts'], names: [], mappings: ';;;AAAA' }));
      writeFileSync(file, `${bundleText(5)}//# sourceMappingURL=bundle.cjs.map\n`);
      const script = `const { loadBundle } = await import(${JSON.stringify(LOADER)});
        const loaded = loadBundle(${JSON.stringify(file)});
        try { loaded.exports.fail(); } catch (error) { console.log(loaded.cache, loaded.exports.answer(), error.stack.split('\\n')[1].trim()); }`;
      const run = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^off 5 at .*original\.ts:1:1\)?\n$/);
    }));
});
