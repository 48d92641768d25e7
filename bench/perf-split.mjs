// Where a proxy process' CPU goes, per request, from a `perf record -g` of it under load (bench/README.md,
// "Where the rest goes"): each sample is put in one bucket by its stack — the kernel; gatepass'
// JavaScript (the innermost JS frame is in dist/, with the builtins and runtime calls below it); Node's
// own JavaScript (streams, socket writes, the event loop; innermost JS frame in node:*); native code
// with no JS on the stack (libuv, V8's GC, malloc). Run the proxy with `node --perf-basic-prof`, then:
//   perf record -e cpu-clock -F 5000 -g -p <pid> -o perf.data -- sleep 4   (while wrk runs)
//   perf script -i perf.data -F ip,sym,dso | node bench/perf-split.mjs <requests served meanwhile> [period ns]
import { createInterface } from 'node:readline';

const requests = Number(process.argv[2]);
const periodNs = Number(process.argv[3] ?? 200_000); // -F 5000: one sample per 200 µs of CPU
if (!(requests > 0)) {
  process.stderr.write(
    'usage: perf script -F ip,sym,dso | node bench/perf-split.mjs <requests> [period ns]\n',
  );
  process.exit(2);
}

const BUCKETS = {
  kernel: 'kernel (socket reads and writes, wake-ups)',
  node: 'Node JS (streams, socket writes, event loop) and below',
  native: 'native with no JS on the stack (libuv, V8 GC, malloc)',
  ours: 'gatepass JS and the builtins it calls',
};
const counts = { kernel: 0, node: 0, native: 0, ours: 0 };

function bucket(frames) {
  if (frames[0].includes('[kernel.kallsyms]')) return 'kernel';
  const js = frames.find((f) => f.includes('JS:'));
  if (!js) return 'native';
  return js.includes('/dist/') ? 'ours' : 'node';
}

let frames = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') {
    if (frames.length) counts[bucket(frames)]++;
    frames = [];
  } else frames.push(line.trim());
}
if (frames.length) counts[bucket(frames)]++;

const us = (n) => ((n * periodNs) / 1000 / requests).toFixed(1);
let total = 0;
for (const [k, label] of Object.entries(BUCKETS)) {
  total += counts[k];
  process.stdout.write(`${label}: ${us(counts[k])} µs/request\n`);
}
process.stdout.write(`total: ${us(total)} µs/request (${total} samples)\n`);
