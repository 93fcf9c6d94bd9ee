/* models/zoo.c: being written */
