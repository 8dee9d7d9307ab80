// Half of the endpoints (shard 0 of 2); see suite.ts.
import { fuzzSuite } from './suite.js';

fuzzSuite(0, 2);
