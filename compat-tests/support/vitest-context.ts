/** Values the global setup hands to test workers (vitest provide/inject). */
declare module 'vitest' {
  export interface ProvidedContext {
    /** mysql://root@127.0.0.1:<port>/kafka_mysql of the run's private MariaDB. */
    mysqlUrl: string;
    /** Unix socket of that MariaDB; null when the run uses an external KAFKA_MYSQL_TEST_URL. */
    mysqlSocketPath: string | null;
  }
}

export {};
