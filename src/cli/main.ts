/** The certdesk command line: run the service and manage users and tokens on a data folder. */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { CertdeskError } from '../errors.js';
import { hasMasterKey } from '../ca/key_vault.js';
import { addUser, createToken, setPassword } from '../ra/accounts.js';
import { createEabKeyFor } from '../ra/acme/eab.js';
import { checkResolver, type Settings } from '../ra/settings.js';
import { openContext, startService } from '../service.js';
import { createLogger } from '../log.js';

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) throw new InvalidArgumentError('use HOST:PORT, e.g. 127.0.0.1:8443');
  return { host: (m[1] ?? m[2]) as string, port };
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 1 to 65535');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  try {
    return [...previous, checkResolver(value, '--dns-resolver')];
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

interface DataOptions {
  data: string;
  database?: string;
}

function withData(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data folder (SQLite database, master key)', './data')
    .option('--database <url>', 'postgres:// URL; default is SQLite in the data folder', process.env.CERTDESK_DATABASE_URL);
}

async function offline<T>(opts: DataOptions, work: (ctx: Awaited<ReturnType<typeof openContext>>['ctx']) => Promise<T>): Promise<T> {
  const dataDir = path.resolve(opts.data);
  // Only `serve` makes a data folder: a mistyped --data must not get a new master key and CA of its own.
  if (!hasMasterKey(dataDir)) {
    throw new CertdeskError('DATA_FOLDER_MISSING', `${dataDir} is not a certdesk data folder (it has no master.key); give --data the folder the service runs with ("certdesk serve" makes it on its first start).`);
  }
  const { ctx, db } = await openContext({
    dataDir,
    ...(opts.database ? { databaseUrl: opts.database } : {}),
    host: '127.0.0.1',
    port: 8443,
    logger: createLogger('warn'),
  });
  try {
    const since = ctx.durability.mark();
    const result = await work(ctx);
    // What the command prints tells of its writes: they are durable first.
    await ctx.durability.whenDurable(since);
    return result;
  } finally {
    await db.close();
  }
}

