/**
 * The box as a separate process for the crash tests: `drimbox serve`'s composition with a DMP stand-in that
 * posts every outbox operation to the recorder of the parent test. Killed with SIGKILL at random points.
 */
import { loadConfig } from '../../../appliance/src/config/load.js';
import { startBox } from '../../../appliance/src/start-box.js';

const config = loadConfig({ env: {}, overrides: JSON.parse(process.env.CRASH_BOX_CONFIG!) });
const recorder = process.env.CRASH_RECORDER_URL!;

const box = await startBox(config, {
  dmpSender: {
    async send(row) {
      const res = await fetch(recorder, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ op: row.op, uniqueId: row.uniqueId, targetUniqueId: row.targetUniqueId, outboxId: row.id }),
      });
      if (res.status === 409) return { kind: 'already-done', detail: 'recorder holds it' };
      if (!res.ok) return { kind: 'retryable', reason: `recorder HTTP ${res.status}` };
      return { kind: 'success' };
    },
  },
});
process.stdout.write(JSON.stringify({ ready: true, hl7Port: box.hl7Port }) + '\n');
process.on('SIGTERM', () => void box.stop().then(() => process.exit(0)));
