/* runtime/exec.c: being written */
