/* coordinator/metrics.c: being written */
