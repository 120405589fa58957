import type { JoinResult, SyncResult } from './types.js';

/**
 * What a group's event asks its driver to do: answer requests that were waiting (by the
 * token the driver handed in with them) and schedule or cancel timers (by name; scheduling
 * a name that is already scheduled replaces it).
 */
export type Effect =
  | { type: 'join-reply'; token: number; result: JoinResult }
  | { type: 'sync-reply'; token: number; result: SyncResult }
  | { type: 'schedule'; timer: string; delayMs: number }
  | { type: 'cancel'; timer: string };

const EMPTY = Buffer.alloc(0);

/** Collects the effects of one event; `drain()` hands them over. */
export class EffectSink {
  private effects: Effect[] = [];

  protected replyJoin(token: number, result: JoinResult): void {
    this.effects.push({ type: 'join-reply', token, result });
  }

  protected replySync(token: number, result: SyncResult): void {
    this.effects.push({ type: 'sync-reply', token, result });
  }

  protected schedule(timer: string, delayMs: number): void {
    this.effects.push({ type: 'schedule', timer, delayMs });
  }

  protected cancel(timer: string): void {
    this.effects.push({ type: 'cancel', timer });
  }

  protected drain(): Effect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}

export function errorJoin(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function errorSync(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}
