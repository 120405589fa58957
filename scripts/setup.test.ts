/**
 * scripts/setup.sh (the prestart/pretest hook) in dry-run mode on a copy of its folder layout:
 * which Debian packages it finds missing, the apt-get command it runs as root or prints for
 * anyone else, when it installs npm packages, and the Node.js version check. The machine has
 * every package the suite needs (.ci/run installs them), so a package is made missing by
 * leaving it off PATH: kcat is looked up on PATH, MariaDB also in /usr/sbin.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
let dir: string;
let bin: string;

function which(tool: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${tool} not found`);
  return found;
}

/** Sets mtimes: the marker npm writes older or newer than package-lock.json. */
function npmPackagesInstalled(fresh: boolean): void {
  const lock = new Date('2026-01-01T00:00:00Z');
  const marker = new Date(lock.getTime() + (fresh ? 60_000 : -60_000));
  utimesSync(join(dir, 'package-lock.json'), lock, lock);
  utimesSync(join(dir, 'node_modules/.package-lock.json'), marker, marker);
}

function setup(mode: string, options: { path?: string; asNobody?: boolean; env?: Record<string, string> } = {}) {
  const env = { PATH: options.path ?? process.env.PATH!, SETUP_DRY_RUN: '1', ...options.env };
  // Absolute paths: the PATH given to the script may hold neither.
  const command = options.asNobody && isRoot ? [which('runuser'), '-u', 'nobody', '--', which('bash')] : [which('bash')];
  const result = spawnSync(command[0]!, [...command.slice(1), join(dir, 'scripts/setup.sh'), mode], { env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'setup-sh-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'node_modules'));
  copyFileSync(new URL('./setup.sh', import.meta.url), join(dir, 'scripts/setup.sh'));
  for (const file of ['package-lock.json', 'node_modules/.package-lock.json']) writeFileSync(join(dir, file), '{}\n');
  // A PATH with what the script itself uses, and openssl, but without kcat (nor mariadbd, found in /usr/sbin).
  bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['node', 'dirname', 'id', 'touch', 'openssl']) symlinkSync(which(tool), join(bin, tool));
  chmodSync(dir, 0o755); // readable by nobody
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scripts/setup.sh', () => {
  it('does nothing, quietly, when every package is there', () => {
    npmPackagesInstalled(true);
    expect(setup('test')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(setup('start')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it.skipIf(!isRoot)('as root, installs the missing Debian packages with apt-get (needs root to run)', () => {
    npmPackagesInstalled(true);
    expect(setup('test', { path: bin })).toEqual({
      code: 0,
      stdout: ['installing Debian packages: kcat', 'would run: apt-get update -qq', 'would run: apt-get install -y --no-install-recommends kcat', ''].join('\n'),
      stderr: '',
    });
    // kcat is for the tests only; the broker needs MariaDB, which is there.
    expect(setup('start', { path: bin })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('as another user, prints the exact apt-get command and fails', () => {
    npmPackagesInstalled(true);
    expect(setup('test', { path: bin, asNobody: true })).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        'missing Debian packages: kcat',
        'install them as root, then run this again:',
        '  sudo apt-get update && sudo apt-get install -y --no-install-recommends kcat',
        '',
      ].join('\n'),
    });
  });

  it('installs npm packages when node_modules is older than the lock file, or absent', () => {
    npmPackagesInstalled(false);
    const expected = { code: 0, stdout: 'installing npm packages\nwould run: npm install --no-audit --no-fund\nwould run: touch node_modules/.package-lock.json\n', stderr: '' };
    expect(setup('start')).toEqual(expected);
    rmSync(join(dir, 'node_modules/.package-lock.json'));
    expect(setup('test')).toEqual(expected);
    writeFileSync(join(dir, 'node_modules/.package-lock.json'), '{}\n');
  });

  it('refuses Node.js before 20, and an unknown mode', () => {
    npmPackagesInstalled(true);
    const old = join(dir, 'old-node');
    mkdirSync(old);
    writeFileSync(join(old, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 18 ;; *) echo v18.20.4 ;; esac\n', { mode: 0o755 });
    expect(setup('start', { path: `${old}:${process.env.PATH}` })).toEqual({ code: 1, stdout: '', stderr: 'kafka-mysql needs Node.js 20 or later (found: v18.20.4)\n' });
    expect(setup('deploy').code).toBe(2);
  });
});
