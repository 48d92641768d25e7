// The least HTTP work a Node proxy can do, as a wrk target (bench/wrk-targets.mjs, "node-min-http"):
// each client connection gets its own gateway connection (as the raw pipe); a request's head is
// found with indexOf, its x-api-key line swapped for the bearer token, and the bytes forwarded; the
// answers go back as they come (no parse, no framing, no checks of any kind). Not a proxy anyone
// should run: it tells how much of gatepass' cost over the raw pipe any HTTP-aware Node proxy pays
// (Buffer work and a JavaScript callback per read) and how much is gatepass' own (bench/README.md).
// argv: <gateway port>. Prints its port on stdout.
const net = require('node:net');

const up = Number(process.argv[2]);
const AUTH = Buffer.from('authorization: Bearer bench-token\r\n');
const s = net.createServer((c) => {
  const u = net.connect(up, '127.0.0.1');
  c.setNoDelay(true);
  u.setNoDelay(true);
  c.on('data', (d) => {
    const end = d.indexOf('\r\n\r\n');
    const k = end < 0 ? -1 : d.indexOf('x-api-key:');
    if (k < 0 || k > end) {
      u.write(d);
      return;
    }
    const eol = d.indexOf('\r\n', k) + 2;
    const out = Buffer.allocUnsafe(d.length - (eol - k) + AUTH.length);
    d.copy(out, 0, 0, k);
    AUTH.copy(out, k);
    d.copy(out, k + AUTH.length, eol);
    u.write(out);
  });
  u.on('data', (d) => c.write(d));
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
  c.on('close', () => u.destroy());
  u.on('close', () => c.destroy());
});
s.listen(0, '127.0.0.1', () => process.stdout.write(`${s.address().port}\n`));
