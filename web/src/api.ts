/** The console's one way to call the REST API: session cookie + CSRF header, errors as ApiError with the server's message. */
import type { RevocationReason } from '../../src/pki/crl.js';
import type { UserView } from '../../src/ra/accounts.js';
import type { DocumentKind } from '../../src/ra/documents.js';
import type { Problem } from '../../src/ra/application_checks.js';
import type { InstanceDetail } from '../../src/ra/instance_view.js';
import type { InstanceSummary } from '../../src/ra/instances.js';
import type { BoundName, NameQuota } from '../../src/ra/names.js';
import type { Overview } from '../../src/ra/overview.js';
import type { ProfileView } from '../../src/ra/profiles.js';
import type { ReviewQueueItem } from '../../src/ra/review_desk.js';
import type { Settings } from '../../src/ra/settings.js';
import type { TimelineEvent } from '../../src/ra/timeline.js';

export type { InstanceDetail, InstanceSummary, Overview, ProfileView, ReviewQueueItem, Settings, TimelineEvent, UserView, Problem, BoundName, NameQuota, RevocationReason, DocumentKind };
export type Status = InstanceSummary['status'];
export type Role = UserView['role'];

export interface Me {
  id: string;
  email: string;
  role: Role;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface Progress {
  status: Status;
  expectedIssueDate: InstanceSummary['expectedIssueDate'];
  failureReason: string | null;
  events: TimelineEvent[];
}

export interface ReviewDetail {
  instanceId: string;
  status: Status;
  product: 'ov' | 'ev';
  round: number;
  application: NonNullable<InstanceDetail['application']> | null;
  phoneVerification: { result: string; note: string; reviewer: string; at: string } | null;
  documents: InstanceDetail['documents'];
  validation: { domain: string; status: string; validatedAt: string | null }[];
  approvals: { reviewer: string; at: string }[];
  approvalsRequired: number;
  history: { round: number; decision: string; reason: string | null; reviewer: string; at: string }[];
  ownApplication: boolean;
}

export interface CaDescription {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  keyAlgorithm?: string;
  pem: string;
  [key: string]: unknown;
}

export interface DomainCheck {
  valid: boolean;
  names: BoundName[];
  quota: NameQuota;
  problem: Problem | null;
}

export interface CsrCheck {
  valid: boolean;
  commonName: string | null;
  names: string[];
  key: string | null;
  signatureAlgorithm: string | null;
  problem: Problem | null;
}

export interface OutboxMail {
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  createdAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const match = /(?:^|;\s*)certdesk_csrf=([^;]+)/.exec(document.cookie);
  return match?.[1] ? decodeURIComponent(match[1]) : '';
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'certdesk cannot be reached; check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? 'HTTP_' + res.status, err?.message ?? `The server answered ${res.status}.`, err?.field);
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T>(path: string) => api<T>('DELETE', path);
