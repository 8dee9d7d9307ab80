// Half of the endpoints (shard 1 of 2); see suite.ts.
import { fuzzSuite } from './suite.js';

fuzzSuite(1, 2);
