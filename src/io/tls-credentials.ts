// Why: TLS on a node's ports (decision 0026) needs a certificate, its key and the cluster's CA, read
// from files an operator names, and read again on SIGHUP so a certificate can be rotated without a
// restart. A bad file must stop a start (or refuse a reload, keeping the certificate in service)
// with a coded error that names the file, never a stack trace from deep inside node:tls. Everything
// that can be checked before a client connects is checked here: each file is readable and holds
// PEM of the right kind, the key matches the certificate, and node:tls accepts the three together.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { EverwriteError } from '../core/base/errors.ts';

/** Where a node's TLS material lives; each a path to a PEM file. */
export interface TlsFiles {
  /** The node's certificate (optionally followed by intermediates), served on every TLS port and shown to peers. */
  readonly certFile: string;
  /** The certificate's private key, unencrypted. */
  readonly keyFile: string;
  /** The CA certificate(s) that sign the cluster's node certificates; required for TLS on the peer port. */
  readonly caFile?: string;
}

/** The files' contents, checked, and what identifies the certificate in logs and tests. */
export interface TlsMaterial {
  readonly files: TlsFiles;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** The certificate's serial number (hex) and SHA-256 fingerprint: which certificate is in service. */
  readonly serialNumber: string;
  readonly fingerprint256: string;
  /** When the certificate expires, as X509Certificate.validTo prints it. */
  readonly validTo: string;
}

/** The largest PEM file read, in bytes: a certificate chain is a few KiB; a mistaken path to a big file is refused before it is read whole into memory twice. */
export const tlsFileBytesMax = 1024 * 1024;

function badTlsConfig(message: string, file: string): EverwriteError {
  return new EverwriteError('EVERWRITE_BAD_TLS_CONFIG', message, { file });
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.startsWith(code) ? message : `${code}: ${message}`;
}

function readPem(what: string, file: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw badTlsConfig(`cannot read the TLS ${what} file ${file}: ${reasonOf(error)}`, file);
  }
  if (content.length > tlsFileBytesMax)
    throw badTlsConfig(
      `the TLS ${what} file ${file} is ${content.length} bytes; at most ${tlsFileBytesMax} are read`,
      file,
    );
  if (!content.includes('-----BEGIN '))
    throw badTlsConfig(`the TLS ${what} file ${file} holds no PEM block (-----BEGIN ...)`, file);
  return content;
}

function parseCertificate(what: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw badTlsConfig(`the TLS ${what} file ${file} does not hold a PEM certificate: ${reasonOf(error)}`, file);
  }
}

function parseKey(file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw badTlsConfig(
      `the TLS key file ${file} does not hold an unencrypted PEM private key: ${reasonOf(error)}`,
      file,
    );
  }
}

/** Reads and checks the three files; throws EVERWRITE_BAD_TLS_CONFIG naming the first bad one. */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readPem('certificate', files.certFile);
  const key = readPem('key', files.keyFile);
  const ca = files.caFile === undefined ? undefined : readPem('CA', files.caFile);
  const certificate = parseCertificate('certificate', files.certFile, cert);
  if (!certificate.checkPrivateKey(parseKey(files.keyFile, key))) {
    throw badTlsConfig(
      `the TLS key in ${files.keyFile} does not match the certificate in ${files.certFile}`,
      files.keyFile,
    );
  }
  if (ca !== undefined && files.caFile !== undefined) parseCertificate('CA', files.caFile, ca);
  const material: TlsMaterial = Object.freeze({
    files,
    cert,
    key,
    ca,
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    validTo: certificate.validTo,
  });
  // What node:tls itself refuses (a chain it cannot use) is found now, not at the first connection.
  secureContextOf(material);
  return material;
}

/** A context for the peer port: this node's certificate and key, and the CA its peers must be signed by. */
export function secureContextOf(material: TlsMaterial): SecureContext {
  try {
    return createSecureContext({
      cert: material.cert,
      key: material.key,
      ...(material.ca === undefined ? {} : { ca: material.ca }),
    });
  } catch (error) {
    throw badTlsConfig(
      `node:tls refused the certificate ${material.files.certFile} with the key ${material.files.keyFile}${material.files.caFile === undefined ? '' : ` and the CA ${material.files.caFile}`}: ${reasonOf(error)}`,
      material.files.certFile,
    );
  }
}
