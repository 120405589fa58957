/**
 * A network namespace joined to the root namespace by a veth pair, for tests that cut a
 * server off the network while it stays alive (compat-tests/mysql-failover-netcut.test.ts).
 *
 * Only root can do this, with iproute2's `ip netns`; `netnsAvailability()` says whether it
 * works here (a probe namespace, with a veth pair made inside it, is created and removed) and
 * why not. Names are unique per run, and only what this module created is ever changed or
 * removed: the namespace, and the veth pair (deleting the namespace deletes both ends).
 *
 * The addresses are a private /30 in 10.213.0.0/16 that only the two veth ends carry. The cut
 * sets the namespace's end down and leaves the root end up: its route stays (marked linkdown,
 * still used), so packets for the namespace are dropped at the veth, never sent through the
 * default route. Both ends have permanent neighbour entries, so nothing fails fast on a
 * failed ARP resolution either: a connection to the cut address hangs, as across a partition.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

export interface NetnsAvailability {
  ok: boolean;
  /** Why it is not available (shown in the skipped test's name). */
  reason: string;
}

/** Whether `ip netns` and veth pairs can be used by this process (synchronous: for describe.skipIf). */
export function netnsAvailability(): NetnsAvailability {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { ok: false, reason: `needs root for ip netns (running as uid ${uid})` };
  // With it set, the cut end's route would be ignored and packets for the namespace would
  // take the default route off the machine.
  for (const conf of ['all', 'default']) {
    const file = `/proc/sys/net/ipv4/conf/${conf}/ignore_routes_with_linkdown`;
    if (existsSync(file) && readFileSync(file, 'utf8').trim() !== '0') return { ok: false, reason: `net.ipv4.conf.${conf}.ignore_routes_with_linkdown is set` };
  }
  const probe = `kmprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.error) return { ok: false, reason: `iproute2 \`ip\` not found (${add.error.message})` };
  if (add.status !== 0) return { ok: false, reason: `ip netns add failed: ${add.stderr.trim()}` };
  try {
    // The pair made inside the probe namespace: nothing in the root namespace is touched.
    const veth = spawnSync('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'], { encoding: 'utf8' });
    if (veth.status !== 0) return { ok: false, reason: `veth pairs unavailable: ${veth.stderr.trim()}` };
    return { ok: true, reason: '' };
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
}

export interface Netns {
  name: string;
  /** The address inside the namespace (the cut server's). */
  inner: string;
  /** The root namespace's end: where the broker and replicas come from. */
  outer: string;
  /** The root namespace's veth end (while cut, the route to `inner` must still leave by it). */
  outerInterface: string;
  /** Prefix that runs a command inside the namespace (it execs the command: same pid). */
  exec: string[];
  /** Drops every packet between the namespace and the rest (its end down). */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Deletes the namespace and its veth pair; idempotent. */
  remove(): Promise<void>;
}

function ip(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('ip', args, { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout))),
  );
}

/** Creates a namespace with lo up and a veth pair to the root namespace, addressed from a free /30. */
export async function createNetns(): Promise<Netns> {
  const tag = randomBytes(3).toString('hex');
  const name = `kmnetcut-${process.pid}-${tag}`;
  // Interface names are at most 15 characters.
  const outerIf = `kmo${tag}`;
  const innerIf = `kmi${tag}`;
  // A /30 no address or route of this machine covers (other than the default route).
  let base = -1;
  for (let i = 0; i < 20 && base < 0; i++) {
    const x = randomInt(0, 256);
    const y = randomInt(0, 64) * 4;
    const routes = await ip('-4', 'route', 'show', 'table', 'all', 'match', `10.213.${x}.${y}/30`);
    if (routes.split('\n').every((r) => r.trim() === '' || r.startsWith('default') || r.startsWith('broadcast'))) base = x * 256 + y;
  }
  if (base < 0) throw new Error('no free /30 in 10.213.0.0/16');
  const addr = (n: number) => `10.213.${Math.floor((base + n) / 256)}.${(base + n) % 256}`;
  const outer = addr(1);
  const inner = addr(2);
  await ip('netns', 'add', name);
  // If this process dies before remove(), a detached shell deletes the namespace (and with it
  // the pair) once it is gone, after the servers' own watchdog had time to stop them.
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; sleep 5; ip netns del '${name}'`], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await ip('netns', 'del', name).catch(() => undefined);
    try {
      if (watchdog.pid) process.kill(watchdog.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  };
  const mac = async (ns: string[], dev: string) => /link\/ether ([0-9a-f:]+)/.exec(await ip(...ns, 'link', 'show', dev))![1]!;
  const pinNeighbours = async () => {
    await ip('neigh', 'replace', inner, 'lladdr', await mac(['-n', name], innerIf), 'dev', outerIf, 'nud', 'permanent');
    await ip('-n', name, 'neigh', 'replace', outer, 'lladdr', await mac([], outerIf), 'dev', innerIf, 'nud', 'permanent');
  };
  try {
    await ip('link', 'add', outerIf, 'type', 'veth', 'peer', 'name', innerIf, 'netns', name);
    await ip('addr', 'add', `${outer}/30`, 'dev', outerIf);
    await ip('-n', name, 'addr', 'add', `${inner}/30`, 'dev', innerIf);
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'link', 'set', innerIf, 'up');
    await ip('link', 'set', outerIf, 'up');
    await pinNeighbours();
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    name,
    inner,
    outer,
    outerInterface: outerIf,
    exec: ['ip', 'netns', 'exec', name],
    cut: async () => void (await ip('-n', name, 'link', 'set', innerIf, 'down')),
    restore: async () => {
      await ip('-n', name, 'link', 'set', innerIf, 'up');
      // Setting the end down flushed its neighbours: pinned again.
      await pinNeighbours();
    },
    remove,
  } satisfies Netns;
}

/** `ip route get` from the root namespace to `address`: the device it would leave by. */
export async function routeDevice(address: string): Promise<string> {
  return /\bdev (\S+)/.exec(await ip('route', 'get', address))?.[1] ?? '';
}
