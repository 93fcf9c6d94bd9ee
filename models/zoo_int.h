/* zoo_int.h — builder entry points of the zoo's models (zoo.c's table). */
#ifndef MTS_MODELS_ZOO_INT_H
#define MTS_MODELS_ZOO_INT_H

#include "runtime/graph.h"

int mts__zoo_tiny(mts_graph_t **out);
int mts__zoo_resnet50(mts_graph_t **out);
int mts__zoo_mobilenet_v2(mts_graph_t **out);
int mts__zoo_squeezenet1_1(mts_graph_t **out);
int mts__zoo_googlenet(mts_graph_t **out);
int mts__zoo_vgg16(mts_graph_t **out);
int mts__zoo_bert_base(mts_graph_t **out);

#endif
