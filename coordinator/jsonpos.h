/* jsonpos.h — line numbers for JSON paths (internal to the coordinator).
 *
 * jansson reports positions only for syntax errors; once a document parses,
 * values carry no position.  To point semantic errors ("tenants[1].qos_ms:
 * must be a positive number") at a line, the workload parser builds this
 * index from the raw text: one entry per value, keyed by its path
 * ("name", "tenants[1]", "tenants[1].arrival.rate_qps"), holding the line of
 * the member's key (object members) or of the value (array elements).
 *
 * The scan is minimal and expects text that jansson has already accepted;
 * on malformed text it stops early and simply knows fewer paths.
 * Ownership: the index owns its strings; free with mts__jpos_destroy(). */
#ifndef MTS_JSONPOS_H
#define MTS_JSONPOS_H

typedef struct mts__jpos mts__jpos_t;

/* Builds the index of `text` (NUL-terminated).  Returns 0 or MTS_ENOMEM. */
int mts__jpos_build(const char *text, mts__jpos_t **out);
void mts__jpos_destroy(mts__jpos_t *p);
/* Line (1-based) of `path`; when the path is not indexed (e.g. a missing
 * key), the line of its nearest indexed ancestor; 1 if nothing matches. */
int mts__jpos_line(const mts__jpos_t *p, const char *path);

#endif
