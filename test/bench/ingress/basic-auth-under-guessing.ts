// Good Basic logins while a guesser hammers wrong passwords, against a real ingress app over HTTP
// (embedded store, real Redis). Prints requests/s and p50/p99 of the good caller's requests, and
// how many password checks (scrypt, N=16384) the guesser caused.
//   node test/bench/ingress/basic-auth-under-guessing.ts [seconds] [guesser concurrency] [unthrottled]
// `unthrottled` lifts the failed-login limits, which is how ingress behaved before they existed.
import { verifyPassword } from '@mcp-broker/broker-config';
import { basic, ingressUnderTest } from '../../../services/ingress/test-support/ingress-under-test.ts';

const seconds = Number(process.argv[2] ?? 10);
const guessers = Number(process.argv[3] ?? 16);
const unthrottled = process.argv[4] === 'unthrottled';
let checks = 0;
const t = await ingressUnderTest({
  strongHashes: true,
  auth: {
    ...(unthrottled ? { basicLoginLimits: { perUsername: 1e9, perAddress: 1e9, total: 1e9 } } : {}),
    verifyPassword: async (p, h) => {
      checks++;
      return verifyPassword(p, h);
    },
  },
});
const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
const deadline = Date.now() + seconds * 1000;
const good: number[] = [];
let guesses = 0;
let throttled = 0;

async function goodCaller() {
  while (Date.now() < deadline) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/tool-calls?pageSize=1`, {
      headers: { authorization: basic('apex', 'apex-password') },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`good caller got ${res.status}`);
    good.push(performance.now() - started);
  }
}
async function guesser(n: number) {
  let i = 0;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/v1/tool-calls`, {
      headers: { authorization: basic('apex', `guess-${n}-${i++}`) },
    });
    await res.arrayBuffer();
    guesses++;
    if (res.status === 429) throttled++;
  }
}
await Promise.all([goodCaller(), goodCaller(), ...Array.from({ length: guessers }, (_, n) => guesser(n))]);
good.sort((a, b) => a - b);
const pct = (p: number) => (good[Math.floor((good.length - 1) * p)] ?? 0).toFixed(1);
console.log(
  JSON.stringify({
    seconds,
    guessers,
    throttling: !unthrottled,
    goodRequestsPerSecond: Math.round(good.length / seconds),
    goodP50Ms: pct(0.5),
    goodP99Ms: pct(0.99),
    guessesPerSecond: Math.round(guesses / seconds),
    guessesThrottled: throttled,
    passwordChecks: checks,
  }),
);
await t.close();
