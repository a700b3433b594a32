// Why: protected mode and the first user's creation both ask whether a client is on the node's own
// machine (decision 0025); one answer for IPv4, IPv6 and IPv4-mapped IPv6 addresses.
import { isIP } from 'node:net';

/** Whether `address` (a socket's remote IP) is a loopback address: 127.0.0.0/8 or ::1. */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}
