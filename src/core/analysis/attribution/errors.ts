/** Attribution's one error type: bad requests and models it cannot attribute exactly. */
export class AttributionError extends Error {}
