import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from 'pino';

/**
 * Who may reach the managed MariaDB, and how that is enforced:
 * - the server runs as the broker's own OS user, or as the `mysql` system user when the broker
 *   runs as root (never as root: a root server could write root-owned files anywhere);
 * - the data directory (socket, files, password) is mode 0700 and owned by that user, so only
 *   it and root can enter it; a socket path too long for the data directory goes into a
 *   private 0700 directory of its own under the temp directory;
 * - MySQL root has a generated password, kept in a 0600 file the broker owns, and is given it
 *   by an --init-file before the server accepts its first connection; accounts without a
 *   password are dropped;
 * - secure_file_priv is an empty 0700 directory inside the data directory (hidden from SHOW
 *   DATABASES), so LOAD DATA, LOAD_FILE and SELECT ... INTO OUTFILE reach nothing else.
 */

export interface ServerAccount {
  uid: number;
  gid: number;
  name: string;
  /** True when the broker is root and the server runs as another user (spawned with uid/gid). */
  switched: boolean;
}

export const PASSWORD_FILE = 'kafka-mysql.password';
export const INIT_FILE = 'kafka-mysql-init.sql';
/** A name MariaDB cannot have made for a database ('-' is encoded in database directory names). */
export const SECURE_FILES_DIR = 'secure-file-priv';
/**
 * The server's own tmpdir (its temporary tables, also during mariadb-install-db): with the
 * shared /tmp, servers started side by side (tests, dev clusters) could lose each other's files.
 */
export const SERVER_TMP_DIR = 'server-tmp';

/** The account the server runs as: this process's own, or `mysql` when this process is root. */
export async function serverAccount(): Promise<ServerAccount> {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  if (uid !== 0) return { uid, gid, name: os.userInfo().username, switched: false };
  const line = await new Promise<string>((resolve) =>
    execFile('getent', ['passwd', 'mysql'], (err, stdout) => resolve(err ? '' : stdout.trim())),
  );
  const [name, , u, g] = line.split(':');
  if (name !== 'mysql' || !u || !g) {
    throw new Error(
      'the broker runs as root and the managed MariaDB must not: there is no `mysql` system user to run it as ' +
        '(the mariadb-server package creates one; or run the broker as an ordinary user)',
    );
  }
  return { uid: Number(u), gid: Number(g), name, switched: true };
}

/**
 * Makes the data directory the server's private directory: created if missing, owned by the
 * server's account (a directory left by an older version that ran the server as root is handed
 * over, files included), mode 0700, reachable through its parents.
 */
export async function prepareDataDir(dataDir: string, account: ServerAccount, logger?: Logger): Promise<void> {
  const created = (await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })) !== undefined;
  const st = await fs.stat(dataDir);
  if (!st.isDirectory()) throw new Error(`managed MariaDB data directory ${dataDir} is not a directory`);
  if (st.uid !== account.uid) {
    if (!account.switched) {
      throw new Error(
        `managed MariaDB data directory ${dataDir} belongs to uid ${st.uid}, not to this user (uid ${account.uid}): ` +
          'start the broker as its owner, or choose another mysql.data.dir',
      );
    }
    if (!created) logger?.warn({ dataDir, from: st.uid, to: account.name }, 'handing the managed MariaDB data directory to its server user');
    // The top directory last: an interrupted hand-over is redone on the next start.
    await chownTree(dataDir, account);
  }
  if ((st.mode & 0o777) !== 0o700) await fs.chmod(dataDir, 0o700);
  if (account.switched) await checkReachable(dataDir, account);
  for (const name of [SECURE_FILES_DIR, SERVER_TMP_DIR]) {
    const dir = path.join(dataDir, name);
    await fs.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await fs.chmod(dir, 0o700);
    if (account.switched) await fs.lchown(dir, account.uid, account.gid);
  }
}

async function chownTree(dir: string, account: ServerAccount): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, account);
    else await fs.lchown(p, account.uid, account.gid);
  }
  await fs.lchown(dir, account.uid, account.gid);
}

