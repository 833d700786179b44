// Writes a configuration with the setup screen's writer, and stops in the middle when asked: prints "before-rename"
// and waits there (the parent kills it with SIGKILL at that moment). Args: <file> <json content> <stop: yes|no>.
import { writeConfigFile } from '../../../appliance/src/setup/config-file.js';

const [file, content, stop] = process.argv.slice(2) as [string, string, string];
writeConfigFile(file, JSON.parse(content) as Record<string, unknown>, {}, {
  beforeRename: () => {
    if (stop !== 'yes') return;
    process.stdout.write('before-rename\n');
    // Blocks without spinning: the kill arrives here, between the fsynced temporary file and the rename.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  },
});
process.stdout.write('written\n');
