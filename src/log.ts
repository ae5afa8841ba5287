/** The one logger. Fields that could carry secrets are redacted before anything is written. */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.CERTDESK_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.privateKeyPem',
        '*.password',
        '*.pem',
        'privateKeyPem',
        'password',
        'token',
      ],
      censor: '[redacted]',
    },
  });
}
