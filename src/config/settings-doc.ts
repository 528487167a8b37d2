/**
 * The settings tables as docs: a markdown table (README.md, docs/xks-proxy.md; written by
 * scripts/gen-settings-doc.mjs between `<!-- settings:NAME -->` and `<!-- /settings:NAME -->`)
 * and the plain text `--help` prints. Only names, formats and defaults: never a value.
 */
import { KEYHOLD_SETTINGS, type Setting } from './settings.js';

/** A markdown table laid out as prettier lays it out (so `prettier --check` keeps passing). */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>) {
  const width = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => cellWidth(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    '| ' + cells.map((c, i) => c + ' '.repeat((width[i] ?? 0) - cellWidth(c))).join(' | ') + ' |';
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Characters, counting a surrogate pair once (the tables hold no wide characters). */
function cellWidth(s: string): number {
  return [...s].length;
}

const code = (s: string) => `\`${s}\``;

/** The README's table of `keyhold serve` settings. */
export function keyholdSettingsMarkdown(): string {
  const rows = (Object.values(KEYHOLD_SETTINGS) as Array<Setting<unknown>>).map((s) => [
    s.label,
    s.flag !== undefined ? code(`--${s.flag.long}`) : '',
    s.secret ? `${code(s.env)} (or ${code('…_FILE')})` : code(s.env),
    escapeCell(valueCell(s.secret, s.valueText ?? s.parser.name)),
    escapeCell(s.defaultText),
  ]);
  return markdownTable(['setting', 'flag', 'environment', 'value', 'default'], rows);
}

/** The value column: the format, and whether the value is a secret. */
export function valueCell(secret: boolean, format: string): string {
  if (!secret) return format;
  return format === 'secret' || format === 'text' ? 'secret' : `secret: ${format}`;
}

export function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** Markdown → the plain text of --help (backticks dropped). */
export function plain(s: string): string {
  return s.replace(/`/g, '');
}

/** One setting's flag description in --help: what it does, its variable and its default. */
export function flagHelp(s: Setting<unknown>): string {
  return `${s.description} (env ${s.env}, default ${plain(s.defaultText)})`;
}

/** The part of `keyhold serve --help` after the options: every setting, with its variable. */
export function keyholdSettingsHelp(): string {
  const lines = [
    '',
    'Settings (a flag beats the environment, which beats the default; a secret may be',
    'given as <NAME>_FILE, a file holding it, and is never printed):',
  ];
  for (const s of Object.values(KEYHOLD_SETTINGS) as Array<Setting<unknown>>) {
    const facts = [
      s.secret ? 'secret' : undefined,
      plain(s.valueText ?? s.parser.name),
      `default ${plain(s.defaultText)}`,
      s.flag !== undefined ? `flag --${s.flag.long}` : undefined,
    ].filter((f) => f !== undefined);
    const names = s.secret ? `${s.env}, ${s.env}_FILE` : s.env;
    lines.push(`  ${names} (${facts.join('; ')})`, `      ${s.description}`);
  }
  return lines.join('\n');
}

/** `text` with the block between the markers of `name` replaced by `body`. */
export function replaceMarked(text: string, name: string, body: string): string {
  const begin = `<!-- settings:${name} -->`;
  const end = `<!-- /settings:${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`no ${begin} … ${end} block`);
  return text.slice(0, i + begin.length) + '\n\n' + body + '\n\n' + text.slice(j);
}

/** The block between the markers of `name`, trimmed (undefined without markers). */
export function markedBlock(text: string, name: string): string | undefined {
  const begin = `<!-- settings:${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(`<!-- /settings:${name} -->`);
  if (i < 0 || j < i) return undefined;
  return text.slice(i + begin.length, j).trim();
}
