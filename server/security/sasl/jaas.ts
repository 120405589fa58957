/**
 * The parts of a JAAS config string (`listener.name.<l>.<mechanism>.sasl.jaas.config`) the broker
 * reads: Kafka's PlainLoginModule options `user_NAME="password"`, which declare PLAIN users
 * besides those in MySQL. Values are quoted strings (backslash escapes) or bare words.
 */
export function parseJaasOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  // Module class and control flag, then key=value pairs up to the ';'.
  const body = text.trim().replace(/^\S+\s+(required|requisite|sufficient|optional)\s*/i, '');
  const pattern = /([A-Za-z0-9_.\-@]+)\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^\s;"]+))/g;
  for (const m of body.matchAll(pattern)) options.set(m[1]!, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  return options;
}

export function jaasPlainUsers(text: string | null): Map<string, string> {
  const users = new Map<string, string>();
  if (!text) return users;
  for (const [key, value] of parseJaasOptions(text)) if (key.startsWith('user_') && key.length > 5) users.set(key.slice(5), value);
  return users;
}
