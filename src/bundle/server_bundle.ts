import { randomInt } from 'node:crypto';
import { zipSync, type Zippable } from 'fflate';
import { badRequest } from '../errors.js';
import { buildJks } from '../pki/jks.js';
import { buildPfx } from '../pki/pkcs12.js';
import { fromPem, toPem } from '../pki/pem.js';

/**
 * The certificate download packages: one zip per server type, laid out the
 * way each server is configured (the same layout commercial CAs ship).
 */
export type ServerType = 'nginx' | 'apache' | 'iis' | 'tomcat' | 'other';

export const SERVER_TYPES: readonly ServerType[] = ['nginx', 'apache', 'iis', 'tomcat', 'other'];

export interface BundleFile {
  name: string;
  description: string;
}

export interface ServerBundleInput {
  server: ServerType;
  /** File-name-safe base of every file name, see bundleBaseName. */
  baseName: string;
  leafPem: string;
  /** Intermediates from the issuer of the leaf upwards; neither the leaf nor the root. */
  chainPems: string[];
  /** Only when the service generated the key; a subscriber's own key never leaves their machine. */
  privateKeyPem?: string;
  now: Date;
  /** The PFX/JKS password; generated when not given. */
  password?: string;
}

export interface ServerBundle {
  zip: Buffer;
  files: BundleFile[];
  /** The PFX/JKS password (also in the zip as a text file); only for iis and tomcat. */
  password?: string;
}

/** Starts with a letter, digit or '_' (never '.'), so no hidden file and no path. */
const SAFE_BASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const PASSWORD_LENGTH = 20;
const PUBLIC_FILE_MODE = 0o644;
const SECRET_FILE_MODE = 0o600;

/** The base of the bundle's file names for a certificate's common name: `*.example.com` → `_.example.com`. */
export function bundleBaseName(commonName: string): string {
  const safe = commonName.trim().replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]/, '_').slice(0, 128);
  return SAFE_BASE_NAME.test(safe) ? safe : 'certificate';
}

/** What the zip for `server` contains, before it is built (the console lists it next to the download button). */
export function describeServerBundle(server: ServerType, hasKey: boolean, baseName = '<domain>'): BundleFile[] {
  const keyFile = (use: string): BundleFile[] =>
    hasKey ? [{ name: `${baseName}.key`, description: `Private key (PEM, unencrypted)${use}. Keep it secret.` }] : [];
  const withKey = hasKey ? 'the private key, ' : '';
  switch (server) {
    case 'nginx':
      return [
        { name: `${baseName}.pem`, description: 'Certificate followed by the intermediate chain (PEM), for ssl_certificate.' },
        ...keyFile(', for ssl_certificate_key'),
      ];
    case 'apache':
      return [
        { name: `${baseName}_public.crt`, description: 'Certificate (PEM), for SSLCertificateFile.' },
        { name: `${baseName}_chain.crt`, description: 'Intermediate chain (PEM), for SSLCertificateChainFile.' },
        ...keyFile(', for SSLCertificateKeyFile'),
      ];
    case 'iis':
      return [
        { name: `${baseName}.pfx`, description: `PKCS#12 (PFX) file with ${withKey}the certificate and the chain, to import into IIS.` },
        { name: 'pfx-password.txt', description: 'The password of the PFX file.' },
      ];
    case 'tomcat':
      return [
        { name: `${baseName}.jks`, description: `Java keystore (JKS) with ${withKey}the certificate and the chain under the alias "${jksAlias(baseName)}".` },
        { name: 'jks-password.txt', description: hasKey ? 'The password of the keystore and of its key entry.' : 'The password of the keystore.' },
      ];
    case 'other':
      return [{ name: `${baseName}.pem`, description: 'Certificate followed by the intermediate chain (PEM).' }, ...keyFile('')];
    default:
      throw unknownServer(server);
  }
}

export function buildServerBundle(input: ServerBundleInput): ServerBundle {
  const { server, baseName, now } = input;
  if (!SERVER_TYPES.includes(server)) throw unknownServer(server);
  if (!SAFE_BASE_NAME.test(baseName)) {
    throw badRequest('BUNDLE_NAME_INVALID', `"${baseName}" cannot be used as a file name; use letters, digits, '.', '_' and '-' only.`, 'baseName');
  }
  const password = server === 'iis' || server === 'tomcat' ? input.password ?? generatePassword() : undefined;
  const contents = bundleContents(input, password);
  const files = describeServerBundle(server, input.privateKeyPem !== undefined, baseName);
  const zippable: Zippable = {};
  for (const file of files) {
    const content = contents.get(file.name);
    if (content === undefined) throw new Error(`${server} bundle has no content for ${file.name}`);
    const secret = file.name.endsWith('.key') || file.name.endsWith('password.txt');
    // os 3 (Unix): unzip restores the file mode kept in the high half of the external attributes.
    const attrs = (0o100000 | (secret ? SECRET_FILE_MODE : PUBLIC_FILE_MODE)) << 16;
    zippable[file.name] = [typeof content === 'string' ? Buffer.from(content, 'utf8') : content, { mtime: now, os: 3, attrs }];
  }
  // Stored, not deflated: PEM is base64 and PFX/JKS are encrypted, so deflate
  // saved a kilobyte or two per bundle at ten times the CPU of the whole zip.
  return { zip: Buffer.from(zipSync(zippable, { level: 0 })), files, ...(password !== undefined ? { password } : {}) };
}

/** The bytes of each file of the bundle, by file name. */
function bundleContents(input: ServerBundleInput, password: string | undefined): Map<string, string | Uint8Array> {
  const { server, baseName, privateKeyPem, now } = input;
  const leaf = certificatePem(input.leafPem);
  const chain = input.chainPems.map(certificatePem);
  const contents = new Map<string, string | Uint8Array>();
  if (privateKeyPem !== undefined) contents.set(`${baseName}.key`, `${privateKeyPem.trim()}\n`);
  switch (server) {
    case 'nginx':
    case 'other':
      contents.set(`${baseName}.pem`, leaf + chain.join(''));
      break;
    case 'apache':
      contents.set(`${baseName}_public.crt`, leaf);
      contents.set(`${baseName}_chain.crt`, chain.join(''));
      break;
    case 'iis':
      contents.set(`${baseName}.pfx`, buildPfx({ chainPem: [leaf, ...chain], privateKeyPem, password: password!, friendlyName: baseName }));
      contents.set('pfx-password.txt', `${password}\n`);
      break;
    case 'tomcat': {
      const chainDer = [leaf, ...chain].map((pem) => fromPem(pem, 'CERTIFICATE'));
      contents.set(`${baseName}.jks`, buildJks({ alias: jksAlias(baseName), privateKeyPem, chainDer, password: password!, now }));
      contents.set('jks-password.txt', `${password}\n`);
      break;
    }
  }
  return contents;
}

/** keytool shows and matches aliases in lower case. */
function jksAlias(baseName: string): string {
  return baseName.toLowerCase();
}

/** A clean PEM of one certificate, whatever whitespace or extra text the stored PEM carries. */
function certificatePem(pem: string): string {
  return toPem(fromPem(pem, 'CERTIFICATE'), 'CERTIFICATE');
}

/** Alphanumeric without look-alikes (0/O, 1/l/I), so it survives being read aloud or retyped. */
function generatePassword(): string {
  let password = '';
  for (let i = 0; i < PASSWORD_LENGTH; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}

function unknownServer(server: string): Error {
  return badRequest('SERVER_TYPE_INVALID', `Unknown server type "${server}"; choose one of ${SERVER_TYPES.join(', ')}.`, 'server');
}
