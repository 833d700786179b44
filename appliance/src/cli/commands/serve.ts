import { startBox } from '../../start-box.js';
import { configFrom, configOptions, parseCommandArgs, type Command } from '../args.js';

export const command: Command = {
  summary: 'run the box: HTTP (health, DICOMweb, portal, viewer), DICOM SCP, HL7 listener, source pipeline, DMP outbox',
  async run(argv) {
    const { values } = parseCommandArgs(argv, configOptions, false);
    if (values.help) {
      process.stdout.write('usage: drimbox serve [--config FILE]   (configuration: drimbox config keys)\n');
      return 0;
    }
    const box = await startBox(configFrom(values));
    process.stdout.write(`DRIMbox running: ${box.certificate ? "https" : "http"}://127.0.0.1:${box.httpPort}/health · HL7 MLLP ${box.hl7Port} · DICOM ${box.config.box.aeTitle}:${box.dimsePort}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    // balena (and `docker stop`) sends SIGTERM, then kills after stop_grace_period: in-flight transfers and
    // submissions get device.stopGraceSeconds to end; a second signal stops at once.
    const graceMs = box.config.device.stopGraceSeconds * 1000;
    process.stdout.write(`stopping: in-flight work has ${graceMs / 1000} s to end…\n`);
    const now = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await Promise.race([box.drain(graceMs), now]);
    await box.stop();
    return 0;
  },
};
