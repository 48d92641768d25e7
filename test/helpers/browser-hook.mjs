#!/usr/bin/env node
// The GATEPASS_BROWSER command used by tests: gatepass runs `node browser-hook.mjs <endpoint> <url>`;
// this posts the URL to the test process (test/helpers/browser.ts), which drives a headless browser.
const [endpoint, url] = process.argv.slice(2);
await fetch(endpoint, { method: 'POST', body: url ?? '' }).catch(() => process.exit(1));
