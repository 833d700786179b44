/**
 * The box as a separate process for the crash tests: `drimbox serve`'s composition on the configuration the parent
 * test gives (its DMP is the DMP simulator). Killed with SIGKILL at random points.
 */
import { loadConfig } from '../../../appliance/src/config/load.js';
import { startBox } from '../../../appliance/src/start-box.js';

const config = loadConfig({ env: {}, overrides: JSON.parse(process.env.CRASH_BOX_CONFIG!) });
const box = await startBox(config);
process.stdout.write(JSON.stringify({ ready: true, hl7Port: box.hl7Port }) + '\n');
process.on('SIGTERM', () => void box.stop().then(() => process.exit(0)));
