/**
 * A few PostgreSQL connections that the pipeline keeps checked out and shares
 * between requests. Every batch sent during one turn of the event loop goes on
 * the same lane and leaves in one socket write when the turn ends; the next
 * turn uses the next lane. A batch that runs to its end without waiting for an
 * answer (a transaction from BEGIN to COMMIT, or independent reads) can share a
 * connection with others, because PostgreSQL runs what one connection sends in
 * order and a failed statement stops only its own transaction.
 *
 * With a connection of its own per batch, each batch was a socket write that
 * woke a backend, and on two cores the backend often took the core the server
 * was running on; with lanes the DV rate on PostgreSQL rose by about a third
 * (BENCHMARKS.md). A turn that sent transactions ends with what `endOfWrites`
 * queues on its lane (the flush of pg_flushes.ts), in the same write.
 */
import type pg from 'pg';

interface Lane {
  client: Promise<pg.PoolClient>;
  /** Set once its connection broke or went back to the pool; the next turn on its place opens a new one. */
  dropped: boolean;
}

type CorkableStream = { cork(): void; uncork(): void };

/** One turn of the event loop: its lane, and the lane's connection once this turn corked its socket. */
interface Turn {
  lane: Promise<pg.PoolClient>;
  corked: pg.PoolClient | null;
  ended: boolean;
  /** A transaction went out on this turn's lane. */
  wrote: boolean;
}

function streamOf(client: pg.PoolClient): CorkableStream {
  return (client as unknown as { connection: { stream: CorkableStream } }).connection.stream;
}

export class PgLanes {
  readonly #checkOut: () => Promise<pg.PoolClient>;
  readonly #lanes: (Lane | null)[];
  readonly #endOfWrites: (client: pg.PoolClient) => void;
  #next = 0;
  #turn: Turn | null = null;

  /** `endOfWrites` queues what follows a turn's transactions on its lane. */
  constructor(checkOut: () => Promise<pg.PoolClient>, count: number, endOfWrites: (client: pg.PoolClient) => void) {
    this.#checkOut = checkOut;
    this.#lanes = Array.from({ length: count }, () => null);
    this.#endOfWrites = endOfWrites;
  }

  /** The lane for this turn; statements sent on it now leave together when the turn ends. `writes`: the batch is a transaction. */
  take(writes: boolean): Promise<pg.PoolClient> {
    const current = this.#turn;
    if (current) {
      current.wrote ||= writes;
      return current.lane;
    }
    const index = this.#next;
    this.#next = (index + 1) % this.#lanes.length;
    const turn: Turn = { lane: this.#open(index), corked: null, ended: false, wrote: writes };
    this.#turn = turn;
    // Registered before any caller's await, so the socket is corked before their statements go out. A lane
    // still connecting when the turn ends is not corked by it: each turn uncorks only what it corked.
    turn.lane.then(
      (client) => {
        if (turn.ended) return;
        turn.corked = client;
        streamOf(client).cork();
      },
      () => undefined,
    );
    setImmediate(() => {
      turn.ended = true;
      this.#turn = null;
      if (turn.wrote) {
        // After the turn's batches: they queued on the lane when it resolved, before this callback runs.
        if (turn.corked) this.#endOfWrites(turn.corked);
        else turn.lane.then((client) => this.#endOfWrites(client), () => undefined);
      }
      if (turn.corked) streamOf(turn.corked).uncork();
    });
    return turn.lane;
  }

  /**
   * Closes the lane of `client`, whose protocol state is unknown (a batch
   * failed half-way out): PostgreSQL rolls back what it had begun, and every
   * statement still pending on it fails.
   */
  discard(client: pg.PoolClient, error: Error): void {
    for (const [index, lane] of this.#lanes.entries()) {
      if (lane && !lane.dropped) void lane.client.then((held) => held === client && this.#drop(index, lane, held, error), () => undefined);
    }
  }

  /** Hands every lane back to the pool, so that the pool can end; a batch sent later fails as the ended pool refuses it a connection. */
  async close(): Promise<void> {
    const lanes = this.#lanes.filter((lane): lane is Lane => lane !== null && !lane.dropped);
    this.#lanes.fill(null);
    for (const lane of lanes) {
      lane.dropped = true;
      const client = await lane.client.catch(() => null);
      client?.release();
    }
  }

  #open(index: number): Promise<pg.PoolClient> {
    const existing = this.#lanes[index];
    if (existing && !existing.dropped) return existing.client;
    const lane: Lane = { client: this.#checkOut(), dropped: false };
    this.#lanes[index] = lane;
    lane.client.then(
      (client) => {
        // A connection the server closes (a restart, pg_terminate_backend) is replaced on the lane's next turn.
        client.once('error', (error: Error) => this.#drop(index, lane, client, error));
        client.once('end', () => this.#drop(index, lane, client, new Error('the connection ended')));
      },
      () => {
        lane.dropped = true;
      },
    );
    return lane.client;
  }

  #drop(index: number, lane: Lane, client: pg.PoolClient, error: Error): void {
    if (lane.dropped) return;
    lane.dropped = true;
    if (this.#lanes[index] === lane) this.#lanes[index] = null;
    client.release(error);
  }
}
