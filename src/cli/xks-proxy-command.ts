/**
 * `keyhold xks-proxy --config <file>`: run keyhold's XKS proxy (docs/xks-proxy.md).
 * `keyhold xks-proxy keys create|list|enable|disable|delete --file <keys.json>`: manage the
 * software backend's encrypted key file (passphrase from KEYHOLD_XKS_KEY_FILE_PASSPHRASE,
 * KEYHOLD_XKS_KEY_FILE_PASSPHRASE_FILE or --passphrase-file).
 * `keyhold xks-proxy credentials generate`: a new SigV4 credential in the form KMS accepts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../config/config.js';
import { XKS_KEY_USAGES, type XksKeyUsage } from '../xks-proxy/backend.js';
import { loadXksProxyConfig } from '../xks-proxy/config.js';
import { KEY_FILE_KDF, KeyFile, KeyFileError } from '../xks-proxy/key-file.js';
import { openXksBackend } from '../xks-proxy/open-backend.js';
import { xksSettingsHelp } from '../xks-proxy/settings-doc.js';
import { startXksProxy } from '../xks-proxy/server.js';
import { SoftwareBackend } from '../xks-proxy/software-backend.js';

export function registerXksProxyCommand(program: Command): void {
  const xks = program
    .command('xks-proxy')
    .description("run keyhold's XKS proxy (External Key Store proxy API v1) for AWS KMS or keyhold")
    .option('-c, --config <file>', 'JSON config file (env KEYHOLD_XKS_* overrides it)')
    .addHelpText('after', xksSettingsHelp())
    .action(async (flags: { config?: string }) => {
      await serve(flags.config);
    });

  const keys = xks.command('keys').description("manage the software backend's encrypted key file");
  const fileOpts = (c: Command) =>
    c
      .requiredOption('-f, --file <path>', 'the key file')
      .option(
        '--passphrase-file <path>',
        'file holding the passphrase (else KEYHOLD_XKS_KEY_FILE_PASSPHRASE)',
      );

  fileOpts(keys.command('create'))
    .description('add a new AES-256 key (creates the file if it does not exist)')
    .requiredOption('--id <externalKeyId>', 'the external key id (1-128 of A-Z a-z 0-9 - . _)')
    .option(
      '--usage <list>',
      `comma-separated key usages (${XKS_KEY_USAGES.join(',')})`,
      'ENCRYPT,DECRYPT',
    )
    .option('--disabled', 'create the key DISABLED')
    .action(
      async (o: {
        file: string;
        passphraseFile?: string;
        id: string;
        usage: string;
        disabled?: boolean;
      }) => {
        const pass = passphrase(o.passphraseFile);
        const file = existsSync(o.file)
          ? await KeyFile.open(o.file, pass)
          : await KeyFile.create(o.file, pass);
        try {
          const usage = o.usage.split(',').map((s) => s.trim().toUpperCase()) as XksKeyUsage[];
          const e = await file.addKey({
            id: o.id,
            usage,
            state: o.disabled === true ? 'DISABLED' : 'ENABLED',
          });
          process.stdout.write(
            `created key ${e.id} (${e.state}, ${e.usage.join(',')}) in ${o.file}\n`,
          );
        } finally {
          file.close();
        }
      },
    );

  fileOpts(keys.command('list'))
    .description('list the keys (ids, states, usages; never material)')
    .action(async (o: { file: string; passphraseFile?: string }) => {
      const file = await KeyFile.open(o.file, passphrase(o.passphraseFile));
      for (const k of file.list()) {
        process.stdout.write(`${k.id}\t${k.state}\t${k.usage.join(',')}\t${k.createdAt}\n`);
      }
      file.close();
    });

  for (const [name, state] of [
    ['enable', 'ENABLED'],
    ['disable', 'DISABLED'],
  ] as const) {
    fileOpts(keys.command(name))
      .description(`${name} a key (a running proxy picks it up on SIGHUP)`)
      .requiredOption('--id <externalKeyId>', 'the external key id')
      .action(async (o: { file: string; passphraseFile?: string; id: string }) => {
        await withFile(o, (f) => f.setState(o.id, state));
        process.stdout.write(`key ${o.id} is ${state}\n`);
      });
  }

  fileOpts(keys.command('delete'))
    .description('delete a key for good (every ciphertext under it becomes undecryptable)')
    .requiredOption('--id <externalKeyId>', 'the external key id')
    .action(async (o: { file: string; passphraseFile?: string; id: string }) => {
      await withFile(o, (f) => f.removeKey(o.id));
      process.stdout.write(`deleted key ${o.id}\n`);
    });

  fileOpts(keys.command('upgrade'))
    .description(
      're-seal the keys under the current scrypt parameters (N=2^17), optionally under a new passphrase',
    )
    .option('--new-passphrase-file <path>', 'file holding the new passphrase (16+ characters)')
    .action(async (o: { file: string; passphraseFile?: string; newPassphraseFile?: string }) => {
      // The current passphrase may be of the old 8-character minimum: this is the way out.
      const file = await KeyFile.open(o.file, passphrase(o.passphraseFile), {
        legacyPassphrase: true,
      }).catch((err: unknown) => {
        throw err instanceof KeyFileError ? new ConfigError(err.message) : err;
      });
      try {
        const next =
          o.newPassphraseFile !== undefined
            ? readFileSync(o.newPassphraseFile, 'utf8').trim()
            : passphrase(o.passphraseFile);
        await file.rekey(next, KEY_FILE_KDF);
      } catch (err) {
        if (err instanceof KeyFileError) throw new ConfigError(err.message);
        throw err;
      } finally {
        file.close();
      }
      const k = KEY_FILE_KDF;
      process.stdout.write(`re-sealed ${o.file} (scrypt N=${k.N}, r=${k.r}, p=${k.p})\n`);
    });

  xks
    .command('credentials')
    .description('SigV4 credentials for the proxy')
    .command('generate')
    .description('print a new random credential (AccessKeyId 20 chars A-Z2-7, secret 43 chars)')
    .action(() => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
      const id = [...randomBytes(24)].map((b) => alphabet[b % 32]).join('');
      const secret = randomBytes(32).toString('base64').replace(/=+$/, '');
      process.stdout.write(
        JSON.stringify(
          { accessKeyId: id, secretAccessKey: secret, createdAt: new Date().toISOString() },
          null,
          2,
        ) + '\n',
      );
    });
}

async function withFile(
  o: { file: string; passphraseFile?: string },
  f: (k: KeyFile) => Promise<void>,
): Promise<void> {
  const file = await KeyFile.open(o.file, passphrase(o.passphraseFile));
  try {
    await f(file);
  } catch (err) {
    if (err instanceof KeyFileError) throw new ConfigError(err.message);
    throw err;
  } finally {
    file.close();
  }
}

function passphrase(file: string | undefined): string {
  const path = file ?? process.env.KEYHOLD_XKS_KEY_FILE_PASSPHRASE_FILE;
  if (path !== undefined && path !== '') return readFileSync(path, 'utf8').trim();
  const v = process.env.KEYHOLD_XKS_KEY_FILE_PASSPHRASE;
  if (v === undefined || v === '') {
    throw new ConfigError('set KEYHOLD_XKS_KEY_FILE_PASSPHRASE (or _FILE, or --passphrase-file)');
  }
  return v;
}

async function serve(configFile: string | undefined): Promise<void> {
  let config = loadXksProxyConfig(configFile);
  let backend;
  try {
    backend = await openXksBackend(config.backend);
  } catch (err) {
    throw new ConfigError(
      `cannot open the ${config.backend.type} backend: ${(err as Error).message}`,
    );
  }
  if (backend instanceof SoftwareBackend && backend.keyFile.weakKdf) {
    process.stderr.write(
      `warning: ${config.backend.type === 'software' ? config.backend.keyFile : 'the key file'} uses scrypt parameters below N=2^17; run keyhold xks-proxy keys upgrade --file …\n`,
    );
  }
  const proxy = await startXksProxy(config, { backend });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`${signal}: stopping the XKS proxy\n`);
    proxy
      .close()
      .then(() => backend.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP: re-read the config (credentials, authorization rules, TLS certificate) and the
  // key file, without dropping the listener — the spec's rotation without restart.
  process.on('SIGHUP', () => {
    void (async () => {
      try {
        config = loadXksProxyConfig(configFile);
        proxy.reload(config);
        if (backend instanceof SoftwareBackend) await backend.reload();
        // PKCS#11 has no key state: the config's disabledKeys list is it.
        if (config.backend.type === 'pkcs11' && 'setDisabledKeys' in backend) {
          (backend as { setDisabledKeys(ids: readonly string[]): void }).setDisabledKeys(
            config.backend.disabledKeys ?? [],
          );
        }
        process.stdout.write(`SIGHUP: reloaded (${config.credentials.length} credentials)\n`);
      } catch (err) {
        process.stderr.write(
          `SIGHUP: reload failed, keeping the running config: ${(err as Error).message}\n`,
        );
      }
    })();
  });
  const lines = [
    `keyhold xks-proxy listening on ${proxy.url}${proxy.uriPrefix}/kms/xks/v1 (backend ${backend.kind}, ${config.credentials.length} credential(s): ${config.credentials.map((c) => c.accessKeyId).join(', ')})`,
  ];
  if (config.mtls !== undefined)
    lines.push(`mTLS on: client subjects ${config.mtls.allowedSubjects.join(', ')}`);
  if (proxy.metricsUrl !== undefined) lines.push(`metrics on ${proxy.metricsUrl}`);
  process.stdout.write(lines.join('\n') + '\n');
}
