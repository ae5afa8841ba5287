import type { Clock } from '../clock.js';

/** What one domain control check saw; stored on the instance's timeline and shown to the customer. */
export interface CheckResult {
  method: 'dns' | 'http' | 'tls-alpn';
  ok: boolean;
  /** ISO 8601 time of the check, from the injected clock. */
  checkedAt: string;
  expected: string;
  found: string[];
  reason?: CheckFailureReason;
  /** Says what was found versus what was expected and what to fix. */
  message: string;
}

export type CheckFailureReason =
  | 'NXDOMAIN'
  | 'NO_RECORD'
  | 'WRONG_VALUE'
  | 'DNS_ERROR'
  | 'TIMEOUT'
  | 'HTTP_STATUS'
  | 'CONNECTION_FAILED'
  | 'WRONG_CONTENT'
  | 'NO_ADDRESS'
  | 'TLS_HANDSHAKE'
  | 'WRONG_CERTIFICATE';

export function passedCheck(clock: Clock, method: CheckResult['method'], expected: string, found: string[], message: string): CheckResult {
  return { method, ok: true, checkedAt: clock.now().toISOString(), expected, found, message };
}

export function failedCheck(
  clock: Clock,
  method: CheckResult['method'],
  expected: string,
  found: string[],
  reason: CheckFailureReason,
  message: string,
): CheckResult {
  return { method, ok: false, checkedAt: clock.now().toISOString(), expected, found, reason, message };
}
