/**
 * Kafka's principal: a type and a name, "User:alice". Handlers and an authorizer read it from
 * RequestContext.principal: the SASL user, the TLS certificate's mapped subject, or ANONYMOUS
 * on PLAINTEXT listeners and SSL listeners without a client certificate, as in Kafka.
 */
export interface KafkaPrincipal {
  type: string;
  name: string;
}

export const ANONYMOUS: KafkaPrincipal = Object.freeze({ type: 'User', name: 'ANONYMOUS' });

export function userPrincipal(name: string): KafkaPrincipal {
  return { type: 'User', name };
}

export function formatPrincipal(p: KafkaPrincipal): string {
  return `${p.type}:${p.name}`;
}
