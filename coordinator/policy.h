/* policy.h — private header shared by the policy modules (policy_*.c) and
 * the registry (policy.c).  Public interface: sched.h. */
#ifndef MTS_POLICY_H
#define MTS_POLICY_H

#include "coordinator/sched.h"

extern const mts_policy_t mts__policy_fcfs;

/* Fixed cores per query (cores_per_query), capped by the bound worker's
 * home size (or the smallest home when unbound) and by the profile. */
int mts__policy_fixed_cores(const mts_sched_t *s, const mts_query_t *q);

#endif
