// Node's globals for plain .mjs scripts (avoids a dependency on the `globals` package).
export const builtinGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
  ].map((g) => [g, 'readonly']),
);
