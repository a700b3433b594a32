// Why: the key-value commands reach a node through the TypeScript client (src/client), the one place
// the HTTP contract of docs/API.md is spoken from the outside, rather than through a second HTTP
// client of their own. This opens that client the CLI's way (one node, its credentials, its CA,
// its deadline) and turns the client's coded errors into the CLI's one error line and exit codes
// (decision 0024), so the commands only print what they read.
import { rootCertificates } from 'node:tls';
import { EverwriteClient } from '../client/client.ts';
import { clientErrorCodes, isEverwriteClientError, type EverwriteClientError } from '../client/errors.ts';
import { CliFailure, UsageError, exitCodeForHttpStatus, exitCodes } from './exit-codes.ts';
import { parseNodeUrl } from './format.ts';
import { credentialsFromEnvironment } from './options.ts';
import { trustedCa } from './tls-trust.ts';

/** The client's `ca` replaces the system's roots; --ca adds to them, so both are given. */
function caOption(): { readonly ca?: readonly string[] } {
  const pem = trustedCa();
  return pem === undefined ? {} : { ca: [...rootCertificates, pem] };
}

/** A client of the one node `--node` names; a wrong node URL or credential variable is a usage error. */
export function openNodeClient(node: string, timeoutMs: number): EverwriteClient {
  parseNodeUrl(node);
  try {
    return new EverwriteClient({
      nodes: [node],
      routing: 'server',
      timeoutMs,
      ...credentialsFromEnvironment(),
      ...caOption(),
    });
  } catch (error) {
    if (isEverwriteClientError(error) && error.code === clientErrorCodes.badRequest)
      throw new UsageError(error.message);
    throw error;
  }
}

/** Runs `body` with a client of the node, closed afterwards (so no keep-alive socket holds the process); its errors become the CLI's. */
export async function withNodeClient<T>(
  node: string,
  timeoutMs: number,
  body: (client: EverwriteClient) => Promise<T>,
): Promise<T> {
  const client = openNodeClient(node, timeoutMs);
  try {
    return await body(client);
  } catch (error) {
    throw isEverwriteClientError(error) ? cliFailureOf(node, error, timeoutMs) : error;
  } finally {
    await client.close();
  }
}

/** The underlying socket error of a failure on the way (ECONNREFUSED, a certificate refused). */
function networkCause(error: EverwriteClientError): string {
  return error.cause instanceof Error ? error.cause.message : error.message;
}

/**
 * A client error as the CLI reports it: a node's answer as `<message> [<code>, HTTP <status>]`
 * with the exit code of its status; on the way, the node as the user named it.
 */
export function cliFailureOf(node: string, error: EverwriteClientError, timeoutMs: number): CliFailure {
  if (error.status !== undefined)
    return new CliFailure(
      `${error.message} [${error.code}, HTTP ${error.status}]`,
      exitCodeForHttpStatus(error.status),
    );
  switch (error.code) {
    case clientErrorCodes.timeout:
      return new CliFailure(`no answer from ${node} within ${timeoutMs} ms`, exitCodes.unavailable);
    case clientErrorCodes.unavailable:
      return new CliFailure(`cannot reach ${node}: ${networkCause(error)}`, exitCodes.unavailable);
    case clientErrorCodes.overloaded:
      return new CliFailure(error.message, exitCodes.unavailable);
    case clientErrorCodes.badRequest:
      return new UsageError(error.message);
    default:
      return new CliFailure(`${error.message} [${error.code}]`);
  }
}
