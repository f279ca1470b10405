import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Why an address may not be reached from outbound requests, or undefined for a public unicast address. Only
 * ipaddr.js's `unicast` range is public; everything else — loopback, private, link-local (cloud metadata at
 * 169.254.169.254), carrier-grade NAT, multicast, broadcast, reserved, unique-local, and the IPv6 forms that embed an
 * IPv4 address (NAT64, 6to4, Teredo) — is refused. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 it maps.
 */
export function blockedAddressReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  const range = ipaddr.process(bare).range();
  return range === 'unicast' ? undefined : range;
}

export interface OutboundPolicyOptions {
  /** `host[:port]` entries that may be reached although private or loopback (OUTBOUND_ALLOW_PRIVATE_HOSTS). */
  allowPrivateHosts: readonly string[];
  /** When given, only these host names (exact, or `*.example.com`) may be reached at all. */
  allowHosts?: readonly string[];
}

/** Which URLs outbound requests may reach: the checks that need no DNS. The connected address is checked apart. */
export class OutboundPolicy {
  constructor(private readonly options: OutboundPolicyOptions) {}

  /** Whether the URL's host (and port) is named in OUTBOUND_ALLOW_PRIVATE_HOSTS. */
  allowsPrivate(url: URL): boolean {
    const host = hostOf(url);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return this.options.allowPrivateHosts.some((entry) => {
      const { host: h, port: p } = splitHostPort(entry);
      return h === host && (p === undefined || p === port);
    });
  }

  /**
   * Why the URL may not be requested before any lookup, or undefined. `allowHosts` narrows the policy's own allowlist
   * for one request (a task's): the host must be in both.
   */
  refusal(url: URL, allowHosts?: readonly string[]): string | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `only http and https are allowed, not ${url.protocol}`;
    if (url.username || url.password) return 'credentials in the URL are not allowed';
    const host = hostOf(url);
    for (const allowed of [this.options.allowHosts, allowHosts]) {
      if (allowed?.length && !allowed.some((pattern) => hostMatches(host, pattern))) {
        return `${host} is not in the allowed hosts`;
      }
    }
    if (this.allowsPrivate(url)) return undefined;
    if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is loopback`;
    if (isIP(host)) {
      const reason = blockedAddressReason(host);
      if (reason) return `${host} is ${reason}`;
    }
    return undefined;
  }
}

/** The URL's host name, lower case, without IPv6 brackets or the root's trailing dot (`localhost.` is `localhost`). */
export function hostOf(url: URL): string {
  return url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

function splitHostPort(entry: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1].toLowerCase(), port: bracketed[2] };
  const colons = entry.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = entry.split(':');
    return { host: host.toLowerCase(), port };
  }
  return { host: entry.toLowerCase() };
}

function hostMatches(host: string, pattern: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p;
}
