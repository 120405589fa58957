/**
 * The principal of a TLS client certificate as Kafka's DefaultKafkaPrincipalBuilder makes it:
 * the subject's distinguished name in RFC 2253 form (most specific RDN first, "CN=app,O=Acme,C=DE"),
 * passed through `ssl.principal.mapping.rules` (Kafka's SslPrincipalMapper: RULE:pattern/replacement/[LU]
 * entries tried in order, the first whose pattern matches the whole name wins; DEFAULT keeps the
 * name). No rule matching is an authentication failure, as in Kafka.
 *
 * Node prints a subject one RDN per line in certificate order with values already escaped as
 * RFC 2253 asks (OpenSSL's ASN1_STRFLGS_ESC_2253); reversing the lines gives the RFC 2253 string.
 * Attribute names are OpenSSL's short names, which match Java's for CN, OU, O, L, ST, C, DC,
 * STREET and UID; others (emailAddress) differ from Java's OID form.
 */
import type { X509Certificate } from 'node:crypto';

export function rfc2253Subject(cert: X509Certificate): string {
  return cert.subject
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .join(',');
}

export class SslPrincipalMappingError extends Error {
  override name = 'SslPrincipalMappingError';
}

interface Rule {
  isDefault: boolean;
  pattern: RegExp | null;
  replacement: string;
  toLower: boolean;
  toUpper: boolean;
}

/**
 * Parses Kafka's rule list: `DEFAULT` or `RULE:pattern/replacement/` with an optional L or U,
 * separated by commas (a comma inside a pattern or replacement is escaped or bracketed, as in
 * Kafka's RULE_PARSER, which this follows).
 */
export function parseMappingRules(text: string): Rule[] {
  const rules: Rule[] = [];
  let rest = text.trim();
  while (rest.length > 0) {
    if (rest.startsWith('DEFAULT')) {
      rules.push({ isDefault: true, pattern: null, replacement: '', toLower: false, toUpper: false });
      rest = rest.slice('DEFAULT'.length);
    } else if (rest.startsWith('RULE:')) {
      let i = 'RULE:'.length;
      const parts: string[] = [];
      for (let part = 0; part < 2; part++) {
        let value = '';
        while (i < rest.length && rest[i] !== '/') {
          if (rest[i] === '\\' && i + 1 < rest.length) {
            value += rest[i]! + rest[i + 1]!;
            i += 2;
          } else value += rest[i++]!;
        }
        if (rest[i] !== '/') throw new SslPrincipalMappingError(`Invalid rule: ${text}`);
        i++;
        parts.push(value);
      }
      let toLower = false;
      let toUpper = false;
      if (rest[i] === 'L') (toLower = true), i++;
      else if (rest[i] === 'U') (toUpper = true), i++;
      // Java's regex escapes of '/' are not needed in JavaScript's.
      const pattern = parts[0]!.replace(/\\\//g, '/');
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch {
        throw new SslPrincipalMappingError(`Invalid rule pattern: ${parts[0]}`);
      }
      rules.push({ isDefault: false, pattern: regex, replacement: parts[1]!.replace(/\\\//g, '/'), toLower, toUpper });
      rest = rest.slice(i);
    } else {
      throw new SslPrincipalMappingError(`Invalid rule: ${text}`);
    }
    rest = rest.replace(/^\s*,?\s*/, '');
  }
  return rules;
}

/** The user name for a distinguished name under the rules. */
export function mapPrincipalName(rules: readonly Rule[], dn: string): string {
  for (const rule of rules) {
    if (rule.isDefault) return dn;
    const match = rule.pattern!.exec(dn);
    if (!match) continue;
    // Java's replacement syntax: $n groups, backslash escapes.
    let out = rule.replacement.replace(/\\(.)|\$(\d)/g, (_, escaped: string | undefined, group: string | undefined) =>
      escaped !== undefined ? escaped : (match[Number(group)] ?? ''),
    );
    if (rule.toLower) out = out.toLowerCase();
    else if (rule.toUpper) out = out.toUpperCase();
    return out;
  }
  throw new SslPrincipalMappingError(`No rules apply to ${dn}, rules ${rules.length}`);
}
