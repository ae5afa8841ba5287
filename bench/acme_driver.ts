/**
 * One thread of scenario 3's driver: an acme-client account that runs its
 * share of the orders. The scenario starts several, so the rate measures the
 * ACME server, not one JavaScript thread of the driver (Pebble's run kept a
 * single driver thread 98 % busy). The http-01 answers go to the challenge
 * server on the main thread, which confirms each before the client asks the
 * CA to validate.
 */
import { readlinkSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import acme from 'acme-client';
import { pool } from './stats.js';

export interface DriverInput {
  directoryUrl: string;
  externalAccountBinding?: { kid: string; hmacKey: string };
  /** The CA of an HTTPS directory (Pebble). */
  ca?: string;
  names: string[];
  /** Ordered before `ready`, unmeasured, so both servers are timed warm (certdesk's JavaScript compiled, Pebble's connections open). */
  warmUpNames: string[];
  concurrency: number;
  backoff: { backoffAttempts: number; backoffMin: number; backoffMax: number };
  /** How acme-client asks for each nonce: HEAD as published, or GET (RFC 8555 §7.2 allows both), after which Node's client keeps the connection whatever the server sends. */
  nonceBy: 'HEAD' | 'GET';
}

/** From a driver thread to the scenario. */
export type DriverMessage =
  | { type: 'ready'; threadStat: string }
  | { type: 'answer'; token: string; keyAuthorization: string }
  | { type: 'forget'; token: string }
  /** `connections`: TCP connections the thread opened during its measured orders. */
  | { type: 'done'; connections: number }
  | { type: 'failed'; message: string };

/** From the scenario to a driver thread. */
export type ScenarioMessage = { type: 'go' } | { type: 'answered'; token: string };

/** The part of acme-client's (untyped) HTTP client that fetches nonces. */
interface NonceClient {
  getNonce(): Promise<string>;
  getResourceUrl(resource: string): Promise<string>;
  request(url: string, method: string): Promise<{ headers: Record<string, string | undefined> }>;
}

/** Makes acme-client ask for its nonces with GET instead of HEAD. */
function askNoncesWithGet(client: acme.Client): void {
  const http = (client as unknown as { http: NonceClient }).http;
  http.getNonce = async () => {
    const nonce = (await http.request(await http.getResourceUrl('newNonce'), 'get')).headers['replay-nonce'];
    if (!nonce) throw new Error('the ACME server answered GET newNonce without a Replay-Nonce');
    return nonce;
  };
}

async function main(port: NonNullable<typeof parentPort>, input: DriverInput): Promise<void> {
  const send = (message: DriverMessage) => port.postMessage(message);
  // Keep-alive agents for both servers, counting the connections they open. Node's client still closes a
  // connection after a HEAD response without Content-Length (nodejs/node#28438), and acme-client sends a
  // HEAD newNonce before every signed request: the count shows which server's replies keep connections.
  const agent = input.ca ? new HttpsAgent({ ca: input.ca, keepAlive: true }) : new HttpAgent({ keepAlive: true });
  let connections = 0;
  const connect = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<HttpAgent['createConnection']>) => {
    connections += 1;
    return connect(...args);
  };
  if (input.ca) acme.axios.defaults.httpsAgent = agent;
  else acme.axios.defaults.httpAgent = agent;
  // A request left unanswered fails the run with its cause instead of stalling it (an order takes well under a second).
  acme.axios.defaults.timeout = 30_000;
  const client = new acme.Client({ directoryUrl: input.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), ...input.backoff, ...(input.externalAccountBinding ? { externalAccountBinding: input.externalAccountBinding } : {}) });
  if (input.nonceBy === 'GET') askNoncesWithGet(client);
  await client.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:bench@example.com'] });
  const csrsFor = (names: string[]) => Promise.all(names.map(async (name) => (await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey()))[1]));
  const [warmUpCsrs, csrs] = await Promise.all([csrsFor(input.warmUpNames), csrsFor(input.names)]);
  const answered = new Map<string, () => void>();
  let onGo!: () => void;
  const go = new Promise<void>((resolve) => (onGo = resolve));
  port.on('message', (message: ScenarioMessage) => {
    if (message.type === 'go') onGo();
    else answered.get(message.token)?.();
  });
  const order = async (csr: Buffer) => {
    const certificate = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // The client's own pre-check would ask the system resolver, which does not know these names.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        const confirmed = new Promise<void>((resolve) => answered.set(challenge.token, resolve));
        send({ type: 'answer', token: challenge.token, keyAuthorization });
        await confirmed;
        answered.delete(challenge.token);
      },
      challengeRemoveFn: async (_authz, challenge) => send({ type: 'forget', token: challenge.token }),
    });
    if (!certificate.includes('BEGIN CERTIFICATE')) throw new Error('the ACME server returned no certificate');
  };
  await pool(warmUpCsrs, input.concurrency, order);
  // This thread's CPU counters, for the scenario's meter.
  send({ type: 'ready', threadStat: `/proc/${readlinkSync('/proc/thread-self')}/stat` });
  await go;
  connections = 0;
  await pool(csrs, input.concurrency, order);
  send({ type: 'done', connections });
}

if (parentPort) {
  const port = parentPort;
  main(port, workerData as DriverInput).catch((error: unknown) => port.postMessage({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies DriverMessage));
}
