import { createHash } from 'node:crypto';
import type { Pool, RowDataPacket, ResultSetHeader } from 'mysql2/promise';

/**
 * ACL bindings in the metadata database (tables acls and acl_generation, migration 0013).
 * Storage keeps bindings as numbers and strings (Kafka's codes: resource type, pattern type,
 * operation, permission type); what they mean is the authorizer's business (server/security/authorizer/).
 */
export interface StoredAcl {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export interface AclStore {
  /** A counter bumped by every change: a broker reloads its cached ACLs when it moves. */
  generation(): Promise<bigint>;
  /** Every stored binding. */
  list(): Promise<StoredAcl[]>;
  /** Stores the bindings (one already stored is left as it is). */
  create(acls: readonly StoredAcl[]): Promise<void>;
  /** Removes the bindings; resolves with the ones that were stored. */
  delete(acls: readonly StoredAcl[]): Promise<StoredAcl[]>;
}

/** Identity of a binding: its fields, each length-prefixed so no two bindings share a key. */
export function aclKey(a: StoredAcl): Buffer {
  const h = createHash('sha256');
  for (const n of [a.resourceType, a.patternType, a.operation, a.permissionType]) h.update(`${n};`);
  for (const s of [a.resourceName, a.principal, a.host]) {
    const b = Buffer.from(s, 'utf8');
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest();
}

export class MysqlAclStore implements AclStore {
  /** A getter, not a pool: the metadata pool may be replaced at run time (failover). */
  constructor(private readonly pool: () => Pool) {}

  async generation(): Promise<bigint> {
    const [rows] = await this.pool().query<RowDataPacket[]>({ sql: 'SELECT generation FROM acl_generation WHERE id = 1', supportBigNumbers: true, bigNumberStrings: true });
    return rows.length === 0 ? 0n : BigInt(rows[0]!.generation as string);
  }

  async list(): Promise<StoredAcl[]> {
    const [rows] = await this.pool().query<RowDataPacket[]>(
      'SELECT resource_type, resource_name, pattern_type, principal, host, operation, permission_type FROM acls ORDER BY created_ms, acl_key',
    );
    return rows.map((r) => ({
      resourceType: Number(r.resource_type),
      resourceName: Buffer.from(r.resource_name as Buffer).toString('utf8'),
      patternType: Number(r.pattern_type),
      principal: Buffer.from(r.principal as Buffer).toString('utf8'),
      host: Buffer.from(r.host as Buffer).toString('utf8'),
      operation: Number(r.operation),
      permissionType: Number(r.permission_type),
    }));
  }

  async create(acls: readonly StoredAcl[]): Promise<void> {
    if (acls.length === 0) return;
    const conn = await this.pool().getConnection();
    try {
      await conn.beginTransaction();
      const now = Date.now();
      await conn.query(
        'INSERT IGNORE INTO acls (acl_key, resource_type, resource_name, pattern_type, principal, host, operation, permission_type, created_ms) VALUES ?',
        [acls.map((a) => [aclKey(a), a.resourceType, Buffer.from(a.resourceName), a.patternType, Buffer.from(a.principal), Buffer.from(a.host), a.operation, a.permissionType, now])],
      );
      await conn.query('UPDATE acl_generation SET generation = generation + 1 WHERE id = 1');
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  async delete(acls: readonly StoredAcl[]): Promise<StoredAcl[]> {
    if (acls.length === 0) return [];
    const conn = await this.pool().getConnection();
    try {
      await conn.beginTransaction();
      const removed: StoredAcl[] = [];
      for (const a of acls) {
        const [result] = await conn.query<ResultSetHeader>('DELETE FROM acls WHERE acl_key = ?', [aclKey(a)]);
        if (result.affectedRows > 0) removed.push(a);
      }
      if (removed.length > 0) await conn.query('UPDATE acl_generation SET generation = generation + 1 WHERE id = 1');
      await conn.commit();
      return removed;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
