import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreditLedger } from '../../../../server/business-engine/credits/credit-ledger.js';
import { openEngineDatabase, type EngineDatabase } from '../../../../server/business-engine/db/engine-database.js';
import { TokenStore } from '../../../../server/business-engine/tokens/token-store.js';

const T0 = Date.UTC(2026, 0, 1);

describe('TokenStore', () => {
  let db: EngineDatabase;
  let ledger: CreditLedger;
  let tokens: TokenStore;
  const clock = { ms: T0 };
  let n = 0;

  /** Charges and records a token for `userId` as a vend does; returns its jti. */
  const vended = (userId = 'u1', expiresAt = T0 + 900_000): string => {
    const jti = `tok_T${(n += 1)}`;
    db.transaction(() => {
      const charge = ledger.charge(userId, { reason: 'vend_token', tokenId: jti }, ledger.ensureUserIn(userId, null));
      tokens.insertIn({
        jti,
        userId,
        bucket: charge.bucket,
        chargeEntryId: charge.entryId,
        requestId: null,
        issuedAt: clock.ms,
        expiresAt,
      });
    })();
    return jti;
  };

  beforeEach(() => {
    clock.ms = T0;
    db = openEngineDatabase(':memory:');
    ledger = new CreditLedger(db, { signupBonus: 5, now: () => clock.ms });
    tokens = new TokenStore(db, ledger, () => clock.ms);
  });
  afterEach(() => db.close());

  it('lets exactly one claim take a vended token', () => {
    const jti = vended();
    expect(tokens.claim(jti, `sub_${jti}`)).toBe(true);
    expect(tokens.claim(jti, `sub_${jti}`)).toBe(false);
    expect(tokens.get(jti)?.state).toBe('submitting');
    expect(tokens.claim('tok_unknown', 'sub_tok_unknown')).toBe(false);
  });

  it('walks vended -> submitting -> submitted -> consumed, each step only from its expected state', () => {
    const jti = vended();
    expect(tokens.markSubmitted(jti, 'job_AAAAAAAA')).toBe(false);
    tokens.claim(jti, `sub_${jti}`);
    expect(tokens.markSubmitted(jti, 'job_AAAAAAAA')).toBe(true);
    expect(tokens.byJob('job_AAAAAAAA')).toMatchObject({ jti, state: 'submitted', submittedAt: T0 });
    expect(tokens.consume(jti)).toBe(true);
    expect(tokens.consume(jti)).toBe(false);
    expect(tokens.refund(jti, 'submitted', { reason: 'late', requestId: null })).toBe(false);
    expect(ledger.ensureUser('u1', null).balance).toBe(4);
  });

  it('gives a released token back to vended so it can be claimed again', () => {
    const jti = vended();
    tokens.claim(jti, `sub_${jti}`);
    expect(tokens.release(jti)).toBe(true);
    expect(tokens.release(jti)).toBe(false);
    expect(tokens.claim(jti, `sub_${jti}`)).toBe(true);
  });

  it('refunds a credit once: state change and ledger entry together', () => {
    const jti = vended();
    expect(tokens.refund(jti, 'vended', { reason: 'token_expired_unused', requestId: 'req_sweep' })).toBe(true);
    expect(tokens.refund(jti, 'vended', { reason: 'token_expired_unused', requestId: 'req_sweep' })).toBe(false);
    expect(tokens.get(jti)).toMatchObject({ state: 'refunded', refundReason: 'token_expired_unused', settledAt: T0 });
    const refunds = ledger.page('u1', 10).filter((e) => e.kind === 'refund');
    expect(refunds.map((e) => [e.tokenId, e.reason, e.amount])).toEqual([[jti, 'token_expired_unused', 1]]);
    expect(ledger.ensureUser('u1', null).balance).toBe(5);
  });

  it('lists expired unused tokens by expiry, and submissions stuck since their claim with their key', () => {
    const early = vended('u1', T0 + 1000);
    const late = vended('u1', T0 + 5000);
    const stuck = vended('u1', T0 + 2000);
    clock.ms = T0 + 100;
    tokens.claim(stuck, 'sub_STUCK');
    expect(tokens.expiredUnused(T0 + 1000, 10).map((t) => t.jti)).toEqual([early]);
    expect(tokens.expiredUnused(T0 + 9000, 10).map((t) => t.jti)).toEqual([early, late]);
    expect(tokens.stuckSubmitting(T0 + 99, 10)).toEqual([]);
    expect(tokens.stuckSubmitting(T0 + 100, 10).map((t) => [t.jti, t.submissionKey])).toEqual([[stuck, 'sub_STUCK']]);
  });

  it('pages unsettled jobs in (submittedAt, jti) order after a cursor', () => {
    const jtis = [vended(), vended(), vended()];
    jtis.forEach((jti, i) => {
      clock.ms = T0 + (i === 2 ? 0 : 10);
      tokens.claim(jti, `sub_${jti}`);
      tokens.markSubmitted(jti, `job_PAGE000${i}`);
    });
    const first = tokens.unsettled(2);
    expect(first.map((t) => t.jti)).toEqual([jtis[2], jtis[0]]);
    const last = first[1]!;
    expect(tokens.unsettled(2, { submittedAt: last.submittedAt!, jti: last.jti }).map((t) => t.jti)).toEqual([jtis[1]]);
  });
});
