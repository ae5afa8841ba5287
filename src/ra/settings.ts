/**
 * Operator settings kept in the database and editable by admins. Values given
 * on the command line override the stored ones for the life of the process.
 */
import { isIP } from 'node:net';
import { badRequest } from '../errors.js';
import type { Db } from '../store/database.js';
import { keepStoredSmtpPassword, maskSmtpPassword } from './smtp_password.js';

export interface Settings {
  /** smtp://user:pass@host:port; empty keeps mail in the outbox for admins to read. */
  smtpUrl: string;
  mailFrom: string;
  /** DNS servers used for domain validation and CAA, as IP or IP:PORT; empty = the system's. */
  dnsResolvers: string[];
  /** Let subscribers create their own instances instead of an admin granting them. */
  selfServicePurchase: boolean;
  /** Issuer domain names this CA recognises in CAA `issue` / `issuewild` records. */
  caaIdentities: string[];
  /** Whether IP addresses may be bound (validated by the file method only). */
  allowIpAddresses: boolean;
  /** ACME newAccount needs External Account Binding (an EAB key made for a subscriber). */
  acmeExternalAccountRequired: boolean;
  /** ACME rate limit: new orders one account may place per hour. */
  acmeOrdersPerAccountPerHour: number;
  /** ACME rate limit: new orders naming one registered domain per 7 days, across accounts. */
  acmeOrdersPerDomainPerWeek: number;
}

export const DEFAULT_SETTINGS: Settings = {
  smtpUrl: '',
  mailFrom: 'certdesk <no-reply@certdesk.local>',
  dnsResolvers: [],
  selfServicePurchase: false,
  caaIdentities: ['certdesk.local'],
  allowIpAddresses: true,
  acmeExternalAccountRequired: true,
  acmeOrdersPerAccountPerHour: 300,
  acmeOrdersPerDomainPerWeek: 50,
};

export function checkResolver(value: string, field: string): string {
  const v = value.trim();
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(v) ?? /^([0-9.]+)(?::(\d+))?$/.exec(v) ?? /^([0-9a-fA-F:]+)()$/.exec(v);
  const port = m?.[2] ? Number(m[2]) : 53;
  if (!m || !m[1] || isIP(m[1]) === 0 || port < 1 || port > 65535) {
    throw badRequest('RESOLVER_INVALID', `"${value}" is not a DNS server address; use IP or IP:PORT, e.g. 1.1.1.1 or 127.0.0.1:5353.`, field);
  }
  return v;
}

function checkPatch(patch: Record<string, unknown>): Partial<Settings> {
  const out: Partial<Settings> = {};
  for (const [key, value] of Object.entries(patch)) {
    const field = `settings.${key}`;
    switch (key) {
      case 'smtpUrl':
        if (typeof value !== 'string' || (value !== '' && !/^smtps?:\/\/[^\s]+$/.test(value))) {
          throw badRequest('SMTP_URL_INVALID', 'smtpUrl must be empty or an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.com:587.', field);
        }
        out.smtpUrl = value;
        break;
      case 'mailFrom':
        if (typeof value !== 'string' || !value.includes('@')) throw badRequest('MAIL_FROM_INVALID', 'mailFrom must be an email address, optionally with a name: "certdesk <ca@example.com>".', field);
        out.mailFrom = value;
        break;
      case 'dnsResolvers':
        if (!Array.isArray(value)) throw badRequest('RESOLVER_INVALID', 'dnsResolvers must be a list of IP or IP:PORT strings.', field);
        out.dnsResolvers = value.map((v, i) => checkResolver(String(v), `${field}[${i}]`));
        break;
      case 'caaIdentities':
        if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && /^[a-z0-9.-]+$/i.test(v))) {
          throw badRequest('CAA_IDENTITIES_INVALID', 'caaIdentities must be a non-empty list of domain names such as ["ca.example.com"].', field);
        }
        out.caaIdentities = value.map((v: string) => v.toLowerCase());
        break;
      case 'acmeOrdersPerAccountPerHour':
      case 'acmeOrdersPerDomainPerWeek':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw badRequest('SETTING_INVALID', `${key} must be a whole number of at least 1.`, field);
        out[key] = value;
        break;
      case 'selfServicePurchase':
      case 'allowIpAddresses':
      case 'acmeExternalAccountRequired':
        if (typeof value !== 'boolean') throw badRequest('SETTING_INVALID', `${key} must be true or false.`, field);
        out[key] = value;
        break;
      default:
        throw badRequest('SETTING_UNKNOWN', `There is no setting "${key}"; known settings are ${Object.keys(DEFAULT_SETTINGS).join(', ')}.`, field);
    }
  }
  return out;
}

export class SettingsStore {
  private stored: Partial<Settings> = {};

  constructor(
    private readonly db: Db,
    /** Values fixed by command-line flags. */
    readonly overrides: Partial<Settings>,
  ) {}

  async load(): Promise<void> {
    const rows = await this.db.selectFrom('settings').selectAll().execute();
    this.stored = Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)])) as Partial<Settings>;
  }

  current(): Settings {
    return { ...DEFAULT_SETTINGS, ...this.stored, ...this.overrides };
  }

  /** The settings as the API shows them: the SMTP password masked. */
  view(): Settings {
    const current = this.current();
    return { ...current, smtpUrl: maskSmtpPassword(current.smtpUrl) };
  }

  /** Changes the settings in `patch`; an smtpUrl sent with the masked password keeps the current one. */
  async update(patch: Record<string, unknown>): Promise<Settings> {
    const checked = checkPatch('smtpUrl' in patch ? { ...patch, smtpUrl: keepStoredSmtpPassword(patch.smtpUrl, this.current().smtpUrl) } : patch);
    for (const [key, value] of Object.entries(checked)) {
      const json = JSON.stringify(value);
      await this.db
        .insertInto('settings')
        .values({ key, value: json })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: json }))
        .execute();
    }
    this.stored = { ...this.stored, ...checked };
    return this.view();
  }
}
