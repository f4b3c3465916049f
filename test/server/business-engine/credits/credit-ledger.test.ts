import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreditLedger } from '../../../../server/business-engine/credits/credit-ledger.js';
import { openEngineDatabase, type EngineDatabase } from '../../../../server/business-engine/db/engine-database.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';

const T0 = Date.UTC(2026, 0, 1);

describe('CreditLedger', () => {
  let db: EngineDatabase;
  let ledger: CreditLedger;
  const clock = { ms: T0 };
  beforeEach(() => {
    db = openEngineDatabase(':memory:');
    ledger = new CreditLedger(db, { signupBonus: 3, now: () => clock.ms });
  });
  afterEach(() => db.close());

  it('gives a user seen for the first time the signup bonus exactly once', () => {
    expect(ledger.ensureUser('u1', 'req_1')).toEqual({ userId: 'u1', main: 0, bonus: 3, balance: 3, updatedAt: T0 });
    expect(ledger.ensureUser('u1', 'req_2').balance).toBe(3);
    expect(ledger.page('u1', 10).map((e) => [e.kind, e.reason, e.amount, e.requestId])).toEqual([
      ['grant', 'signup_bonus', 3, 'req_1'],
    ]);
  });

  it('charges the bonus bucket first, then main, and records balanceAfter on every entry', () => {
    ledger.grant('u1', 1, 'main', { reason: 'purchase', requestId: 'req_g' });
    const charge = db.transaction((i: number) => ledger.charge('u1', { reason: 'vend_token', tokenId: `tok_A${i}` }));
    const buckets = [1, 2, 3, 4].map((i) => charge(i).bucket);
    expect(buckets).toEqual(['bonus', 'bonus', 'bonus', 'main']);
    expect(ledger.page('u1', 10).map((e) => e.balanceAfter)).toEqual([0, 1, 2, 3, 4, 3]);
  });

  it('refuses a charge on an empty balance with insufficient_credits and writes nothing', () => {
    const empty = new CreditLedger(db, { signupBonus: 0, now: () => clock.ms });
    empty.ensureUser('poor', null);
    let refusal: unknown;
    try {
      db.transaction(() => empty.charge('poor', { reason: 'vend_token', tokenId: 'tok_B' }))();
    } catch (error) {
      refusal = error;
    }
    expect(isApiError(refusal) && refusal.code).toBe('insufficient_credits');
    expect(refusal).toMatchObject({ details: { balance: 0, required: 1 } });
    expect(empty.page('poor', 10)).toEqual([]);
  });

  it('keeps the ledger append-only and one charge per token', () => {
    ledger.ensureUser('u1', null);
    expect(() => db.prepare("UPDATE ledger SET amount = 100 WHERE user_id = 'u1'").run()).toThrow(/append-only/);
    expect(() => db.prepare("DELETE FROM ledger WHERE user_id = 'u1'").run()).toThrow(/append-only/);
    const charge = db.transaction(() => ledger.charge('u1', { reason: 'vend_token', tokenId: 'tok_SAME' }));
    charge();
    expect(() => charge()).toThrow(/UNIQUE/);
    expect(ledger.ensureUser('u1', null).balance).toBe(2);
  });

  it('pages newest first, strictly before the cursor', () => {
    for (let i = 0; i < 5; i++) ledger.grant('u1', 1, 'main', { reason: `g${i}` });
    const first = ledger.page('u1', 2);
    expect(first.map((e) => e.reason)).toEqual(['g4', 'g3']);
    expect(ledger.page('u1', 10, first[1]!.id).map((e) => e.reason)).toEqual(['g2', 'g1', 'g0', 'signup_bonus']);
  });
});
