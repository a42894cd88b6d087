/**
 * A float64 real FFT for one fixed even size, here SpeechBrain's n_fft = 400 = 2^4·5^2.
 *
 * Written rather than taken from npm: the maintained JavaScript FFTs (`fft.js`,
 * `fourier-transform`, `webfft`) are power-of-two only; `ndarray-fft` (Bluestein) and
 * `kissfft-js` have had no release in years, and the WASM builds (`@echogarden/kissfft-wasm`,
 * `@echogarden/pffft-wasm`) are float32 (pffft's real transform also needs a multiple of 32).
 * The transform is a mixed-radix Stockham FFT (radix 4, 2, 5 butterflies, a plain DFT for any
 * other factor) of size n/2 over the even/odd samples packed as complex numbers, then the usual
 * split into the n/2 + 1 bins of the real input. Twiddles are precomputed per size.
 */
import { HearthError } from '../../errors/index.js';

interface Stage {
  radix: number;
  /** Sub-transform count m = size / radix at this stage. */
  m: number;
  /** Distance between the interleaved sub-sequences (the product of the earlier radices). */
  stride: number;
  /** cos and −sin of 2π·j·p / size for p < m, 1 ≤ j < radix: [p][j − 1][re, im]. */
  twiddles: Float64Array;
  run: Pass;
}

function factorize(n: number): number[] {
  const radices: number[] = [];
  while (n % 4 === 0) {
    radices.push(4);
    n /= 4;
  }
  for (const radix of [2, 3, 5]) {
    while (n % radix === 0) {
      radices.push(radix);
      n /= radix;
    }
  }
  for (let radix = 7; n > 1; radix += 2) {
    while (n % radix === 0) {
      radices.push(radix);
      n /= radix;
    }
  }
  return radices;
}

function planStages(n: number): Stage[] {
  const stages: Stage[] = [];
  let size = n;
  let stride = 1;
  for (const radix of factorize(n)) {
    const m = size / radix;
    const twiddles = new Float64Array(m * (radix - 1) * 2);
    for (let p = 0; p < m; p++) {
      for (let j = 1; j < radix; j++) {
        const angle = (-2 * Math.PI * j * p) / size;
        const at = (p * (radix - 1) + j - 1) * 2;
        twiddles[at] = Math.cos(angle);
        twiddles[at + 1] = Math.sin(angle);
      }
    }
    stages.push({ radix, m, stride, twiddles, run: passes[radix] ?? passGeneric });
    size = m;
    stride *= radix;
  }
  return stages;
}

/*
 * Decimation-in-frequency Stockham passes: for each p < m and q < stride, the radix-point DFT of
 * x[q + stride·(p + k·m)], each output j times the twiddle w^(j·p), goes to y[q + stride·(radix·p + j)].
 * One function per radix keeps the inner loops free of branches.
 */
type Pass = (stage: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array) => void;

const pass2: Pass = ({ m, stride: s, twiddles: tw }, xr, xi, yr, yi) => {
  const step = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = tw[2 * p]!, w1i = tw[2 * p + 1]!;
    for (let q = 0, a = s * p, d = 2 * s * p; q < s; q++, a++, d++) {
      const a0r = xr[a]!, a0i = xi[a]!, a1r = xr[a + step]!, a1i = xi[a + step]!;
      yr[d] = a0r + a1r;
      yi[d] = a0i + a1i;
      const b1r = a0r - a1r, b1i = a0i - a1i;
      yr[d + s] = b1r * w1r - b1i * w1i;
      yi[d + s] = b1r * w1i + b1i * w1r;
    }
  }
};

