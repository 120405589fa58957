import { describe, expect, it } from 'vitest';
import { parseRetryAfter, secretKey, webhookHeaders } from './deliver.js';
import { parseSpec, SpecError } from './definition.js';

describe('Standard Webhooks headers', () => {
  it('signs as the specification\'s published example', () => {
    // Secret, id, timestamp, payload and signature from the Standard Webhooks specification's example.
    const h = webhookHeaders('msg_p5jXN8AQM9LWM0D4loKWxJek', Buffer.from('{"test": 2432232314}'), secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 1614265330_000);
    expect(h).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('sends no signature without a secret', () => {
    expect(webhookHeaders('a:b:0:1', Buffer.from('x'), null, 5_000)).toEqual({ 'webhook-id': 'a:b:0:1', 'webhook-timestamp': '5' });
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates, and ignores the rest', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(undefined)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const inTen = new Date(Date.now() + 10_000).toUTCString();
    const ms = parseRetryAfter(inTen)!;
    expect(ms).toBeGreaterThan(8000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT')).toBe(0);
  });
});

describe('subscription definitions', () => {
  it('fills the documented defaults', () => {
    const s = parseSpec({ topics: ['t'], endpoint: { url: 'http://127.0.0.1:8080/hook' } });
    expect(s).toMatchObject({
      bodyFormat: 'json',
      ordering: 'partition',
      maxConcurrency: 4,
      rateLimit: null,
      endpoint: { method: 'POST', timeoutMs: 10_000, headers: {} },
      retry: { initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 2, maxAttempts: 10, maxAgeMs: 86_400_000 },
      after: null,
      deadLetterTopic: null,
      secret: null,
      startFrom: 'latest',
    });
  });

  it('names the bad field', () => {
    const bad = (body: Record<string, unknown>) => {
      try {
        parseSpec({ topics: ['t'], endpoint: { url: 'http://x/' }, ...body });
      } catch (err) {
        expect(err).toBeInstanceOf(SpecError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ topics: [] })).toBe('topics must be a non-empty array of topic names');
    expect(bad({ endpoint: { url: 'x' } })).toBe('endpoint.url must be an absolute http or https URL');
    expect(bad({ endpoint: { url: 'http://x/', headers: { 'webhook-id': 'mine' } } })).toBe('endpoint.headers may not set webhook-id (the delivery sets it)');
    expect(bad({ max_concurrency: 0 })).toBe('max_concurrency must be an integer from 1 to 1000');
    expect(bad({ dead_letter_topic: 't' })).toBe('dead_letter_topic must not be one of the source topics');
    expect(bad({ filter: {} })).toBe('filter needs header_name or key_prefix');
    expect(bad({ retry: { initial_backoff_ms: 500, max_backoff_ms: 100 } })).toBe('retry.max_backoff_ms must be an integer from 500 to 86400000');
  });
});
