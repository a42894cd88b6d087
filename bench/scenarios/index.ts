import type { Scenario } from '../scenario.js';
import { a1 } from './a1.js';
import { e1 } from './e1.js';
import { e2 } from './e2.js';
import { e3 } from './e3.js';
import { g1 } from './g1.js';
import { g2 } from './g2.js';
import { g3 } from './g3.js';
import { h1 } from './h1.js';
import { j1 } from './j1.js';
import { j2 } from './j2.js';
import { h2 } from './h2.js';
import { m1 } from './m1.js';
import { m2 } from './m2.js';
import { m3 } from './m3.js';
import { p1 } from './p1.js';
import { s1 } from './s1.js';
import { sp1 } from './sp1.js';
import { sp2 } from './sp2.js';
import { t1 } from './t1.js';
import { v1 } from './v1.js';

/** Every scenario, in run order (E2, H1 and T1 reuse E1's server session). */
export const SCENARIOS: Scenario[] = [e1, e2, h1, h2, t1, e3, g1, g2, g3, s1, p1, v1, sp1, sp2, m1, m2, m3, j1, j2, a1];
