/**
 * NOMAD's random number generator (NOMAD 4.5.1, src/Math/RNG.cpp): xorshift96 with
 * uint32 arithmetic, uniform draws on [a, b], polar Box–Muller normals (only the first value of
 * each pair is used), and `RandomPickup`.
 */

/** Default RNG state of `RNG.cpp`. */
const DEFAULT_STATE: readonly [number, number, number] = [123456789, 362436069, 521288629];
const UINT32_MAX = 4294967295;

export type RngState = [number, number, number];

export class NomadRng {
  private x: number;
  private y: number;
  private z: number;

  private constructor(state: readonly [number, number, number]) {
    [this.x, this.y, this.z] = state;
  }

  /** `SEED s`: reset to the default state, then call next() s times (RNG_ALT_SEEDING off). */
  static fromSeed(seed: number): NomadRng {
    const rng = new NomadRng(DEFAULT_STATE);
    for (let i = 0; i < seed; i++) rng.next();
    return rng;
  }

  static fromState(state: readonly number[]): NomadRng {
    if (state.length !== 3 || state.some((v) => !Number.isInteger(v) || v < 0 || v > UINT32_MAX)) {
      throw new TypeError('RNG state must be three uint32 words');
    }
    return new NomadRng([state[0], state[1], state[2]]);
  }

  state(): RngState {
    return [this.x, this.y, this.z];
  }

  /** xorshift96 step (`RNG::rand`). */
  next(): number {
    let x = this.x;
    x = (x ^ (x << 16)) >>> 0;
    x = (x ^ (x >>> 5)) >>> 0;
    x = (x ^ (x << 1)) >>> 0;
    const t = x;
    this.x = this.y;
    this.y = this.z;
    this.z = (t ^ this.x ^ this.y) >>> 0;
    return this.z;
  }

  /** `RNG::rand(a, b)`. */
  uniform(a: number, b: number): number {
    return a + ((b - a) * this.next()) / UINT32_MAX;
  }

  /** `RNG::normalRand(0, 1)`: polar Box–Muller, the partner value is discarded. */
  normal(): number {
    for (;;) {
      const u1 = this.uniform(-1, 1);
      const u2 = this.uniform(-1, 1);
      const w = u1 * u1 + u2 * u2;
      if (w < 1 && w > 0) return u1 * Math.sqrt((-2 * Math.log(w)) / w);
    }
  }

  /** `Direction::computeDirOnUnitSphere`: n normals, normalised (Euclidean). */
  unitSphere(n: number): number[] {
    for (;;) {
      const v: number[] = [];
      for (let i = 0; i < n; i++) v.push(this.normal());
      const norm = Math.sqrt(v.reduce((s, t) => s + t * t, 0));
      if (norm > 0) return v.map((t) => t / norm);
    }
  }

  /** `RandomPickup`: a random permutation of 0..p-1. */
  permutation(p: number): number[] {
    const pool = Array.from({ length: p }, (_, i) => i);
    const out: number[] = [];
    let remaining = p;
    while (remaining > 0) {
      const i = this.next() % remaining;
      out.push(pool[i]);
      pool[i] = pool[remaining - 1];
      remaining--;
    }
    return out;
  }
}
