#!/usr/bin/env node
// The CLI bundle is built by `npm run build` (scripts/build.mjs) into dist/cli.js.
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
