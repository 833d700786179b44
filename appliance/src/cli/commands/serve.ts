import { existsSync } from 'node:fs';
import { BoxRunner } from '../../box-runner.js';
import { configOptions, parseCommandArgs, type Command } from '../args.js';

export const command: Command = {
  summary: 'run the box: HTTP (health, DICOMweb, portal, viewer), DICOM SCP, HL7 listener, source pipeline, DMP outbox',
  async run(argv) {
    const { values } = parseCommandArgs(argv, configOptions, false);
    if (values.help) {
      process.stdout.write('usage: drimbox serve [--config FILE]   (configuration: drimbox config keys)\n');
      return 0;
    }
    // The file the setup screen writes and the services restart on: --config, else DRIMBOX_CONFIG.
    if (typeof values.config === 'string' && !existsSync(values.config)) throw new Error(`--config ${values.config}: no such file`);
    const runner = new BoxRunner(typeof values.config === 'string' ? values.config : process.env.DRIMBOX_CONFIG);
    const box = await runner.start();
    process.stdout.write(`DRIMbox running: ${box.certificate ? "https" : "http"}://127.0.0.1:${box.httpPort}/health · HL7 MLLP ${box.hl7Port} · DICOM ${box.config.box.aeTitle}:${box.dimsePort}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    // balena (and `docker stop`) sends SIGTERM, then kills after stop_grace_period: in-flight transfers and
    // submissions get device.stopGraceSeconds to end; a second signal stops at once.
    const graceMs = runner.box.config.device.stopGraceSeconds * 1000;
    process.stdout.write(`stopping: in-flight work has ${graceMs / 1000} s to end…\n`);
    const now = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await Promise.race([runner.stop(graceMs), now]);
    return 0;
  },
};
