/**
 * IPv4/IPv6 CIDR matching for IpAddress / NotIpAddress (IAM "IP address condition
 * operators": "the value must be in the standard CIDR format (for example, 203.0.113.0/24
 * or 2001:DB8:1234:5678::/64)"; a bare address means /32 or /128).
 */

/** Parse an address to a bigint and its bit width; undefined if invalid. */
export function parseIp(text: string): { value: bigint; bits: 32 | 128 } | undefined {
  if (text.includes(':')) return parseV6(text);
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(p));
  }
  return { value, bits: 32 };
}

function parseV6(text: string): { value: bigint; bits: 128 } | undefined {
  let t = text;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4 !== null) {
    const four = parseIp(v4[2] as string);
    if (four === undefined) return undefined;
    t = `${v4[1] as string}${(four.value >> 16n).toString(16)}:${(four.value & 0xffffn).toString(16)}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const head = hexGroups(halves[0] as string);
  const rest = halves.length === 2 ? hexGroups(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const groups = [...head, ...Array<bigint>(8 - explicit).fill(0n), ...rest];
  return { value: groups.reduce((acc, g) => (acc << 16n) | g, 0n), bits: 128 };
}

function hexGroups(s: string): bigint[] | undefined {
  if (s === '') return [];
  const out: bigint[] = [];
  for (const g of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out.push(BigInt(parseInt(g, 16)));
  }
  return out;
}

export interface Cidr {
  readonly network: bigint;
  readonly prefix: number;
  readonly bits: 32 | 128;
}

/** `203.0.113.0/24`, `2001:db8::/32`, or a bare address. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const ip = parseIp(addr);
  if (ip === undefined) return undefined;
  const prefix = len === undefined ? ip.bits : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= ip.bits)) return undefined;
  const shift = BigInt(ip.bits - prefix);
  return { network: (ip.value >> shift) << shift, prefix, bits: ip.bits };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = parseIp(address);
  if (ip === undefined || ip.bits !== cidr.bits) return false;
  const shift = BigInt(cidr.bits - cidr.prefix);
  return (ip.value >> shift) << shift === cidr.network;
}
