/**
 * Writes the configuration reference tables of docs/configuration.md from the definition
 * tables in server/config, between the BEGIN/END markers. Run: `npm run docs:config`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { BROKER_CONFIG_DEFINITIONS, envNameOf } from '../server/config/definitions.js';
import { TOPIC_CONFIG_DEFINITIONS } from '../server/config/topic-configs.js';

const path = new URL('../docs/configuration.md', import.meta.url);
const escape = (s: string) => s.replace(/\|/g, '\\|');

const broker = [
  '| key | default | environment variable | Kafka key | meaning |',
  '| --- | --- | --- | --- | --- |',
  ...BROKER_CONFIG_DEFINITIONS.map(
    (d) =>
      `| \`${d.key}\` | ${d.default === null ? '(unset)' : `\`${d.default}\``} | \`${envNameOf(d.key)}\` | ${d.kafka ? 'yes' : 'no'} | ${escape(d.doc)}${d.sensitive ? ' **Sensitive** (see docs/security.md).' : ''}${d.dynamic ? ' **Dynamic**: can change at run time (AlterConfigs on a broker resource, see docs/operations.md).' : ''} |`,
  ),
].join('\n');

const topic = [
  '| key | default (broker key) | applied |',
  '| --- | --- | --- |',
  ...TOPIC_CONFIG_DEFINITIONS.map(
    (d) => `| \`${d.key}\` | \`${d.default}\`${d.brokerSynonym ? ` (\`${d.brokerSynonym}\`)` : ''} | ${d.applied ? 'yes' : 'accepted, reported, not acted on'} |`,
  ),
].join('\n');

function replaceBlock(text: string, name: string, body: string): string {
  const begin = `<!-- BEGIN ${name} -->`;
  const end = `<!-- END ${name} -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < 0) throw new Error(`markers for ${name} missing in docs/configuration.md`);
  return text.slice(0, from + begin.length) + '\n' + body + '\n' + text.slice(to);
}

let text = readFileSync(path, 'utf8');
text = replaceBlock(text, 'BROKER', broker);
text = replaceBlock(text, 'TOPIC', topic);
writeFileSync(path, text);
console.log('docs/configuration.md updated');
