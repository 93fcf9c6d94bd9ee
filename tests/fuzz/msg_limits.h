/* msg_limits.h — the fixed worker state that fuzz_msg and the message part
 * of the bad-input corpus (tests/corpus) validate against: two models of 10
 * and 5 layers, home cores {0, 1}, compiled for 1 and 2 cores.  `loaded` 0
 * is a worker waiting for its Load, 1 one that is serving. */
#ifndef MTS_TEST_MSG_LIMITS_H
#define MTS_TEST_MSG_LIMITS_H

#include "workers/validate.h"

static const int test_msg_layers[] = {10, 5};
static const int test_msg_home[] = {0, 1};
static const int test_msg_counts[] = {1, 2};

static inline mts_worker_limits_t test_msg_limits(int loaded) {
  mts_worker_limits_t l = {
      .loaded = loaded,
      .n_models = loaded ? 2 : 0,
      .n_layers = loaded ? test_msg_layers : NULL,
      .n_home = loaded ? 2 : 0,
      .home = loaded ? test_msg_home : NULL,
      .n_core_counts = loaded ? 2 : 0,
      .core_counts = loaded ? test_msg_counts : NULL,
      .max_models = 64,
      .max_cores = 1024,
  };
  return l;
}

#endif
