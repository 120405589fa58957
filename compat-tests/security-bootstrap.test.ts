/**
 * Bootstrapping a secured broker (issue 13, docs/security.md): on a database no broker has used
 * yet, `kafka-mysql users set` makes the first administrator straight in MySQL with no broker
 * running; a broker with only a SASL listener and an authorizer then lets that super user in
 * (kafkajs, SCRAM-SHA-512) to create topics and ACLs, refuses a user without ACLs, and its HTTP
 * listener still serves /metrics (with the authentication and refusal counters) and /health.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AclOperationTypes as Ops, AclPermissionTypes as Perm, AclResourceTypes as Res, Kafka, logLevel, ResourcePatternTypes as Pat } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

let mysqlUrl: string;
let tb: TestBroker | undefined;

function cli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--set', `mysql.url=${mysqlUrl}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

function kafka(user: string, password: string): Kafka {
  return new Kafka({
    clientId: `bootstrap-${user}`,
    brokers: [tb!.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    sasl: { mechanism: 'scram-sha-512', username: user, password },
  });
}

beforeAll(async () => {
  mysqlUrl = await createTestDatabase('security bootstrap');
}, 60_000);

afterAll(async () => {
  await tb?.stop();
  if (mysqlUrl) await dropTestDatabase(mysqlUrl);
});

describe('bootstrapping the first administrator', () => {
  it('users set works before any broker ran; the broker then admits the super user and refuses the others; /metrics and /health stay served', async () => {
    const set = await cli(['users', 'set', 'admin', '--mechanism', 'SCRAM-SHA-512', '--password-stdin'], 'first admin pw\n');
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    const listed = await cli(['users', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('"admin"');
    expect(listed.stdout).not.toContain('first admin pw');

    tb = await startTestBroker(
      'security bootstrap',
      {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
        'super.users': 'User:admin',
        'metrics.listener': '127.0.0.1:0',
      },
      mysqlUrl,
    );
    const admin = kafka('admin', 'first admin pw').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'payments' }] });
      await admin.createAcls({ acl: [{ resourceType: Res.TOPIC, resourceName: 'payments', resourcePatternType: Pat.LITERAL, principal: 'User:auditor', host: '*', operation: Ops.DESCRIBE, permissionType: Perm.ALLOW }] });
    } finally {
      await admin.disconnect();
    }
    // A user made while the broker runs, with no ACL for it: logs in, is refused the write.
    expect((await cli(['users', 'set', 'app', '--mechanism', 'SCRAM-SHA-512', '--password-stdin'], 'app pw')).code).toBe(0);
    const producer = kafka('app', 'app pw').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const err = await producer.send({ topic: 'payments', messages: [{ value: 'x' }] }).then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(/authoriz/i);
    } finally {
      await producer.disconnect();
    }

    const metrics = await fetch(`http://127.0.0.1:${tb.broker.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/kafka_mysql_authentications_total\{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-512",result="success"\} [1-9]/);
    expect(text).toMatch(/kafka_mysql_authorization_denied_total\{operation="DESCRIBE",resource_type="TOPIC",listener="SASL_PLAINTEXT"\} [1-9]/);
    const health = await fetch(`http://127.0.0.1:${tb.broker.metricsPort}/health`);
    expect(health.status).toBe(200);
  }, 60_000);
});
