/**
 * Serves the web console's built assets (web/ → dist/console by Vite) at `/console`.
 *
 * The console is a static single-page app that signs its own KMS calls in the browser,
 * so this module only hands out files: `/console/` and any extension-less path (a client
 * route) get index.html, hashed files under `/console/assets/` are cached for a year,
 * everything else is revalidated. Paths are decoded segment by segment and must stay
 * inside the asset directory. A strict CSP allows scripts, styles and fetches from this
 * origin only.
 */
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_PATH = '/console';

/** dist/console, next to dist/src where this module is compiled to. */
export const CONSOLE_ROOT = fileURLToPath(new URL('../../console/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; " +
    "form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
} as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Whether a request is for the console (any method; serveConsole answers 405 to writes). */
export function isConsoleRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return url === CONSOLE_PATH || /^\/console[/?#]/.test(url);
}

/**
 * The file path under `root` a URL path names, or undefined when it is not a safe path:
 * segments are percent-decoded one by one and may not be `.`/`..` or hide a separator.
 */
export function assetPath(root: string, pathname: string): string | undefined {
  const rel = pathname.slice(CONSOLE_PATH.length).replace(/^\/+/, '');
  const parts: string[] = [];
  for (const raw of rel.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    /* Precondition: no traversal, no separators or NUL smuggled in an encoded segment. */
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) return undefined;
    parts.push(seg);
  }
  const base = resolve(root);
  const full = resolve(base, ...parts);
  return full === base || full.startsWith(base + sep) ? full : undefined;
}

function sendText(res: ServerResponse, status: number, text: string, extra = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(text);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Answer one console request from the asset directory (default: dist/console). */
/** What the console may know before signing in: the Regions this server answers in. */
export interface ConsoleInfo {
  regions: readonly string[];
}

/** `/console/regions.json`: the console's Region selector (public, like an endpoint list). */
export const REGIONS_PATH = `${CONSOLE_PATH}/regions.json`;

export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  root: string = CONSOLE_ROOT,
  info: ConsoleInfo = { regions: [] },
): Promise<void> {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    if (url.pathname === CONSOLE_PATH) {
      res.writeHead(301, { ...SECURITY_HEADERS, Location: `${CONSOLE_PATH}/${url.search}` });
      res.end();
      return;
    }
    if (url.pathname === REGIONS_PATH) {
      const body = JSON.stringify({ Regions: info.regions });
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    // URL parsing resolves `%2e%2e` segments: what is left must still be under /console/.
    const path = url.pathname.startsWith(`${CONSOLE_PATH}/`)
      ? assetPath(root, url.pathname)
      : undefined;
    if (path === undefined) {
      sendText(res, 404, 'Not Found\n');
      return;
    }
    const index = join(root, 'index.html');
    let file = path;
    if (!(await isFile(file))) {
      // A client-side route (no extension) gets the app; a missing file is a 404.
      if (extname(path) !== '' && !path.endsWith('.html')) {
        sendText(res, 404, 'Not Found\n');
        return;
      }
      file = index;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      sendText(res, 404, 'The console is not built: run `npm run build`.\n');
      return;
    }
    const hashed = file.startsWith(join(resolve(root), 'assets') + sep);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': hashed ? IMMUTABLE : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
    else res.destroy();
  }
}
