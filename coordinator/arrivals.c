/* coordinator/arrivals.c: being written */
