import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CertdeskError } from '../../src/errors.js';
import { checkContact, checkOrganization } from '../../src/ra/applicant.js';

const contact = { name: 'Alice', email: 'Alice@Example.com', phone: '+86 571 8502 2088', idNumber: 'X1' };
const organization = { name: 'Example Co', type: 'business', phone: '+1 (415) 555-0100', registrationNumber: 'R1', country: 'us', state: 'CA', city: 'SF', address: '1 Main St', zipCode: '94105' };

function code(fn: () => unknown): [string, string | undefined] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CertdeskError);
    assert.equal(err.status, 400);
    return [err.code, err.field];
  }
  throw new Error('expected an error');
}

describe('applicant data', () => {
  test('a complete contact is normalized', () => {
    assert.deepEqual(checkContact(contact), { ...contact, email: 'alice@example.com' });
  });

  test('each missing or malformed contact field names itself', () => {
    assert.deepEqual(code(() => checkContact(null)), ['FIELD_REQUIRED', 'contact']);
    assert.deepEqual(code(() => checkContact({ ...contact, name: ' ' })), ['FIELD_REQUIRED', 'contact.name']);
    assert.deepEqual(code(() => checkContact({ ...contact, email: 'alice' })), ['EMAIL_INVALID', 'contact.email']);
    assert.deepEqual(code(() => checkContact({ ...contact, phone: 'call me' })), ['PHONE_INVALID', 'contact.phone']);
    assert.deepEqual(code(() => checkContact({ ...contact, idNumber: 42 })), ['FIELD_REQUIRED', 'contact.idNumber']);
    assert.deepEqual(code(() => checkContact({ ...contact, name: 'x'.repeat(101) })), ['FIELD_TOO_LONG', 'contact.name']);
  });

  test('an organization needs every field; the country is an ISO code', () => {
    assert.equal(checkOrganization(organization).country, 'US');
    assert.deepEqual(code(() => checkOrganization(undefined)), ['ORGANIZATION_REQUIRED', 'organization']);
    assert.deepEqual(code(() => checkOrganization({ ...organization, type: 'club' })), ['ORGANIZATION_TYPE_INVALID', 'organization.type']);
    for (const country of ['U1', 'zz', 'QQ', 'AA', 'UK', 'EU', 'China', 'USA']) {
      assert.deepEqual(code(() => checkOrganization({ ...organization, country })), ['COUNTRY_INVALID', 'organization.country'], country);
    }
    for (const country of ['cn', ' GB ', 'XX', 'AX', 'ZW']) assert.equal(checkOrganization({ ...organization, country }).country, country.trim().toUpperCase());
    assert.throws(() => checkOrganization({ ...organization, country: 'China' }), /"CHINA" is not an ISO 3166-1 country code; give the two-letter code/);
    for (const field of ['name', 'phone', 'registrationNumber', 'state', 'city', 'address', 'zipCode']) {
      assert.equal(code(() => checkOrganization({ ...organization, [field]: '' }))[1], `organization.${field}`);
    }
  });
});
