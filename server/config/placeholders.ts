/**
 * Config placeholders, in the syntax of Kafka's config providers (KIP-297 / KIP-421), so that
 * a secret can live in a file or an environment variable instead of the command line:
 *
 * - `${file:/path/secrets.properties:key}`: `key` of a Java properties file (Kafka's
 *   FileConfigProvider);
 * - `${directory:/path/dir:name}`: the whole content of the file `name` in that directory
 *   (Kafka's DirectoryConfigProvider; Docker and Kubernetes secrets are laid out this way);
 * - `${env:NAME}`: the environment variable NAME (Kafka's EnvVarConfigProvider);
 * - `${file:/path}` (no key, a kafka-mysql shorthand): the whole content of the file.
 *
 * Whole-file contents lose one trailing newline, as `echo secret > file` leaves one. Unlike
 * Kafka, the providers need no `config.providers` declaration, and an unknown provider, a
 * missing variable or key, or an unreadable file stops the start with a ConfigError (Kafka
 * would pass the placeholder on literally, which only fails later at MySQL with a less useful
 * message). Error messages name the key and the file or variable, never a resolved value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProperties } from './properties.js';

/** Kafka's ConfigTransformer pattern: `${provider:[path:]key}`. */
const PLACEHOLDER = /\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}/g;

export const CONFIG_PROVIDERS = ['file', 'directory', 'env'] as const;

export class PlaceholderError extends Error {
  override name = 'PlaceholderError';
}

/** `value` with every placeholder replaced; throws PlaceholderError naming `key`. */
export function resolvePlaceholders(key: string, value: string, env: NodeJS.ProcessEnv): string {
  if (!value.includes('${')) return value;
  return value.replace(PLACEHOLDER, (_whole, provider: string, path: string | undefined, name: string) =>
    resolveOne(key, provider, path, name, env),
  );
}

function resolveOne(key: string, provider: string, path: string | undefined, name: string, env: NodeJS.ProcessEnv): string {
  switch (provider) {
    case 'env': {
      const variable = path === undefined ? name : `${path}:${name}`;
      const value = env[variable];
      if (value === undefined) throw new PlaceholderError(`'${key}': environment variable ${variable} is not set`);
      return value;
    }
    case 'file':
      if (path === undefined) return wholeFile(key, name);
      {
        const properties = parseProperties(readText(key, path));
        const value = properties.get(name);
        if (value === undefined) throw new PlaceholderError(`'${key}': ${path} has no key '${name}'`);
        return value;
      }
    case 'directory':
      if (path === undefined) throw new PlaceholderError(`'${key}': \${directory:DIR:FILE} needs a directory and a file name`);
      if (name.includes('/') || name === '..' || name === '.') {
        throw new PlaceholderError(`'${key}': \${directory:...} takes a file name, not a path ('${name}')`);
      }
      return wholeFile(key, join(path, name));
    default:
      throw new PlaceholderError(`'${key}': unknown config provider '${provider}' (known: ${CONFIG_PROVIDERS.join(', ')})`);
  }
}

function wholeFile(key: string, path: string): string {
  return readText(key, path).replace(/\r?\n$/, '');
}

function readText(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new PlaceholderError(`'${key}': cannot read ${path}: ${(err as Error).message}`);
  }
}
