import { spawn } from 'node:child_process';

/**
 * For servers started detached (test MariaDBs, dev-cluster replicas): if this process dies without its teardown
 * (SIGKILL, a crash, `timeout`), a small shell stops each server and removes `removeDir`. Each
 * server's pid comes from `<dataDir>/mariadbd.pid` at that moment (a server that died was
 * restarted under another pid), and its command line is checked for `--datadir=<dataDir>` so
 * nothing else is signalled. Returns the watchdog's pid, to stop it after a normal teardown.
 */
export function startDataDirWatchdog(dataDirs: readonly string[], removeDir: string): number | undefined {
  const stops = dataDirs
    .map(
      (dir) => `
    pid=$(cat '${dir}/mariadbd.pid' 2>/dev/null)
    if [ -n "$pid" ] && tr '\\0' '\\n' < /proc/$pid/cmdline 2>/dev/null | grep -qx -- '--datadir=${dir}'; then
      kill -CONT $pid 2>/dev/null
      kill -TERM $pid
      while [ -e /proc/$pid ]; do sleep 1; done
    fi`,
    )
    .join('');
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done${stops}
    rm -rf '${removeDir}'
  `;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}

/** Ends a watchdog after a normal teardown. */
export function stopWatchdog(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}
