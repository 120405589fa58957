/**
 * The authorizer's rules, each against a binding list written out: deny wins, ALL, implied
 * DESCRIBE and DESCRIBE_CONFIGS, wildcard and prefixed patterns, User:* and host *, super.users,
 * allow.everyone.if.no.acl.found, and the DescribeAcls/DeleteAcls filter semantics.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AclStore, StoredAcl } from '../../../storage/acls.js';
import { filterMatches, bindingProblem, type AclFilter } from './acl.js';
import { aclHost, AclAuthorizer, parseSuperUsers } from './authorizer.js';

const T = 2, G = 3, C = 4, X = 5; // resource types: topic, group, cluster, transactional id
const LIT = 3, PRE = 4;
const DENY = 2, ALLOW = 3;
const ALL = 2, READ = 3, WRITE = 4, CREATE = 5, DELETE = 6, ALTER = 7, DESCRIBE = 8, DESCRIBE_CONFIGS = 10, ALTER_CONFIGS = 11, IDEMPOTENT_WRITE = 12;

const alice = { type: 'User', name: 'alice' };
const bob = { type: 'User', name: 'bob' };
const admin = { type: 'User', name: 'admin' };

function acl(resourceType: number, resourceName: string, patternType: number, principal: string, operation: number, permissionType = ALLOW, host = '*'): StoredAcl {
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

function authorizer(bindings: StoredAcl[], allowIfNone = false): AclAuthorizer {
  const store: AclStore = { generation: async () => 0n, list: async () => bindings, create: async () => undefined, delete: async () => [] };
  const a = new AclAuthorizer(store, { superUsers: ['User:admin'], allowEveryoneIfNoAclFound: allowIfNone, refreshMs: 1000 }, pino({ level: 'silent' }));
  a.load(bindings);
  return a;
}

describe('AclAuthorizer', () => {
  it('allows what a literal ALLOW names, for that principal only', () => {
    const a = authorizer([acl(T, 'orders', LIT, 'User:alice', READ)]);
    expect(a.authorize(alice, '10.0.0.1', READ, T, 'orders')).toBe(true);
    expect(a.authorize(bob, '10.0.0.1', READ, T, 'orders')).toBe(false);
    expect(a.authorize(alice, '10.0.0.1', WRITE, T, 'orders')).toBe(false);
    expect(a.authorize(alice, '10.0.0.1', READ, T, 'orders2')).toBe(false);
    expect(a.authorize(alice, '10.0.0.1', READ, G, 'orders')).toBe(false);
  });

  it('implies DESCRIBE from READ, WRITE, DELETE and ALTER, and DESCRIBE_CONFIGS from ALTER_CONFIGS, nothing else', () => {
    for (const op of [READ, WRITE, DELETE, ALTER]) expect(authorizer([acl(T, 't', LIT, 'User:alice', op)]).authorize(alice, 'h', DESCRIBE, T, 't')).toBe(true);
    expect(authorizer([acl(T, 't', LIT, 'User:alice', CREATE)]).authorize(alice, 'h', DESCRIBE, T, 't')).toBe(false);
    expect(authorizer([acl(T, 't', LIT, 'User:alice', ALTER_CONFIGS)]).authorize(alice, 'h', DESCRIBE_CONFIGS, T, 't')).toBe(true);
    expect(authorizer([acl(T, 't', LIT, 'User:alice', DESCRIBE)]).authorize(alice, 'h', READ, T, 't')).toBe(false);
    expect(authorizer([acl(T, 't', LIT, 'User:alice', ALTER)]).authorize(alice, 'h', DESCRIBE_CONFIGS, T, 't')).toBe(false);
  });

  it('lets ALL allow every operation and a DENY win over any ALLOW', () => {
    const a = authorizer([acl(T, 't', LIT, 'User:alice', ALL), acl(T, 't', LIT, 'User:alice', WRITE, DENY)]);
    expect(a.authorize(alice, 'h', READ, T, 't')).toBe(true);
    expect(a.authorize(alice, 'h', WRITE, T, 't')).toBe(false);
    const b = authorizer([acl(T, '*', LIT, 'User:*', ALL), acl(T, 'secret', LIT, 'User:*', ALL, DENY)]);
    expect(b.authorize(bob, 'h', READ, T, 'public')).toBe(true);
    expect(b.authorize(bob, 'h', DESCRIBE, T, 'secret')).toBe(false);
  });

  it('matches prefixed patterns by name prefix, and a prefixed DENY shadows a literal ALLOW', () => {
    const a = authorizer([acl(T, 'team-a.', PRE, 'User:alice', WRITE), acl(T, 'team-a.audit', PRE, 'User:alice', WRITE, DENY)]);
    expect(a.authorize(alice, 'h', WRITE, T, 'team-a.orders')).toBe(true);
    expect(a.authorize(alice, 'h', WRITE, T, 'team-a.audit-log')).toBe(false);
    expect(a.authorize(alice, 'h', WRITE, T, 'team-b.orders')).toBe(false);
    expect(a.authorize(alice, 'h', WRITE, T, 'team-a')).toBe(false);
  });

  it('matches hosts exactly or by *', () => {
    const a = authorizer([acl(G, 'g', LIT, 'User:alice', READ, ALLOW, '10.0.0.1')]);
    expect(a.authorize(alice, '10.0.0.1', READ, G, 'g')).toBe(true);
    expect(a.authorize(alice, '10.0.0.2', READ, G, 'g')).toBe(false);
    const b = authorizer([acl(G, 'g', LIT, 'User:alice', READ), acl(G, 'g', LIT, 'User:alice', READ, DENY, '10.0.0.9')]);
    expect(b.authorize(alice, '10.0.0.1', READ, G, 'g')).toBe(true);
    expect(b.authorize(alice, '10.0.0.9', READ, G, 'g')).toBe(false);
  });

  it('spells IPv4 clients of dual-stack sockets as Kafka does, IPv6 ones unchanged', () => {
    expect(aclHost('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(aclHost('10.0.0.1')).toBe('10.0.0.1');
    expect(aclHost('::1')).toBe('::1');
    expect(aclHost('fe80::ffff:1')).toBe('fe80::ffff:1');
  });

  it('lets super users do anything, even against a DENY', () => {
    const a = authorizer([acl(C, 'kafka-cluster', LIT, 'User:admin', ALL, DENY)]);
    expect(a.authorize(admin, 'h', ALTER, C, 'kafka-cluster')).toBe(true);
    expect(a.authorize(admin, 'h', WRITE, T, 'anything')).toBe(true);
    expect(parseSuperUsers(' User:admin; User:broker ;')).toEqual(['User:admin', 'User:broker']);
  });

  it('refuses a resource no ACL matches unless allow.everyone.if.no.acl.found', () => {
    const bindings = [acl(T, 'other', LIT, 'User:bob', READ)];
    expect(authorizer(bindings).authorize(alice, 'h', READ, T, 'free')).toBe(false);
    expect(authorizer(bindings, true).authorize(alice, 'h', READ, T, 'free')).toBe(true);
    // A resource with ACLs for someone else is not "no ACL found".
    expect(authorizer(bindings, true).authorize(alice, 'h', READ, T, 'other')).toBe(false);
  });

  it('grants idempotent writes by WRITE on any topic unless a wildcard DENY covers it (authorizeAny)', () => {
    expect(authorizer([acl(T, 'x.', PRE, 'User:alice', WRITE)]).authorizeAny(alice, 'h', WRITE, T)).toBe(true);
    expect(authorizer([acl(T, 'x.', PRE, 'User:alice', READ)]).authorizeAny(alice, 'h', WRITE, T)).toBe(false);
    expect(authorizer([acl(T, 'x.', PRE, 'User:alice', WRITE), acl(T, '*', LIT, 'User:alice', WRITE, DENY)]).authorizeAny(alice, 'h', WRITE, T)).toBe(false);
    expect(authorizer([acl(T, 'x.a', LIT, 'User:alice', WRITE), acl(T, 'x.', PRE, 'User:*', ALL, DENY)]).authorizeAny(alice, 'h', WRITE, T)).toBe(false);
    expect(authorizer([acl(C, 'kafka-cluster', LIT, 'User:alice', IDEMPOTENT_WRITE)]).authorize(alice, 'h', IDEMPOTENT_WRITE, C, 'kafka-cluster')).toBe(true);
    expect(authorizer([acl(X, 'tx-', PRE, 'User:alice', WRITE)]).authorize(alice, 'h', DESCRIBE, X, 'tx-1')).toBe(true);
  });
});

describe('ACL filters and bindings', () => {
  const f = (o: Partial<AclFilter>): AclFilter => ({ resourceType: 1, resourceName: null, patternType: 1, principal: null, host: null, operation: 1, permissionType: 1, ...o });
  const lit = acl(T, 'orders', LIT, 'User:alice', READ);
  const wild = acl(T, '*', LIT, 'User:alice', READ);
  const pre = acl(T, 'ord', PRE, 'User:alice', READ);

  it('ANY and exact pattern types match the name exactly; MATCH also matches wildcard and prefixes', () => {
    expect([lit, wild, pre].map((b) => filterMatches(f({ resourceName: 'orders' }), b))).toEqual([true, false, false]);
    expect([lit, wild, pre].map((b) => filterMatches(f({ resourceName: 'orders', patternType: 2 }), b))).toEqual([true, true, true]);
    expect([lit, wild, pre].map((b) => filterMatches(f({ resourceName: 'ord', patternType: PRE }), b))).toEqual([false, false, true]);
    expect([lit, wild, pre].map((b) => filterMatches(f({ patternType: LIT }), b))).toEqual([true, true, false]);
    expect(filterMatches(f({ principal: 'User:bob' }), lit)).toBe(false);
    expect(filterMatches(f({ operation: WRITE }), lit)).toBe(false);
    expect(filterMatches(f({ permissionType: DENY }), lit)).toBe(false);
    expect(filterMatches(f({ resourceType: G }), lit)).toBe(false);
  });

  it('refuses bindings Kafka refuses', () => {
    expect(bindingProblem(lit)).toBeNull();
    expect(bindingProblem({ ...lit, patternType: 2 })).not.toBeNull();
    expect(bindingProblem({ ...lit, operation: 1 })).not.toBeNull();
    expect(bindingProblem({ ...lit, permissionType: 1 })).not.toBeNull();
    expect(bindingProblem({ ...lit, resourceType: 1 })).not.toBeNull();
    expect(bindingProblem({ ...lit, principal: 'alice' })).not.toBeNull();
    expect(bindingProblem({ ...lit, resourceName: '' })).not.toBeNull();
    expect(bindingProblem(acl(C, 'cluster', LIT, 'User:a', ALTER))).toBe('The only valid name for the CLUSTER resource is kafka-cluster');
  });
});
