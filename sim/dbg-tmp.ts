import { loadScenario } from './scenario';
import { runScenario } from './run';
const s = loadScenario('flapping-nat');
s.durationSeconds = 120;
const r = await runScenario(s, 'natbeat', { seed: 1 });
console.log(r.reconcileRuns, r.timeline.filter(e => e.kind === 'lambda').map(e => ((e.atMs - r.faultAtMs)/1000) + ' ' + e.message));
