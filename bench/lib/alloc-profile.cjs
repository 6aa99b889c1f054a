// Preloaded into the gateway by `stress-open-streams.mjs --alloc-profile` (node -r). On SIGUSR2 it
// samples every allocation for CONDUIT_ALLOC_PROFILE_MS, garbage included (V8's sampling heap
// profiler with the objects young and full collections freed), and writes the bytes allocated per
// function (self) to the JSON file named by CONDUIT_ALLOC_PROFILE_OUT. What a profile of live
// objects (a heap snapshot) cannot show: the garbage each event leaves, which decides how often the
// young generation is collected and what is promoted before it dies.
'use strict';
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');

const out = process.env.CONDUIT_ALLOC_PROFILE_OUT;
const ms = Number(process.env.CONDUIT_ALLOC_PROFILE_MS || 10_000);

process.on('SIGUSR2', () => {
  const session = new inspector.Session();
  session.connect();
  const done = (result) => {
    writeFileSync(out, JSON.stringify(result));
    session.disconnect();
  };
  session.post(
    'HeapProfiler.startSampling',
    { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true },
    (err) => {
      if (err) return done({ error: String(err.message) });
      setTimeout(() => {
        session.post('HeapProfiler.stopSampling', (err2, res) => {
          if (err2) return done({ error: String(err2.message) });
          const bySite = new Map();
          let total = 0;
          const walk = (node) => {
            const f = node.callFrame;
            const where = f.url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^.*\/dist\//, 'dist/');
            const site = `${f.functionName || '(anonymous)'} ${where}${where ? `:${f.lineNumber + 1}` : ''}`;
            bySite.set(site, (bySite.get(site) || 0) + node.selfSize);
            total += node.selfSize;
            for (const c of node.children) walk(c);
          };
          walk(res.profile.head);
          done({ ms, total, sites: [...bySite].sort((a, b) => b[1] - a[1]) });
        });
      }, ms);
    },
  );
});
