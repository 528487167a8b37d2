/** A setting that cannot be used: the CLI prints the message and exits 1 (no stack). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function fail(message: string): never {
  throw new ConfigError(message);
}
