/**
 * The instance lifecycle. One pure function decides every status change;
 * the registration authority asks it before writing anything.
 *
 *   pending_application --submit--> domain_verification (DV) | under_review (OV/EV)
 *   domain_verification | under_review --issue--> issued --revoke--> revoked
 *   domain_verification | under_review --fail--> validation_failed --submit--> ...
 *   domain_verification | under_review | validation_failed --withdraw--> pending_application
 *   issued --reissue--> domain_verification (DV) | under_review (OV/EV), within the purchased term
 *
 * An instance that holds a certificate keeps it, downloadable, while it is
 * reissued; withdrawing a reissue returns it to issued (ra/applications.ts).
 */
import { CertdeskError } from '../errors.js';
import type { InstanceStatus, Product } from '../store/schema.js';

export type LifecycleAction =
  | 'edit'
  | 'combine'
  | 'submit'
  | 'verify'
  | 'confirm_email'
  | 'review'
  | 'issue'
  | 'fail'
  | 'withdraw'
  | 'revoke'
  | 'reissue'
  | 'download';

export const STATUSES: readonly InstanceStatus[] = [
  'pending_application',
  'domain_verification',
  'under_review',
  'issued',
  'validation_failed',
  'revoked',
];

const IN_PROGRESS: readonly InstanceStatus[] = ['domain_verification', 'under_review'];

/** Which statuses each action may start from (the product decides only `submit`'s target). */
const ALLOWED_FROM: Record<LifecycleAction, readonly InstanceStatus[]> = {
  edit: ['pending_application', 'validation_failed'],
  combine: ['pending_application'],
  submit: ['pending_application', 'validation_failed'],
  verify: IN_PROGRESS,
  confirm_email: ['under_review'],
  review: ['under_review'],
  issue: IN_PROGRESS,
  fail: IN_PROGRESS,
  withdraw: ['domain_verification', 'under_review', 'validation_failed'],
  // While a reissue is under way the instance still holds its certificate, which stays revocable.
  revoke: ['issued', 'domain_verification', 'under_review', 'validation_failed'],
  reissue: ['issued'],
  // Whether there is a certificate to download is the instance's (see availableActions): a reissue keeps the one it has.
  download: ['issued', 'revoked', 'domain_verification', 'under_review', 'validation_failed'],
};

const WHY_NOT: Record<LifecycleAction, string> = {
  edit: 'The application can be modified only before it is submitted or after validation failed; withdraw it first.',
  combine: 'Only instances that are pending application can be combined.',
  submit: 'Only an application that is pending or has failed validation can be submitted.',
  verify: 'Domain control can be verified only while the application is in domain verification or under review.',
  confirm_email: 'The confirmation link works only while the application is under review.',
  review: 'Only applications under review can be reviewed.',
  issue: 'Only an application in domain verification or under review can be issued.',
  fail: 'Only an application in progress can fail validation.',
  withdraw: 'Only a submitted application that is not yet issued can be withdrawn.',
  revoke: 'Only an issued certificate can be revoked.',
  reissue: 'Only an issued certificate can be reissued.',
  download: 'The certificate can be downloaded once it is issued.',
};

export function isAllowed(action: LifecycleAction, from: InstanceStatus): boolean {
  return ALLOWED_FROM[action].includes(from);
}

/** Returns the status after `action`, or throws a 409 that says why the action is not possible now. */
export function nextStatus(from: InstanceStatus, action: LifecycleAction, product: Product): InstanceStatus {
  if (!isAllowed(action, from)) {
    const afterIssuance = from === 'issued' || from === 'revoked';
    if (action === 'withdraw' && afterIssuance) {
      throw new CertdeskError('WITHDRAW_AFTER_ISSUANCE', 'The certificate has already been issued; an issued certificate cannot be withdrawn. Revoke it instead if it must no longer be trusted.', { status: 409 });
    }
    if (action === 'edit' && afterIssuance) {
      throw new CertdeskError('INVALID_STATE', `The application of an issued certificate cannot be changed; for other names or another key, apply with another instance. The instance is ${from}.`, {
        status: 409,
        details: { status: from, action },
      });
    }
    throw new CertdeskError('INVALID_STATE', `${WHY_NOT[action]} The instance is ${from}.`, { status: 409, details: { status: from, action } });
  }
  switch (action) {
    case 'submit':
    case 'reissue':
      return product === 'dv' ? 'domain_verification' : 'under_review';
    case 'issue':
      return 'issued';
    case 'fail':
      return 'validation_failed';
    case 'withdraw':
      return 'pending_application';
    case 'revoke':
      // During a reissue the instance goes on towards its new certificate.
      return from === 'issued' ? 'revoked' : from;
    default:
      return from;
  }
}

/** Actions the CA side or the applicant's mail takes, never offered as buttons to a subscriber. */
const NOT_SUBSCRIBER_ACTIONS: readonly LifecycleAction[] = ['issue', 'fail', 'review', 'confirm_email'];

/** Actions only some products have: the seed combines OV and EV instances, never DV ones. */
const ONLY_FOR: Partial<Record<LifecycleAction, readonly Product[]>> = { combine: ['ov', 'ev'] };

/** Actions that need a certificate on the instance. */
const NEED_CERTIFICATE: readonly LifecycleAction[] = ['download', 'revoke', 'reissue'];

/** The actions a subscriber may take on an instance of this product in this status, for the API and console. */
export function availableActions(status: InstanceStatus, product: Product, hasCertificate: boolean): LifecycleAction[] {
  return (Object.keys(ALLOWED_FROM) as LifecycleAction[]).filter(
    (a) => isAllowed(a, status) && !NOT_SUBSCRIBER_ACTIONS.includes(a) && (ONLY_FOR[a]?.includes(product) ?? true) && (hasCertificate || !NEED_CERTIFICATE.includes(a)),
  );
}
