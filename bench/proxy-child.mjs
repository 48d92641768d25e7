// The gatepass proxy (built library) in its own process, with a static token source, for benchmarks.
// argv: <gatewayUrl> <localKey>. Prints its port on stdout. BENCH_PEER_CHECK=0 turns the per-connection
// peer-user lookup off (to measure its cost).
import { startProxy } from '../dist/index.js';

const [gatewayUrl, localKey] = process.argv.slice(2);
const silent = {
  verbose: false,
  debug() {},
  info() {},
  warn() {},
  error: (m) => process.stderr.write(`${m}\n`),
};
const tokenSource = {
  providerName: 'bench',
  async getToken() {
    return { token: 'bench-token', expiresAt: Date.now() + 3_600_000, origin: 'memory' };
  },
  invalidate() {},
};
const proxy = await startProxy({
  tokenSource,
  gatewayUrl,
  port: 0,
  host: '127.0.0.1',
  localKey,
  logger: silent,
  ...(process.env.BENCH_PEER_CHECK === '0' ? { peerCheck: false } : {}),
});
process.stdout.write(`${proxy.port}\n`);
process.on('SIGTERM', () => proxy.close(100).then(() => process.exit(0)));
