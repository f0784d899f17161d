import { describe, expect, it } from 'vitest';
import {
  CallbackUrlRejected,
  checkCallbackUrl,
  isPrivateAddress,
  resolveCallbackAddress,
} from './callback-url-policy.ts';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '169.254.169.254',
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::FFFF:7F00:0001',
    '[::ffff:7f00:1]',
    '::ffff:0a00:0001',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:7f00:1',
    '0000:0000:0000:0000:0000:ffff:127.0.0.1',
    '::127.0.0.1',
    '::7f00:1',
    '::ffff:0:7f00:1',
    '64:ff9b::7f00:1',
    '64:ff9b::10.0.0.1',
    '64:ff9b:1::1',
    '2002:7f00:1::1',
    '2002:a9fe:a9fe::',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
  ])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});

describe('callback URLs with IPv4-mapped IPv6 hosts', () => {
  const policy = { hosts: ['*'], allowPrivate: false };
  const allowAll = (host: string) => ({ hosts: [host], allowPrivate: false });

  it.each([
    'https://[::ffff:7f00:1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[0:0:0:0:0:ffff:7f00:1]:8443/hook',
    'https://[64:ff9b::a9fe:a9fe]/hook',
  ])('%s is refused at submission and at delivery', async (raw) => {
    const url = new URL(raw);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    expect(() => checkCallbackUrl(raw, allowAll(url.port ? `${host}:${url.port}` : host))).toThrow(CallbackUrlRejected);
    await expect(resolveCallbackAddress(url, policy)).rejects.toThrow(CallbackUrlRejected);
  });
});
