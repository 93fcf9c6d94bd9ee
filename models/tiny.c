/* models/tiny.c: being written */
