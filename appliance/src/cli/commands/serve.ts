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
    process.stdout.write(`DRIMbox running: http://127.0.0.1:${box.httpPort}/health · HL7 MLLP ${box.hl7Port} · DICOM ${box.config.box.aeTitle}:${box.dimsePort}\n`);
    await new Promise<void>((resolve) => {
      const shutdown = () => resolve();
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
    process.stdout.write('stopping…\n');
    await box.stop();
    return 0;
  },
};
