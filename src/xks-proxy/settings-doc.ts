/**
 * The `keyhold xks-proxy` settings table as docs: docs/xks-proxy.md's markdown table
 * (scripts/gen-settings-doc.mjs) and the plain text of `keyhold xks-proxy --help`. Only
 * names, formats and defaults: never a value.
 */
import { escapeCell, markdownTable, plain, valueCell } from '../config/settings-doc.js';
import { XKS_SETTINGS, type XksSetting } from './settings.js';

const code = (s: string) => `\`${s}\``;

function all(): Array<XksSetting<unknown>> {
  return Object.values(XKS_SETTINGS) as Array<XksSetting<unknown>>;
}

/** docs/xks-proxy.md's table. */
export function xksSettingsMarkdown(): string {
  const rows = all().map((s) => [
    s.file === undefined
      ? ''
      : s.secret && s.file !== 'credentials'
        ? `${code(s.file)} (or ${code('…File')}, ${code('…Env')})`
        : code(s.file),
    s.env === undefined ? '' : s.secret ? `${code(s.env)} (or ${code('…_FILE')})` : code(s.env),
    escapeCell(valueCell(s.secret, s.valueText ?? s.parser.name)),
    escapeCell(s.defaultText),
    escapeCell(s.description),
  ]);
  return markdownTable(['file field', 'environment', 'value', 'default', 'meaning'], rows);
}

/** The part of `keyhold xks-proxy --help` after the options. */
export function xksSettingsHelp(): string {
  const lines = [
    '',
    'Settings (the environment beats the --config file, which beats the default; a secret',
    'may be given in the file as <field>File or <field>Env, in the environment as',
    '<NAME>_FILE, and is never printed):',
  ];
  for (const s of all()) {
    const names = [
      s.file,
      s.env !== undefined ? (s.secret ? `${s.env}, ${s.env}_FILE` : s.env) : undefined,
    ].filter((n) => n !== undefined);
    const facts = [
      s.secret ? 'secret' : undefined,
      plain(s.valueText ?? s.parser.name),
      `default ${plain(s.defaultText)}`,
    ].filter((f) => f !== undefined);
    lines.push(`  ${names.join(', ')} (${facts.join('; ')})`, `      ${plain(s.description)}`);
  }
  return lines.join('\n');
}
