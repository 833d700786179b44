import { readFileSync } from 'node:fs';

/**
 * CPU time (user and system) in ms from a proc(5) stat file: `/proc/PID/stat` for a process (all its threads),
 * `/proc/PID/task/TID/stat` for one thread.
 */
export function procCpuMs(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  // After the command name, which may hold spaces and parentheses: utime and stime are fields 14 and 15, in clock
  // ticks (100 per second on Linux).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
