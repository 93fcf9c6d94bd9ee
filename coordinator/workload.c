/* coordinator/workload.c: being written */
