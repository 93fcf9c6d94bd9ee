/* zoo.c — the zoo's name table and the model loader (zoo name or ONNX
 * file). */
#include "models/zoo.h"

#include <string.h>

#include "models/zoo_int.h"
#include "runtime/mts.h"
#include "runtime/onnx/onnx.h"

typedef struct {
  const char *name;
  int (*build)(mts_graph_t **out);
} entry_t;

static const entry_t table[] = {
    {"tiny", mts__zoo_tiny},
    {"resnet50", mts__zoo_resnet50},
    {"mobilenet_v2", mts__zoo_mobilenet_v2},
    {"squeezenet1_1", mts__zoo_squeezenet1_1},
    {"googlenet", mts__zoo_googlenet},
    {"vgg16", mts__zoo_vgg16},
    {"bert_base", mts__zoo_bert_base},
};
#define N_MODELS ((int)(sizeof table / sizeof table[0]))

static const char *const names[N_MODELS + 1] = {
    "tiny", "resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet", "vgg16", "bert_base", NULL};

const char *const *mts_zoo_names(void) { return names; }

int mts_zoo_has(const char *name) {
  for (int i = 0; i < N_MODELS; i++)
    if (!strcmp(table[i].name, name)) return 1;
  return 0;
}

int mts_zoo_build(const char *name, mts_graph_t **out) {
  *out = NULL;
  for (int i = 0; i < N_MODELS; i++)
    if (!strcmp(table[i].name, name)) return table[i].build(out);
  char list[256];
  size_t o = 0;
  list[0] = 0;
  for (int i = 0; i < N_MODELS; i++)
    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", table[i].name);
  return mts_seterr(MTS_ENOTFOUND, "unknown model '%s' (zoo: %s)", name, list);
}

int mts_model_graph_load(const char *name_or_path, mts_graph_t **out) {
  *out = NULL;
  size_t n = strlen(name_or_path);
  if (n > 5 && !strcmp(name_or_path + n - 5, ".onnx")) return mts_onnx_load(name_or_path, out);
  return mts_zoo_build(name_or_path, out);
}
