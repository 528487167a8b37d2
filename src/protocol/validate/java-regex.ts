/**
 * Java regex → JS RegExp. Model patterns are Java regexes with `matches()` semantics: compiled
 * as `^(?:p)$` with the `u` flag (falling back to no flag if needed); Java's ASCII `\s`/`\S`
 * are translated explicitly.
 */

const regexCache = new Map<string, RegExp>();

const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';

/** Translate the Java-only bits we may meet (`\s`/`\S` are ASCII-only in Java) and anchor. */
function translateJavaRegex(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\' && i + 1 < p.length) {
      const n = p[i + 1];
      i++;
      if (n === 's') out += inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (n === 'S' && !inClass) out += `[^${JAVA_SPACE}]`;
      else out += `\\${n}`;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return `^(?:${out})$`;
}

/** The RegExp of a model pattern (cached per pattern). */
export function compileJavaPattern(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    const src = translateJavaRegex(pattern);
    try {
      re = new RegExp(src, 'u');
    } catch {
      re = new RegExp(src);
    }
    regexCache.set(pattern, re);
  }
  return re;
}