export function buildCli(): Command {
  const program = new Command('certdesk').description('Self-hosted TLS certificate service with its own CA').showHelpAfterError();

  withData(program.command('serve').description('run the service: REST API, CA files and the background validation schedule'))
    .option('--listen <host:port>', 'address to listen on', parseListen, { host: '127.0.0.1', port: 8443 })
    .option('--public-url <url>', 'base URL users reach this service at; used in the AIA and CRL URLs of certificates')
    .option('--dns-resolver <ip:port>', 'DNS server for domain validation and CAA (repeatable)', collect, [])
    .option('--dcv-http-port <n>', 'port the HTTP file method is checked on (tests only; default 80)', parsePort)
    .option('--dcv-tls-port <n>', 'port the ACME tls-alpn-01 challenge is checked on (tests only; default 443)', parsePort)
    .option('--smtp-url <url>', 'SMTP server for mail, e.g. smtp://user:pass@host:587; without it mail waits in the outbox')
    .option('--ca-key <type>', 'key type of a new CA hierarchy: ecdsa or rsa', 'ecdsa')
    .option('--admin-email <email>', 'email of the admin account created on first start', 'admin@certdesk.local')
    .action(async (opts: DataOptions & { listen: { host: string; port: number }; publicUrl?: string; dnsResolver: string[]; dcvHttpPort?: number; dcvTlsPort?: number; smtpUrl?: string; caKey: string; adminEmail: string }) => {
      if (opts.caKey !== 'ecdsa' && opts.caKey !== 'rsa') throw new InvalidArgumentError('--ca-key must be ecdsa or rsa');
      const overrides: Partial<Settings> = {};
      if (opts.dnsResolver.length > 0) overrides.dnsResolvers = opts.dnsResolver;
      if (opts.smtpUrl) overrides.smtpUrl = opts.smtpUrl;
      const service = await startService({
        dataDir: path.resolve(opts.data),
        ...(opts.database ? { databaseUrl: opts.database } : {}),
        host: opts.listen.host,
        port: opts.listen.port,
        ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
        ...(opts.dcvHttpPort ? { dcvHttpPort: opts.dcvHttpPort } : {}),
        ...(opts.dcvTlsPort ? { dcvTlsPort: opts.dcvTlsPort } : {}),
        caKeyAlgorithm: opts.caKey,
        adminEmail: opts.adminEmail,
        settingsOverrides: overrides,
      });
      const lines = [
        '',
        `certdesk is running at ${service.url}`,
        `  console:  ${service.url}/`,
        `  REST API: ${service.url}/api/v1  (OpenAPI: ${service.url}/api/v1/openapi.json)`,
        `  CA files: ${service.url}/ca/root.pem  ${service.url}/ca/chain.pem`,
        `  ACME:     ${service.ctx.publicUrl}/acme/directory  (EAB key: npx certdesk acme eab create --data ${opts.data} --email EMAIL)`,
        `  data:     ${path.resolve(opts.data)}${opts.database ? ` (database: PostgreSQL)` : ' (SQLite)'}`,
      ];
      if (service.firstStart) {
        lines.push(`  log in:   ${service.firstStart.adminEmail} / ${service.firstStart.adminPassword}   (shown once; change it with "certdesk user password")`);
      } else {
        lines.push(`  log in:   with your account; forgot the admin password? run: npx certdesk user password --data ${opts.data} --email ${opts.adminEmail}`);
      }
      lines.push(`  API token for scripts: npx certdesk token create --data ${opts.data} --email ${service.firstStart?.adminEmail ?? opts.adminEmail}`, '');
      process.stdout.write(lines.join('\n') + '\n');
      const shutdown = () => {
        void service.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });

  const user = program.command('user').description('manage users');
  withData(user.command('add').description('add a user'))
    .requiredOption('--email <email>', 'email address (the login name)')
    .requiredOption('--role <role>', 'subscriber, reviewer or admin')
    .option('--password <password>', 'password for signing in (at least 10 characters); without it the user signs in with API tokens only')
    .action(async (opts: DataOptions & { email: string; role: string; password?: string }) => {
      const created = await offline(opts, (ctx) => addUser(ctx, { email: opts.email, role: opts.role, ...(opts.password ? { password: opts.password } : {}) }));
      process.stdout.write(`added ${created.role} ${created.email}\n${created.id}\n`);
    });
  withData(user.command('password').description('set a new random password for a user and print it'))
    .requiredOption('--email <email>', 'email address')
    .action(async (opts: DataOptions & { email: string }) => {
      const password = await offline(opts, (ctx) => setPassword(ctx, opts.email));
      process.stdout.write(`new password for ${opts.email}:\n${password}\n`);
    });

  withData(program.command('token').description('manage API tokens').command('create').description('create an API token; the last line printed is the token'))
    .requiredOption('--email <email>', 'the user the token acts as')
    .option('--label <label>', 'what the token is for', 'cli')
    .action(async (opts: DataOptions & { email: string; label: string }) => {
      const token = await offline(opts, (ctx) => createToken(ctx, opts.email, opts.label));
      process.stdout.write(`API token for ${opts.email} (send it as "Authorization: Bearer TOKEN"; it is shown only now):\n${token}\n`);
    });

  withData(program.command('acme').description('ACME endpoint administration').command('eab').description('External Account Binding keys').command('create').description('create an EAB key for a subscriber; the last two lines are "kid: ..." and "hmac: ..."'))
    .requiredOption('--email <email>', 'the subscriber whose DV instances the ACME orders draw on')
    .option('--instance <id>', 'draw only on this instance')
    .action(async (opts: DataOptions & { email: string; instance?: string }) => {
      const key = await offline(opts, (ctx) => createEabKeyFor(ctx, opts.email, opts.instance));
      process.stdout.write(
        `EAB key for ${opts.email}${key.instanceId ? ` (instance ${key.instanceId})` : ''}; give both values to your ACME client (certbot --eab-kid/--eab-hmac-key, lego --kid/--hmac). The HMAC key is shown only now:\nkid: ${key.kid}\nhmac: ${key.hmacKey}\n`,
      );
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CertdeskError) {
      process.stderr.write(`error: ${err.message} (${err.code})\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
