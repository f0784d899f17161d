import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** What a caller's configuration allows callbacks to reach. */
export interface CallbackPolicy {
  /** Exact hosts (`hooks.example.com`, `hooks.example.com:8443`) or wildcards (`*.example.com`). */
  hosts: readonly string[];
  /** Allow http:// and private, loopback and link-local addresses (development only). */
  allowPrivate: boolean;
}

export class CallbackUrlRejected extends Error {
  override readonly name = 'CallbackUrlRejected';
}

const privateRanges = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6 && address.toLowerCase().startsWith('::ffff:')) return isPrivateAddress(address.slice(7));
  return privateRanges.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Checks scheme and host against the allowlist (no network): used at submission. */
export function checkCallbackUrl(raw: string, policy: CallbackPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackUrlRejected(`Callback URL "${raw.slice(0, 200)}" is not a valid URL.`);
  }
  if (url.username || url.password) throw new CallbackUrlRejected('Callback URLs must not carry credentials.');
  if (url.protocol !== 'https:' && !(policy.allowPrivate && url.protocol === 'http:')) {
    throw new CallbackUrlRejected(`Callback URL must use https (got ${url.protocol.replace(':', '')}).`);
  }
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const withPort = url.port ? `${host}:${url.port}` : host;
  const allowed = policy.hosts.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
    return p === withPort || p === host;
  });
  if (!allowed) {
    throw new CallbackUrlRejected(
      `Callback host "${withPort}" is not on this caller's allowlist (${policy.hosts.join(', ') || 'empty'}).`,
    );
  }
  if (!policy.allowPrivate && isIP(host) && isPrivateAddress(host)) {
    throw new CallbackUrlRejected(`Callback address ${host} is private; private addresses are not allowed.`);
  }
  return url;
}

/**
 * Resolves the host at delivery time and refuses private addresses, so an allowed name that
 * points (or is re-pointed) at an internal address cannot be used to reach internal services.
 * Returns the address to connect to, pinning the connection to what was checked.
 */
export async function resolveCallbackAddress(url: URL, policy: CallbackPolicy): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
  if (!policy.allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) throw new CallbackUrlRejected(`Callback host ${host} resolves to private address ${bad.address}.`);
  }
  const first = addresses[0];
  if (!first) throw new CallbackUrlRejected(`Callback host ${host} does not resolve.`);
  return first.address;
}
