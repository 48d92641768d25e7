// Temporary A/B helper (not committed): node bench/.ab-hrss.mjs rounds name=script[,ENV=V] ...
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cpuMs, firstLine } from './wrk-targets.mjs';
const here = path.dirname(new URL(import.meta.url).pathname);
const [roundsStr, ...specs] = process.argv.slice(2);
const KEY = 'gp_local_benchbenchbenchbenchbenchbenchbenchbench';
const up = spawn(process.execPath, [path.join(here, 'upstream.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const upPort = await firstLine(up);
const targets = [];
for (const spec of specs) {
  const [name, rest] = spec.split('=', 2).length === 2 ? [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)] : [spec, spec];
  const [script, ...envs] = rest.split(',');
  const env = { ...process.env, ...Object.fromEntries(envs.map((e) => e.split('='))) };
  const p = spawn(process.execPath, [script, `http://127.0.0.1:${upPort}`, KEY], { stdio: ['ignore', 'pipe', 'inherit'], env });
  targets.push({ name, p, port: await firstLine(p), cpu: [], rps: [] });
}
const lua = '/tmp/hrss/prof1/post.lua';
const run = (t, s) => {
  const c0 = cpuMs(t.p.pid), u0 = cpuMs(up.pid);
  const r = spawnSync('wrk', ['-t1', '-c32', `-d${s}s`, '-s', lua, `http://127.0.0.1:${t.port}/v1/chat/completions`], { encoding: 'utf8' });
  const n = Number(/(\d+) requests in/.exec(r.stdout)[1]);
  return { cpu: ((cpuMs(t.p.pid) - c0) * 1000) / n, up: ((cpuMs(up.pid) - u0) * 1000) / n, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)[1]) };
};
for (let r = 0; r < Number(roundsStr); r++) {
  const order = r % 2 ? [...targets].reverse() : targets;
  for (const t of order) { run(t, 1); const x = run(t, 4); t.cpu.push(x.cpu); t.rps.push(x.rps); }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const t of targets) console.log(t.name.padEnd(14), 'cpu µs/req median', med(t.cpu).toFixed(1), 'all', t.cpu.map((x) => x.toFixed(1)).join(' '), '| rps median', Math.round(med(t.rps)));
for (const t of targets) t.p.kill();
up.kill();
