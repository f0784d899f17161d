import { round2 } from '../money.ts';

/** Welford's running mean and variance, with min and max. */
export class RunningStats {
  n = 0;
  mean = 0;
  #m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  push(x: number): void {
    this.n += 1;
    const delta = x - this.mean;
    this.mean += delta / this.n;
    this.#m2 += delta * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  summary() {
    return {
      mean: round2(this.mean),
      stdDev: round2(this.n > 1 ? Math.sqrt(this.#m2 / (this.n - 1)) : 0),
      min: round2(this.min),
      max: round2(this.max),
      observations: this.n,
    };
  }
}
