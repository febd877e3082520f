import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by the API (its process and its cluster workers), all PostgreSQL processes, and this process. */
export interface CpuSample {
  api: number;
  postgres: number;
  client: number;
}

function readStat(pid: string): { comm: string; parent: number; seconds: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // Fields after the comm start at state (3rd field): utime is the 14th, stime the 15th overall.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { comm, parent: Number(fields[1]), seconds: ticks / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Linux only; zeros elsewhere. PostgreSQL backends that exit inside a window are missed. */
export function sampleCpu(apiPid: number): CpuSample {
  const sample: CpuSample = { api: 0, postgres: 0, client: 0 };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return sample;
  }
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat === null) continue;
    if (stat.comm === 'postgres') sample.postgres += stat.seconds;
    else if (Number(pid) === apiPid || stat.parent === apiPid) sample.api += stat.seconds;
    else if (Number(pid) === process.pid) sample.client += stat.seconds;
  }
  return sample;
}
