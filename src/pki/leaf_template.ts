/**
 * The leaf signing path's encoder. Most of a leaf's TBSCertificate is equal
 * for every leaf of one issuer, level, key type (RSA or not) and URL pair:
 * version, signature algorithm, issuer and seven of its nine extensions. A
 * LeafTemplate holds those bytes pre-encoded and linted once
 * (lintConstantParts); writeLeafTbs writes the varying parts (serial,
 * validity, subject, SPKI, SKI, SAN) around them and returns them as written,
 * for lintVaryingParts. Unit tests hold the bytes equal to AsnSerializer's
 * encoding of buildLeafTbs.
 */
import { Version } from '@peculiar/asn1-x509';
import { TAG, derNode, encodeDer, tlv, unsignedIntegerContent } from './der.js';
import { extensionNode, toDer, validityDer } from './encoded.js';
import { EXTENSION, subjectAltNameValue, subjectKeyIdentifierValue } from './extensions.js';
import { keyFacts, type KeyFacts } from './keys.js';
import { lintConstantParts, type VaryingParts } from './lint.js';
import { nameNode } from './names.js';
import {
  SPKI_UNREADABLE,
  constantLeafExtensions,
  keyIdentifier,
  leafSubjectAttributes,
  lintFailed,
  readSpki,
  type LeafParams,
  type LeafTemplateInputs,
} from './profile.js';
import { signatureAlgorithmIdentifier, type SignatureAlgorithm } from './signing.js';

export interface LeafTemplate {
  inputs: LeafTemplateInputs;
  /** Findings of the constant parts: any of them refuses every certificate made from the template. */
  findings: string[];
  signatureAlgorithm: SignatureAlgorithm;
  /** Copies of the issuer's subject and key identifier, to notice a handle that changed since. */
  issuerSubjectDer: Buffer;
  issuerKeyId: Buffer;
  /** [0] EXPLICIT version, before the serial. */
  version: Buffer;
  /** The signature AlgorithmIdentifier and the issuer Name, between serial and validity. */
  algorithmAndIssuer: Buffer;
  /** The extensions before the subjectKeyIdentifier (AKI). */
  beforeSki: Buffer;
  /** The extensions between subjectKeyIdentifier and subjectAltName (keyUsage to CRL DP). */
  afterSki: Buffer;
}

function buildTemplate(inputs: LeafTemplateInputs): LeafTemplate {
  const { issuer } = inputs;
  const { beforeSki, afterSki } = constantLeafExtensions(inputs);
  const signature = signatureAlgorithmIdentifier(issuer.signatureAlgorithm);
  const issuerSubjectDer = Buffer.from(issuer.subjectDer);
  const findings = lintConstantParts(
    {
      version: Version.v3,
      uniqueIdentifiers: false,
      signatureOid: signature.algorithm,
      issuerDer: issuerSubjectDer,
      extensionIds: [
        ...beforeSki.map((ext) => ext.extnID),
        EXTENSION.subjectKeyIdentifier,
        ...afterSki.map((ext) => ext.extnID),
        EXTENSION.subjectAltName,
      ],
      extensions: [...beforeSki, ...afterSki],
    },
    inputs,
  );
  return {
    inputs,
    findings,
    signatureAlgorithm: issuer.signatureAlgorithm,
    issuerSubjectDer,
    issuerKeyId: Buffer.from(issuer.subjectKeyId),
    version: tlv(TAG.explicit0, tlv(TAG.integer, Buffer.from([Version.v3]))),
    algorithmAndIssuer: Buffer.concat([toDer(signature), issuerSubjectDer]),
    beforeSki: Buffer.concat(beforeSki.map((ext) => toDer(ext))),
    afterSki: Buffer.concat(afterSki.map((ext) => toDer(ext))),
  };
}

/** Whether `template` was built (and linted) for exactly these inputs, the issuer's current state included. */
function madeFor(template: LeafTemplate, p: LeafParams, rsaKey: boolean): boolean {
  const { inputs } = template;
  return (
    inputs.level === p.level &&
    inputs.rsaKey === rsaKey &&
    inputs.aiaIssuerUrl === p.aiaIssuerUrl &&
    inputs.crlUrl === p.crlUrl &&
    template.signatureAlgorithm === p.issuer.signatureAlgorithm &&
    template.issuerSubjectDer.equals(p.issuer.subjectDer) &&
    template.issuerKeyId.equals(p.issuer.subjectKeyId)
  );
}

