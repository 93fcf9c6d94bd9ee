/* runtime/graph.c: being written */
