// Timing peers fairly on a shared machine. Each runner is set up once and then timed one call at a time, the
// runners taking turns round by round, so that a burst of load from elsewhere falls on every side alike; each
// side is quoted at its fastest round (what it can do) and its median (what it usually does).
//
// A runner may live in this process or in a child process of its own (for its own peak memory, its own thread
// count, or because it is Python). Children speak a line protocol on stdin and stdout: after setting up and
// warming up they print `@ready`; for each `run` line they time one call and print `@seconds <s>`; for `stop`
// they print `@stopped <peak resident MiB>` and exit. Other output is passed through to stderr.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Peer {
  readonly name: string;
  /** Times one call, in seconds. */
  run(): Promise<number>;
  /** Releases the runner; returns the peak resident memory of its process in MiB when it has one of its own. */
  stop(): Promise<number | undefined>;
}

export interface Timed {
  readonly name: string;
  readonly seconds: number[];
  readonly peakMiB: number | undefined;
}

export const fastest = (xs: readonly number[]) => Math.min(...xs);
export const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** A runner in this process: `call` is timed on each run. */
export function localPeer(name: string, call: () => Promise<unknown> | unknown, release: () => Promise<void> | void = () => {}): Peer {
  return {
    name,
    async run() {
      const started = performance.now();
      await call();
      return (performance.now() - started) / 1000;
    },
    async stop() {
      await release();
      return undefined;
    },
  };
}

/** Starts a child process speaking the protocol above and waits until it is ready. */
export async function childPeer(name: string, command: string, args: readonly string[]): Promise<Peer> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies: ((line: string) => void)[] = [];
  const pending: string[] = [];
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`${name}: its process exited (code ${code}) before answering`))),
  );
  exited.catch(() => {});
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('@')) return void process.stderr.write(`${line}\n`);
    const reply = replies.shift();
    if (reply) reply(line);
    else pending.push(line);
  });
  const next = () => Promise.race([new Promise<string>((resolve) => (pending.length > 0 ? resolve(pending.shift()!) : replies.push(resolve))), exited]);
  const expect = async (word: string) => {
    const line = await next();
    if (!line.startsWith(`@${word}`)) throw new Error(`${name}: expected @${word}, got ${line}`);
    return line.slice(word.length + 1).trim();
  };
  await expect('ready');
  return {
    name,
    async run() {
      send(child, 'run');
      return Number(await expect('seconds'));
    },
    async stop() {
      send(child, 'stop');
      return Number(await expect('stopped'));
    },
  };
}

function send(child: ChildProcess, line: string) {
  child.stdin!.write(`${line}\n`);
}

/** The child's side of the protocol: warms `call` up, then times it on request. */
export async function servePeer(call: () => Promise<unknown> | unknown, warmups: number, release: () => Promise<void> | void = () => {}) {
  for (let i = 0; i < warmups; i++) await call();
  console.log('@ready');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'run') {
      const started = performance.now();
      await call();
      console.log(`@seconds ${(performance.now() - started) / 1000}`);
    } else if (line === 'stop') {
      await release();
      console.log(`@stopped ${process.resourceUsage().maxRSS / 1024}`);
      break;
    }
  }
  // Worker threads and the input stream would otherwise keep the process alive.
  process.exit(0);
}

/**
 * Runs `rounds` rounds in which every peer is timed once, in turn; the order rotates each round so no peer always
 * follows the same one. Stops every peer at the end.
 */
export async function alternate(peers: readonly Peer[], rounds: number): Promise<Timed[]> {
  const seconds = peers.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < peers.length; turn++) {
      const index = (round + turn) % peers.length;
      seconds[index]!.push(await peers[index]!.run());
    }
  }
  const timed: Timed[] = [];
  for (const [index, peer] of peers.entries()) timed.push({ name: peer.name, seconds: seconds[index]!, peakMiB: await peer.stop() });
  return timed;
}