const pass4: Pass = ({ m, stride: s, twiddles: tw }, xr, xi, yr, yi) => {
  const step = s * m;
  for (let p = 0; p < m; p++) {
    const t = 6 * p;
    const w1r = tw[t]!, w1i = tw[t + 1]!, w2r = tw[t + 2]!, w2i = tw[t + 3]!, w3r = tw[t + 4]!, w3i = tw[t + 5]!;
    for (let q = 0, a = s * p, d = 4 * s * p; q < s; q++, a++, d++) {
      const a0r = xr[a]!, a0i = xi[a]!, a1r = xr[a + step]!, a1i = xi[a + step]!;
      const a2r = xr[a + 2 * step]!, a2i = xi[a + 2 * step]!, a3r = xr[a + 3 * step]!, a3i = xi[a + 3 * step]!;
      const s02r = a0r + a2r, s02i = a0i + a2i, d02r = a0r - a2r, d02i = a0i - a2i;
      const s13r = a1r + a3r, s13i = a1i + a3i, d13r = a1r - a3r, d13i = a1i - a3i;
      // ω₄ = −i: b1 = d02 − i·d13, b3 = d02 + i·d13.
      const b1r = d02r + d13i, b1i = d02i - d13r, b2r = s02r - s13r, b2i = s02i - s13i;
      const b3r = d02r - d13i, b3i = d02i + d13r;
      yr[d] = s02r + s13r;
      yi[d] = s02i + s13i;
      yr[d + s] = b1r * w1r - b1i * w1i;
      yi[d + s] = b1r * w1i + b1i * w1r;
      yr[d + 2 * s] = b2r * w2r - b2i * w2i;
      yi[d + 2 * s] = b2r * w2i + b2i * w2r;
      yr[d + 3 * s] = b3r * w3r - b3i * w3i;
      yi[d + 3 * s] = b3r * w3i + b3i * w3r;
    }
  }
};

const C5A = Math.cos((2 * Math.PI) / 5);
const C5B = Math.cos((4 * Math.PI) / 5);
const S5A = Math.sin((2 * Math.PI) / 5);
const S5B = Math.sin((4 * Math.PI) / 5);

const pass5: Pass = ({ m, stride: s, twiddles: tw }, xr, xi, yr, yi) => {
  const step = s * m;
  for (let p = 0; p < m; p++) {
    const t = 8 * p;
    const w1r = tw[t]!, w1i = tw[t + 1]!, w2r = tw[t + 2]!, w2i = tw[t + 3]!;
    const w3r = tw[t + 4]!, w3i = tw[t + 5]!, w4r = tw[t + 6]!, w4i = tw[t + 7]!;
    for (let q = 0, a = s * p, d = 5 * s * p; q < s; q++, a++, d++) {
      const a0r = xr[a]!, a0i = xi[a]!, a1r = xr[a + step]!, a1i = xi[a + step]!;
      const a2r = xr[a + 2 * step]!, a2i = xi[a + 2 * step]!, a3r = xr[a + 3 * step]!, a3i = xi[a + 3 * step]!;
      const a4r = xr[a + 4 * step]!, a4i = xi[a + 4 * step]!;
      const t1r = a1r + a4r, t1i = a1i + a4i, t3r = a1r - a4r, t3i = a1i - a4i;
      const t2r = a2r + a3r, t2i = a2i + a3i, t4r = a2r - a3r, t4i = a2i - a3i;
      // b1,4 = A ∓ i·U and b2,3 = C ∓ i·V, from ω₅ = cos(2π/5) − i·sin(2π/5).
      const ar = a0r + C5A * t1r + C5B * t2r, ai = a0i + C5A * t1i + C5B * t2i;
      const ur = S5A * t3r + S5B * t4r, ui = S5A * t3i + S5B * t4i;
      const cr = a0r + C5B * t1r + C5A * t2r, ci = a0i + C5B * t1i + C5A * t2i;
      const vr = S5B * t3r - S5A * t4r, vi = S5B * t3i - S5A * t4i;
      const b1r = ar + ui, b1i = ai - ur, b4r = ar - ui, b4i = ai + ur;
      const b2r = cr + vi, b2i = ci - vr, b3r = cr - vi, b3i = ci + vr;
      yr[d] = a0r + t1r + t2r;
      yi[d] = a0i + t1i + t2i;
      yr[d + s] = b1r * w1r - b1i * w1i;
      yi[d + s] = b1r * w1i + b1i * w1r;
      yr[d + 2 * s] = b2r * w2r - b2i * w2i;
      yi[d + 2 * s] = b2r * w2i + b2i * w2r;
      yr[d + 3 * s] = b3r * w3r - b3i * w3i;
      yi[d + 3 * s] = b3r * w3i + b3i * w3r;
      yr[d + 4 * s] = b4r * w4r - b4i * w4i;
      yi[d + 4 * s] = b4r * w4i + b4i * w4r;
    }
  }
};

