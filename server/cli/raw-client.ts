import { KafkaConnection } from '../../client/connection.js';
import type { ApiMessages } from '../../codec/generated/registry.js';

/**
 * The CLI's connection for requests kafkajs does not offer (IncrementalAlterConfigs, Produce
 * of stored batches): a thin front on the shared bounded client in client/, kept so callers
 * keep their `open(host, port)` shape.
 */
export class RawConnection {
  private constructor(private readonly connection: KafkaConnection) {}

  static async open(host: string, port: number, timeoutMs = 5000): Promise<RawConnection> {
    return new RawConnection(await KafkaConnection.open({ host, port, connectTimeoutMs: timeoutMs, requestTimeoutMs: 60_000, clientId: 'kafka-mysql-cli' }));
  }

  request<K extends keyof ApiMessages>(apiKey: K, version: number, body: ApiMessages[K]['request']): Promise<ApiMessages[K]['response']> {
    return this.connection.request(apiKey, version, body);
  }

  close(): void {
    this.connection.close();
  }
}
