import type { Pool, RowDataPacket, ResultSetHeader } from 'mysql2/promise';

/**
 * SASL users in the metadata database (table user_credentials, migration 0012): one row per
 * user and mechanism. Storage keeps what it is given and never sees a password: the server
 * derives SCRAM keys (RFC 5802) or a PLAIN hash before writing.
 */
export interface StoredCredential {
  /** SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN. */
  mechanism: string;
  salt: Buffer;
  /** SCRAM: StoredKey. PLAIN: the salted PBKDF2 hash of the password. */
  storedKey: Buffer;
  /** SCRAM: ServerKey. PLAIN: empty. */
  serverKey: Buffer;
  iterations: number;
}

export interface UserStore {
  /** The user's credential for one mechanism, or null. */
  credential(user: string, mechanism: string): Promise<StoredCredential | null>;
  /** Users with their credentials, by name (all users when `users` is null). */
  list(users: readonly string[] | null): Promise<Map<string, StoredCredential[]>>;
  /** Creates or replaces the user's credential for its mechanism. */
  upsert(user: string, credential: StoredCredential): Promise<void>;
  /** Removes the user's credential for one mechanism, or all of them; resolves with the rows removed. */
  delete(user: string, mechanism?: string): Promise<number>;
}

/** Longest user name stored (bytes of UTF-8), as the column allows. */
export const MAX_USER_NAME_BYTES = 1024;

export class MysqlUserStore implements UserStore {
  /** A getter, not a pool: the metadata pool may be replaced at run time (failover). */
  constructor(private readonly pool: () => Pool) {}

  async credential(user: string, mechanism: string): Promise<StoredCredential | null> {
    if (Buffer.byteLength(user) > MAX_USER_NAME_BYTES) return null;
    const [rows] = await this.pool().query<RowDataPacket[]>(
      'SELECT mechanism, salt, stored_key, server_key, iterations FROM user_credentials WHERE user_name = ? AND mechanism = ?',
      [Buffer.from(user), mechanism],
    );
    return rows.length === 0 ? null : toCredential(rows[0]!);
  }

  async list(users: readonly string[] | null): Promise<Map<string, StoredCredential[]>> {
    const out = new Map<string, StoredCredential[]>();
    if (users !== null && users.length === 0) return out;
    const [rows] = users === null
      ? await this.pool().query<RowDataPacket[]>('SELECT user_name, mechanism, salt, stored_key, server_key, iterations FROM user_credentials ORDER BY user_name, mechanism')
      : await this.pool().query<RowDataPacket[]>(
          'SELECT user_name, mechanism, salt, stored_key, server_key, iterations FROM user_credentials WHERE user_name IN (?) ORDER BY user_name, mechanism',
          [users.map((u) => Buffer.from(u))],
        );
    for (const r of rows) {
      const name = Buffer.from(r.user_name as Buffer).toString('utf8');
      let list = out.get(name);
      if (!list) out.set(name, (list = []));
      list.push(toCredential(r));
    }
    return out;
  }

  async upsert(user: string, c: StoredCredential): Promise<void> {
    if (Buffer.byteLength(user) > MAX_USER_NAME_BYTES) throw new Error(`user name longer than ${MAX_USER_NAME_BYTES} bytes`);
    await this.pool().query(
      'INSERT INTO user_credentials (user_name, mechanism, salt, stored_key, server_key, iterations, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE salt = VALUES(salt), stored_key = VALUES(stored_key), server_key = VALUES(server_key), iterations = VALUES(iterations), updated_ms = VALUES(updated_ms)',
      [Buffer.from(user), c.mechanism, c.salt, c.storedKey, c.serverKey, c.iterations, Date.now()],
    );
  }

  async delete(user: string, mechanism?: string): Promise<number> {
    const [result] = mechanism === undefined
      ? await this.pool().query<ResultSetHeader>('DELETE FROM user_credentials WHERE user_name = ?', [Buffer.from(user)])
      : await this.pool().query<ResultSetHeader>('DELETE FROM user_credentials WHERE user_name = ? AND mechanism = ?', [Buffer.from(user), mechanism]);
    return result.affectedRows;
  }
}

function toCredential(r: RowDataPacket): StoredCredential {
  return {
    mechanism: String(r.mechanism),
    salt: Buffer.from(r.salt as Buffer),
    storedKey: Buffer.from(r.stored_key as Buffer),
    serverKey: Buffer.from(r.server_key as Buffer),
    iterations: Number(r.iterations),
  };
}
