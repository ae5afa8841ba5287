import type { CertificateAuthority } from '../ca/authority.js';
import type { KeyVault } from '../ca/key_vault.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Mailer } from '../notify/mailer.js';
import type { Db } from '../store/database.js';
import type { Durability } from '../store/group_commit_sqlite.js';
import type { Pipeline } from '../store/pipeline.js';
import type { DnsClient } from '../va/dns_client.js';
import type { KeyedMutex } from './keyed_mutex.js';
import type { SettingsStore } from './settings.js';
import type { TokenActors } from './token_actors.js';

/** What every part of the registration authority is handed: its collaborators, never globals. */
export interface RaContext {
  db: Db;
  /** Await before acknowledging what was written (replies, mail): SQLite commits in groups. */
  durability: Durability;
  /** Sends a step's statements to the database together. */
  pipeline: Pipeline;
  clock: Clock;
  vault: KeyVault;
  ca: CertificateAuthority;
  logger: Logger;
  settings: SettingsStore;
  /** Base URL of this service as users reach it (links in mail, AIA, CRL). */
  publicUrl: string;
  /** Port the HTTP file method is checked on: 80, except in tests. */
  dcvHttpPort: number;
  /** Port the ACME tls-alpn-01 challenge is checked on: 443, except in tests. */
  dcvTlsPort: number;
  dns(): DnsClient;
  mailer(): Mailer;
  locks: KeyedMutex;
  /** Who holds each API token, remembered for a few seconds. */
  tokenActors: TokenActors;
}
