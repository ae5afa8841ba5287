/**
 * Row types of every table. Timestamps are ISO-8601 strings (sortable, and the
 * same on SQLite and PostgreSQL); structured fields are JSON text.
 */
import type { Generated } from 'kysely';

export type Role = 'subscriber' | 'reviewer' | 'admin';
export type Product = 'dv' | 'ov' | 'ev';
export type DomainType = 'single' | 'wildcard' | 'multi';
export type InstanceStatus =
  | 'pending_application'
  | 'domain_verification'
  | 'under_review'
  | 'issued'
  | 'validation_failed'
  | 'revoked';

export interface UserTable {
  id: string;
  email: string;
  role: Role;
  password_hash: string | null;
  created_at: string;
}

export interface ApiTokenTable {
  id: string;
  user_id: string;
  token_hash: string;
  label: string;
  created_at: string;
}

export interface InstanceTable {
  id: string;
  owner_id: string;
  product: Product;
  domain_type: DomainType;
  domain_count: number;
  term_months: number;
  status: InstanceStatus;
  /** Set on an instance whose quota was folded into another's combined application. */
  combined_into: string | null;
  /** Names bound by the current application, space separated, for search. */
  domains_text: string;
  submission_round: number;
  submitted_at: string | null;
  expected_issue_earliest: string | null;
  expected_issue_latest: string | null;
  failure_reason: string | null;
  certificate_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface ApplicationTable {
  instance_id: string;
  /** JSON BoundName[] */
  domains: string;
  /** JSON Contact */
  contact: string;
  /** JSON Organization | null */
  organization: string | null;
  csr_mode: 'auto' | 'manual';
  key_algorithm: string | null;
  csr_pem: string | null;
  /** Private key sealed with the master key (auto mode only). */
  key_sealed: string | null;
  email_confirm_token_hash: string | null;
  email_confirmed_at: string | null;
  /** JSON PhoneVerification | null */
  phone_verification: string | null;
  updated_at: string;
}

export interface ValidationTable {
  id: string;
  instance_id: string;
  domain: string;
  token: string;
  dns_name: string | null;
  dns_value: string | null;
  file_url: string | null;
  file_content: string | null;
  status: 'pending' | 'valid' | 'invalid';
  /** JSON CheckResult[] of the last check (one per method tried). */
  last_results: string | null;
  attempts: number;
  next_check_at: string | null;
  validated_at: string | null;
  deadline: string;
}

export interface DocumentTable {
  id: string;
  instance_id: string;
  kind: string;
  file_name: string;
  mime: string;
  size: number;
  content: Buffer;
  created_at: string;
}

export interface ReviewTable {
  id: string;
  instance_id: string;
  reviewer_id: string;
  round: number;
  decision: 'approve' | 'reject';
  reason: string | null;
  created_at: string;
}

export interface EventTable {
  id: Generated<number>;
  instance_id: string;
  type: string;
  message: string;
  /** JSON object | null */
  data: string | null;
  actor_id: string | null;
  at: string;
}

export interface CertificateTable {
  id: string;
  instance_id: string;
  owner_id: string;
  serial: string;
  common_name: string;
  /** JSON string[] */
  names: string;
  not_before: string;
  not_after: string;
  issuer: string;
  key_algorithm: string;
  signature_algorithm: string;
  sha1: string;
  sha256: string;
  pem: string;
  chain_pem: string;
  key_sealed: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  created_at: string;
}

export interface ProfileTable {
  id: string;
  owner_id: string;
  kind: 'contact' | 'organization';
  name: string;
  /** JSON Contact | Organization */
  data: string;
  created_at: string;
}

export interface OutboxTable {
  id: string;
  sender: string;
  recipient: string;
  subject: string;
  text: string;
  html: string | null;
  created_at: string;
}

export interface SettingTable {
  key: string;
  /** JSON value */
  value: string;
}

export interface AuthorityTable {
  id: string;
  kind: 'root' | 'intermediate';
  cert_pem: string;
  key_sealed: string;
  created_at: string;
}

export interface AcmeEabKeyTable {
  /** The key id handed to ACME clients (`--eab-kid`). */
  id: string;
  owner_id: string;
  /** Orders of accounts bound with this key draw only on this instance, when set. */
  instance_id: string | null;
  /** The HMAC key (base64url) sealed with the master key. */
  hmac_sealed: string;
  created_at: string;
  last_used_at: string | null;
}

export type AcmeAccountStatus = 'valid' | 'deactivated' | 'revoked';

export interface AcmeAccountTable {
  id: string;
  /** The subscriber whose instances the account's orders draw on; null for accounts made without EAB. */
  owner_id: string | null;
  eab_kid: string | null;
  /** JSON public JWK */
  jwk: string;
  /** RFC 7638 SHA-256 thumbprint of the JWK, base64url. */
  thumbprint: string;
  /** JSON string[] of mailto: URLs */
  contact: string;
  status: AcmeAccountStatus;
  created_at: string;
}

export type AcmeOrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

export interface AcmeOrderTable {
  id: string;
  account_id: string;
  instance_id: string;
  /** JSON { type: 'dns', value: string }[] */
  identifiers: string;
  /** JSON string[] */
  authorization_ids: string;
  status: AcmeOrderStatus;
  expires: string;
  /** JSON problem document | null */
  error: string | null;
  certificate_id: string | null;
  /** ARI certID of the certificate this order replaces, as the client sent it. */
  replaces: string | null;
  replaces_certificate_id: string | null;
  created_at: string;
}

export type AcmeAuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';

export interface AcmeAuthorizationTable {
  id: string;
  account_id: string;
  /** The DNS name without any `*.` prefix. */
  identifier: string;
  /** 1 when the order asked for `*.identifier`. */
  wildcard: number;
  status: AcmeAuthorizationStatus;
  expires: string;
  created_at: string;
}

export type AcmeChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export interface AcmeChallengeTable {
  id: string;
  authorization_id: string;
  type: AcmeChallengeType;
  token: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  validated_at: string | null;
  /** JSON problem document | null */
  error: string | null;
}

/** One counted action (a new order) in a rate-limit bucket such as `account:ID` or `domain:example.com`. */
export interface AcmeRateEventTable {
  bucket: string;
  at: string;
}

/** Live (not combined) instances per owner and status, kept by triggers; owner '*' counts all owners. Sum over `shard`. */
export interface InstanceCountTable {
  owner_id: string;
  status: InstanceStatus;
  shard: number;
  n: number | string;
}

/** Each bound name of an instance and its parent names down to the registrable level, kept by triggers, for domain search. */
export interface InstanceTermTable {
  term: string;
  instance_id: string;
}

export interface Database {
  users: UserTable;
  api_tokens: ApiTokenTable;
  instances: InstanceTable;
  instance_counts: InstanceCountTable;
  instance_terms: InstanceTermTable;
  applications: ApplicationTable;
  validations: ValidationTable;
  documents: DocumentTable;
  reviews: ReviewTable;
  events: EventTable;
  certificates: CertificateTable;
  profiles: ProfileTable;
  outbox: OutboxTable;
  settings: SettingTable;
  authorities: AuthorityTable;
  acme_eab_keys: AcmeEabKeyTable;
  acme_accounts: AcmeAccountTable;
  acme_orders: AcmeOrderTable;
  acme_authorizations: AcmeAuthorizationTable;
  acme_challenges: AcmeChallengeTable;
  acme_rate_events: AcmeRateEventTable;
}
