/** Values the global setup hands to test workers (vitest provide/inject). */
declare module 'vitest' {
  export interface ProvidedContext {
    /** mysql://root@127.0.0.1:<port>/kafka_mysql of the run's private MariaDB. */
    mysqlUrl: string;
  }
}

export {};
