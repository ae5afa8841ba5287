// The mails certdesk sends to applicants. Pure: each returns a plain-text body and a simple HTML one.
import type { ValidationLevel } from '../pki/profile.js';
import type { OutgoingMail } from './mailer.js';

const PRODUCT_NAMES: Record<ValidationLevel, string> = {
  dv: 'Domain Validated (DV)',
  ov: 'Organization Validated (OV)',
  ev: 'Extended Validation (EV)',
};

export interface ConfirmationMailInput {
  applicantName: string;
  to: string;
  domains: string[];
  product: ValidationLevel;
  confirmUrl: string;
  instanceId: string;
}

export function confirmationMail(input: ConfirmationMailInput): OutgoingMail {
  const product = PRODUCT_NAMES[input.product];
  const reviewed = input.product !== 'dv';
  const paragraphs = [
    `Hello ${input.applicantName},`,
    `You applied for a ${product} SSL/TLS certificate (certificate ${input.instanceId}) for:`,
    { list: input.domains },
    'Please confirm that you made this request by opening this link:',
    { link: input.confirmUrl },
    ...(reviewed
      ? [
          'After you confirm, a reviewer of the certificate authority checks your organization and may phone you at the number you gave to verify the request.',
          "The certificate is issued only once control of each domain is proven too: publish the DNS TXT record or the validation file shown on the certificate's page.",
        ]
      : []),
    'If you did not apply for this certificate, ignore this mail; nothing is issued without your confirmation.',
  ];
  return compose(input.to, `Confirm your certificate request for ${domainSummary(input.domains)}`, paragraphs);
}

export interface IssuedMailInput {
  applicantName: string;
  to: string;
  domains: string[];
  instanceId: string;
  notAfter: Date;
  detailsUrl: string;
}

export function issuedMail(input: IssuedMailInput): OutgoingMail {
  return compose(input.to, `Your certificate for ${domainSummary(input.domains)} is issued`, [
    `Hello ${input.applicantName},`,
    `Your certificate ${input.instanceId} has been issued for:`,
    { list: input.domains },
    `It is valid until ${input.notAfter.toISOString().slice(0, 10)}. Download it for your server type here:`,
    { link: input.detailsUrl },
  ]);
}

export interface RejectedMailInput {
  applicantName: string;
  to: string;
  domains: string[];
  instanceId: string;
  reason: string;
  detailsUrl: string;
}

export function rejectedMail(input: RejectedMailInput): OutgoingMail {
  return compose(input.to, `Your certificate request for ${domainSummary(input.domains)} was not approved`, [
    `Hello ${input.applicantName},`,
    `Your request for certificate ${input.instanceId} was not approved. The reason given:`,
    { quote: input.reason },
    'You can correct the application and submit it again here:',
    { link: input.detailsUrl },
  ]);
}

type Block = string | { list: string[] } | { link: string } | { quote: string };

function domainSummary(domains: string[]): string {
  const first = domains[0] ?? '';
  return domains.length > 1 ? `${first} and ${domains.length - 1} more` : first;
}

function compose(to: string, subject: string, blocks: Block[]): OutgoingMail {
  const text = blocks.map(blockText).join('\n\n') + '\n\n-- \ncertdesk\n';
  const html =
    '<!DOCTYPE html><html><body style="font-family:sans-serif">' +
    blocks.map(blockHtml).join('') +
    '<p style="color:#666">certdesk</p></body></html>';
  return { to, subject, text, html };
}

function blockText(block: Block): string {
  if (typeof block === 'string') return block;
  if ('list' in block) return block.list.map((item) => `  - ${item}`).join('\n');
  if ('link' in block) return `  ${block.link}`;
  return block.quote
    .split('\n')
    .map((line) => `  > ${line}`)
    .join('\n');
}

function blockHtml(block: Block): string {
  if (typeof block === 'string') return `<p>${escapeHtml(block)}</p>`;
  if ('list' in block) return `<ul>${block.list.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;
  if ('link' in block) return `<p><a href="${escapeHtml(block.link)}">${escapeHtml(block.link)}</a></p>`;
  return `<blockquote>${escapeHtml(block.quote)}</blockquote>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