/** Any other radix: a plain DFT per butterfly (not used for n_fft = 400). */
const passGeneric: Pass = ({ radix, m, stride: s, twiddles: tw }, xr, xi, yr, yi) => {
  const step = s * m;
  for (let p = 0; p < m; p++) {
    for (let q = 0, a = s * p, d = radix * s * p; q < s; q++, a++, d++) {
      for (let j = 0; j < radix; j++) {
        let sr = 0;
        let si = 0;
        for (let k = 0; k < radix; k++) {
          const angle = (-2 * Math.PI * ((j * k) % radix)) / radix;
          const c = Math.cos(angle), n = Math.sin(angle);
          const vr = xr[a + k * step]!, vi = xi[a + k * step]!;
          sr += vr * c - vi * n;
          si += vr * n + vi * c;
        }
        const wr = j === 0 ? 1 : tw[(p * (radix - 1) + j - 1) * 2]!;
        const wi = j === 0 ? 0 : tw[(p * (radix - 1) + j - 1) * 2 + 1]!;
        yr[d + s * j] = sr * wr - si * wi;
        yi[d + s * j] = sr * wi + si * wr;
      }
    }
  }
};

const passes: Record<number, Pass> = { 2: pass2, 4: pass4, 5: pass5 };

export class RealFft {
  readonly size: number;
  readonly bins: number;
  private readonly half: number;
  private readonly stages: Stage[];
  private readonly splitCos: Float64Array;
  private readonly splitSin: Float64Array;
  private readonly bufRe: [Float64Array, Float64Array];
  private readonly bufIm: [Float64Array, Float64Array];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) {
      throw new HearthError('INTERNAL', `RealFft needs an even size, got ${size}`);
    }
    this.size = size;
    this.half = size / 2;
    this.bins = this.half + 1;
    this.stages = planStages(this.half);
    this.splitCos = new Float64Array(this.bins);
    this.splitSin = new Float64Array(this.bins);
    for (let k = 0; k < this.bins; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.bufRe = [new Float64Array(this.half), new Float64Array(this.half)];
    this.bufIm = [new Float64Array(this.half), new Float64Array(this.half)];
  }

  /** The DFT bins 0..size/2 of the real `input` (length `size`) into `outRe`, `outIm` (length `bins`). */
  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const half = this.half;
    let [xr, yr] = this.bufRe;
    let [xi, yi] = this.bufIm;
    for (let k = 0; k < half; k++) {
      xr[k] = input[2 * k]!;
      xi[k] = input[2 * k + 1]!;
    }
    for (const stage of this.stages) {
      stage.run(stage, xr, xi, yr, yi);
      [xr, yr] = [yr, xr];
      [xi, yi] = [yi, xi];
    }
    // x now holds Z = FFT(even + i·odd); X[k] = E[k] + e^(−2πik/n)·O[k] with
    // E = (Z[k] + conj Z[half−k]) / 2 and O = (Z[k] − conj Z[half−k]) / 2i.
    for (let k = 0; k <= half; k++) {
      const a = k === half ? 0 : k;
      const b = k === 0 ? 0 : half - k;
      const zr = xr[a]!, zi = xi[a]!, cr = xr[b]!, ci = -xi[b]!;
      const er = (zr + cr) / 2, ei = (zi + ci) / 2;
      const or = (zi - ci) / 2, oi = -(zr - cr) / 2;
      const c = this.splitCos[k]!, s = this.splitSin[k]!;
      outRe[k] = er + c * or + s * oi;
      outIm[k] = ei + c * oi - s * or;
    }
  }
}