interface IssuerTemplates {
  byInputs: Map<string, LeafTemplate>;
  /** The template this issuer used last: a CA issues mostly one kind of leaf, so it is tried before building a key. */
  last: LeafTemplate | null;
}

const templates = new WeakMap<LeafParams['issuer'], IssuerTemplates>();
/** Only keeps a misuse (endless distinct URLs) from growing the cache without end. */
const MAX_TEMPLATES_PER_ISSUER = 100;

/** The template for `p` and a key that is RSA or not; built and linted anew whenever one of its inputs changed. */
export function leafTemplate(p: LeafParams, rsaKey: boolean): LeafTemplate {
  let cache = templates.get(p.issuer);
  if (!cache) {
    cache = { byInputs: new Map(), last: null };
    templates.set(p.issuer, cache);
  }
  if (cache.last && madeFor(cache.last, p, rsaKey)) return cache.last;
  const key = `${p.level} ${rsaKey} ${p.aiaIssuerUrl} ${p.crlUrl}`;
  let template = cache.byInputs.get(key);
  if (!template || !madeFor(template, p, rsaKey)) {
    if (cache.byInputs.size >= MAX_TEMPLATES_PER_ISSUER) cache.byInputs.clear();
    template = buildTemplate({ issuer: p.issuer, level: p.level, rsaKey, aiaIssuerUrl: p.aiaIssuerUrl, crlUrl: p.crlUrl });
    cache.byInputs.set(key, template);
  }
  cache.last = template;
  return template;
}

export interface SubjectKey {
  /** SubjectPublicKeyInfo DER, as requested. */
  der: Uint8Array;
  /** The bits of its subjectPublicKey. */
  publicKey: Uint8Array;
  facts: KeyFacts;
}

/** Reads the requested SPKI; bytes that are not one cannot be encoded at all. */
export function readSubjectKey(der: Uint8Array): SubjectKey {
  try {
    const { algorithm, publicKey } = readSpki(der);
    return { der, publicKey, facts: keyFacts(algorithm, publicKey) };
  } catch {
    throw lintFailed([SPKI_UNREADABLE]);
  }
}

const wholeSeconds = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/**
 * DER of the leaf TBSCertificate for `p` from `template`, and its varying
 * parts as written. `ipAddresses` are p's in canonical text.
 */
export function writeLeafTbs(template: LeafTemplate, p: LeafParams, key: SubjectKey, ipAddresses: readonly string[]): { tbsDer: Buffer; varying: VaryingParts } {
  const serial = unsignedIntegerContent(p.serial);
  // The certificate holds whole seconds; asn1-x509's Time drops the milliseconds the same way.
  const notBefore = wholeSeconds(p.notBefore);
  const notAfter = wholeSeconds(p.notAfter);
  const subject = leafSubjectAttributes(p, ipAddresses);
  const ski = { critical: false, value: subjectKeyIdentifierValue(keyIdentifier(key.publicKey)) };
  const san = { critical: subject.length === 0, value: subjectAltNameValue(p.dnsNames, ipAddresses) };
  const tbsDer = encodeDer(
    derNode(
      TAG.sequence,
      template.version,
      derNode(TAG.integer, serial),
      template.algorithmAndIssuer,
      validityDer(notBefore, notAfter),
      nameNode(subject),
      key.der,
      derNode(
        TAG.explicit3,
        derNode(
          TAG.sequence,
          template.beforeSki,
          extensionNode(EXTENSION.subjectKeyIdentifier, ski.critical, ski.value),
          template.afterSki,
          extensionNode(EXTENSION.subjectAltName, san.critical, san.value),
        ),
      ),
    ),
  );
  return {
    tbsDer,
    varying: { serial, notBefore, notAfter, spkiDer: key.der, key: key.facts, subject, subjectKeyIdentifier: ski, subjectAltName: san },
  };
}
