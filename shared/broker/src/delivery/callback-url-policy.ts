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
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 32], // Teredo: the IPv4 it reaches is obfuscated, so it cannot be checked
  ['2001:db8::', 32], // documentation
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10], // site-local (deprecated, still routed internally by some stacks)
  ['ff00::', 8],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether an address (IPv4 or IPv6, with or without brackets or a zone) is one a callback must not
 * reach. IPv6 is parsed to its 16 bytes rather than matched as text, so every spelling of an
 * address that carries an IPv4 address (IPv4-mapped `::ffff:7f00:1` or `::ffff:127.0.0.1`,
 * IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is judged by that IPv4 address.
 */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return privateRanges.check(bare, 'ipv4');
  if (family !== 6) return false;
  const bytes = ipv6Bytes(bare);
  // isIP accepted it but it cannot be read here: refuse rather than guess.
  if (!bytes) return true;
  const embedded = embeddedIpv4(bytes);
  if (embedded) return privateRanges.check(embedded, 'ipv4');
  return privateRanges.check(bare, 'ipv6');
}

/** The IPv4 address an IPv6 address stands for, if it is one of the forms that embed one. */
function embeddedIpv4(b: Uint8Array): string | undefined {
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const v4 = (at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  // ::ffff:a.b.c.d (mapped)
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12);
  // ::a.b.c.d (compatible, deprecated); :: and ::1 themselves stay IPv6 ranges.
  if (zeros(0, 12) && !zeros(12, 15)) return v4(12);
  // ::ffff:0:a.b.c.d (SIIT translated)
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return v4(12);
  // 64:ff9b::/96 (well-known NAT64 prefix)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12);
  // 2002:a.b.c.d::/48 (6to4)
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

/** The 16 bytes of an IPv6 address in any textual form (`::` compression, dotted IPv4 tail). */
function ipv6Bytes(text: string): Uint8Array | undefined {
  let head = text.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(head);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    head = head.slice(0, dotted.index);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const gap = head.indexOf('::');
  let words: number[];
  if (gap >= 0) {
    const left = parse(head.slice(0, gap));
    const right = [...parse(head.slice(gap + 2)), ...tail];
    const fill = 8 - left.length - right.length;
    if (fill < 0) return undefined;
    words = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    words = [...parse(head), ...tail];
  }
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
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
