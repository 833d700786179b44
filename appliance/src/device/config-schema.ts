import { z } from 'zod';

/** The box as an appliance under balena: the update lock, telemetry and how it stops. */
export const deviceConfigSchema = z.object({
  /**
   * balena's update lock: present while long work is in flight, so an update waits for it (an empty string: no lock,
   * off balena). The supervisor's path inside a service container (appliance-and-fleet.md §4.1).
   */
  updateLockFile: z.string().default('/tmp/balena/updates.lock'),
  /** Longest the lock is held while an update waits: then new long work waits and in-flight work ends first. */
  maxUpdateLockHoldMinutes: z.number().int().min(1).max(24 * 60).default(30),
  /**
   * On SIGTERM, in-flight transfers and submissions get this long to end before the box stops anyway; shorter than
   * the compose file's stop_grace_period (60 s), after which the engine kills the process.
   */
  stopGraceSeconds: z.number().int().min(0).max(600).default(45),
  /** How often the box's health goes to the fleet as device tags (only changed values are sent). */
  telemetryIntervalSeconds: z.number().int().min(30).default(300),
  /** How often CPU temperature, throttling, load and memory are sampled (device/host-health.ts). */
  hostSampleSeconds: z.number().int().min(5).max(3600).default(30),
});
