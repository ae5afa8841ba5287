/**
 * The applicant's contact and organization data: what the seed's "Apply for
 * Certificate" panel asks for, and the checks that tell the user what to fix.
 */
import { badRequest } from '../errors.js';
import { isCountryCode } from '../pki/countries.js';

export interface Contact {
  name: string;
  email: string;
  phone: string;
  idNumber: string;
}

export const ORGANIZATION_TYPES = ['private', 'government', 'business', 'non_commercial'] as const;
export type OrganizationType = (typeof ORGANIZATION_TYPES)[number];

export interface Organization {
  name: string;
  type: OrganizationType;
  phone: string;
  registrationNumber: string;
  /** ISO 3166-1 alpha-2 country code. */
  country: string;
  state: string;
  city: string;
  address: string;
  zipCode: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9][0-9 ()-]{5,24}$/;

function text(value: unknown, field: string, label: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw badRequest('FIELD_REQUIRED', `${label} is required.`, field);
  }
  const trimmed = value.trim();
  if (trimmed.length > max) throw badRequest('FIELD_TOO_LONG', `${label} must be at most ${max} characters.`, field);
  return trimmed;
}

function phone(value: unknown, field: string, label: string): string {
  const p = text(value, field, label, 32);
  if (!PHONE.test(p)) {
    throw badRequest('PHONE_INVALID', `${label} "${p}" is not a phone number; use digits with an optional leading + and country code, e.g. +86 571 8502 2088.`, field);
  }
  return p;
}

export function checkContact(input: unknown, field = 'contact'): Contact {
  const c = (input ?? {}) as Record<string, unknown>;
  if (typeof input !== 'object' || input === null) throw badRequest('FIELD_REQUIRED', 'The contact (name, email, phone, ID number) is required.', field);
  const email = text(c.email, `${field}.email`, 'The applicant email', 254).toLowerCase();
  if (!EMAIL.test(email)) {
    throw badRequest('EMAIL_INVALID', `"${email}" is not an email address; the CA sends the verification email there.`, `${field}.email`);
  }
  return {
    name: text(c.name, `${field}.name`, 'The applicant name', 100),
    email,
    phone: phone(c.phone, `${field}.phone`, "The applicant's phone"),
    idNumber: text(c.idNumber, `${field}.idNumber`, "The applicant's ID number", 64),
  };
}

export function checkOrganization(input: unknown, field = 'organization'): Organization {
  if (typeof input !== 'object' || input === null) {
    throw badRequest('ORGANIZATION_REQUIRED', 'OV and EV certificates need the organization: name, type, phone, registration number, location, address and zip code.', field);
  }
  const o = input as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !(ORGANIZATION_TYPES as readonly string[]).includes(type)) {
    throw badRequest('ORGANIZATION_TYPE_INVALID', `The organization type must be one of ${ORGANIZATION_TYPES.join(', ')}.`, `${field}.type`);
  }
  const country = text(o.country, `${field}.country`, 'The country', 64).toUpperCase();
  if (!isCountryCode(country)) {
    throw badRequest('COUNTRY_INVALID', `"${country}" is not an ISO 3166-1 country code; give the two-letter code of the organization's country, such as CN or US.`, `${field}.country`);
  }
  return {
    name: text(o.name, `${field}.name`, 'The organization name', 64),
    type: type as OrganizationType,
    phone: phone(o.phone, `${field}.phone`, 'The organization phone'),
    registrationNumber: text(o.registrationNumber, `${field}.registrationNumber`, 'The organization registration number', 64),
    country,
    state: text(o.state, `${field}.state`, 'The state or province', 128),
    city: text(o.city, `${field}.city`, 'The city', 128),
    address: text(o.address, `${field}.address`, 'The detailed address', 256),
    zipCode: text(o.zipCode, `${field}.zipCode`, 'The zip code', 16),
  };
}
