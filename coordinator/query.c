/* coordinator/query.c: being written */
