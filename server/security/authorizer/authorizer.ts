/**
 * The ACL authorizer, with the semantics of Kafka's AclAuthorizer / StandardAuthorizer:
 * super.users may do anything; a resource no binding matches is allowed only with
 * allow.everyone.if.no.acl.found; a matching DENY wins over any ALLOW; ALL matches every
 * operation; DESCRIBE is implied by READ, WRITE, DELETE and ALTER, DESCRIBE_CONFIGS by
 * ALTER_CONFIGS; principal User:* and host * match everyone.
 *
 * Bindings live in MySQL (storage/acls.ts). Each broker keeps them in memory, indexed by resource
 * type, and polls a one-row generation counter every acl.refresh.ms, reloading when it moved; the
 * broker that made a change reloads at once. (Brokers sharing ZooKeeper could watch a change
 * znode instead of polling; the poll costs one primary-key read per interval.)
 */
import type { Logger } from 'pino';
import { everyInterval } from '../../background/repeating-job.js';
import type { AclStore } from '../../../storage/acls.js';
import { formatPrincipal, type KafkaPrincipal } from '../principal.js';
import { Op, Permission, PatternType, ResourceType, WILDCARD, type AclBinding } from './acl.js';
import type { DenialAudit } from '../audit.js';

/** Values of authorizer.class.name that turn the authorizer on (Kafka's class names as aliases). */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'kafka.security.authorizer.AclAuthorizer',
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.auth.SimpleAclAuthorizer',
  'kafka-mysql',
];

export interface AuthorizerSettings {
  /** Principals ("User:admin") that pass every check. */
  superUsers: readonly string[];
  allowEveryoneIfNoAclFound: boolean;
  refreshMs: number;
}

