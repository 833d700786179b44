import type { Config, PacsConfig } from '../config/schema.js';
import { PacsError, type PacsBridge } from './types.js';
import { lease, VERIFICATION, UNCOMPRESSED, type BridgeContext } from './context.js';
import { echoRequest } from './message.js';
import { Semaphore } from './semaphore.js';
import { find } from './find.js';
import { retrieveByGet, retrieveByMove } from './retrieve.js';
import { store } from './store.js';
import { peerLabel, statusHex } from './errors.js';
import type { StoreScp } from './scp.js';

export interface BoxIdentity {
  /** The box's AE title: calling AE of every association, and the C-MOVE destination. */
  aeTitle: string;
  /** The box's running C-STORE SCP; required when pacs.retrieve is C-MOVE. */
  scp?: StoreScp;
}

/** The box's view of one PACS over DIMSE, with the association limit of pacs.maxAssociations. */
/** The association settings the bridge uses (the SCP's own settings do not concern it). */
export type BridgeDimseSettings = Pick<Config['dimse'], 'connectTimeoutMs' | 'responseTimeoutMs' | 'maxPduLength'>;

export function createPacsBridge(pacs: PacsConfig, box: BoxIdentity, dimse: BridgeDimseSettings): PacsBridge {
  const peer = { aeTitle: pacs.aeTitle, host: pacs.host, port: pacs.port };
  const ctx: BridgeContext = {
    peer,
    callingAeTitle: box.aeTitle,
    connectTimeoutMs: dimse.connectTimeoutMs,
    responseTimeoutMs: dimse.responseTimeoutMs,
    maxPduLength: dimse.maxPduLength,
    slots: new Semaphore(pacs.maxAssociations, `PACS ${peerLabel(peer)}`),
  };
  return {
    async echo() {
      const { association, done } = await lease(ctx, [{ abstractSyntaxUid: VERIFICATION, transferSyntaxUids: UNCOMPRESSED }]);
      try {
        const context = association.acceptedContext(VERIFICATION);
        if (!context) throw new PacsError('refused', `PACS ${peerLabel(peer)} does not accept C-ECHO (Verification)`, { pacs: peerLabel(peer) });
        const response = await association.perform(echoRequest(context), context, 'C-ECHO');
        const status = response.getStatus();
        if (status !== 0x0000) throw new PacsError('failed', `PACS ${peerLabel(peer)} answered C-ECHO with status ${statusHex(status)}`, { pacs: peerLabel(peer), status });
      } finally {
        await done();
      }
    },
    find: (query, signal) => find(ctx, query, signal),
    retrieve(target, options) {
      if (pacs.retrieve === 'C-GET') return retrieveByGet(ctx, target, options);
      if (!box.scp) {
        return Promise.reject(
          new PacsError('failed', `pacs.retrieve is C-MOVE but the box's C-STORE SCP is not running: it is the move destination`, { pacs: peerLabel(peer) }),
        );
      }
      return retrieveByMove(ctx, box.scp, target, options);
    },
    store: (files, onOutcome) => store(ctx, files, onOutcome),
  };
}
