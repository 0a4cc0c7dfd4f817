/**
 * Power loss while jitd makes its `requests/` directory again (issue 12 item 1): the state
 * directory was removed under a running jitd (here moved out of the library, which is the same
 * for jitd: the path is gone), then an answer arrives. jitd makes the directories again, writes
 * back every record it holds, then the answer. On the in-memory disk that loses what was not
 * fsynced, every crash image after the answer's acknowledgement holds every record and the
 * answer; every image before it loads without error and holds no half-written record.
 */
import { describe, expect, it } from 'vitest';
import { RequestStore } from '../../src/requests/request-store.js';
import { newRequest } from '../../src/requests/request.js';
import { MemFs } from '../support/mem-fs.js';

const STATE = '/lib/.jitd';
const STATES_PER_POINT = 30;

describe('power loss while the removed requests/ directory is made again', () => {
  it('after the answer is acknowledged, every image holds every record and the answer; before, every image loads cleanly', async () => {
    const fs = new MemFs();
    fs.mkdirpSync(STATE, 0o700);
    fs.mkdirpSync('/elsewhere');
    const store = new RequestStore(fs, STATE);
    await store.load();
    const records = ['A', 'B', 'C'].map((g) => newRequest(g, 'protocol', `${g.toLowerCase()}.txt`));
    for (const r of records) await store.save(r, { durable: true });
    // The state directory goes away under the running store (durably).
    await fs.rename(STATE, '/elsewhere/old-state');
    await fs.syncDir('/lib');
    await fs.syncDir('/elsewhere');
    fs.checkpoint();

    const answered = { ...records[0]!, state: 'answered' as const, description: 'Drill down to the root cause' };
    await store.save(answered, { durable: true });
    const ackAt = fs.log.length;
    expect(fs.log.some((op) => op.t === 'mkdir')).toBe(true);

    for (let at = 0; at <= ackAt; at++) {
      for (const image of fs.crashStates(at * 7919 + 1, STATES_PER_POINT, { at })) {
        const again = new RequestStore(image, STATE);
        const loaded = await again.load();
        expect(loaded.quarantined, `crash point ${at}`).toEqual([]);
        if (at < ackAt) continue;
        expect(
          again
            .all()
            .map((r) => r.goal)
            .sort(),
          `crash point ${at}`,
        ).toEqual(['A', 'B', 'C']);
        expect(again.get(answered.id), `crash point ${at}`).toMatchObject({ state: 'answered', description: 'Drill down to the root cause' });
      }
    }
  });
});
