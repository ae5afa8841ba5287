/**
 * One HTTP request over kept-alive connections (node:http). Tests and
 * benchmarks talk to certdesk through it instead of fetch: fetch spent about
 * three times the CPU per request, and in a benchmark the client shares the
 * machine's cores with the server it measures.
 */
import http from 'node:http';

export interface HttpResult {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

// Idle connections close before the server's Keep-Alive timeout (Node's agent reads its hint).
const agent = new http.Agent({ keepAlive: true });

export async function httpRequest(url: string, method: string, headers: Record<string, string>, body?: Buffer | string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const sent = { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
    const req = http.request(url, { method, headers: sent, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const received = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) received.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
        resolve({ status: res.statusCode ?? 0, headers: received, bytes: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
