/** Request schemas shared by validation and the OpenAPI document. */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_PAGE } from '../ra/instances.js';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable error code, e.g. DOMAIN_INVALID' }),
      message: Type.String({ description: 'What went wrong and what to fix' }),
      field: Type.Optional(Type.String({ description: 'The request field the error is about' })),
      details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  },
  { $id: 'Error' },
);

export const errorResponses = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  403: Type.Ref('Error'),
  404: Type.Ref('Error'),
  409: Type.Ref('Error'),
};

/**
 * A success reply other than 200, for the OpenAPI document. The schema takes
 * any value, so the reply is written as the route returns it.
 */
export const successReply = (status: 201 | 204, description: string) => ({ [status]: Type.Unknown({ description }) });

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
export type IdParams = Static<typeof IdParams>;

export const Status = Type.Union(
  ['pending_application', 'domain_verification', 'under_review', 'issued', 'validation_failed', 'revoked'].map((s) => Type.Literal(s)),
);

export const CreateInstanceBody = Type.Object({
  owner: Type.Optional(Type.String({ description: 'Email of the subscriber who receives the instance (admins); subscribers buying for themselves may omit it' })),
  product: Type.String({ description: 'Validation level: dv, ov or ev' }),
  domainType: Type.String({ description: 'single, wildcard or multi' }),
  domainCount: Type.Optional(Type.Integer({ description: 'How many names a multi-domain instance covers (2-250)' })),
  termMonths: Type.Optional(Type.Integer({ description: 'Purchased term in months (default 12)' })),
});
export type CreateInstanceBody = Static<typeof CreateInstanceBody>;

export const ListInstancesQuery = Type.Object({
  status: Type.Optional(Type.String({ description: 'Filter by status' })),
  domain: Type.Optional(Type.String({ description: 'Search bound names containing this text' })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
export type ListInstancesQuery = Static<typeof ListInstancesQuery>;

const Contact = Type.Object({
  name: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  phone: Type.Optional(Type.String()),
  idNumber: Type.Optional(Type.String()),
});

const Organization = Type.Object({
  name: Type.Optional(Type.String()),
  type: Type.Optional(Type.String({ description: 'private, government, business or non_commercial' })),
  phone: Type.Optional(Type.String()),
  registrationNumber: Type.Optional(Type.String()),
  country: Type.Optional(Type.String({ description: 'ISO 3166-1 alpha-2 code of an assigned country (or XX, as the Baseline Requirements allow); any other value is refused with COUNTRY_INVALID' })),
  state: Type.Optional(Type.String()),
  city: Type.Optional(Type.String()),
  address: Type.Optional(Type.String()),
  zipCode: Type.Optional(Type.String()),
});

const CsrChoice = Type.Object({
  mode: Type.String({ description: 'auto (certdesk generates and keeps the key, encrypted) or manual (paste a PEM CSR)' }),
  keyAlgorithm: Type.Optional(Type.String({ description: 'auto mode: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096' })),
  pem: Type.Optional(Type.String({ description: 'manual mode: the PEM CSR' })),
});

export const ApplicationBody = Type.Object({
  domains: Type.Union([Type.Array(Type.String()), Type.String()], { description: 'Names or IP addresses to bind: an array, or one string with one name per line' }),
  csr: CsrChoice,
  contact: Type.Optional(Contact),
  contactProfileId: Type.Optional(Type.String()),
  organization: Type.Optional(Organization),
  organizationProfileId: Type.Optional(Type.String()),
  saveContactAs: Type.Optional(Type.String({ description: 'Also save the contact as a profile with this name' })),
  saveOrganizationAs: Type.Optional(Type.String({ description: 'Also save the organization as a profile with this name' })),
});
export type ApplicationBody = Static<typeof ApplicationBody>;

export const ReissueBody = Type.Object({
  csr: Type.Optional(
    Type.Object(CsrChoice.properties, { description: 'The key of the new certificate. Left out: a new key of the same algorithm when certdesk holds the key, else the CSR pasted before' }),
  ),
});
export type ReissueBody = Static<typeof ReissueBody>;

export const CombineBody = Type.Object({ instanceIds: Type.Array(Type.String(), { minItems: 2, description: 'OV/EV instances to combine; the first one holds the application' }) });
export const DownloadQuery = Type.Object({ server: Type.String({ description: 'nginx, apache, iis, tomcat or other' }) });
export const RevokeBody = Type.Object({ reason: Type.Optional(Type.String({ description: 'unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation (admins also privilegeWithdrawn)' })) });
export const RejectBody = Type.Object({ reason: Type.String({ description: 'Shown to the subscriber, who fixes the application from it; 3 to 2,000 characters' }) });
export const PhoneBody = Type.Object({ result: Type.String({ description: 'reached, unreachable or not_required' }), note: Type.Optional(Type.String()) });
export const LoginBody = Type.Object({ email: Type.String(), password: Type.String() });
export const UserBody = Type.Object({ email: Type.String(), role: Type.String({ description: 'subscriber, reviewer or admin' }), password: Type.Optional(Type.String()) });
export const ProfileBody = Type.Object({ kind: Type.String({ description: 'contact or organization' }), name: Type.String(), data: Type.Object({}, { additionalProperties: true }) });
export const ProfileQuery = Type.Object({ kind: Type.Optional(Type.String()) });
export const ConfirmBody = Type.Object({ token: Type.String({ minLength: 1 }) });
export const SettingsBody = Type.Object({}, { additionalProperties: true, description: 'Any of smtpUrl (its password shows as ******** in replies; sent back so, the stored password is kept), mailFrom, dnsResolvers, selfServicePurchase, caaIdentities, allowIpAddresses, acmeExternalAccountRequired, acmeOrdersPerAccountPerHour, acmeOrdersPerDomainPerWeek' });
