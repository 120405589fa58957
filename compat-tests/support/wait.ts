/**
 * Polls `check` every 100 ms until it is true (a throw counts as false); rejects naming `what`
 * after `timeoutMs`. For conditions clients reach on their own schedule (a rebalance, a commit).
 */
export function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 40_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = async (): Promise<void> => {
      let ok = false;
      try {
        ok = await check();
      } catch {
        ok = false;
      }
      if (ok) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(() => void poll(), 100);
    };
    void poll();
  });
}