/** super.users as Kafka spells it: principals separated by semicolons. */
export function parseSuperUsers(value: string | null): string[] {
  return (value ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
}

/** A client address as Kafka's ACL hosts spell it: an IPv4 client on a dual-stack socket without its ::ffff: prefix. */
export function aclHost(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: AclBinding[];
}

const WILDCARD_PRINCIPAL = 'User:*';

/** The operations whose ALLOW also allows `op` (Kafka's implied operations). */
function allowingOps(op: number): readonly number[] {
  if (op === Op.DESCRIBE) return [Op.DESCRIBE, Op.READ, Op.WRITE, Op.DELETE, Op.ALTER];
  if (op === Op.DESCRIBE_CONFIGS) return [Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS];
  return [op];
}

export class AclAuthorizer {
  private bindings: AclBinding[] = [];
  private index = new Map<number, TypeIndex>();
  private generation = -1n;
  private stopPolling: () => void = () => undefined;
  private readonly superUsers: Set<string>;
  /** Where refusals are logged and counted (server/security/audit.ts); null: neither (unit tests). */
  audit: DenialAudit | null = null;

  constructor(
    private readonly store: AclStore,
    private readonly settings: AuthorizerSettings,
    private readonly logger: Logger,
  ) {
    this.superUsers = new Set(settings.superUsers);
  }

  /** Loads the bindings and starts polling for changes. */
  async start(): Promise<void> {
    await this.refresh();
    this.stopPolling = everyInterval(this.settings.refreshMs, () => this.refresh(), (err) => this.logger.warn({ err }, 'ACL refresh failed; keeping the cached ACLs'));
  }

  stop(): void {
    this.stopPolling();
    this.stopPolling = () => undefined;
  }

  /** Re-reads the bindings when their generation moved (or `force`). */
  async refresh(force = false): Promise<void> {
    const generation = await this.store.generation();
    if (!force && generation === this.generation) return;
    const bindings = await this.store.list();
    this.load(bindings);
    this.generation = generation;
  }

  /** Replaces the cached bindings (tests build an authorizer from a list with this). */
  load(bindings: readonly AclBinding[]): void {
    const index = new Map<number, TypeIndex>();
    for (const b of bindings) {
      let t = index.get(b.resourceType);
      if (!t) index.set(b.resourceType, (t = { literal: new Map(), prefixed: [] }));
      if (b.patternType === PatternType.PREFIXED) t.prefixed.push(b);
      else {
        let list = t.literal.get(b.resourceName);
        if (!list) t.literal.set(b.resourceName, (list = []));
        list.push(b);
      }
    }
    this.bindings = [...bindings];
    this.index = index;
  }

  /** Stores bindings (CreateAcls) and reloads at once, so this broker applies them to its next request. */
  async create(bindings: readonly AclBinding[]): Promise<void> {
    await this.store.create(bindings);
    await this.refresh(true);
  }

  /** Removes bindings (DeleteAcls) and reloads at once. */
  async delete(bindings: readonly AclBinding[]): Promise<void> {
    await this.store.delete(bindings);
    await this.refresh(true);
  }

  /** Every cached binding (DescribeAcls, DeleteAcls filter them). */
  all(): readonly AclBinding[] {
    return this.bindings;
  }

  isSuperUser(principal: KafkaPrincipal): boolean {
    return this.superUsers.has(formatPrincipal(principal));
  }

  /** Whether `principal` connecting from `host` may perform `op` on the resource. */
  authorize(principal: KafkaPrincipal, host: string, op: number, resourceType: number, name: string): boolean {
    if (this.isSuperUser(principal)) return true;
    const matching = this.matching(resourceType, name);
    if (matching.length === 0) return this.settings.allowEveryoneIfNoAclFound;
    const who = formatPrincipal(principal);
    const applies = (b: AclBinding) => (b.principal === who || b.principal === WILDCARD_PRINCIPAL) && (b.host === host || b.host === WILDCARD);
    for (const b of matching) {
      if (b.permissionType === Permission.DENY && applies(b) && (b.operation === op || b.operation === Op.ALL)) return false;
    }
    const ops = allowingOps(op);
    for (const b of matching) {
      if (b.permissionType === Permission.ALLOW && applies(b) && (b.operation === Op.ALL || ops.includes(b.operation))) return true;
    }
    return false;
  }

  /**
   * Whether the principal may perform `op` on some resource of the type (Kafka's
   * authorizeByResourceType, used for idempotent producers without IDEMPOTENT_WRITE): an ALLOW
   * for it on any pattern not covered by a DENY on the wildcard or a prefix of the pattern.
   */
  authorizeAny(principal: KafkaPrincipal, host: string, op: number, resourceType: number): boolean {
    if (this.isSuperUser(principal)) return true;
    const t = this.index.get(resourceType);
    const who = formatPrincipal(principal);
    const applies = (b: AclBinding) => (b.principal === who || b.principal === WILDCARD_PRINCIPAL) && (b.host === host || b.host === WILDCARD);
    const of = (b: AclBinding, perm: number) => b.permissionType === perm && applies(b) && (b.operation === op || b.operation === Op.ALL);
    const all = t ? [...[...t.literal.values()].flat(), ...t.prefixed] : [];
    if (all.length === 0) return this.settings.allowEveryoneIfNoAclFound;
    const denies = all.filter((b) => of(b, Permission.DENY));
    if (denies.some((d) => d.patternType === PatternType.LITERAL && d.resourceName === WILDCARD)) return false;
    return all.some(
      (b) =>
        of(b, Permission.ALLOW) &&
        !denies.some(
          (d) =>
            (d.patternType === PatternType.PREFIXED && b.resourceName.startsWith(d.resourceName)) ||
            (d.patternType === PatternType.LITERAL && b.patternType === PatternType.LITERAL && d.resourceName === b.resourceName),
        ),
    );
  }

  private matching(resourceType: number, name: string): AclBinding[] {
    const t = this.index.get(resourceType);
    if (!t) return [];
    const out: AclBinding[] = [];
    const exact = t.literal.get(name);
    if (exact) out.push(...exact);
    if (name !== WILDCARD) {
      const wild = t.literal.get(WILDCARD);
      if (wild) out.push(...wild);
    }
    for (const b of t.prefixed) if (name.startsWith(b.resourceName)) out.push(b);
    return out;
  }
}

export { ResourceType };
