/** The STS Query protocol's XML: responses and errors, hand-escaped (they are tiny). */

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** An element tree: a string is text content, an object is nested elements in order. */
export type XmlNode = string | { [name: string]: XmlNode };

export function toXml(name: string, node: XmlNode): string {
  if (typeof node === 'string') return `<${name}>${escapeXml(node)}</${name}>`;
  return `<${name}>${Object.entries(node)
    .map(([k, v]) => toXml(k, v))
    .join('')}</${name}>`;
}

/** `<XResponse xmlns=…><XResult>…</XResult><ResponseMetadata>…</ResponseMetadata></XResponse>` */
export function responseXml(action: string, result: XmlNode, requestId: string): string {
  return (
    `<${action}Response xmlns="${STS_NS}">` +
    toXml(`${action}Result`, result) +
    toXml('ResponseMetadata', { RequestId: requestId }) +
    `</${action}Response>\n`
  );
}

export function errorXml(
  type: 'Sender' | 'Receiver',
  code: string,
  message: string,
  requestId: string,
): string {
  return (
    `<ErrorResponse xmlns="${STS_NS}">` +
    toXml('Error', { Type: type, Code: code, Message: message }) +
    toXml('RequestId', requestId) +
    `</ErrorResponse>\n`
  );
}

/** ISO 8601 without milliseconds, as STS writes Expiration. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
