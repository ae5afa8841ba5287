import { execFile } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findProgram, makeTempDir, removeTempDir, startDaemon, startOnFreePort } from './daemon.js';

const run = promisify(execFile);
const UPDATES_PER_MESSAGE = 200;

export type Bind9RecordType = 'A' | 'AAAA' | 'TXT' | 'CAA' | 'CNAME';

export interface Bind9Server {
  /** '127.0.0.1:PORT', ready for createDnsClient({ servers: [address] }). */
  address: string;
  port: number;
  /**
   * Adds one record (TTL 1 unless given). `value` is in zone-file syntax
   * (CAA: `0 issue "certdesk.local"`), except TXT: give the text itself and it
   * is quoted for you; a TXT value that starts with `"` is passed as is (for
   * several chunks: `"ab" "cd"`).
   */
  addRecord(name: string, type: Bind9RecordType, value: string, ttl?: number): Promise<void>;
  /** Adds many records with one nsupdate run (a few hundred per update message), for benchmarks that publish a wave at once. */
  addRecords(records: { name: string; type: Bind9RecordType; value: string; ttl?: number }[]): Promise<void>;
  /** Deletes every record of `type` at `name`. */
  removeRecords(name: string, type: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real authoritative bind9 on 127.0.0.1 (UDP+TCP, a free port) serving the
 * given zones, empty but for SOA and NS, changed by nsupdate. It answers
 * authoritatively with no cache in between, and the SOA's negative TTL is 0,
 * so a lookup right after addRecord/removeRecords sees the change. Names
 * outside the zones get REFUSED (no recursion). Host-name rules are off, so
 * tests may put any record at any name (e.g. an A at `_dnsauth.x`).
 */
export interface Bind9Tsig {
  name: string;
  /** e.g. hmac-sha256 */
  algorithm: string;
  /** base64 */
  secret: string;
}

export async function startBind9(options: { zones: string[]; /** Also accept updates signed with this TSIG key (clients such as certbot's rfc2136 plugin insist on one). */ tsig?: Bind9Tsig }): Promise<Bind9Server> {
  const named = findProgram('named');
  const nsupdate = findProgram('nsupdate');
  const zones = options.zones.map((zone) => zone.toLowerCase().replace(/\.$/, ''));
  if (zones.length === 0) throw new Error('startBind9: give at least one zone');
  for (const zone of zones) {
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(zone)) throw new Error(`startBind9: "${zone}" is not a zone name`);
  }

  const dir = makeTempDir('bind9');
  try {
    for (const zone of zones) await writeFile(join(dir, `${zone}.zone`), zoneFile(zone));
    const { daemon, port } = await startOnFreePort(async (port) => {
      const config = join(dir, 'named.conf');
      await writeFile(config, namedConf(dir, port, zones, options.tsig));
      return startDaemon({
        name: 'named',
        program: named,
        // -g: foreground, log to stderr; -4: IPv4 only; -n 1: one worker is plenty.
        // Running as root needs no -u: named keeps the user that started it.
        args: ['-g', '-4', '-n', '1', '-c', config],
        cwd: dir,
        ready: () => answersSoa(port, zones[0] ?? ''),
      });
    });

    /** Runs one nsupdate over `updates` (name and command), one update message per zone and chunk. */
    const updateMany = async (updates: { name: string; command: string }[]) => {
      const messages: string[] = [];
      const byZone = new Map<string, string[]>();
      for (const { name, command } of updates) {
        const zone = zoneOf(name, zones);
        byZone.set(zone, [...(byZone.get(zone) ?? []), command]);
      }
      // An update message travels in one DNS message (at most 64 KB over TCP), so big batches go in chunks.
      for (const [zone, commands] of byZone) {
        for (let i = 0; i < commands.length; i += UPDATES_PER_MESSAGE) {
          messages.push(`zone ${zone}.\n${commands.slice(i, i + UPDATES_PER_MESSAGE).map((c) => `update ${c}\n`).join('')}send\n`);
        }
      }
      const script = `server 127.0.0.1 ${port}\ncheck-names no\n${messages.join('')}`;
      const child = run(nsupdate, ['-t', '5'], { timeout: 10_000 + updates.length * 10 });
      child.child.stdin?.end(script);
      try {
        await child;
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? '';
        throw new Error(`nsupdate "update ${updates[0]?.command ?? ''}"${updates.length > 1 ? ` (and ${updates.length - 1} more)` : ''} failed: ${stderr || String(error)}`);
      }
    };
    const update = (name: string, command: string) => updateMany([{ name, command }]);

    return {
      address: `127.0.0.1:${port}`,
      port,
      async addRecord(name, type, value, ttl = 1) {
        await update(name, `add ${absolute(name)} ${ttl} ${type} ${rdata(type, value)}`);
      },
      async addRecords(records) {
        if (records.length === 0) return;
        await updateMany(records.map((r) => ({ name: r.name, command: `add ${absolute(r.name)} ${r.ttl ?? 1} ${r.type} ${rdata(r.type, r.value)}` })));
      },
      async removeRecords(name, type) {
        if (!/^[A-Za-z0-9]+$/.test(type)) throw new Error(`removeRecords: "${type}" is not a record type`);
        await update(name, `delete ${absolute(name)} ${type}`);
      },
      async stop() {
        await daemon.stop();
        await removeTempDir(dir);
      },
    };
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

function namedConf(dir: string, port: number, zones: string[], tsig?: Bind9Tsig): string {
  const key = tsig ? `key "${tsig.name}" { algorithm ${tsig.algorithm}; secret "${tsig.secret}"; };\n` : '';
  const updaters = tsig ? `127.0.0.1; key "${tsig.name}";` : '127.0.0.1;';
  const zoneBlocks = zones.map((zone) => `zone "${zone}" { type master; file "${join(dir, `${zone}.zone`)}"; allow-update { ${updaters} }; };`);
  return `${key}options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  check-names master ignore;
};
controls { };
${zoneBlocks.join('\n')}
`;
}

/** SOA negative TTL 0: "no such name" is never cached by anyone. NS points outside the zone so the zone holds no other names. */
function zoneFile(zone: string): string {
  return `$TTL 1
@ IN SOA ns.invalid. hostmaster.${zone}. 1 3600 600 86400 0
@ IN NS ns.invalid.
`;
}

function answersSoa(port: number, zone: string): Promise<boolean> {
  const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver.resolveSoa(zone).then(() => true);
}

function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function zoneOf(name: string, zones: string[]): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  const zone = zones
    .filter((z) => lower === z || lower.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length)[0];
  if (!zone) throw new Error(`${name} is not inside the zones this bind9 serves (${zones.join(', ')})`);
  return zone;
}

function rdata(type: Bind9RecordType, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('addRecord: a record value must be one line');
  if (type === 'TXT' && !value.startsWith('"')) return `"${value.replace(/["\\]/g, '\\$&')}"`;
  if (type === 'CNAME') return absolute(value);
  return value;
}
