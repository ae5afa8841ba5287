/**
 * The SMTP password inside the smtpUrl setting never leaves the server: the
 * API shows it as a mask, and a URL sent back with the mask for its password
 * keeps the stored one, so a settings form saved as it was shown does not
 * overwrite the password with the mask.
 */
export const PASSWORD_MASK = '********';

function parsed(smtpUrl: string): URL | null {
  try {
    return new URL(smtpUrl);
  } catch {
    return null;
  }
}

/** smtp://user:********@host:port for a URL with a password; any other value as it is. */
export function maskSmtpPassword(smtpUrl: string): string {
  const url = parsed(smtpUrl);
  if (!url?.password) return smtpUrl;
  url.password = PASSWORD_MASK;
  return url.href;
}

/** `sent` with the mask for its password replaced by the password of `stored` (none if it has none); anything else as sent. */
export function keepStoredSmtpPassword(sent: unknown, stored: string): unknown {
  if (typeof sent !== 'string') return sent;
  const url = parsed(sent);
  if (url?.password !== PASSWORD_MASK) return sent;
  url.password = parsed(stored)?.password ?? '';
  return url.href;
}
