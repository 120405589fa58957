/** Kafka's ScramMechanism type codes (DescribeUserScramCredentials, AlterUserScramCredentials). */
export const SCRAM_TYPE_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['SCRAM-SHA-256', 1],
  ['SCRAM-SHA-512', 2],
]);
export const SCRAM_NAME_BY_TYPE: ReadonlyMap<number, 'SCRAM-SHA-256' | 'SCRAM-SHA-512'> = new Map([
  [1, 'SCRAM-SHA-256'],
  [2, 'SCRAM-SHA-512'],
]);
