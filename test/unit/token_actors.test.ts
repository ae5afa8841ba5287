import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { Actor } from '../../src/ra/actor.js';
import { TOKEN_ACTOR_TTL_MS, TokenActors } from '../../src/ra/token_actors.js';

const alice: Actor = { id: 'usr_a', email: 'alice@example.com', role: 'subscriber' };

/** A loader that counts its calls and answers what `answer` holds at the time. */
function loader(answer: { actor: Actor | null }) {
  const counted = { calls: 0, load: async () => (counted.calls++, answer.actor) };
  return counted;
}

describe('TokenActors', () => {
  it('asks the database once per token within the TTL, and again after it', async () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    const actors = new TokenActors(clock);
    const db = loader({ actor: alice });
    assert.deepEqual(await actors.actorFor('h1', db.load), alice);
    clock.advance(TOKEN_ACTOR_TTL_MS - 1);
    assert.deepEqual(await actors.actorFor('h1', db.load), alice);
    assert.equal(db.calls, 1);
    clock.advance(1);
    await actors.actorFor('h1', db.load);
    assert.equal(db.calls, 2, 'an entry as old as the TTL is read again');
  });

  it('never remembers an unknown token, so a token made elsewhere works at once', async () => {
    const actors = new TokenActors(new ManualClock(new Date()));
    const answer: { actor: Actor | null } = { actor: null };
    const db = loader(answer);
    assert.equal(await actors.actorFor('h2', db.load), null);
    answer.actor = alice;
    assert.deepEqual(await actors.actorFor('h2', db.load), alice);
    assert.equal(db.calls, 2);
  });

  it('a deleted token stops working once its entry expires', async () => {
    const clock = new ManualClock(new Date());
    const actors = new TokenActors(clock);
    const answer: { actor: Actor | null } = { actor: alice };
    await actors.actorFor('h3', loader(answer).load);
    answer.actor = null;
    clock.advance(TOKEN_ACTOR_TTL_MS);
    assert.equal(await actors.actorFor('h3', loader(answer).load), null);
  });

  it('forgetAll makes the next lookup read the database', async () => {
    const actors = new TokenActors(new ManualClock(new Date()));
    const answer: { actor: Actor | null } = { actor: alice };
    const db = loader(answer);
    await actors.actorFor('h4', db.load);
    answer.actor = { ...alice, role: 'reviewer' };
    actors.forgetAll();
    assert.equal((await actors.actorFor('h4', db.load))?.role, 'reviewer');
    assert.equal(db.calls, 2);
  });

  it('a lookup that read the database before forgetAll does not store what it read', async () => {
    const actors = new TokenActors(new ManualClock(new Date()));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stale = actors.actorFor('h5', async () => {
      await gate;
      return alice;
    });
    actors.forgetAll();
    release();
    assert.deepEqual(await stale, alice, 'the racing request itself still gets its answer');
    const db = loader({ actor: { ...alice, role: 'admin' } });
    assert.equal((await actors.actorFor('h5', db.load))?.role, 'admin');
    assert.equal(db.calls, 1, 'the answer read before the change was not remembered');
  });

  it('hands out actors that callers cannot change for the next request', async () => {
    const actors = new TokenActors(new ManualClock(new Date()));
    await actors.actorFor('h6', loader({ actor: { ...alice } }).load);
    const remembered = await actors.actorFor('h6', loader({ actor: null }).load);
    assert.ok(remembered && Object.isFrozen(remembered));
  });
});
