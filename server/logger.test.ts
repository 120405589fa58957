/**
 * createLogger in real processes (the built dist/): JSON lines through a pipe, readable lines
 * on a terminal (a pseudo-terminal made by util-linux `script`, part of every Debian system).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logger = fileURLToPath(new URL('../dist/server/logger.js', import.meta.url));
const script = (fd: 1 | 2) =>
  `const { createLogger } = await import(${JSON.stringify(logger)});` +
  `const log = createLogger({ level: 'info', base: { broker: 7 }, fd: ${fd} });` +
  `log.info({ port: 9092 }, 'broker listening'); log.debug('hidden'); log.warn('careful');`;
const nodeArgs = (fd: 1 | 2) => ['--input-type=module', '-e', script(fd)];
// Colours and the terminal's carriage returns removed.
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

describe('createLogger', () => {
  it('writes one JSON object per line when stdout is a pipe', () => {
    const out = execFileSync(process.execPath, nodeArgs(1), { encoding: 'utf8' });
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map(({ level, broker, msg, port }) => ({ level, broker, msg, port }))).toEqual([
      { level: 30, broker: 7, msg: 'broker listening', port: 9092 },
      { level: 40, broker: 7, msg: 'careful', port: undefined },
    ]);
    expect(typeof lines[0]!.time).toBe('number');
  });

  it('writes readable lines (time, level, message, fields) when stdout is a terminal', () => {
    const command = [process.execPath, ...nodeArgs(1)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = plain(execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' }));
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: broker listening \{"broker":7,"port":9092\}$/);
    expect(lines[1]).toMatch(/^\[[^\]]+\] WARN: careful \{"broker":7\}$/);
  });

  it('decides by its own descriptor: stderr to a pipe stays JSON while stdout is a terminal', () => {
    const command = [process.execPath, ...nodeArgs(2)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = plain(execFileSync('script', ['-qec', `${command} 2>&1 | cat`, '/dev/null'], { encoding: 'utf8' }));
    expect(out.trimEnd().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['broker listening', 'careful']);
  });
});
