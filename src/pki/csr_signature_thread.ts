/**
 * CSR signatures checked on a worker thread: reading the CSR's key into
 * OpenSSL and verifying the signature with it. On the server's one
 * JavaScript thread the two took about a tenth of its time in DV issuance
 * (the key about 100 µs; handing the verification to libuv's pool about as
 * much again under load, the pool thread's wake-up included), while the
 * message to this thread and its answer cost a few microseconds. The verdict
 * is the same as checking here; if the thread fails, the checks waiting on it,
 * and the next ones until a new thread has started, are made here.
 */
import { createPublicKey, verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { SpkiKeyInput } from './spki_key.js';

export interface SignatureCheck {
  /** The digest of the signature algorithm, e.g. sha256; null for Ed25519 and Ed448. */
  hash: string | null;
  key: SpkiKeyInput;
  signed: Uint8Array;
  signature: Uint8Array;
}

export type SignatureVerdict = 'valid' | 'invalid' | 'unreadable-key';

/** The check made here, when the thread cannot make it. */
export function checkSignatureHere({ hash, key, signed, signature }: SignatureCheck): SignatureVerdict {
  let publicKey;
  try {
    publicKey = createPublicKey(key);
  } catch {
    return 'unreadable-key';
  }
  try {
    return verify(hash, signed, publicKey, signature) ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}

// Plain CommonJS, run with `eval`, so the worker needs no file of its own in the build or the start-up bundle. Posted
// Buffers arrive as Uint8Arrays, which createPublicKey takes as DER too.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
function verdictOf({ hash, key, signed, signature }) {
  let publicKey;
  try { publicKey = createPublicKey(key); } catch { return 'unreadable-key'; }
  try { return verify(hash, signed, publicKey, signature) ? 'valid' : 'invalid'; } catch { return 'invalid'; }
}
parentPort.on('message', ({ id, check }) => parentPort.postMessage({ id, verdict: verdictOf(check) }));
`;

interface Pending {
  check: SignatureCheck;
  resolve(verdict: SignatureVerdict): void;
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();

/** Started on the first check, so a server that never sees a CSR never starts the thread. */
function started(): Worker {
  if (worker) return worker;
  const thread = new Worker(WORKER_SOURCE, { eval: true });
  thread.on('message', ({ id, verdict }: { id: number; verdict: SignatureVerdict }) => {
    pending.get(id)?.resolve(verdict);
    pending.delete(id);
    if (pending.size === 0) thread.unref();
  });
  const failed = () => {
    if (worker !== thread) return;
    worker = null;
    for (const [id, { check, resolve }] of pending) {
      pending.delete(id);
      resolve(checkSignatureHere(check));
    }
  };
  thread.on('error', failed);
  thread.on('exit', failed);
  worker = thread;
  return thread;
}

/**
 * The check with its bytes copied out: a posted view takes its whole
 * ArrayBuffer along, and a CSR's parts are views into Node's 8 KB pool.
 */
function alone({ hash, key, signed, signature }: SignatureCheck): SignatureCheck {
  return { hash, key: key.format === 'der' ? { ...key, key: Buffer.from(new Uint8Array(key.key).buffer) } : key, signed: new Uint8Array(signed), signature: new Uint8Array(signature) };
}

export function checkSignatureOnThread(check: SignatureCheck): Promise<SignatureVerdict> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { check, resolve });
    const thread = started();
    // Held open only while a check waits on it.
    thread.ref();
    thread.postMessage({ id, check: alone(check) });
  });
}
