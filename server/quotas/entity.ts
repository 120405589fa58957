/**
 * Quota entities as the client quota APIs spell them: a list of (entity type, name) components,
 * types "user" and "client-id", a null name meaning the default. Shared by AlterClientQuotas and
 * DescribeClientQuotas.
 */
import type { QuotaEntity } from '../../storage/quotas.js';

export const USER = 'user';
export const CLIENT_ID = 'client-id';

/** The entity of the components, or why it is refused (INVALID_REQUEST, with Kafka's kind of message). */
export function parseEntity(components: readonly { entityType: string; entityName: string | null }[]): QuotaEntity | string {
  if (components.length === 0) return 'Invalid empty client quota entity';
  const entity: QuotaEntity = {};
  for (const c of components) {
    if (c.entityType === USER) {
      if ('user' in entity) return `Duplicate user entity type`;
      entity.user = c.entityName;
    } else if (c.entityType === CLIENT_ID) {
      if ('clientId' in entity) return `Duplicate client-id entity type`;
      entity.clientId = c.entityName;
    } else if (c.entityType === 'ip') {
      return 'IP quotas (connection_creation_rate) are not supported by this broker';
    } else {
      return `Unhandled client quota entity type: ${c.entityType}`;
    }
  }
  return entity;
}

/** The components of an entity, user first, as Kafka lists them. */
export function entityComponents(e: QuotaEntity): { entityType: string; entityName: string | null }[] {
  const out: { entityType: string; entityName: string | null }[] = [];
  if (e.user !== undefined) out.push({ entityType: USER, entityName: e.user });
  if (e.clientId !== undefined) out.push({ entityType: CLIENT_ID, entityName: e.clientId });
  return out;
}