/** Fails with the first directory the server's account cannot pass through (e.g. a 0700 /root). */
async function checkReachable(dataDir: string, account: ServerAccount): Promise<void> {
  const dirs: string[] = [];
  for (let d = dataDir; ; d = path.dirname(d)) {
    dirs.unshift(d);
    if (path.dirname(d) === d) break;
  }
  const blocked = await new Promise<string>((resolve) =>
    execFile(
      '/bin/sh',
      ['-c', 'for d in "$@"; do cd -- "$d" 2>/dev/null || { printf %s "$d"; exit 1; }; done', 'sh', ...dirs],
      { uid: account.uid, gid: account.gid },
      (err, stdout) => resolve(err ? stdout || dataDir : ''),
    ),
  );
  if (blocked) {
    throw new Error(
      `the managed MariaDB runs as the ${account.name} user, which cannot enter ${blocked} on the way to ${dataDir}: ` +
        `let it through (chmod o+x ${blocked}, or setfacl -m u:${account.name}:x ${blocked}) or choose a mysql.data.dir elsewhere`,
    );
  }
}

/**
 * The MySQL root password of this data directory, generated on first use (also for a data
 * directory an older version left with a password-less root) and kept in a 0600 file.
 */
export async function rootPassword(dataDir: string): Promise<{ password: string; created: boolean }> {
  const file = path.join(dataDir, PASSWORD_FILE);
  try {
    const password = (await fs.readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{32,}$/.test(password)) {
      await fs.chmod(file, 0o600);
      return { password, created: false };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Hex: nothing to escape in SQL or in a URL.
  const password = randomBytes(24).toString('hex');
  await writePasswordFile(dataDir, password);
  return { password, created: true };
}

/** Writes the password file (0600, replaced atomically). */
export async function writePasswordFile(dataDir: string, password: string): Promise<void> {
  const file = path.join(dataDir, PASSWORD_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${password}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
}

/** Reads the password of a data directory without creating one (CLI next to a running broker). */
export async function readRootPassword(dataDir: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(dataDir, PASSWORD_FILE), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The --init-file that gives root its password before the first connection is accepted (so a
 * data directory whose root had none is never reachable without one). Readable by the server's
 * account only; removed once the server is up.
 */
export async function writeInitFile(dataDir: string, account: ServerAccount, password: string): Promise<string> {
  const file = path.join(dataDir, INIT_FILE);
  const sql = ['localhost', '127.0.0.1', '::1']
    .map((host) => `ALTER USER IF EXISTS 'root'@'${host}' IDENTIFIED BY '${password}';\n`)
    .join('');
  await fs.rm(file, { force: true });
  await fs.writeFile(file, sql, { mode: 0o600 });
  if (account.switched) await fs.lchown(file, account.uid, account.gid);
  return file;
}

/**
 * Accounts that accept a login without a password (mariadb-install-db's root@<hostname>,
 * anonymous users); not locked ones such as mariadb.sys (JSON_VALUE gives a JSON true as '1').
 */
export const PASSWORDLESS_ACCOUNTS_SQL = `
  SELECT User AS user, Host AS host FROM mysql.global_priv
  WHERE IFNULL(JSON_VALUE(Priv, '$.authentication_string'), '') = ''
    AND IFNULL(JSON_VALUE(Priv, '$.plugin'), 'mysql_native_password') IN ('', 'mysql_native_password', 'mysql_old_password')
    AND IFNULL(JSON_VALUE(Priv, '$.account_locked'), '0') NOT IN ('1', 'true')
    AND IFNULL(JSON_VALUE(Priv, '$.is_role'), '0') NOT IN ('1', 'true')`;

/**
 * Where the server's socket goes: inside the data directory, or, when that path is too long
 * for a Unix socket (~107 bytes), in a private directory of its own under the temp directory.
 */
export function socketPathFor(dataDir: string): string {
  const inside = path.join(dataDir, 'mariadbd.sock');
  if (Buffer.byteLength(inside) < 100) return inside;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `kafka-mysql-${hash}`, 'mariadbd.sock');
}

/**
 * The socket's directory outside the data directory: 0700 and owned by the server's account.
 * A name under a shared temp directory can be taken first by anyone, so a directory that is a
 * link, or belongs to someone else, is refused rather than used.
 */
export async function prepareSocketDir(dataDir: string, socketPath: string, account: ServerAccount): Promise<void> {
  const dir = path.dirname(socketPath);
  if (dir === dataDir) return;
  await fs.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await fs.lstat(dir);
  const self = process.getuid?.() ?? -1;
  if (!st.isDirectory() || (st.uid !== account.uid && st.uid !== self)) {
    throw new Error(`socket directory ${dir} is not a directory of this broker (owner uid ${st.uid}); remove it or shorten mysql.data.dir`);
  }
  await fs.chmod(dir, 0o700);
  if (account.switched) await fs.lchown(dir, account.uid, account.gid);
}
