import { contextFlow } from './context-flow.js';
import { createConsumerCore, type ConsumerDeps } from './core.js';
import { examFlow } from './exam-flow.js';
import { loginFlow } from './login-flow.js';

export { safeReturnTo, type ConsumerDeps, type ConsumerSettings, type ExamList, type OpenedStudy, type Result, type StudyView } from './core.js';

/**
 * The consumer DRIMbox (DESIGN.md "Consumer"), composed of its flows: login (login-flow.ts), the RIS's contextual
 * call (context-flow.ts), the patient's exams, their transfer and import (exam-flow.ts), over what they share
 * (core.ts). Everything a user opened is held by their session, never in state shared between users.
 */
export async function createConsumerService(deps: ConsumerDeps) {
  const core = await createConsumerCore(deps);
  const { sessions, cache, jobs, dicomweb, authorize, redirectUri, sweeper } = core;
  return {
    sessions,
    cache,
    jobs,
    dicomweb,
    authorize,
    redirectUri,
    ...loginFlow(core),
    ...contextFlow(core),
    ...examFlow(core),
    stop() {
      clearInterval(sweeper);
      jobs.cancelAll();
    },
  };
}

export type ConsumerService = Awaited<ReturnType<typeof createConsumerService>>;
