/**
 * Generates codec/generated/ from Apache Kafka's JSON message definitions.
 *
 *   npm run codegen             write the files
 *   npm run codegen -- --check  regenerate in memory; exit 1 if a committed file differs
 *
 * Specs are read from ../shared/kafka-protocol/specs (relative to the repository root),
 * or from $KAFKA_SPECS_DIR.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexFile, messagesFile, pairApis, registryFile, schemasFile } from './emit-files.js';
import { loadSpecs, type MessageDef } from './spec.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(repoRoot, 'codec', 'generated');

/** Every generated file, by name (relative to codec/generated). */
export function generateAll(specsDir: string): Map<string, string> {
  const msgs = loadSpecs(specsDir);
  const files = new Map<string, string>();
  const apis = pairApis(msgs);
  for (const a of apis) files.set(`${a.file}.ts`, messagesFile([a.request, a.response]));

  const byName = (name: string): MessageDef => {
    const m = msgs.find((x) => x.name === name);
    if (!m) throw new Error(`missing spec ${name}`);
    return m;
  };
  files.set('headers.ts', messagesFile([byName('RequestHeader'), byName('ResponseHeader')]));
  files.set(
    'consumer-protocol.ts',
    messagesFile([byName('ConsumerProtocolSubscription'), byName('ConsumerProtocolAssignment')]),
  );
  files.set('registry.ts', registryFile(apis));
  files.set('index.ts', indexFile([...apis.map((a) => a.file), 'headers', 'consumer-protocol', 'registry']));
  const schemaMsgs = [
    ...apis.flatMap((a) => [a.request, a.response]),
    byName('RequestHeader'),
    byName('ResponseHeader'),
    byName('ConsumerProtocolSubscription'),
    byName('ConsumerProtocolAssignment'),
  ];
  files.set('schemas.ts', schemasFile(schemaMsgs));
  return files;
}

function main(): void {
  const check = process.argv.includes('--check');
  const specsDir = process.env.KAFKA_SPECS_DIR ?? resolve(repoRoot, '..', 'shared', 'kafka-protocol', 'specs');
  if (!existsSync(specsDir)) {
    console.error(`specs not found at ${specsDir} (set KAFKA_SPECS_DIR)`);
    process.exit(2);
  }
  const files = generateAll(specsDir);
  const existing = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.ts')) : [];
  const stale = existing.filter((f) => !files.has(f));
  if (check) {
    const differ: string[] = [];
    for (const [name, text] of files) {
      const path = join(outDir, name);
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) differ.push(name);
    }
    if (differ.length > 0 || stale.length > 0) {
      for (const f of differ) console.error(`codec/generated/${f} differs from the generator's output`);
      for (const f of stale) console.error(`codec/generated/${f} is not produced by the generator`);
      console.error('run `npm run codegen` and commit the result');
      process.exit(1);
    }
    console.log(`codec/generated is up to date (${files.size} files)`);
    return;
  }
  mkdirSync(outDir, { recursive: true });
  for (const f of stale) unlinkSync(join(outDir, f));
  let written = 0;
  for (const [name, text] of files) {
    const path = join(outDir, name);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    writeFileSync(path, text);
    written++;
  }
  console.log(`generated ${files.size} files in codec/generated (${written} changed, ${stale.length} removed)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
