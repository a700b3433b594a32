// Why: protected mode and the first user's creation both ask whether a client is on the node's own
// machine (decision 0025); one answer for IPv4, IPv6 and IPv4-mapped IPv6 addresses. A client on
// the node's machine that dials the node's own non-loopback address (a node bound to 10.0.0.1
// only, as a deployment binds it) comes from that same address: Linux drops a packet from another
// host that claims one of this host's addresses (accept_local=0), so the two being equal is as
// good as loopback.
import { isIP } from 'node:net';

/** Whether `address` (a socket's remote IP) is a loopback address: 127.0.0.0/8 or ::1. */
export function isLoopback(address: string): boolean {
  const plain = unmapped(address);
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}

/** Whether a connection from `remote` to this node's `local` address comes from the node's own machine. */
export function isOwnMachine(remote: string, local: string): boolean {
  return isLoopback(remote) || (isIP(unmapped(remote)) !== 0 && unmapped(remote) === unmapped(local));
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
