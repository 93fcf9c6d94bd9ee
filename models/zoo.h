/* zoo.h — built-in model zoo: C builders that make the IR of well-known
 * networks with deterministic weights (seeded, scaled so activations stay
 * finite), batch 1.
 *
 * mts_zoo_build() returns a new graph owned by the caller (destroy with
 * mts_graph_destroy).  Names are lower-case: "tiny", "resnet50", ... */
#ifndef MTS_ZOO_H
#define MTS_ZOO_H

#include "runtime/graph.h"

/* Builds model `name`; MTS_ENOTFOUND (with the list of names in the message)
 * for an unknown name. */
int mts_zoo_build(const char *name, mts_graph_t **out);
/* NULL-terminated list of zoo names. */
const char *const *mts_zoo_names(void);
int mts_zoo_has(const char *name);

/* Loads a model by zoo name or, if it ends in ".onnx", from an ONNX file. */
int mts_model_graph_load(const char *name_or_path, mts_graph_t **out);

#endif
