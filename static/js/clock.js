// Pages that only show times (the public share page): keep "in 7 days" true while open.
import { startClock } from "./format.js";

startClock();
