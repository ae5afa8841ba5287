import http from 'node:http';
import type { Clock } from '../clock.js';
import { badRequest } from '../errors.js';
import { failedCheck, passedCheck, type CheckFailureReason, type CheckResult } from './check_result.js';
import type { DnsClient } from './dns_client.js';
import { hostAddresses } from './host_addresses.js';

export interface HttpFileOptions {
  /** 80 in production; tests point it at their own server. */
  port: number;
  /** Deadline for one request, connect to end of body. */
  timeoutMs?: number;
  /** Larger bodies are not read and fail the check. */
  maxBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 64 * 1024;
const SHOWN_BODY_CHARS = 200;

type Fetched =
  | { kind: 'response'; status: number; statusText: string; location: string | undefined; body: string; tooLarge: boolean }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'timeout' };

/**
 * HTTP file domain control check (BR 3.2.2.4.18): resolves the URL's host
 * through `dns` (never the OS resolver), GETs the path over plain http from
 * each address in turn until one answers, follows no redirect, and passes on
 * 200 with the expected content (surrounding whitespace ignored).
 */
export async function checkHttpFile(
  dns: DnsClient,
  clock: Clock,
  file: { url: string; content: string },
  options: HttpFileOptions,
): Promise<CheckResult> {
  const url = parseHttpUrl(file.url);
  const expected = file.content.trim();
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const serveIt = `Make sure a web server for ${host} answers plain http on port ${options.port} and serves ${url.pathname} with exactly "${expected}", then check again.`;
  const fail = (reason: CheckFailureReason, message: string, found: string[] = []) =>
    failedCheck(clock, 'http', expected, found, reason, message);

  const resolved = await hostAddresses(dns, host);
  if (!resolved.ok) return fail(resolved.reason, resolved.reason === 'NXDOMAIN' || resolved.reason === 'NO_ADDRESS' ? `${resolved.problem} ${serveIt}` : resolved.problem);
  const { addresses } = resolved;

  const failures: string[] = [];
  let timedOut = false;
  for (const address of addresses) {
    const fetched = await fetchOnce(address, url, options);
    if (fetched.kind === 'unreachable') {
      failures.push(`${address}: ${fetched.detail}`);
      continue;
    }
    if (fetched.kind === 'timeout') {
      timedOut = true;
      failures.push(`${address}: no complete answer in time`);
      continue;
    }
    const from = `${url.href} (at ${address}:${options.port})`;
    const statusLine = `HTTP ${fetched.status} ${fetched.statusText}`.trim();
    if (fetched.status >= 300 && fetched.status < 400) {
      const target = fetched.location ? ` redirecting to ${fetched.location}` : '';
      return fail(
        'HTTP_STATUS',
        `${from} answered ${statusLine}${target}; redirects are not followed. Serve the file directly over plain http (exclude ${url.pathname} from any redirect to https or another host).`,
        [statusLine],
      );
    }
    if (fetched.status !== 200) {
      return fail('HTTP_STATUS', `${from} answered ${statusLine} instead of 200 OK. ${serveIt}`, [statusLine]);
    }
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (fetched.tooLarge) {
      return fail('WRONG_CONTENT', `${from} served more than ${maxBytes} bytes; the file must contain only "${expected}".`, [shorten(fetched.body)]);
    }
    const body = fetched.body.trim();
    if (body !== expected) {
      return fail('WRONG_CONTENT', `${from} served "${shorten(body)}" but the expected content is "${expected}". Replace the file's content with exactly that value.`, [shorten(body)]);
    }
    return passedCheck(clock, 'http', expected, [body], `${from} served the expected content.`);
  }

  const tried = failures.join('; ');
  if (timedOut) return fail('TIMEOUT', `No complete answer from ${host} on port ${options.port} in time (${tried}). ${serveIt}`);
  return fail('CONNECTION_FAILED', `Could not connect to ${host} on port ${options.port} (${tried}). ${serveIt}`);
}

function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('VALIDATION_URL_INVALID', `${JSON.stringify(raw)} is not a URL; the HTTP file check needs an http:// URL.`, 'url');
  }
  if (url.protocol !== 'http:') {
    throw badRequest('VALIDATION_URL_INVALID', `${raw} is not an http:// URL; the HTTP file check uses plain http only.`, 'url');
  }
  return url;
}

/** One GET to `address`, with `url`'s host in the Host header. Reads at most maxBytes (+1 to notice more). */
function fetchOnce(address: string, url: URL, options: HttpFileOptions): Promise<Fetched> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: Fetched) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      resolve(result);
    };
    const request = http.request(
      {
        host: address,
        port: options.port,
        method: 'GET',
        path: url.pathname + url.search,
        agent: false,
        headers: { Host: url.host, 'User-Agent': 'certdesk-validation', Accept: '*/*', Connection: 'close' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let received = 0;
        const finish = (tooLarge: boolean) =>
          settle({
            kind: 'response',
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            location: response.headers.location,
            body: Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'),
            tooLarge,
          });
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (received > maxBytes) finish(true);
        });
        response.on('end', () => finish(false));
        response.on('error', (error) => settle({ kind: 'unreachable', detail: error.message }));
      },
    );
    const deadline = setTimeout(() => settle({ kind: 'timeout' }), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    request.on('error', (error) => settle({ kind: 'unreachable', detail: error.message }));
    request.end();
  });
}

function shorten(text: string): string {
  return text.length > SHOWN_BODY_CHARS ? `${text.slice(0, SHOWN_BODY_CHARS)}…` : text;
}
